//! Each overflow policy's exact accounting, with the writer stalled at a known point: a
//! callback sink whose lane holds nothing beyond the record it is writing
//! (`callback.backlog=0`), so that when the callback stalls the writer leaves the queue alone.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alog_core::{Error, Level, Logger, Overflow};
use common::Gate;

/// A logger whose only sink is a callback that records each message and stalls on `gate`
/// when it sees the message "stall".
fn stalled(
    cap: usize,
    overflow: Overflow,
    block_timeout: Option<Duration>,
) -> (Logger, Gate, Arc<Mutex<Vec<String>>>) {
    let gate = Gate::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (g, s) = (gate.clone(), seen.clone());
    let log = Logger::builder()
        .queue_capacity(cap)
        .batch_size(1)
        .overflow(overflow)
        .block_timeout(block_timeout)
        .set("pattern", "{msg}")
        .unwrap()
        .set("callback.backlog", "0")
        .unwrap()
        .callback(None, None, move |_, line| {
            let text = String::from_utf8(line.to_vec()).unwrap();
            if text == "stall" {
                g.pass();
            }
            s.lock().unwrap().push(text);
        })
        .build()
        .unwrap();
    log.log(Level::INFO, "stall").unwrap();
    gate.wait_entered(1);
    (log, gate, seen)
}

fn fill(log: &Logger, n: usize) -> Vec<Result<(), Error>> {
    (0..n)
        .map(|i| log.log(Level::INFO, format!("m{i}")))
        .collect()
}

#[test]
fn drop_newest_keeps_the_oldest_and_counts_the_rest() {
    let (log, gate, seen) = stalled(4, Overflow::DropNewest, None);
    let results = fill(&log, 10);
    assert!(results[..4].iter().all(|r| r.is_ok()));
    assert!(results[4..].iter().all(|r| matches!(r, Err(Error::Full))));
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.dropped, s.pending, s.written),
        (11, 6, 5, 0)
    );
    gate.open();
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.failed, s.pending),
        (11, 5, 6, 0, 0)
    );
    assert_eq!(*seen.lock().unwrap(), ["stall", "m0", "m1", "m2", "m3"]);
}

#[test]
fn drop_oldest_keeps_the_newest() {
    let (log, gate, seen) = stalled(4, Overflow::DropOldest, None);
    assert!(fill(&log, 10).iter().all(|r| r.is_ok()));
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (11, 6, 5));
    gate.open();
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.pending),
        (11, 5, 6, 0)
    );
    assert_eq!(*seen.lock().unwrap(), ["stall", "m6", "m7", "m8", "m9"]);
}

#[test]
fn warn_drops_like_drop_newest() {
    let (log, gate, seen) = stalled(2, Overflow::Warn, None);
    let results = fill(&log, 5);
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(Error::Full)))
            .count(),
        3
    );
    gate.open();
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.dropped, s.pending), (6, 3, 3, 0));
    assert_eq!(*seen.lock().unwrap(), ["stall", "m0", "m1"]);
}

#[test]
fn block_with_timeout_drops_after_waiting() {
    let (log, gate, seen) = stalled(2, Overflow::Block, Some(Duration::from_millis(30)));
    let t = std::time::Instant::now();
    let results = fill(&log, 4);
    assert!(
        t.elapsed() >= Duration::from_millis(60),
        "two calls each waited the timeout"
    );
    assert!(results[..2].iter().all(|r| r.is_ok()));
    assert!(results[2..]
        .iter()
        .all(|r| matches!(r, Err(Error::Timeout))));
    gate.open();
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.dropped, s.pending), (5, 3, 2, 0));
    assert_eq!(*seen.lock().unwrap(), ["stall", "m0", "m1"]);
}

#[test]
fn block_forever_waits_for_room_and_loses_nothing() {
    let (log, gate, seen) = stalled(2, Overflow::Block, None);
    let log2 = log.clone();
    let producer = std::thread::spawn(move || fill(&log2, 50));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        log.stats().submitted,
        3,
        "the producer is blocked with a full queue"
    );
    gate.open();
    assert!(producer.join().unwrap().iter().all(|r| r.is_ok()));
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.pending),
        (51, 51, 0, 0)
    );
    let expected: Vec<String> = std::iter::once("stall".to_string())
        .chain((0..50).map(|i| format!("m{i}")))
        .collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[test]
fn identity_holds_while_threads_race_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let log = Logger::builder()
        .path(dir.path().join("a.log"))
        .queue_capacity(64)
        .overflow(Overflow::DropOldest)
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    log.info("x");
                }
            })
        })
        .collect();
    for _ in 0..2000 {
        let s = log.stats();
        assert_eq!(
            s.submitted,
            s.written + s.dropped + s.failed + s.pending,
            "{s:?}"
        );
        assert!(s.queue_len <= 64);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in producers {
        p.join().unwrap();
    }
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!(s.pending, 0);
    assert_eq!(s.submitted, s.written + s.dropped);
    assert_eq!(
        common::lines(&dir.path().join("a.log")).len() as u64,
        s.written
    );
}

#[test]
fn try_write_record_never_waits_and_counts_nothing_when_full() {
    let (log, gate, seen) = stalled(2, Overflow::Block, None);
    let rec = |m| alog_core::Record::new(Level::INFO, m);
    assert!(log.try_write_record(&rec("a")).unwrap());
    assert!(log.try_write_record(&rec("b")).unwrap());
    assert!(!log.try_write_record(&rec("c")).unwrap());
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (3, 0, 3));
    gate.open();
    log.close(None).unwrap();
    assert_eq!(*seen.lock().unwrap(), ["stall", "a", "b"]);
}

#[test]
fn try_write_record_applies_drop_policies_as_usual() {
    let (log, gate, _seen) = stalled(1, Overflow::DropNewest, None);
    let rec = alog_core::Record::new(Level::INFO, "x");
    assert!(log.try_write_record(&rec).unwrap());
    assert!(matches!(log.try_write_record(&rec), Err(Error::Full)));
    assert_eq!(log.stats().dropped, 1);
    gate.open();
    log.close(None).unwrap();
}

#[test]
fn interruptible_write_asks_every_step_and_counts_the_interrupted_record() {
    let (log, gate, seen) = stalled(1, Overflow::Block, None);
    log.log(Level::INFO, "queued").unwrap();
    let mut asked = 0;
    let started = std::time::Instant::now();
    let r = log.write_record_interruptible(
        &alog_core::Record::new(Level::INFO, "interrupted"),
        Duration::from_millis(5),
        &mut || {
            asked += 1;
            asked < 3
        },
    );
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    assert_eq!(asked, 3);
    assert!(started.elapsed() >= Duration::from_millis(15));
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (3, 1, 2));
    gate.open();
    log.close(None).unwrap();
    assert_eq!(*seen.lock().unwrap(), ["stall", "queued"]);
    assert_eq!(log.stats().written, 2);
}

#[test]
fn interruptible_write_goes_through_once_room_appears() {
    let (log, gate, seen) = stalled(1, Overflow::Block, None);
    log.log(Level::INFO, "queued").unwrap();
    // The queue is full and the writer stalled until the gate opens, which the first question
    // does: the call must have waited and asked, whatever the scheduling. (A watchdog opens it
    // after 10 s, so that a call that never asks fails the test instead of hanging it.)
    let watchdog = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(10));
            gate.open();
        })
    };
    let mut asked = 0;
    log.write_record_interruptible(
        &alog_core::Record::new(Level::INFO, "late"),
        Duration::from_millis(5),
        &mut || {
            asked += 1;
            if asked == 1 {
                gate.open();
            }
            true
        },
    )
    .unwrap();
    assert!(asked >= 1);
    log.close(None).unwrap();
    assert_eq!(*seen.lock().unwrap(), ["stall", "queued", "late"]);
    drop(watchdog); // detached: it only opens an open gate
    assert_eq!(log.stats().dropped, 0);
}

/// The deferred (printf call site) forms of `try_write_record` and
/// `write_record_interruptible` keep the same promises: never wait and count nothing when full;
/// ask every step and count the record given up.
#[test]
fn deferred_calls_never_wait_or_ask_every_step_like_records() {
    use alog_core::printf::Arg;
    let site = alog_core::register_site(b"n=%lld s=%s", b"", 0, b"").unwrap();
    let (log, gate, seen) = stalled(2, Overflow::Block, None);
    let args = |n| [Arg::Int(n), Arg::Str(Some(b"x"))];
    assert!(log
        .try_log_deferred(Level::INFO, None, site, &args(1))
        .unwrap());
    assert!(log
        .try_log_deferred(Level::INFO, None, site, &args(2))
        .unwrap());
    assert!(!log
        .try_log_deferred(Level::INFO, None, site, &args(3))
        .unwrap());
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (3, 0, 3));
    let mut asked = 0;
    let r = log.log_deferred_interruptible(
        Level::INFO,
        None,
        site,
        &args(4),
        Duration::from_millis(5),
        &mut || {
            asked += 1;
            asked < 2
        },
    );
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    assert_eq!(asked, 2);
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (4, 1, 3));
    // An unknown site is refused by name, and nothing is counted.
    let r = log.try_log_deferred(Level::INFO, None, u32::MAX, &args(5));
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("unknown site")),
        "{r:?}"
    );
    gate.open();
    log.close(None).unwrap();
    assert_eq!(*seen.lock().unwrap(), ["stall", "n=1 s=x", "n=2 s=x"]);
    assert_eq!(log.stats().written, 3);
}

/// A site registered without a location (a binding's format) gives records without a source;
/// a deferred record given its own timestamp carries it.
#[test]
fn deferred_sites_without_location_and_own_timestamps() {
    use alog_core::printf::Arg;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = Logger::builder()
        .path(&path)
        .set("format", "json")
        .unwrap()
        .build()
        .unwrap();
    let bare = alog_core::register_site(b"took %.1f ms", b"", 0, b"").unwrap();
    let located = alog_core::register_site(b"took %.1f ms", b"app.c", 7, b"main").unwrap();
    let ts = 1_700_000_000_123_456_789;
    assert!(log
        .try_log_deferred(Level::WARN, Some(ts), bare, &[Arg::Float(2.25)])
        .unwrap());
    log.log_deferred(Level::INFO, located, &[Arg::Float(0.5)])
        .unwrap();
    log.close(None).unwrap();
    let lines = common::lines(&path);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        r#"{"ts":"2023-11-14T22:13:20.123456Z","level":"WARN","msg":"took 2.2 ms"}"#
    );
    assert!(
        lines[1].contains(r#""msg":"took 0.5 ms","source":{"file":"app.c","line":7"#),
        "{}",
        lines[1]
    );
}

/// A queue smaller than `batch_size`: the writer must be woken before the queue is full, or
/// every burst that fills it waits (`block`) or loses records (`drop_newest`) until the batch
/// timeout. The wake-up comes at half the queue, so half a queue of records is written with
/// no flush and no timeout (here an hour) to help.
#[test]
fn a_queue_smaller_than_the_batch_wakes_the_writer_at_half() {
    for cap in [2usize, 10, 64, 1000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let log = Logger::builder()
            .queue_capacity(cap)
            .batch_size(1024)
            .batch_timeout(Duration::from_secs(3600))
            .overflow(Overflow::DropNewest)
            .set("pattern", "{msg}")
            .unwrap()
            .path(&path)
            .build()
            .unwrap();
        let half = cap / 2;
        for i in 0..half {
            log.log(Level::INFO, format!("m{i}")).unwrap();
        }
        let watched = log.clone();
        common::within(20, &format!("writing half a queue of {cap}"), move || {
            while watched.stats().written < half as u64 {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let s = log.stats();
        assert_eq!((s.submitted, s.dropped), (half as u64, 0), "queue of {cap}");
        log.close(None).unwrap();
        assert_eq!(common::lines(&path).len(), half, "queue of {cap}");
    }
}
