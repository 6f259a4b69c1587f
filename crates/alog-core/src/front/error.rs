//! The engine's error type. Every variant maps to one stable C result code (see `alog-ffi`).

use std::fmt;
use std::io;

/// What went wrong. `code()` gives the stable number the C ABI returns.
#[derive(Debug)]
pub enum Error {
    /// A configuration key, value, level or record was not acceptable; the text names it.
    Invalid(String),
    /// The queue was full and the overflow policy dropped the record (it is counted in `dropped`).
    Full,
    /// A wait ran out: `block_timeout_ms` (the record was dropped and counted), or flush/close.
    Timeout,
    /// The logger is closed.
    Closed,
    /// An I/O error, with what alog was doing when it happened.
    Io { context: String, source: io::Error },
    /// The message is longer than `max_message_bytes`; it was not submitted.
    TooLarge { len: usize, max: usize },
}

/// An I/O error's explanation with the errno that C callers should see for it (an error alog
/// raises itself, such as a FIFO at a log path, where the OS gave none or another).
#[derive(Debug)]
pub struct OsCoded {
    pub errno: i32,
    pub msg: String,
}

impl std::fmt::Display for OsCoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for OsCoded {}

impl Error {
    /// The OS error number behind an `Io` error (0 for others).
    pub fn os_errno(&self) -> i32 {
        match self {
            Error::Io { source, .. } => source
                .raw_os_error()
                .or_else(|| {
                    source
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<OsCoded>())
                        .map(|c| c.errno)
                })
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// The error for a sink or error callback that calls back into its own logger in a way
    /// that would wait for itself (`what`: "log to", "flush", "close").
    pub(crate) fn reentry(what: &str) -> Error {
        Error::invalid(format!(
            "a sink or error callback cannot {what} its own logger: it would wait for itself"
        ))
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The stable result code of this error (`ALOG_ERR_*` in `alog.h`).
    pub fn code(&self) -> i32 {
        match self {
            Error::Invalid(_) => 2,
            Error::Full => 3,
            Error::Timeout => 4,
            Error::Closed => 5,
            Error::Io { .. } => 6,
            Error::TooLarge { .. } => 8,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => f.write_str(m),
            Error::Full => f.write_str("queue full: record dropped by the overflow policy"),
            Error::Timeout => f.write_str("timed out"),
            Error::Closed => f.write_str("logger is closed"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::TooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes is longer than max_message_bytes ({max})"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result` with the engine's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
