//! Sink lanes: the writer hands each sink whose I/O can wait on something other than the
//! local disk (the console, syslog, OTLP, callbacks) its part of a batch through the sink's own
//! lane, a bounded backlog with its own failure state, written by a pool job of its own. A
//! slow or stalled sink delays only its lane: the writer formats on, the other sinks keep
//! their pace.
//!
//! A full backlog is handled by the sink's policy ([`LaneOverflow`]): `Drop` counts the
//! records the sink cannot take; `Block` makes the writer wait for it. A `Drop` lane whose
//! sink accepts nothing for `stall_timeout_ms` also drops what has waited that long, so that
//! `flush` and `close` return; it keeps trying and recovers by itself when the receiver comes
//! back.
//!
//! Accounting: each batch has a [`Ticket`] that every chunk of it holds; a record's outcome
//! is the worst of its sinks' (failed, else dropped, else written), settled in the logger's
//! counters when the last chunk of the batch is done, so that
//! `submitted == written + dropped + failed + pending` holds with lane backlogs in `pending`.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::front::config::{LaneConfig, LaneOverflow, Stream};
use crate::front::error::Error;
use crate::front::level::Level;
use crate::front::stats::{Counters, SinkCounters};
use crate::sinks::otlp::Reply;
use crate::sinks::target::Target;
use crate::writer::pool::{self, Job, Next, Sched};
use crate::writer::shared::{lock, wait_until, Shared};

thread_local! {
    /// Set by [`sink_failed`] inside a callback sink: the record it is writing failed.
    static SINK_FAILURE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Called from inside a callback sink (a binding's callback that caught its language's
/// exception or panic): the record the callback is writing counts as failed for that sink,
/// and `reason` reaches the error handler. Outside a callback it does nothing.
pub fn sink_failed(reason: &str) {
    SINK_FAILURE.with(|f| {
        let mut f = f.borrow_mut();
        if f.is_none() {
            *f = Some(reason.to_string());
        }
    });
}

fn take_sink_failure() -> Option<String> {
    SINK_FAILURE.with(|f| f.borrow_mut().take())
}

/// A record's outcome in one sink; a batch keeps the worst per record.
pub(crate) const WRITTEN: u8 = 0;
pub(crate) const DROPPED: u8 = 1;
pub(crate) const FAILED: u8 = 2;

/// The largest write that a pipe keeps whole among other writers (POSIX `PIPE_BUF` on Linux).
const PIPE_BUF: usize = libc::PIPE_BUF;
/// Retry steps of a stalled sink.
const MIN_BACKOFF: Duration = Duration::from_millis(1);
const MAX_BACKOFF: Duration = Duration::from_millis(50);
/// The safety-net step of waits on a lane.
const STEP: Duration = Duration::from_millis(50);

/// Where one record's line ends in a sink's bytes, and what it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    pub end: usize,
    pub idx: u32,
    pub level: Level,
    pub ts: i64,
}

/// One batch's outcome, settled when its last holder lets go.
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    /// The queue position after the batch: `flush` waits for the done position to pass it.
    end: u64,
    holders: AtomicUsize,
    outcomes: Mutex<Vec<u8>>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("end", &self.end).finish()
    }
}

impl Ticket {
    /// A batch of `n` records ending at queue position `end`, held once by its creator.
    pub(crate) fn new(shared: Arc<Shared>, n: usize, end: u64) -> Arc<Ticket> {
        shared.open_tickets.fetch_add(1, Ordering::SeqCst);
        Arc::new(Ticket {
            shared,
            end,
            holders: AtomicUsize::new(1),
            outcomes: Mutex::new(vec![WRITTEN; n]),
        })
    }

    pub(crate) fn hold(&self) {
        self.holders.fetch_add(1, Ordering::AcqRel);
    }

    /// Records the outcome of some of the batch's records in one sink.
    pub(crate) fn mark(&self, lines: &[Line], outcome: u8) {
        if outcome == WRITTEN || lines.is_empty() {
            return;
        }
        let mut o = lock(&self.outcomes);
        for l in lines {
            let v = &mut o[l.idx as usize];
            *v = (*v).max(outcome);
        }
    }

    /// Marks one record (by its index in the batch).
    pub(crate) fn mark_idx(&self, idx: usize, outcome: u8) {
        let mut o = lock(&self.outcomes);
        o[idx] = o[idx].max(outcome);
    }

    /// Lets go of the batch; the last holder settles it.
    pub(crate) fn release(&self) {
        if self.holders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let s = &self.shared;
        let (mut dropped, mut failed) = (0u64, 0u64);
        let n = {
            let o = lock(&self.outcomes);
            for v in o.iter() {
                match *v {
                    DROPPED => dropped += 1,
                    FAILED => failed += 1,
                    _ => {}
                }
            }
            o.len() as u64
        };
        Counters::add(&s.counters.failed, failed);
        Counters::add(&s.counters.dropped_sinks, dropped);
        Counters::add(&s.counters.written, n - failed - dropped);
        s.done_pos.fetch_max(self.end, Ordering::SeqCst);
        s.open_tickets.fetch_sub(1, Ordering::SeqCst);
        s.notify_progress();
    }
}

/// A sink's part of one batch, waiting in its lane.
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<Line>,
    /// Lines of this chunk already done (written, failed or dropped), and bytes written.
    next: usize,
    offset: usize,
    ticket: Arc<Ticket>,
    since: Instant,
}

impl Chunk {
    /// Settles lines `next..upto` with `outcome` in the sink's counters and the ticket.
    fn settle(&mut self, upto: usize, outcome: u8, c: &SinkCounters) {
        let lines = &self.lines[self.next..upto];
        let n = lines.len() as u64;
        match outcome {
            WRITTEN => Counters::add(&c.written, n),
            DROPPED => Counters::add(&c.dropped, n),
            _ => Counters::add(&c.failed, n),
        }
        self.ticket.mark(lines, outcome);
        self.next = upto;
        if let Some(last) = self.lines[..upto].last() {
            self.offset = self.offset.max(last.end);
        }
    }
}

#[derive(Default)]
struct Backlog {
    chunks: VecDeque<Chunk>,
    /// Bytes and records in the lane, the chunk being written included.
    bytes: usize,
    records: u64,
    closed: bool,
    /// The logger's writer job waits for room in this (`Block`) lane: wake it when there is.
    blocked: bool,
}

/// A sink's destination as its lane writes it.
enum Out {
    /// stdout or stderr: a descriptor of our own, non-blocking where the stream is a pipe or
    /// socket (so a reader that stops reading stalls only this lane), writes of whole lines
    /// of at most `PIPE_BUF` bytes on pipes.
    Console {
        fd: OwnedFd,
        socket: bool,
        pipe: bool,
        stream: Stream,
    },
    Other(Target),
}

/// Opens the console as its lane writes it.
fn console_out(stream: Stream) -> Out {
    let std_fd = match stream {
        Stream::Stdout => libc::STDOUT_FILENO,
        Stream::Stderr => libc::STDERR_FILENO,
    };
    // SAFETY: fstat on a descriptor number with a valid out pointer.
    let mode = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(std_fd, &mut st) == 0 {
            st.st_mode & libc::S_IFMT
        } else {
            0
        }
    };
    let pipe = mode == libc::S_IFIFO;
    let socket = mode == libc::S_IFSOCK;
    let mut fd: RawFd = -1;
    if pipe {
        // A new open file description of the same pipe: O_NONBLOCK on it does not change the
        // application's own stdout.
        let path = format!("/proc/self/fd/{std_fd}\0");
        // SAFETY: a NUL-terminated path.
        fd = unsafe {
            libc::open(
                path.as_ptr().cast(),
                libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
    }
    if fd < 0 {
        // SAFETY: duplicating a descriptor number; the result is checked.
        fd = unsafe { libc::fcntl(std_fd, libc::F_DUPFD_CLOEXEC, 3) };
    }
    if fd < 0 {
        return Out::Other(Target::Console(stream));
    }
    Out::Console {
        // SAFETY: `fd` is a descriptor we just opened and own.
        fd: unsafe { OwnedFd::from_raw_fd(fd) },
        socket,
        // A pipe we could not reopen is written blocking, still in whole-line writes.
        pipe: pipe || mode == libc::S_IFIFO,
        stream,
    }
}

/// What one attempt to write a chunk came to.
enum Progress {
    /// Every line is settled.
    Done,
    /// The sink cannot take more now (a full pipe, socket or syslog buffer).
    WouldBlock,
}

pub(crate) struct Lane {
    sched: Sched,
    settings: LaneConfig,
    stall: Duration,
    retries: u32,
    pub(crate) counters: Arc<SinkCounters>,
    backlog: Mutex<Backlog>,
    room: Condvar,
    /// Only the lane's job touches the destination: the pool runs a job on one thread at a
    /// time. (Not a lock: a fork must not wait for a sink's I/O, and the child must be able
    /// to use the lane although the parent's thread was inside a write.) It is closed when
    /// the lane is dropped.
    out: UnsafeCell<Out>,
    backoff: Mutex<Duration>,
}

// SAFETY: `out` is only touched by the lane's job, which the pool runs on one thread at a
// time (see `Sched`); everything else is behind locks or atomic.
unsafe impl Sync for Lane {}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("sink", &self.counters.name)
            .finish_non_exhaustive()
    }
}

impl Lane {
    pub(crate) fn new(
        target: Target,
        settings: LaneConfig,
        stall: Duration,
        retries: u32,
        counters: Arc<SinkCounters>,
    ) -> Arc<Lane> {
        let out = match target {
            Target::Console(stream) => console_out(stream),
            t => Out::Other(t),
        };
        Arc::new(Lane {
            sched: Sched::default(),
            settings,
            stall,
            retries,
            counters,
            backlog: Mutex::new(Backlog::default()),
            room: Condvar::new(),
            out: UnsafeCell::new(out),
            backoff: Mutex::new(MIN_BACKOFF),
        })
    }

    fn write_error(&self, s: &Shared) {
        Counters::add(&self.counters.write_errors, 1);
        Counters::add(&s.counters.write_errors, 1);
    }

    fn report(&self, s: &Shared, e: Error) {
        self.counters.set_error(&e.to_string());
        s.errors.report(e);
    }

    /// Hands the lane its part of a batch. Under `Drop`, what does not fit in the backlog is
    /// dropped (counted). A `Block` lane always takes it: the writer asks [`Lane::has_room`] before it
    /// takes a batch from the queue, so a `Block` lane holds at most its backlog plus one
    /// batch.
    pub(crate) fn push(self: &Arc<Lane>, bytes: Vec<u8>, lines: Vec<Line>, ticket: &Arc<Ticket>) {
        if lines.is_empty() {
            return;
        }
        Counters::add(&self.counters.taken, lines.len() as u64);
        let (mut bytes, mut lines) = (bytes, lines);
        let mut b = lock(&self.backlog);
        let max = self.settings.backlog_bytes;
        if self.settings.overflow == LaneOverflow::Drop && b.bytes + bytes.len() > max {
            // Keep what fits (an empty lane takes at least one record), drop the rest.
            let room = max.saturating_sub(b.bytes);
            let mut keep = lines.partition_point(|l| l.end <= room);
            if keep == 0 && b.records == 0 {
                keep = 1;
            }
            let dropped = lines.split_off(keep);
            Counters::add(&self.counters.dropped, dropped.len() as u64);
            ticket.mark(&dropped, DROPPED);
            if lines.is_empty() {
                return;
            }
            bytes.truncate(lines[keep - 1].end);
        }
        let n = lines.len() as u64;
        ticket.hold();
        b.bytes += bytes.len();
        b.records += n;
        b.chunks.push_back(Chunk {
            bytes,
            lines,
            next: 0,
            offset: 0,
            ticket: ticket.clone(),
            since: Instant::now(),
        });
        self.counters.backlog.store(b.records, Ordering::Relaxed);
        self.counters
            .backlog_peak
            .fetch_max(b.records, Ordering::Relaxed);
        drop(b);
        let job: Arc<dyn Job> = self.clone();
        pool::wake(&job);
    }

    /// Whether the writer may take another batch for this lane: always for `Drop` lanes; for
    /// `Block` lanes while the backlog is below its size (with a size of 0: while the lane is
    /// empty). When there is no room the lane wakes the logger's writer job once there is.
    pub(crate) fn has_room(&self) -> bool {
        if self.settings.overflow == LaneOverflow::Drop {
            return true;
        }
        let mut b = lock(&self.backlog);
        let room = b.closed || b.records == 0 || b.bytes < self.settings.backlog_bytes;
        if !room {
            b.blocked = true;
        }
        room
    }

    /// Waits (on the caller's thread: sync mode) until [`Lane::has_room`].
    pub(crate) fn wait_room(&self) {
        if self.settings.overflow == LaneOverflow::Drop {
            return;
        }
        let max = self.settings.backlog_bytes;
        wait_until(&self.backlog, &self.room, None, STEP, |b| {
            b.closed || b.records == 0 || b.bytes < max
        });
    }

    /// Whether nothing waits in the lane.
    pub(crate) fn is_idle(&self) -> bool {
        lock(&self.backlog).records == 0
    }

    /// Waits until the lane is empty or `deadline` passes; true when empty.
    pub(crate) fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        wait_until(&self.backlog, &self.room, deadline, STEP, |b| {
            b.records == 0
        })
    }

    /// Stops taking chunks (the logger is closing): a later push drops at once when full.
    pub(crate) fn close(&self) {
        lock(&self.backlog).closed = true;
        self.room.notify_all();
    }

    /// In a fork child: the parent's backlog is the parent's to write.
    pub(crate) fn reset_in_child(&self) {
        if let Ok(mut b) = self.backlog.try_lock() {
            // The chunks' tickets belong to the parent's batches: forget them unsettled.
            let chunks = std::mem::take(&mut b.chunks);
            std::mem::forget(chunks);
            b.bytes = 0;
            b.records = 0;
            b.blocked = false;
        }
        self.sched.reset_in_child();
        self.counters.reset_after_fork();
    }

    /// Takes the front chunk out to work on it (the backlog lock is not held while writing).
    fn take_front(&self) -> Option<Chunk> {
        lock(&self.backlog).chunks.pop_front()
    }

    fn put_back(&self, c: Chunk) {
        lock(&self.backlog).chunks.push_front(c);
    }

    fn finished_chunk(&self, c: Chunk) {
        // Settled before the lane looks lighter: whoever sees it idle sees the counts too.
        c.ticket.release();
        let blocked = {
            let mut b = lock(&self.backlog);
            b.bytes = b.bytes.saturating_sub(c.bytes.len());
            b.records = b.records.saturating_sub(c.lines.len() as u64);
            self.counters.backlog.store(b.records, Ordering::Relaxed);
            std::mem::take(&mut b.blocked)
        };
        self.room.notify_all();
        if blocked {
            pool::wake(&c.ticket.shared.job());
        }
    }

    /// Writes as much of `c` as the sink takes now.
    fn write_chunk(&self, out: &mut Out, c: &mut Chunk) -> Progress {
        let s = c.ticket.shared.clone();
        match out {
            Out::Console {
                fd,
                socket,
                pipe,
                stream,
            } => {
                let what = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                self.write_console(&s, fd.as_raw_fd(), *socket, *pipe, what, c)
            }
            Out::Other(Target::Syslog(sys)) => {
                while c.next < c.lines.len() {
                    let l = c.lines[c.next];
                    let start = if c.next == 0 {
                        0
                    } else {
                        c.lines[c.next - 1].end
                    };
                    let line = &c.bytes[start..l.end - 1];
                    let sent = sys.send(l.level, l.ts, line);
                    // A datagram cut to size, a connection refused or lost: counted, reported.
                    if let Some(note) = sys.take_note() {
                        self.write_error(&s);
                        self.report(&s, note);
                    }
                    match sent {
                        Ok(()) => {
                            Counters::add(&self.counters.bytes_written, line.len() as u64);
                            c.settle(c.next + 1, WRITTEN, &self.counters);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Progress::WouldBlock
                        }
                        Err(e) => {
                            self.write_error(&s);
                            c.settle(c.next + 1, FAILED, &self.counters);
                            let what = format!("sending to syslog at {}", sys.describe());
                            self.report(&s, Error::io(what, e));
                        }
                    }
                }
                Progress::Done
            }
            Out::Other(Target::Otlp(o)) => {
                while c.next < c.lines.len() {
                    let mut start = if c.next == 0 {
                        0
                    } else {
                        c.lines[c.next - 1].end
                    };
                    let records: Vec<&[u8]> = c.lines[c.next..]
                        .iter()
                        .map(|l| {
                            let r = &c.bytes[start..l.end - 1];
                            start = l.end;
                            r
                        })
                        .collect();
                    let sent = o.send(&records);
                    // A refused connection, a 503: counted, reported; the request goes again.
                    if let Some(note) = o.take_note() {
                        self.write_error(&s);
                        self.report(&s, note);
                    }
                    match sent {
                        Ok(Reply::Delivered { records, bytes }) => {
                            Counters::add(&self.counters.bytes_written, bytes as u64);
                            c.settle(c.next + records, WRITTEN, &self.counters);
                        }
                        Ok(Reply::Rejected { records, error }) => {
                            self.write_error(&s);
                            c.settle(c.next + records, FAILED, &self.counters);
                            self.report(&s, error);
                        }
                        Err(_) => return Progress::WouldBlock,
                    }
                }
                Progress::Done
            }
            Out::Other(Target::Callback(cb)) => {
                let mut line = Vec::new();
                while c.next < c.lines.len() {
                    let l = c.lines[c.next];
                    let start = if c.next == 0 {
                        0
                    } else {
                        c.lines[c.next - 1].end
                    };
                    line.clear();
                    line.extend_from_slice(&c.bytes[start..l.end - 1]);
                    let n = line.len();
                    line.push(0);
                    take_sink_failure();
                    let failure = match catch_unwind(AssertUnwindSafe(|| cb(l.level, &line[..n]))) {
                        Ok(()) => take_sink_failure().map(|r| format!("callback sink failed: {r}")),
                        Err(_) => Some("callback sink panicked".to_string()),
                    };
                    match failure {
                        None => c.settle(c.next + 1, WRITTEN, &self.counters),
                        Some(msg) => {
                            self.write_error(&s);
                            c.settle(c.next + 1, FAILED, &self.counters);
                            self.report(&s, Error::invalid(msg));
                        }
                    }
                }
                Progress::Done
            }
            #[cfg(feature = "sqlite")]
            Out::Other(Target::Sqlite(db)) => self.write_sqlite(&s, db, c),
            Out::Other(t) => {
                take_sink_failure();
                let buf = &c.bytes[c.offset..];
                let counters = &self.counters;
                let (n, err) = t.write_all(buf, self.retries, &mut |_| {
                    Counters::add(&counters.write_errors, 1);
                    Counters::add(&s.counters.write_errors, 1);
                });
                Counters::add(&self.counters.bytes_written, n as u64);
                Counters::add(&s.counters.bytes_written, n as u64);
                let err = match take_sink_failure() {
                    Some(r) if err.is_none() => {
                        Some(io::Error::other(format!("callback sink failed: {r}")))
                    }
                    _ => err,
                };
                let reached = if err.is_some() {
                    c.offset
                } else {
                    c.offset + n
                };
                let upto = c.lines.partition_point(|l| l.end <= reached);
                c.settle(upto, WRITTEN, &self.counters);
                if let Some(e) = err {
                    let lost = c.lines.len() - c.next;
                    c.settle(c.lines.len(), FAILED, &self.counters);
                    let what = t.describe();
                    self.report(
                        &s,
                        Error::io(format!("writing {lost} records to {what}"), e),
                    );
                }
                Progress::Done
            }
        }
    }

    /// The console: whole lines, grouped into writes of at most `PIPE_BUF` bytes on a pipe (a
    /// longer line goes alone), so that no other writer of the pipe tears them.
    fn write_console(
        &self,
        s: &Shared,
        fd: RawFd,
        socket: bool,
        pipe: bool,
        what: &str,
        c: &mut Chunk,
    ) -> Progress {
        let mut failures = 0u32;
        while c.next < c.lines.len() {
            let start = c.offset;
            // The lines that fit in one write.
            let mut upto = c.next;
            while upto < c.lines.len()
                && (upto == c.next || !pipe || c.lines[upto].end - start <= PIPE_BUF)
            {
                upto += 1;
                if !pipe && c.lines[upto - 1].end - start >= 1 << 16 {
                    break;
                }
            }
            let end = c.lines[upto - 1].end;
            let buf = &c.bytes[start..end];
            // SAFETY: `buf` is valid for reads of its length; `fd` is open (owned by `out`).
            let r = unsafe {
                if socket {
                    libc::send(
                        fd,
                        buf.as_ptr().cast(),
                        buf.len(),
                        libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                    )
                } else {
                    libc::write(fd, buf.as_ptr().cast(), buf.len())
                }
            };
            if r >= 0 {
                let n = r as usize;
                Counters::add(&self.counters.bytes_written, n as u64);
                Counters::add(&s.counters.bytes_written, n as u64);
                c.offset += n;
                let reached = c.offset;
                let done = c.lines.partition_point(|l| l.end <= reached);
                c.settle(done, WRITTEN, &self.counters);
                c.offset = reached;
                failures = 0;
                continue;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Progress::WouldBlock,
                _ => {}
            }
            self.write_error(s);
            if failures < self.retries && e.raw_os_error() != Some(libc::EPIPE) {
                std::thread::sleep(Duration::from_millis(1 << failures.min(10)));
                failures += 1;
                continue;
            }
            let lost = c.lines.len() - c.next;
            c.settle(c.lines.len(), FAILED, &self.counters);
            self.report(s, Error::io(format!("writing {lost} records to {what}"), e));
        }
        Progress::Done
    }
}

impl Lane {
    /// SQLite: the chunk's rows in one transaction. A database another connection holds
    /// locked keeps them in the lane (retried with backoff) until they have waited
    /// `sqlite.busy_timeout_ms`; other errors are retried `write_retries` times.
    #[cfg(feature = "sqlite")]
    fn write_sqlite(
        &self,
        s: &Shared,
        db: &mut crate::sinks::sqlite::Sqlite,
        c: &mut Chunk,
    ) -> Progress {
        use crate::sinks::sqlite::WriteError;
        let mut failures = 0u32;
        let e = loop {
            let rows = (c.next..c.lines.len()).map(|k| {
                let start = if k == 0 { 0 } else { c.lines[k - 1].end };
                let l = c.lines[k];
                (l.level, l.ts, &c.bytes[start..l.end - 1])
            });
            match db.insert(rows, c.since) {
                Ok(n) => {
                    Counters::add(&self.counters.bytes_written, n);
                    c.settle(c.lines.len(), WRITTEN, &self.counters);
                    return Progress::Done;
                }
                Err(WriteError::Busy) => return Progress::WouldBlock,
                Err(WriteError::LockedOut(t)) => {
                    self.write_error(s);
                    break io::Error::other(format!(
                        "database is locked by another connection for more than {} ms \
                         (sqlite.busy_timeout_ms)",
                        t.as_millis()
                    ));
                }
                Err(WriteError::Unusable(e)) => {
                    self.write_error(s);
                    break e;
                }
                Err(WriteError::Failed(e)) => {
                    self.write_error(s);
                    if failures >= self.retries {
                        break e;
                    }
                    std::thread::sleep(Duration::from_millis(1 << failures.min(10)));
                    failures += 1;
                }
            }
        };
        let lost = c.lines.len() - c.next;
        c.settle(c.lines.len(), FAILED, &self.counters);
        let what = format!(
            "writing {lost} records to sqlite at {}",
            db.path().display()
        );
        self.report(s, Error::io(what, e));
        Progress::Done
    }
}

impl Job for Lane {
    fn sched(&self) -> &Sched {
        &self.sched
    }

    fn run(self: Arc<Self>) -> Next {
        // SAFETY: the pool runs this job on one thread at a time; nothing else touches `out`.
        let out = unsafe { &mut *self.out.get() };
        while let Some(mut c) = self.take_front() {
            // Marked as inside the logger's sinks: a callback that logs to, flushes or closes
            // its own logger in a way that would wait for itself is refused.
            let s = c.ticket.shared.clone();
            let before = c.next;
            let progress = s.in_sinks(|| self.write_chunk(out, &mut c));
            if c.next > before {
                // The sink took something: retry soon again when it fills up.
                *lock(&self.backoff) = MIN_BACKOFF;
            }
            match progress {
                Progress::Done => self.finished_chunk(c),
                Progress::WouldBlock => {
                    if self.settings.overflow == LaneOverflow::Drop
                        && c.since.elapsed() >= self.stall
                    {
                        self.drop_stalled(c);
                        continue;
                    }
                    self.put_back(c);
                    let mut b = lock(&self.backoff);
                    let wait = *b;
                    *b = (*b * 2).min(MAX_BACKOFF);
                    return Next::At(Instant::now() + wait);
                }
            }
        }
        Next::Idle
    }

    fn panicked(self: Arc<Self>, msg: String) -> Next {
        self.counters
            .set_error(&format!("sink {} panicked: {msg}", self.counters.name));
        // The chunk in hand is lost with the panic's unwinding; what waits is retried.
        Next::At(Instant::now() + MAX_BACKOFF)
    }
}

impl Lane {
    /// A `Drop` lane whose sink took nothing for `stall_timeout`: drop this chunk and every
    /// chunk that waited as long, counted, and say so once.
    fn drop_stalled(&self, mut c: Chunk) {
        let s = c.ticket.shared.clone();
        let mut lost = (c.lines.len() - c.next) as u64;
        c.settle(c.lines.len(), DROPPED, &self.counters);
        self.finished_chunk(c);
        loop {
            let next = {
                let mut b = lock(&self.backlog);
                match b.chunks.front() {
                    Some(f) if f.since.elapsed() >= self.stall => b.chunks.pop_front(),
                    _ => None,
                }
            };
            let Some(mut c) = next else { break };
            lost += (c.lines.len() - c.next) as u64;
            c.settle(c.lines.len(), DROPPED, &self.counters);
            self.finished_chunk(c);
        }
        self.report(
            &s,
            Error::invalid(format!(
                "sink {} took nothing for {} ms: dropped {lost} records",
                self.counters.name,
                self.stall.as_millis()
            )),
        );
    }
}
