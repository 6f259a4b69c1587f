//! The `alog-files` thread of a rotating file sink: compresses rotated files and applies
//! retention, so that neither blocks the writer or the callers. At start (each open of the
//! path) it repairs what a crash, `kill -9` or an exit without close may have left in the
//! middle of a compression, looking only at names of this log's set:
//!
//! - a temporary no compression is writing any more (see `compress::clear_temporary`) is
//!   removed: its original is whole (it is removed only after the rename), or was removed on
//!   purpose (retention);
//! - an original beside a compressed copy that decodes to exactly its bytes (a crash between
//!   the rename and the removal) is removed;
//! - a compressed copy that holds only a first part of its original's bytes (cut short at its
//!   final name, as a disk that lost unsynced data leaves it) is removed and the original
//!   compressed again: a file that looks complete never holds less than its original did;
//! - rotated files not yet compressed are compressed.
//!
//! Files at names of the set that alog did not make (see `safe`) are left alone, never read
//! or followed, and each is reported once as an error of the logger; so is a compressed copy
//! that is neither complete nor a first part of its original (both are kept).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::front::config::Compress;
use crate::front::error::Error;
use crate::sinks::file::compress::{
    claim, clear_temporary, codec_of, compress_file, left_alone, Temporary,
};
use crate::sinks::file::crypt::Key;
use crate::sinks::file::naming::{Codec, Naming, Rotated};
use crate::sinks::file::retention::{self, Compression, Policy};
use crate::sinks::file::safe;

/// Errors of the background thread, reported by the writer at its next batch.
pub(crate) type BackgroundErrors = Arc<Mutex<Vec<Error>>>;

enum Job {
    /// Compress this rotated file (if configured), then apply retention.
    Rotated(PathBuf),
}

#[derive(Clone)]
pub(crate) struct Settings {
    pub naming: Naming,
    pub compress: Compress,
    pub policy: Policy,
    pub key: Option<Arc<Key>>,
    pub mode: u32,
}

pub(crate) struct Housekeeper {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The process that started the thread: a fork child starts its own.
    pid: u32,
    settings: Settings,
    errors: BackgroundErrors,
}

impl std::fmt::Debug for Housekeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Housekeeper")
    }
}

/// What a compressed file beside its original is to it.
enum Copy {
    /// Decodes, without a problem, to exactly the original's bytes.
    Complete,
    /// Empty, or all that can be read of it is a first part of the original's bytes.
    Unfinished,
    /// Anything else.
    Other,
}

/// The `alog-files` thread's state: what it was told and what it already reported.
struct Worker {
    settings: Settings,
    errors: BackgroundErrors,
    /// Files already reported as left alone (each is reported once).
    reported: HashSet<PathBuf>,
    /// Rotated files the compressor gave up on: retention counts them at their size.
    failed: HashSet<PathBuf>,
}

/// The decoded bytes of a file, summarized: the CRC-32 of all of them, and of the first
/// `prefix` of them.
#[derive(Default)]
struct Tally {
    all: flate2::Crc,
    prefix: u64,
    prefix_seen: u64,
    prefix_crc: flate2::Crc,
}

impl std::io::Write for Tally {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.all.update(buf);
        let room = self.prefix.saturating_sub(self.prefix_seen);
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.prefix_crc.update(&buf[..n]);
        self.prefix_seen += n as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Worker {
    fn report(&mut self, e: Error) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }

    fn report_once(&mut self, path: &Path, what: std::io::Error) {
        if self.reported.insert(path.to_path_buf()) {
            self.report(Error::io(
                format!("housekeeping in {}", self.settings.naming.dir().display()),
                what,
            ));
        }
    }

    fn compress_one(&mut self, path: &Path) {
        let s = &self.settings;
        if s.compress == Compress::None {
            return;
        }
        match compress_file(path, s.compress, s.key.as_deref(), s.mode) {
            Ok(_) => {}
            // Another process sharing the set compressed or deleted it first, or is
            // compressing it now.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::InvalidInput
                    || e.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                self.failed.insert(path.to_path_buf());
                self.report_once(path, e);
            }
            Err(e) => {
                self.failed.insert(path.to_path_buf());
                self.report(Error::io(format!("compressing {}", path.display()), e));
            }
        }
    }

    fn retain(&mut self) {
        let s = &self.settings;
        let comp = Compression {
            on: s.compress != Compress::None,
            failed: Some(&self.failed),
        };
        match retention::apply(&s.naming, &s.policy, SystemTime::now(), &comp) {
            Ok(out) => {
                for (p, why) in out.foreign {
                    self.report_once(&p, left_alone(&p, &why));
                }
            }
            Err(e) => {
                let dir = s.naming.dir().display().to_string();
                self.report(Error::io(format!("retention in {dir}"), e));
            }
        }
    }

    /// Decodes `path` into `tally`; `None` if it cannot be read at all.
    fn tally(
        &self,
        path: &Path,
        tally: &mut Tally,
    ) -> Option<crate::sinks::file::decode::FileReport> {
        crate::sinks::file::decode::decode_file(
            path,
            self.settings.key.as_deref(),
            tally,
            &mut |_| {},
        )
        .ok()
    }

    /// Whether a file that decodes to nothing is a copy cut short before its first output:
    /// a compressed stream that just stops, or a file that ends inside its first encrypted
    /// chunk. Corrupt data (not a stream alog writes) is not.
    fn cut_at_start(r: &crate::sinks::file::decode::FileReport) -> bool {
        let torn_first_chunk = crate::sinks::file::crypt::Problem::Truncated {
            offset: 0,
            len: r.bytes_in,
        }
        .to_string();
        r.bytes_out == 0
            && !r.undecodable
            && (r.problems.is_empty() || r.problems == [torn_first_chunk])
    }

    /// What the compressed file `copy` is to the original `src`, by their decoded bytes.
    fn compare(&self, src: &Path, copy: &Path) -> Copy {
        let mut c = Tally::default();
        let Some(rc) = self.tally(copy, &mut c) else {
            return Copy::Other;
        };
        let mut o = Tally {
            prefix: rc.bytes_out,
            ..Tally::default()
        };
        let Some(ro) = self.tally(src, &mut o) else {
            return Copy::Other;
        };
        if ro.undecodable {
            return Copy::Other;
        }
        let clean = rc.problems.is_empty() && !rc.undecodable;
        let same_start = o.prefix_crc.sum() == c.all.sum() && rc.bytes_out <= ro.bytes_out;
        if clean && rc.bytes_out == ro.bytes_out && c.all.sum() == o.all.sum() {
            Copy::Complete
        } else if rc.bytes_in == 0 || (same_start && rc.bytes_out > 0) || Self::cut_at_start(&rc) {
            // All that can be read of it is a first part of the original: an unfinished
            // copy, whose records are all in the original.
            Copy::Unfinished
        } else {
            Copy::Other
        }
    }

    /// Removes `path` if it still is the file `was` describes (never through a link); that
    /// it is gone already is no error.
    fn remove_same(path: &Path, was: &std::fs::Metadata) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let now = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            r => r?,
        };
        if (now.dev(), now.ino()) != (was.dev(), was.ino()) || !safe::looks_ours(&now) {
            return Err(left_alone(path, "it was replaced while being examined"));
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// An original beside compressed copies of it: a crash between the rename of the copy
    /// and the removal of the original (the copy is complete: the original goes), or a copy
    /// cut short at its final name (a disk that lost what was not synced: the copy goes and
    /// the original is compressed again). A copy that is neither is kept with the original,
    /// and reported.
    fn settle(&mut self, src: &Rotated, copies: &[&Rotated]) -> bool {
        // Held until the end: no other logger compresses or settles it meanwhile.
        let (_claim, before) = match claim(&src.path) {
            Ok(c) => c,
            // Another logger is at it, or has finished.
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::NotFound =>
            {
                return false
            }
            Err(e) => {
                self.failed.insert(src.path.clone());
                self.report_once(&src.path, e);
                return false;
            }
        };
        let mut kept = None;
        for c in copies {
            if c.foreign.is_some() {
                // Reported as a stranger already: never read, never taken for a copy.
                kept.get_or_insert(c.path.clone());
                continue;
            }
            let Ok(was) = std::fs::symlink_metadata(&c.path) else {
                continue;
            };
            match self.compare(&src.path, &c.path) {
                Copy::Complete => {
                    if let Err(e) = Self::remove_same(&src.path, &before) {
                        self.report_once(&src.path, e);
                    }
                    return false;
                }
                Copy::Unfinished => {
                    if let Err(e) = Self::remove_same(&c.path, &was) {
                        self.report_once(&c.path, e);
                        kept.get_or_insert(c.path.clone());
                    }
                }
                Copy::Other => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "{} is not a complete compressed copy of {}: both are kept",
                            c.path.display(),
                            src.path.display()
                        ),
                    );
                    self.report_once(&src.path, e);
                    kept.get_or_insert(c.path.clone());
                }
            }
        }
        if kept.is_some() {
            self.failed.insert(src.path.clone());
        }
        kept.is_none()
    }

    /// Repairs the folder after a crash, an exit without close or `kill -9`, and compresses
    /// what is left uncompressed. Only names of this log's set are looked at.
    fn recover(&mut self) {
        let Ok(found) = self.settings.naming.scan() else {
            return;
        };
        let want = codec_of(self.settings.compress);
        // Temporaries first: a compression still running keeps its original untouched; what
        // an interrupted one left is removed (its original is whole) before the original is
        // compressed again, under a name that may be the same (a PID used again).
        let mut running = HashSet::new();
        for r in found.iter().filter(|r| r.tmp_pid.is_some()) {
            if let Some(why) = &r.foreign {
                self.report_once(&r.path, left_alone(&r.path, why));
                continue;
            }
            match clear_temporary(&r.path, r.tmp_pid.unwrap_or(0), r.codec) {
                Temporary::Running => {
                    running.insert(r.seq);
                }
                Temporary::Removed | Temporary::Gone => {}
                Temporary::NotOurs(why) => self.report_once(&r.path, left_alone(&r.path, &why)),
            }
        }
        for (i, r) in found.iter().enumerate() {
            if let Some(why) = &r.foreign {
                if r.tmp_pid.is_none() {
                    self.report_once(&r.path, left_alone(&r.path, why));
                }
                continue;
            }
            if r.tmp_pid.is_some() || r.codec != Codec::Plain || running.contains(&r.seq) {
                continue;
            }
            let copies: Vec<&Rotated> = found[i + 1..]
                .iter()
                .take_while(|o| o.seq == r.seq)
                .filter(|o| o.tmp_pid.is_none() && o.codec != Codec::Plain)
                .collect();
            let compress = copies.is_empty() || self.settle(r, &copies);
            if compress && want != Codec::Plain {
                self.compress_one(&r.path);
            }
        }
    }

    fn run(mut self, rx: Receiver<Job>) {
        self.recover();
        self.retain();
        while let Ok(job) = rx.recv() {
            let Job::Rotated(p) = job;
            self.compress_one(&p);
            // A burst of rotations: compress them all before retention counts the set, so
            // that budgets count compressed sizes.
            while let Ok(Job::Rotated(p)) = rx.try_recv() {
                self.compress_one(&p);
            }
            self.retain();
        }
    }
}

impl Housekeeper {
    pub fn start(settings: Settings, errors: BackgroundErrors) -> std::io::Result<Housekeeper> {
        let mut h = Housekeeper {
            tx: None,
            thread: None,
            pid: std::process::id(),
            settings,
            errors,
        };
        h.spawn()?;
        Ok(h)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = channel();
        let settings = self.settings.clone();
        let errors = self.errors.clone();
        let thread = std::thread::Builder::new()
            .name("alog-files".into())
            .spawn(move || {
                Worker {
                    settings,
                    errors,
                    reported: HashSet::new(),
                    failed: HashSet::new(),
                }
                .run(rx)
            })?;
        self.tx = Some(tx);
        self.thread = Some(thread);
        self.pid = std::process::id();
        Ok(())
    }

    /// A fork child: the parent's thread does not exist here.
    fn forget_if_forked(&mut self) -> bool {
        if self.pid == std::process::id() {
            return false;
        }
        std::mem::forget(self.thread.take());
        std::mem::forget(self.tx.take());
        true
    }

    pub fn rotated(&mut self, path: PathBuf) {
        if self.forget_if_forked() {
            if let Err(e) = self.spawn() {
                self.errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Error::io("cannot start the alog-files thread", e));
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Rotated(path));
        }
    }
}

impl Drop for Housekeeper {
    /// Finishes queued compressions: after close every rotated file has its final name.
    fn drop(&mut self) {
        if self.forget_if_forked() {
            return;
        }
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
