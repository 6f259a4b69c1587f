//! Encryption at rest: authenticated chunks of XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`).
//!
//! A file is a sequence of chunks; the writer seals each batch into one chunk and appends it
//! with one `write`, so that after a crash every complete chunk decrypts, and chunks of
//! several processes appending to one file never interleave. A chunk is:
//!
//! ```text
//! magic "ALGC" | version 1 (1 byte) | flags (1 byte, bit 0 = last chunk of its stream)
//! | stream id (8 bytes, random per opened file) | index (u32 BE, 0, 1, 2... in its stream)
//! | nonce (24 random bytes) | length of the ciphertext (u32 BE) | ciphertext + 16-byte tag
//! ```
//!
//! The 46 header bytes are the associated data, so a chunk cannot be moved to another place
//! of its stream or altered without failing authentication; a missing chunk shows as a gap
//! in its stream's indexes. The key is 32 bytes, read at open from a file (32 raw bytes or
//! 64 hex digits) or an environment variable (64 hex digits); it is never written anywhere.

use std::collections::HashMap;
use std::path::Path;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key as AeadKey, Tag, XChaCha20Poly1305, XNonce};

use crate::front::config::KeySource;
use crate::front::error::{Error, Result};

pub const MAGIC: &[u8; 4] = b"ALGC";
const VERSION: u8 = 1;
const FLAG_LAST: u8 = 1;
pub const HEADER_LEN: usize = 4 + 1 + 1 + 8 + 4 + 24 + 4;
const TAG_LEN: usize = 16;
/// Bytes a chunk adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The longest chunk a reader accepts (a writer's batch is at most a few MiB).
pub const MAX_CHUNK: usize = 256 << 20;

/// A 32-byte key; zeroed on drop, never printed.
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned byte of self.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

fn hex32(s: &[u8]) -> Option<[u8; 32]> {
    let s: Vec<u8> = s
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

impl Key {
    pub fn from_bytes(b: [u8; 32]) -> Key {
        Key(b)
    }

    /// Reads the key from where `src` says.
    pub fn load(src: &KeySource) -> Result<Key> {
        match src {
            KeySource::File(p) => Key::from_file(p),
            KeySource::Env(var) => {
                let v = std::env::var_os(var).ok_or_else(|| {
                    Error::invalid(format!(
                        "encryption_key_env: environment variable {var} is not set"
                    ))
                })?;
                hex32(v.as_encoded_bytes()).map(Key).ok_or_else(|| {
                    Error::invalid(format!(
                        "encryption_key_env: {var} must hold 64 hex digits (a 32-byte key)"
                    ))
                })
            }
        }
    }

    pub fn from_file(p: &Path) -> Result<Key> {
        let bytes = std::fs::read(p).map_err(|e| {
            Error::io(
                format!("encryption_key_file: cannot read {}", p.display()),
                e,
            )
        })?;
        if let Some(k) = hex32(&bytes) {
            return Ok(Key(k));
        }
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Key)
            .map_err(|_| {
                Error::invalid(format!(
                    "encryption_key_file: {} must hold 32 raw bytes or 64 hex digits, it has {} bytes",
                    p.display(),
                    bytes.len()
                ))
            })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(AeadKey::from_slice(&self.0))
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source failed");
    b
}

/// Seals chunks of one stream.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    stream: [u8; 8],
    index: u32,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    pub fn new(key: &Key) -> Sealer {
        Sealer {
            cipher: key.cipher(),
            stream: random(),
            index: 0,
        }
    }

    /// Whether this stream has chunks (so that closing it is worth a last chunk).
    pub fn used(&self) -> bool {
        self.index > 0
    }

    /// Starts a new stream (a new file).
    pub fn restart(&mut self) {
        self.stream = random();
        self.index = 0;
    }

    /// Appends one sealed chunk of `plain` to `out`; `last` marks the end of the stream.
    pub fn seal(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(if last { FLAG_LAST } else { 0 });
        out.extend_from_slice(&self.stream);
        out.extend_from_slice(&self.index.to_be_bytes());
        let nonce: [u8; 24] = random();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&((plain.len() + TAG_LEN) as u32).to_be_bytes());
        let body = out.len();
        out.extend_from_slice(plain);
        let (head, msg) = out[start..].split_at_mut(body - start);
        let tag = self
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), head, msg)
            .expect("a chunk is far below the cipher's length limit");
        out.extend_from_slice(&tag);
        self.index = self.index.wrapping_add(1);
    }
}

/// Something wrong found while opening chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Bytes that are not a chunk (a torn write, or damage); skipped up to the next magic.
    Garbage { offset: u64, len: u64 },
    /// A chunk whose tag does not verify (wrong key, or altered bytes).
    Forged { offset: u64 },
    /// Chunks missing in a stream: expected index `expected`, found `found`.
    Gap {
        offset: u64,
        expected: u32,
        found: u32,
    },
    /// The file ends inside a chunk (a torn write or a crash).
    Truncated { offset: u64, len: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Garbage { offset, len } => {
                write!(f, "{len} bytes that are no chunk at offset {offset}")
            }
            Problem::Forged { offset } => write!(
                f,
                "chunk at offset {offset} fails authentication (wrong key or altered)"
            ),
            Problem::Gap {
                offset,
                expected,
                found,
            } => write!(
                f,
                "chunk at offset {offset}: chunks {expected}..{found} of its stream are missing"
            ),
            Problem::Truncated { offset, len } => {
                write!(f, "torn chunk at offset {offset} ({len} bytes, file ends)")
            }
        }
    }
}

/// Opens chunks incrementally: feed bytes as they arrive, take plaintext out.
pub struct Opener {
    cipher: XChaCha20Poly1305,
    pending: Vec<u8>,
    /// File offset of `pending[0]`.
    offset: u64,
    next_index: HashMap<[u8; 8], u32>,
    /// Streams that ended with a last chunk.
    pub closed_streams: u64,
    pub problems: Vec<Problem>,
    pub chunks: u64,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("offset", &self.offset)
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl Opener {
    pub fn new(key: &Key) -> Opener {
        Opener {
            cipher: key.cipher(),
            pending: Vec::new(),
            offset: 0,
            next_index: HashMap::new(),
            closed_streams: 0,
            problems: Vec::new(),
            chunks: 0,
        }
    }

    /// Streams seen that never got their last chunk (a writer still running, or crashed).
    pub fn open_streams(&self) -> u64 {
        self.next_index.len() as u64
    }

    /// Adds `bytes` and appends the plaintext of every chunk completed to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let rest = &self.pending[pos..];
            if rest.len() < 4 {
                break;
            }
            if &rest[..4] != MAGIC || (rest.len() >= 5 && rest[4] != VERSION) {
                let skip = find_magic(&rest[1..]).map_or(rest.len().saturating_sub(3), |i| i + 1);
                self.garbage(self.offset + pos as u64, skip as u64);
                pos += skip;
                continue;
            }
            if rest.len() < HEADER_LEN {
                break;
            }
            let len = u32::from_be_bytes(rest[42..46].try_into().expect("4 bytes")) as usize;
            if !(TAG_LEN..=MAX_CHUNK).contains(&len) {
                let skip = find_magic(&rest[1..]).map_or(rest.len(), |i| i + 1);
                self.garbage(self.offset + pos as u64, skip as u64);
                pos += skip;
                continue;
            }
            if rest.len() < HEADER_LEN + len {
                // A torn chunk is followed by the next writer's magic: skip to it.
                match find_magic(&rest[4..]) {
                    Some(i) if i + 4 < HEADER_LEN + len => {
                        self.garbage(self.offset + pos as u64, (i + 4) as u64);
                        pos += i + 4;
                        continue;
                    }
                    _ => break,
                }
            }
            let chunk_off = self.offset + pos as u64;
            let (head, body) = rest[..HEADER_LEN + len].split_at(HEADER_LEN);
            let stream: [u8; 8] = head[6..14].try_into().expect("8 bytes");
            let index = u32::from_be_bytes(head[14..18].try_into().expect("4 bytes"));
            let last = head[5] & FLAG_LAST != 0;
            let nonce = XNonce::from_slice(&head[18..42]);
            let (msg, tag) = body.split_at(len - TAG_LEN);
            let start = out.len();
            out.extend_from_slice(msg);
            let ok = self
                .cipher
                .decrypt_in_place_detached(nonce, head, &mut out[start..], Tag::from_slice(tag))
                .is_ok();
            if ok {
                self.chunks += 1;
                let expected = self.next_index.get(&stream).copied().unwrap_or(0);
                if index != expected {
                    self.problems.push(Problem::Gap {
                        offset: chunk_off,
                        expected,
                        found: index,
                    });
                }
                if last {
                    self.next_index.remove(&stream);
                    self.closed_streams += 1;
                } else {
                    self.next_index.insert(stream, index.wrapping_add(1));
                }
            } else {
                out.truncate(start);
                self.problems.push(Problem::Forged { offset: chunk_off });
            }
            pos += HEADER_LEN + len;
        }
        self.pending.drain(..pos);
        self.offset += pos as u64;
    }

    /// Records skipped bytes, merging a run of them into one problem.
    fn garbage(&mut self, offset: u64, len: u64) {
        if let Some(Problem::Garbage { offset: o, len: l }) = self.problems.last_mut() {
            if *o + *l == offset {
                *l += len;
                return;
            }
        }
        self.problems.push(Problem::Garbage { offset, len });
    }

    /// At the end of the file: reports bytes left inside an unfinished chunk.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            self.problems.push(Problem::Truncated {
                offset: self.offset,
                len: self.pending.len() as u64,
            });
            self.offset += self.pending.len() as u64;
            self.pending.clear();
        }
    }
}

fn find_magic(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key::from_bytes([b; 32])
    }

    #[test]
    fn chunks_round_trip_and_report_damage() {
        let k = key(7);
        let mut s = Sealer::new(&k);
        let mut file = Vec::new();
        s.seal(b"one\n", false, &mut file);
        let first_len = file.len();
        assert_eq!(first_len, OVERHEAD + 4);
        s.seal(b"two\n", false, &mut file);
        let mut torn = Vec::new();
        s.seal(b"lost\n", false, &mut torn);
        file.extend_from_slice(&torn[..20]);
        s.seal(b"three\n", true, &mut file);

        let mut o = Opener::new(&k);
        let mut out = Vec::new();
        // Byte by byte: the opener must cope with any split.
        for b in &file {
            o.feed(std::slice::from_ref(b), &mut out);
        }
        o.finish();
        assert_eq!(out, b"one\ntwo\nthree\n");
        assert_eq!(o.chunks, 3);
        assert_eq!(o.closed_streams, 1);
        assert_eq!(o.open_streams(), 0);
        assert_eq!(
            o.problems,
            [
                Problem::Garbage {
                    offset: 2 * first_len as u64,
                    len: 20
                },
                Problem::Gap {
                    offset: 2 * first_len as u64 + 20,
                    expected: 2,
                    found: 3
                }
            ]
        );

        let mut o = Opener::new(&key(8));
        let mut out = Vec::new();
        o.feed(&file[..first_len], &mut out);
        assert!(out.is_empty());
        assert_eq!(o.problems, [Problem::Forged { offset: 0 }]);

        let mut o = Opener::new(&k);
        o.feed(&file[..first_len - 1], &mut out);
        o.finish();
        assert_eq!(
            o.problems,
            [Problem::Truncated {
                offset: 0,
                len: first_len as u64 - 1
            }]
        );
    }

    #[test]
    fn keys_load_from_hex_and_raw_files_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let hex = dir.path().join("hex");
        std::fs::write(&hex, format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(Key::from_file(&hex).unwrap().0, [0xab; 32]);
        let raw = dir.path().join("raw");
        std::fs::write(&raw, [5u8; 32]).unwrap();
        assert_eq!(Key::from_file(&raw).unwrap().0, [5; 32]);
        std::fs::write(&raw, [5u8; 31]).unwrap();
        let e = Key::from_file(&raw).unwrap_err().to_string();
        assert!(
            e.contains("must hold 32 raw bytes or 64 hex digits, it has 31 bytes"),
            "{e}"
        );
        let e = Key::load(&KeySource::Env("ALOG_TEST_NO_SUCH_VAR".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "encryption_key_env: environment variable ALOG_TEST_NO_SUCH_VAR is not set"
        );
    }
}
