//! The lock file (`app.log.lock`) that several processes sharing one rotating path take
//! around each batch: the size check, the write and a rotation then happen as one step, so
//! a file rotates once and no record lands in a file already handed to the compressor.
//! One `flock` per batch, never per record.
//!
//! The lock file is opened with `O_NOFOLLOW` and must be a regular file. A process that holds
//! the lock and stops (SIGSTOP, a debugger) must not hang every other process: the wait is
//! bounded ([`LOCK_WAIT`]), after which `lock` returns an error of kind
//! [`io::ErrorKind::WouldBlock`] ([`is_busy`]): retryable, and the batch must not be written.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sinks::file::safe;

/// How long `lock` waits for another process's batch before giving up with a busy error.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Whether `e` is the error of a lock still held by another process after [`LOCK_WAIT`]:
/// retry later, and write nothing meanwhile.
pub(crate) fn is_busy(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

#[derive(Debug)]
pub(crate) struct LockFile {
    file: File,
    held: bool,
    path: std::path::PathBuf,
    mode: u32,
    /// The process that opened it: `flock` belongs to the open file description, which a
    /// fork child shares with its parent, so a child opens the file again.
    pid: u32,
}

impl LockFile {
    pub fn open(path: &Path, mode: u32) -> io::Result<LockFile> {
        Ok(LockFile {
            file: Self::open_file(path, mode)?,
            held: false,
            path: path.to_path_buf(),
            mode,
            pid: std::process::id(),
        })
    }

    fn open_file(path: &Path, mode: u32) -> io::Result<File> {
        safe::open_lock(path, mode)
    }

    fn flock(&self, op: libc::c_int) -> io::Result<()> {
        loop {
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(self.file.as_raw_fd(), op) } == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Takes the exclusive lock, waiting up to `wait` for another process's batch.
    fn lock_within(&mut self, wait: Duration) -> io::Result<()> {
        if self.pid != std::process::id() {
            self.file = Self::open_file(&self.path, self.mode)?;
            self.pid = std::process::id();
            self.held = false;
        }
        if self.held {
            return Ok(());
        }
        let start = Instant::now();
        let mut pause = Duration::from_micros(50);
        loop {
            match self.flock(libc::LOCK_EX | libc::LOCK_NB) {
                Ok(()) => {
                    self.held = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() >= wait {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "another process has held the lock for more than {} ms (stopped?): \
                         nothing written until it is released",
                        wait.as_millis()
                    ),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Takes the exclusive lock (waits up to [`LOCK_WAIT`] for other processes' batches).
    pub fn lock(&mut self) -> io::Result<()> {
        self.lock_within(LOCK_WAIT)
    }

    /// Takes the exclusive lock if it is free now.
    pub fn try_lock(&mut self) -> io::Result<()> {
        self.lock_within(Duration::ZERO)
    }

    pub fn held(&self) -> bool {
        self.held
    }

    pub fn unlock(&mut self) {
        if self.held {
            let _ = self.flock(libc::LOCK_UN);
            self.held = false;
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        self.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_lock_name_is_refused_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        let lock = dir.path().join("a.log.lock");
        std::os::unix::fs::symlink(&elsewhere, &lock).unwrap();
        let e = LockFile::open(&lock, 0o600).unwrap_err().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        assert!(!elsewhere.exists(), "the link's target was created");
    }

    #[test]
    fn a_held_lock_is_waited_for_a_bounded_time_then_busy() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log.lock");
        let mut a = LockFile::open(&p, 0o600).unwrap();
        let mut b = LockFile::open(&p, 0o600).unwrap();
        a.lock().unwrap();
        let t = Instant::now();
        let e = b.lock_within(Duration::from_millis(200)).unwrap_err();
        assert!(is_busy(&e), "{e}");
        assert!(!b.held());
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        a.unlock();
        b.lock_within(Duration::from_millis(200)).unwrap();
        assert!(b.held());
    }
}
