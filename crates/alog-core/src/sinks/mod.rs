//! Where lines go: the console, callbacks, syslog, and files with their lifecycle
//! (`file`). A sink takes formatted bytes and writes them; it does not know about the
//! queue, the writer's threads or the other sinks.
//!
//! It depends on `front` and `render`.

pub mod file;
pub mod syslog;
pub(crate) mod target;
