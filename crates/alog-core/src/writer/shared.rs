//! The state a logger's handles share with its writer job: the gate, the queue, the
//! counters, the sinks and the signals between callers and the writer; and the steps of a
//! logger's life that both sides take (starting the writer, draining, finishing).

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::front::config::{Fsync, Overflow};
use crate::front::error::{Error, Result};
use crate::front::stats::{Counters, SinkCounters};
use crate::queue::{Batch, Queue};
use crate::writer::pipeline::{ErrorReporter, Pipeline};
use crate::writer::pool::{self, Job, Sched};
use crate::writer::thread::RunState;

/// Gate bits above the level byte: any of them sends a call to the slow path.
pub(crate) const CLOSED: u32 = 1 << 8;
pub(crate) const SYNC: u32 = 1 << 9;
pub(crate) const RESPAWN: u32 = 1 << 10;
/// `durability=mmap`: calls take the journaled path (`api::durable`).
pub(crate) const DURABLE: u32 = 1 << 11;
pub(crate) const LEVEL_MASK: u32 = 0xff;

/// The name of every writer thread.
pub(crate) const WRITER_THREAD: &str = "alog-writer";

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer's signals, under one lock.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    /// A `flush` wants every position below this written.
    pub(crate) flush_target: u64,
    pub(crate) stop: bool,
}

#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// The logger's writer job is started (in this process) and not finished.
    pub(crate) running: bool,
    pub(crate) finished: bool,
}

/// What the pipeline lock guards: the sinks, and a scratch batch for sync mode.
#[derive(Debug)]
pub(crate) struct Core {
    /// Boxed: a closed logger's handle keeps `Shared` alive, not the pipeline's room.
    pub(crate) pipeline: Option<Box<Pipeline>>,
    pub(crate) scratch: Batch,
}

/// A zero-sized field that starts the next field on a fresh pair of cache lines (128 bytes:
/// adjacent-line prefetchers fetch lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct LineBreak;

/// State shared by the handles and the writer thread.
///
/// The layout is fixed (`repr(C)`) so that what every log call reads (the gate and the
/// settings of the hot path) sits on cache lines that nothing writes while records flow: the
/// writer's own atomics and locks come after a [`LineBreak`]. A log call that finds its lines
/// where it left them costs no cache miss, which is what the tail percentiles are made of.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Shared {
    // Read by every log call; written only by set_level, close and fork handling.
    pub(crate) gate: AtomicU32,
    /// Records are stamped with TSC ticks (converted by the pipeline), not nanoseconds.
    pub(crate) tsc: bool,
    /// A sink prints the calling thread (`{thread}`, `{thread_name}`): calls capture its id.
    pub(crate) thread: AtomicBool,
    /// A sink shows records' fields or source (`Logger::shows_fields`).
    pub(crate) fields_shown: AtomicBool,
    pub(crate) overflow: Overflow,
    pub(crate) fsync: Fsync,
    pub(crate) max_message_bytes: usize,
    pub(crate) batch_size: u64,
    /// `flush_on`'s level number; 0 = never (no level is below 1).
    pub(crate) flush_on: u8,
    pub(crate) block_timeout: Option<Duration>,
    pub(crate) batch_timeout: Duration,
    pub(crate) flush_interval: Duration,
    pub(crate) _hot_end: LineBreak,
    /// Lays its producer and consumer positions out on lines of their own.
    pub(crate) queue: Queue,
    pub(crate) _queue_end: LineBreak,
    // Written by the writer while records flow. `parked` (read by log calls) changes only when
    // the writer parks or wakes, so it has a line of its own.
    pub(crate) parked: AtomicBool,
    pub(crate) _parked_end: LineBreak,
    pub(crate) done_pos: AtomicU64,
    pub(crate) counters: Counters,
    pub(crate) core: Mutex<Core>,
    pub(crate) errors: ErrorReporter,
    pub(crate) wake: Mutex<Wake>,
    /// A `flush_on_signal` handler wants every position below this written. Not under `wake`:
    /// the code the signal interrupted may hold that lock, and never returns to release it.
    pub(crate) signal_target: AtomicU64,
    pub(crate) done: Mutex<()>,
    pub(crate) done_cv: Condvar,
    pub(crate) space: Mutex<()>,
    pub(crate) space_cv: Condvar,
    pub(crate) space_waiters: AtomicU64,
    pub(crate) writer: Mutex<WriterState>,
    /// Drops under `overflow=warn` not yet reported on stderr.
    pub(crate) warn_pending: AtomicU64,
    /// Test hook: the writer panics at the start of this many batches.
    pub(crate) panic_batches: AtomicU32,
    /// This logger, for the tickets and jobs that must keep it alive.
    pub(crate) me: Weak<Shared>,
    /// The writer job's scheduling state in the pool, and its state between runs (touched
    /// only by the job, which the pool runs on one thread at a time).
    pub(crate) sched: Sched,
    pub(crate) run_state: RunCell,
    /// Batches not yet settled by every sink.
    pub(crate) open_tickets: AtomicU64,
    /// Every sink's counters, in configuration order.
    pub(crate) sinks: Mutex<Vec<Arc<SinkCounters>>>,
    /// `durability=mmap`: the journal (`queue::journal`, `api::durable`).
    pub(crate) journal: Option<crate::queue::journal::Journal>,
}

/// The writer job's state between runs.
pub(crate) struct RunCell(pub(crate) UnsafeCell<RunState>);

// SAFETY: only the logger's writer job touches the cell, and the pool runs a job on one thread
// at a time; a fork child resets it while it has one thread.
unsafe impl Sync for RunCell {}

impl std::fmt::Debug for RunCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunCell")
    }
}

thread_local! {
    /// The logger whose sinks this thread is running (0: none), while it holds that logger's
    /// `core` lock: a sink or error callback that logs to, flushes or closes the same logger
    /// must be refused rather than wait for itself.
    static IN_SINKS: Cell<usize> = const { Cell::new(0) };
}

impl Shared {
    /// This logger as an `Arc` (it is alive: `self` is borrowed from one).
    pub(crate) fn arc(&self) -> Arc<Shared> {
        self.me.upgrade().expect("a logger in use is alive")
    }

    pub(crate) fn job(&self) -> Arc<dyn Job> {
        self.arc()
    }

    /// Runs `f` (which hands records to this logger's sinks) marked as inside them.
    pub(crate) fn in_sinks<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                IN_SINKS.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(IN_SINKS.with(|c| c.replace(self as *const Shared as usize)));
        crate::writer::signals::unmarked(f)
    }

    /// Whether this thread is inside one of this logger's sinks or its error callback.
    pub(crate) fn called_from_own_sink(&self) -> bool {
        IN_SINKS.with(|c| c.get()) == self as *const Shared as usize
    }
}

/// Writes everything queued, on the calling thread (sync fallback, close without a writer).
pub(crate) fn drain_locked(s: &Shared, pipeline: &mut Pipeline, scratch: &mut Batch) {
    loop {
        scratch.clear();
        if s.queue.pop_into(4096, scratch) == 0 {
            break;
        }
        let end = s.queue.head_pos();
        s.in_sinks(|| pipeline.process(s, scratch, end));
    }
    scratch.clear();
}

/// After records are settled or leave the queue: wake flushers and blocked producers.
pub(crate) fn notify_progress(s: &Shared) {
    // durability=mmap: what is settled leaves the journal.
    if let Some(j) = &s.journal {
        j.reclaim(s.done_pos.load(Ordering::SeqCst));
    }
    {
        let _g = lock(&s.done);
        s.done_cv.notify_all();
    }
    notify_space(s);
}

/// After records leave the queue: wake the producers waiting for room (`overflow=block`).
/// The writer calls it as soon as it has taken a batch, not only once the batch is written,
/// so that a producer that filled the queue refills it while the writer writes: producer and
/// writer overlap instead of taking turns.
pub(crate) fn notify_space(s: &Shared) {
    if s.space_waiters.load(Ordering::SeqCst) > 0 {
        let _g = lock(&s.space);
        s.space_cv.notify_all();
    }
}

/// Starts the logger's writer job on the pool.
pub(crate) fn spawn_writer(s: &Arc<Shared>) -> Result<()> {
    spawn_locked(s, &mut lock(&s.writer))
}

fn spawn_locked(s: &Arc<Shared>, w: &mut WriterState) -> Result<()> {
    s.sched.revive();
    w.running = true;
    w.finished = false;
    pool::wake(&s.job());
    Ok(())
}

/// In a fork child: start this process's own writer on first use. The check and the start
/// happen under the writer lock, so that threads whose first calls race start one writer, and
/// none starts once the logger is closed (`close` sets CLOSED before it looks at the writer
/// under the same lock).
pub(crate) fn ensure_writer(s: &Arc<Shared>) -> Result<()> {
    let mut w = lock(&s.writer);
    if !w.running && s.gate.load(Ordering::Acquire) & CLOSED == 0 {
        spawn_locked(s, &mut w)?;
    }
    drop(w);
    s.gate.fetch_and(!RESPAWN, Ordering::AcqRel);
    Ok(())
}

/// Waits on `cv` (paired with `m`) until `ready()` holds or `deadline` passes, re-checking
/// at least every `step` as a safety net. Returns whether `ready()` held. `ready` runs with
/// `m` locked and sees what it guards.
pub(crate) fn wait_until<T>(
    m: &Mutex<T>,
    cv: &Condvar,
    deadline: Option<Instant>,
    step: Duration,
    mut ready: impl FnMut(&mut T) -> bool,
) -> bool {
    let mut g = lock(m);
    loop {
        if ready(&mut g) {
            return true;
        }
        let step = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                (d - now).min(step)
            }
            None => step,
        };
        g = cv
            .wait_timeout(g, step)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Waits until every position below `target` is settled by every sink (and, with `all`,
/// every batch handed to the sinks so far: sync mode's records have no queue position).
pub(crate) fn wait_done(s: &Shared, target: u64, all: bool, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    wait_until(
        &s.done,
        &s.done_cv,
        deadline,
        Duration::from_millis(50),
        |_| {
            s.done_pos.load(Ordering::SeqCst) >= target
                && (!all || s.open_tickets.load(Ordering::SeqCst) == 0)
        },
    )
}

/// `flush`, taking the sinks' lock with `take_core` (which may decline, at exit).
pub(crate) fn flush_with(
    s: &Arc<Shared>,
    timeout: Option<Duration>,
    take_core: impl FnOnce(&Mutex<Core>) -> Option<MutexGuard<'_, Core>>,
) -> Result<()> {
    let g = s.gate.load(Ordering::Acquire);
    if g & CLOSED != 0 {
        return Err(Error::Closed);
    }
    if s.called_from_own_sink() {
        return Err(Error::reentry("flush"));
    }
    if g & RESPAWN != 0 {
        ensure_writer(s)?;
    }
    let target = s.queue.tail_pos();
    let deadline = timeout.map(|t| Instant::now() + t);
    if g & SYNC == 0 {
        {
            let mut w = lock(&s.wake);
            w.flush_target = w.flush_target.max(target);
        }
        pool::wake(&s.job());
        if !wait_done(s, target, false, timeout) {
            return Err(Error::Timeout);
        }
    }
    let Some(mut guard) = take_core(&s.core) else {
        return Err(Error::Timeout);
    };
    let core = &mut *guard;
    if let Some(p) = core.pipeline.as_mut() {
        if g & SYNC != 0 {
            drain_locked(s, p, &mut core.scratch);
        }
        if p.fsync_on_flush() {
            p.sync_files(&s.errors);
        }
    }
    drop(guard);
    // The lanes: everything handed to them so far is settled (sync mode's records have no
    // queue position to wait for).
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if !wait_done(s, target, true, left) {
        return Err(Error::Timeout);
    }
    Ok(())
}

/// The last act of a logger: drain what is left, fsync, close the sinks, free the queue.
pub(crate) fn finish(s: &Shared) {
    let mut guard = lock(&s.core);
    let core = &mut *guard;
    if let Some(mut p) = core.pipeline.take() {
        // Claimed records are published within nanoseconds; wait for them to drain.
        let mut spins = 0u32;
        loop {
            drain_locked(s, &mut p, &mut core.scratch);
            if s.queue.release_memory() {
                break;
            }
            spins += 1;
            if spins > 20_000 {
                // A producer died between claim and publish (impossible short of thread
                // cancellation): count what cannot be drained as failed rather than hang.
                let lost = s.queue.len();
                Counters::add(&s.counters.failed, lost);
                s.errors.report(Error::invalid(format!(
                    "{lost} records were never published"
                )));
                break;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        if p.fsync_on_flush() {
            p.sync_files(&s.errors);
        }
        // Every lane writes what it holds (a `drop` lane gives up after its stall timeout).
        p.wait_lanes(None);
        p.close(&s.errors);
    }
    core.scratch = Batch::default();
    drop(guard);
    s.done_pos.fetch_max(s.queue.head_pos(), Ordering::SeqCst);
    notify_progress(s);
    // durability=mmap: every record is settled; the journal is free for the next open.
    if let Some(j) = &s.journal {
        j.close(s.done_pos.load(Ordering::SeqCst));
    }
}

// --- what the writer thread and fork handlers need from the shared state -----------------

impl Shared {
    pub(crate) fn take_warn_pending(&self) -> u64 {
        self.warn_pending.swap(0, Ordering::Relaxed)
    }
    pub(crate) fn take_injected_panic(&self) -> bool {
        self.panic_batches
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    pub(crate) fn stop_requested(&self) -> bool {
        lock(&self.wake).stop
    }

    /// Runs `f` on the pipeline if the logger still has one.
    pub(crate) fn with_pipeline<R>(&self, f: impl FnOnce(&mut Pipeline) -> R) -> Option<R> {
        lock(&self.core).pipeline.as_deref_mut().map(f)
    }

    pub(crate) fn notify_progress(&self) {
        notify_progress(self)
    }

    /// Writes everything queued on the calling thread (and, with `wait`, waits until every
    /// `block` lane has room again, as a caller writing synchronously must).
    /// The wait happens without the sinks' lock, which a fork takes.
    pub(crate) fn drain_sync(&self, wait: bool) {
        let mut guard = lock(&self.core);
        let core = &mut *guard;
        let Some(p) = core.pipeline.as_mut() else {
            return;
        };
        drain_locked(self, p, &mut core.scratch);
        if wait {
            let lanes = p.lanes();
            drop(guard);
            for l in lanes {
                l.wait_room();
            }
        }
    }

    /// At process exit: writes what is queued, unless the logger is closed or this is a fork
    /// child that never logged (it has nothing of its own to write).
    /// `exit()` called from inside a sink (on a writer thread, or with the sinks' lock held in
    /// sync mode) must not wait for itself: writer threads skip, and the lock is only tried.
    /// Records logged after it (from C++ static destructors, or `atexit` handlers registered
    /// before the logger was opened) are written on their caller's thread, as in sync mode:
    /// no call that returns success after the hook loses its record.
    pub(crate) fn flush_at_exit(self: &Arc<Self>, timeout: Duration) {
        let g = self.gate.load(Ordering::Acquire);
        if g & CLOSED != 0 {
            return;
        }
        let nothing_queued = g & RESPAWN != 0 && self.queue.is_empty();
        if !nothing_queued && std::thread::current().name() != Some(WRITER_THREAD) {
            let _ = flush_with(self, Some(timeout), |m| m.try_lock().ok());
        }
        self.gate.fetch_or(SYNC, Ordering::AcqRel);
    }

    /// After repeated writer failures: later calls write on their own thread.
    pub(crate) fn fall_back_to_sync(&self) {
        self.gate.fetch_or(SYNC, Ordering::AcqRel);
        let _g = lock(&self.space);
        self.space_cv.notify_all();
    }

    pub(crate) fn writer_exited(&self) {
        let mut w = lock(&self.writer);
        w.running = false;
        w.finished = true;
        drop(w);
        let _g = lock(&self.done);
        self.done_cv.notify_all();
    }

    /// Takes every lock a forked child could otherwise find held by a thread that does not
    /// exist there, in the one order the code takes them.
    pub(crate) fn lock_all(&'static self) -> Held {
        Held {
            core: lock(&self.core),
            _consumer: self.queue.consumer_lock(),
            _last_error: lock(&self.errors.last),
            _wake: lock(&self.wake),
            _space: lock(&self.space),
            _done: lock(&self.done),
            writer: lock(&self.writer),
        }
    }

    /// In a fork child, with `held` from `lock_all`: the parent's queued records are the
    /// parent's; this process starts its own writer on first use.
    pub(crate) fn reset_in_child(&self, held: &mut Held) {
        self.queue.reset_after_fork();
        self.counters.reset_after_fork(self.queue.tail_pos());
        self.done_pos.store(self.queue.head_pos(), Ordering::SeqCst);
        self.open_tickets.store(0, Ordering::SeqCst);
        self.space_waiters.store(0, Ordering::SeqCst);
        self.parked.store(false, Ordering::SeqCst);
        if let Some(p) = held.core.pipeline.as_ref() {
            p.reset_in_child();
        }
        self.sched.reset_in_child();
        // SAFETY: the child has one thread; the parent's writer job does not run here.
        unsafe { (*self.run_state.0.get()).reset_in_child() };
        held.writer.running = false;
        held.writer.finished = false;
        // durability=mmap: the journal is the parent's; the child logs without it.
        self.gate.fetch_and(!DURABLE, Ordering::AcqRel);
        if self.gate.load(Ordering::Acquire) & (CLOSED | SYNC) == 0 {
            self.gate.fetch_or(RESPAWN, Ordering::AcqRel);
        }
    }
}

/// The guards `lock_all` takes; dropping it unlocks them.
pub(crate) struct Held {
    core: MutexGuard<'static, Core>,
    _consumer: crate::queue::sync::MutexGuard<'static, ()>,
    _last_error: MutexGuard<'static, Option<String>>,
    _wake: MutexGuard<'static, Wake>,
    _space: MutexGuard<'static, ()>,
    _done: MutexGuard<'static, ()>,
    writer: MutexGuard<'static, WriterState>,
}

/// Runs `f`, turning a panic into `Err` with its message.
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> std::result::Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

#[cfg(all(test, not(loom)))]
mod layout_tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn hot_fields_share_no_line_with_writer_state() {
        let hot_end = offset_of!(Shared, _hot_end);
        for (name, off) in [
            ("gate", offset_of!(Shared, gate)),
            ("tsc", offset_of!(Shared, tsc)),
            ("max_message_bytes", offset_of!(Shared, max_message_bytes)),
            ("batch_size", offset_of!(Shared, batch_size)),
        ] {
            assert!(off < hot_end, "{name} is after the hot group");
        }
        assert_eq!(std::mem::align_of::<Shared>(), 128);
        assert_eq!(hot_end % 128, 0);
        assert_eq!(offset_of!(Shared, queue) % 128, 0);
        let writer_side = offset_of!(Shared, _queue_end);
        assert_eq!(writer_side % 128, 0);
        for (name, off) in [
            ("parked", offset_of!(Shared, parked)),
            ("done_pos", offset_of!(Shared, done_pos)),
            ("counters", offset_of!(Shared, counters)),
            ("core", offset_of!(Shared, core)),
        ] {
            assert!(off >= writer_side, "{name} shares the hot lines");
        }
    }
}
