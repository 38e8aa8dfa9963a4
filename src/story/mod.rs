//! Stories: one alert per rule per story, however many outlets report it.
//!
//! An item's headline and lead get a MinHash signature ([`fingerprint`]); items whose
//! signatures are close (estimated Jaccard of content words ≥ the threshold) are one story.
//! LSH band keys make the look-up an index probe instead of a scan.

pub mod decide;
pub mod fingerprint;
pub mod key;

pub use fingerprint::{Fingerprinter, Shingling, Signature};
pub use key::{StoryKey, StoryPolicy};
