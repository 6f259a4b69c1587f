//! Batching, flush, close, drop, sync mode, levels and several sinks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alog_core::{Error, Format, Level, Logger};
use common::{lines, message};

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn writer_wakes_at_batch_size_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.log");
    let log = Logger::builder()
        .path(&path)
        .batch_size(5)
        .batch_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    // Let the writer reach its first wait.
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..4 {
        log.info(format!("r{i}"));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        log.stats().written,
        0,
        "4 < batch_size: the writer keeps waiting"
    );
    log.info("r4");
    wait_until("the batch", || log.stats().written == 5);
    assert_eq!(log.stats().batches, 1);
    assert_eq!(
        lines(&path).iter().map(|l| message(l)).collect::<Vec<_>>(),
        ["r0", "r1", "r2", "r3", "r4"]
    );
}

#[test]
fn batch_timeout_writes_a_partial_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let log = Logger::builder()
        .path(&path)
        .batch_size(100)
        .batch_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let t = Instant::now();
    log.info("lonely");
    wait_until("the timeout batch", || log.stats().written == 1);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(lines(&path).len(), 1);
}

#[test]
fn flush_makes_everything_before_it_visible() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.log");
    let log = Logger::builder()
        .path(&path)
        .batch_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    for i in 0..1000 {
        log.info(format!("line {i}"));
    }
    log.flush(Some(Duration::from_secs(10))).unwrap();
    let got = lines(&path);
    assert_eq!(got.len(), 1000);
    assert_eq!(message(&got[999]), "line 999");
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.pending), (1000, 1000, 0));
}

#[test]
fn close_drains_refuses_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let log = Logger::builder().path(&path).build().unwrap();
    for i in 0..10_000 {
        log.info(format!("{i}"));
    }
    log.close(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(lines(&path).len(), 10_000);
    assert!(matches!(log.log(Level::INFO, "late"), Err(Error::Closed)));
    assert!(matches!(log.close(None), Err(Error::Closed)));
    assert!(matches!(log.flush(None), Err(Error::Closed)));
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.pending), (10_000, 10_000, 0));
    assert!(log.is_closed());
}

#[test]
fn dropping_the_last_clone_closes_and_writes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.log");
    {
        let log = Logger::builder()
            .path(&path)
            .batch_timeout(Duration::from_secs(3600))
            .build()
            .unwrap();
        let clone = log.clone();
        std::thread::spawn(move || {
            for i in 0..500 {
                clone.info(format!("t{i}"));
            }
        })
        .join()
        .unwrap();
        log.info("last");
    }
    let got = lines(&path);
    assert_eq!(got.len(), 501);
    assert_eq!(message(got.last().unwrap()), "last");
}

#[test]
fn sync_mode_writes_before_the_call_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let log = Logger::builder().path(&path).sync(true).build().unwrap();
    assert!(log.is_sync());
    log.info("one");
    assert_eq!(lines(&path).len(), 1, "written on the caller's thread");
    log.log(Level::DEBUG, "filtered").unwrap();
    log.warn("two");
    assert_eq!(lines(&path).len(), 2);
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.pending), (2, 2, 0));
    log.close(None).unwrap();
    assert!(matches!(log.log(Level::INFO, "x"), Err(Error::Closed)));
}

#[test]
fn levels_filter_per_sink_and_set_level_moves_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (simple, full) = (dir.path().join("simple.log"), dir.path().join("full.jsonl"));
    let log = Logger::builder()
        .path(&simple)
        .level(Level::INFO)
        .set("file.full.path", full.to_str().unwrap())
        .unwrap()
        .set("file.full.level", "debug")
        .unwrap()
        .set("file.full.format", "json")
        .unwrap()
        .build()
        .unwrap();
    assert!(log.enabled(Level::DEBUG), "the full sink takes debug");
    assert!(!log.enabled(Level::TRACE));
    log.log(Level::TRACE, "trace").unwrap();
    log.log(Level::DEBUG, "debug").unwrap();
    log.log(Level::INFO, "info").unwrap();
    log.flush(None).unwrap();
    assert_eq!(
        lines(&simple)
            .iter()
            .map(|l| message(l))
            .collect::<Vec<_>>(),
        ["info"]
    );
    let j = lines(&full);
    assert_eq!(j.len(), 2);
    assert!(
        j[0].contains("\"level\":\"DEBUG\",\"msg\":\"debug\""),
        "{}",
        j[0]
    );
    assert_eq!(log.stats().submitted, 2, "trace was below every sink");
    log.set_level(Level::TRACE).unwrap();
    log.log(Level::TRACE, "now").unwrap();
    log.close(None).unwrap();
    assert_eq!(lines(&simple).len(), 2);
    assert_eq!(lines(&full).len(), 2, "full keeps its own debug level");
}

#[test]
fn callback_sink_gets_each_line_with_its_level_and_a_nul_after_it() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let log = Logger::builder()
        .callback(Some(Level::WARN), Some(Format::Json), move |level, line| {
            // SAFETY: the core promises a readable NUL byte right after the line.
            let nul = unsafe { *line.as_ptr().add(line.len()) };
            assert_eq!(nul, 0);
            s2.lock()
                .unwrap()
                .push((level, String::from_utf8(line.to_vec()).unwrap()));
        })
        .level(Level::INFO)
        .build()
        .unwrap();
    log.info("quiet");
    log.error("loud");
    log.close(None).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, Level::ERROR);
    assert!(
        seen[0].1.ends_with("\"level\":\"ERROR\",\"msg\":\"loud\"}"),
        "{}",
        seen[0].1
    );
}

#[test]
fn messages_over_the_limit_are_refused_and_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let log = Logger::builder()
        .path(&path)
        .set("max_message_bytes", "1000")
        .unwrap()
        .build()
        .unwrap();
    assert!(matches!(
        log.log(Level::INFO, vec![b'a'; 1001]),
        Err(Error::TooLarge {
            len: 1001,
            max: 1000
        })
    ));
    log.log(Level::INFO, vec![b'a'; 1000]).unwrap();
    log.close(None).unwrap();
    assert_eq!(log.stats().submitted, 1);
    assert_eq!(message(&lines(&path)[0]).len(), 1000);
}

/// The limit counts the bytes the caller gave (message, keys, values), not alog's encoding.
#[test]
fn the_limit_counts_the_callers_bytes_of_a_structured_record() {
    use alog_core::{Field, Value};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fields.log");
    let log = Logger::builder()
        .path(&path)
        .set("max_message_bytes", "100")
        .unwrap()
        .build()
        .unwrap();
    let msg = "m".repeat(40);
    let key = "k".repeat(20);
    let value = "v".repeat(23);
    // 40 + 20 + 23 = 83 bytes: accepted.
    let f = [Field::new(&key, Value::Str(value.as_bytes()))];
    log.log_fields(Level::INFO, &msg, &f).unwrap();
    // 40 + 20 + 40 = 100: the limit itself, accepted.
    let value = "v".repeat(40);
    let f = [Field::new(&key, Value::Str(value.as_bytes()))];
    log.log_fields(Level::INFO, &msg, &f).unwrap();
    // 101: refused, naming the caller's count.
    let value = "v".repeat(41);
    let f = [Field::new(&key, Value::Str(value.as_bytes()))];
    assert!(matches!(
        log.log_fields(Level::INFO, &msg, &f),
        Err(Error::TooLarge { len: 101, max: 100 })
    ));
    // Numbers count 8 bytes, booleans 1: 40 + 20 + 8 + 1 + 1 = 70.
    let f = [
        Field::new(&key, Value::Int(-1)),
        Field::new("b", Value::Bool(true)),
    ];
    log.log_fields(Level::INFO, &msg, &f).unwrap();
    log.close(None).unwrap();
    assert_eq!(log.stats().submitted, 3);
    assert_eq!(lines(&path).len(), 3);
}

#[test]
fn open_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let e = Logger::builder()
        .path(file.join("sub/x.log"))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), 6);
    assert!(e.to_string().starts_with("cannot create folder"), "{e}");
    let e = Logger::builder().build().unwrap_err();
    assert!(e.to_string().contains("no sink configured"), "{e}");
}

#[test]
fn files_are_created_with_mode_and_parents() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/app.log");
    let log = Logger::builder().path(&path).build().unwrap();
    log.close(None).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    // The process umask can only remove bits.
    assert_eq!(mode & !0o640, 0, "mode {mode:o}");
    assert!(mode & 0o600 == 0o600);
}

/// A regular file every append to which fails: it is as large as its file system allows
/// (found by halving), so that a write past its end gives EFBIG. (A device such as
/// /dev/full is refused as a log path.)
fn full_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("full.log");
    let f = std::fs::File::create(&p).unwrap();
    let (mut lo, mut hi) = (0u64, i64::MAX as u64);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        match f.set_len(mid) {
            Ok(()) => lo = mid,
            Err(_) => hi = mid - 1,
        }
    }
    f.set_len(lo).unwrap();
    p
}

#[test]
fn error_callback_and_last_error_see_write_failures_while_other_sinks_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let full = full_file(dir.path());
    let errors = Arc::new(AtomicUsize::new(0));
    let delivered = Arc::new(AtomicUsize::new(0));
    let (e2, d2) = (errors.clone(), delivered.clone());
    let log = Logger::builder()
        .path(&full)
        .set("write_retries", "2")
        .unwrap()
        .on_error(move |e| {
            assert_eq!(e.code(), 6);
            e2.fetch_add(1, Ordering::SeqCst);
        })
        .callback(None, None, move |_, _| {
            d2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    for i in 0..10 {
        log.info(format!("{i}"));
    }
    log.flush(None).unwrap();
    let s = log.stats();
    assert_eq!(
        delivered.load(Ordering::SeqCst),
        10,
        "the callback sink still got every record"
    );
    assert_eq!(s.failed, 10, "no record reached the full file");
    assert_eq!(s.written, 0);
    assert_eq!(
        s.write_errors,
        3 * s.batches,
        "one try and two retries per batch"
    );
    assert_eq!(errors.load(Ordering::SeqCst) as u64, s.batches);
    let last = log.last_error().unwrap();
    assert!(
        last.contains("full.log") && last.contains("File too large"),
        "{last}"
    );
    log.close(None).unwrap();
}

#[test]
fn writer_panics_are_survived_then_sync_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.log");
    let log = Logger::builder().path(&path).build().unwrap();
    log.inject_writer_panics(1);
    log.info("lost in the panic");
    wait_until("restart", || log.stats().writer_restarts == 1);
    log.info("after restart");
    log.flush(Some(Duration::from_secs(10))).unwrap();
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.failed, s.pending), (2, 1, 1, 0));
    assert!(!log.is_sync());
    assert!(log.last_error().unwrap().contains("injected writer panic"));

    log.inject_writer_panics(100);
    let mut i = 0;
    while !log.is_sync() {
        log.info(format!("doomed {i}"));
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
        assert!(i < 2000, "never fell back to sync mode");
    }
    assert_eq!(log.stats().writer_restarts, 4);
    log.info("written by the caller");
    assert_eq!(
        message(lines(&path).last().unwrap()),
        "written by the caller"
    );
    log.close(None).unwrap();
    let s = log.stats();
    assert_eq!(s.submitted, s.written + s.failed);
    assert_eq!(s.pending, 0);
    assert_eq!(lines(&path).len() as u64, s.written);
}

#[test]
fn many_threads_every_record_once_in_per_thread_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.log");
    let log = Logger::builder()
        .path(&path)
        .queue_capacity(1024)
        .build()
        .unwrap();
    let (threads, n) = (4usize, 50_000usize);
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..n {
                    log.log(Level::INFO, format!("{t} {i}")).unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    log.close(None).unwrap();
    let mut next = vec![0usize; threads];
    for l in lines(&path) {
        let (t, i) = message(&l).split_once(' ').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[t], "thread {t}");
        next[t] += 1;
    }
    assert!(next.iter().all(|&c| c == n));
    assert_eq!(log.stats().written, (threads * n) as u64);
}

#[test]
fn log_files_are_opened_append_and_cloexec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.log");
    let log = Logger::builder().path(&path).build().unwrap();
    let fd = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| std::fs::read_link(e.path()).ok().as_deref() == Some(path.as_path()))
        .expect("the log file is open")
        .file_name();
    let info =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.to_str().unwrap())).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .unwrap()
        .trim();
    let flags = u32::from_str_radix(flags, 8).unwrap();
    assert_ne!(
        flags & libc::O_APPEND as u32,
        0,
        "O_APPEND missing: {flags:o}"
    );
    assert_ne!(
        flags & libc::O_CLOEXEC as u32,
        0,
        "O_CLOEXEC missing: {flags:o}"
    );
    log.close(None).unwrap();
}

fn open_with(path: &std::path::Path, settings: &str) -> Logger {
    let mut b = Logger::builder().path(path);
    for kv in settings.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap();
        b = b.set(k, v).unwrap();
    }
    b.build().unwrap()
}

/// The seeds' behaviours, as the README lists them, are configurations that work.
#[test]
fn seed_configurations_behave_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    // Device logger: queue of 10, writer woken at 5.
    let path = dir.path().join("device.log");
    let log = open_with(
        &path,
        "queue_capacity=10 batch_size=5 overflow=warn batch_timeout_ms=3600000",
    );
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..5 {
        log.info(format!("d{i}"));
    }
    wait_until("the device batch of 5", || lines(&path).len() == 5);
    assert_eq!(log.stats().queue_capacity, 10);

    // asyncio writer: 10 entries or 1 s.
    let path = dir.path().join("asyncio.log");
    let log = open_with(&path, "batch_size=10 batch_timeout_ms=1000 overflow=warn");
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..10 {
        log.info(format!("a{i}"));
    }
    wait_until("the asyncio batch of 10", || lines(&path).len() == 10);
    let t = Instant::now();
    log.info("alone");
    wait_until("the 1 s timeout", || lines(&path).len() == 11);
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "written before the batch timeout"
    );

    // Go LogManager: 1000 slots, 100 ms backpressure, then an error.
    let log = open_with(
        &dir.path().join("go.log"),
        "queue_capacity=1000 overflow=block block_timeout_ms=100",
    );
    assert_eq!(log.stats().queue_capacity, 1000);
    log.close(None).unwrap();
}

/// `time_zone=local`: `{ts}` and JSON's `ts` in local time with the UTC offset, as RFC 3339
/// writes it; the default stays UTC with `Z`.
#[test]
fn local_time_stamps_carry_the_offset() {
    // UTC in standard time and +05:30 in summer time, which (a made-up rule, no zone files
    // needed) runs from the first Sunday of November to the first Sunday of December: a
    // timestamp's suffix changes length (`Z` <-> `+05:30`) from one record to the next.
    std::env::set_var("TZ", "AAA0BBB-5:30,M11.1.0,M12.1.0");
    let dir = tempfile::tempdir().unwrap();
    let ns = 1_795_168_800_123_456_789i64; // 2026-11-20T10:00:00.123456Z
    let write = |name: &str, extra: &[(&str, &str)]| {
        let path = dir.path().join(name);
        let mut b = Logger::builder().path(&path);
        for (k, v) in extra {
            b = b.set(k, v).unwrap();
        }
        let log = b.build().unwrap();
        let mut rec = alog_core::Record::new(Level::INFO, "hello");
        rec.timestamp_ns = Some(ns);
        log.write_record(&rec).unwrap();
        log.close(None).unwrap();
        std::fs::read_to_string(&path).unwrap()
    };
    assert_eq!(
        write("utc.log", &[]),
        "2026-11-20T10:00:00.123456Z INFO hello\n"
    );
    assert_eq!(
        write("local.log", &[("time_zone", "local")]),
        "2026-11-20T15:30:00.123456+05:30 INFO hello\n"
    );
    // Across the end of summer time (2026-12-06 02:00 local = 2026-12-05T20:30:00Z) and
    // back, in one logger: each line carries its own offset, none a leftover of the last.
    let path = dir.path().join("switch.log");
    let log = Logger::builder()
        .path(&path)
        .set("time_zone", "local")
        .unwrap()
        .build()
        .unwrap();
    let end = 1_796_502_600_000_000_000i64; // 2026-12-05T20:30:00Z
    for ts in [end - 500_000_000, end + 250_000_000, ns, end + 250_000_000] {
        let mut rec = alog_core::Record::new(Level::INFO, "x");
        rec.timestamp_ns = Some(ts);
        log.write_record(&rec).unwrap();
    }
    log.close(None).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "2026-12-06T01:59:59.500000+05:30 INFO x\n\
         2026-12-05T20:30:00.250000Z INFO x\n\
         2026-11-20T15:30:00.123456+05:30 INFO x\n\
         2026-12-05T20:30:00.250000Z INFO x\n"
    );
    let json = write("local.json", &[("time_zone", "local"), ("format", "json")]);
    assert!(
        json.starts_with("{\"ts\":\"2026-11-20T15:30:00.123456+05:30\","),
        "{json}"
    );
    let e = Logger::builder().set("time_zone", "mars").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"mars\" for time_zone: expected utc|local"
    );
}

/// `backtrace=N` (spdlog's `enable_backtrace`): the last N records below the level wait in
/// memory and are written, in order, just before a record at `backtrace.level` or above.
#[test]
fn backtrace_writes_the_last_records_below_the_level_before_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bt.log");
    let log = Logger::builder()
        .path(&path)
        .set("backtrace", "3")
        .unwrap()
        .set("pattern", "{level} {msg}")
        .unwrap()
        .build()
        .unwrap();
    for i in 1..=5 {
        log.log(Level::DEBUG, format!("d{i}")).unwrap();
    }
    log.info("i1");
    log.log(Level::ERROR, "e1").unwrap();
    // The ring is empty after a dump: the next error shows only what came after.
    log.log(Level::TRACE, "t1").unwrap();
    log.log(Level::WARN, "w1").unwrap();
    log.log(Level::ERROR, "e2").unwrap();
    log.log(Level::DEBUG, "d6").unwrap();
    log.close(None).unwrap();
    assert_eq!(
        lines(&path),
        [
            "INFO i1", "DEBUG d3", "DEBUG d4", "DEBUG d5", "ERROR e1", "WARN w1", "TRACE t1",
            "ERROR e2"
        ]
    );
    // Every record is accounted for: one the ring took counts as written (the ring was its
    // only destination), whether an error showed it or not.
    let st = log.stats();
    assert_eq!(
        (st.submitted, st.written, st.dropped, st.failed),
        (11, 11, 0, 0)
    );
    // A bad value names the key.
    let e = Logger::builder().set("backtrace", "-1").unwrap_err();
    assert!(e.to_string().contains("for backtrace"), "{e}");
}
