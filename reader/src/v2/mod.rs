//! Reading format 2.0 archives through the same [`Archive`] and
//! [`Unlocked`] as 1.x: 2.0 is told apart at open by its `head` and
//! `public.json` entries (and no `manifest.json`), and from there the
//! public facts, the catalog, the records' byte ranges and the three
//! verification levels each take their 2.0 form here.
//!
//! Costs (issue 20, design note §7): opening reads the end records, the
//! central directory and, in one read, `public.json`, `head` and
//! `signatures`, never `entries` or a page; unlocking reads `c/index`
//! once; finding a record reads one page; reading a record reads the
//! chunks of its bundle that hold it; listing streams pages one at a time.
//!
//! [`Archive`]: crate::Archive
//! [`Unlocked`]: crate::Unlocked

pub(crate) mod catalog;
pub mod events;
pub(crate) mod open;
pub(crate) mod prove;
pub(crate) mod repair;
pub(crate) mod sample;
pub mod series;
pub mod succession;
pub(crate) mod verify;

#[cfg(test)]
mod tests;

pub(crate) use catalog::Catalog;
pub(crate) use open::Opened;
