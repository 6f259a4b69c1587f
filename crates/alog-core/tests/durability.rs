//! `durability=mmap`: a record whose call returned `Ok` survives the death of its process
//! (`SIGKILL` at random points, `abort()`, a segfault) and is written, once, by the next open
//! of the same log, before new records. The test binary runs itself as the child that logs
//! and dies; the parent reopens the log and checks the file line by line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alog_core::deferred;
use alog_core::printf::Arg;
use alog_core::{Level, Logger};

const CHILD: &str = "ALOG_DURABILITY_TEST_CHILD";
const THREADS: usize = 2;

/// The settings of both the child and the reopening parent.
/// A log named `*.ts.log` keeps the default pattern (timestamp, level, message); others show
/// the message alone.
fn builder(path: &Path, stalled: bool) -> alog_core::Builder {
    let pattern = if path.to_string_lossy().ends_with(".ts.log") {
        alog_core::format::DEFAULT_PATTERN
    } else {
        "{msg}"
    };
    let mut b = Logger::builder()
        .path(path)
        .set("pattern", pattern)
        .unwrap()
        .set("durability", "mmap")
        .unwrap()
        .set("durability.bytes", "16m")
        .unwrap();
    if stalled {
        // The writer waits for a batch that never fills (at most half the queue wakes it,
        // and the stalled child logs fewer records than that): nothing reaches the file
        // before the process dies, so the journal alone holds what was acknowledged.
        b = b
            .set("queue_capacity", "524288")
            .unwrap()
            .set("batch_size", "262144")
            .unwrap()
            .set("batch_timeout_ms", "3600000")
            .unwrap();
    }
    b
}

/// The child's part (does nothing in a normal run). `MODE PATH`: MODE is `stall` or `flow`
/// (killed by the parent), or `abort:N` / `segv:N` (one thread, dies after N records;
/// `printf:N` logs them through a printf call site (by value and, every other record, as C's
/// raw words) and aborts; `fork:N` forks a child that
/// logs 5 records and closes, then aborts; `held:N` waits until the
/// writer has written them to the file, its batch held unsettled by a stuck sink, and aborts).
/// Prints `ack T I` after each call that returned `Ok`.
#[test]
fn durability_child() {
    let Ok(arg) = std::env::var(CHILD) else {
        return;
    };
    let (mode, path) = arg.split_once(' ').expect("MODE PATH");
    let held = mode.starts_with("held");
    let mut b = builder(Path::new(path), mode != "flow" && !held);
    if held {
        // A sink that never finishes its first batch: the file has the batch's lines, but the
        // batch is never settled, so the journal still holds every record when the process dies.
        b = b.batch_callback(|_| loop {
            std::thread::sleep(Duration::from_secs(60));
        });
    }
    let log = b.build().expect("open");
    if let Some((how, n)) = mode.split_once(':') {
        let n: usize = n.parse().unwrap();
        let site = alog_core::register_site(b"t%d %06d", b"x.c", 1, b"f").unwrap();
        for i in 0..n {
            if how == "printf" && i % 2 == 1 {
                // As C's `ALOG_LOGF` passes integers: raw words with the site's tags.
                let tags = deferred::site(site).unwrap().word_tags().unwrap();
                let words = [0, i as u64];
                log.log_deferred_words(Level::INFO, site, &tags[..2], &words)
                    .expect("logged");
            } else if how == "printf" {
                let args = [Arg::Int(0), Arg::Int(i as i64)];
                log.log_deferred(Level::INFO, site, &args).expect("logged");
            } else {
                log.log(Level::INFO, format!("t0 {i:06}")).expect("logged");
            }
            println!("ack 0 {i}");
        }
        match how {
            "fork" => {
                // SAFETY: fork in a process whose other threads are alog's (its fork
                // handlers make the child's logger usable) and libtest's idle main thread.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0);
                if pid == 0 {
                    // The child logs without the journal: its records are its own writer's.
                    for i in 0..5 {
                        log.log(Level::INFO, format!("c0 {i:06}")).unwrap();
                    }
                    log.close(None).unwrap();
                    // SAFETY: ends the child without running the parent's exit handlers.
                    unsafe { libc::_exit(0) };
                }
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                assert_eq!(status, 0);
                std::process::abort()
            }
            "held" => {
                while lines(Path::new(path), false).len() < n {
                    std::thread::sleep(Duration::from_millis(2));
                }
                std::process::abort()
            }
            "abort" | "printf" => std::process::abort(),
            _ => {
                // SAFETY: none: this is the segfault the test is about (a write to address 0).
                unsafe { std::ptr::null_mut::<u64>().write_volatile(1) };
                unreachable!()
            }
        }
    }
    // Stalled: fewer records than a batch, which the writer would write.
    let limit = if mode == "stall" { 50_000 } else { usize::MAX };
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..limit {
                    if log.log(Level::INFO, format!("t{t} {i:06}")).is_ok() {
                        println!("ack {t} {i}");
                    }
                }
                // Until the kill.
                std::thread::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn spawn(mode: &str, path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{mode} {}", path.display()))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(path.with_extension("stderr")).unwrap())
        .spawn()
        .unwrap()
}

/// Reads the child's acknowledgements until its stdout closes: the highest acknowledged
/// record of each thread.
fn acks(child: &mut Child) -> std::thread::JoinHandle<HashMap<usize, usize>> {
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut last = HashMap::new();
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("ack ") {
                let (t, i) = rest.split_once(' ').unwrap();
                let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
                let e = last.entry(t).or_insert(0);
                *e = (*e).max(i + 1);
            }
        }
        last
    })
}

/// The log's whole lines; a torn last line (a write the kill cut short) is left out unless
/// `whole` says there must be none.
fn lines(path: &Path, whole: bool) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    assert!(!whole || complete == text.len(), "a torn last line");
    text[..complete].lines().map(str::to_owned).collect()
}

/// Reopens the log as the next process would, checks the recovered records' accounting, logs
/// `after` records and closes. Returns the records that were in the file before.
fn reopen(path: &Path, stalled: bool) -> (Vec<String>, Vec<String>) {
    let before = lines(path, false);
    let (log, errors) = open_collecting(path, stalled);
    // Recovery is done when the open returns: the records are in the file already.
    let recovered = lines(path, true).len() - before.len();
    let st = log.stats();
    assert_eq!(
        (st.submitted, st.written, st.dropped, st.failed, st.pending),
        (recovered as u64, recovered as u64, 0, 0, 0),
        "recovered records count as submitted and written"
    );
    for i in 0..3 {
        log.log(Level::INFO, format!("after {i}")).unwrap();
    }
    log.close(None).unwrap();
    for e in errors.lock().unwrap().iter() {
        // Only a claim its dying thread had not committed, or a line its write(2) left torn,
        // may be reported.
        assert!(
            e.contains("incomplete entries") || e.contains("torn by the crash were cut off"),
            "{e}"
        );
    }
    (before, lines(path, true))
}

/// Every acknowledged record once, each thread's records in order with none missing up to
/// the last in the file (at most one past the last acknowledged: a call that committed but
/// had not returned), nothing unparsable, and the new records last.
fn check(all: &[String], acked: &HashMap<usize, usize>) {
    // The message, after the timestamp and level of the default pattern.
    let all: Vec<_> = all
        .iter()
        .map(|l| l.split_once(" INFO ").map_or(&l[..], |(_, m)| m))
        .collect();
    let (old, new) = all.split_at(all.len() - 3);
    assert_eq!(
        new,
        ["after 0", "after 1", "after 2"],
        "new records come last"
    );
    let mut next = HashMap::new();
    for line in old {
        let (t, i) = line
            .strip_prefix('t')
            .and_then(|r| r.split_once(' '))
            .unwrap_or_else(|| panic!("not a record: {line:?}"));
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        let n = next.entry(t).or_insert(0usize);
        assert_eq!(i, *n, "thread {t}: record {i} where {n} was due ({line:?})");
        *n += 1;
    }
    for (t, &a) in acked {
        let n = next.get(t).copied().unwrap_or(0);
        assert!(
            n == a || n == a + 1,
            "thread {t}: {a} records acknowledged, {n} in the file"
        );
    }
}

/// Kills a child after each of `delays` ms plus up to 40 ms of jitter (from the clock, so
/// every run kills at other points; a failure names the delay).
fn killed_at_random_points(stalled: bool, delays: &[u64]) {
    let mut total = 0;
    for &base in delays {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let ms = base + u64::from(nanos % 40);
        eprintln!(
            "killing the {} child after {ms} ms",
            if stalled { "stalled" } else { "flowing" }
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut child = spawn(if stalled { "stall" } else { "flow" }, &path);
        let acked = acks(&mut child);
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{status:?}: {}",
            std::fs::read_to_string(path.with_extension("stderr")).unwrap()
        );
        let acked = acked.join().unwrap();
        let (before, all) = reopen(&path, stalled);
        if stalled {
            assert!(
                before.is_empty(),
                "the stalled writer wrote {}",
                before.len()
            );
        }
        check(&all, &acked);
        total += acked.values().sum::<usize>();
    }
    assert!(total > 0, "no child acknowledged a record before its kill");
}

#[test]
fn kill_9_with_the_writer_stalled_loses_no_acknowledged_record() {
    killed_at_random_points(true, &[60, 95, 140, 210, 330]);
}

#[test]
fn kill_9_while_the_writer_writes_loses_no_acknowledged_record() {
    killed_at_random_points(false, &[70, 120, 190, 260]);
}

fn dies_after(how: &str, n: usize, signal: i32) {
    dies_after_then(how, n, signal, false)
}

/// `tear`: the log's last line loses its end, as when a kill cuts a `write(2)` short.
fn dies_after_then(how: &str, n: usize, signal: i32, tear: bool) {
    dies_in(how, n, signal, tear, "app.log")
}

fn dies_in(how: &str, n: usize, signal: i32, tear: bool, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut child = spawn(&format!("{how}:{n}"), &path);
    let acked = acks(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(signal), "{status:?}");
    let acked = acked.join().unwrap();
    assert_eq!(acked.get(&0), Some(&n));
    if tear {
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 4).unwrap();
    }
    let (before, mut all) = reopen(&path, true);
    let written = match how {
        "held" => n - usize::from(tear),
        "fork" => {
            // The child's five records, written by its close before the parent died.
            let child: Vec<_> = all.drain(..5).collect();
            assert_eq!(
                child,
                (0..5).map(|i| format!("c0 {i:06}")).collect::<Vec<_>>()
            );
            5
        }
        _ => 0,
    };
    assert_eq!(before.len(), written);
    assert_eq!(all.len(), n + 3);
    check(&all, &acked);
}

#[test]
fn abort_loses_no_acknowledged_record() {
    dies_after("abort", 5000, libc::SIGABRT);
}

#[test]
fn a_segfault_loses_no_acknowledged_record() {
    dies_after("segv", 5000, libc::SIGSEGV);
}

#[test]
fn records_written_before_the_crash_but_not_yet_settled_are_not_written_again() {
    dies_after("held", 2000, libc::SIGABRT);
}

#[test]
fn unsettled_lines_with_timestamps_are_recognised_too() {
    // The lines are compared as the file sink renders them: the journal keeps the records'
    // timestamps to the nanosecond.
    dies_in("held", 2000, libc::SIGABRT, true, "app.ts.log");
}

#[test]
fn a_line_torn_by_the_crash_is_cut_off_and_its_record_written_once() {
    dies_after_then("held", 2000, libc::SIGABRT, true);
}

#[test]
fn a_fork_child_logs_without_the_journal_and_leaves_the_parents_alone() {
    dies_after("fork", 1000, libc::SIGABRT);
}

#[test]
fn a_clean_close_leaves_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = builder(&path, false).build().unwrap();
    for i in 0..1000 {
        log.log(Level::INFO, format!("t0 {i:06}")).unwrap();
    }
    log.close(None).unwrap();
    let (before, all) = reopen(&path, false);
    assert_eq!(before.len(), 1000);
    assert_eq!(all.len(), 1003);
}

#[test]
fn deferred_printf_records_are_formatted_before_they_are_journaled() {
    // The child logs through a registered printf call site, whose id means nothing to the
    // process that recovers the records.
    dies_after("printf", 300, libc::SIGABRT);
}

// --- the journal's own limits and damage ---------------------------------------------------

fn journal_of(dir: &Path) -> std::path::PathBuf {
    dir.join(".app.log.journal")
}

/// Bytes no journal would hold (a fixed xorshift stream).
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn open_err(path: &Path) -> String {
    builder(path, false).build().unwrap_err().to_string()
}

/// Opens with an error collector.
fn open_collecting(path: &Path, stalled: bool) -> (Logger, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e2 = errors.clone();
    let log = builder(path, stalled)
        .on_error(move |e| e2.lock().unwrap().push(e.to_string()))
        .build()
        .expect("open");
    (log, errors)
}

/// Opens with an error collector; the logger logs one record and closes, and the file must
/// hold it alone (the journal works again). Returns the errors reported.
fn opens_and_works(path: &Path) -> Vec<String> {
    let (log, errors) = open_collecting(path, false);
    log.log(Level::INFO, "t0 000000").unwrap();
    log.close(None).unwrap();
    assert_eq!(lines(path, true), ["t0 000000"]);
    let errors = errors.lock().unwrap().clone();
    errors
}

/// A clean journal (made by an open and a close), its path.
fn clean_journal(path: &Path) -> std::path::PathBuf {
    builder(path, false).build().unwrap().close(None).unwrap();
    std::fs::remove_file(path).unwrap();
    journal_of(path.parent().unwrap())
}

#[test]
fn a_foreign_file_at_the_journal_name_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let j = journal_of(dir.path());
    std::fs::write(&j, noise(100_000)).unwrap();
    let e = open_err(&path);
    assert!(e.contains(".app.log.journal is not an alog journal"), "{e}");
    assert_eq!(std::fs::read(&j).unwrap(), noise(100_000), "left as it was");
    // A journal whose magic is damaged is foreign too.
    std::fs::remove_file(&j).unwrap();
    let j = clean_journal(&path);
    let mut bytes = std::fs::read(&j).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&j, &bytes).unwrap();
    assert!(open_err(&path).contains("is not an alog journal"));
}

#[test]
fn a_truncated_or_inconsistent_journal_is_discarded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let j = clean_journal(&path);
    let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
    f.set_len(10_000).unwrap();
    drop(f);
    let errors = opens_and_works(&path);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("was discarded (its size (10000 bytes) is not a journal's)"),
        "{errors:?}"
    );
    // free > head.
    std::fs::remove_file(&path).unwrap();
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
    f.write_all_at(&1024u64.to_le_bytes(), 128).unwrap();
    f.write_all_at(&2048u64.to_le_bytes(), 256).unwrap();
    drop(f);
    let errors = opens_and_works(&path);
    assert!(
        errors.len() == 1 && errors[0].contains("its positions are inconsistent"),
        "{errors:?}"
    );
}

#[test]
fn garbage_in_the_ring_is_skipped_and_counted_never_written() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let j = clean_journal(&path);
    let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
    let mut head = [0u8; 8];
    std::fs::File::open(&j)
        .unwrap()
        .read_exact_at(&mut head, 128)
        .unwrap();
    let free = u64::from_le_bytes(head);
    // A megabyte of noise claimed, in the middle of the ring's live range, across its end.
    let ring = 16u64 << 20;
    let at = free % ring;
    let n = 1 << 20;
    for (i, chunk) in noise(n).chunks(4096).enumerate() {
        let off = (at + (i * 4096) as u64) % ring;
        f.write_all_at(chunk, 4096 + off).unwrap();
    }
    f.write_all_at(&(free + n as u64).to_le_bytes(), 128)
        .unwrap();
    drop(f);
    let errors = opens_and_works(&path);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("1 incomplete entries in the journal"),
        "{errors:?}"
    );
}

#[test]
fn a_link_or_a_fifo_at_the_journal_name_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, journal_of(dir.path())).unwrap();
    let e = open_err(&path);
    assert!(e.contains("is a symbolic link, not a regular file"), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    std::fs::remove_file(journal_of(dir.path())).unwrap();
    let fifo = std::ffi::CString::new(journal_of(dir.path()).to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let e = open_err(&path);
    assert!(e.contains("is a FIFO, not a regular file"), "{e}");
}

#[test]
fn a_second_logger_on_the_same_log_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let first = builder(&path, false).build().unwrap();
    let e = open_err(&path);
    assert!(e.contains("is in use by another process"), "{e}");
    first.close(None).unwrap();
    drop(builder(&path, false).build().unwrap());
}

#[test]
fn a_full_journal_follows_the_overflow_policy_with_exact_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // 64 KiB hold 1024 short entries; the writer is stalled, so the journal fills.
    let log = builder(&path, true)
        .set("durability.bytes", "64k")
        .unwrap()
        .set("overflow", "drop_newest")
        .unwrap()
        .build()
        .unwrap();
    let mut ok = 0;
    for i in 0..3000 {
        match log.log(Level::INFO, format!("t0 {i:06}")) {
            Ok(()) => ok += 1,
            Err(alog_core::Error::Full) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1024);
    let st = log.stats();
    assert_eq!((st.submitted, st.dropped), (3000, 3000 - ok));
    assert_eq!(
        st.submitted,
        st.written + st.dropped + st.failed + st.pending
    );
    log.close(None).unwrap();
    let st = log.stats();
    assert_eq!((st.written, st.pending), (ok, 0));
    assert_eq!(lines(&path, true).len() as u64, ok);
    std::fs::remove_file(&path).unwrap();
    // overflow=block: a call waits for the writer to free the journal; nothing is lost.
    let log = builder(&path, true)
        .set("durability.bytes", "64k")
        .unwrap()
        .build()
        .unwrap();
    for i in 0..5000 {
        log.log(Level::INFO, format!("t0 {i:06}")).unwrap();
    }
    log.close(None).unwrap();
    let st = log.stats();
    assert_eq!((st.submitted, st.written, st.dropped), (5000, 5000, 0));
    assert_eq!(lines(&path, true).len(), 5000);
}

#[test]
fn durability_needs_a_log_path_and_checks_its_size() {
    let e = Logger::builder()
        .console(alog_core::Stream::Stderr)
        .set("durability", "mmap")
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("durability=mmap needs the log file's path"),
        "{e}"
    );
    let e = Logger::builder()
        .set("durability.bytes", "1k")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid value \"1k\" for durability.bytes: expected a byte count 64k..1g, such as 8m"
    );
}
