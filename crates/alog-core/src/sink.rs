//! Where formatted lines go: files, the console and callbacks.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{BatchCallback, LineCallback, Stream};
use crate::error::{Error, Result};
use crate::level::Level;

/// A sink's destination.
pub(crate) enum Target {
    File {
        file: File,
        path: PathBuf,
    },
    Console(Stream),
    Callback(LineCallback),
    /// Takes a batch's bytes at once; called once per batch, never retried.
    Batch(BatchCallback),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::File { path, .. } => write!(f, "File({})", path.display()),
            Target::Console(s) => write!(f, "Console({s:?})"),
            Target::Callback(_) => f.write_str("Callback"),
            Target::Batch(_) => f.write_str("Batch"),
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

impl Target {
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::File { path, .. } => path.display().to_string(),
            Target::Console(Stream::Stdout) => "stdout".into(),
            Target::Console(Stream::Stderr) => "stderr".into(),
            Target::Callback(_) => "callback".into(),
            Target::Batch(_) => "batch callback".into(),
        }
    }

    fn write_once(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::File { file, .. } => file.write(buf),
            Target::Console(Stream::Stdout) => io::stdout().lock().write(buf),
            Target::Console(Stream::Stderr) => io::stderr().lock().write(buf),
            Target::Callback(_) => Ok(buf.len()),
            Target::Batch(cb) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(buf))) {
                    Ok(Ok(())) => Ok(buf.len()),
                    Ok(Err(msg)) => Err(io::Error::other(msg)),
                    Err(_) => Err(io::Error::other("batch callback panicked")),
                }
            }
        }
    }

    /// Writes all of `buf`, retrying a failed write up to `retries` times with backoff
    /// (1, 2, 4... ms). Returns how many bytes were written and the error that stopped it.
    /// `on_error` sees every failed attempt.
    pub(crate) fn write_all(
        &mut self,
        buf: &[u8],
        retries: u32,
        mut on_error: impl FnMut(&io::Error),
    ) -> (usize, Option<io::Error>) {
        let retries = if matches!(self, Target::Batch(_)) {
            0
        } else {
            retries
        };
        let mut done = 0;
        let mut failures = 0;
        while done < buf.len() {
            match self.write_once(&buf[done..]) {
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

    pub(crate) fn sync(&mut self) -> io::Result<()> {
        match self {
            Target::File { file, .. } => file.sync_data(),
            _ => Ok(()),
        }
    }
}

/// One configured sink with its level, its formatter and its pending batch bytes.
#[derive(Debug)]
pub(crate) struct Sink {
    pub target: Target,
    /// The sink's own minimum level; `None` follows the logger's level.
    pub level: Option<Level>,
    /// Index of the formatter in the pipeline.
    pub formatter: usize,
    /// Bytes of the current batch, and where each record's line ends in it.
    pub buf: Vec<u8>,
    pub ends: Vec<(usize, u32)>,
}
