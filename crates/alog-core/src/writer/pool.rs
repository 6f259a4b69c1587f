//! The writer pool: a few threads named `alog-writer`, shared by every logger and every sink
//! lane of the process, the way spdlog's thread pool serves all its async loggers.
//!
//! Work comes as [`Job`]s (a logger's batching step, a lane's writes). A job runs on one
//! thread at a time; waking a job that is running makes it run again right after, so no wake
//! is lost and no job runs twice at once. A job says when it wants to run next (a batch
//! timeout, a poll step, a retry after a stalled write) and the pool's timers wake it then.
//!
//! Threads start on demand: a wake that finds no idle thread starts one, up to
//! [`max_threads`] (default [`DEFAULT_MAX_THREADS`], `ALOG_WRITER_THREADS` or
//! [`set_max_threads`]). A thread idle for [`IDLE_EXIT`] ends, down to one. Writer threads
//! block asynchronous signals, so that a process-directed signal lands on an application
//! thread.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::writer::shared::{guard, lock, WRITER_THREAD};

/// Writer threads when nothing else is configured.
pub const DEFAULT_MAX_THREADS: usize = 4;
/// The most writer threads a process may be configured to have.
pub const MAX_THREADS_LIMIT: usize = 16;
/// The pool's threads, kept reachable: a thread still running at exit (the pool's threads are
/// never joined) is then memory a leak checker can account for, not a lost allocation.
static HANDLES: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Threads spawned whose own code has not begun yet: they are inside the C library's (and a
/// sanitizer's) thread start, which allocates. A fork waits for them (see [`lock_for_fork`]).
static STARTING: AtomicUsize = AtomicUsize::new(0);

/// The longest a fork waits for starting threads before it proceeds anyway.
const FORK_WAIT_FOR_STARTS: Duration = Duration::from_secs(1);

/// A thread idle this long ends (one always stays once started).
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// What a job wants after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Run again only when woken.
    Idle,
    /// Run again at this instant (or earlier, if woken).
    At(Instant),
    /// Finished for good: wakes are ignored from now on.
    Done,
}

/// A unit of work the pool runs.
pub(crate) trait Job: Send + Sync + 'static {
    fn sched(&self) -> &Sched;
    /// Runs one step. Panics are caught by the pool and passed to [`Job::panicked`].
    fn run(self: Arc<Self>) -> Next;
    /// The job panicked in `run`; returns what to do next.
    fn panicked(self: Arc<Self>, msg: String) -> Next;
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
/// Woken while running: queue it again when this run ends.
const AGAIN: u8 = 3;
const DONE: u8 = 4;

/// A job's scheduling state.
#[derive(Debug, Default)]
pub(crate) struct Sched {
    state: AtomicU8,
    /// The sequence number of the job's one live timer (0: none). Older timers of the job
    /// are stale: they are dropped when they come due instead of waking it.
    timer: AtomicU64,
}

impl Sched {
    /// In a fork child: the job's runner, if any, does not exist here; it is idle (or done).
    pub(crate) fn reset_in_child(&self) {
        let s = self.state.load(Ordering::Relaxed);
        if s != DONE {
            self.state.store(IDLE, Ordering::Relaxed);
        }
    }

    /// Lets a finished job be woken again (a fork child restarting a logger's writer).
    pub(crate) fn revive(&self) {
        let _ = self
            .state
            .compare_exchange(DONE, IDLE, Ordering::AcqRel, Ordering::Relaxed);
    }
}

struct Timer {
    at: Instant,
    seq: u64,
    job: Arc<dyn Job>,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    // Reversed: the heap's top is the earliest.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        o.at.cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
pub(crate) struct Inner {
    ready: VecDeque<Arc<dyn Job>>,
    timers: BinaryHeap<Timer>,
    seq: u64,
    threads: usize,
    idle: usize,
    /// Threads started so far (for their names' numbers and for tests).
    started: u64,
}

pub(crate) struct Pool {
    inner: Mutex<Inner>,
    cv: Condvar,
    max: AtomicUsize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

static POOL: Pool = Pool {
    inner: Mutex::new(Inner {
        ready: VecDeque::new(),
        timers: BinaryHeap::new(),
        seq: 0,
        threads: 0,
        idle: 0,
        started: 0,
    }),
    cv: Condvar::new(),
    max: AtomicUsize::new(0),
};

/// The most writer threads the pool runs: [`set_max_threads`], else `ALOG_WRITER_THREADS`,
/// else 4.
pub fn max_threads() -> usize {
    let m = POOL.max.load(Ordering::Relaxed);
    if m != 0 {
        return m;
    }
    let m = std::env::var("ALOG_WRITER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_THREADS_LIMIT).contains(n))
        .unwrap_or(DEFAULT_MAX_THREADS);
    let _ = POOL
        .max
        .compare_exchange(0, m, Ordering::Relaxed, Ordering::Relaxed);
    POOL.max.load(Ordering::Relaxed)
}

/// Sets the most writer threads of the process (1..=16). Threads already running beyond a
/// lowered limit end when they next find nothing to do.
pub fn set_max_threads(n: usize) -> crate::Result<()> {
    if !(1..=MAX_THREADS_LIMIT).contains(&n) {
        return Err(crate::Error::invalid(format!(
            "writer threads: {n} is out of range 1..={MAX_THREADS_LIMIT}"
        )));
    }
    POOL.max.store(n, Ordering::Relaxed);
    Ok(())
}

/// Writer threads running now.
pub fn threads() -> usize {
    lock(&POOL.inner).threads
}

/// Wakes `job`: it runs as soon as a thread is free (again right after its current run, if
/// it is running now).
pub(crate) fn wake(job: &Arc<dyn Job>) {
    wake_with(job, true)
}

/// [`wake`] from a log call's hot path: it starts no thread unless the pool has none (a
/// thread start allocates and takes a syscall); a busy pool thread that finds more work
/// waiting starts the next one.
pub(crate) fn wake_from_caller(job: &Arc<dyn Job>) {
    wake_with(job, false)
}

fn wake_with(job: &Arc<dyn Job>, may_start: bool) {
    if claim_wake(job) {
        push_ready(job.clone(), may_start);
    }
}

/// Moves a job towards running (idle to queued, running to run-again): true when it must
/// join the ready queue.
fn claim_wake(job: &Arc<dyn Job>) -> bool {
    let st = &job.sched().state;
    let mut cur = st.load(Ordering::Acquire);
    loop {
        let next = match cur {
            IDLE => QUEUED,
            RUNNING => AGAIN,
            _ => return false,
        };
        match st.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return next == QUEUED,
            Err(c) => cur = c,
        }
    }
}

/// [`wake_from_caller`] for a signal handler: it takes the pool's lock only if it is free at
/// once (the interrupted code may hold it) and starts no thread. False: try again.
///
/// The code the signal interrupted may have been waking the same job and never finishes:
/// a job already queued that is not in the ready queue (claimed, not yet pushed) is pushed,
/// and the threads are notified in any case (the interrupted notify may not have happened).
/// A job in the queue twice runs once: the second entry finds it no longer queued.
pub(crate) fn try_wake(job: &Arc<dyn Job>) -> bool {
    let mut g = match POOL.inner.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return false,
    };
    let stranded = || {
        job.sched().state.load(Ordering::Acquire) == QUEUED
            && !g
                .ready
                .iter()
                .any(|j| std::ptr::addr_eq(Arc::as_ptr(j), Arc::as_ptr(job)))
    };
    if claim_wake(job) || stranded() {
        g.ready.push_back(job.clone());
        start_or_notify(g, false);
    } else {
        drop(g);
    }
    POOL.cv.notify_all();
    true
}

/// Test hook: leaves `job` as a log call interrupted inside [`wake`] would: claimed (queued)
/// but not in the ready queue, or in it with no thread notified.
#[cfg(test)]
pub(crate) fn strand(job: &Arc<dyn Job>, pushed: bool) {
    let st = &job.sched().state;
    let deadline = Instant::now() + Duration::from_secs(5);
    while st
        .compare_exchange(IDLE, QUEUED, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        assert!(Instant::now() < deadline, "the job never went idle");
        std::thread::sleep(Duration::from_millis(1));
    }
    if pushed {
        lock(&POOL.inner).ready.push_back(job.clone());
    }
}

fn push_ready(job: Arc<dyn Job>, may_start: bool) {
    let mut g = lock(&POOL.inner);
    g.ready.push_back(job);
    start_or_notify(g, may_start);
}

/// With a job newly ready: an idle thread takes it, else a new thread starts (up to the
/// limit; only if `may_start` or the pool has no thread at all).
fn start_or_notify(mut g: MutexGuard<'_, Inner>, may_start: bool) {
    if g.idle > 0 {
        drop(g);
        POOL.cv.notify_one();
        return;
    }
    if g.threads < max_threads() && (may_start || g.threads == 0) {
        if g.ready.capacity() < 64 {
            g.ready.reserve(64);
        }
        g.threads += 1;
        g.started += 1;
        let n = g.started;
        drop(g);
        // The handle is stored before the thread can look for it as it ends (`forget_self`).
        let mut hs = lock(&HANDLES);
        STARTING.fetch_add(1, Ordering::AcqRel);
        let spawned = std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || {
                STARTING.fetch_sub(1, Ordering::AcqRel);
                worker(n)
            });
        if let Ok(h) = spawned {
            hs.retain(|h| !h.is_finished());
            hs.push(h);
        } else {
            STARTING.fetch_sub(1, Ordering::AcqRel);
            drop(hs);
            // No thread could start: the job waits for a running one; with none at all, it
            // waits for the next wake (a flush or close retries, a timer does not exist).
            lock(&POOL.inner).threads -= 1;
        }
    }
}

fn arm(at: Instant, job: Arc<dyn Job>) {
    let mut g = lock(&POOL.inner);
    g.seq += 1;
    let seq = g.seq;
    let earliest = g.timers.peek().map(|t| t.at);
    job.sched().timer.store(seq, Ordering::Relaxed);
    g.timers.push(Timer { at, seq, job });
    let needs_thread = g.threads == 0;
    if needs_thread {
        start_or_notify(g, true);
    } else if earliest.map_or(true, |e| at < e) {
        // A sleeping thread may be waiting for a later timer.
        drop(g);
        POOL.cv.notify_one();
    }
}

/// Blocks every asynchronous signal on the calling thread (signals the kernel directs at a
/// thread because of what it did, such as SIGSEGV, still reach it).
fn block_async_signals() {
    // SAFETY: plain libc calls on a local, fully initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for s in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            libc::sigdelset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn worker(_n: u64) {
    block_async_signals();
    crate::writer::signals::mark_writer_thread();
    let mut g = lock(&POOL.inner);
    loop {
        // Due timers first: their jobs join the ready queue.
        let now = Instant::now();
        while g.timers.peek().is_some_and(|t| t.at <= now) {
            let t = g.timers.pop().expect("peeked");
            if t.job.sched().timer.load(Ordering::Relaxed) != t.seq {
                continue;
            }
            t.job.sched().timer.store(0, Ordering::Relaxed);
            let st = &t.job.sched().state;
            if st
                .compare_exchange(IDLE, QUEUED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                g.ready.push_back(t.job);
            } else {
                let _ = st.compare_exchange(RUNNING, AGAIN, Ordering::AcqRel, Ordering::Acquire);
            }
        }
        if let Some(job) = g.ready.pop_front() {
            if !g.ready.is_empty() {
                // More work waits: an idle thread, or a new one, takes it.
                start_or_notify(g, true);
            } else {
                drop(g);
            }
            run_one(job);
            g = lock(&POOL.inner);
            continue;
        }
        if g.threads > max_threads() {
            g.threads -= 1;
            drop(g);
            forget_self();
            return;
        }
        let wait = g
            .timers
            .peek()
            .map_or(IDLE_EXIT, |t| t.at.saturating_duration_since(now));
        g.idle += 1;
        let (g2, res) = POOL
            .cv
            .wait_timeout(g, wait)
            .unwrap_or_else(|e| e.into_inner());
        g = g2;
        g.idle -= 1;
        if res.timed_out() && g.ready.is_empty() && g.timers.is_empty() && g.threads > 1 {
            g.threads -= 1;
            drop(g);
            forget_self();
            return;
        }
    }
}

/// A thread leaving the pool drops its own handle, which detaches it: a thread that ended
/// without being joined or detached is a leak to thread checkers (TSan reports it at exit).
fn forget_self() {
    let me = std::thread::current().id();
    lock(&HANDLES).retain(|h| h.thread().id() != me);
}

fn run_one(job: Arc<dyn Job>) {
    let st = &job.sched().state;
    if st
        .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    let j = job.clone();
    let next = match guard(move || j.run()) {
        Ok(n) => n,
        Err(msg) => {
            let j = job.clone();
            guard(move || j.panicked(msg)).unwrap_or(Next::Done)
        }
    };
    if !matches!(next, Next::At(_)) {
        job.sched().timer.store(0, Ordering::Relaxed);
    }
    if next == Next::Done {
        st.store(DONE, Ordering::Release);
        return;
    }
    match st.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if let Next::At(at) = next {
                if at <= Instant::now() {
                    wake(&job);
                } else {
                    arm(at, job);
                }
            }
        }
        Err(_) => {
            // Woken while it ran (AGAIN): run it again.
            st.store(QUEUED, Ordering::Release);
            push_ready(job, true);
        }
    }
}

/// The pool's locks, held across `fork()`.
#[derive(Debug)]
pub(crate) struct ForkGuard {
    inner: MutexGuard<'static, Inner>,
    _handles: MutexGuard<'static, Vec<std::thread::JoinHandle<()>>>,
}

/// Held across `fork()`, so that no thread of the parent owns the pool's locks in the child
/// (a thread starting another holds the handles' lock).
///
/// With the handles' lock held (no thread can be spawned), it also waits, up to
/// [`FORK_WAIT_FOR_STARTS`], for threads spawned but not yet running their own code. Such a
/// thread is inside the thread start of the C library or a sanitizer, which allocates: an
/// allocator that does not lock itself across `fork()` (AddressSanitizer's, in GCC 12) would
/// otherwise hand the child a lock that no thread there will release, and the child's first
/// allocation of that size would hang (a child forked right after `alog_open` did, in about
/// one run in ten of the C fork test under ASan).
pub(crate) fn lock_for_fork() -> ForkGuard {
    let handles = lock(&HANDLES);
    let deadline = Instant::now() + FORK_WAIT_FOR_STARTS;
    while STARTING.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(100));
    }
    ForkGuard {
        inner: lock(&POOL.inner),
        _handles: handles,
    }
}

/// In a fork child, with the guard from [`lock_for_fork`]: the parent's threads do not exist
/// here, and its queued jobs and timers are the parent's. The child starts threads on demand.
pub(crate) fn reset_in_child(g: &mut ForkGuard) {
    let g = &mut g.inner;
    // The jobs' memory belongs to loggers this process still has: forget the queue entries
    // without running anything (dropping an `Arc` only decrements a count).
    g.ready.clear();
    g.timers.clear();
    g.threads = 0;
    g.idle = 0;
    STARTING.store(0, Ordering::Release);
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("ready", &self.ready.len())
            .field("timers", &self.timers.len())
            .field("threads", &self.threads)
            .finish()
    }
}
