//! The writer: the pool of `alog-writer` threads shared by every logger ([`pool`]), each
//! logger's writer job that batches its queue ([`thread`]), the pipeline that formats a batch
//! once per format and hands it to each sink, the sinks' lanes ([`lane`]) that keep a slow
//! sink from holding up the others, the state a logger shares with its job, and fork/exit
//! handling.
//!
//! It depends on `front`, `queue`, `render` and `sinks`; nothing below it knows it exists.

pub mod lane;
pub(crate) mod pipeline;
pub mod pool;
pub(crate) mod process;
pub(crate) mod shared;
pub mod signals;
pub(crate) mod thread;
