pub mod item;
pub use item::Item;
