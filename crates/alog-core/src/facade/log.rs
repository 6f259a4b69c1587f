//! alog behind the [`log`](https://docs.rs/log) facade (feature `log`):
//!
//! ```no_run
//! let logger = alog_core::Logger::builder().path("logs/app.log").build()?;
//! alog_core::log::init(logger).expect("another logger was installed first");
//! log::info!("service started on port {}", 8080);
//! log::warn!(user = "ann", ms = 1250; "slow request");
//! # Ok::<(), alog_core::Error>(())
//! ```
//!
//! Levels map to alog's: `Error`, `Warn`, `Info`, `Debug`, `Trace` -> ERROR, WARN, INFO, DEBUG,
//! TRACE. Key-values become typed fields; the record's file, line and module path its source.

use super::Fields;
use crate::{Level, Logger, OwnedValue};

/// The `log::Log` implementation writing into an alog [`Logger`].
#[derive(Debug)]
pub struct AlogLog {
    logger: Logger,
}

impl AlogLog {
    pub fn new(logger: Logger) -> AlogLog {
        AlogLog { logger }
    }
}

/// alog's level of a `log` level.
pub fn level(l: ::log::Level) -> Level {
    match l {
        ::log::Level::Error => Level::ERROR,
        ::log::Level::Warn => Level::WARN,
        ::log::Level::Info => Level::INFO,
        ::log::Level::Debug => Level::DEBUG,
        ::log::Level::Trace => Level::TRACE,
    }
}

/// Installs `logger` as the `log` facade's logger (once per process) and sets the facade's
/// maximum level to the logger's, so that the macros of disabled levels evaluate nothing.
/// After `logger.set_level(..)`, call `log::set_max_level(alog_core::log::level_filter(&logger))`.
pub fn init(logger: Logger) -> Result<(), ::log::SetLoggerError> {
    let max = level_filter(&logger);
    ::log::set_boxed_logger(Box::new(AlogLog::new(logger)))?;
    ::log::set_max_level(max);
    Ok(())
}

/// The most verbose `log` level `logger` lets through.
pub fn level_filter(logger: &Logger) -> ::log::LevelFilter {
    use ::log::LevelFilter as F;
    [
        (Level::TRACE, F::Trace),
        (Level::DEBUG, F::Debug),
        (Level::INFO, F::Info),
        (Level::WARN, F::Warn),
        (Level::ERROR, F::Error),
    ]
    .into_iter()
    .find(|(l, _)| logger.enabled(*l))
    .map_or(F::Off, |(_, f)| f)
}

struct Visitor<'a>(&'a mut Fields);

impl<'kvs> ::log::kv::VisitSource<'kvs> for Visitor<'_> {
    fn visit_pair(
        &mut self,
        key: ::log::kv::Key<'kvs>,
        value: ::log::kv::Value<'kvs>,
    ) -> Result<(), ::log::kv::Error> {
        let v = if let Some(b) = value.to_bool() {
            OwnedValue::Bool(b)
        } else if let Some(i) = value.to_i64() {
            OwnedValue::Int(i)
        } else if let Some(u) = value.to_u64() {
            OwnedValue::Uint(u)
        } else if let Some(f) = value.to_f64() {
            OwnedValue::Float(f)
        } else if let Some(s) = value.to_borrowed_str() {
            OwnedValue::Str(s.as_bytes().to_vec())
        } else {
            OwnedValue::Str(value.to_string().into_bytes())
        };
        self.0.push(key.as_str(), v);
        Ok(())
    }
}

impl ::log::Log for AlogLog {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        self.logger.enabled(level(metadata.level()))
    }

    fn log(&self, record: &::log::Record<'_>) {
        let lvl = level(record.level());
        if !self.logger.enabled(lvl) {
            return;
        }
        let mut fields = Fields::default();
        let _ = record.key_values().visit(&mut Visitor(&mut fields));
        let write = |msg: &str| {
            fields.write(
                &self.logger,
                lvl,
                msg,
                record.file(),
                record.line(),
                record.module_path(),
            )
        };
        match record.args().as_str() {
            Some(s) => write(s),
            None => super::with_message_buf(|buf| {
                use std::fmt::Write as _;
                let _ = write!(buf, "{}", record.args());
                write(buf)
            }),
        }
    }

    fn flush(&self) {
        let _ = self.logger.flush(None);
    }
}
