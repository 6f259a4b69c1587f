//! The bounded multi-producer ring that a log call writes into, and the claim/publish
//! protocol between callers and the writer.
//!
//! It depends only on `front` (the clock's stamps). It knows nothing of formats, sinks or
//! the writer's threads; the overflow policies are decided above it, in `api::submit`.
//! `journal` (`durability=mmap`) keeps a copy of the queued records in a file; it opens that
//! file through the file layer's safe-opening helpers.

pub(crate) mod journal;
mod ring;
pub(crate) mod sync;

pub use ring::*;
