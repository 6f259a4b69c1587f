//! Decoding one log file: plain, gzip, zstd and encrypted (any of them inside encryption),
//! detected by their first bytes, as a push pipeline so that the same code reads a whole
//! rotated file, follows a growing one (`alog tail -f`), checks one (`alog verify`) and lets
//! start-up recovery compare a compressed copy with its original.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::sinks::file::crypt::{Key, Opener, MAGIC};
use crate::sinks::file::naming::Codec;
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
            // Chunks after a torn one at the end come out only now.
            let mut plain = std::mem::take(&mut self.plain);
            plain.clear();
            o.finish(&mut plain);
            self.decode(&plain, out)?;
            self.plain = plain;
            let o = self.opener.as_mut().expect("checked");
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
