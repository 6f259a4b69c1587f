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
