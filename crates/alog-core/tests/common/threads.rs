//! Shared by the rotation tests of alog-core and alog-cli: a logger from key/value pairs,
//! threads logging numbered records, and the check that each arrived once and in order.
#![allow(dead_code)]

use std::path::Path;

use alog_core::{Level, Logger};

pub fn logger(path: &Path, keys: &[(&str, &str)]) -> Logger {
    let mut b = Logger::builder().path(path);
    for (k, v) in keys {
        b = b.set(k, v).unwrap();
    }
    b.build().unwrap()
}

/// Logs `per_thread` records "t<T> n<I> payload-..." from each of `threads` threads.
pub fn log_threads(log: &Logger, threads: usize, per_thread: usize) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = log.clone();
            s.spawn(move || {
                let mut msg = String::new();
                for i in 0..per_thread {
                    use std::fmt::Write;
                    msg.clear();
                    write!(msg, "t{t} n{i} payload-abcdefghijklmnopqrstuvwxyz").unwrap();
                    log.log(Level::INFO, &msg).unwrap();
                }
            });
        }
    });
}

/// Follows each thread's records through text lines: each must be the next of its thread.
pub struct Records {
    next: Vec<usize>,
}

impl Records {
    pub fn new(threads: usize) -> Records {
        Records {
            next: vec![0; threads],
        }
    }

    /// `what` names the text in failure messages.
    pub fn feed(&mut self, text: &[u8], what: &str) {
        for line in std::str::from_utf8(text).unwrap().lines() {
            let msg = line.splitn(3, ' ').nth(2).unwrap_or("");
            let mut p = msg.split(' ');
            let t: usize = p.next().unwrap()[1..].parse().unwrap();
            let n: usize = p.next().unwrap()[1..].parse().unwrap();
            assert_eq!(
                n, self.next[t],
                "thread {t}: record {n} where {} was due, in {what}",
                self.next[t]
            );
            self.next[t] += 1;
        }
    }

    pub fn finish(&self, per_thread: usize) {
        assert_eq!(
            self.next,
            vec![per_thread; self.next.len()],
            "every record exactly once"
        );
    }
}
