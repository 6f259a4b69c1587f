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

mod builder;
pub mod clock;
pub mod config;
pub mod deferred;
pub mod error;
pub mod format;
pub mod level;
mod logger;
mod pipeline;
pub mod printf;
mod process;
pub mod queue;
pub mod record;
mod shared;
mod sink;
mod stats;
mod submit;
mod sync;
pub mod time;
mod writer;

pub use builder::Builder;
pub use config::{Config, Format, Fsync, Overflow, Stream};
pub use error::{Error, Result};
pub use level::Level;
pub use logger::{Logger, Record, DROP_CLOSE_TIMEOUT};
pub use record::{Field, Source, Value};
pub use stats::Stats;
