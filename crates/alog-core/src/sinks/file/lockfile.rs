//! The lock file (`app.log.lock`) that several processes sharing one rotating path take
//! around each batch: the size check, the write and a rotation then happen as one step, so
//! a file rotates once and no record lands in a file already handed to the compressor.
//! One `flock` per batch, never per record.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

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
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
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

    /// Takes the exclusive lock (waits for other processes' batches).
    pub fn lock(&mut self) -> io::Result<()> {
        if self.pid != std::process::id() {
            self.file = Self::open_file(&self.path, self.mode)?;
            self.pid = std::process::id();
            self.held = false;
        }
        if !self.held {
            self.flock(libc::LOCK_EX)?;
            self.held = true;
        }
        Ok(())
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
