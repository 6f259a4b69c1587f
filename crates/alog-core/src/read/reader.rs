//! Reading log files back: plain, gzip, zstd and encrypted (any of them inside encryption),
//! detected by their first bytes, decoded as a push pipeline so that the same code reads a
//! whole rotated file, follows a growing one (`alog tail -f`) and checks one (`alog verify`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::sinks::file::crypt::{Key, Opener, MAGIC};
use crate::sinks::file::naming::{Codec, Naming};
pub use crate::sinks::file::safe::open_read;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Bytes that tell an encrypted file: the magic, a known version and valid flags (a plain
/// file that happens to start with `ALGC` is not taken for one).
const CHUNK_START: usize = 6;

fn looks_encrypted(first: &[u8]) -> bool {
    first.len() >= CHUNK_START
        && first.starts_with(MAGIC)
        && crate::sinks::file::crypt::known_version(first[4])
        && first[5] & !1 == 0
}
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

enum Stage {
    /// Waiting for enough plaintext to recognise a codec.
    Detect(Vec<u8>),
    Plain,
    Gzip(flate2::write::MultiGzDecoder<Vec<u8>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
    /// A decoding error stopped this file.
    Failed,
}

/// What reading one file found.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    pub path: PathBuf,
    pub encrypted: bool,
    pub codec: Option<Codec>,
    /// Bytes read from the file.
    pub bytes_in: u64,
    /// Decoded bytes.
    pub bytes_out: u64,
    pub lines: u64,
    /// Encrypted: chunks opened, streams that never got their last chunk.
    pub chunks: u64,
    pub open_streams: u64,
    /// Decoded bytes after the last newline (a torn last line).
    pub torn_tail: u64,
    /// NUL bytes in the decoded text (a gap a `copytruncate` without O_APPEND leaves).
    pub nul_bytes: u64,
    /// Damage: decoding errors, torn or forged chunks, a missing key.
    pub problems: Vec<String>,
    /// Some bytes could not be decoded at all (missing or wrong key, corrupt compressed data),
    /// as opposed to torn or missing pieces around intact ones.
    pub undecodable: bool,
}

impl FileReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.torn_tail == 0 && self.nul_bytes == 0
    }
}

/// Decodes a stream of file bytes pushed into it.
pub struct Decoder {
    opener: Option<Opener>,
    key_missing: bool,
    first: Vec<u8>,
    stage: Stage,
    plain: Vec<u8>,
    pub report: FileReport,
    last_byte: Option<u8>,
    started: bool,
    problems_seen: usize,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    pub fn new(path: &Path, key: Option<&Key>) -> Decoder {
        Decoder {
            opener: key.map(Opener::new),
            key_missing: false,
            first: Vec::new(),
            stage: Stage::Detect(Vec::new()),
            plain: Vec::new(),
            report: FileReport {
                path: path.to_path_buf(),
                ..FileReport::default()
            },
            last_byte: None,
            started: false,
            problems_seen: 0,
        }
    }

    /// Problems found since the last call (for a reader that follows a growing file).
    pub fn take_new_problems(&mut self) -> Vec<String> {
        if let Some(o) = self.opener.as_mut() {
            let found: Vec<String> = o.problems.drain(..).map(|p| p.to_string()).collect();
            self.report.problems.extend(found);
        }
        let new = self.report.problems[self.problems_seen..].to_vec();
        self.problems_seen = self.report.problems.len();
        new
    }

    /// Pushes file bytes; decoded text goes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut dyn Write) -> io::Result<()> {
        self.report.bytes_in += bytes.len() as u64;
        if !self.started {
            self.first.extend_from_slice(bytes);
            if self.first.len() < CHUNK_START && !bytes.is_empty() {
                return Ok(());
            }
            self.started = true;
            let first = std::mem::take(&mut self.first);
            self.report.encrypted = looks_encrypted(&first);
            if self.report.encrypted && self.opener.is_none() {
                self.key_missing = true;
                self.report.undecodable = true;
                self.report
                    .problems
                    .push("the file is encrypted: give its key (--key-file or --key-env)".into());
            }
            return self.route(&first, out);
        }
        self.route(bytes, out)
    }

    fn route(&mut self, bytes: &[u8], out: &mut dyn Write) -> io::Result<()> {
        if self.key_missing {
            return Ok(());
        }
        if self.report.encrypted {
            let mut plain = std::mem::take(&mut self.plain);
            plain.clear();
            let opener = self.opener.as_mut().expect("checked");
            opener.feed(bytes, &mut plain);
            let r = self.decode(&plain, out);
            self.plain = plain;
            r
        } else {
            self.decode(bytes, out)
        }
    }

    fn emit(&mut self, text: &[u8], out: &mut dyn Write) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.report.bytes_out += text.len() as u64;
        self.report.lines += memchr_count(b'\n', text);
        self.report.nul_bytes += memchr_count(0, text);
        self.last_byte = text.last().copied();
        let after = text.iter().rposition(|b| *b == b'\n');
        self.report.torn_tail = match after {
            Some(i) => (text.len() - i - 1) as u64,
            None => self.report.torn_tail + text.len() as u64,
        };
        out.write_all(text)
    }

    fn decode(&mut self, bytes: &[u8], out: &mut dyn Write) -> io::Result<()> {
        if let Stage::Detect(seen) = &mut self.stage {
            seen.extend_from_slice(bytes);
            if seen.len() < ZSTD_MAGIC.len() {
                return Ok(());
            }
            let seen = std::mem::take(seen);
            self.stage = if seen.starts_with(GZIP_MAGIC) {
                self.report.codec = Some(Codec::Gzip);
                Stage::Gzip(flate2::write::MultiGzDecoder::new(Vec::new()))
            } else if seen.starts_with(ZSTD_MAGIC) {
                self.report.codec = Some(Codec::Zstd);
                Stage::Zstd(zstd::stream::write::Decoder::new(Vec::new())?)
            } else {
                self.report.codec = Some(Codec::Plain);
                Stage::Plain
            };
            return self.decode(&seen, out);
        }
        if matches!(self.stage, Stage::Plain) {
            return self.emit(bytes, out);
        }
        // Decompressors take a little input at a time and what each step produced goes out
        // before the next: memory stays bounded whatever the compression ratio (a small
        // file that decompresses to gigabytes is streamed, never held).
        let mut stage = std::mem::replace(&mut self.stage, Stage::Failed);
        let mut rest = bytes;
        let mut result = Ok(());
        while !rest.is_empty() {
            let step = match &mut stage {
                Stage::Gzip(d) => d.write(rest).map(|n| (n, std::mem::take(d.get_mut()))),
                Stage::Zstd(d) => d.write(rest).map(|n| (n, std::mem::take(d.get_mut()))),
                _ => break,
            };
            match step {
                Ok((0, text)) if text.is_empty() => {
                    self.fail(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the decoder took no input",
                    ));
                    return Ok(());
                }
                Ok((n, text)) => {
                    rest = &rest[n..];
                    if let Err(e) = self.emit(&text, out) {
                        result = Err(e);
                        break;
                    }
                }
                Err(e) => {
                    self.fail(e);
                    return Ok(());
                }
            }
        }
        self.stage = stage;
        result
    }

    fn fail(&mut self, e: io::Error) {
        let what = match self.report.codec {
            Some(Codec::Gzip) => "gzip",
            _ => "zstd",
        };
        self.report.problems.push(format!(
            "{what} data is corrupt after {} decoded bytes: {e}",
            self.report.bytes_out
        ));
        self.stage = Stage::Failed;
        self.report.undecodable = true;
    }

    /// The file ended: flush decoders and record what is unfinished.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<FileReport> {
        if !self.started {
            self.started = true;
            let first = std::mem::take(&mut self.first);
            if !first.is_empty() {
                self.route(&first, out)?;
            }
        }
        if let Some(o) = self.opener.as_mut() {
            o.finish();
            self.report.chunks = o.chunks;
            self.report.open_streams = o.open_streams();
            if o.forged > 0 {
                self.report.undecodable = true;
            }
            let problems: Vec<String> = o.problems.iter().map(|p| p.to_string()).collect();
            self.report.problems.extend(problems);
        }
        if let Stage::Detect(seen) = &mut self.stage {
            let seen = std::mem::take(seen);
            self.report.codec = Some(Codec::Plain);
            self.stage = Stage::Plain;
            self.emit(&seen, out)?;
        }
        let tail = match std::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Gzip(mut d) => d.try_finish().map(|_| std::mem::take(d.get_mut())),
            Stage::Zstd(mut d) => d.flush().map(|_| std::mem::take(d.get_mut())),
            _ => Ok(Vec::new()),
        };
        match tail {
            Ok(t) => self.emit(&t, out)?,
            Err(e) => self.fail(e),
        }
        // A compressed stream that stops early decodes without error but leaves no frame end.
        Ok(self.report)
    }
}

fn memchr_count(needle: u8, hay: &[u8]) -> u64 {
    hay.iter().filter(|b| **b == needle).count() as u64
}

/// Reads and decodes a whole file into `out`, streaming it (memory stays bounded whatever
/// its size); `progress` sees the bytes read so far. The file is opened without following a
/// link and must be a regular file (a FIFO or a device at its name is refused, not read).
pub fn decode_file(
    path: &Path,
    key: Option<&Key>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<FileReport> {
    decode_open(open_read(path)?, path, key, out, progress)
}

/// [`decode_file`] of a file already opened.
pub fn decode_open(
    mut f: std::fs::File,
    path: &Path,
    key: Option<&Key>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<FileReport> {
    let mut d = Decoder::new(path, key);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        d.feed(&buf[..n], out)?;
        progress(d.report.bytes_in);
    }
    d.finish(out)
}

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
    use crate::sinks::file::crypt::Sealer;

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
