//! Sink lanes: a slow or stalled sink delays only itself. Each test plants the slow thing (a
//! syslog receiver that never reads, a callback that sleeps, a receiver that is missing and
//! then appears) beside a file sink and checks that the file gets every record, that calls
//! and close return, and that every record is accounted for per sink.

mod common;

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alog_core::{Level, Logger};
use common::{lines, sink};

/// Datagrams waiting on `rx` now.
fn drain(rx: &UnixDatagram) -> Vec<String> {
    rx.set_nonblocking(true).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    while let Ok(n) = rx.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// The message id ("m123") at the end of a syslog datagram.
fn ids(datagrams: &[String]) -> Vec<u64> {
    datagrams
        .iter()
        .map(|d| d.rsplit(' ').next().unwrap()[1..].parse().unwrap())
        .collect()
}

#[test]
fn a_syslog_receiver_that_never_reads_costs_only_its_own_sink() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("syslog.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let path = dir.path().join("app.log");
    const N: u64 = 50_000;
    let log = Logger::builder()
        .path(&path)
        .set("syslog", sock.to_str().unwrap())
        .unwrap()
        .set("stall_timeout_ms", "200")
        .unwrap()
        .set("pattern", "{msg}")
        .unwrap()
        .build()
        .unwrap();
    let start = Instant::now();
    for i in 0..N {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.flush(Some(Duration::from_secs(20))).unwrap();
    let flushed = start.elapsed();
    // The file has every record, in order.
    let got = lines(&path);
    assert_eq!(got.len() as u64, N);
    assert!(got.iter().enumerate().all(|(i, l)| *l == format!("m{i}")));
    log.close(Some(Duration::from_secs(20))).unwrap();
    // Flush and close waited for the stalled receiver at most about the stall timeout each,
    // not a second per record (the bound is generous: this is a hang check, not a benchmark).
    assert!(flushed < Duration::from_secs(10), "flush took {flushed:?}");

    let st = log.sink_stats();
    let (file, sys) = (sink(&st, "file"), sink(&st, "syslog"));
    assert_eq!(
        (file.taken, file.written, file.dropped, file.failed),
        (N, N, 0, 0)
    );
    assert_eq!(sys.taken, N);
    assert_eq!(sys.written + sys.dropped + sys.failed, N, "{sys:?}");
    assert!(
        sys.dropped > 0,
        "the receiver never read, yet nothing was dropped: {sys:?}"
    );
    assert_eq!(sys.backlog, 0);
    assert!(
        sys.last_error
            .as_deref()
            .unwrap_or("")
            .contains("took nothing for 200 ms"),
        "{sys:?}"
    );
    // What the receiver holds is exactly what the sink counted as written, in order.
    let received = ids(&drain(&rx));
    assert_eq!(received.len() as u64, sys.written);
    assert!(received.windows(2).all(|w| w[0] < w[1]));
    // Overall: a record the file wrote and syslog dropped counts as dropped.
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped, s.failed, s.pending),
        (N, sys.written, sys.dropped, sys.failed, 0)
    );
}

#[test]
fn a_receiver_that_comes_back_gets_everything_that_waited() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("syslog.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let path = dir.path().join("app.log");
    const N: u64 = 5_000;
    let log = Logger::builder()
        .path(&path)
        .set("syslog", sock.to_str().unwrap())
        .unwrap()
        .set("stall_timeout_ms", "30000")
        .unwrap()
        .set("pattern", "{msg}")
        .unwrap()
        .build()
        .unwrap();
    for i in 0..N {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    // The file gets everything while syslog is stalled.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (lines(&path).len() as u64) < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lines(&path).len() as u64, N);
    let stalled = sink(&log.sink_stats(), "syslog").clone();
    assert!(stalled.backlog > 0, "syslog was not stalled: {stalled:?}");
    // Now the receiver reads: the lane recovers by itself and delivers what waited.
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        while (got.len() as u64) < N {
            match rx.recv(&mut buf) {
                Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(_) => break,
            }
        }
        got
    });
    log.close(Some(Duration::from_secs(20))).unwrap();
    let got = ids(&reader.join().unwrap());
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    let sys = sink(&log.sink_stats(), "syslog").clone();
    assert_eq!(
        (sys.taken, sys.written, sys.dropped, sys.failed),
        (N, N, 0, 0)
    );
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.dropped, s.pending), (N, N, 0, 0));
}

#[test]
fn a_sleeping_callback_delays_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    const N: u64 = 20_000;
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let log = Logger::builder()
        .path(&path)
        .batch_size(64)
        .set("callback.overflow", "drop")
        .unwrap()
        .set("callback.backlog", "4k")
        .unwrap()
        .callback(None, None, move |_, _| {
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
        })
        .build()
        .unwrap();
    for i in 0..N {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.flush(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(lines(&path).len() as u64, N);
    log.close(Some(Duration::from_secs(30))).unwrap();
    let st = log.sink_stats();
    let cb = sink(&st, "callback.0");
    assert_eq!(cb.taken, N);
    assert_eq!(cb.written, calls.load(Ordering::SeqCst));
    assert_eq!(cb.written + cb.dropped, N, "{cb:?}");
    assert!(cb.dropped > 0 && cb.failed == 0, "{cb:?}");
    assert_eq!(sink(&st, "file").written, N);
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (N, cb.dropped, 0));
}

#[test]
fn a_slow_callback_that_waits_loses_nothing() {
    // The default for callbacks: its lane waits for it (and the queue's policy applies).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    const N: u64 = 200;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let log = Logger::builder()
        .path(&path)
        .queue_capacity(16)
        .set("pattern", "{msg}")
        .unwrap()
        .callback(None, None, move |_, line| {
            std::thread::sleep(Duration::from_micros(500));
            s2.lock()
                .unwrap()
                .push(String::from_utf8_lossy(line).into_owned());
        })
        .build()
        .unwrap();
    for i in 0..N {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.close(None).unwrap();
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(*seen.lock().unwrap(), want);
    assert_eq!(lines(&path), want);
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.dropped, s.failed), (N, N, 0, 0));
}

#[test]
fn a_missing_receiver_fails_its_records_and_the_sink_recovers_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("later.sock");
    let path = dir.path().join("app.log");
    let log = Logger::builder()
        .path(&path)
        .set("syslog", sock.to_str().unwrap())
        .unwrap()
        .set("pattern", "{msg}")
        .unwrap()
        .build()
        .unwrap();
    for i in 0..10 {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.flush(None).unwrap();
    let before = sink(&log.sink_stats(), "syslog").clone();
    assert_eq!((before.taken, before.written, before.failed), (10, 0, 10));
    assert!(before.last_error.unwrap().contains("later.sock"));
    // The receiver appears: the next records reach it.
    let rx = UnixDatagram::bind(&sock).unwrap();
    for i in 10..20 {
        log.log(Level::INFO, format!("m{i}")).unwrap();
    }
    log.close(None).unwrap();
    assert_eq!(ids(&drain(&rx)), (10..20).collect::<Vec<_>>());
    let after = sink(&log.sink_stats(), "syslog").clone();
    assert_eq!((after.taken, after.written, after.failed), (20, 10, 10));
    assert_eq!(lines(&path).len(), 20);
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.failed, s.pending),
        (20, 10, 10, 0)
    );
}

#[test]
fn lane_settings_are_checked() {
    let mut c = alog_core::Config::default();
    let e = c.set("console.overflow", "sometimes").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"sometimes\" for console.overflow: expected block|drop"
    );
    let e = c.set("syslog.backlog", "2g").unwrap_err();
    assert!(e.to_string().contains("syslog.backlog"), "{e}");
    let e = c.set("stall_timeout_ms", "0").unwrap_err();
    assert!(e.to_string().contains("stall_timeout_ms"), "{e}");
}

#[test]
fn records_accepted_before_a_level_change_are_written_by_the_level_that_took_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = Logger::builder()
        .path(&path)
        .level(Level::DEBUG)
        .batch_timeout(Duration::from_secs(3600))
        .set("pattern", "{level} {msg}")
        .unwrap()
        .build()
        .unwrap();
    for i in 0..100 {
        let level = if i % 2 == 0 {
            Level::DEBUG
        } else {
            Level::INFO
        };
        log.log(level, format!("m{i}")).unwrap();
    }
    // Still queued (the batch timeout is an hour): the change must not reach back to them.
    log.set_level(Level::WARN).unwrap();
    log.debug("after: filtered at the call");
    log.warn("after: taken");
    // And a lower level takes effect for what comes next.
    log.set_level(Level::DEBUG).unwrap();
    log.debug("lowered: taken");
    log.close(None).unwrap();
    let got = lines(&path);
    assert_eq!(got.len(), 102, "{:?}", &got[got.len().saturating_sub(3)..]);
    assert_eq!(got[0], "DEBUG m0");
    assert_eq!(got[99], "INFO m99");
    assert_eq!(got[100], "WARN after: taken");
    assert_eq!(got[101], "DEBUG lowered: taken");
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.bytes_written as usize),
        (102, 102, got.iter().map(|l| l.len() + 1).sum::<usize>())
    );
}
