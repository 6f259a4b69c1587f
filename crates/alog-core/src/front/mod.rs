//! The vocabulary every layer speaks: levels, records and fields, configuration (keys,
//! parsing, defaults), errors, time and the clock, and the statistics snapshot.
//!
//! This is the bottom layer: it depends on nothing else in the crate. It knows that records
//! exist and how they are configured, never how they are queued, formatted or written.

pub mod clock;
pub mod config;
pub(crate) mod copy;
pub mod error;
pub mod level;
pub(crate) mod pattern;
pub mod record;
pub mod signal_set;
pub(crate) mod stats;
pub mod thread;
pub mod time;
