//! The `alog-files` thread of a rotating file sink: compresses rotated files and applies
//! retention, so that neither blocks the writer or the callers. At start it repairs what a
//! crash may have left: temporaries of dead processes are removed, an original whose
//! compressed copy exists is removed, rotated files not yet compressed are compressed.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::front::config::Compress;
use crate::front::error::Error;
use crate::sinks::file::compress::{codec_of, compress_file};
use crate::sinks::file::crypt::Key;
use crate::sinks::file::naming::{Codec, Naming};
use crate::sinks::file::retention::{self, Policy};

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

impl Settings {
    fn compress_one(&self, path: &std::path::Path, errors: &BackgroundErrors) {
        if self.compress == Compress::None {
            return;
        }
        if let Err(e) = compress_file(path, self.compress, self.key.as_deref(), self.mode) {
            if e.kind() != std::io::ErrorKind::NotFound
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                crate::writer::shared::lock(errors)
                    .push(Error::io(format!("compressing {}", path.display()), e));
            }
        }
    }

    fn retain(&self, errors: &BackgroundErrors) {
        if let Err(e) = retention::apply(&self.naming, &self.policy, SystemTime::now()) {
            crate::writer::shared::lock(errors).push(Error::io(
                format!("retention in {}", self.naming.dir().display()),
                e,
            ));
        }
    }

    /// Repairs the folder after a crash and compresses what is left uncompressed.
    fn recover(&self, errors: &BackgroundErrors) {
        let Ok(found) = self.naming.scan() else {
            return;
        };
        let want = codec_of(self.compress);
        for (i, r) in found.iter().enumerate() {
            if let Some(pid) = r.tmp_pid {
                if !pid_alive(pid) {
                    let _ = std::fs::remove_file(&r.path);
                }
                continue;
            }
            let same: Vec<_> = found[i + 1..]
                .iter()
                .take_while(|o| o.seq == r.seq)
                .collect();
            let has_compressed = same
                .iter()
                .any(|o| o.tmp_pid.is_none() && o.codec != Codec::Plain);
            // Another process sharing the set is compressing it right now.
            let in_progress = same.iter().any(|o| {
                o.tmp_pid
                    .is_some_and(|p| p != std::process::id() && pid_alive(p))
            });
            if r.codec == Codec::Plain && has_compressed {
                let _ = std::fs::remove_file(&r.path);
            } else if r.codec == Codec::Plain && want != Codec::Plain && !in_progress {
                self.compress_one(&r.path, errors);
            }
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
                settings.recover(&errors);
                settings.retain(&errors);
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Rotated(p) => {
                            settings.compress_one(&p, &errors);
                            settings.retain(&errors);
                        }
                    }
                }
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
