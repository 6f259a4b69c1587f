//! Retention: which rotated files to delete, decided from a scan of the folder every time
//! (at start and after each rotation), so that it is right across restarts and processes.
//!
//! Rotated files are ranked by number, newest first. A file is deleted when it is older (by
//! modification time) than `max_age`, when `max_files` newer rotated files exist, or when
//! the newer rotated files and the active file already hold `max_total_bytes`. The active
//! file is never deleted.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::sinks::file::naming::{Codec, Naming, Rotated};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_files: u64,
    pub max_age: Option<Duration>,
    pub max_total_bytes: u64,
    /// The size the active file grows to before it rotates (`rotate_bytes`, 0 if unknown):
    /// the byte budget keeps room for it, so that the set stays within the budget as the
    /// active file fills up, not only just after a rotation.
    pub active_reserve: u64,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.max_files > 0 || self.max_age.is_some() || self.max_total_bytes > 0
    }
}

/// How rotated files not compressed yet count against `max_total_bytes`.
#[derive(Debug, Default)]
pub(crate) struct Compression<'a> {
    /// Compression is configured: an uncompressed rotated file is waiting for the compressor
    /// and counts nothing until its compressed copy exists (retention runs again then).
    pub on: bool,
    /// Files the compressor gave up on: they stay as they are and count at their size.
    pub failed: Option<&'a HashSet<PathBuf>>,
}

/// One rotated file as retention sees it: all names it has (original, compressed, temporary).
struct Entry {
    paths: Vec<PathBuf>,
    bytes: u64,
    mtime: SystemTime,
    /// Bytes of decoded records it may hold (0: an empty file, which ranks as nothing).
    empty: bool,
}

fn group(found: Vec<Rotated>, comp: &Compression<'_>) -> Vec<Entry> {
    let mut out: Vec<(u64, Entry)> = Vec::new();
    for r in found {
        let meta = std::fs::symlink_metadata(&r.path).ok();
        let len = meta.as_ref().map_or(0, |m| m.len());
        let waiting = comp.on
            && r.codec == Codec::Plain
            && r.tmp_pid.is_none()
            && !comp.failed.is_some_and(|f| f.contains(&r.path));
        let bytes = if waiting { 0 } else { len };
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let empty = len == 0 && r.tmp_pid.is_none();
        match out.last_mut() {
            Some((seq, e)) if *seq == r.seq => {
                // Original and compressed copy both exist mid-compression: count the larger.
                e.bytes = e.bytes.max(bytes);
                e.mtime = e.mtime.max(mtime);
                e.empty &= empty;
                e.paths.push(r.path);
            }
            _ => out.push((
                r.seq,
                Entry {
                    paths: vec![r.path],
                    bytes,
                    mtime,
                    empty,
                },
            )),
        }
    }
    out.into_iter().map(|(_, e)| e).collect()
}

/// What one retention pass did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub deleted: Vec<PathBuf>,
    /// Files at names of the set that alog did not make, left alone: (path, why).
    pub foreign: Vec<(PathBuf, String)>,
}

/// Deletes what `policy` says should go. An entry that cannot be deleted (a permission)
/// does not stop the others: the first such error is returned after every entry was tried.
/// Files alog did not make are neither counted nor deleted; an empty rotated file (a
/// rotation while writes failed) does not count towards `max_files`.
pub(crate) fn apply(
    naming: &Naming,
    policy: &Policy,
    now: SystemTime,
    comp: &Compression<'_>,
) -> std::io::Result<Outcome> {
    let mut done = Outcome::default();
    let mut first_error = None;
    if !policy.is_active() {
        return Ok(done);
    }
    let mut found = naming.scan()?;
    found.retain(|r| match &r.foreign {
        Some(why) => {
            done.foreign.push((r.path.clone(), why.clone()));
            false
        }
        None => true,
    });
    let entries = group(found, comp);
    let active = std::fs::symlink_metadata(naming.active()).map_or(0, |m| m.len());
    let mut total = active.max(policy.active_reserve);
    let mut rank = 0u64;
    for e in entries.iter().rev() {
        total += e.bytes;
        let too_many = policy.max_files > 0 && rank >= policy.max_files;
        let too_old = policy
            .max_age
            .is_some_and(|age| now.duration_since(e.mtime).unwrap_or_default() > age);
        let too_big = policy.max_total_bytes > 0 && total > policy.max_total_bytes;
        if !e.empty {
            rank += 1;
        }
        if too_many || too_old || too_big {
            for p in &e.paths {
                match std::fs::remove_file(p) {
                    Ok(()) => done.deleted.push(p.clone()),
                    // Another process sharing the set deleted it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Compression<'static> {
        Compression::default()
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn keeps_the_newest_within_every_limit() {
        let dir = tempfile::tempdir().unwrap();
        let n = Naming::new(&dir.path().join("a.log"));
        let write = |name: &str, len: usize| {
            std::fs::write(dir.path().join(name), vec![b'x'; len]).unwrap()
        };
        write("a.log", 10);
        for i in 1..=5 {
            write(&format!("a.log.{i}"), 100);
        }
        write("a.log.5.gz.tmp.1", 30); // mid-compression of 5: one entry
        let now = SystemTime::now();
        let policy = Policy {
            max_files: 4,
            ..Policy::default()
        };
        assert_eq!(
            apply(&n, &policy, now, &none()).unwrap().deleted,
            [dir.path().join("a.log.1")]
        );
        // 10 (active) + 100 (5) + 100 (4) = 210 <= 250; adding 3 passes it.
        let policy = Policy {
            max_total_bytes: 250,
            ..Policy::default()
        };
        apply(&n, &policy, now, &none()).unwrap();
        assert_eq!(
            names(dir.path()),
            ["a.log", "a.log.4", "a.log.5", "a.log.5.gz.tmp.1"]
        );
        let policy = Policy {
            max_age: Some(Duration::from_secs(60)),
            ..Policy::default()
        };
        assert!(apply(&n, &policy, now, &none()).unwrap().deleted.is_empty());
        let later = now + Duration::from_secs(61);
        apply(&n, &policy, later, &none()).unwrap();
        assert_eq!(names(dir.path()), ["a.log"]);
    }

    #[test]
    fn an_entry_that_cannot_go_does_not_keep_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let n = Naming::new(&dir.path().join("a.log"));
        std::fs::write(dir.path().join("a.log"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("a.log.1")).unwrap(); // matches, is left alone
        for i in 2..=4 {
            std::fs::write(dir.path().join(format!("a.log.{i}")), b"x").unwrap();
        }
        let policy = Policy {
            max_files: 1,
            ..Policy::default()
        };
        let out = apply(&n, &policy, SystemTime::now(), &none()).unwrap();
        assert_eq!(out.foreign.len(), 1);
        assert_eq!(names(dir.path()), ["a.log", "a.log.1", "a.log.4"]);
    }

    #[test]
    fn strangers_are_neither_counted_nor_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = Naming::new(&d.join("a.log"));
        std::fs::write(d.join("private"), b"secret").unwrap();
        std::os::unix::fs::symlink(d.join("private"), d.join("a.log.1")).unwrap();
        std::fs::create_dir(d.join("a.log.2")).unwrap();
        for i in 3..=5 {
            std::fs::write(d.join(format!("a.log.{i}")), b"x").unwrap();
        }
        let policy = Policy {
            max_files: 1,
            ..Policy::default()
        };
        let out = apply(&n, &policy, SystemTime::now(), &Compression::default()).unwrap();
        assert_eq!(out.deleted, [d.join("a.log.4"), d.join("a.log.3")]);
        let foreign: Vec<_> = out
            .foreign
            .iter()
            .map(|(p, w)| (p.clone(), w.as_str()))
            .collect();
        assert_eq!(
            foreign,
            [
                (d.join("a.log.1"), "it is a symbolic link"),
                (d.join("a.log.2"), "it is a directory")
            ]
        );
        assert_eq!(names(d), ["a.log.1", "a.log.2", "a.log.5", "private"]);
    }

    #[test]
    fn empty_files_do_not_push_history_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = Naming::new(&d.join("a.log"));
        std::fs::write(d.join("a.log.1"), b"history\n").unwrap();
        for i in 2..=6 {
            std::fs::write(d.join(format!("a.log.{i}")), b"").unwrap();
        }
        let policy = Policy {
            max_files: 1,
            ..Policy::default()
        };
        apply(&n, &policy, SystemTime::now(), &Compression::default()).unwrap();
        assert!(names(d).contains(&"a.log.1".to_string()), "{:?}", names(d));
    }

    #[test]
    fn files_waiting_for_the_compressor_do_not_spend_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = Naming::new(&d.join("a.log"));
        // Three compressed files of 1000 bytes, then a burst of four 4000-byte files that
        // the compressor has not reached yet.
        for i in 1..=3 {
            std::fs::write(d.join(format!("a.log.{i}.zst")), vec![b'z'; 1000]).unwrap();
        }
        for i in 4..=7 {
            std::fs::write(d.join(format!("a.log.{i}")), vec![b'x'; 4000]).unwrap();
        }
        let policy = Policy {
            max_total_bytes: 8192,
            ..Policy::default()
        };
        let comp = Compression {
            on: true,
            failed: None,
        };
        let out = apply(&n, &policy, SystemTime::now(), &comp).unwrap();
        assert!(out.deleted.is_empty(), "{:?}", out.deleted);
        // Once compressed (to 1000 bytes each), all seven fit.
        for i in 4..=7 {
            std::fs::remove_file(d.join(format!("a.log.{i}"))).unwrap();
            std::fs::write(d.join(format!("a.log.{i}.zst")), vec![b'z'; 1000]).unwrap();
        }
        assert!(apply(&n, &policy, SystemTime::now(), &comp)
            .unwrap()
            .deleted
            .is_empty());
        // A file the compressor gave up on counts at its size.
        std::fs::write(d.join("a.log.8"), vec![b'x'; 4000]).unwrap();
        let failed: HashSet<PathBuf> = [d.join("a.log.8")].into_iter().collect();
        let comp = Compression {
            on: true,
            failed: Some(&failed),
        };
        let out = apply(&n, &policy, SystemTime::now(), &comp).unwrap();
        assert_eq!(
            out.deleted,
            [
                d.join("a.log.3.zst"),
                d.join("a.log.2.zst"),
                d.join("a.log.1.zst")
            ]
        );
    }

    #[test]
    fn the_budget_keeps_room_for_the_active_file_to_fill() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = Naming::new(&d.join("a.log"));
        std::fs::write(d.join("a.log"), b"").unwrap();
        for i in 1..=4 {
            std::fs::write(d.join(format!("a.log.{i}")), vec![b'x'; 1000]).unwrap();
        }
        let policy = Policy {
            max_total_bytes: 4000,
            active_reserve: 1000,
            ..Policy::default()
        };
        let out = apply(&n, &policy, SystemTime::now(), &Compression::default()).unwrap();
        assert_eq!(out.deleted, [d.join("a.log.1")]);
    }
}
