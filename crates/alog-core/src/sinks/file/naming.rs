//! The naming scheme of rotated files, and the folder scan that finds them.
//!
//! The active file always keeps its configured name (`app.log`). At a rotation it is renamed
//! to `app.log.N` (size rotation) or `app.log.PERIOD.N` (time rotation, `PERIOD` is the UTC
//! `YYYY-MM-DD` or `YYYY-MM-DDTHH` of its records), where `N` is one more than the largest
//! number in the folder, so numbers only grow, are never reused and a restart continues them.
//! Compression appends `.gz` or `.zst`; a compression in progress writes
//! `NAME.gz.tmp.PID`. The lock file shared by processes is `app.log.lock`.

use std::path::{Path, PathBuf};

/// The codec a rotated file's name says it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Plain,
    Gzip,
    Zstd,
}

impl Codec {
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Plain => "",
            Codec::Gzip => ".gz",
            Codec::Zstd => ".zst",
        }
    }
}

/// One rotated file found in the folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    pub path: PathBuf,
    pub seq: u64,
    /// The UTC period label of time rotation, if any.
    pub period: Option<String>,
    pub codec: Codec,
    /// The PID of the process writing this temporary file (compression in progress).
    pub tmp_pid: Option<u32>,
    /// Why the file at this name is not one alog made (a link, a FIFO, a device, a folder,
    /// another user's file, a file with several links): alog leaves it alone and says so.
    pub foreign: Option<String>,
}

/// The name of the active file and its folder.
#[derive(Clone, Debug)]
pub struct Naming {
    active: PathBuf,
    dir: PathBuf,
    prefix: String,
}

impl Naming {
    pub fn new(active: &Path) -> Naming {
        let dir = match active.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = active
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Naming {
            active: active.to_path_buf(),
            dir,
            prefix: format!("{name}."),
        }
    }

    pub fn active(&self) -> &Path {
        &self.active
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `app.log.lock`: the lock file that serializes writes and rotations between processes.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}lock", self.prefix))
    }

    /// The name a rotated file gets.
    pub fn rotated(&self, seq: u64, period: Option<&str>) -> PathBuf {
        match period {
            Some(p) => self.dir.join(format!("{}{p}.{seq}", self.prefix)),
            None => self.dir.join(format!("{}{seq}", self.prefix)),
        }
    }

    /// Parses a file name of this set; `None` for the active file, the lock file and strangers.
    pub fn parse(&self, name: &str) -> Option<Rotated> {
        let rest = name.strip_prefix(&self.prefix)?;
        let mut parts: Vec<&str> = rest.split('.').collect();
        let mut tmp_pid = None;
        if parts.len() >= 2 && parts[parts.len() - 2] == "tmp" {
            tmp_pid = Some(parts[parts.len() - 1].parse::<u32>().ok()?);
            parts.truncate(parts.len() - 2);
        }
        let mut codec = Codec::Plain;
        match parts.last() {
            Some(&"gz") => codec = Codec::Gzip,
            Some(&"zst") => codec = Codec::Zstd,
            _ => {}
        }
        if codec != Codec::Plain {
            parts.pop();
        }
        let (period, seq) = match parts.as_slice() {
            [seq] => (None, *seq),
            [period, seq] if is_period(period) => (Some(period.to_string()), *seq),
            _ => return None,
        };
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Rotated {
            path: self.dir.join(name),
            // Every number that fits is part of the set: a huge one (planted, or from a
            // runaway process) only makes later numbers larger, never invisible.
            seq: seq.parse().ok()?,
            period,
            codec,
            tmp_pid,
            foreign: None,
        })
    }

    /// Every rotated file of the set (temporaries included), oldest first (by number).
    pub fn scan(&self) -> std::io::Result<Vec<Rotated>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if let Some(mut r) = entry.file_name().to_str().and_then(|n| self.parse(n)) {
                // `DirEntry::metadata` does not follow a link.
                r.foreign = match entry.metadata() {
                    Ok(m) => crate::sinks::file::safe::why_foreign(&m),
                    // Deleted since the listing (a compression finishing: its copy may not
                    // be in this listing): keep it, so that a reader looks for it again.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => Some(format!("it cannot be examined: {e}")),
                };
                out.push(r);
            }
        }
        out.sort_by(|a, b| {
            (a.seq, a.tmp_pid.is_some(), a.codec as u8).cmp(&(
                b.seq,
                b.tmp_pid.is_some(),
                b.codec as u8,
            ))
        });
        Ok(out)
    }

    /// The number the next rotation takes: one more than any number of a file of the set
    /// in the folder (files alog did not make do not count).
    pub fn next_seq(&self) -> std::io::Result<u64> {
        let found = self.scan()?;
        let top = found
            .iter()
            .filter(|r| r.foreign.is_none())
            .max_by_key(|r| r.seq);
        match top {
            None => Ok(1),
            Some(r) => r.seq.checked_add(1).ok_or_else(|| {
                std::io::Error::other(format!(
                    "rotation numbers are exhausted: {} has the largest number there is",
                    r.path.display()
                ))
            }),
        }
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH`.
fn is_period(s: &str) -> bool {
    let b = s.as_bytes();
    let date = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    date && (b.len() == 10
        || (b.len() == 13 && b[10] == b'T' && b[11..].iter().all(u8::is_ascii_digit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = Naming::new(Path::new("logs/app.log"));
        assert_eq!(n.rotated(7, None), Path::new("logs/app.log.7"));
        assert_eq!(
            n.rotated(12, Some("2026-11-23")),
            Path::new("logs/app.log.2026-11-23.12")
        );
        assert_eq!(n.lock_path(), Path::new("logs/app.log.lock"));
        let r = n.parse("app.log.2026-11-23T17.12.zst").unwrap();
        assert_eq!(
            (r.seq, r.period.as_deref(), r.codec, r.tmp_pid),
            (12, Some("2026-11-23T17"), Codec::Zstd, None)
        );
        let r = n.parse("app.log.3.gz.tmp.4711").unwrap();
        assert_eq!((r.seq, r.codec, r.tmp_pid), (3, Codec::Gzip, Some(4711)));
        for stranger in [
            "app.log",
            "app.log.lock",
            "app.log.x",
            "app.log.1.bz2",
            "app.logs.1",
            "other.log.1",
            "app.log.2026-1-23.4",
        ] {
            assert_eq!(n.parse(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn scan_orders_by_number_and_next_continues() {
        let dir = tempfile::tempdir().unwrap();
        let n = Naming::new(&dir.path().join("a.log"));
        assert_eq!(n.next_seq().unwrap(), 1);
        for name in [
            "a.log.10.gz",
            "a.log.2",
            "a.log.9.zst",
            "a.log",
            "a.log.lock",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let seqs: Vec<u64> = n.scan().unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 9, 10]);
        assert_eq!(n.next_seq().unwrap(), 11);
        // A huge number is part of the set: the next rotation goes past it, so that the new
        // file sorts after it and is seen by retention and readers.
        std::fs::write(dir.path().join("a.log.1125899906842623"), b"").unwrap();
        assert_eq!(n.next_seq().unwrap(), 1125899906842624);
        std::fs::write(dir.path().join("a.log.18446744073709551615"), b"").unwrap();
        let e = n.next_seq().unwrap_err().to_string();
        assert!(e.contains("rotation numbers are exhausted"), "{e}");
        // Numbers beyond u64 are no name of the set.
        assert_eq!(n.parse("a.log.18446744073709551616"), None);
    }

    #[test]
    fn files_alog_did_not_make_are_marked_foreign_and_do_not_number() {
        let dir = tempfile::tempdir().unwrap();
        let n = Naming::new(&dir.path().join("a.log"));
        std::fs::write(dir.path().join("a.log.1"), b"x").unwrap();
        std::os::unix::fs::symlink("/dev/urandom", dir.path().join("a.log.900")).unwrap();
        std::fs::create_dir(dir.path().join("a.log.901")).unwrap();
        std::fs::write(dir.path().join("other"), b"x").unwrap();
        std::fs::hard_link(dir.path().join("other"), dir.path().join("a.log.902")).unwrap();
        let found = n.scan().unwrap();
        let why: Vec<(u64, Option<&str>)> = found
            .iter()
            .map(|r| (r.seq, r.foreign.as_deref()))
            .collect();
        assert_eq!(
            why,
            [
                (1, None),
                (900, Some("it is a symbolic link")),
                (901, Some("it is a directory")),
                (902, Some("it has 2 hard links")),
            ]
        );
        assert_eq!(n.next_seq().unwrap(), 2);
    }
}
