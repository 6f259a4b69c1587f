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
//! File sinks have a lifecycle (`rotate.rs` and its neighbours): size and time rotation
//! between records with the naming scheme of [`naming`], retention from a folder scan,
//! atomic gzip/zstd compression and retention on an `alog-files` thread, encryption in
//! authenticated chunks ([`crypt`]), reopening after external rotation
//! ([`Logger::reopen`] and a per-batch identity check) and a lock file for several
//! processes. [`reader`] reads every kind of file back (the `alog` command uses it).

mod builder;
pub mod clock;
mod compress;
pub mod config;
pub mod crypt;
pub mod deferred;
pub mod error;
pub mod format;
mod housekeeping;
pub mod level;
mod lockfile;
mod logger;
pub mod naming;
mod pipeline;
pub mod printf;
mod process;
pub mod queue;
pub mod reader;
pub mod record;
mod retention;
mod rotate;
mod shared;
mod sink;
mod stats;
mod submit;
mod sync;
pub mod syslog;
pub mod time;
mod writer;

pub use builder::Builder;
pub use config::{Compress, Config, Format, Fsync, Lifecycle, Overflow, RotateInterval, Stream};
pub use error::{Error, Result};
pub use level::Level;
pub use logger::{Logger, Record, DROP_CLOSE_TIMEOUT, NO_TIMESTAMP};
pub use record::{Field, OwnedValue, Source, Value};
pub use stats::Stats;
