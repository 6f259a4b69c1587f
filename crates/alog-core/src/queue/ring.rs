//! The bounded multi-producer queue between log calls and the writer.
//!
//! Records live in a preallocated ring of fixed-size slots; a message that fits (216 bytes, with
//! its encoded fields) is copied inline, a longer one travels in a heap buffer that the caller
//! allocated before claiming. A log call:
//!
//! 1. loads `tail` and `head` and, if the ring has room, claims position `tail` with one CAS;
//! 2. writes the slot and publishes it by storing `seq = pos + 1` (release).
//!
//! No lock, no syscall, no allocation. Consumers (the writer, and producers that apply
//! `drop_oldest`) take the consumer mutex, copy published slots out in position order and then
//! advance `head`, which frees the slots for reuse. Per-producer order is position order.
//!
//! Closing sets the top bit of `tail`, so no claim can succeed afterwards; producers touch slot
//! memory only after a successful claim, which is why the slots can be freed once the queue is
//! closed and drained while late callers still read `tail` safely.

use crate::front::clock::Stamp;
use crate::queue::sync::{AtomicPtr, AtomicU64, Cell, Mutex, MutexGuard, Ordering};

const CLOSED: u64 = 1 << 63;

/// Bytes of payload stored inside a slot; longer payloads go to the heap.
pub const INLINE: usize = 216;

/// What a payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The message bytes alone.
    Plain,
    /// A payload encoded by `record::encode`.
    Structured,
    /// A payload encoded by `deferred::encode`: a call site and its raw arguments.
    Deferred,
}

/// Laid out in this order so that the header sits in the slot's first 40 bytes, right before
/// the payload: a record touches only the cache lines its payload reaches (two for a 41-byte
/// `ALOG_LOGF` record, three for 100 bytes), not also the slot's last line.
#[repr(C)]
struct Body {
    heap: Option<Box<[u8]>>,
    /// A `Stamp` split so that the slot stays 256 bytes.
    ts: i64,
    /// The calling thread's id, or 0 (see `front::thread`).
    tid: u32,
    /// The inline payload's length (a heap payload knows its own).
    len: u8,
    level: u8,
    kind: Kind,
    ticks: bool,
    data: [u8; INLINE],
}

const _: () = assert!(INLINE <= u8::MAX as usize);
#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<Slot>() == 256);
    assert!(std::mem::offset_of!(Slot, body) + std::mem::offset_of!(Body, data) == 40);
};

#[repr(C, align(64))]
struct Slot {
    seq: AtomicU64,
    body: Cell<Body>,
}

// SAFETY: a slot's body is written only by the producer that claimed its position and read only
// by the consumer that holds the consumer lock after observing the published `seq` (acquire).
unsafe impl Sync for Slot {}

#[repr(align(128))]
#[derive(Debug)]
struct Padded<T>(T);

/// A record's header as copied out by a consumer; its payload is `arena[start..start + len]`.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub stamp: Stamp,
    pub level: u8,
    pub kind: Kind,
    /// The calling thread's id, or 0 when no sink shows it.
    pub tid: u32,
    pub start: usize,
    pub len: usize,
}

/// Records copied out of the queue in order, owned by the consumer.
#[derive(Debug, Default)]
pub struct Batch {
    pub arena: Vec<u8>,
    pub metas: Vec<Meta>,
}

impl Batch {
    pub fn clear(&mut self) {
        self.arena.clear();
        self.metas.clear();
    }
    pub fn len(&self) -> usize {
        self.metas.len()
    }
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }
    pub fn payload(&self, m: &Meta) -> &[u8] {
        &self.arena[m.start..m.start + m.len]
    }
}

/// The outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// Published at queue position `pos`; the number of records queued just after it (by the
    /// caller's view).
    Ok {
        queued: u64,
        pos: u64,
    },
    Full,
    Closed,
}

/// The bounded MPMC ring. The layout keeps what producers read on every claim (the slot
/// pointer, mask and capacity) off the lines that change: the claim position, the consume
/// position and the consumer lock each have their own.
#[derive(Debug)]
#[repr(C)]
pub struct Queue {
    slots: AtomicPtr<Slot>,
    mask: u64,
    cap: u64,
    tail: Padded<AtomicU64>,
    head: Padded<AtomicU64>,
    consumer: Padded<Mutex<()>>,
}

/// A record's header as a producer hands it to [`Queue::try_push`]: `len` is the payload's
/// length (inline up to [`INLINE`] bytes, else in the caller's heap block).
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub stamp: Stamp,
    pub level: u8,
    pub kind: Kind,
    /// The calling thread's id, or 0 (see `front::thread`).
    pub tid: u32,
    pub len: usize,
}

/// Writes a claimed slot's body: the header, and the payload inline (`fill`) or from `heap`.
///
/// # Safety
/// `b` is the body of a slot whose position the caller has claimed and not yet published.
#[inline(always)]
unsafe fn write_body(b: *mut Body, h: Header, fill: &impl Fill, heap: &mut Option<Box<[u8]>>) {
    let Header {
        stamp,
        level,
        kind,
        tid,
        len,
    } = h;
    // SAFETY: the caller's exclusive claim on the slot.
    unsafe {
        ((*b).ts, (*b).ticks) = match stamp {
            Stamp::Ns(ns) => (ns, false),
            Stamp::Ticks(t) => (t, true),
        };
        (*b).level = level;
        (*b).kind = kind;
        (*b).tid = tid;
        if len <= INLINE {
            (*b).len = len as u8;
            fill.fill(&mut (&mut (*b).data)[..len]);
        } else {
            (*b).heap = heap.take();
        }
    }
}

/// Writes a payload of known length into a slot. A trait rather than a closure, so that a
/// payload's own `#[inline(always)]` encoder is inlined into the push.
pub trait Fill {
    /// Fills `out` (exactly the payload's length).
    fn fill(&self, out: &mut [u8]);
}

impl<F: Fn(&mut [u8])> Fill for F {
    #[inline(always)]
    fn fill(&self, out: &mut [u8]) {
        self(out)
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

impl Queue {
    /// A queue holding at most `cap` records (`cap >= 1`).
    pub fn new(cap: usize) -> Queue {
        let phys = cap.max(1).next_power_of_two();
        let slots = alloc_slots(phys);
        Queue {
            tail: Padded(AtomicU64::new(0)),
            head: Padded(AtomicU64::new(0)),
            slots: AtomicPtr::new(slots),
            mask: phys as u64 - 1,
            cap: cap.max(1) as u64,
            consumer: Padded(Mutex::new(())),
        }
    }

    pub fn capacity(&self) -> u64 {
        self.cap
    }

    /// Under loom the ring is a plain allocation: nothing to make resident.
    #[cfg(loom)]
    pub fn prefault(&self) -> std::io::Result<()> {
        Ok(())
    }

    /// Makes the ring's memory resident now (`queue_prefault`), so that no producer waits for
    /// the kernel to supply a page. Before any producer or consumer uses the queue. Fails
    /// (with the OS error) when the memory cannot be had.
    #[cfg(not(loom))]
    pub fn prefault(&self) -> std::io::Result<()> {
        let p = self.slots.load(Ordering::Relaxed);
        if p.is_null() {
            return Ok(());
        }
        let len = ring_bytes((self.mask + 1) as usize);
        // Making more resident than the system has free would wake the OOM killer, not fail.
        fits_available(
            len,
            &std::fs::read_to_string("/proc/meminfo").unwrap_or_default(),
        )?;
        // SAFETY: advice on the ring's own mapping, of exactly `len` bytes; it changes no byte
        // (the pages stay zero, and a zero slot is an empty one).
        if unsafe { libc::madvise(p.cast(), len, libc::MADV_POPULATE_WRITE) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
        // A kernel before 5.14: touch each page. The first byte of a page is a slot's first
        // byte (its sequence, zero); writing the zero it holds makes the page resident.
        let page = 4096;
        for off in (0..len).step_by(page) {
            // SAFETY: within the mapping; no producer or consumer runs yet (the caller's
            // promise), and the byte keeps its value.
            unsafe { std::ptr::write_volatile(p.cast::<u8>().add(off), 0) };
        }
        Ok(())
    }

    /// Positions claimed so far (every record ever accepted).
    pub fn tail_pos(&self) -> u64 {
        self.tail.0.load(Ordering::Acquire) & !CLOSED
    }

    /// Positions consumed so far (written, failed or dropped by `drop_oldest`).
    pub fn head_pos(&self) -> u64 {
        self.head.0.load(Ordering::Acquire)
    }

    pub fn is_closed(&self) -> bool {
        self.tail.0.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Records queued now.
    pub fn len(&self) -> u64 {
        self.tail_pos().saturating_sub(self.head_pos())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the `n` records from the consume position on are there, judged by the last
    /// one's slot being published; reads neither the claim position nor any other slot. Takes
    /// no lock: the writer asks while holding its wake lock, which the fork handler takes after
    /// the consumer lock.
    ///
    /// # Safety
    /// No `release_memory` may run meanwhile: only the consumer thread calls this, and the
    /// slots are released by that thread itself or after it has finished.
    pub(crate) unsafe fn batch_ready(&self, n: u64) -> bool {
        if n == 0 || self.slots.load(Ordering::Acquire).is_null() {
            return n == 0;
        }
        let pos = self.head.0.load(Ordering::Acquire) + n - 1;
        self.slot(pos).seq.load(Ordering::Acquire) == pos + 1
    }

    #[inline(always)]
    fn slot(&self, pos: u64) -> &Slot {
        let base = self.slots.load(Ordering::Relaxed);
        // SAFETY: callers hold a claim on `pos` or the consumer lock with the queue open or not yet
        // freed; the ring has `mask + 1` slots and the index is masked.
        unsafe { &*base.add((pos & self.mask) as usize) }
    }

    /// Claims a position and publishes one record. `fill` writes the inline payload when
    /// `h.len <= INLINE`; otherwise `heap` must hold the payload and is moved into the slot.
    /// On `Full` or `Closed`, `heap` is left untouched for the caller to retry or drop.
    #[inline(always)]
    pub fn try_push(&self, h: Header, fill: &impl Fill, heap: &mut Option<Box<[u8]>>) -> Push {
        let mut t = self.tail.0.load(Ordering::Relaxed);
        let head = loop {
            if t & CLOSED != 0 {
                return Push::Closed;
            }
            let head = self.head.0.load(Ordering::Acquire);
            if t.wrapping_sub(head) >= self.cap {
                return Push::Full;
            }
            match self
                .tail
                .0
                .compare_exchange_weak(t, t + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break head,
                Err(now) => t = now,
            }
        };
        let slot = self.slot(t);
        // SAFETY: position `t` is ours alone until we publish it; the consumer that last read
        // this slot advanced `head` past it (acquired above) before we could claim it.
        #[cfg(loom)]
        // SAFETY: as below.
        slot.body
            .with_mut(|b| unsafe { write_body(b, h, fill, heap) });
        // Without loom no closure: the body is written inline in the caller, where the
        // payload's kind is known. SAFETY: see the comment above.
        #[cfg(not(loom))]
        unsafe {
            write_body(slot.body.as_ptr(), h, fill, heap)
        };
        slot.seq.store(t + 1, Ordering::Release);
        Push::Ok {
            queued: t + 1 - head,
            pos: t,
        }
    }

    /// Copies up to `max` published records, in order, into `out`; returns how many.
    pub fn pop_into(&self, max: usize, out: &mut Batch) -> usize {
        let _g = self.consumer.0.lock().unwrap_or_else(|e| e.into_inner());
        if self.slots.load(Ordering::Relaxed).is_null() {
            return 0;
        }
        let start = self.head.0.load(Ordering::Relaxed);
        let mut pos = start;
        while ((pos - start) as usize) < max {
            let slot = self.slot(pos);
            if slot.seq.load(Ordering::Acquire) != pos + 1 {
                break;
            }
            slot.body.with_mut(|b| {
                // SAFETY: the slot is published (acquire above) and we hold the consumer lock.
                let b = unsafe { &mut *b };
                let begin = out.arena.len();
                // Looked at before it is taken: an inline record's slot is only read here,
                // so the producer that reuses it does not find its lines modified by this
                // thread.
                let heap = if b.heap.is_some() {
                    b.heap.take()
                } else {
                    None
                };
                let len = match heap {
                    Some(h) => {
                        out.arena.extend_from_slice(&h);
                        h.len()
                    }
                    None => {
                        let len = usize::from(b.len);
                        out.arena.extend_from_slice(&b.data[..len]);
                        len
                    }
                };
                out.metas.push(Meta {
                    stamp: if b.ticks {
                        Stamp::Ticks(b.ts)
                    } else {
                        Stamp::Ns(b.ts)
                    },
                    level: b.level,
                    kind: b.kind,
                    tid: b.tid,
                    start: begin,
                    len,
                });
            });
            pos += 1;
        }
        self.head.0.store(pos, Ordering::SeqCst);
        (pos - start) as usize
    }

    /// For `drop_oldest`: if the queue is still full, discards its oldest record (waiting for
    /// it to be published) and returns true.
    pub fn drop_oldest(&self) -> bool {
        let _g = self.consumer.0.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tail.0.load(Ordering::Acquire);
        if t & CLOSED != 0 {
            return false;
        }
        let h = self.head.0.load(Ordering::Relaxed);
        if t.wrapping_sub(h) < self.cap {
            return false;
        }
        let slot = self.slot(h);
        while slot.seq.load(Ordering::Acquire) != h + 1 {
            // The producer that claimed `h` is between its claim and its publish.
            std::hint::spin_loop();
            #[cfg(not(loom))]
            std::thread::yield_now();
            #[cfg(loom)]
            loom::thread::yield_now();
        }
        // SAFETY: published and we hold the consumer lock.
        slot.body.with_mut(|b| drop(unsafe { (*b).heap.take() }));
        self.head.0.store(h + 1, Ordering::SeqCst);
        true
    }

    /// Stops all future claims; returns false if the queue was already closed.
    pub fn close(&self) -> bool {
        self.tail.0.fetch_or(CLOSED, Ordering::AcqRel) & CLOSED == 0
    }

    /// Frees the slot memory once the queue is closed and drained (no claim can happen any
    /// more, and every claimed record has been consumed). Returns false if not yet possible.
    pub fn release_memory(&self) -> bool {
        let _g = self.consumer.0.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tail.0.load(Ordering::Acquire);
        if t & CLOSED == 0 || self.head.0.load(Ordering::Acquire) != t & !CLOSED {
            return false;
        }
        self.free_slots();
        true
    }

    fn free_slots(&self) {
        let p = self.slots.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            let n = (self.mask + 1) as usize;
            #[cfg(not(loom))]
            // SAFETY: `p` came from `alloc_slots(n)` (a mapping of `ring_bytes(n)` bytes) and
            // is unmapped once; slots still holding heap payloads drop them first.
            unsafe {
                for i in 0..n {
                    std::ptr::drop_in_place(p.add(i));
                }
                libc::munmap(p.cast(), ring_bytes(n));
            }
            #[cfg(loom)]
            // SAFETY: `p` came from `alloc_slots(n)` (a boxed slice of `n` slots) and is
            // freed once.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n)) });
        }
    }

    /// In a child process after `fork()`: forget the records queued by the parent (the parent
    /// writes them) and any half-written claims of threads that do not exist here.
    pub fn reset_after_fork(&self) {
        let t = self.tail.0.load(Ordering::Relaxed) & !CLOSED;
        let h = self.head.0.load(Ordering::Relaxed);
        if !self.slots.load(Ordering::Relaxed).is_null() {
            // The skipped slots may hold heap payloads; a later inline record in the same
            // slot would otherwise be read as that payload. A published slot's payload is
            // whole and freed; an unpublished one may be half-written by a thread that is gone
            // here, so it is forgotten, not freed.
            for pos in h..t {
                let slot = self.slot(pos);
                let published = slot.seq.load(Ordering::Acquire) == pos + 1;
                slot.body.with_mut(|b| {
                    // SAFETY: the caller holds the consumer lock (the fork handler's lock_all)
                    // and no other thread exists in the child.
                    unsafe {
                        if published {
                            drop((*b).heap.take());
                        } else {
                            std::ptr::addr_of_mut!((*b).heap).write(None);
                        }
                    }
                });
            }
        }
        self.head.0.store(t, Ordering::SeqCst);
    }

    /// The consumer lock, held across fork so that no vanished thread owns it in the child.
    pub(crate) fn consumer_lock(&self) -> MutexGuard<'_, ()> {
        self.consumer.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Refuses `len` bytes when `/proc/meminfo`'s text reports less available (a memory limit of a
/// control group is not looked at); unknown availability passes.
#[cfg(not(loom))]
fn fits_available(len: usize, meminfo: &str) -> std::io::Result<()> {
    match mem_available(meminfo) {
        Some(available) if len as u64 > available => Err(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!(
                "{} MiB asked, {} MiB available (MemAvailable in /proc/meminfo)",
                len >> 20,
                available >> 20
            ),
        )),
        _ => Ok(()),
    }
}

/// The bytes `MemAvailable` reports in the text of `/proc/meminfo`, if it says.
#[cfg(not(loom))]
fn mem_available(meminfo: &str) -> Option<u64> {
    let kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

/// Allocates `n` empty slots. Outside loom the memory is an anonymous mapping: zeroed pages
/// that take resident memory only when records first reach them (an all-zero slot is an
/// empty one: sequence 0, no heap payload, `Kind::Plain`), so a thousand idle loggers cost
/// address space, not RAM. (The allocator's zeroed allocation would write every byte itself
/// for the slots' 64-byte alignment.)
fn alloc_slots(n: usize) -> *mut Slot {
    #[cfg(not(loom))]
    {
        const _: () = assert!(Kind::Plain as u8 == 0);
        let len = ring_bytes(n);
        // SAFETY: an anonymous private mapping of `len` bytes; the result is checked. The
        // pages are zero, page-aligned (more than a slot's alignment), and an all-zero `Slot`
        // is valid: atomics and integers of 0, `false`, `Kind::Plain` (discriminant 0,
        // asserted above) and `None` for the boxed payload (a null pointer).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            let layout = std::alloc::Layout::array::<Slot>(n).expect("ring size fits");
            std::alloc::handle_alloc_error(layout);
        }
        p.cast::<Slot>()
    }
    #[cfg(loom)]
    {
        let slots: Box<[Slot]> = (0..n)
            .map(|_| Slot {
                seq: AtomicU64::new(0),
                body: Cell::new(Body {
                    ts: 0,
                    ticks: false,
                    len: 0,
                    level: 0,
                    kind: Kind::Plain,
                    tid: 0,
                    heap: None,
                    data: [0; INLINE],
                }),
            })
            .collect();
        Box::into_raw(slots).cast::<Slot>()
    }
}

/// The bytes of a ring of `n` slots.
#[cfg(not(loom))]
fn ring_bytes(n: usize) -> usize {
    n.checked_mul(std::mem::size_of::<Slot>())
        .expect("ring size fits the address space")
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.free_slots();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn push(q: &Queue, msg: &[u8]) -> Push {
        let mut heap = (msg.len() > INLINE).then(|| msg.to_vec().into_boxed_slice());
        let h = Header {
            stamp: Stamp::Ns(7),
            level: 9,
            kind: Kind::Plain,
            tid: 0,
            len: msg.len(),
        };
        q.try_push(h, &|d: &mut [u8]| d.copy_from_slice(msg), &mut heap)
    }

    fn texts(b: &Batch) -> Vec<String> {
        b.metas
            .iter()
            .map(|m| String::from_utf8(b.payload(m).to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn batch_ready_waits_for_the_batch_last_slot() {
        fn ready(q: &Queue, n: u64) -> bool {
            // SAFETY: nothing releases the slots in this test.
            unsafe { q.batch_ready(n) }
        }
        let q = Queue::new(8);
        assert!(!ready(&q, 3));
        for _ in 0..2 {
            assert!(matches!(push(&q, b"x"), Push::Ok { .. }));
        }
        assert!(!ready(&q, 3));
        assert!(matches!(push(&q, b"x"), Push::Ok { .. }));
        assert!(ready(&q, 3));
        let mut b = Batch::default();
        assert_eq!(q.pop_into(2, &mut b), 2);
        assert!(!ready(&q, 3), "two consumed, one left");
        assert!(ready(&q, 1));
    }

    #[test]
    fn mem_available_reads_meminfo() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(mem_available(text), Some(2048 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots\n"), None);
        assert_eq!(mem_available(""), None);

        let e = fits_available(64 << 20, "MemAvailable:   32768 kB\n").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::OutOfMemory);
        assert_eq!(
            e.to_string(),
            "64 MiB asked, 32 MiB available (MemAvailable in /proc/meminfo)"
        );
        assert!(fits_available(16 << 20, "MemAvailable:   32768 kB\n").is_ok());
        assert!(fits_available(usize::MAX, "no such line\n").is_ok());
    }

    #[test]
    fn fifo_full_and_wraparound() {
        let q = Queue::new(3);
        assert_eq!(push(&q, b"a"), Push::Ok { queued: 1, pos: 0 });
        assert_eq!(push(&q, b"b"), Push::Ok { queued: 2, pos: 1 });
        assert_eq!(push(&q, b"c"), Push::Ok { queued: 3, pos: 2 });
        assert_eq!(push(&q, b"d"), Push::Full);
        let mut b = Batch::default();
        assert_eq!(q.pop_into(2, &mut b), 2);
        assert_eq!(texts(&b), ["a", "b"]);
        for m in [b"d", b"e"] {
            assert!(matches!(push(&q, m), Push::Ok { .. }));
        }
        b.clear();
        assert_eq!(q.pop_into(10, &mut b), 3);
        assert_eq!(texts(&b), ["c", "d", "e"]);
        assert_eq!(b.metas[0].stamp, Stamp::Ns(7));
        assert_eq!(b.metas[0].level, 9);
    }

    #[test]
    fn long_payloads_travel_on_the_heap() {
        let q = Queue::new(2);
        let long = vec![b'x'; INLINE + 1];
        assert!(matches!(push(&q, &long), Push::Ok { .. }));
        let mut b = Batch::default();
        q.pop_into(1, &mut b);
        assert_eq!(b.payload(&b.metas[0]), &long[..]);
    }

    #[test]
    fn drop_oldest_makes_room_for_the_newest() {
        let q = Queue::new(2);
        push(&q, b"1");
        push(&q, b"2");
        assert!(q.drop_oldest());
        assert!(!q.drop_oldest(), "not full any more");
        push(&q, b"3");
        let mut b = Batch::default();
        q.pop_into(10, &mut b);
        assert_eq!(texts(&b), ["2", "3"]);
    }

    #[test]
    fn close_stops_claims_and_frees_when_drained() {
        let q = Queue::new(4);
        push(&q, b"x");
        assert!(q.close());
        assert!(!q.close());
        assert_eq!(push(&q, b"y"), Push::Closed);
        assert!(!q.release_memory(), "one record still queued");
        let mut b = Batch::default();
        assert_eq!(q.pop_into(10, &mut b), 1);
        assert!(q.release_memory());
        assert_eq!(q.pop_into(10, &mut b), 0);
        assert_eq!(push(&q, b"z"), Push::Closed);
    }

    #[test]
    fn many_producers_keep_per_thread_order() {
        let q = std::sync::Arc::new(Queue::new(64));
        let n = 20_000u32;
        let producers: Vec<_> = (0..4u32)
            .map(|t| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..n {
                        let msg = format!("{t} {i}");
                        while push(&q, msg.as_bytes()) == Push::Full {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let mut next = [0u32; 4];
        let mut b = Batch::default();
        while next.iter().any(|&x| x < n) {
            b.clear();
            q.pop_into(100, &mut b);
            for s in texts(&b) {
                let (t, i) = s.split_once(' ').unwrap();
                let (t, i): (usize, u32) = (t.parse().unwrap(), i.parse().unwrap());
                assert_eq!(i, next[t], "thread {t} out of order");
                next[t] += 1;
            }
        }
        for p in producers {
            p.join().unwrap();
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    fn push(q: &Queue, v: u8) -> Push {
        let h = Header {
            stamp: Stamp::Ns(0),
            level: v,
            kind: Kind::Plain,
            tid: 0,
            len: 1,
        };
        q.try_push(h, &|d: &mut [u8]| d[0] = v, &mut None)
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(f);
    }

    /// Two producers and the writer: nothing lost, nothing duplicated, per-producer order kept.
    #[test]
    fn two_producers_one_consumer() {
        model(|| {
            let q = Arc::new(Queue::new(2));
            let q2 = q.clone();
            let a = loom::thread::spawn(move || {
                [10u8, 11]
                    .iter()
                    .filter(|&&v| matches!(push(&q2, v), Push::Ok { .. }))
                    .count()
            });
            let b_sent = usize::from(matches!(push(&q, 20), Push::Ok { .. }));
            let mut got = Vec::new();
            let mut b = Batch::default();
            q.pop_into(4, &mut b);
            got.extend(b.metas.iter().map(|m| b.arena[m.start]));
            let sent = a.join().unwrap() + b_sent;
            b.clear();
            q.pop_into(4, &mut b);
            got.extend(b.metas.iter().map(|m| b.arena[m.start]));
            assert_eq!(got.len(), sent);
            let mine: Vec<u8> = got.iter().copied().filter(|v| *v < 20).collect();
            let mut sorted = mine.clone();
            sorted.sort();
            assert_eq!(mine, sorted, "producer order kept");
        });
    }

    /// `drop_oldest` racing a producer and the consumer never loses track of a record.
    #[test]
    fn drop_oldest_races_consumer() {
        model(|| {
            let q = Arc::new(Queue::new(1));
            assert!(matches!(push(&q, 1), Push::Ok { .. }));
            let q2 = q.clone();
            let dropper = loom::thread::spawn(move || q2.drop_oldest());
            let mut b = Batch::default();
            let popped = q.pop_into(1, &mut b);
            let dropped = dropper.join().unwrap();
            assert_eq!(
                popped + usize::from(dropped),
                1,
                "the record is either written or dropped"
            );
            assert!(q.is_empty());
        });
    }

    /// Close racing a producer: a record is either accepted and drained, or refused.
    #[test]
    fn close_races_producer() {
        model(|| {
            let q = Arc::new(Queue::new(2));
            let q2 = q.clone();
            let p = loom::thread::spawn(move || push(&q2, 5));
            q.close();
            let r = p.join().unwrap();
            let mut b = Batch::default();
            let n = q.pop_into(2, &mut b);
            match r {
                Push::Ok { .. } => assert_eq!(n, 1),
                Push::Closed => assert_eq!(n, 0),
                Push::Full => panic!("queue of 2 cannot be full"),
            }
            assert!(q.release_memory());
        });
    }
}
