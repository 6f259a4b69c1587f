//! The registry of open loggers, for what Python's process life needs beyond the engine's own
//! hooks: Python callables as sinks (`on_batch=`) need the interpreter on the writer thread,
//! so such loggers are flushed before `fork` and closed at interpreter exit while Python can
//! still run them; and `multiprocessing` children end with `os._exit`, which skips the
//! engine's exit flush, so `alog` flushes every logger from a `multiprocessing` finalizer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use alog_core::config::BatchCallback;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::logger::Inner;

/// Open loggers, and whether each has a Python sink.
static LIVE: Mutex<Vec<(Weak<Inner>, bool)>> = Mutex::new(Vec::new());
/// Set once the interpreter is shutting down: sinks then fail instead of calling Python.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// How long the exit hook waits for each logger with a Python sink.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

fn live(python_sinks_only: bool) -> Vec<Arc<Inner>> {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    l.retain(|(w, _)| w.strong_count() > 0);
    l.iter()
        .filter(|(_, py)| *py || !python_sinks_only)
        .filter_map(|(w, _)| w.upgrade())
        .collect()
}

pub fn register(inner: &Arc<Inner>, python_sink: bool) {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    l.retain(|(w, _)| w.strong_count() > 0);
    l.push((Arc::downgrade(inner), python_sink));
}

/// A batch sink calling `cb(bytes)` on the writer thread; an exception fails the batch's
/// records (counted in `failed`, its text in `last_error()`).
pub fn batch_callback(cb: Py<PyAny>) -> BatchCallback {
    Arc::new(move |bytes: &[u8]| {
        if SHUT_DOWN.load(Ordering::Acquire) {
            return Err("the Python interpreter is shutting down".into());
        }
        Python::attach(|py| {
            cb.call1(py, (PyBytes::new(py, bytes),))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
}

/// Closes every logger with a Python sink (registered with `atexit` by `alog`).
#[pyfunction]
pub fn close_python_sinks(py: Python<'_>) {
    for inner in live(true) {
        let _ = py.detach(|| inner.log().close(Some(EXIT_TIMEOUT)));
    }
    SHUT_DOWN.store(true, Ordering::Release);
}

/// Flushes every logger with a Python sink (registered with `os.register_at_fork(before=)`
/// by `alog`), so that no writer is inside a Python sink, waiting for the interpreter lock
/// with the engine's locks held, when the fork handlers take those locks.
#[pyfunction]
pub fn flush_python_sinks(py: Python<'_>) {
    for inner in live(true) {
        let _ = py.detach(|| inner.log().flush(Some(EXIT_TIMEOUT)));
    }
}

/// Flushes every open logger, waiting up to `timeout` seconds for each.
#[pyfunction]
pub fn flush_all(py: Python<'_>, timeout: f64) {
    let t = Duration::from_secs_f64(timeout.max(0.0));
    for inner in live(false) {
        let _ = py.detach(|| inner.log().flush(Some(t)));
    }
}
