//! Retention: which rotated files to delete, decided from a scan of the folder every time
//! (at start and after each rotation), so that it is right across restarts and processes.
//!
//! Rotated files are ranked by number, newest first. A file is deleted when it is older (by
//! modification time) than `max_age`, when `max_files` newer rotated files exist, or when
//! the newer rotated files and the active file already hold `max_total_bytes`. The active
//! file is never deleted.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::sinks::file::naming::{Naming, Rotated};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_files: u64,
    pub max_age: Option<Duration>,
    pub max_total_bytes: u64,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.max_files > 0 || self.max_age.is_some() || self.max_total_bytes > 0
    }
}

/// One rotated file as retention sees it: all names it has (original, compressed, temporary).
struct Entry {
    paths: Vec<PathBuf>,
    bytes: u64,
    mtime: SystemTime,
}

fn group(found: Vec<Rotated>) -> Vec<Entry> {
    let mut out: Vec<(u64, Entry)> = Vec::new();
    for r in found {
        let meta = std::fs::metadata(&r.path).ok();
        let bytes = meta.as_ref().map_or(0, |m| m.len());
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match out.last_mut() {
            Some((seq, e)) if *seq == r.seq => {
                // Original and compressed copy both exist mid-compression: count the larger.
                e.bytes = e.bytes.max(bytes);
                e.mtime = e.mtime.max(mtime);
                e.paths.push(r.path);
            }
            _ => out.push((
                r.seq,
                Entry {
                    paths: vec![r.path],
                    bytes,
                    mtime,
                },
            )),
        }
    }
    out.into_iter().map(|(_, e)| e).collect()
}

/// Deletes what `policy` says should go; returns the deleted paths. An entry that cannot be
/// deleted (a directory of a matching name, a permission) does not stop the others: the
/// first such error is returned after every entry was tried.
pub(crate) fn apply(
    naming: &Naming,
    policy: &Policy,
    now: SystemTime,
) -> std::io::Result<Vec<PathBuf>> {
    let mut deleted = Vec::new();
    let mut first_error = None;
    if !policy.is_active() {
        return Ok(deleted);
    }
    let entries = group(naming.scan()?);
    let mut total = std::fs::metadata(naming.active()).map_or(0, |m| m.len());
    for (rank, e) in entries.iter().rev().enumerate() {
        total += e.bytes;
        let too_many = policy.max_files > 0 && rank as u64 >= policy.max_files;
        let too_old = policy
            .max_age
            .is_some_and(|age| now.duration_since(e.mtime).unwrap_or_default() > age);
        let too_big = policy.max_total_bytes > 0 && total > policy.max_total_bytes;
        if too_many || too_old || too_big {
            for p in &e.paths {
                match std::fs::remove_file(p) {
                    Ok(()) => deleted.push(p.clone()),
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
        None => Ok(deleted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            apply(&n, &policy, now).unwrap(),
            [dir.path().join("a.log.1")]
        );
        // 10 (active) + 100 (5) + 100 (4) = 210 <= 250; adding 3 passes it.
        let policy = Policy {
            max_total_bytes: 250,
            ..Policy::default()
        };
        apply(&n, &policy, now).unwrap();
        assert_eq!(
            names(dir.path()),
            ["a.log", "a.log.4", "a.log.5", "a.log.5.gz.tmp.1"]
        );
        let policy = Policy {
            max_age: Some(Duration::from_secs(60)),
            ..Policy::default()
        };
        assert!(apply(&n, &policy, now).unwrap().is_empty());
        let later = now + Duration::from_secs(61);
        apply(&n, &policy, later).unwrap();
        assert_eq!(names(dir.path()), ["a.log"]);
    }

    #[test]
    fn an_entry_that_cannot_go_does_not_keep_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let n = Naming::new(&dir.path().join("a.log"));
        std::fs::write(dir.path().join("a.log"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("a.log.1")).unwrap(); // matches, cannot be removed
        for i in 2..=4 {
            std::fs::write(dir.path().join(format!("a.log.{i}")), b"x").unwrap();
        }
        let policy = Policy {
            max_files: 1,
            ..Policy::default()
        };
        assert!(apply(&n, &policy, SystemTime::now()).is_err());
        assert_eq!(names(dir.path()), ["a.log", "a.log.1", "a.log.4"]);
    }
}
