//! Encryption at rest: authenticated chunks of XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`).
//!
//! A file is a sequence of chunks; the writer seals each batch into one chunk and appends it
//! with one `write`, so that after a crash every complete chunk decrypts, and chunks of
//! several processes appending to one file never interleave. A chunk is:
//!
//! ```text
//! magic "ALGC" | version 2 (1 byte) | flags (1 byte, bit 0 = last chunk of its stream)
//! | file id (8 bytes: random for a new file, taken from its first chunk by every process
//!   that appends to it) | stream id (8 bytes, random per opened file and process)
//! | index (u32 BE, 0, 1, 2... in its stream) | nonce (24 random bytes)
//! | length of the ciphertext (u32 BE) | ciphertext + 16-byte tag
//! ```
//!
//! The 54 header bytes are the associated data, so a chunk cannot be altered or moved to
//! another place of its stream without failing authentication. A reader reports a missing
//! chunk (a gap in its stream's indexes), a chunk seen twice (replay), a chunk of another
//! file (its file id differs from the first chunk's: transplant) and a stream without its
//! last chunk (the writer closes its stream when it rotates or reopens a file, so in a
//! rotated file this means truncation or a crash). The key is 32 bytes, read at open from a
//! file (32 raw bytes or 64 hex digits) or an environment variable (64 hex digits); it is
//! never written anywhere, is zeroed when dropped (as are the buffers it was read through),
//! and its page is excluded from core dumps where the OS allows (`MADV_DONTDUMP`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key as AeadKey, Tag, XChaCha20Poly1305, XNonce};

use crate::front::config::KeySource;
use crate::front::error::{Error, Result};

pub const MAGIC: &[u8; 4] = b"ALGC";
const VERSION: u8 = 2;
const FLAG_LAST: u8 = 1;
pub const HEADER_LEN: usize = 4 + 1 + 1 + 8 + 8 + 4 + 24 + 4;
// Offsets of the header's fields.
const FILE_ID: usize = 6;
const STREAM_ID: usize = 14;
const INDEX: usize = 22;
const NONCE: usize = 26;
const LEN: usize = 50;

/// Whether `v` is a chunk format version this reader knows.
pub fn known_version(v: u8) -> bool {
    v == VERSION
}

/// The file id in a chunk header at the start of `head`, if it is one.
pub fn file_id_of(head: &[u8]) -> Option<[u8; 8]> {
    (head.len() >= HEADER_LEN && head.starts_with(MAGIC) && known_version(head[4]))
        .then(|| head[FILE_ID..STREAM_ID].try_into().expect("8 bytes"))
}

/// Problems an [`Opener`] keeps; later ones are only counted.
const MAX_PROBLEMS: usize = 1000;
const TAG_LEN: usize = 16;
/// Bytes a chunk adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The longest chunk a reader accepts (a writer's batch is at most a few MiB).
pub const MAX_CHUNK: usize = 256 << 20;

/// The page a key lives in: page-aligned and page-sized, so that it can be excluded from
/// core dumps and locked in memory without touching anything else.
#[repr(C, align(4096))]
struct KeyPage([u8; 4096]);

/// A 32-byte key; never printed, zeroed on drop, kept out of core dumps (`MADV_DONTDUMP`)
/// and, where `RLIMIT_MEMLOCK` allows, out of swap (`mlock`).
pub struct Key(Box<KeyPage>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0 .0[..32].zeroize();
        let p = self.0 .0.as_mut_ptr().cast::<libc::c_void>();
        // SAFETY: the page is ours, page-aligned and page-sized; undoing the advice before
        // the allocator reuses it.
        unsafe {
            libc::munlock(p, 4096);
            libc::madvise(p, 4096, libc::MADV_DODUMP);
        }
    }
}

/// Parses 64 hex digits (whitespace ignored) into `out`.
fn hex32(s: &[u8], out: &mut [u8; 32]) -> bool {
    let mut digits = s.iter().filter(|b| !b.is_ascii_whitespace());
    for o in out.iter_mut() {
        let (Some(hi), Some(lo)) = (digits.next(), digits.next()) else {
            return false;
        };
        let (Some(hi), Some(lo)) = ((*hi as char).to_digit(16), (*lo as char).to_digit(16)) else {
            return false;
        };
        *o = (hi * 16 + lo) as u8;
    }
    digits.next().is_none()
}

/// Key files are at most this long (64 hex digits with some whitespace).
const MAX_KEY_FILE: usize = 160;

impl Key {
    /// A zeroed key in a fresh page, excluded from core dumps.
    fn blank() -> Key {
        let mut page = Box::new(KeyPage([0; 4096]));
        let p = page.0.as_mut_ptr().cast::<libc::c_void>();
        // SAFETY: the page is ours, page-aligned and page-sized. Both calls are advice: a
        // failure (no MADV_DONTDUMP, RLIMIT_MEMLOCK) leaves the key usable.
        unsafe {
            libc::madvise(p, 4096, libc::MADV_DONTDUMP);
            libc::mlock(p, 4096);
        }
        Key(page)
    }

    fn bytes_mut(&mut self) -> &mut [u8; 32] {
        (&mut self.0 .0[..32]).try_into().expect("32 bytes")
    }

    /// A key from its bytes (the argument is zeroed).
    pub fn from_bytes(mut b: [u8; 32]) -> Key {
        use zeroize::Zeroize;
        let mut k = Key::blank();
        k.bytes_mut().copy_from_slice(&b);
        b.zeroize();
        k
    }

    /// Reads the key from where `src` says.
    pub fn load(src: &KeySource) -> Result<Key> {
        match src {
            KeySource::File(p) => Key::from_file(p),
            KeySource::Env(var) => {
                use std::os::unix::ffi::OsStringExt;
                let v = std::env::var_os(var).ok_or_else(|| {
                    Error::invalid(format!(
                        "encryption_key_env: environment variable {var} is not set"
                    ))
                })?;
                let v = zeroize::Zeroizing::new(v.into_vec());
                let mut k = Key::blank();
                if hex32(&v, k.bytes_mut()) {
                    return Ok(k);
                }
                Err(Error::invalid(format!(
                    "encryption_key_env: {var} must hold 64 hex digits (a 32-byte key)"
                )))
            }
        }
    }

    pub fn from_file(p: &Path) -> Result<Key> {
        use std::io::Read;
        let cannot = |e| {
            Error::io(
                format!("encryption_key_file: cannot read {}", p.display()),
                e,
            )
        };
        let mut f = std::fs::File::open(p).map_err(cannot)?;
        // Read into a fixed buffer that is zeroed after: no copy of the key left in freed
        // memory by a growing vector.
        let mut buf = zeroize::Zeroizing::new([0u8; MAX_KEY_FILE + 1]);
        let mut n = 0;
        loop {
            match f.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    if n == buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(cannot(e)),
            }
        }
        let mut k = Key::blank();
        if hex32(&buf[..n], k.bytes_mut()) {
            return Ok(k);
        }
        if n == 32 {
            k.bytes_mut().copy_from_slice(&buf[..32]);
            return Ok(k);
        }
        let len = if n > MAX_KEY_FILE {
            format!("more than {MAX_KEY_FILE}")
        } else {
            n.to_string()
        };
        Err(Error::invalid(format!(
            "encryption_key_file: {} must hold 32 raw bytes or 64 hex digits, it has {len} bytes",
            p.display()
        )))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(AeadKey::from_slice(&self.0 .0[..32]))
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
    file: [u8; 8],
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
            file: random(),
            stream: random(),
            index: 0,
        }
    }

    /// Binds the stream to a file: `Some(id)` of a file that has chunks (its first chunk's
    /// file id), `None` for a new file (a fresh id).
    pub fn bind(&mut self, file: Option<[u8; 8]>) {
        self.file = file.unwrap_or_else(random);
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
        self.seal_with(random(), plain, last, out);
    }

    /// [`seal`](Self::seal) with the given nonce (tests choose it to know the key stream).
    fn seal_with(&mut self, nonce: [u8; 24], plain: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(if last { FLAG_LAST } else { 0 });
        out.extend_from_slice(&self.file);
        out.extend_from_slice(&self.stream);
        out.extend_from_slice(&self.index.to_be_bytes());
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
    /// A chunk already seen (same stream and index, or of a stream that had ended): its
    /// text is not output again.
    Replayed { offset: u64, index: u32 },
    /// A chunk of another file (its file id is not the file's): its text is not output.
    Transplanted { offset: u64 },
    /// More problems than a report keeps.
    More { count: u64 },
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
            Problem::Replayed { offset, index } => write!(
                f,
                "chunk at offset {offset} repeats chunk {index} of its stream (replayed)"
            ),
            Problem::Transplanted { offset } => write!(
                f,
                "chunk at offset {offset} belongs to another file (transplanted)"
            ),
            Problem::More { count } => write!(f, "and {count} more problems"),
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
    ended: HashSet<[u8; 8]>,
    pub closed_streams: u64,
    pub problems: Vec<Problem>,
    /// Problems beyond the first 1000, counted only.
    pub more_problems: u64,
    /// Chunks whose tag did not verify (wrong key or altered).
    pub forged: u64,
    pub chunks: u64,
    /// The file's id: that of its first authentic chunk.
    file: Option<[u8; 8]>,
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
            ended: HashSet::new(),
            closed_streams: 0,
            problems: Vec::new(),
            more_problems: 0,
            forged: 0,
            chunks: 0,
            file: None,
        }
    }

    fn problem(&mut self, p: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
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
            let len =
                u32::from_be_bytes(rest[LEN..HEADER_LEN].try_into().expect("4 bytes")) as usize;
            if !(TAG_LEN..=MAX_CHUNK).contains(&len) {
                let skip = find_magic(&rest[1..]).map_or(rest.len(), |i| i + 1);
                self.garbage(self.offset + pos as u64, skip as u64);
                pos += skip;
                continue;
            }
            let end = HEADER_LEN + len;
            if rest.len() < end {
                // Wait for the whole chunk: a magic inside it may be its ciphertext. A chunk
                // that fails authentication (below) or never completes (`finish`) is torn.
                break;
            }
            let chunk_off = self.offset + pos as u64;
            let (head, body) = rest[..end].split_at(HEADER_LEN);
            let file: [u8; 8] = head[FILE_ID..STREAM_ID].try_into().expect("8 bytes");
            let stream: [u8; 8] = head[STREAM_ID..INDEX].try_into().expect("8 bytes");
            let index = u32::from_be_bytes(head[INDEX..NONCE].try_into().expect("4 bytes"));
            let last = head[5] & FLAG_LAST != 0;
            let nonce = XNonce::from_slice(&head[NONCE..LEN]);
            let (msg, tag) = body.split_at(len - TAG_LEN);
            let start = out.len();
            out.extend_from_slice(msg);
            let ok = self
                .cipher
                .decrypt_in_place_detached(nonce, head, &mut out[start..], Tag::from_slice(tag))
                .is_ok();
            if !ok {
                out.truncate(start);
                // A torn chunk runs into the chunk written after it: that one starts at the
                // first magic inside this one's length.
                if let Some(i) = find_magic(&rest[1..end]) {
                    self.garbage(chunk_off, (i + 1) as u64);
                    pos += i + 1;
                    continue;
                }
                pos += end;
                self.forged += 1;
                self.problem(Problem::Forged { offset: chunk_off });
                continue;
            }
            pos += end;
            if *self.file.get_or_insert(file) != file {
                out.truncate(start);
                self.problem(Problem::Transplanted { offset: chunk_off });
                continue;
            }
            let expected = self.next_index.get(&stream).copied().unwrap_or(0);
            if self.ended.contains(&stream) || index < expected {
                out.truncate(start);
                self.problem(Problem::Replayed {
                    offset: chunk_off,
                    index,
                });
                continue;
            }
            self.chunks += 1;
            if index != expected {
                self.problem(Problem::Gap {
                    offset: chunk_off,
                    expected,
                    found: index,
                });
            }
            if last {
                self.next_index.remove(&stream);
                self.ended.insert(stream);
                self.closed_streams += 1;
            } else {
                self.next_index.insert(stream, index.wrapping_add(1));
            }
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
        self.problem(Problem::Garbage { offset, len });
    }

    /// At the end of the file: a chunk still unfinished is torn. The chunks written after it
    /// (another writer's, appended after the tear) start at the next magic and are opened
    /// into `out`; what is left after the last one is reported.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        while let Some(i) = self.pending.get(1..).and_then(find_magic) {
            let skip = i + 1;
            self.garbage(self.offset, skip as u64);
            self.offset += skip as u64;
            let rest = self.pending.split_off(skip);
            self.pending.clear();
            self.feed(&rest, out);
        }
        if !self.pending.is_empty() {
            self.problem(Problem::Truncated {
                offset: self.offset,
                len: self.pending.len() as u64,
            });
            self.offset += self.pending.len() as u64;
            self.pending.clear();
        }
        if self.more_problems > 0 {
            self.problems.push(Problem::More {
                count: self.more_problems,
            });
            self.more_problems = 0;
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
        o.finish(&mut out);
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
        o.finish(&mut out);
        assert_eq!(
            o.problems,
            [Problem::Truncated {
                offset: 0,
                len: first_len as u64 - 1
            }]
        );
    }

    #[test]
    fn the_key_page_is_left_out_of_core_dumps() {
        let k = key(1);
        let addr = k.0 .0.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = (a..b).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(f) = line.strip_prefix("VmFlags:") {
                    flags = Some(f.to_string());
                }
            }
        }
        let flags = flags.expect("the key's mapping is in smaps");
        assert!(
            flags.split_whitespace().any(|f| f == "dd"),
            "VmFlags:{flags}"
        );
    }

    #[test]
    fn replayed_transplanted_and_cut_chunks_are_reported() {
        let k = key(7);
        let mut s = Sealer::new(&k);
        let mut c0 = Vec::new();
        s.seal(b"zero\n", false, &mut c0);
        let mut c1 = Vec::new();
        s.seal(b"one\n", false, &mut c1);
        // Another file's chunk, authentic under the same key.
        let mut other = Sealer::new(&k);
        let mut foreign = Vec::new();
        other.seal(b"other file\n", false, &mut foreign);
        let file = [&c0[..], &c1, &c1, &foreign].concat();
        let mut o = Opener::new(&k);
        let mut out = Vec::new();
        o.feed(&file, &mut out);
        o.finish(&mut out);
        assert_eq!(out, b"zero\none\n");
        let (a, b) = (c0.len() as u64, c1.len() as u64);
        assert_eq!(
            o.problems,
            [
                Problem::Replayed {
                    offset: a + b,
                    index: 1
                },
                Problem::Transplanted { offset: a + 2 * b }
            ]
        );
        // Cut at a chunk boundary: the stream never ends.
        assert_eq!(o.open_streams(), 1);
        // A closed stream's chunk seen again is a replay too.
        let mut last = Vec::new();
        s.seal(b"", true, &mut last);
        let mut o = Opener::new(&k);
        o.feed(&[&c0[..], &c1, &last, &c0].concat(), &mut out);
        assert_eq!(o.open_streams(), 0);
        assert!(
            matches!(o.problems[..], [Problem::Replayed { index: 0, .. }]),
            "{:?}",
            o.problems
        );
    }

    #[test]
    fn a_torn_chunk_is_found_when_fed_in_small_pieces() {
        let k = key(7);
        let mut s = Sealer::new(&k);
        let mut file = Vec::new();
        s.seal(&vec![b'a'; 100_000], false, &mut file);
        file.truncate(50_000); // torn
        s.seal(b"after\n", false, &mut file);
        let mut o = Opener::new(&k);
        let mut out = Vec::new();
        for piece in file.chunks(1000) {
            o.feed(piece, &mut out);
        }
        o.finish(&mut out);
        assert_eq!(out, b"after\n");
        assert_eq!(o.problems.len(), 2, "{:?}", o.problems);
        assert_eq!(
            o.problems[0],
            Problem::Garbage {
                offset: 0,
                len: 50_000
            }
        );
    }

    /// A torn chunk followed by more bytes than it claimed: it completes with the next
    /// chunk's bytes, fails authentication, and the next chunk is found at the magic inside.
    #[test]
    fn a_torn_chunk_completed_by_the_next_one_is_cut_at_its_magic() {
        let k = key(8);
        let mut s = Sealer::new(&k);
        let mut file = Vec::new();
        s.seal(&[b'a'; 1000], false, &mut file);
        file.truncate(500); // torn: claims 1016 bytes of ciphertext, has 446
        s.seal(&[b'b'; 3000], false, &mut file);
        for piece in [7, 600, file.len()] {
            let mut o = Opener::new(&k);
            let mut out = Vec::new();
            for p in file.chunks(piece) {
                o.feed(p, &mut out);
            }
            o.finish(&mut out);
            assert_eq!(out, [b'b'; 3000], "pieces of {piece}");
            assert_eq!(
                o.problems,
                [
                    Problem::Garbage {
                        offset: 0,
                        len: 500
                    },
                    Problem::Gap {
                        offset: 500,
                        expected: 0,
                        found: 1
                    }
                ],
                "pieces of {piece}"
            );
            assert_eq!(o.forged, 0);
        }
    }

    /// A chunk's ciphertext is random bytes and may hold the magic: fed in pieces, the chunk
    /// is still one chunk, not a torn one followed by another (the reader once cut it there,
    /// about once per 57,000 chunks of 75 KB).
    #[test]
    fn a_magic_inside_a_chunk_is_ciphertext_not_a_tear() {
        let k = key(9);
        let nonce = [5u8; 24];
        // The key stream under this nonce: the ciphertext of zeros.
        let mut stream = Vec::new();
        Sealer::new(&k).seal_with(nonce, &[0; 4000], false, &mut stream);
        let keystream = &stream[HEADER_LEN..HEADER_LEN + 4000];
        // A plaintext whose ciphertext holds the magic at 1000 and at 3000.
        let mut plain = vec![b'x'; 4000];
        for at in [1000, 3000] {
            for i in 0..4 {
                plain[at + i] = keystream[at + i] ^ MAGIC[i];
            }
        }
        let mut s = Sealer::new(&k);
        let mut file = Vec::new();
        s.seal_with(nonce, &plain, false, &mut file);
        assert_eq!(&file[HEADER_LEN + 1000..HEADER_LEN + 1004], MAGIC);
        s.seal(b"after\n", true, &mut file);
        for piece in [7, 100, 1500, file.len()] {
            let mut o = Opener::new(&k);
            let mut out = Vec::new();
            for p in file.chunks(piece) {
                o.feed(p, &mut out);
            }
            o.finish(&mut out);
            assert_eq!(o.problems, [], "pieces of {piece}");
            assert_eq!(out.len(), 4006, "pieces of {piece}");
            assert!(out.starts_with(&plain) && out.ends_with(b"after\n"));
            assert_eq!((o.chunks, o.closed_streams), (2, 1));
        }
    }

    #[test]
    fn keys_load_from_hex_and_raw_files_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let hex = dir.path().join("hex");
        std::fs::write(&hex, format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(Key::from_file(&hex).unwrap().0 .0[..32], [0xab; 32]);
        let raw = dir.path().join("raw");
        std::fs::write(&raw, [5u8; 32]).unwrap();
        assert_eq!(Key::from_file(&raw).unwrap().0 .0[..32], [5; 32]);
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
