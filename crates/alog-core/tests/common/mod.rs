//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

/// The counters of the sink called `name`.
pub fn sink<'a>(stats: &'a [alog_core::SinkStats], name: &str) -> &'a alog_core::SinkStats {
    stats
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sink {name} in {stats:?}"))
}

pub fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    String::from_utf8(text)
        .expect("log files are UTF-8")
        .lines()
        .map(String::from)
        .collect()
}

/// Runs `f` on a thread and fails the test if it does not finish within `secs` (the
/// thread is left behind: what it waits on is the bug).
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} did not return within {secs} s (it hangs)"))
}

/// Makes a FIFO at `p`.
pub fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// The message part of a default text line: everything after "<ts> <LEVEL> ".
pub fn message(line: &str) -> &str {
    line.splitn(3, ' ').nth(2).unwrap_or("")
}

/// A gate a callback sink can wait on, to stall the writer at a known point.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<(bool, usize)>, Condvar)>,
}

impl Gate {
    /// Called from the sink: counts the entry and blocks until `open`.
    pub fn pass(&self) {
        let (m, cv) = &*self.inner;
        let mut g = m.lock().unwrap();
        g.1 += 1;
        cv.notify_all();
        while !g.0 {
            g = cv.wait(g).unwrap();
        }
    }
    /// Waits until the sink has been entered `n` times.
    pub fn wait_entered(&self, n: usize) {
        let (m, cv) = &*self.inner;
        let mut g = m.lock().unwrap();
        while g.1 < n {
            g = cv.wait(g).unwrap();
        }
    }
    pub fn open(&self) {
        let (m, cv) = &*self.inner;
        m.lock().unwrap().0 = true;
        cv.notify_all();
    }
}

/// This process's resident memory (VmRSS), in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}
