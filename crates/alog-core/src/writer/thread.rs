//! The `alog-writer` thread: waits for a batch, takes everything available, formats and
//! writes it, and keeps the periodic duties (interval fsync, overflow notices). A panic
//! restarts the loop with backoff; after repeated panics the logger falls back to writing on
//! the callers' threads.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::front::config::Fsync;
use crate::front::error::Error;
use crate::front::stats::Counters;
use crate::queue::Batch;
use crate::writer::shared::{finish, guard, Shared};

const MAX_RESTARTS: u32 = 3;
/// The most records one batch takes out of the queue.
const MAX_BATCH: usize = 1 << 16;

pub(crate) fn run(s: Arc<Shared>) {
    let mut batch = Batch::default();
    let mut restarts = 0u32;
    loop {
        match guard(|| writer_loop(&s, &mut batch)) {
            Ok(()) => break,
            Err(msg) => {
                // The interrupted batch may be partly written; it is counted failed, never twice.
                Counters::add(&s.counters.failed, batch.len() as u64);
                batch.clear();
                s.with_pipeline(|p| p.discard_buffers());
                s.notify_progress();
                s.counters.writer_restarts.fetch_add(1, Ordering::Relaxed);
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    s.errors.report(Error::invalid(format!(
                        "alog-writer panicked {restarts} times (last: {msg}); writing synchronously from now on"
                    )));
                    s.fall_back_to_sync();
                    s.drain_sync();
                    s.notify_progress();
                    if s.stop_requested() {
                        finish(&s);
                    }
                    break;
                }
                s.errors.report(Error::invalid(format!(
                    "alog-writer panicked: {msg}; restarting"
                )));
                std::thread::sleep(Duration::from_millis(10 << restarts));
            }
        }
    }
    s.writer_exited();
}

fn writer_loop(s: &Shared, batch: &mut Batch) {
    let interval_sync = s.fsync == Fsync::Interval;
    let mut next_sync = Instant::now() + s.flush_interval;
    let mut warn = WarnNotice::default();
    let max_batch = (s.queue.capacity() as usize).min(MAX_BATCH);
    let batch_size = s.queue.capacity().min(s.batch_size) as u32;
    let mut last_take = Instant::now();
    // How long the next batch should take to fill, judged by the last one.
    let mut fill: Option<Duration> = None;
    loop {
        let mut until = Instant::now() + s.batch_timeout;
        if interval_sync {
            until = until.min(next_sync);
        }
        let stop = s.wait_for_work(until, fill);
        let now = Instant::now();
        let mut taken = 0u32;
        loop {
            batch.clear();
            let n = s.queue.pop_into(max_batch, batch);
            if n == 0 {
                break;
            }
            taken = taken.saturating_add(n as u32);
            // What the writer found queued (the claim position is not read: see wait_for_work).
            s.counters.peak(n as u64);
            if s.take_injected_panic() {
                panic!("injected writer panic (test hook)");
            }
            let base = s.base_level();
            let processed =
                s.with_pipeline(|p| s.in_sinks(|| p.process(batch, base, &s.counters, &s.errors)));
            if processed.is_none() {
                Counters::add(&s.counters.failed, n as u64);
            }
            batch.clear();
            s.notify_progress();
            if n < max_batch {
                break;
            }
        }
        s.notify_progress();
        fill = (taken > 0).then(|| (now - last_take) * batch_size / taken);
        last_take = now;
        if interval_sync && Instant::now() >= next_sync {
            s.with_pipeline(|p| p.sync_files(&s.errors));
            next_sync = Instant::now() + s.flush_interval;
        }
        warn.tick(s.take_warn_pending(), stop);
        if stop {
            finish(s);
            return;
        }
    }
}

/// `overflow=warn`: at most one line per second on stderr with the number dropped.
#[derive(Default)]
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
