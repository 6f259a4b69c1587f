//! A logger's writer job, run by the writer pool: it takes everything queued when a batch is
//! ready (or the batch timeout, a flush or a close comes), formats it and hands it to the
//! sinks, and keeps the periodic duties (interval fsync, overflow notices). A panic restarts
//! it with backoff; after repeated panics the logger falls back to writing on the callers'
//! threads.
//!
//! Between runs the job sleeps on a pool timer. Producers wake it only when a batch fills
//! while it is parked (`Shared::parked`). Under a steady rate it does not park: it predicts
//! when the next batch fills from the last one and looks again a little before (three
//! quarters of the predicted time), then in small steps, so that callers almost never pay
//! for a wake-up. A batch that takes twice as long as predicted sends it back to parking.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::front::config::Fsync;
use crate::front::error::Error;
use crate::front::stats::Counters;
use crate::queue::Batch;
use crate::writer::pool::{Job, Next, Sched};
use crate::writer::shared::{finish, Shared};

const MAX_RESTARTS: u32 = 3;
/// The most records one batch takes out of the queue.
const MAX_BATCH: usize = 1 << 16;
/// The shortest and longest steps of a writer polling for a batch about to fill (a flush or
/// close request waits at most one step).
const MIN_POLL: Duration = Duration::from_micros(100);
const MAX_POLL: Duration = Duration::from_millis(5);
/// The longest one run of the job takes batches before it lets other jobs have the thread.
const MAX_RUN: Duration = Duration::from_millis(20);

/// What the writer job keeps between runs.
#[derive(Default)]
pub(crate) struct RunState {
    batch: Batch,
    warn: WarnNotice,
    restarts: u32,
    /// The batch timeout: at this instant the job takes whatever is queued.
    until: Option<Instant>,
    next_sync: Option<Instant>,
    last_take: Option<Instant>,
    /// Polling for a batch predicted to fill soon: until when, and in which steps.
    poll: Option<(Instant, Duration)>,
    /// Closing: the queue is drained into the lanes; waiting for them to finish.
    finishing: bool,
    /// When the job started waiting for kept file batches at close.
    closing_since: Option<Instant>,
}

impl RunState {
    /// In a fork child: the parent's batch in hand is the parent's.
    pub(crate) fn reset_in_child(&mut self) {
        std::mem::forget(std::mem::take(&mut self.batch));
        *self = RunState::default();
    }
}

impl Job for Shared {
    fn sched(&self) -> &Sched {
        &self.sched
    }

    fn run(self: Arc<Self>) -> Next {
        // SAFETY: the pool runs this job on one thread at a time; only the job touches it.
        let st = unsafe { &mut *self.run_state.0.get() };
        step(&self, st)
    }

    fn panicked(self: Arc<Self>, msg: String) -> Next {
        // SAFETY: as in `run`: the panicking run is over and the job still holds its turn.
        let st = unsafe { &mut *self.run_state.0.get() };
        let s = &*self;
        // The interrupted batch may be partly written; it is counted failed, never twice.
        Counters::add(&s.counters.failed, st.batch.len() as u64);
        st.batch.clear();
        s.with_pipeline(|p| p.discard_buffers());
        s.done_pos.fetch_max(s.queue.head_pos(), Ordering::SeqCst);
        s.notify_progress();
        s.counters.writer_restarts.fetch_add(1, Ordering::Relaxed);
        st.restarts += 1;
        if st.restarts > MAX_RESTARTS {
            s.errors.report(Error::invalid(format!(
                "alog-writer panicked {} times (last: {msg}); writing synchronously from now on",
                st.restarts
            )));
            s.fall_back_to_sync();
            s.drain_sync(false);
            s.notify_progress();
            if s.stop_requested() {
                finish(s);
            }
            s.writer_exited();
            return Next::Done;
        }
        s.errors.report(Error::invalid(format!(
            "alog-writer panicked: {msg}; restarting"
        )));
        Next::At(Instant::now() + Duration::from_millis(10 << st.restarts))
    }
}

/// One run of the writer job.
fn step(s: &Shared, st: &mut RunState) -> Next {
    let now = Instant::now();
    let until = *st.until.get_or_insert(now + s.batch_timeout);
    let interval_sync = s.fsync == Fsync::Interval;
    if interval_sync && st.next_sync.is_none() {
        st.next_sync = Some(now + s.flush_interval);
    }
    let done = s.done_pos.load(Ordering::SeqCst);
    let (stop, flush) = if s.signal_target.load(Ordering::SeqCst) > done {
        // A signal handler asks; the thread it interrupted may hold `wake` for good.
        (false, true)
    } else {
        let w = crate::writer::shared::lock(&s.wake);
        (w.stop, w.flush_target > done)
    };
    let sync_due = st.next_sync.is_some_and(|t| now >= t);
    // SAFETY: called by the writer job, which releases the slots itself (finish) or is gone
    // before anyone else does.
    let ready =
        stop || flush || sync_due || now >= until || unsafe { s.queue.batch_ready(s.batch_size) };
    if !ready {
        if let Some((poll_until, step)) = st.poll {
            if now < poll_until {
                return Next::At((now + step).min(until));
            }
            st.poll = None;
        }
        return park(s, until);
    }
    if stop {
        return closing(s, st);
    }
    let max_batch = (s.queue.capacity() as usize).min(MAX_BATCH);
    let batch_size = s.queue.capacity().min(s.batch_size) as u32;
    let mut taken = 0u32;
    let mut more = false;
    loop {
        if s.with_pipeline(|p| p.lanes_have_room()) == Some(false) {
            // A `Block` lane is full: the records stay queued (where the overflow policy
            // applies to new ones) until the lane wakes this job.
            return Next::Idle;
        }
        st.batch.clear();
        let n = s.queue.pop_into(max_batch, &mut st.batch);
        if n == 0 {
            break;
        }
        crate::writer::shared::notify_space(s);
        taken = taken.saturating_add(n as u32);
        // What the writer found queued (the claim position is not read: see `park`).
        s.counters.peak(n as u64);
        if s.take_injected_panic() {
            panic!("injected writer panic (test hook)");
        }
        let end = s.queue.head_pos();
        let batch = &st.batch;
        let processed = s.with_pipeline(|p| s.in_sinks(|| p.process(s, batch, end)));
        if processed.is_none() {
            Counters::add(&s.counters.failed, n as u64);
            s.done_pos.fetch_max(end, Ordering::SeqCst);
            s.notify_progress();
        }
        st.batch.clear();
        // The periodic duties keep their time however busy the queue is.
        duties(s, st);
        if n < max_batch {
            break;
        }
        if now.elapsed() >= MAX_RUN {
            // Other loggers' jobs get the pool thread too; this one runs again at once.
            more = true;
            break;
        }
    }
    if taken == 0 {
        // Nothing new: batches a file keeps for its lock file get another try.
        s.with_pipeline(|p| p.retry_held(s));
    }
    // How long the next batch should take to fill, judged by the last one.
    let fill = st
        .last_take
        .filter(|_| taken > 0)
        .map(|last| (now - last) * batch_size / taken);
    st.last_take = Some(now);
    duties(s, st);
    let now = Instant::now();
    let mut until = now + s.batch_timeout;
    if let Some(t) = st.next_sync {
        until = until.min(t);
    }
    st.until = Some(until);
    st.poll = fill.map(|d| (now + d * 2, (d / 16).clamp(MIN_POLL, MAX_POLL)));
    if more {
        return Next::At(now);
    }
    match fill {
        Some(d) => Next::At((now + d * 3 / 4).min(until)),
        None => park(s, until),
    }
}

/// The periodic duties: the `fsync=interval` sync when due, and the `overflow=warn` notice
/// (at most once a second).
fn duties(s: &Shared, st: &mut RunState) {
    if st.next_sync.is_some_and(|t| Instant::now() >= t) {
        s.with_pipeline(|p| p.sync_files(&s.errors));
        st.next_sync = Some(Instant::now() + s.flush_interval);
    }
    st.warn.tick(s.take_warn_pending(), false);
}

/// Closing: everything queued goes to the sinks and their lanes; the job looks again until
/// every lane is done (a `drop` lane gives up after its stall timeout), then closes the sinks.
/// No pool thread waits for a slow sink meanwhile.
fn closing(s: &Shared, st: &mut RunState) -> Next {
    if !st.finishing {
        st.finishing = true;
        s.drain_sync(false);
        st.warn.tick(s.take_warn_pending(), true);
    }
    if s.with_pipeline(|p| p.lanes_idle()) == Some(false) {
        return Next::At(Instant::now() + Duration::from_millis(2));
    }
    // Batches a file keeps for its lock file: tried for one more bounded lock wait, then
    // failed and counted by `finish`.
    let since = *st.closing_since.get_or_insert_with(Instant::now);
    let patience = crate::sinks::file::lockfile::LOCK_WAIT;
    if s.with_pipeline(|p| {
        p.retry_held(s);
        p.has_held()
    }) == Some(true)
        && since.elapsed() < patience
    {
        return Next::At(Instant::now() + Duration::from_millis(20));
    }
    finish(s);
    s.writer_exited();
    Next::Done
}

/// Parks the job until `until` (a producer that completes a batch wakes it sooner).
fn park(s: &Shared, until: Instant) -> Next {
    s.parked.store(true, Ordering::SeqCst);
    // Read the claim position itself here (once per park): a producer that filled the batch
    // before it could see `parked` must not be missed.
    if s.queue.len() >= s.batch_size {
        s.parked.store(false, Ordering::SeqCst);
        return Next::At(Instant::now());
    }
    Next::At(until)
}

/// `overflow=warn`: at most one line per second on stderr with the number dropped.
#[derive(Debug, Default)]
struct WarnNotice {
    unreported: u64,
    last: Option<Instant>,
}

impl WarnNotice {
    fn tick(&mut self, new_drops: u64, force: bool) {
        self.unreported += new_drops;
        if self.unreported == 0 {
            return;
        }
        let due = self
            .last
            .map_or(true, |t| t.elapsed() >= Duration::from_secs(1));
        if due || force {
            eprintln!(
                "alog: queue full, dropped {} records (overflow=warn)",
                self.unreported
            );
            self.unreported = 0;
            self.last = Some(Instant::now());
        }
    }
}
