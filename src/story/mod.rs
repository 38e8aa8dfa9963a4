//! Stories: one alert per rule per story, however many outlets report it.
//!
//! An item's headline and lead get a MinHash signature ([`fingerprint`]); items whose
//! signatures are close (estimated Jaccard of content words ≥ the threshold) are one story.
//! LSH band keys make the look-up an index probe instead of a scan.
//!
//! Reports in other words or another language share few words: they join by the names they
//! mention ([`entities`]: the same people, organisations, countries, kind of event and
//! numbers), within hours of each other.

pub mod decide;
pub mod entities;
pub mod fingerprint;
pub mod key;

pub use entities::{Entities, EntityKind};
pub use fingerprint::{Fingerprinter, Shingling, Signature};
pub use key::{StoryKey, StoryPolicy};
