//! A file sink with its lifecycle: size and time rotation between records, reopening when
//! the path was moved or deleted (logrotate) or on request (`reopen`), encryption of each
//! batch as one chunk, a lock file around each batch when files rotate (several processes),
//! and no torn line left behind by a failed write, or continued after a crash.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::front::config::{Lifecycle, RotateInterval};
use crate::front::error::{Error, Result};
use crate::sinks::file::crypt::{Key, Sealer, OVERHEAD};
use crate::sinks::file::housekeeping::{BackgroundErrors, Housekeeper, Settings};
use crate::sinks::file::lockfile::LockFile;
use crate::sinks::file::naming::Naming;
use crate::sinks::file::retention::Policy;
use crate::sinks::file::safe;
use crate::sinks::target::write_retrying;

const HOUR_NS: i64 = 3_600_000_000_000;

/// How long a path that vanished while the open file was only renamed (still linked) is given
/// for a new file to appear there before alog creates one: logrotate's `create` mode renames
/// the file, then creates the new one itself, with the mode and owner it is told to. A file
/// alog created in between would be moved aside by logrotate (`app.log-DATE.backup`), records
/// and all. Meanwhile the records go on into the renamed file, where they are kept.
const CREATE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// How far daily periods are shifted from UTC midnight (`rotate_at`, in local time with
/// `time_zone=local`: the offset in force when the file opens), in ns.
fn period_shift(lc: &Lifecycle) -> i64 {
    let Some(at) = lc.rotate_at else { return 0 };
    let local = if lc.rotate_local {
        let now = crate::front::time::now_ns().div_euclid(1_000_000_000);
        crate::front::time::local_offset(now)
    } else {
        0
    };
    (i64::from(at) - local) * 1_000_000_000
}
const DAY_NS: i64 = 24 * HOUR_NS;

impl RotateInterval {
    /// The UTC period a timestamp (ns since the epoch) falls in.
    pub fn period(self, ts_ns: i64) -> i64 {
        match self {
            RotateInterval::Never => 0,
            RotateInterval::Hourly => ts_ns.div_euclid(HOUR_NS),
            RotateInterval::Daily => ts_ns.div_euclid(DAY_NS),
        }
    }

    /// `YYYY-MM-DD` (daily) or `YYYY-MM-DDTHH` (hourly).
    pub fn label(self, period: i64) -> Option<String> {
        let (days, hour) = match self {
            RotateInterval::Never => return None,
            RotateInterval::Hourly => (period.div_euclid(24), Some(period.rem_euclid(24))),
            RotateInterval::Daily => (period, None),
        };
        let (y, m, d) = crate::front::time::civil_from_days(days);
        Some(match hour {
            Some(h) => format!("{y:04}-{m:02}-{d:02}T{h:02}"),
            None => format!("{y:04}-{m:02}-{d:02}"),
        })
    }
}

/// The file sink of one path.
#[derive(Debug)]
pub(crate) struct FileSink {
    naming: Naming,
    /// `file_mode`: the most permission bits a file alog creates gets.
    mode: u32,
    /// `dir_mode`: folders created again after the path's folder was removed.
    dir_mode: u32,
    /// The last lock attempt found the lock file held past the bounded wait.
    lock_busy: bool,
    /// The permission bits of the open file: the next file never gets more.
    perm: u32,
    file: Option<File>,
    /// (device, inode) of the open file.
    id: (u64, u64),
    /// Bytes in the open file, as far as this process knows (refreshed at each batch).
    size: u64,
    /// The time period of the records in the open file (time rotation).
    period: Option<i64>,
    rotate_bytes: u64,
    interval: RotateInterval,
    /// Daily periods start this many ns after UTC midnight (`rotate_at`).
    shift: i64,
    reopen_check: bool,
    lock: Option<LockFile>,
    sealer: Option<Sealer>,
    /// The sealer carries the open file's id (read from its first chunk, or new).
    bound: bool,
    sealed: Vec<u8>,
    housekeeper: Option<Housekeeper>,
    /// The reopen requests already served.
    reopen_seen: u64,
    /// A failed write left a partial line that could not be cut off: start the next on a new line.
    newline_first: bool,
    /// A rotation failed in this batch: keep writing to the current file until the next one.
    rotation_failed: bool,
    /// Times the file was reopened (moved, deleted, requested, rotated).
    pub reopens: u64,
    /// The process writing: a fork child starts encrypted streams of its own.
    pid: u32,
    /// The open file is plain while this sink encrypts, or the other way round: it is
    /// rotated away before the first record, so that no file mixes the two.
    mismatch: bool,
    /// Since when the path has been missing while the open file is still linked elsewhere
    /// (see [`CREATE_GRACE`]); `None` otherwise.
    missing_since: Option<std::time::Instant>,
}

/// Whether the non-empty file at `path` with identity `id` starts with the chunk magic (is
/// encrypted). Log files are opened write-only, so it is read through a second descriptor.
fn starts_encrypted(path: &Path, id: (u64, u64), len: u64) -> Option<bool> {
    use std::io::Read;
    if len == 0 {
        return None;
    }
    let mut f = safe::open_read(path).ok()?;
    if f.metadata().ok().map(|m| file_id(&m)) != Some(id) {
        return None;
    }
    let mut head = [0u8; 4];
    Some(f.read_exact(&mut head).is_ok() && &head == crate::sinks::file::crypt::MAGIC)
}

/// The file id in the first chunk of the encrypted file at `path` with identity `id`.
fn first_file_id(path: &Path, id: (u64, u64)) -> Option<[u8; 8]> {
    use std::io::Read;
    let mut f = safe::open_read(path).ok()?;
    if f.metadata().ok().map(|m| file_id(&m)) != Some(id) {
        return None;
    }
    let mut head = [0u8; crate::sinks::file::crypt::HEADER_LEN];
    f.read_exact(&mut head).ok()?;
    crate::sinks::file::crypt::file_id_of(&head)
}

/// A process killed in the middle of a write (`kill -9` cuts a large write anywhere) leaves
/// the last line of the plain file at `path` (identity `id`, open as `file`) torn: it is
/// ended with a newline at the next open, so that the next record starts a line of its own
/// and the file, if rotated, ends whole. Under the lock file when processes share the set
/// (skipped if it is busy). Returns the bytes appended.
fn end_torn_line(file: &File, path: &Path, id: (u64, u64), mut lock: Option<&mut LockFile>) -> u64 {
    use std::os::unix::fs::FileExt;
    let torn = || {
        let f = safe::open_read(path).ok()?;
        let m = f.metadata().ok()?;
        if file_id(&m) != id || m.len() == 0 {
            return None;
        }
        let mut last = [0u8];
        f.read_exact_at(&mut last, m.len() - 1).ok()?;
        Some(last[0] != b'\n')
    };
    // Looked at again under the lock: another process may be writing to it.
    if torn() != Some(true) || lock.as_mut().is_some_and(|l| l.lock().is_err()) {
        return 0;
    }
    let mut out = file;
    let added = match torn() {
        Some(true) if out.write_all(b"\n").is_ok() => 1,
        _ => 0,
    };
    if let Some(l) = lock {
        l.unlock();
    }
    added
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(m.mtime_nsec())
}

/// Opens the log path at start: its folders are created (`dir_mode`) and it must be a
/// regular file (or nothing yet).
fn open_log(path: &Path, mode: u32, dir_mode: u32) -> Result<File> {
    if let Err(e) = safe::create_parent(path, dir_mode) {
        let dir = path.parent().unwrap_or(path);
        return Err(Error::io(
            format!("cannot create folder {}", dir.display()),
            e,
        ));
    }
    safe::open_append(path, mode)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
}

impl FileSink {
    pub fn open(
        path: &Path,
        mode: u32,
        lc: &Lifecycle,
        key: Option<&Arc<Key>>,
        errors: &BackgroundErrors,
    ) -> Result<FileSink> {
        let naming = Naming::new(path);
        let file = open_log(path, mode, lc.dir_mode)?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?;
        let mut lock = if lc.rotates() {
            Some(LockFile::open(&naming.lock_path(), mode).map_err(|e| {
                Error::io(
                    format!("cannot open lock file {}", naming.lock_path().display()),
                    e,
                )
            })?)
        } else {
            None
        };
        let policy = Policy {
            max_files: lc.max_files,
            max_age: lc.max_age,
            max_total_bytes: lc.max_total_bytes,
            active_reserve: lc.rotate_bytes,
        };
        let housekeeper = if lc.rotates() || policy.is_active() {
            let settings = Settings {
                naming: naming.clone(),
                compress: lc.compress,
                policy,
                key: key.cloned(),
                mode,
            };
            Some(
                Housekeeper::start(settings, errors.clone())
                    .map_err(|e| Error::io("cannot start the alog-files thread", e))?,
            )
        } else {
            None
        };
        let encrypted = starts_encrypted(path, file_id(&meta), meta.len());
        let mismatch = encrypted.is_some_and(|e| e != key.is_some());
        let mut size = meta.len();
        if encrypted == Some(false) {
            size += end_torn_line(&file, path, file_id(&meta), lock.as_mut());
        }
        Ok(FileSink {
            naming,
            mode,
            dir_mode: lc.dir_mode,
            lock_busy: false,
            perm: meta.mode() & 0o7777,
            id: file_id(&meta),
            size,
            period: (meta.len() > 0).then(|| {
                lc.rotate_interval
                    .period(mtime_ns(&meta) - period_shift(lc))
            }),
            shift: period_shift(lc),
            file: Some(file),
            rotate_bytes: lc.rotate_bytes,
            interval: lc.rotate_interval,
            reopen_check: lc.reopen_check,
            lock,
            sealer: key.map(|k| Sealer::new(k)),
            bound: false,
            sealed: Vec::new(),
            housekeeper,
            reopen_seen: 0,
            newline_first: false,
            rotation_failed: false,
            reopens: 0,
            pid: std::process::id(),
            mismatch,
            missing_since: None,
        })
    }

    pub fn path(&self) -> &Path {
        self.naming.active()
    }

    /// Opens the path again. This process's stream in the old file ends with its last
    /// chunk first (appended to the old file, which may have been moved: a reader of a
    /// rotated file then sees every stream end, and a stream without its end means damage).
    fn reopen(&mut self) -> io::Result<()> {
        self.close_stream();
        self.file = None;
        safe::create_parent(self.path(), self.dir_mode)?;
        let file = safe::open_append(self.path(), safe::narrower(self.mode, self.perm))?;
        let meta = file.metadata()?;
        self.perm = meta.mode() & 0o7777;
        self.id = file_id(&meta);
        self.size = meta.len();
        self.period = (meta.len() > 0).then(|| self.interval.period(mtime_ns(&meta) - self.shift));
        self.mismatch = starts_encrypted(self.naming.active(), self.id, meta.len())
            .is_some_and(|e| e != self.sealer.is_some());
        self.file = Some(file);
        if let Some(s) = self.sealer.as_mut() {
            s.restart();
        }
        self.bound = false;
        self.reopens += 1;
        self.missing_since = None;
        Ok(())
    }

    /// Binds the sealer to the open file: the id in its first chunk, or a new one for an
    /// empty file (under the lock file when processes share it, so they agree).
    fn bind(&mut self) {
        if self.bound || self.sealer.is_none() {
            return;
        }
        let id = if self.size == 0 {
            None
        } else {
            first_file_id(self.naming.active(), self.id)
        };
        if let Some(s) = self.sealer.as_mut() {
            s.bind(id);
        }
        self.bound = true;
    }

    /// Ends this process's encrypted stream in the open file with a last chunk.
    fn close_stream(&mut self) {
        if let (Some(s), Some(f)) = (self.sealer.as_mut(), self.file.as_mut()) {
            if s.used() {
                self.sealed.clear();
                s.seal(b"", true, &mut self.sealed);
                s.restart();
                let _ = f.write_all(&self.sealed);
            }
        }
    }

    /// Starts a batch: takes the lock file (rotating sinks), reopens the path if it was
    /// moved or deleted or a reopen was requested (one `stat` per batch), and refreshes the
    /// file's size (other processes, `copytruncate`).
    pub fn begin_batch(&mut self, reopen_requests: u64) -> Result<()> {
        self.rotation_failed = false;
        if self.pid != std::process::id() {
            self.pid = std::process::id();
            if let Some(s) = self.sealer.as_mut() {
                s.restart();
            }
            self.bound = false;
        }
        if let Some(l) = self.lock.as_mut() {
            // After one bounded wait ran out, only try until the lock is free again: the
            // records wait (the pipeline keeps them); the writer does not.
            let r = if self.lock_busy {
                l.try_lock()
            } else {
                l.lock()
            };
            self.lock_busy = r.as_ref().is_err_and(Self::is_lock_busy);
            r.map_err(|e| {
                Error::io(
                    format!("cannot lock {}", self.naming.lock_path().display()),
                    e,
                )
            })?;
        }
        let requested = reopen_requests != self.reopen_seen;
        self.reopen_seen = reopen_requests;
        let moved = self.file.is_none()
            || requested
            || ((self.reopen_check || self.lock.is_some()) && self.path_changed());
        if moved {
            self.reopen()
                .map_err(|e| Error::io(format!("cannot reopen {}", self.path().display()), e))?;
        } else if let Some(f) = self.file.as_ref() {
            if let Ok(m) = f.metadata() {
                self.size = m.len();
                self.perm = m.mode() & 0o7777;
            }
        }
        Ok(())
    }

    /// Whether the path no longer names the open file: another file is there, the path is
    /// gone with the open file deleted, or gone for [`CREATE_GRACE`] with the open file
    /// renamed (a rotating tool's new file is opened, not raced).
    fn path_changed(&mut self) -> bool {
        match std::fs::metadata(self.path()) {
            Ok(m) => {
                self.missing_since = None;
                file_id(&m) != self.id
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let renamed = (self.file.as_ref())
                    .and_then(|f| f.metadata().ok())
                    .is_some_and(|m| m.nlink() > 0);
                let since = *self
                    .missing_since
                    .get_or_insert_with(std::time::Instant::now);
                !renamed || since.elapsed() >= CREATE_GRACE
            }
            Err(_) => true,
        }
    }

    /// Ends a batch: releases the lock file.
    pub fn end_batch(&mut self) {
        if let Some(l) = self.lock.as_mut() {
            l.unlock();
        }
    }

    /// Before a record of `line` bytes at `ts` joins `pending` buffered bytes: whether the
    /// file must rotate first (the buffered bytes are then written, then `rotate` is called).
    pub fn before_record(&mut self, pending: usize, line: usize, ts: i64) -> bool {
        let period = self.interval.period(ts - self.shift);
        let occupied = self.size + pending as u64 > 0;
        let mut rotate = false;
        // A record without a timestamp (NO_TIMESTAMP) joins the current file.
        if self.interval != RotateInterval::Never && ts != crate::front::time::NO_TIMESTAMP {
            match self.period {
                // Only forwards: a record a few microseconds late from another thread joins
                // the newer file rather than rotating back.
                Some(p) if period > p && occupied => rotate = true,
                Some(_) if occupied => {}
                _ => self.period = Some(period),
            }
        }
        if self.rotate_bytes > 0 && occupied {
            // Encrypted: this batch's chunk, and the empty last chunk that closes the stream.
            let overhead = if self.sealer.is_some() {
                2 * OVERHEAD
            } else {
                0
            };
            let after = self.size + (pending + line + overhead) as u64;
            rotate |= after > self.rotate_bytes;
        }
        rotate |= self.mismatch && occupied;
        // Not while the path is missing: the rotating tool that renamed the file is about to
        // put the next one there.
        rotate && !self.rotation_failed && self.file.is_some() && self.missing_since.is_none()
    }

    /// The error to give instead of touching the files when this sink shares them through
    /// the lock file and does not hold it (another process kept it past the bounded wait).
    /// Its kind is `WouldBlock`: the batch can be retried once the lock is free.
    fn unlocked(&self) -> Option<io::Error> {
        let l = self.lock.as_ref()?;
        (!l.held()).then(|| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked by another process: nothing written without the lock",
                    self.naming.lock_path().display()
                ),
            )
        })
    }

    /// Whether `e` (from `begin_batch` or `write_batch`) means the lock file is held by
    /// another process: the batch was not written and can be retried.
    pub fn is_lock_busy(e: &io::Error) -> bool {
        crate::sinks::file::lockfile::is_busy(e)
    }

    /// Renames the full file to its rotated name and opens a new one. Errors leave the
    /// current file in use until the next batch. An empty file is not rotated (writes are
    /// failing, the disk is full): it stays, so that no empty file pushes history out, and
    /// the error says so (it is not counted in `rotations`).
    pub fn rotate(&mut self, ts: i64) -> Result<()> {
        if let Some(e) = self.unlocked() {
            self.rotation_failed = true;
            return Err(Error::io(
                format!("cannot rotate {}", self.path().display()),
                e,
            ));
        }
        let meta = self.file.as_ref().and_then(|f| f.metadata().ok());
        if let Some(m) = &meta {
            // The next file gets no more than this one has now (a chmod since it was opened).
            self.perm = m.mode() & 0o7777;
        }
        let empty = meta.is_some_and(|m| m.len() == 0);
        if empty {
            // Not counted as a rotation: say why, once per batch.
            self.size = 0;
            self.period = Some(self.interval.period(ts - self.shift));
            self.rotation_failed = true;
            return Err(Error::io(
                format!("did not rotate {}", self.path().display()),
                io::Error::other("it is empty (writes are failing): it stays the active file"),
            ));
        }
        self.close_stream();
        let label = self.period.and_then(|p| self.interval.label(p));
        let result = (|| -> io::Result<PathBuf> {
            let mut seq = self.naming.next_seq()?;
            loop {
                let to = self.naming.rotated(seq, label.as_deref());
                match safe::rename_noreplace(self.naming.active(), &to) {
                    Ok(()) => return Ok(to),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => seq += 1,
                    Err(e) => return Err(e),
                }
            }
        })();
        let rotated = match result {
            Ok(p) => p,
            Err(e) => {
                self.rotation_failed = true;
                return Err(Error::io(
                    format!("cannot rotate {}", self.path().display()),
                    e,
                ));
            }
        };
        if let Some(h) = self.housekeeper.as_mut() {
            h.rotated(rotated);
        }
        let r = self.reopen();
        self.period = Some(self.interval.period(ts - self.shift));
        r.map_err(|e| {
            Error::io(
                format!("cannot open {} after rotation", self.path().display()),
                e,
            )
        })
    }

    /// Writes one batch (sealed as one chunk when encrypting) with retries. Returns how many
    /// bytes of `buf` are in the file: records that end beyond it failed. A write that fails
    /// after part of a record is cut back to the record boundary, so that no record is ever
    /// half written followed by another on the same line.
    pub fn write_batch(
        &mut self,
        buf: &[u8],
        retries: u32,
        on_error: &mut dyn FnMut(&io::Error),
    ) -> (usize, Option<io::Error>) {
        if let Some(e) = self.unlocked() {
            on_error(&e);
            return (0, Some(e));
        }
        self.bind();
        let Some(file) = self.file.as_mut() else {
            let e = io::Error::new(io::ErrorKind::NotFound, "the log file is not open");
            on_error(&e);
            return (0, Some(e));
        };
        if self.newline_first && self.sealer.is_none() {
            match write_retrying(file, b"\n", retries, on_error) {
                (1, None) => self.newline_first = false,
                (_, e) => return (0, e),
            }
            self.size += 1;
        }
        let data: &[u8] = match self.sealer.as_mut() {
            Some(s) => {
                self.sealed.clear();
                s.seal(buf, false, &mut self.sealed);
                &self.sealed
            }
            None => buf,
        };
        let (n, err) = write_retrying(file, data, retries, on_error);
        self.size += n as u64;
        if err.is_none() {
            return (buf.len(), None);
        }
        let whole = if self.sealer.is_some() {
            0
        } else {
            buf[..n]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let torn = (n - whole) as u64;
        if torn > 0 {
            let cut = file
                .metadata()
                .and_then(|m| file.set_len(m.len().saturating_sub(torn)));
            match cut {
                Ok(()) => self.size = self.size.saturating_sub(torn),
                Err(_) => self.newline_first = true,
            }
        }
        (whole, err)
    }

    pub fn sync(&mut self) -> io::Result<()> {
        match self.file.as_ref() {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// The descriptor, for tests of open flags.
    #[allow(dead_code)]
    pub fn raw_fd(&self) -> Option<i32> {
        self.file.as_ref().map(|f| f.as_raw_fd())
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Close the encrypted stream only in a file still at the path (under the lock file:
        // another process may be rotating it).
        if self.sealer.as_ref().is_some_and(|s| s.used()) {
            let locked = self.lock.as_mut().map_or(Ok(()), |l| l.lock());
            let here = std::fs::metadata(self.path()).is_ok_and(|m| file_id(&m) == self.id);
            if locked.is_ok() && here {
                self.close_stream();
            }
            if let Some(l) = self.lock.as_mut() {
                l.unlock();
            }
        }
        // The housekeeper (dropped after) finishes queued compressions.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_labels_are_utc() {
        // 2026-11-23T23:59:59.999999999Z and one nanosecond later.
        let before = 1_795_478_399_999_999_999i64;
        let d = RotateInterval::Daily;
        assert_eq!(d.period(before) + 1, d.period(before + 1));
        assert_eq!(d.label(d.period(before)).unwrap(), "2026-11-23");
        assert_eq!(d.label(d.period(before + 1)).unwrap(), "2026-11-24");
        let h = RotateInterval::Hourly;
        assert_eq!(h.label(h.period(before)).unwrap(), "2026-11-23T23");
        assert_eq!(h.label(h.period(before + 1)).unwrap(), "2026-11-24T00");
        assert_eq!(RotateInterval::Never.label(5), None);
    }
}
