//! Built-in places: countries and territories, UN M49 regions and blocs of countries, with
//! their names, demonyms and capitals in several languages, compiled into the binary from
//! `data/places/` and expanded by `@country:KZ`, `@region:central-asia` and `@bloc:gcc` in rules.

pub mod inflect;
