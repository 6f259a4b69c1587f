//! Turning records into bytes: the text and JSON formats with their escaping, patterns,
//! printf-style rendering, the deferred (`ALOG_LOGF`) call sites, and RFC 5424's structured
//! data for the network syslog sink (`sd`), and OTLP's JSON log records (`otlp_json`).
//!
//! It depends on `front` only. It produces lines; it never writes them anywhere.

pub mod deferred;
pub mod format;
pub(crate) mod otlp_json;
pub mod printf;
// Read only by the SQLite sink, which is a cargo feature.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) mod row;
pub mod sd;
