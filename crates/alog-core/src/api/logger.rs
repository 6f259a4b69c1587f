//! The logger: the public handle, its builder's `open`, flush and close.

use std::cell::UnsafeCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::api::submit::{submit, submit_with, Payload, Wait};
use crate::front::clock;
use crate::front::config::Config;
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::record::{Field, FieldSource, FieldsRecord, Source};
use crate::front::stats::{Counters, SinkStats, Stats};
use crate::queue::{Batch, Queue};
use crate::render::deferred::{self, Args};
use crate::render::printf::{self, Arg};
use crate::writer::pipeline::{ErrorReporter, Pipeline};
use crate::writer::pool::Sched;
use crate::writer::shared::{
    finish, flush_with, lock, spawn_writer, wait_until, Core, LineBreak, RunCell, Shared, Wake,
    WriterState, CLOSED, DURABLE, LEVEL_MASK, SYNC,
};
use crate::writer::signals::marked;
use crate::writer::thread::RunState;

/// How long `Drop` waits for the queue to drain.
pub const DROP_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub use crate::front::time::NO_TIMESTAMP;

/// Registers a printf call site (`ALOG_LOGF`'s first call): its id goes with every record
/// logged from it ([`Logger::log_deferred`]). Formats that cannot be deferred are `Unsupported`
/// (format on the caller's thread instead). Installs the fork and exit hooks, so that a fork
/// never finds the registry locked by a thread that does not exist in the child.
pub fn register_site(
    fmt: &[u8],
    file: &[u8],
    line: u32,
    func: &[u8],
) -> std::result::Result<u32, printf::Unsupported> {
    // Marked as an alog call: a signal handler interrupting it formats on its thread rather
    // than wait for the registry's lock (`in_alog_call`).
    marked(|_| {
        crate::writer::process::install_hooks();
        deferred::register(fmt, file, line, func)
    })
}

/// A structured record, as `write_record` takes it.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub level: Level,
    /// Nanoseconds since the Unix epoch; `None` is "now", `Some(NO_TIMESTAMP)` is "none".
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
        // durability=mmap: the journal, and what a crashed process left in it (api/durable.rs).
        let (journal, recovered) = crate::api::durable::open(path, &config)?;
        let pipeline = Pipeline::open(path, &config)?;
        if pipeline.is_empty() {
            return Err(Error::invalid(
                "no sink configured: give a path, console=stdout|stderr, a file.NAME.path or a callback",
            ));
        }
        let sync = config.sync || sync_forced_by_env();
        let gate = u32::from(pipeline.gate_level(config.level).number())
            | if sync { SYNC } else { 0 }
            | if journal.is_some() { DURABLE } else { 0 };
        let tsc = config.tsc && !sync && clock::tsc_invariant() && !clock::env_forces_realtime();
        if tsc {
            clock::calibrate();
        }
        let sinks = pipeline.sink_counters();
        let queue = Queue::new(if sync { 1 } else { config.queue_capacity });
        if config.queue_prefault && !sync {
            queue.prefault().map_err(|e| {
                let what = format!(
                    "queue_prefault: cannot make the memory of {} queued records resident",
                    config.queue_capacity
                );
                Error::io(what, e)
            })?;
        }
        let shared = Arc::new_cyclic(|me| Shared {
            gate: AtomicU32::new(gate),
            queue,
            counters: Counters::default(),
            overflow: config.overflow,
            block_timeout: config.block_timeout,
            // Woken at half the queue at the latest, so that the other half takes what comes
            // while the writer wakes: a wake-up only when the queue is full would make every
            // burst wait (`block`) or drop until the batch timeout.
            batch_size: config.batch_size.min((config.queue_capacity / 2).max(1)) as u64,
            flush_on: config.flush_on.map_or(0, Level::number),
            batch_timeout: config.batch_timeout,
            flush_interval: config.flush_interval,
            fsync: config.fsync,
            max_message_bytes: config.max_message_bytes,
            tsc,
            thread: AtomicBool::new(config.shows_thread()),
            fields_shown: AtomicBool::new(pipeline.shows_fields()),
            _hot_end: LineBreak,
            _queue_end: LineBreak,
            _parked_end: LineBreak,
            core: Mutex::new(Core {
                pipeline: Some(Box::new(pipeline)),
                scratch: Batch::default(),
            }),
            errors: ErrorReporter {
                last: Mutex::new(None),
                callback: config.on_error.clone(),
            },
            wake: Mutex::new(Wake::default()),
            signal_target: AtomicU64::new(0),
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
            me: me.clone(),
            sched: Sched::default(),
            run_state: RunCell(UnsafeCell::new(RunState::default())),
            open_tickets: AtomicU64::new(0),
            sinks: Mutex::new(sinks),
            journal,
        });
        if let Some(r) = recovered {
            crate::api::durable::recover(&shared, r);
        }
        if !sync {
            spawn_writer(&shared)?;
        }
        crate::writer::process::register(&shared);
        crate::writer::signals::install(config.flush_on_signal)?;
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
        self.write_record_with(rec, &mut Wait::Configured)
    }

    /// Like [`write_record`](Self::write_record), but never waits: when `overflow=block` finds
    /// the queue full it returns `Ok(false)` and the record is neither submitted nor counted
    /// (a binding can then release its interpreter lock and call
    /// [`write_record_interruptible`](Self::write_record_interruptible)). `Ok(true)`: submitted.
    pub fn try_write_record(&self, rec: &Record<'_>) -> Result<bool> {
        self.never_waited(self.write_record_with(rec, &mut Wait::Never))
    }

    /// Like [`write_record`](Self::write_record), but while it waits for room under
    /// `overflow=block` it asks `keep_waiting` at least every `step`; when that returns `false`
    /// the record is dropped and counted as by `block_timeout_ms`, and the call returns
    /// `Timeout`. `keep_waiting` runs on the calling thread with no lock of the logger held.
    pub fn write_record_interruptible(
        &self,
        rec: &Record<'_>,
        step: Duration,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<()> {
        self.write_record_with(rec, &mut Wait::Interruptible { step, keep_waiting })
    }

    /// Logs a structured record whose fields stay in the caller's layout (see
    /// [`FieldSource`]): they are encoded straight into the queue, as by
    /// [`write_record`](Self::write_record) and with its results.
    #[inline]
    pub fn write_fields<F: FieldSource + ?Sized>(&self, rec: &FieldsRecord<'_, F>) -> Result<()> {
        let payload = if rec.fields.count() == 0 && rec.source.is_none() {
            Payload::plain(rec.msg)
        } else {
            Payload::fields(rec)
        };
        submit(self.shared(), rec.level, rec.timestamp_ns, payload)
    }

    /// The result of a submission made with `Wait::Never`: `Ok(false)` when `overflow=block`
    /// found no room (nothing submitted, nothing counted).
    fn never_waited(&self, r: Result<()>) -> Result<bool> {
        match r {
            Ok(()) => Ok(true),
            Err(Error::Full) if self.shared().overflow == crate::Overflow::Block => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn write_record_with(&self, rec: &Record<'_>, wait: &mut Wait<'_>) -> Result<()> {
        let payload = if rec.fields.is_empty() && rec.source.is_none() {
            Payload::plain(rec.msg)
        } else {
            Payload::structured(rec)
        };
        submit_with(self.shared(), rec.level, rec.timestamp_ns, payload, wait)
    }

    /// Logs a call of a registered printf call site ([`register_site`]) with its raw
    /// arguments; the writer renders the message. The arguments must be of the classes the
    /// site's format fetches (a record that does not match is counted as failed, never printed
    /// wrong). Errors: those of [`log`](Self::log), and `Invalid` for an unknown site or more
    /// than [`printf::MAX_ARGS`] arguments.
    #[inline]
    pub fn log_deferred(&self, level: Level, site: u32, args: &[Arg<'_>]) -> Result<()> {
        self.log_deferred_with(level, None, site, Args::Values(args), &mut Wait::Configured)
    }

    /// [`log_deferred`](Self::log_deferred) for a call whose arguments are all integers,
    /// doubles and pointers, given as C passes them: each argument's 8 bytes (`union alog_arg`)
    /// as a `u64` in `words`, with the site's [`Site::word_tags`](deferred::Site::word_tags)
    /// (the first `words.len()`) in `tags`. The call costs a copy of both. Tags that do not
    /// match the site make a record the writer counts as failed. Errors: those of
    /// `log_deferred`, and `Invalid` when `tags` and `words` differ in length.
    #[inline(always)]
    pub fn log_deferred_words(
        &self,
        level: Level,
        site: u32,
        tags: &[u8],
        words: &[u64],
    ) -> Result<()> {
        if tags.len() != words.len() {
            return Err(Error::invalid(format!(
                "deferred call: {} argument tags for {} words",
                tags.len(),
                words.len()
            )));
        }
        let args = Args::Words { tags, words };
        self.log_deferred_with(level, None, site, args, &mut Wait::Configured)
    }

    /// [`log_deferred`](Self::log_deferred) with the record's own timestamp
    /// (`timestamp_ns` as in [`Record`]) that never waits: when `overflow=block` finds the queue
    /// full it returns `Ok(false)` and the record is neither submitted nor counted, as
    /// [`try_write_record`](Self::try_write_record) does. `Ok(true)`: submitted.
    pub fn try_log_deferred(
        &self,
        level: Level,
        timestamp_ns: Option<i64>,
        site: u32,
        args: &[Arg<'_>],
    ) -> Result<bool> {
        let args = Args::Values(args);
        self.never_waited(self.log_deferred_with(level, timestamp_ns, site, args, &mut Wait::Never))
    }

    /// [`log_deferred`](Self::log_deferred) with the record's own timestamp, waiting for room
    /// as [`write_record_interruptible`](Self::write_record_interruptible) does.
    pub fn log_deferred_interruptible(
        &self,
        level: Level,
        timestamp_ns: Option<i64>,
        site: u32,
        args: &[Arg<'_>],
        step: Duration,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<()> {
        let wait = &mut Wait::Interruptible { step, keep_waiting };
        self.log_deferred_with(level, timestamp_ns, site, Args::Values(args), wait)
    }

    #[inline(always)]
    fn log_deferred_with(
        &self,
        level: Level,
        timestamp_ns: Option<i64>,
        site: u32,
        args: Args<'_>,
        wait: &mut Wait<'_>,
    ) -> Result<()> {
        if !deferred::is_registered(site) || args.len() > printf::MAX_ARGS {
            return Err(Error::invalid(format!(
                "deferred call: unknown site {site} or more than {} arguments",
                printf::MAX_ARGS
            )));
        }
        let payload = Payload::deferred(site, args);
        submit_with(self.shared(), level, timestamp_ns, payload, wait)
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

    /// Asks the writer to close and reopen its files before its next batch (after an
    /// external tool such as logrotate moved them). Only an atomic increment: safe to call
    /// from a signal handler. `Closed` after close.
    pub fn reopen(&self) -> Result<()> {
        let s = self.shared();
        if s.gate.load(Ordering::Acquire) & CLOSED != 0 {
            return Err(Error::Closed);
        }
        s.counters.reopen_requests.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Changes the level of the logger and of every sink without a level of its own. Records
    /// accepted before the call are written under the level that accepted them.
    pub fn set_level(&self, level: Level) -> Result<()> {
        marked(|_| {
            let s = self.shared();
            let mut core = lock(&s.core);
            let p = core.pipeline.as_mut().ok_or(Error::Closed)?;
            // Records queued before this point were accepted under the old level and are written
            // by it; the position is read before the gate changes, so that every record the new
            // gate accepts comes after it.
            let from = (s.gate.load(Ordering::Acquire) & SYNC == 0).then(|| s.queue.tail_pos());
            p.level_changed(from, level);
            let gate = u32::from(p.gate_level(level).number());
            let _ = s
                .gate
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |g| {
                    Some((g & !LEVEL_MASK) | gate)
                });
            Ok(())
        })
    }

    /// Adds one sink to the open logger and returns its name (`file.NAME`, `console`,
    /// `syslog`, `sqlite`, `otlp`, `callback.N`, `batch_callback.N`). `spec` holds that sink's
    /// keys only (set with [`Config::set`]: `file.NAME.*`, `console*`, `syslog*`, `sqlite*`,
    /// `otlp*`, `callback.*`, or one callback); everything else (the style, the file lifecycle)
    /// is the logger's. The sink takes every record logged after the call returns; records
    /// logged before may reach it too. The writer keeps writing while the sink opens.
    pub fn add_sink(&self, spec: &Config) -> Result<String> {
        marked(|_| {
            let s = self.shared();
            if s.called_from_own_sink() {
                return Err(Error::reentry("add a sink to"));
            }
            let template = {
                let core = lock(&s.core);
                core.pipeline.as_ref().ok_or(Error::Closed)?.template()
            };
            let (added, shows_thread) = template.open(spec)?;
            let mut core = lock(&s.core);
            let p = core.pipeline.as_mut().ok_or(Error::Closed)?;
            let mut names = p.insert(added)?;
            if shows_thread {
                s.thread.store(true, Ordering::Relaxed);
            }
            self.sinks_changed(s, p);
            Ok(names.pop().expect("one sink"))
        })
    }

    /// Removes the sink named `name` (see [`Logger::sink_stats`] for the names), after writing
    /// to it every record logged before the call, and closes it. Records logged while the call
    /// runs may reach it or not. The last sink cannot be removed (close the logger instead).
    /// `Timeout` from the first step leaves the sink in place; from the last (its lane still
    /// writing), the sink is gone and its lane finishes in the background.
    pub fn remove_sink(&self, name: &str, timeout: Option<Duration>) -> Result<()> {
        marked(|_| {
            let s = self.shared();
            if s.called_from_own_sink() {
                return Err(Error::reentry("remove a sink of"));
            }
            let deadline = timeout.map(|t| Instant::now() + t);
            flush(s, timeout)?;
            let sink = {
                let mut core = lock(&s.core);
                let p = core.pipeline.as_mut().ok_or(Error::Closed)?;
                let sink = p.remove(name, &s.errors)?;
                self.sinks_changed(s, p);
                sink
            };
            // Closed without the sinks' lock: a lane may still be writing what it was given.
            match sink.close(deadline) {
                true => Ok(()),
                false => Err(Error::Timeout),
            }
        })
    }

    /// After sinks came or went: the per-sink statistics and the gate follow.
    fn sinks_changed(&self, s: &Shared, p: &Pipeline) {
        *lock(&s.sinks) = p.sink_counters();
        s.fields_shown.store(p.shows_fields(), Ordering::Relaxed);
        let gate = u32::from(p.gate_level(p.current_level()).number());
        let _ = s
            .gate
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |g| {
                Some((g & !LEVEL_MASK) | gate)
            });
    }

    /// Returns when every record submitted before the call is written (or failed), and files
    /// are fsynced unless `fsync=never`. `None` waits forever.
    pub fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        marked(|_| flush(self.shared(), timeout))
    }

    /// Stops accepting records, drains the queue, flushes, closes the sinks and stops the
    /// writer. On `Timeout` the writer keeps draining in the background and frees everything
    /// when done; a later close (also one racing this one) waits for that as long as its own
    /// timeout allows and returns `Closed` once it is done (`Timeout` while it still drains).
    pub fn close(&self, timeout: Option<Duration>) -> Result<()> {
        marked(|_| close(self.shared(), timeout))
    }

    /// Whether any sink shows records' fields or source location: when none does, a binding
    /// may skip gathering them (Python's `alog.Handler` does). Follows sinks added and removed.
    pub fn shows_fields(&self) -> bool {
        self.shared().fields_shown.load(Ordering::Relaxed)
    }

    pub fn is_closed(&self) -> bool {
        self.shared().gate.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Every sink's counters, in configuration order: the main file, `file.NAME` sinks, the
    /// console, syslog, OTLP, callbacks, batch callbacks.
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        lock(&self.shared().sinks)
            .iter()
            .map(|c| c.snapshot())
            .collect()
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

fn flush(s: &Arc<Shared>, timeout: Option<Duration>) -> Result<()> {
    flush_with(s, timeout, |m| Some(lock(m)))
}

pub(crate) fn close(s: &Arc<Shared>, timeout: Option<Duration>) -> Result<()> {
    if s.called_from_own_sink() {
        return Err(Error::reentry("close"));
    }
    let was = s.gate.fetch_or(CLOSED, Ordering::AcqRel);
    if was & CLOSED != 0 {
        // Closed already. A close that timed out (or is still running on another thread)
        // leaves the writer draining: wait for it, as long as `timeout` allows, so that the
        // caller learns when sinks and callbacks are done with; then report `Closed`.
        let running = lock(&s.writer).running;
        if running
            && !wait_until(
                &s.done,
                &s.done_cv,
                timeout.map(|t| Instant::now() + t),
                Duration::from_millis(50),
                |_| lock(&s.writer).finished,
            )
        {
            return Err(Error::Timeout);
        }
        return Err(Error::Closed);
    }
    s.queue.close();
    {
        let _g = lock(&s.space);
        s.space_cv.notify_all();
    }
    // A fork child's first call may be starting its writer right now: `ensure_writer` checks
    // CLOSED under the writer lock, so either it sees CLOSED and starts none, or the writer
    // counts as running here and is stopped and joined.
    let running = lock(&s.writer).running;
    if running {
        {
            let mut w = lock(&s.wake);
            w.stop = true;
        }
        crate::writer::pool::wake(&s.job());
        let deadline = timeout.map(|t| Instant::now() + t);
        // `done` before `writer`: the order every path (and the fork handler) takes them in.
        let finished = wait_until(
            &s.done,
            &s.done_cv,
            deadline,
            Duration::from_millis(50),
            |_| lock(&s.writer).finished,
        );
        if !finished {
            return Err(Error::Timeout);
        }
    }
    // Idempotent: a no-op when the writer finished the logger itself.
    finish(s);
    crate::writer::process::unregister(s);
    Ok(())
}
