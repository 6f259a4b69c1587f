//! Reading log files back: plain, gzip, zstd and encrypted (any of them inside encryption),
//! detected by their first bytes, decoded as a push pipeline so that the same code reads a
//! whole rotated file, follows a growing one (`alog tail -f`) and checks one (`alog verify`).

use std::io;
use std::path::{Path, PathBuf};

pub use crate::sinks::file::decode::{decode_file, decode_open, open_read, Decoder, FileReport};
use crate::sinks::file::naming::Naming;

/// The files of a rotated set in the order rotation made them, and what was left out.
#[derive(Clone, Debug, Default)]
pub struct SetFiles {
    /// Rotated files by number, oldest first, then the active file (if it exists).
    pub files: Vec<PathBuf>,
    /// Whether the last of `files` is the active file (the others were rotated: their
    /// encrypted streams must have ended).
    pub has_active: bool,
    /// Files at names of the set that alog did not make (a link, a FIFO, a device, a
    /// folder, another user's file), with why: they are not read.
    pub skipped: Vec<(PathBuf, String)>,
}

/// The files of a rotated set in order: rotated files by number, then the active file.
/// Temporary files of a compression in progress are left out (their original still exists),
/// and so are files alog did not make (listed in `skipped`).
pub fn set_files_checked(active: &Path) -> io::Result<SetFiles> {
    let naming = Naming::new(active);
    let mut set = SetFiles::default();
    let mut last_seq = None;
    for r in naming.scan()? {
        if let Some(why) = r.foreign {
            set.skipped.push((r.path, why));
            continue;
        }
        if r.tmp_pid.is_some() {
            continue;
        }
        // During a compression both the original and the finished copy may exist for a
        // moment: the compressed one sorts last and replaces the original.
        if last_seq == Some(r.seq) {
            set.files.pop();
        }
        last_seq = Some(r.seq);
        set.files.push(r.path);
    }
    match std::fs::symlink_metadata(active) {
        Ok(m) if m.file_type().is_file() => {
            set.files.push(active.to_path_buf());
            set.has_active = true;
        }
        Ok(m) => set.skipped.push((
            active.to_path_buf(),
            format!(
                "it is {}",
                crate::sinks::file::safe::kind(std::os::unix::fs::MetadataExt::mode(&m))
            ),
        )),
        Err(_) => {}
    }
    Ok(set)
}

/// The files of a rotated set in order ([`set_files_checked`] without what it skipped).
pub fn set_files(active: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(set_files_checked(active)?.files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::file::crypt::Key;
    use crate::sinks::file::crypt::Sealer;
    use crate::sinks::file::naming::Codec;
    use std::io::Write;

    fn decode(bytes: &[u8], key: Option<&Key>, step: usize) -> (Vec<u8>, FileReport) {
        let mut out = Vec::new();
        let mut d = Decoder::new(Path::new("x"), key);
        for c in bytes.chunks(step) {
            d.feed(c, &mut out).unwrap();
        }
        let r = d.finish(&mut out).unwrap();
        (out, r)
    }

    #[test]
    fn detects_each_codec_inside_and_outside_encryption() {
        let text = b"a line\nanother line\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        let key = Key::from_bytes([3; 32]);
        for (bytes, codec) in [
            (&text[..], Codec::Plain),
            (&gz[..], Codec::Gzip),
            (&zst[..], Codec::Zstd),
        ] {
            for step in [1, 7, 1 << 20] {
                let (out, r) = decode(bytes, None, step);
                assert_eq!(out, text, "{codec:?}");
                assert_eq!((r.codec, r.lines, r.encrypted), (Some(codec), 200, false));
                assert!(r.is_ok(), "{r:?}");
                let mut sealed = Vec::new();
                let mut s = Sealer::new(&key);
                for part in bytes.chunks(333) {
                    s.seal(part, false, &mut sealed);
                }
                let (out, r) = decode(&sealed, Some(&key), step);
                assert_eq!(out, text, "{codec:?} encrypted");
                assert!(r.encrypted && r.is_ok(), "{r:?}");
                let (out, r) = decode(&sealed, None, step);
                assert!(out.is_empty());
                assert_eq!(r.problems.len(), 1, "{r:?}");
            }
        }
        let (_, r) = decode(&gz[..gz.len() - 30], None, 64);
        assert!(!r.is_ok(), "a cut gzip file is reported: {r:?}");
        let (_, r) = decode(b"full\ntorn", None, 3);
        assert_eq!((r.lines, r.torn_tail), (1, 4));
    }

    #[test]
    fn a_plain_file_starting_with_the_magic_is_plain() {
        let text = b"ALGC is the name of our project\nsecond line\n";
        let (out, r) = decode(text, None, 3);
        assert_eq!(out, text);
        assert_eq!(
            (r.encrypted, r.codec, r.lines),
            (false, Some(Codec::Plain), 2)
        );
        assert!(r.is_ok(), "{r:?}");
    }

    /// Counts what passes through and remembers the largest single write.
    #[derive(Default)]
    struct Meter {
        total: u64,
        largest: usize,
    }

    impl Write for Meter {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.total += b.len() as u64;
            self.largest = self.largest.max(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_decompression_bomb_streams_in_bounded_pieces() {
        // 32 MiB of newlines compress to a few KiB: fed at once, no output piece may hold
        // more than a decoder's buffer.
        let big = 32usize << 20;
        let zeros = vec![b'\n'; 1 << 20];
        let mut z = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..big >> 20 {
            z.write_all(&zeros).unwrap();
            g.write_all(&zeros).unwrap();
        }
        for bomb in [z.finish().unwrap(), g.finish().unwrap()] {
            assert!(bomb.len() < 256 << 10, "{}", bomb.len());
            let mut m = Meter::default();
            let mut d = Decoder::new(Path::new("bomb"), None);
            d.feed(&bomb, &mut m).unwrap();
            let r = d.finish(&mut m).unwrap();
            assert_eq!((m.total, r.lines), (big as u64, big as u64));
            assert!(
                m.largest <= 1 << 20,
                "an output piece of {} bytes",
                m.largest
            );
        }
    }
}
