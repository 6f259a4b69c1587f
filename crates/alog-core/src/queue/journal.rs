//! `durability=mmap`: a byte ring in a memory-mapped file beside the log, holding a copy of
//! every record from before its call returns until every sink has settled it.
//!
//! Stores to a `MAP_SHARED` mapping land in the page cache, which outlives the process: a
//! `kill -9`, `abort()` or segfault after a call returned leaves the record in the file, and
//! the next open of the same log replays what the dead process had not written. (Power loss is
//! another matter: the page cache is lost with it, as are the log's own unsynced writes.)
//!
//! File layout (integers little-endian, the machine's own byte order):
//!
//! ```text
//! header (4096 bytes): magic "ALOGJRNL" | u32 version | u32 header size | u64 capacity
//!                      | at 128: u64 head | at 256: u64 free | u64 selector | 2 x settled
//! settled: u64 done | u64 log's device | u64 log's inode | u64 log's length
//! ring (capacity bytes): entries at 64-byte aligned positions, never across the ring's end
//! entry: u32 state | u32 len | u64 pos | u64 qpos | i64 ts | u8 level | u8 kind | 6 x 0
//!        | u64 checksum | len bytes of payload (the queue's encoding)
//! ```
//!
//! Positions (`head`, `free`, an entry's `pos`) count bytes since the journal was made and
//! never go back, so an entry left over from an earlier lap never carries the position it is
//! found at. A producer claims `[pos, pos + span)` with one compare-and-swap on `head`, stores
//! `pos`, copies the payload, publishes the record in the in-memory queue (which gives it its
//! queue position `qpos`), then stores `qpos` and the checksum and, last (release), the state
//! `COMMITTED`; the call returns after that. A call that does not get into the queue marks its
//! entry `CANCELLED`. `done` is the queue position below which every record is settled
//! (written, failed or dropped); the writer raises it and then moves `free` past the settled,
//! cancelled and padding entries at the ring's start, which makes their bytes reusable.
//! With `done` it notes the log file's identity and length once those records are written;
//! both change together (written to the spare copy, then the selector switches), so that the
//! next open knows which bytes at the end of the log came from records not yet settled (the
//! batch a process died writing) and does not write them twice.
//!
//! Recovery reads `[free, head)`: an entry counts only if it is at its own position, in a final
//! state and its checksum matches; a committed entry whose `qpos` is at least `done` is
//! replayed, in `qpos` order (the order the writer would have written). Anything else in the
//! range (a claim whose producer died before committing, torn or foreign bytes) is skipped and
//! counted, one per run of bad bytes; every read stays inside the mapping.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::sinks::file::safe;

/// `durability.bytes`' default: the ring's size.
pub const DEFAULT_BYTES: u64 = 8 << 20;
/// The smallest and largest ring.
pub const MIN_BYTES: u64 = 64 << 10;
pub const MAX_BYTES: u64 = 1 << 30;

const HEADER: u64 = 4096;
const MAGIC: u64 = u64::from_le_bytes(*b"ALOGJRNL");
const VERSION: u32 = 1;
const ALIGN: u64 = 64;
/// An entry's header bytes; its payload follows.
const ENTRY: u64 = 48;

const H_MAGIC: u64 = 0;
const H_VERSION: u64 = 8;
const H_HEADER: u64 = 12;
const H_CAP: u64 = 16;
/// The claim position, on a cache line of its own: producers change it, the writer changes
/// the fields after it.
const H_HEAD: u64 = 128;
const H_FREE: u64 = 256;
const H_SEL: u64 = 264;
const H_SETTLED: u64 = 272;

// An entry's states: distinctive words, so that stray bytes are unlikely to read as one.
const WRITING: u32 = 0;
const COMMITTED: u32 = u32::from_le_bytes(*b"Cmt1");
const CANCELLED: u32 = u32::from_le_bytes(*b"Cnl1");
const PAD: u32 = u32::from_le_bytes(*b"Pad1");

const E_STATE: u64 = 0;
const E_LEN: u64 = 4;
const E_POS: u64 = 8;
const E_QPOS: u64 = 16;
const E_TS: u64 = 24;
const E_LEVEL: u64 = 32;
const E_KIND: u64 = 33;
const E_SUM: u64 = 40;

/// The journal of a log file at `log`: `.NAME.journal` in the same folder.
pub fn path_for(log: &Path) -> PathBuf {
    let name = log.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = format!(".{}.journal", name.as_deref().unwrap_or("alog"));
    match log.parent() {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

fn align(n: u64) -> u64 {
    n.div_ceil(ALIGN) * ALIGN
}

/// What the journal last noted as settled: every queue position below `done` is written
/// (or failed, or dropped), and the log file then was `(dev, ino)` with `len` bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    pub done: u64,
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
}

/// A record found in the journal at open, to be written before any new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub qpos: u64,
    pub ts: i64,
    pub level: u8,
    pub kind: u8,
    pub payload: Vec<u8>,
}

/// What an open found in the journal.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Committed records not yet settled, in the order they were queued.
    pub records: Vec<Entry>,
    /// Runs of bytes in the live range that were no whole committed entry (a claim whose
    /// producer died before committing, torn or foreign bytes): skipped, never written.
    pub torn: u64,
    /// Why the journal's previous content was discarded as a whole, if it was.
    pub discarded: Option<String>,
    /// The previous process's last settled state.
    pub settled: Settled,
}

/// The mapped journal of one logger.
#[derive(Debug)]
pub struct Journal {
    base: *mut u8,
    map_len: usize,
    cap: u64,
    path: PathBuf,
    /// Held open for the `flock` that keeps a second process from opening the same journal.
    file: File,
    /// The process that opened it: a fork child's logger leaves the parent's journal alone.
    pid: u32,
    /// The log file whose length is noted with each settled position.
    log: PathBuf,
    reclaiming: Mutex<()>,
    /// Set by [`Journal::close`]: the journal is no longer this logger's.
    closed: AtomicBool,
}

// SAFETY: the mapping is shared memory reached only through atomics (the header words, an
// entry's state and position) and through entries a producer owns by its claim, or which the
// reclaimer reads after their state (acquire) says they are final.
unsafe impl Send for Journal {}
// SAFETY: as above.
unsafe impl Sync for Journal {}

/// The outcome of [`Journal::reserve`].
#[derive(Debug)]
pub enum Reserve<'j> {
    Slot(Slot<'j>),
    /// No room until the writer settles what the ring holds.
    Full,
    /// A record this long never fits; the most a record may have.
    TooLarge(usize),
}

impl Journal {
    /// Opens (creating it if absent) the journal of the log file at `log` with a ring of
    /// `bytes`, and takes what a previous process left in it. The journal is opened as alog
    /// opens every file it manages (no link followed, a regular file of this user with one
    /// link only) and locked against a second process.
    pub fn open(log: &Path, bytes: u64, mode: u32) -> io::Result<(Journal, Recovered)> {
        let path = path_for(log);
        let bytes = align(bytes.clamp(MIN_BYTES, MAX_BYTES));
        let file = safe::open_lock(&path, mode)?;
        let m = file.metadata()?;
        if let Some(why) = safe::why_foreign(&m) {
            return Err(invalid(format!(
                "{} is not an alog journal this process may use: {why}",
                path.display()
            )));
        }
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                invalid(format!(
                    "{} is in use by another process (a logger with durability=mmap on the same log)",
                    path.display()
                ))
            } else {
                e
            });
        }
        let size = m.len();
        let mut rec = Recovered::default();
        let mut old = None;
        if size > 0 {
            let mut magic = [0u8; 8];
            let n = file.read_at(&mut magic, 0)?;
            if n < 8 || u64::from_le_bytes(magic) != MAGIC {
                return Err(invalid(format!(
                    "{} is not an alog journal (it does not start with the journal's magic): \
                     move it away or delete it",
                    path.display()
                )));
            }
            if !(HEADER + MIN_BYTES..=HEADER + MAX_BYTES).contains(&size) {
                rec.discarded = Some(format!("its size ({size} bytes) is not a journal's"));
            } else {
                let j = Journal::map(file.try_clone()?, log, &path, size)?;
                match j.check_header(size) {
                    Ok(()) => {
                        j.scan(&mut rec);
                        old = Some(j);
                    }
                    Err(why) => rec.discarded = Some(why),
                }
            }
        }
        let keep = old.as_ref().is_some_and(|j| j.cap == bytes);
        let j = if keep {
            old.expect("checked")
        } else {
            drop(old);
            // A new ring starts from zeros: nothing of an earlier one can be read as an entry.
            file.set_len(0)?;
            file.set_len(HEADER + bytes)?;
            let j = Journal::map(file, log, &path, HEADER + bytes)?;
            j.put_u64(H_MAGIC, MAGIC);
            j.put_u32(H_VERSION, VERSION);
            j.put_u32(H_HEADER, HEADER as u32);
            j.put_u64(H_CAP, bytes);
            j
        };
        j.prefault();
        Ok((j, rec))
    }

    fn map(file: File, log: &Path, path: &Path, size: u64) -> io::Result<Journal> {
        let map_len = usize::try_from(size).map_err(|_| invalid("journal too large".into()))?;
        // SAFETY: a fresh shared read-write mapping of a regular file we opened read-write,
        // `size` bytes long (its current length); checked for failure below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Journal {
            base: base.cast(),
            map_len,
            cap: (size - HEADER),
            path: path.to_path_buf(),
            file,
            pid: std::process::id(),
            log: log.to_path_buf(),
            reclaiming: Mutex::new(()),
            closed: AtomicBool::new(false),
        })
    }

    /// Writes to every page of the mapping once, so that log calls do not take the page
    /// faults of a first write (a few microseconds each: the ring's pages are touched in turn).
    /// Nothing else uses the journal yet (the caller holds its lock and has no logger).
    fn prefault(&self) {
        const PAGE: u64 = 4096;
        for off in (0..self.map_len as u64).step_by(PAGE as usize) {
            let p = self.at(off);
            // SAFETY: inside the mapping; no other thread or process uses it yet.
            unsafe { p.write_volatile(p.read_volatile()) };
        }
    }

    /// The journal file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off < self.map_len as u64);
        // SAFETY: every offset the journal computes is inside the mapping (header fields, or a
        // ring offset below `cap` plus an entry's bounded extent).
        unsafe { self.base.add(off as usize) }
    }

    fn a64(&self, off: u64) -> &AtomicU64 {
        // SAFETY: 8-aligned (the mapping is page-aligned, every field offset is a multiple of
        // 8) and inside the mapping, which lives as long as `self`.
        unsafe { &*self.at(off).cast::<AtomicU64>() }
    }

    fn a32(&self, off: u64) -> &AtomicU32 {
        // SAFETY: as in `a64`, 4-aligned.
        unsafe { &*self.at(off).cast::<AtomicU32>() }
    }

    fn put_u64(&self, off: u64, v: u64) {
        self.a64(off).store(v, Ordering::Relaxed);
    }

    fn put_u32(&self, off: u64, v: u32) {
        self.a32(off).store(v, Ordering::Relaxed);
    }

    fn get_u64(&self, off: u64) -> u64 {
        self.a64(off).load(Ordering::Acquire)
    }

    fn ring(&self, pos: u64) -> u64 {
        HEADER + pos % self.cap
    }

    fn check_header(&self, size: u64) -> Result<(), String> {
        let version = self.a32(H_VERSION).load(Ordering::Relaxed);
        if version != VERSION {
            return Err(format!("its version is {version}, not {VERSION}"));
        }
        let header = self.a32(H_HEADER).load(Ordering::Relaxed);
        let cap = self.get_u64(H_CAP);
        let (head, free) = (self.get_u64(H_HEAD), self.get_u64(H_FREE));
        if u64::from(header) != HEADER || cap != size - HEADER || cap % ALIGN != 0 {
            return Err(format!(
                "its header (header {header} bytes, ring {cap} bytes) does not match its size ({size} bytes)"
            ));
        }
        let sel = self.get_u64(H_SEL);
        if free > head || head - free > cap || head % ALIGN != 0 || free % ALIGN != 0 || sel > 1 {
            return Err(format!(
                "its positions are inconsistent (free {free}, head {head}, ring {cap} bytes)"
            ));
        }
        Ok(())
    }

    /// An entry at `pos` whose state is final, whose extent fits the ring and (if `limit`)
    /// ends by `limit`, and whose checksum matches: its state, span and header.
    fn entry_at(&self, pos: u64, limit: u64) -> Option<(u32, u64)> {
        let e = self.ring(pos);
        if self.a64(e + E_POS).load(Ordering::Acquire) != pos {
            return None;
        }
        let state = self.a32(e + E_STATE).load(Ordering::Acquire);
        let len = u64::from(self.a32(e + E_LEN).load(Ordering::Relaxed));
        let room = self.cap - pos % self.cap;
        let span = match state {
            PAD => room,
            COMMITTED | CANCELLED => align(ENTRY + len),
            _ => return None,
        };
        let body = if state == PAD { 0 } else { len };
        if ENTRY + body > room || span > room || pos + span > limit {
            return None;
        }
        (self.checksum(e, body) == self.a64(e + E_SUM).load(Ordering::Relaxed))
            .then_some((state, span))
    }

    /// The checksum of the entry at offset `e` with `len` payload bytes: its header fields
    /// (not the state) and payload. Reads with volatile loads: the reclaimer may look at bytes
    /// a producer is writing when stray bytes pass for a final entry.
    fn checksum(&self, e: u64, len: u64) -> u64 {
        // Four independent lanes, so that the multiplications of a long payload overlap.
        let mut l = [
            0x243f_6a88_85a3_08d3u64,
            0x1319_8a2e_0370_7344,
            0xa409_3822_299f_31d0,
            0x082e_fa98_ec4e_6c89,
        ];
        let full = len / 8;
        let mut at = e + ENTRY;
        for _ in 0..full / 4 {
            for (k, lane) in l.iter_mut().enumerate() {
                *lane = mix(*lane, self.word(at + 8 * k as u64));
            }
            at += 32;
        }
        for (k, lane) in l.iter_mut().enumerate().take((full % 4) as usize) {
            *lane = mix(*lane, self.word(at + 8 * k as u64));
        }
        at += 8 * (full % 4);
        let mut last = [0u8; 8];
        for (i, b) in last.iter_mut().enumerate().take((len % 8) as usize) {
            // SAFETY: inside the entry's payload, which `entry_at` or the claim bounded.
            *b = unsafe { self.at(at + i as u64).read_volatile() };
        }
        let n = u64::from(self.a32(e + E_LEN).load(Ordering::Relaxed));
        l[0] = mix(mix(l[0], self.word(e + E_POS)), n);
        l[1] = mix(mix(l[1], self.word(e + E_QPOS)), u64::from_le_bytes(last));
        l[2] = mix(mix(l[2], self.word(e + E_TS)), len);
        l[3] = mix(l[3], self.word(e + E_LEVEL));
        mix(mix(mix(l[0], l[1]), l[2]), l[3])
    }

    fn word(&self, off: u64) -> u64 {
        // SAFETY: 8-aligned, inside the mapping (see `at`).
        unsafe { self.at(off).cast::<u64>().read_volatile() }
    }

    /// Collects the committed, unsettled records of `[free, head)` (recovery at open, with
    /// no other user of the journal).
    fn scan(&self, rec: &mut Recovered) {
        rec.settled = self.settled();
        let (mut p, head, done) = (self.get_u64(H_FREE), self.get_u64(H_HEAD), rec.settled.done);
        let mut in_gap = false;
        while p < head {
            match self.entry_at(p, head) {
                Some((state, span)) => {
                    in_gap = false;
                    let e = self.ring(p);
                    let qpos = self.get_u64(e + E_QPOS);
                    if state == COMMITTED && qpos >= done {
                        let len = self.a32(e + E_LEN).load(Ordering::Relaxed) as usize;
                        // SAFETY: `entry_at` checked that the payload lies inside the ring.
                        let payload =
                            unsafe { std::slice::from_raw_parts(self.at(e + ENTRY), len) };
                        rec.records.push(Entry {
                            qpos,
                            ts: self.get_u64(e + E_TS) as i64,
                            // SAFETY: inside the entry's header.
                            level: unsafe { self.at(e + E_LEVEL).read() },
                            // SAFETY: inside the entry's header.
                            kind: unsafe { self.at(e + E_KIND).read() },
                            payload: payload.to_vec(),
                        });
                    }
                    p += span;
                }
                None => {
                    if !in_gap {
                        rec.torn += 1;
                        in_gap = true;
                    }
                    p += ALIGN;
                }
            }
        }
        rec.records.sort_by_key(|e| e.qpos);
    }

    /// After the recovered records are written: the ring starts empty, its positions going
    /// on from where they were.
    pub fn reset(&self) {
        let head = self.get_u64(H_HEAD);
        self.note(Settled {
            done: 0,
            ..self.log_state()
        });
        self.a64(H_FREE).store(head, Ordering::SeqCst);
    }

    /// The log file's identity and length now (zeros when it is not there).
    fn log_state(&self) -> Settled {
        use std::os::unix::fs::MetadataExt;
        match std::fs::symlink_metadata(&self.log) {
            Ok(m) => Settled {
                done: 0,
                dev: m.dev(),
                ino: m.ino(),
                len: m.len(),
            },
            Err(_) => Settled::default(),
        }
    }

    /// The settled state the selector points at.
    fn settled(&self) -> Settled {
        let at = H_SETTLED + 32 * (self.get_u64(H_SEL) & 1);
        Settled {
            done: self.get_u64(at),
            dev: self.get_u64(at + 8),
            ino: self.get_u64(at + 16),
            len: self.get_u64(at + 24),
        }
    }

    /// Writes `st` to the spare copy, then switches the selector to it (release): a reader
    /// sees the old state or the new one whole. Callers hold `reclaiming` (or are alone).
    fn note(&self, st: Settled) {
        let spare = (self.get_u64(H_SEL) & 1) ^ 1;
        let at = H_SETTLED + 32 * spare;
        for (i, v) in [st.done, st.dev, st.ino, st.len].into_iter().enumerate() {
            self.put_u64(at + 8 * i as u64, v);
        }
        self.a64(H_SEL).store(spare, Ordering::Release);
    }

    /// Claims room for a record of `len` payload bytes.
    pub fn reserve(&self, len: usize) -> Reserve<'_> {
        let max = (self.cap / 4 - ENTRY) as usize;
        if len > max {
            return Reserve::TooLarge(max);
        }
        let span = align(ENTRY + len as u64);
        let head = self.a64(H_HEAD);
        let mut h = head.load(Ordering::Relaxed);
        let start = loop {
            let room = self.cap - h % self.cap;
            let start = if span > room { h + room } else { h };
            // `free` may have passed a stale `h` (the compare-and-swap then fails).
            let free = self.a64(H_FREE).load(Ordering::Acquire);
            if (start + span).saturating_sub(free) > self.cap {
                return Reserve::Full;
            }
            match head.compare_exchange_weak(h, start + span, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break start,
                Err(now) => h = now,
            }
        };
        if start != h {
            // The rest of the lap is too short: a padding entry says so.
            let e = self.ring(h);
            self.begin(e, h);
            self.put_u32(e + E_LEN, 0);
            self.finish(e, 0, 0, PAD);
        }
        let e = self.ring(start);
        self.begin(e, start);
        self.put_u32(e + E_LEN, len as u32);
        Reserve::Slot(Slot {
            j: self,
            e,
            len,
            done: false,
        })
    }

    /// Starts an entry: its state first (so that a reader who sees its position sees that the
    /// entry is being written), then its position (release).
    fn begin(&self, e: u64, pos: u64) {
        self.a32(e + E_STATE).store(WRITING, Ordering::Relaxed);
        self.a64(e + E_POS).store(pos, Ordering::Release);
    }

    fn finish(&self, e: u64, qpos: u64, len: u64, state: u32) {
        self.put_u64(e + E_QPOS, qpos);
        let sum = self.checksum(e, len);
        self.put_u64(e + E_SUM, sum);
        self.a32(e + E_STATE).store(state, Ordering::Release);
    }

    /// Records that every queue position below `done` is settled, and frees the ring's
    /// settled, cancelled and padding entries from its start. Called by the writer after each
    /// batch is settled, and by producers waiting for room. Skipped while another thread
    /// reclaims (that one, or the next batch's call, notes a settled position), so that a
    /// signal handler writing the queue on a thread it interrupted in here cannot wait for
    /// itself.
    pub fn reclaim(&self, done: u64) {
        if let Ok(g) = self.reclaiming.try_lock() {
            self.reclaim_locked(done, g);
        }
    }

    fn reclaim_locked(&self, done: u64, _g: std::sync::MutexGuard<'_, ()>) {
        if std::process::id() != self.pid || self.closed.load(Ordering::Acquire) {
            return;
        }
        let was = self.settled();
        if done > was.done {
            // The log's length now covers every record below `done` (they are written).
            self.note(Settled {
                done,
                ..self.log_state()
            });
        }
        let done = done.max(was.done);
        let head = self.get_u64(H_HEAD);
        let free = self.a64(H_FREE);
        let mut p = free.load(Ordering::Relaxed);
        while p < head {
            let Some((state, span)) = self.entry_at(p, head) else {
                break;
            };
            if state == COMMITTED && self.get_u64(self.ring(p) + E_QPOS) >= done {
                break;
            }
            p += span;
        }
        free.store(p, Ordering::Release);
    }

    /// The logger is closed with every record below `done` settled: the last reclaim, then
    /// the journal is left alone and its lock released for the next open.
    pub fn close(&self, done: u64) {
        self.reclaim_locked(
            done,
            self.reclaiming.lock().unwrap_or_else(|e| e.into_inner()),
        );
        let _g = self.reclaiming.lock().unwrap_or_else(|e| e.into_inner());
        if std::process::id() == self.pid && !self.closed.swap(true, Ordering::AcqRel) {
            // SAFETY: flock on the descriptor this journal owns.
            unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
        }
    }

    /// Bytes of the ring in use (claimed and not yet freed).
    #[cfg(test)]
    pub fn used(&self) -> u64 {
        self.get_u64(H_HEAD) - self.get_u64(H_FREE)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; no reference into it outlives
        // the journal.
        unsafe { libc::munmap(self.base.cast(), self.map_len) };
    }
}

/// A claimed entry. Dropped without [`Slot::commit`], it is marked cancelled.
#[derive(Debug)]
pub struct Slot<'j> {
    j: &'j Journal,
    e: u64,
    len: usize,
    done: bool,
}

impl Slot<'_> {
    /// The entry's payload bytes, for the caller to fill.
    pub fn payload(&mut self) -> &mut [u8] {
        // SAFETY: `[e + ENTRY, e + ENTRY + len)` lies inside the ring (the claim fitted the
        // lap) and belongs to this slot alone until it is committed or cancelled.
        unsafe { std::slice::from_raw_parts_mut(self.j.at(self.e + ENTRY), self.len) }
    }

    /// The payload as filled.
    pub fn filled(&self) -> &[u8] {
        // SAFETY: as in `payload`.
        unsafe { std::slice::from_raw_parts(self.j.at(self.e + ENTRY), self.len) }
    }

    /// Stores the record's timestamp, level and kind.
    pub fn stamp(&mut self, ts: i64, level: u8, kind: u8) {
        let j = self.j;
        j.put_u64(self.e + E_TS, ts as u64);
        // Level, kind and the six zero bytes after them, as one word.
        j.put_u64(self.e + E_LEVEL, u64::from(level) | u64::from(kind) << 8);
    }

    /// The record is in the queue at `qpos`: the entry counts from now on.
    pub fn commit(mut self, qpos: u64) {
        self.done = true;
        self.j.finish(self.e, qpos, self.len as u64, COMMITTED);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.j.finish(self.e, u64::MAX, self.len as u64, CANCELLED);
        }
    }
}

fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(j: &Journal, msg: &[u8], qpos: Option<u64>) {
        let Reserve::Slot(mut s) = j.reserve(msg.len()) else {
            panic!("no room");
        };
        s.payload().copy_from_slice(msg);
        s.stamp(7, 9, 0);
        if let Some(q) = qpos {
            s.commit(q);
        }
    }

    #[test]
    fn committed_unsettled_entries_come_back_in_queue_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        {
            let (j, rec) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
            assert!(rec.records.is_empty() && rec.torn == 0 && rec.discarded.is_none());
            fill(&j, b"two", Some(2));
            fill(&j, b"one", Some(1));
            fill(&j, b"cancelled", None);
            fill(&j, b"zero", Some(0));
            j.reclaim(1);
            // "zero" is settled but not at the ring's start: only `done` tells.
            assert_eq!(j.used(), 4 * 64);
        }
        let (j, rec) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
        let got: Vec<_> = rec
            .records
            .iter()
            .map(|e| (e.qpos, &e.payload[..]))
            .collect();
        assert_eq!(got, [(1, &b"one"[..]), (2, &b"two"[..])]);
        assert_eq!(
            (rec.torn, rec.records[0].ts, rec.records[0].level),
            (0, 7, 9)
        );
        j.reset();
        assert_eq!(j.used(), 0);
    }

    #[test]
    fn reclaim_frees_settled_entries_and_the_ring_wraps() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        let (j, _) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
        let msg = [b'x'; 1000];
        let mut q = 0;
        // Several laps: every entry settled right after it is committed.
        while q < 1000 {
            match j.reserve(msg.len()) {
                Reserve::Slot(mut s) => {
                    s.payload().copy_from_slice(&msg);
                    s.commit(q);
                    q += 1;
                }
                Reserve::Full => j.reclaim(q),
                Reserve::TooLarge(_) => unreachable!(),
            }
        }
        j.reclaim(q - 1);
        assert_eq!(j.used(), 1088);
        drop(j);
        let (_, rec) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
        assert_eq!(rec.records.len(), 1);
        assert_eq!((rec.records[0].qpos, rec.torn), (999, 0));
    }

    #[test]
    fn an_uncommitted_claim_is_skipped_and_counted_and_later_entries_survive() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        {
            let (j, _) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
            fill(&j, b"first", Some(0));
            let Reserve::Slot(mut torn) = j.reserve(100) else {
                panic!()
            };
            torn.payload().fill(b'?');
            fill(&j, b"third", Some(2));
            // The producer dies here: its entry stays WRITING.
            std::mem::forget(torn);
        }
        let (_, rec) = Journal::open(&log, MIN_BYTES, 0o600).unwrap();
        let got: Vec<_> = rec.records.iter().map(|e| &e.payload[..]).collect();
        assert_eq!(got, [&b"first"[..], &b"third"[..]]);
        assert_eq!(rec.torn, 1);
    }

    #[test]
    fn producers_and_a_reclaimer_race_without_losing_or_overlapping_entries() {
        use std::sync::atomic::AtomicBool;
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(&dir.path().join("a.log"), MIN_BYTES, 0o600).unwrap();
        let stop = AtomicBool::new(false);
        let next = AtomicU64::new(0);
        std::thread::scope(|sc| {
            sc.spawn(|| {
                // Everything committed is settled at once: `free` races ahead of the claims.
                while !stop.load(Ordering::Relaxed) {
                    j.reclaim(u64::MAX);
                }
            });
            let producers: Vec<_> = (0..4u8)
                .map(|t| {
                    let (j, next) = (&j, &next);
                    sc.spawn(move || {
                        let msg = [t; 100];
                        let mut n = 0;
                        while n < 20_000 {
                            if let Reserve::Slot(mut s) = j.reserve(msg.len()) {
                                s.payload().copy_from_slice(&msg);
                                // Nobody else wrote into this entry while it was ours.
                                assert_eq!(s.filled(), &msg[..]);
                                s.commit(next.fetch_add(1, Ordering::Relaxed));
                                n += 1;
                            }
                        }
                    })
                })
                .collect();
            let ends: Vec<_> = producers.into_iter().map(|p| p.join()).collect();
            stop.store(true, Ordering::Relaxed);
            for e in ends {
                e.unwrap();
            }
        });
        j.reclaim(u64::MAX);
        assert_eq!(j.used(), 0);
    }

    #[test]
    fn a_record_larger_than_a_quarter_of_the_ring_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(&dir.path().join("a.log"), MIN_BYTES, 0o600).unwrap();
        assert!(matches!(j.reserve(20_000), Reserve::TooLarge(16336)));
    }
}
