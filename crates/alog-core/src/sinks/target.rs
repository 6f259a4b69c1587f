//! Where formatted lines go: files, the console, callbacks, syslog, SQLite and OTLP.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use crate::front::config::{BatchCallback, Config, LineCallback, Stream};
use crate::front::error::{Error, Result};
use crate::sinks::file::rotate::FileSink;
use crate::sinks::otlp::Otlp;
use crate::sinks::syslog::Syslog;

/// A sink's destination.
pub(crate) enum Target {
    File(Box<FileSink>),
    Console(Stream),
    Callback(LineCallback),
    /// Takes a batch's bytes at once; called once per batch, never retried.
    Batch(BatchCallback),
    /// One message per record, sent as the record is formatted (a datagram to the local
    /// daemon or a UDP receiver, an octet-counted frame to a TCP receiver).
    Syslog(Box<Syslog>),
    /// One row per record, each batch in one transaction (its lane sends the rows).
    #[cfg(feature = "sqlite")]
    Sqlite(Box<crate::sinks::sqlite::Sqlite>),
    /// Requests of many records (their `LogRecord` JSON objects) to an OTLP/HTTP receiver.
    Otlp(Box<Otlp>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::File(fs) => write!(f, "File({})", fs.path().display()),
            Target::Console(s) => write!(f, "Console({s:?})"),
            Target::Callback(_) => f.write_str("Callback"),
            Target::Batch(_) => f.write_str("Batch"),
            Target::Syslog(s) => write!(f, "Syslog({})", s.describe()),
            #[cfg(feature = "sqlite")]
            Target::Sqlite(s) => write!(f, "Sqlite({})", s.path().display()),
            Target::Otlp(o) => write!(f, "Otlp({})", o.addr()),
        }
    }
}

/// Opens a log file for appending (`O_APPEND | O_CLOEXEC | O_CREAT`), creating its parent
/// folders; new files get `mode`.
pub(crate) fn open_file(path: &Path, mode: u32) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| Error::io(format!("cannot create folder {}", dir.display()), e))?;
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
}

/// The SQLite sink of `cfg`, its database at `path` (the `sqlite` key).
pub(crate) fn open_sqlite(path: &Path, cfg: &Config) -> Result<Target> {
    #[cfg(feature = "sqlite")]
    {
        use crate::sinks::sqlite::{Options, Sqlite};
        let opts = Options {
            table: cfg.sqlite_table.clone(),
            busy_timeout: cfg.sqlite_busy_timeout,
            sync_each_batch: cfg.fsync == crate::front::config::Fsync::Batch,
            file_mode: cfg.file_mode,
            dir_mode: cfg.lifecycle.dir_mode,
            level_names: cfg.level_names.clone(),
        };
        Sqlite::open(path, opts)
            .map(|s| Target::Sqlite(Box::new(s)))
            .map_err(|e| {
                Error::io(
                    format!("cannot open the SQLite database {}", path.display()),
                    e,
                )
            })
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = cfg;
        Err(Error::invalid(format!(
            "sqlite={}: this build of alog has no SQLite sink (alog-core without its \
             cargo feature `sqlite`)",
            path.display()
        )))
    }
}

impl Target {
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::File(fs) => fs.path().display().to_string(),
            Target::Console(Stream::Stdout) => "stdout".into(),
            Target::Console(Stream::Stderr) => "stderr".into(),
            Target::Callback(_) => "callback".into(),
            Target::Batch(_) => "batch callback".into(),
            Target::Syslog(s) => format!("syslog at {}", s.describe()),
            #[cfg(feature = "sqlite")]
            Target::Sqlite(s) => format!("sqlite at {}", s.path().display()),
            Target::Otlp(o) => o.addr().to_string(),
        }
    }

    /// Writes all of `buf`, retrying a failed write up to `retries` times with backoff
    /// (1, 2, 4... ms). Returns how many bytes of `buf` were taken and the error that stopped
    /// it. `on_error` sees every failed attempt.
    pub(crate) fn write_all(
        &mut self,
        buf: &[u8],
        retries: u32,
        on_error: &mut dyn FnMut(&io::Error),
    ) -> (usize, Option<io::Error>) {
        match self {
            Target::File(fs) => fs.write_batch(buf, retries, on_error),
            Target::Console(Stream::Stdout) => {
                write_retrying(&mut io::stdout().lock(), buf, retries, on_error)
            }
            Target::Console(Stream::Stderr) => {
                write_retrying(&mut io::stderr().lock(), buf, retries, on_error)
            }
            // Per-record targets: their lanes send each record (see `writer::lane`).
            Target::Callback(_) | Target::Syslog(_) | Target::Otlp(_) => (buf.len(), None),
            #[cfg(feature = "sqlite")]
            Target::Sqlite(_) => (buf.len(), None),
            Target::Batch(cb) => {
                let e = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(buf))) {
                    Ok(Ok(())) => return (buf.len(), None),
                    Ok(Err(msg)) => io::Error::other(msg),
                    Err(_) => io::Error::other("batch callback panicked"),
                };
                on_error(&e);
                (0, Some(e))
            }
        }
    }

    pub(crate) fn sync(&mut self) -> io::Result<()> {
        match self {
            Target::File(fs) => fs.sync(),
            _ => Ok(()),
        }
    }
}

/// Writes all of `buf` to `w`, retrying a failed write up to `retries` times with backoff
/// (1, 2, 4... ms). Returns how many bytes were written and the error that stopped it.
/// `on_error` sees every failed attempt.
pub(crate) fn write_retrying(
    w: &mut dyn Write,
    buf: &[u8],
    retries: u32,
    on_error: &mut dyn FnMut(&io::Error),
) -> (usize, Option<io::Error>) {
    let mut done = 0;
    let mut failures = 0;
    while done < buf.len() {
        match w.write(&buf[done..]) {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "write returned 0");
                on_error(&e);
                return (done, Some(e));
            }
            Ok(n) => {
                done += n;
                failures = 0;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                on_error(&e);
                if failures >= retries {
                    return (done, Some(e));
                }
                std::thread::sleep(Duration::from_millis(1 << failures.min(10)));
                failures += 1;
            }
        }
    }
    (done, None)
}
