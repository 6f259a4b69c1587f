//! After fork() the child logs through the same handle with its own writer; the parent is
//! unaffected; nothing is written twice; nothing deadlocks.

mod common;

use std::time::Duration;

use alog_core::{Level, Logger};
use common::{lines, message};

#[test]
fn child_logs_through_the_same_handle_and_nothing_is_written_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fork.log");
    // A long batch timeout keeps the parent's records queued across the fork.
    let log = Logger::builder()
        .path(&path)
        .batch_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    for i in 0..100 {
        log.info(format!("parent-before {i}"));
    }
    // Keep producers busy in another thread while forking, to exercise the fork handlers.
    let busy = log.clone();
    let noise = std::thread::spawn(move || {
        for i in 0..20_000 {
            busy.log(Level::INFO, format!("noise {i}")).unwrap();
        }
    });
    // SAFETY: the child only logs through alog, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: alarm is async-signal-safe; a deadlock kills the child with SIGALRM.
        unsafe { libc::alarm(20) };
        let s = log.stats();
        let ok = s.submitted == 0 && s.written == 0 && s.pending == 0;
        for i in 0..1000 {
            log.info(format!("child {i}"));
        }
        let closed = log.close(Some(Duration::from_secs(10))).is_ok();
        let s = log.stats();
        let code = if ok && closed && s.written == 1000 && s.pending == 0 {
            0
        } else {
            3
        };
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    noise.join().unwrap();
    for i in 0..100 {
        log.info(format!("parent-after {i}"));
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status),
        "child killed (deadlock?) status {status}"
    );
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child saw wrong stats or failed to close"
    );
    log.close(None).unwrap();
    let got = lines(&path);
    let count = |prefix: &str| {
        got.iter()
            .filter(|l| message(l).starts_with(prefix))
            .count()
    };
    assert_eq!(count("parent-before "), 100);
    assert_eq!(count("parent-after "), 100);
    assert_eq!(count("noise "), 20_000);
    assert_eq!(count("child "), 1000);
    assert_eq!(got.len(), 100 + 100 + 20_000 + 1000);
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.pending), (20_200, 20_200, 0));
}

/// Runs `f` in a forked child (killed by SIGALRM after 20 s) and returns whether it
/// returned true.
fn in_child(f: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child runs alog and libc only, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: async-signal-safe calls in the child.
        unsafe {
            libc::alarm(20);
            libc::_exit(if f() { 0 } else { 3 });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// `alog-writer` threads of this process.
fn writer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "alog-writer")
        .count()
}

#[test]
fn child_short_records_never_come_out_as_a_parent_long_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fork.log");
    // Four slots; the parent's long record (a heap payload) stays queued across the fork and
    // the child's four short ones wrap around onto its slot.
    let log = Logger::builder()
        .path(&path)
        .queue_capacity(4)
        .batch_size(1000)
        .batch_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let long = "P".repeat(300);
    log.info(&long);
    assert!(in_child(|| {
        (0..4).all(|i| log.log(Level::INFO, format!("child{i}")).is_ok())
            && log.close(Some(Duration::from_secs(10))).is_ok()
    }));
    log.close(None).unwrap();
    let mut got: Vec<String> = lines(&path)
        .iter()
        .map(|l| message(l).to_string())
        .collect();
    got.sort();
    assert_eq!(got, [long.as_str(), "child0", "child1", "child2", "child3"]);
}

#[test]
fn a_child_starts_one_writer_and_none_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let log = Logger::builder()
        .path(dir.path().join("fork.log"))
        .build()
        .unwrap();
    log.info("parent");
    for round in 0..20 {
        // Three threads' first calls race to start the child's writer...
        assert!(
            in_child(|| {
                let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
                let threads: Vec<_> = (0..3)
                    .map(|t| {
                        let (log, barrier) = (log.clone(), barrier.clone());
                        std::thread::spawn(move || {
                            barrier.wait();
                            log.info(format!("t{t}"));
                        })
                    })
                    .collect();
                threads.into_iter().for_each(|t| t.join().unwrap());
                // A new thread names itself once it runs: give it a moment.
                let mut n = writer_threads();
                for _ in 0..100 {
                    if n != 0 {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    n = writer_threads();
                }
                let one = n == 1;
                let c = log.close(Some(Duration::from_secs(10)));
                one && c.is_ok()
            }),
            "round {round}: more than one writer"
        );
        // ...and a first call racing close leaves no work behind.
        assert!(
            in_child(|| {
                let racer = {
                    let log = log.clone();
                    std::thread::spawn(move || {
                        let _ = log.log(Level::INFO, "racing close");
                    })
                };
                let closed = log.close(Some(Duration::from_secs(10)));
                racer.join().unwrap();
                std::thread::sleep(Duration::from_millis(30));
                // Writer threads are the process's pool (an idle one stays for a while); what
                // must not outlive close is the logger's work: nothing pending, one thread.
                closed.is_ok() && log.stats().pending == 0 && writer_threads() <= 1
            }),
            "round {round}: a writer outlived close"
        );
    }
    log.close(None).unwrap();
}

#[test]
fn fork_does_not_wait_for_a_stalled_lane_and_the_child_writes_nothing_twice() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("syslog.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let log = Logger::builder()
        .path(dir.path().join("fork.log"))
        .set("syslog", sock.to_str().unwrap())
        .unwrap()
        .set("stall_timeout_ms", "60000")
        .unwrap()
        .set("pattern", "{msg}")
        .unwrap()
        .build()
        .unwrap();
    for i in 0..2000 {
        log.log(Level::INFO, format!("p{i}")).unwrap();
    }
    // Nobody reads the socket: the syslog lane is stalled with a backlog.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.sink_stats()[1].backlog == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        log.sink_stats()[1].backlog > 0,
        "the syslog lane is not stalled"
    );
    let start = std::time::Instant::now();
    // SAFETY: the child logs through alog and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: arms a timer that ends a hung child.
        unsafe { libc::alarm(20) };
        let ok = (0..5).all(|i| log.log(Level::INFO, format!("c{i}")).is_ok())
            && log.close(Some(Duration::from_secs(15))).is_ok();
        // SAFETY: ends the child without running the parent's exit hooks.
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    let forked = start.elapsed();
    // The bound is generous: a hang check, not a benchmark.
    assert!(forked < Duration::from_millis(500), "fork took {forked:?}");
    // Now read everything both processes send.
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        while let Ok(n) = rx.recv(&mut buf) {
            let d = String::from_utf8_lossy(&buf[..n]).into_owned();
            got.push(d.rsplit(' ').next().unwrap().to_string());
        }
        got
    });
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status}"
    );
    log.close(Some(Duration::from_secs(30))).unwrap();
    let mut got = reader.join().unwrap();
    got.sort();
    let mut want: Vec<String> = (0..2000).map(|i| format!("p{i}")).collect();
    want.extend((0..5).map(|i| format!("c{i}")));
    want.sort();
    assert_eq!(got.len(), want.len(), "every record once, none twice");
    assert_eq!(got, want);
}

/// Sync mode writes on the caller's thread and waits for its lanes: a thread waiting there for
/// a stalled `block` callback lane must not hold the locks a fork takes.
#[test]
fn fork_does_not_wait_for_a_sync_write_held_up_by_a_block_lane() {
    use std::sync::{Arc, Condvar, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let g = gate.clone();
    let log = Logger::builder()
        .path(dir.path().join("sync.log"))
        .sync(true)
        .set("callback.overflow", "block")
        .unwrap()
        .callback(None, None, move |_, _| {
            // Stalls until the test opens the gate.
            let (m, cv) = &*g;
            let mut open = m.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
        })
        .build()
        .unwrap();
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || log.log(Level::INFO, "held up by the callback"))
    };
    // The writing thread is now waiting for the stalled callback lane.
    std::thread::sleep(Duration::from_millis(200));
    assert!(!writer.is_finished());
    // The gate opens after 3 s whatever happens, so that a fork that waits fails the check
    // below instead of hanging the test.
    let opener = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            let (m, cv) = &*gate;
            *m.lock().unwrap() = true;
            cv.notify_all();
        })
    };
    let start = std::time::Instant::now();
    let ok = in_child(|| true);
    let forked = start.elapsed();
    opener.join().unwrap();
    writer.join().unwrap().unwrap();
    assert!(ok);
    // A hang check, not a benchmark: before the fix the fork waited for the gate.
    assert!(forked < Duration::from_secs(2), "fork took {forked:?}");
    log.close(None).unwrap();
    assert_eq!(lines(&dir.path().join("sync.log")).len(), 1);
}
