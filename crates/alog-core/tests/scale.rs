//! A thousand loggers in one process share the writer pool: a handful of threads, and queue
//! memory only for what is used.

mod common;

use std::time::Duration;

use alog_core::{Level, Logger};
use common::{lines, rss_kib};

fn alog_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim().starts_with("alog-"))
        .count()
}

#[test]
fn a_thousand_loggers_run_on_a_handful_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let before = rss_kib();
    let loggers: Vec<Logger> = (0..1000)
        .map(|i| {
            Logger::builder()
                .path(dir.path().join(format!("tenant-{i}.log")))
                .build()
                .unwrap()
        })
        .collect();
    for (i, log) in loggers.iter().enumerate() {
        for r in 0..10 {
            log.log(Level::INFO, format!("tenant {i} record {r}"))
                .unwrap();
        }
    }
    for log in &loggers {
        log.flush(Some(Duration::from_secs(30))).unwrap();
    }
    let threads = alog_threads();
    let grown = rss_kib().saturating_sub(before);
    assert!(threads <= 16, "{threads} alog threads for 1000 loggers");
    assert!(grown <= 128 * 1024, "1000 loggers took {grown} KiB");
    for log in &loggers {
        log.close(None).unwrap();
        let s = log.stats();
        assert_eq!((s.submitted, s.written, s.pending), (10, 10, 0));
    }
    for i in 0..1000 {
        let got = lines(&dir.path().join(format!("tenant-{i}.log")));
        assert_eq!(got.len(), 10, "tenant {i}");
        assert!(got[9].ends_with(&format!("tenant {i} record 9")));
    }
    eprintln!("1000 loggers: {threads} alog threads, {grown} KiB");
}
