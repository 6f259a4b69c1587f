//! The hot path of a log call (gate check, timestamp, claim, copy, publish), the overflow
//! policies when the queue is full, and sync mode's write on the caller's thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::logger::Record;
use crate::front::clock::{ticks, Stamp};
use crate::front::config::Overflow;
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::record::{encode, encode_from, lens, FieldSource, FieldsRecord};
use crate::front::time::now_ns;
use crate::queue::{Fill, Header, Kind, Push, INLINE};
use crate::render::deferred::Args;
use crate::writer::shared::{
    drain_locked, ensure_writer, flush_with, lock, wait_until, Shared, CLOSED, DURABLE, LEVEL_MASK,
    RESPAWN, SYNC,
};
use crate::writer::signals::Mark;

/// A payload on its way into the queue, with its encoded length computed once.
pub(crate) struct Payload<'a> {
    len: usize,
    /// The bytes the caller gave (what `max_message_bytes` limits).
    given: usize,
    body: Body<'a>,
}

enum Body<'a> {
    Plain(&'a [u8]),
    Structured(&'a Record<'a>),
    /// A structured record whose fields are encoded from the caller's layout.
    Fields(&'a dyn Fill),
    Deferred(u32, Args<'a>),
}

/// Encodes a [`FieldsRecord`]'s payload: one dynamic call per record, the fields read through
/// their source's own (inlined) `field`.
impl<F: FieldSource + ?Sized> Fill for FieldsRecord<'_, F> {
    fn fill(&self, out: &mut [u8]) {
        encode_from(out, self.msg, self.fields, self.source.as_ref());
    }
}

impl<'a> Payload<'a> {
    pub(crate) fn plain(msg: &'a [u8]) -> Payload<'a> {
        Payload {
            len: msg.len(),
            given: msg.len(),
            body: Body::Plain(msg),
        }
    }
    pub(crate) fn structured(r: &'a Record<'a>) -> Payload<'a> {
        let (len, given) = lens(r.msg, r.fields, r.source.as_ref());
        Payload {
            len,
            given,
            body: Body::Structured(r),
        }
    }
    /// A structured record read from the caller's own field layout.
    #[inline]
    pub(crate) fn fields<F: FieldSource + ?Sized>(r: &'a FieldsRecord<'a, F>) -> Payload<'a> {
        let (len, given) = lens(r.msg, r.fields, r.source.as_ref());
        Payload {
            len,
            given,
            body: Body::Fields(r),
        }
    }
    #[inline(always)]
    pub(crate) fn deferred(site: u32, args: Args<'a>) -> Payload<'a> {
        Payload {
            len: args.encoded_len(),
            given: args.caller_len(),
            body: Body::Deferred(site, args),
        }
    }
    /// The encoded length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    /// A deferred record's call site and arguments.
    pub(crate) fn deferred_parts(&self) -> Option<(u32, Args<'a>)> {
        match self.body {
            Body::Deferred(site, args) => Some((site, args)),
            _ => None,
        }
    }
    #[inline]
    pub(crate) fn kind(&self) -> Kind {
        match self.body {
            Body::Plain(_) => Kind::Plain,
            Body::Structured(_) | Body::Fields(_) => Kind::Structured,
            Body::Deferred(..) => Kind::Deferred,
        }
    }
}

impl Fill for Payload<'_> {
    #[inline(always)]
    fn fill(&self, out: &mut [u8]) {
        match self.body {
            Body::Plain(m) => out.copy_from_slice(m),
            Body::Structured(r) => encode(out, r.msg, r.fields, r.source.as_ref()),
            Body::Fields(r) => r.fill(out),
            Body::Deferred(site, args) => args.encode(out, site),
        }
    }
}

/// How a call waits for room when `overflow=block` finds the queue full.
pub(crate) enum Wait<'a> {
    /// As configured: up to `block_timeout_ms`, or forever.
    Configured,
    /// Not at all: the call returns `Error::Full`; the record is neither submitted nor counted.
    Never,
    /// As configured, but `keep_waiting` is asked at least every `step`; when it says no, the
    /// record is dropped and counted as by a timeout, and the call returns `Error::Timeout`.
    Interruptible {
        step: Duration,
        keep_waiting: &'a mut dyn FnMut() -> bool,
    },
}

/// The hot path: gate check, timestamp, claim, copy, publish.
#[inline]
pub(crate) fn submit(s: &Arc<Shared>, level: Level, ts: Option<i64>, p: Payload<'_>) -> Result<()> {
    submit_with(s, level, ts, p, &mut Wait::Configured)
}

/// `submit`, waiting for room under `overflow=block` as `wait` says.
#[inline(always)]
pub(crate) fn submit_with(
    s: &Arc<Shared>,
    level: Level,
    ts: Option<i64>,
    p: Payload<'_>,
    wait: &mut Wait<'_>,
) -> Result<()> {
    let g = s.gate.load(Ordering::Relaxed);
    if u32::from(level.number()) < g & LEVEL_MASK {
        return Ok(());
    }
    if p.given > s.max_message_bytes {
        return Err(Error::TooLarge {
            len: p.given,
            max: s.max_message_bytes,
        });
    }
    let mark = Mark::enter();
    if g & !LEVEL_MASK != 0 || mark.reentered || p.len > INLINE {
        return submit_slow(s, g, level, ts, p, wait, mark.reentered);
    }
    // The common case in one attempt, with the payload's kind known where this is inlined; a
    // full or closed queue takes the general path (which tries again first).
    let ts = stamp(s, ts);
    let h = Header {
        stamp: ts,
        level: level.number(),
        kind: p.kind(),
        tid: caller_tid(s, false),
        len: p.len,
    };
    match s.queue.try_push(h, &p, &mut None) {
        Push::Ok { queued, .. } => {
            published(s, level, queued, false);
            Ok(())
        }
        _ => enqueue_owned(s, ts, level, p, wait),
    }
}

/// The general path after a full or closed queue, taking the payload by value so that the
/// hot path never has to keep it in memory for a reference.
#[cold]
#[inline(never)]
fn enqueue_owned(
    s: &Arc<Shared>,
    ts: Stamp,
    level: Level,
    p: Payload<'_>,
    wait: &mut Wait<'_>,
) -> Result<()> {
    enqueue(s, ts, level, &p, wait, false)
}

/// Everything but the hot path's common case. The payload comes by value (see
/// `enqueue_owned`).
#[cold]
#[inline(never)]
fn submit_slow(
    s: &Arc<Shared>,
    g: u32,
    level: Level,
    ts: Option<i64>,
    p: Payload<'_>,
    wait: &mut Wait<'_>,
    reentered: bool,
) -> Result<()> {
    let p = &p;
    if g & CLOSED != 0 {
        return Err(Error::Closed);
    }
    if g & !LEVEL_MASK == 0 {
        // Open and asynchronous: a signal handler's call, or a payload for the heap.
        return enqueue(s, stamp(s, ts), level, p, wait, reentered);
    }
    if reentered {
        // A signal handler's call: no lock, no wait. In sync mode (or before a fork child's
        // writer starts) the record waits in the queue for the next write, flush or close.
        return enqueue(s, stamp(s, ts), level, p, wait, true);
    }
    if g & SYNC != 0 {
        return write_sync(s, stamp(s, ts), level, p);
    }
    if g & RESPAWN != 0 {
        ensure_writer(s)?;
    }
    if g & DURABLE != 0 {
        // durability=mmap: the record is journaled before the call returns (api/durable.rs).
        return crate::api::durable::enqueue(s, ts, level, p, wait);
    }
    enqueue(s, stamp(s, ts), level, p, wait, false)
}

/// The calling thread's id when a sink prints it (`{thread}`), else 0.
#[inline(always)]
pub(crate) fn caller_tid(s: &Shared, reentered: bool) -> u32 {
    if s.thread.load(Ordering::Relaxed) {
        crate::front::thread::current(reentered)
    } else {
        0
    }
}

/// The caller's timestamp, else the logger's clock: the TSC where it is usable.
#[inline(always)]
fn stamp(s: &Shared, ts: Option<i64>) -> Stamp {
    match ts {
        Some(ns) => Stamp::Ns(ns),
        None if s.tsc => Stamp::Ticks(ticks()),
        None => Stamp::Ns(now_ns()),
    }
}

#[inline(never)]
fn enqueue(
    s: &Arc<Shared>,
    ts: Stamp,
    level: Level,
    p: &Payload<'_>,
    wait: &mut Wait<'_>,
    reentered: bool,
) -> Result<()> {
    let len = p.len;
    if reentered && len > INLINE {
        // A larger record is copied into a heap block: not from a signal handler.
        s.counters.refused.fetch_add(1, Ordering::Relaxed);
        return Err(Error::TooLarge { len, max: INLINE });
    }
    let mut heap = (len > INLINE).then(|| {
        let mut b = vec![0u8; len].into_boxed_slice();
        p.fill(&mut b);
        b
    });
    let h = Header {
        stamp: ts,
        level: level.number(),
        kind: p.kind(),
        tid: caller_tid(s, reentered),
        len,
    };
    let mut deadline = None;
    loop {
        match s.queue.try_push(h, p, &mut heap) {
            Push::Ok { queued, .. } => {
                published(s, level, queued, reentered);
                return Ok(());
            }
            Push::Closed => return Err(Error::Closed),
            Push::Full => on_full(s, &mut deadline, wait, reentered)?,
        }
    }
}

/// After a record is published with `queued` records in the queue: `flush_on`, or wake the
/// writer when a batch is there.
#[inline(always)]
pub(crate) fn published(s: &Arc<Shared>, level: Level, queued: u64, reentered: bool) {
    if reentered {
        // The writer takes it at its next batch timeout (or a flush, close, exit).
    } else if s.flush_on != 0 && level.number() >= s.flush_on {
        write_through(s);
    } else if queued >= s.batch_size && s.parked.load(Ordering::Relaxed) {
        wake_writer(s);
    }
}

/// Applies the overflow policy to a full queue: `Ok` means "try again".
#[cold]
pub(crate) fn on_full(
    s: &Shared,
    deadline: &mut Option<Instant>,
    wait: &mut Wait<'_>,
    reentered: bool,
) -> Result<()> {
    s.counters.peak(s.queue.capacity());
    if reentered {
        // A signal handler's call must not wait for room (the call it interrupted may hold
        // what the writer needs) nor take the consumer's lock to drop the oldest.
        s.counters.refused.fetch_add(1, Ordering::Relaxed);
        return Err(Error::Full);
    }
    if s.gate.load(Ordering::Acquire) & SYNC != 0 {
        // The writer is gone (sync fallback): make room by writing the queue here.
        s.drain_sync(true);
        return Ok(());
    }
    match s.overflow {
        Overflow::DropNewest => {
            s.counters.refused.fetch_add(1, Ordering::Relaxed);
            Err(Error::Full)
        }
        Overflow::Warn => {
            s.counters.refused.fetch_add(1, Ordering::Relaxed);
            s.warn_pending.fetch_add(1, Ordering::Relaxed);
            Err(Error::Full)
        }
        Overflow::DropOldest => {
            if s.queue.drop_oldest() {
                s.counters.dropped_queued.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
        Overflow::Block => {
            if matches!(wait, Wait::Never) {
                return Err(Error::Full);
            }
            if s.called_from_own_sink() {
                // The writer would wait for itself to make room: drop the record instead.
                s.counters.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Error::Full);
            }
            let d = *deadline.get_or_insert_with(|| match s.block_timeout {
                Some(t) => Instant::now() + t,
                None => Instant::now() + Duration::from_secs(u64::MAX / 4),
            });
            loop {
                let until = match wait {
                    Wait::Interruptible { step, .. } => d.min(Instant::now() + *step),
                    _ => d,
                };
                if wait_for_space(s, until) {
                    return Ok(());
                }
                let interrupted = match wait {
                    Wait::Interruptible { keep_waiting, .. } => !keep_waiting(),
                    _ => false,
                };
                if interrupted || Instant::now() >= d {
                    s.counters.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(Error::Timeout);
                }
            }
        }
    }
}

/// Waits until the queue has room or is closed; false on timeout. The writer never parks
/// while the queue holds a batch, so waking it once is enough.
fn wait_for_space(s: &Shared, deadline: Instant) -> bool {
    wake_writer(s);
    for _ in 0..32 {
        if s.queue.len() < s.queue.capacity() {
            return true;
        }
        std::thread::yield_now();
    }
    s.space_waiters.fetch_add(1, Ordering::SeqCst);
    let ok = wait_until(
        &s.space,
        &s.space_cv,
        Some(deadline),
        Duration::from_millis(10),
        |_| s.queue.len() < s.queue.capacity() || s.queue.is_closed(),
    );
    s.space_waiters.fetch_sub(1, Ordering::SeqCst);
    ok
}

/// `flush_on`: the record and everything queued before it are written before the call
/// returns, as by `flush` (so that `abort()` after a FATAL record loses nothing). A sink or
/// error callback logging to its own logger only asks for the write: it cannot wait for it.
#[cold]
fn write_through(s: &Arc<Shared>) {
    if s.called_from_own_sink() {
        request_write(s);
    } else {
        let _ = flush_with(s, None, |m| Some(lock(m)));
    }
}

/// Asks the writer to write everything queued so far without waiting for a batch. A parked
/// writer is woken; a polling or busy one sees the request at its next look.
pub(crate) fn request_write(s: &Shared) {
    let target = s.queue.tail_pos();
    let mut w = lock(&s.wake);
    if w.flush_target < target {
        w.flush_target = target;
        drop(w);
        crate::writer::pool::wake(&s.job());
    }
}

fn wake_writer(s: &Shared) {
    if s.parked.swap(false, Ordering::AcqRel) {
        crate::writer::pool::wake_from_caller(&s.job());
    }
}

/// Sync mode: format and write on the caller's thread, after whatever is still queued.
fn write_sync(s: &Shared, ts: Stamp, level: Level, p: &Payload<'_>) -> Result<()> {
    if s.called_from_own_sink() {
        return Err(Error::reentry("log to"));
    }
    let mut guard = lock(&s.core);
    let core = &mut *guard;
    let Some(pipeline) = core.pipeline.as_mut() else {
        return Err(Error::Closed);
    };
    drain_locked(s, pipeline, &mut core.scratch);
    s.counters.sync_submitted.fetch_add(1, Ordering::SeqCst);
    let b = &mut core.scratch;
    b.clear();
    let len = p.len;
    b.arena.resize(len, 0);
    p.fill(&mut b.arena);
    b.metas.push(crate::queue::Meta {
        stamp: ts,
        level: level.number(),
        kind: p.kind(),
        tid: caller_tid(s, false),
        start: 0,
        len,
    });
    let end = s.queue.head_pos();
    s.in_sinks(|| pipeline.process(s, b, end));
    // Sync mode writes before it returns: every lane too (a `drop` lane at most until its
    // stall timeout), waited for without the sinks' lock, which a fork takes.
    let lanes = pipeline.lanes();
    drop(guard);
    for l in lanes {
        l.wait_idle(None);
    }
    Ok(())
}
