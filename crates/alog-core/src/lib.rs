//! # alog-core
//!
//! The engine of alog: a log call copies its record into a preallocated lock-free ring and
//! returns; the `alog-writer` thread batches records, formats them (text or JSON) and writes
//! each sink's batch with one write. Every accepted record ends as written, dropped by the
//! overflow policy the user chose, or failed with a counted error:
//! `submitted == written + dropped + failed + pending` in every [`Stats`] snapshot.
//!
//! ```no_run
//! use alog_core::{Logger, Level, Field};
//!
//! let log = Logger::builder().path("logs/app.log").level(Level::DEBUG).build()?;
//! log.info("service started");
//! log.log_fields(Level::WARN, "slow request", &[Field::new("ms", 1250i64), Field::new("path", "/api")])?;
//! log.flush(None)?;
//! # Ok::<(), alog_core::Error>(())
//! ```
//!
//! Configuration keys, defaults and accepted values are listed in [`config`].
//!
//! ## Layers
//!
//! The crate is laid out in folders that are layers; each depends only on the layers below it:
//!
//! ```text
//! api/      Logger, Builder, the submit path (level gate, overflow policy)    top
//! writer/   shared state, the writer thread, the pipeline and fork handling
//! sinks/    console, callback, syslog; sinks/file/: rotation, naming, retention,
//!           compression, encryption, the multi-process lock
//! read/     reading a set of files back (beside sinks/file, which it uses)
//! render/   text and JSON formats, patterns, printf and deferred call sites
//! queue/    the bounded ring callers write into
//! front/    vocabulary: Level, Record, Field, Config, Error, time, Stats         bottom
//! ```
//!
//! Configuration keys, defaults and accepted values are listed in [`config`]; [`reader`]
//! reads every kind of file back (the `alog` command uses it).

mod api;
mod facade;
mod front;
pub mod queue;
mod read;
mod render;
mod sinks;
mod writer;

#[cfg(feature = "log")]
pub use facade::log;
#[cfg(feature = "tracing")]
pub use facade::tracing;
pub use front::{clock, config, error, level, record, time};
pub use read::reader;
pub use render::{deferred, format, printf};
pub use sinks::file::{crypt, naming};
pub use sinks::syslog;

pub use api::builder::Builder;
pub use api::logger::{register_site, Logger, Record, DROP_CLOSE_TIMEOUT, NO_TIMESTAMP};
pub use front::config::{
    Compress, Config, Format, Fsync, LaneConfig, LaneOverflow, Lifecycle, Overflow, RotateInterval,
    Stream,
};
pub use front::error::{Error, Result};
pub use front::level::Level;
pub use front::record::{Field, OwnedValue, Source, Value};
pub use front::stats::{SinkStats, Stats};
pub use writer::lane::sink_failed;
pub use writer::pool::{
    max_threads as writer_threads_max, set_max_threads as set_writer_threads,
    threads as writer_threads,
};
pub use writer::signals::{in_alog_call, SIGNAL_FLUSH_TIMEOUT};
