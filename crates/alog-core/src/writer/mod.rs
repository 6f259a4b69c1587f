//! The writer: the state a logger shares with its writer thread, the pipeline that formats a
//! batch once per format and hands it to each sink, the writer thread's loop, and fork
//! handling.
//!
//! It depends on `front`, `queue`, `render` and `sinks`; nothing below it knows it exists.

pub(crate) mod pipeline;
pub(crate) mod process;
pub(crate) mod shared;
pub(crate) mod thread;
