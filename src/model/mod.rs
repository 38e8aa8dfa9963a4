//! The shared model, on the ground floor: the types every room passes to the next. It imports
//! only `text`; every other room may import it, and it never imports them.

pub mod item;

pub use item::Item;
