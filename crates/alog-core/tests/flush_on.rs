//! `flush_on`: a record at or above the level is written out at once, with everything queued
//! before it, instead of waiting for its batch to fill or for `batch_timeout_ms`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use alog_core::{Level, Logger};

/// A logger whose batches never fill (1000 records) and never time out (an hour).
fn patient(path: &Path, flush_on: &str) -> Logger {
    Logger::builder()
        .path(path)
        .level(Level::DEBUG)
        .set("batch_size", "1000")
        .and_then(|b| b.set("batch_timeout_ms", "3600000"))
        .and_then(|b| b.set("flush_on", flush_on))
        .and_then(|b| b.build())
        .unwrap()
}

fn messages(path: &Path) -> Vec<String> {
    common::lines(path)
        .iter()
        .map(|l| common::message(l).to_string())
        .collect()
}

/// Waits up to 10 s for `n` lines.
fn wait_for_lines(path: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::lines(path).len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    messages(path)
}

#[test]
fn a_record_at_the_level_writes_out_everything_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = patient(&path, "error");
    log.info("first");
    log.warn("second");
    std::thread::sleep(Duration::from_millis(300));
    assert!(messages(&path).is_empty(), "below flush_on: still queued");
    log.error("third");
    assert_eq!(wait_for_lines(&path, 3), ["first", "second", "third"]);
    log.fatal("fourth"); // above the level too
    assert_eq!(wait_for_lines(&path, 4).len(), 4);
    log.flush(None).unwrap(); // the counters follow the write
    let st = log.stats();
    assert_eq!((st.submitted, st.written), (4, 4));
    log.close(None).unwrap();
}

#[test]
fn without_flush_on_the_same_records_wait_for_their_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = patient(&path, "never");
    log.info("first");
    log.error("second");
    std::thread::sleep(Duration::from_millis(300));
    assert!(messages(&path).is_empty(), "nothing asked for a write");
    log.close(None).unwrap();
    assert_eq!(messages(&path), ["first", "second"]);
}
