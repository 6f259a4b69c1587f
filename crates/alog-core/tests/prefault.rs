//! `queue_prefault`: the queue's memory is resident once the logger is open, and only then.
//! One test in its own process, so that no other test's memory moves the numbers.

mod common;

use alog_core::{Level, Logger};
use common::{lines, rss_kib};

/// 65536 records of 256 bytes: 16 MiB.
const CAPACITY: usize = 65536;
const QUEUE_KIB: u64 = (CAPACITY as u64 * 256) / 1024;

fn open(path: &std::path::Path, prefault: bool) -> Logger {
    Logger::builder()
        .path(path)
        .set("queue_capacity", &CAPACITY.to_string())
        .unwrap()
        .set("queue_prefault", if prefault { "true" } else { "false" })
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn a_prefaulted_queue_is_resident_at_open_and_a_lazy_one_is_not() {
    let dir = tempfile::tempdir().unwrap();

    let before = rss_kib();
    let lazy = open(&dir.path().join("lazy.log"), false);
    let lazy_growth = rss_kib().saturating_sub(before);
    assert!(
        lazy_growth < QUEUE_KIB / 4,
        "a lazy queue of {QUEUE_KIB} KiB took {lazy_growth} KiB at open"
    );

    let before = rss_kib();
    let eager = open(&dir.path().join("eager.log"), true);
    let eager_growth = rss_kib().saturating_sub(before);
    assert!(
        eager_growth >= QUEUE_KIB,
        "a prefaulted queue of {QUEUE_KIB} KiB took only {eager_growth} KiB at open"
    );

    // The prefaulted queue holds records as any other: a burst larger than the writer's
    // batches, every line written once, in order.
    for i in 0..10_000 {
        eager.log(Level::INFO, format!("r {i}")).unwrap();
        lazy.log(Level::INFO, format!("r {i}")).unwrap();
    }
    eager.close(None).unwrap();
    lazy.close(None).unwrap();
    for name in ["eager.log", "lazy.log"] {
        let got = lines(&dir.path().join(name));
        assert_eq!(got.len(), 10_000, "{name}");
        for (i, l) in got.iter().enumerate() {
            assert!(l.ends_with(&format!(" INFO r {i}")), "{name} line {i}: {l}");
        }
    }
    let s = eager.stats();
    assert_eq!((s.submitted, s.written, s.dropped), (10_000, 10_000, 0));
}
