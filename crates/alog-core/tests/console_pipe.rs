//! The console as a pipe: a reader that stops reading stalls only the console's lane, and
//! lines written to a pipe the application also prints to are never torn. Both tests point
//! this process's stdout at a pipe of their own, so they run one after the other in one test.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, RawFd};
use std::time::{Duration, Instant};

use alog_core::{Field, Level, Logger};
use common::lines;

/// Points fd 1 at a new pipe's write end; returns the read end and the saved stdout.
fn stdout_to_pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: plain descriptor calls with valid pointers; results are checked.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let saved = libc::dup(1);
        assert!(saved >= 0);
        assert_eq!(libc::dup2(fds[1], 1), 1);
        libc::close(fds[1]);
        (fds[0], saved)
    }
}

fn restore_stdout(saved: RawFd) {
    // SAFETY: `saved` is a descriptor from `stdout_to_pipe`.
    unsafe {
        libc::dup2(saved, 1);
        libc::close(saved);
    }
}

fn a_pipe_nobody_reads_stalls_only_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let (rd, saved) = stdout_to_pipe();
    const N: u64 = 100_000;
    let log = Logger::builder()
        .path(&path)
        .set("console", "stdout")
        .unwrap()
        .set("stall_timeout_ms", "200")
        .unwrap()
        .build()
        .unwrap();
    let start = Instant::now();
    for i in 0..N {
        log.log(Level::INFO, format!("record {i}")).unwrap();
    }
    log.close(Some(Duration::from_secs(20))).unwrap();
    let took = start.elapsed();
    restore_stdout(saved);
    // SAFETY: `rd` is the pipe's read end, ours to close.
    unsafe { libc::close(rd) };
    assert!(took < Duration::from_secs(15), "close took {took:?}");
    assert_eq!(lines(&path).len() as u64, N);
    let st = log.sink_stats();
    let console = st.iter().find(|s| s.name == "console").unwrap();
    assert_eq!(console.target, "stdout");
    assert_eq!(console.taken, N);
    assert_eq!(
        console.written + console.dropped + console.failed,
        N,
        "{console:?}"
    );
    // A pipe holds 64 KiB: most records could not go to it.
    assert!(console.dropped > N / 2, "{console:?}");
    let s = log.stats();
    assert_eq!((s.submitted, s.dropped, s.pending), (N, console.dropped, 0));
}

fn lines_on_a_shared_pipe_are_never_torn() {
    let dir = tempfile::tempdir().unwrap();
    let (rd, saved) = stdout_to_pipe();
    let reader = std::thread::spawn(move || {
        // SAFETY: `rd` is the pipe's read end, owned by this thread from now on.
        let mut f = unsafe { std::fs::File::from_raw_fd(rd) };
        let mut all = Vec::new();
        f.read_to_end(&mut all).unwrap();
        all
    });
    const THREADS: u64 = 4;
    const PER: u64 = 50_000;
    const APP: u64 = 2000;
    let log = Logger::builder()
        .path(dir.path().join("app.log"))
        .set("console", "stdout")
        .unwrap()
        .set("console.format", "json")
        .unwrap()
        .set("console.overflow", "block")
        .unwrap()
        .build()
        .unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let pad = "x".repeat(100);
                for i in 0..PER {
                    log.log_fields(
                        Level::INFO,
                        "request served",
                        &[
                            Field::new("t", t as i64),
                            Field::new("i", i as i64),
                            Field::new("pad", pad.as_str()),
                        ],
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    // The application prints lines of its own to the same stdout meanwhile, each with one
    // write, as printf with line buffering does.
    let app_line = format!("application line {}\n", "y".repeat(150));
    for _ in 0..APP {
        // SAFETY: writing a valid buffer to fd 1.
        let n = unsafe { libc::write(1, app_line.as_ptr().cast(), app_line.len()) };
        assert_eq!(n as usize, app_line.len());
    }
    workers.into_iter().for_each(|w| w.join().unwrap());
    log.close(None).unwrap();
    restore_stdout(saved);
    let out = String::from_utf8(reader.join().unwrap()).unwrap();
    let (mut json, mut app, mut torn) = (0u64, 0u64, Vec::new());
    for l in out.lines() {
        if format!("{l}\n") == app_line {
            app += 1;
        } else if l.starts_with('{')
            && l.ends_with('}')
            && l.contains("\"msg\":\"request served\"")
            && alog_core::format::json_valid(l.as_bytes())
        {
            json += 1;
        } else {
            torn.push(l.to_string());
        }
    }
    assert!(
        torn.is_empty(),
        "{} torn lines, first: {:?}",
        torn.len(),
        torn.first()
    );
    assert_eq!((json, app), (THREADS * PER, APP));
    let s = log.stats();
    assert_eq!(
        (s.submitted, s.written, s.dropped),
        (THREADS * PER, THREADS * PER, 0)
    );
}

#[test]
fn console_on_pipes() {
    a_pipe_nobody_reads_stalls_only_the_console();
    lines_on_a_shared_pipe_are_never_torn();
}
