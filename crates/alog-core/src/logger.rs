//! The logger: the hot path, the overflow policies, flush, close and sync mode.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Config, Fsync, Overflow};
use crate::error::{Error, Result};
use crate::level::Level;
use crate::pipeline::{ErrorReporter, Pipeline};
use crate::queue::{Batch, Kind, Push, Queue, INLINE};
use crate::record::{encode, encoded_len, Field, Source};
use crate::stats::{Counters, Stats};
use crate::time::now_ns;

/// Gate bits above the level byte: any of them sends a call to the slow path.
const CLOSED: u32 = 1 << 8;
const SYNC: u32 = 1 << 9;
const RESPAWN: u32 = 1 << 10;
const LEVEL_MASK: u32 = 0xff;

/// Writer threads of a parent process, as seen by a forked child.
static ORPHANED_WRITERS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// The shortest and longest steps of a writer polling for a batch about to fill (a flush or
/// close request waits at most one step).
const MIN_POLL: Duration = Duration::from_micros(100);
const MAX_POLL: Duration = Duration::from_millis(5);

/// The name of every writer thread.
const WRITER_THREAD: &str = "alog-writer";

/// How long `Drop` waits for the queue to drain.
pub const DROP_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A structured record, as `write_record` takes it.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub level: Level,
    /// Nanoseconds since the Unix epoch; `None` is "now".
    pub timestamp_ns: Option<i64>,
    pub msg: &'a [u8],
    pub fields: &'a [Field<'a>],
    pub source: Option<Source<'a>>,
}

impl<'a> Record<'a> {
    pub fn new(level: Level, msg: &'a str) -> Record<'a> {
        Record {
            level,
            timestamp_ns: None,
            msg: msg.as_bytes(),
            fields: &[],
            source: None,
        }
    }
}

/// A payload on its way into the queue, with its encoded length computed once.
struct Payload<'a> {
    len: usize,
    body: Body<'a>,
}

enum Body<'a> {
    Plain(&'a [u8]),
    Structured(&'a Record<'a>),
}

impl<'a> Payload<'a> {
    fn plain(msg: &'a [u8]) -> Payload<'a> {
        Payload {
            len: msg.len(),
            body: Body::Plain(msg),
        }
    }
    fn structured(r: &'a Record<'a>) -> Payload<'a> {
        let len = encoded_len(r.msg, r.fields, r.source.as_ref());
        Payload {
            len,
            body: Body::Structured(r),
        }
    }
    fn kind(&self) -> Kind {
        match self.body {
            Body::Plain(_) => Kind::Plain,
            Body::Structured(_) => Kind::Structured,
        }
    }
    fn fill(&self, out: &mut [u8]) {
        match self.body {
            Body::Plain(m) => out.copy_from_slice(m),
            Body::Structured(r) => encode(out, r.msg, r.fields, r.source.as_ref()),
        }
    }
}

/// The writer's signals, under one lock.
#[derive(Debug, Default)]
struct Wake {
    /// A `flush` wants every position below this written.
    flush_target: u64,
    stop: bool,
}

#[derive(Debug, Default)]
struct WriterState {
    handle: Option<JoinHandle<()>>,
    running: bool,
    finished: bool,
}

/// What the pipeline lock guards: the sinks, and a scratch batch for sync mode.
#[derive(Debug)]
struct Core {
    pipeline: Option<Pipeline>,
    scratch: Batch,
}

/// State shared by the handles and the writer thread.
#[derive(Debug)]
pub(crate) struct Shared {
    gate: AtomicU32,
    base_level: AtomicU8,
    queue: Queue,
    counters: Counters,
    overflow: Overflow,
    block_timeout: Option<Duration>,
    batch_size: u64,
    batch_timeout: Duration,
    flush_interval: Duration,
    fsync: Fsync,
    max_message_bytes: usize,
    core: Mutex<Core>,
    errors: ErrorReporter,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    parked: AtomicBool,
    done_pos: AtomicU64,
    done: Mutex<()>,
    done_cv: Condvar,
    space: Mutex<()>,
    space_cv: Condvar,
    space_waiters: AtomicU64,
    writer: Mutex<WriterState>,
    /// Drops under `overflow=warn` not yet reported on stderr.
    warn_pending: AtomicU64,
    /// Test hook: the writer panics at the start of this many batches.
    panic_batches: AtomicU32,
}

/// A logger. Cheap to clone; all clones share one queue and writer. The last clone to be
/// dropped closes the logger, waiting up to [`DROP_CLOSE_TIMEOUT`] for the queue to drain.
#[derive(Clone, Debug)]
pub struct Logger {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = close(&self.shared, Some(DROP_CLOSE_TIMEOUT));
    }
}

fn sync_forced_by_env() -> bool {
    std::env::var("ALOG_SYNC")
        .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

impl Logger {
    pub fn builder() -> crate::Builder {
        crate::Builder::default()
    }

    /// Opens a logger writing to `path` (if given) and the sinks of `config`.
    pub fn open(path: Option<&Path>, config: Config) -> Result<Logger> {
        config.validate()?;
        let pipeline = Pipeline::open(path, &config)?;
        if pipeline.is_empty() {
            return Err(Error::invalid(
                "no sink configured: give a path, console=stdout|stderr, a file.NAME.path or a callback",
            ));
        }
        let sync = config.sync || sync_forced_by_env();
        let gate =
            u32::from(pipeline.gate_level(config.level).number()) | if sync { SYNC } else { 0 };
        let shared = Arc::new(Shared {
            gate: AtomicU32::new(gate),
            base_level: AtomicU8::new(config.level.number()),
            queue: Queue::new(if sync { 1 } else { config.queue_capacity }),
            counters: Counters::default(),
            overflow: config.overflow,
            block_timeout: config.block_timeout,
            batch_size: config.batch_size.min(config.queue_capacity) as u64,
            batch_timeout: config.batch_timeout,
            flush_interval: config.flush_interval,
            fsync: config.fsync,
            max_message_bytes: config.max_message_bytes,
            core: Mutex::new(Core {
                pipeline: Some(pipeline),
                scratch: Batch::default(),
            }),
            errors: ErrorReporter {
                last: Mutex::new(None),
                callback: config.on_error.clone(),
            },
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
            parked: AtomicBool::new(false),
            done_pos: AtomicU64::new(0),
            done: Mutex::new(()),
            done_cv: Condvar::new(),
            space: Mutex::new(()),
            space_cv: Condvar::new(),
            space_waiters: AtomicU64::new(0),
            writer: Mutex::new(WriterState::default()),
            warn_pending: AtomicU64::new(0),
            panic_batches: AtomicU32::new(0),
        });
        if !sync {
            spawn_writer(&shared)?;
        }
        crate::process::register(&shared);
        Ok(Logger {
            handle: Arc::new(Handle { shared }),
        })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Whether a record at `level` would be accepted.
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        u32::from(level.number()) >= self.shared().gate.load(Ordering::Relaxed) & LEVEL_MASK
    }

    /// Logs a preformatted message. Below the logger's level this returns `Ok` at once
    /// without counting the record. Errors: `Full` / `Timeout` (dropped by the policy, counted),
    /// `Closed`, `TooLarge`.
    #[inline]
    pub fn log(&self, level: Level, msg: impl AsRef<[u8]>) -> Result<()> {
        submit(self.shared(), level, None, Payload::plain(msg.as_ref()))
    }

    /// Logs a structured record (fields, source location, caller's timestamp).
    pub fn write_record(&self, rec: &Record<'_>) -> Result<()> {
        if rec.fields.is_empty() && rec.source.is_none() {
            return submit(
                self.shared(),
                rec.level,
                rec.timestamp_ns,
                Payload::plain(rec.msg),
            );
        }
        submit(
            self.shared(),
            rec.level,
            rec.timestamp_ns,
            Payload::structured(rec),
        )
    }

    /// Logs a message with fields.
    pub fn log_fields(&self, level: Level, msg: &str, fields: &[Field<'_>]) -> Result<()> {
        self.write_record(&Record {
            level,
            timestamp_ns: None,
            msg: msg.as_bytes(),
            fields,
            source: None,
        })
    }

    pub fn trace(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::TRACE, msg);
    }
    pub fn debug(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::DEBUG, msg);
    }
    pub fn info(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::INFO, msg);
    }
    pub fn warn(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::WARN, msg);
    }
    pub fn error(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::ERROR, msg);
    }
    pub fn fatal(&self, msg: impl AsRef<[u8]>) {
        let _ = self.log(Level::FATAL, msg);
    }

    /// Changes the level of the logger and of every sink without a level of its own.
    pub fn set_level(&self, level: Level) -> Result<()> {
        let s = self.shared();
        let core = lock(&s.core);
        let p = core.pipeline.as_ref().ok_or(Error::Closed)?;
        s.base_level.store(level.number(), Ordering::Relaxed);
        let gate = u32::from(p.gate_level(level).number());
        let _ = s
            .gate
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |g| {
                Some((g & !LEVEL_MASK) | gate)
            });
        Ok(())
    }

    /// Returns when every record submitted before the call is written (or failed), and files
    /// are fsynced unless `fsync=never`. `None` waits forever.
    pub fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        flush(self.shared(), timeout)
    }

    /// Stops accepting records, drains the queue, flushes, closes the sinks and stops the
    /// writer. A second close returns `Closed`. On `Timeout` the writer keeps draining in the
    /// background and frees everything when done.
    pub fn close(&self, timeout: Option<Duration>) -> Result<()> {
        close(self.shared(), timeout)
    }

    pub fn is_closed(&self) -> bool {
        self.shared().gate.load(Ordering::Acquire) & CLOSED != 0
    }

    pub fn stats(&self) -> Stats {
        let s = self.shared();
        s.counters.snapshot(
            || s.queue.tail_pos(),
            || s.queue.head_pos(),
            s.queue.capacity(),
        )
    }

    /// The last I/O or sink error, if any.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared().errors.last).clone()
    }

    /// Whether records are written on the caller's thread (configured, forced by
    /// `ALOG_SYNC=1`, or the fallback after repeated writer failures).
    pub fn is_sync(&self) -> bool {
        self.shared().gate.load(Ordering::Acquire) & SYNC != 0
    }

    #[doc(hidden)]
    /// Test hook: makes the writer panic at the start of its next `n` batches.
    pub fn inject_writer_panics(&self, n: u32) {
        self.shared().panic_batches.store(n, Ordering::SeqCst);
    }
}

/// The hot path: gate check, timestamp, claim, copy, publish.
#[inline]
fn submit(s: &Arc<Shared>, level: Level, ts: Option<i64>, p: Payload<'_>) -> Result<()> {
    let g = s.gate.load(Ordering::Relaxed);
    if u32::from(level.number()) < g & LEVEL_MASK {
        return Ok(());
    }
    if p.len > s.max_message_bytes {
        return Err(Error::TooLarge {
            len: p.len,
            max: s.max_message_bytes,
        });
    }
    if g & !LEVEL_MASK != 0 {
        return submit_slow(s, g, level, ts, &p);
    }
    enqueue(s, ts.unwrap_or_else(now_ns), level, &p)
}

#[cold]
fn submit_slow(
    s: &Arc<Shared>,
    g: u32,
    level: Level,
    ts: Option<i64>,
    p: &Payload<'_>,
) -> Result<()> {
    if g & CLOSED != 0 {
        return Err(Error::Closed);
    }
    if g & SYNC != 0 {
        return write_sync(s, ts.unwrap_or_else(now_ns), level, p);
    }
    if g & RESPAWN != 0 {
        ensure_writer(s)?;
    }
    enqueue(s, ts.unwrap_or_else(now_ns), level, p)
}

#[inline]
fn enqueue(s: &Arc<Shared>, ts: i64, level: Level, p: &Payload<'_>) -> Result<()> {
    let len = p.len;
    let mut heap = (len > INLINE).then(|| {
        let mut b = vec![0u8; len].into_boxed_slice();
        p.fill(&mut b);
        b
    });
    let mut deadline = None;
    loop {
        match s
            .queue
            .try_push(ts, level.number(), p.kind(), len, |d| p.fill(d), &mut heap)
        {
            Push::Ok { queued } => {
                if queued >= s.batch_size && s.parked.load(Ordering::Relaxed) {
                    wake_writer(s);
                }
                return Ok(());
            }
            Push::Closed => return Err(Error::Closed),
            Push::Full => on_full(s, &mut deadline)?,
        }
    }
}

/// Applies the overflow policy to a full queue: `Ok` means "try again".
#[cold]
fn on_full(s: &Shared, deadline: &mut Option<Instant>) -> Result<()> {
    s.counters.peak(s.queue.capacity());
    if s.gate.load(Ordering::Acquire) & SYNC != 0 {
        // The writer is gone (sync fallback): make room by writing the queue here.
        s.drain_sync();
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
            let d = *deadline.get_or_insert_with(|| match s.block_timeout {
                Some(t) => Instant::now() + t,
                None => Instant::now() + Duration::from_secs(u64::MAX / 4),
            });
            if wait_for_space(s, d) {
                Ok(())
            } else {
                s.counters.refused.fetch_add(1, Ordering::Relaxed);
                Err(Error::Timeout)
            }
        }
    }
}

/// Waits until the queue has room, is closed or has switched to sync mode; false on timeout.
fn wait_for_space(s: &Shared, deadline: Instant) -> bool {
    wake_writer(s);
    for _ in 0..32 {
        if s.queue.len() < s.queue.capacity() {
            return true;
        }
        std::thread::yield_now();
    }
    s.space_waiters.fetch_add(1, Ordering::SeqCst);
    let mut g = lock(&s.space);
    let ok = loop {
        if s.queue.len() < s.queue.capacity() || s.queue.is_closed() {
            break true;
        }
        let now = Instant::now();
        if now >= deadline {
            break false;
        }
        wake_writer(s);
        let step = (deadline - now).min(Duration::from_millis(10));
        g = s
            .space_cv
            .wait_timeout(g, step)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    };
    drop(g);
    s.space_waiters.fetch_sub(1, Ordering::SeqCst);
    ok
}

fn wake_writer(s: &Shared) {
    if s.parked.swap(false, Ordering::AcqRel) {
        let _g = lock(&s.wake);
        s.wake_cv.notify_one();
    }
}

/// Sync mode: format and write on the caller's thread, after whatever is still queued.
fn write_sync(s: &Shared, ts: i64, level: Level, p: &Payload<'_>) -> Result<()> {
    let mut core = lock(&s.core);
    let core = &mut *core;
    let Some(pipeline) = core.pipeline.as_mut() else {
        return Err(Error::Closed);
    };
    let base = s.base_level();
    drain_locked(s, pipeline, &mut core.scratch, base);
    s.counters.sync_submitted.fetch_add(1, Ordering::SeqCst);
    let b = &mut core.scratch;
    b.clear();
    let len = p.len;
    b.arena.resize(len, 0);
    p.fill(&mut b.arena);
    b.metas.push(crate::queue::Meta {
        ts,
        level: level.number(),
        kind: p.kind(),
        start: 0,
        len,
    });
    pipeline.process(b, base, &s.counters, &s.errors);
    Ok(())
}

/// Writes everything queued, on the calling thread (sync fallback, close without a writer).
fn drain_locked(s: &Shared, pipeline: &mut Pipeline, scratch: &mut Batch, base: Level) {
    loop {
        scratch.clear();
        if s.queue.pop_into(4096, scratch) == 0 {
            break;
        }
        pipeline.process(scratch, base, &s.counters, &s.errors);
        notify_progress(s);
    }
    scratch.clear();
}

/// After records leave the queue: publish progress, wake flushers and blocked producers.
fn notify_progress(s: &Shared) {
    s.done_pos.store(s.queue.head_pos(), Ordering::SeqCst);
    {
        let _g = lock(&s.done);
        s.done_cv.notify_all();
    }
    if s.space_waiters.load(Ordering::SeqCst) > 0 {
        let _g = lock(&s.space);
        s.space_cv.notify_all();
    }
}

fn spawn_writer(s: &Arc<Shared>) -> Result<()> {
    let mut w = lock(&s.writer);
    let shared = s.clone();
    let handle = std::thread::Builder::new()
        .name(WRITER_THREAD.into())
        .spawn(move || crate::writer::run(shared))
        .map_err(|e| Error::io("cannot start the alog-writer thread", e))?;
    w.handle = Some(handle);
    w.running = true;
    w.finished = false;
    Ok(())
}

/// In a fork child: start this process's own writer on first use.
fn ensure_writer(s: &Arc<Shared>) -> Result<()> {
    let running = lock(&s.writer).running;
    if !running {
        spawn_writer(s)?;
    }
    s.gate.fetch_and(!RESPAWN, Ordering::AcqRel);
    Ok(())
}

fn flush(s: &Arc<Shared>, timeout: Option<Duration>) -> Result<()> {
    flush_with(s, timeout, |m| Some(lock(m)))
}

/// `flush`, taking the sinks' lock with `take_core` (which may decline, at exit).
fn flush_with(
    s: &Arc<Shared>,
    timeout: Option<Duration>,
    take_core: impl FnOnce(&Mutex<Core>) -> Option<MutexGuard<'_, Core>>,
) -> Result<()> {
    let g = s.gate.load(Ordering::Acquire);
    if g & CLOSED != 0 {
        return Err(Error::Closed);
    }
    if g & RESPAWN != 0 {
        ensure_writer(s)?;
    }
    let target = s.queue.tail_pos();
    if g & SYNC == 0 {
        {
            let mut w = lock(&s.wake);
            w.flush_target = w.flush_target.max(target);
            s.wake_cv.notify_one();
        }
        if !wait_done(s, target, timeout) {
            return Err(Error::Timeout);
        }
    }
    let Some(mut guard) = take_core(&s.core) else {
        return Err(Error::Timeout);
    };
    let core = &mut *guard;
    if let Some(p) = core.pipeline.as_mut() {
        if g & SYNC != 0 {
            drain_locked(s, p, &mut core.scratch, s.base_level());
        }
        if p.fsync_on_flush() {
            p.sync_files(&s.errors);
        }
    }
    Ok(())
}

/// Waits until the writer has processed every position below `target`.
fn wait_done(s: &Shared, target: u64, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut g = lock(&s.done);
    loop {
        if s.done_pos.load(Ordering::SeqCst) >= target {
            return true;
        }
        let step = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                (d - now).min(Duration::from_millis(50))
            }
            None => Duration::from_millis(50),
        };
        g = s
            .done_cv
            .wait_timeout(g, step)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

pub(crate) fn close(s: &Arc<Shared>, timeout: Option<Duration>) -> Result<()> {
    let was = s.gate.fetch_or(CLOSED, Ordering::AcqRel);
    if was & CLOSED != 0 {
        return Err(Error::Closed);
    }
    s.queue.close();
    {
        let _g = lock(&s.space);
        s.space_cv.notify_all();
    }
    let running = lock(&s.writer).running;
    if running && was & RESPAWN == 0 {
        {
            let mut w = lock(&s.wake);
            w.stop = true;
            s.wake_cv.notify_one();
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = lock(&s.done);
        while !lock(&s.writer).finished {
            let step = match deadline {
                Some(d) if Instant::now() >= d => return Err(Error::Timeout),
                Some(d) => (d - Instant::now()).min(Duration::from_millis(50)),
                None => Duration::from_millis(50),
            };
            g = s
                .done_cv
                .wait_timeout(g, step)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(g);
        let handle = lock(&s.writer).handle.take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
    // Idempotent: a no-op when the writer finished the logger itself.
    finish(s);
    crate::process::unregister(s);
    Ok(())
}

/// The last act of a logger: drain what is left, fsync, close the sinks, free the queue.
pub(crate) fn finish(s: &Shared) {
    let mut guard = lock(&s.core);
    let core = &mut *guard;
    if let Some(mut p) = core.pipeline.take() {
        let base = s.base_level();
        // Claimed records are published within nanoseconds; wait for them to drain.
        let mut spins = 0u32;
        loop {
            drain_locked(s, &mut p, &mut core.scratch, base);
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
    }
    core.scratch = Batch::default();
    drop(guard);
    notify_progress(s);
}

// --- what the writer thread and fork handlers need from the shared state -----------------

impl Shared {
    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }
    pub(crate) fn errors(&self) -> &ErrorReporter {
        &self.errors
    }
    pub(crate) fn batch_size(&self) -> u64 {
        self.batch_size
    }
    pub(crate) fn batch_timeout(&self) -> Duration {
        self.batch_timeout
    }
    pub(crate) fn flush_interval(&self) -> Duration {
        self.flush_interval
    }
    pub(crate) fn fsync_policy(&self) -> Fsync {
        self.fsync
    }
    pub(crate) fn base_level(&self) -> Level {
        Level::new(i32::from(self.base_level.load(Ordering::Relaxed))).unwrap_or(Level::INFO)
    }
    pub(crate) fn take_warn_pending(&self) -> u64 {
        self.warn_pending.swap(0, Ordering::Relaxed)
    }
    pub(crate) fn take_injected_panic(&self) -> bool {
        self.panic_batches
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Waits until there is a batch, a flush or a stop request, or `until` passes. Returns
    /// whether a stop was requested.
    ///
    /// `fill` is the writer's estimate of how long the next batch takes to fill, from the
    /// last one. The writer parks for three quarters of it (a producer that completes the
    /// batch sooner wakes it), then polls in steps of a sixteenth, so that under a steady
    /// rate producers almost never pay for a wake-up syscall and the writer wakes a few times
    /// per batch. Two polls without a new record send it back to parking until `until`.
    /// Flush and stop requests wake a parked writer at once and a polling one within a step.
    pub(crate) fn wait_for_work(&self, until: Instant, fill: Option<Duration>) -> bool {
        let start = Instant::now();
        let poll_from = fill.map(|d| start + d * 3 / 4);
        let step = fill.map_or(MIN_POLL, |d| (d / 16).clamp(MIN_POLL, MAX_POLL));
        let mut seen = self.queue.tail_pos();
        let mut idle_polls = 0;
        let mut w = lock(&self.wake);
        loop {
            if w.stop {
                return true;
            }
            if w.flush_target > self.done_pos.load(Ordering::SeqCst)
                || self.queue.len() >= self.batch_size
            {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            let poll_from = poll_from.filter(|_| idle_polls < 2);
            if poll_from.is_some_and(|t| now >= t) {
                drop(w);
                std::thread::sleep(step.min(until - now));
                w = lock(&self.wake);
                let tail = self.queue.tail_pos();
                idle_polls = if tail == seen { idle_polls + 1 } else { 0 };
                seen = tail;
                continue;
            }
            let deadline = poll_from.map_or(until, |t| t.min(until));
            self.parked.store(true, Ordering::SeqCst);
            if self.queue.len() >= self.batch_size {
                self.parked.store(false, Ordering::SeqCst);
                return false;
            }
            w = self
                .wake_cv
                .wait_timeout(w, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.parked.store(false, Ordering::SeqCst);
        }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        lock(&self.wake).stop
    }

    /// Runs `f` on the pipeline if the logger still has one.
    pub(crate) fn with_pipeline<R>(&self, f: impl FnOnce(&mut Pipeline) -> R) -> Option<R> {
        lock(&self.core).pipeline.as_mut().map(f)
    }

    pub(crate) fn notify_progress(&self) {
        notify_progress(self)
    }

    /// Writes everything queued on the calling thread.
    pub(crate) fn drain_sync(&self) {
        let mut core = lock(&self.core);
        let core = &mut *core;
        if let Some(p) = core.pipeline.as_mut() {
            drain_locked(self, p, &mut core.scratch, self.base_level());
        }
    }

    /// At process exit: writes what is queued, unless the logger is closed or this is a fork
    /// child that never logged (it has nothing of its own to write).
    /// `exit()` called from inside a sink (on a writer thread, or with the sinks' lock held in
    /// sync mode) must not wait for itself: writer threads skip, and the lock is only tried.
    pub(crate) fn flush_at_exit(self: &Arc<Self>, timeout: Duration) {
        let g = self.gate.load(Ordering::Acquire);
        if g & CLOSED != 0 || (g & RESPAWN != 0 && self.queue.is_empty()) {
            return;
        }
        if std::thread::current().name() == Some(WRITER_THREAD) {
            return;
        }
        let _ = flush_with(self, Some(timeout), |m| m.try_lock().ok());
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
            _core: lock(&self.core),
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
        self.space_waiters.store(0, Ordering::SeqCst);
        self.parked.store(false, Ordering::SeqCst);
        if let Some(h) = held.writer.handle.take() {
            // The thread does not exist in this process: never join or detach it, but keep
            // its handle reachable (leak checkers then see no lost memory).
            ORPHANED_WRITERS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(h);
        }
        held.writer.running = false;
        held.writer.finished = false;
        if self.gate.load(Ordering::Acquire) & (CLOSED | SYNC) == 0 {
            self.gate.fetch_or(RESPAWN, Ordering::AcqRel);
        }
    }
}

/// The guards `lock_all` takes; dropping it unlocks them.
pub(crate) struct Held {
    _core: MutexGuard<'static, Core>,
    _consumer: crate::sync::MutexGuard<'static, ()>,
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
