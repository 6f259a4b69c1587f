//! Accounting. Every accepted record ends as exactly one of written, dropped or failed; until
//! then it is pending. The counters are read in an order that keeps the identity
//! `submitted == written + dropped + failed + pending` true in every snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a logger's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records accepted by log calls (below-level records are not counted).
    pub submitted: u64,
    /// Records every one of their sinks accepted.
    pub written: u64,
    /// Records discarded by the overflow policy of the queue or of a sink's lane (a record
    /// that one sink dropped and the others wrote counts here; [`SinkStats`] has the detail).
    pub dropped: u64,
    /// Records at least one sink could not take after retries, or lost to a writer panic.
    pub failed: u64,
    /// Records accepted but not yet written, dropped or failed.
    pub pending: u64,
    /// Records in the queue now.
    pub queue_len: u64,
    pub queue_capacity: u64,
    /// The longest queue the writer or a producer observed.
    pub queue_peak: u64,
    /// Batches the writer processed.
    pub batches: u64,
    /// Bytes handed to file and console sinks.
    pub bytes_written: u64,
    /// Failed write attempts (each retry counts).
    pub write_errors: u64,
    /// File rotations done by this process (size or time).
    pub rotations: u64,
    /// Times the writer was restarted after a panic.
    pub writer_restarts: u64,
}

/// The live counters. Producers touch them only on slow paths (drops and sync mode).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub written: AtomicU64,
    pub failed: AtomicU64,
    /// Records removed by `drop_oldest` (they had a queue position).
    pub dropped_queued: AtomicU64,
    /// Records refused for lack of room (`drop_newest`, `warn`, block timeouts): never queued.
    pub refused: AtomicU64,
    /// Records a sink's lane dropped by its own overflow policy (and no sink failed).
    pub dropped_sinks: AtomicU64,
    /// Records written directly in sync mode (never queued).
    pub sync_submitted: AtomicU64,
    /// Queue positions that belong to a parent process (set in a child after `fork`).
    pub tail_base: AtomicU64,
    pub batches: AtomicU64,
    pub bytes_written: AtomicU64,
    pub write_errors: AtomicU64,
    pub queue_peak: AtomicU64,
    pub writer_restarts: AtomicU64,
    pub rotations: AtomicU64,
    /// `reopen()` calls: the writer reopens its files when this differs from what it saw.
    pub reopen_requests: AtomicU64,
}

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        if n != 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn peak(&self, len: u64) {
        self.queue_peak.fetch_max(len, Ordering::Relaxed);
    }

    /// Reads outcomes before submissions, so that `pending` can never be negative.
    pub fn snapshot(&self, tail: impl Fn() -> u64, head: impl Fn() -> u64, capacity: u64) -> Stats {
        let written = self.written.load(Ordering::SeqCst);
        let failed = self.failed.load(Ordering::SeqCst);
        let dropped_queued = self.dropped_queued.load(Ordering::SeqCst);
        let refused = self.refused.load(Ordering::SeqCst);
        let dropped_sinks = self.dropped_sinks.load(Ordering::SeqCst);
        let sync_submitted = self.sync_submitted.load(Ordering::SeqCst);
        let tail = tail();
        // Read after `tail`: the head only grows, so `tail - head` cannot exceed the capacity.
        let head = head();
        let base = self.tail_base.load(Ordering::SeqCst);
        let submitted = tail.saturating_sub(base) + refused + sync_submitted;
        let dropped = dropped_queued + refused + dropped_sinks;
        Stats {
            submitted,
            written,
            dropped,
            failed,
            pending: submitted.saturating_sub(written + dropped + failed),
            queue_len: tail.saturating_sub(head),
            queue_capacity: capacity,
            queue_peak: self.queue_peak.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
            writer_restarts: self.writer_restarts.load(Ordering::Relaxed),
        }
    }

    /// In a fork child: the parent's records are the parent's; start counting afresh.
    pub fn reset_after_fork(&self, tail: u64) {
        for c in [
            &self.written,
            &self.failed,
            &self.dropped_queued,
            &self.refused,
            &self.dropped_sinks,
            &self.sync_submitted,
            &self.batches,
            &self.bytes_written,
            &self.write_errors,
            &self.queue_peak,
            &self.writer_restarts,
            &self.rotations,
        ] {
            c.store(0, Ordering::SeqCst);
        }
        self.tail_base.store(tail, Ordering::SeqCst);
    }
}

/// A snapshot of one sink's counters. Counts are of records (lines) unless named bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// The sink's name: `file`, `file.NAME`, `console`, `syslog`, `sqlite`, `otlp`,
    /// `callback.N`, `batch_callback.N`.
    pub name: String,
    /// Where it writes: a path, `stdout`, `syslog at PATH` (or at `udp://HOST:PORT`,
    /// `tcp://HOST:PORT`), `sqlite at PATH`, the OTLP collector's URL
    /// (`http://HOST:PORT/v1/logs`), `callback`.
    pub target: String,
    /// Records handed to the sink (those at or above its level).
    pub taken: u64,
    /// Records the sink wrote.
    pub written: u64,
    /// Records its lane dropped by the sink's overflow policy (a full backlog, a stalled
    /// receiver past `stall_timeout_ms`).
    pub dropped: u64,
    /// Records the sink could not write (after retries).
    pub failed: u64,
    /// Failed write attempts (each retry counts).
    pub write_errors: u64,
    pub bytes_written: u64,
    /// Records waiting in the sink's lane now, and the most that ever waited.
    pub backlog: u64,
    pub backlog_peak: u64,
    /// The sink's last error, if any.
    pub last_error: Option<String>,
}

/// One sink's live counters, shared by the pipeline, the sink's lane and `stats()` readers.
#[derive(Debug, Default)]
pub(crate) struct SinkCounters {
    pub name: String,
    pub target: String,
    pub taken: AtomicU64,
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    pub write_errors: AtomicU64,
    pub bytes_written: AtomicU64,
    pub backlog: AtomicU64,
    pub backlog_peak: AtomicU64,
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl SinkCounters {
    pub fn new(name: String, target: String) -> SinkCounters {
        SinkCounters {
            name,
            target,
            ..SinkCounters::default()
        }
    }

    pub fn set_error(&self, e: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
    }

    pub fn snapshot(&self) -> SinkStats {
        let r = |c: &AtomicU64| c.load(Ordering::SeqCst);
        SinkStats {
            name: self.name.clone(),
            target: self.target.clone(),
            taken: r(&self.taken),
            written: r(&self.written),
            dropped: r(&self.dropped),
            failed: r(&self.failed),
            write_errors: r(&self.write_errors),
            bytes_written: r(&self.bytes_written),
            backlog: r(&self.backlog),
            backlog_peak: r(&self.backlog_peak),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// In a fork child: the parent's records are the parent's.
    pub fn reset_after_fork(&self) {
        for c in [
            &self.taken,
            &self.written,
            &self.dropped,
            &self.failed,
            &self.write_errors,
            &self.bytes_written,
            &self.backlog,
            &self.backlog_peak,
        ] {
            c.store(0, Ordering::SeqCst);
        }
    }
}
