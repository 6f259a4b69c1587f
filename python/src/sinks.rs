//! Python callables as engine sinks (`on_batch=`), and the interpreter's life around them:
//! the writer thread takes the interpreter lock to call them, so loggers with such sinks are
//! flushed before `fork` and closed at interpreter exit while Python can still run them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use alog_core::config::BatchCallback;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::logger::Inner;

/// Loggers with a Python sink.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());
/// Set once the interpreter is shutting down: sinks then fail instead of calling Python.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// How long the exit hook waits for each logger with a Python sink.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

fn live() -> Vec<Arc<Inner>> {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    l.retain(|w| w.strong_count() > 0);
    l.iter().filter_map(Weak::upgrade).collect()
}

pub fn register(inner: &Arc<Inner>) {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    l.retain(|w| w.strong_count() > 0);
    l.push(Arc::downgrade(inner));
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
    for inner in live() {
        let _ = py.detach(|| inner.log().close(Some(EXIT_TIMEOUT)));
    }
    SHUT_DOWN.store(true, Ordering::Release);
}

/// Flushes every logger with a Python sink (registered with `os.register_at_fork(before=)`
/// by `alog`), so that no writer is inside a Python sink, waiting for the interpreter lock
/// with the engine's locks held, when the fork handlers take those locks.
#[pyfunction]
pub fn flush_python_sinks(py: Python<'_>) {
    for inner in live() {
        let _ = py.detach(|| inner.log().flush(Some(EXIT_TIMEOUT)));
    }
}
