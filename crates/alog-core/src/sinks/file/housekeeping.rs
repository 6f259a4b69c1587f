//! The `alog-files` thread of a rotating file sink: compresses rotated files and applies
//! retention, so that neither blocks the writer or the callers. At start it repairs what a
//! crash may have left: temporaries alog made in processes now dead are removed, an original
//! whose compressed copy is complete (it decodes to the same bytes) is removed, rotated files
//! not yet compressed are compressed. Files at names of the set that alog did not make (see
//! `safe`) are left alone, and each is reported once as an error of the logger.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::front::config::Compress;
use crate::front::error::Error;
use crate::sinks::file::compress::{codec_of, compress_file, left_alone};
use crate::sinks::file::crypt::Key;
use crate::sinks::file::naming::{Codec, Naming};
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

fn pid_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    pid == std::process::id()
        || unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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

/// The bytes of a decoded file, summarized: its length and CRC-32.
#[derive(Default)]
struct Digest(flate2::Crc);

impl std::io::Write for Digest {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Worker {
    fn report(&mut self, e: Error) {
        crate::writer::shared::lock(&self.errors).push(e);
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
            // Another process sharing the set compressed or deleted it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
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

    /// Whether the file at `path` could be a temporary alog's compressor made: empty (a
    /// crash right after it was created) or starting like what it writes.
    fn is_our_temporary(path: &Path, codec: Codec) -> bool {
        let Ok(mut f) = safe::open_read(path) else {
            return false;
        };
        let mut head = [0u8; 4];
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(_) => return false,
            }
        }
        let head = &head[..n];
        let magic: &[u8] = match codec {
            Codec::Gzip => &[0x1f, 0x8b],
            Codec::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            Codec::Plain => return false,
        };
        head.is_empty()
            || magic.starts_with(head)
            || head.starts_with(magic)
            || crate::sinks::file::crypt::MAGIC.starts_with(head)
    }

    /// The decoded bytes of a file (length, CRC-32), if it decodes without a problem.
    fn digest(&self, path: &Path) -> Option<(u64, u32)> {
        let mut d = Digest::default();
        let r = crate::read::reader::decode_file(
            path,
            self.settings.key.as_deref(),
            &mut d,
            &mut |_| {},
        )
        .ok()?;
        (r.problems.is_empty() && !r.undecodable).then(|| (r.bytes_out, d.0.sum()))
    }

    /// Repairs the folder after a crash and compresses what is left uncompressed.
    fn recover(&mut self) {
        let Ok(found) = self.settings.naming.scan() else {
            return;
        };
        let want = codec_of(self.settings.compress);
        for (i, r) in found.iter().enumerate() {
            if let Some(why) = &r.foreign {
                self.report_once(&r.path, left_alone(&r.path, why));
                continue;
            }
            if let Some(pid) = r.tmp_pid {
                if !pid_alive(pid) {
                    if Self::is_our_temporary(&r.path, r.codec) {
                        let _ = std::fs::remove_file(&r.path);
                    } else {
                        let why = "it is no temporary file alog made";
                        self.report_once(&r.path, left_alone(&r.path, why));
                    }
                }
                continue;
            }
            let same: Vec<_> = found[i + 1..]
                .iter()
                .take_while(|o| o.seq == r.seq)
                .collect();
            let compressed: Vec<_> = same
                .iter()
                .filter(|o| o.tmp_pid.is_none() && o.codec != Codec::Plain)
                .collect();
            // Another process sharing the set is compressing it right now.
            let in_progress = same.iter().any(|o| {
                o.tmp_pid
                    .is_some_and(|p| p != std::process::id() && pid_alive(p))
            });
            if r.codec == Codec::Plain && !compressed.is_empty() {
                // A crash between the rename of the copy and the removal of the original:
                // remove the original only if a copy holds exactly its bytes.
                let mine = self.digest(&r.path);
                let whole = compressed
                    .iter()
                    .any(|c| c.foreign.is_none() && mine.is_some() && self.digest(&c.path) == mine);
                if whole {
                    let _ = std::fs::remove_file(&r.path);
                } else {
                    self.failed.insert(r.path.clone());
                    let e = std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "{} is not a complete compressed copy of {}: both are kept",
                            compressed[0].path.display(),
                            r.path.display()
                        ),
                    );
                    self.report_once(&r.path, e);
                }
            } else if r.codec == Codec::Plain && want != Codec::Plain && !in_progress {
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
                crate::writer::shared::lock(&self.errors)
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
