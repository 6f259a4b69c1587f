//! Where lines go: the console, callbacks, syslog (local, and RFC 5424 over the network:
//! `net`), a SQLite table (rows, not lines; the `sqlite` feature), an OpenTelemetry Collector
//! (`otlp`), and files with their lifecycle (`file`). A sink takes formatted bytes and writes
//! them; it does not know about the
//! queue, the writer's threads or the other sinks.
//!
//! It depends on `front` and `render`.

pub mod file;
pub(crate) mod net;
pub(crate) mod otlp;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
pub mod syslog;
pub(crate) mod target;
pub(crate) mod tls;
