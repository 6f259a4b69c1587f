//! The registry of open loggers, for what Python's process life needs beyond the engine's own
//! hooks.
//!
//! - Python callables as sinks (`on_batch=`) run on the writer thread, which holds the
//!   engine's sink lock while it waits for the interpreter lock. A `fork()` takes the engine's
//!   locks (its `pthread_atfork` handler) in the forking thread, which holds the interpreter
//!   lock: a writer waiting for it inside a Python sink would deadlock the fork. So before a
//!   fork (`os.register_at_fork(before=)`) no new call into Python starts: batches that arrive
//!   meanwhile are kept, and the parent delivers them right after the fork, in order; calls
//!   already running are waited for, with the interpreter lock released.
//! - At interpreter exit, loggers with Python sinks are closed while Python can still run them.
//! - `multiprocessing` children end with `os._exit`, which skips the engine's exit flush, so
//!   `alog` flushes every open logger from a `multiprocessing` finalizer (`flush_all`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use alog_core::config::BatchCallback;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::logger::Inner;

/// A Python callable taking batches, and the batches kept for it while a fork is prepared.
pub struct PySink {
    callback: Py<PyAny>,
    deferred: Mutex<Vec<u8>>,
    /// Whose turn it is to call the callable: a call may release the interpreter lock (file
    /// writes do), and the writer's batches and the parent's delivery after a fork must still
    /// reach it one after the other, in order.
    busy: AtomicBool,
}

impl PySink {
    pub fn new(callback: Py<PyAny>) -> Arc<PySink> {
        Arc::new(PySink {
            callback,
            deferred: Mutex::new(Vec::new()),
            busy: AtomicBool::new(false),
        })
    }

    /// Runs `f` with this sink to itself, waiting for the turn without the interpreter lock.
    fn in_turn<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> R {
        while self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            py.detach(|| std::thread::sleep(Duration::from_micros(50)));
        }
        let r = f();
        self.busy.store(false, Ordering::Release);
        r
    }

    /// Delivers what was kept during a fork, then `bytes`.
    fn deliver(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        self.in_turn(py, || {
            let kept = std::mem::take(&mut *self.deferred());
            if !kept.is_empty() {
                self.call(py, &kept)?;
            }
            if !bytes.is_empty() {
                self.call(py, bytes)?;
            }
            Ok(())
        })
    }

    fn deferred(&self) -> MutexGuard<'_, Vec<u8>> {
        self.deferred.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn call(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        self.callback
            .call1(py, (PyBytes::new(py, bytes),))
            .map(|_| ())
    }
}

/// An open logger, with its Python sink if it has one.
type Entry = (Weak<Inner>, Option<Arc<PySink>>);

static LIVE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
/// Set once the interpreter is shutting down: sinks then fail instead of calling Python.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// Set from just before a fork until just after it: no new call into Python starts.
static FORKING: AtomicBool = AtomicBool::new(false);
/// Writer threads inside (or about to enter) a Python sink.
static IN_CALL: AtomicUsize = AtomicUsize::new(0);

/// How long the exit hook waits for each logger with a Python sink, and the fork hook for
/// running Python sinks to return.
const HOOK_TIMEOUT: Duration = Duration::from_secs(5);

fn registry() -> MutexGuard<'static, Vec<Entry>> {
    let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    l.retain(|(w, _)| w.strong_count() > 0);
    l
}

fn live(python_sinks_only: bool) -> Vec<Arc<Inner>> {
    registry()
        .iter()
        .filter(|(_, s)| s.is_some() || !python_sinks_only)
        .filter_map(|(w, _)| w.upgrade())
        .collect()
}

fn python_sinks() -> Vec<Arc<PySink>> {
    registry().iter().filter_map(|(_, s)| s.clone()).collect()
}

pub fn register(inner: &Arc<Inner>, sink: Option<Arc<PySink>>) {
    registry().push((Arc::downgrade(inner), sink));
}

/// The engine sink calling `sink` on the writer thread; an exception fails the batch's
/// records (counted in `failed`, its text in `last_error()`).
pub fn batch_callback(sink: Arc<PySink>) -> BatchCallback {
    Arc::new(move |bytes: &[u8]| {
        if SHUT_DOWN.load(Ordering::Acquire) {
            return Err("the Python interpreter is shutting down".into());
        }
        // Announce the call before checking for a fork (the forking thread sets FORKING,
        // then waits for IN_CALL to drain): one of the two always sees the other.
        IN_CALL.fetch_add(1, Ordering::SeqCst);
        if FORKING.load(Ordering::SeqCst) {
            IN_CALL.fetch_sub(1, Ordering::SeqCst);
            sink.deferred().extend_from_slice(bytes);
            return Ok(());
        }
        let r = Python::attach(|py| sink.deliver(py, bytes));
        IN_CALL.fetch_sub(1, Ordering::SeqCst);
        r.map_err(|e| e.to_string())
    })
}

/// Closes every logger with a Python sink (registered with `atexit` by `alog`).
#[pyfunction]
pub fn close_python_sinks(py: Python<'_>) {
    for inner in live(true) {
        let _ = py.detach(|| inner.log().close(Some(HOOK_TIMEOUT)));
    }
    SHUT_DOWN.store(true, Ordering::Release);
}

/// Before `fork()`: stop new calls into Python sinks and wait (without the interpreter lock)
/// for running ones to return.
#[pyfunction]
pub fn before_fork(py: Python<'_>) {
    FORKING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + HOOK_TIMEOUT;
        while IN_CALL.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
    });
}

/// After `fork()` in the parent: deliver the batches kept meanwhile, then resume.
#[pyfunction]
pub fn after_fork_in_parent(py: Python<'_>) {
    FORKING.store(false, Ordering::SeqCst);
    for sink in python_sinks() {
        if let Err(e) = sink.deliver(py, &[]) {
            e.write_unraisable(py, None);
        }
    }
}

/// After `fork()` in the child: kept batches are the parent's to deliver.
#[pyfunction]
pub fn after_fork_in_child() {
    for sink in python_sinks() {
        sink.deferred().clear();
        sink.busy.store(false, Ordering::SeqCst);
    }
    IN_CALL.store(0, Ordering::SeqCst);
    FORKING.store(false, Ordering::SeqCst);
}

/// Flushes every open logger, waiting up to `timeout` seconds for each.
#[pyfunction]
pub fn flush_all(py: Python<'_>, timeout: f64) {
    let t = Duration::from_secs_f64(timeout.max(0.0));
    for inner in live(false) {
        let _ = py.detach(|| inner.log().flush(Some(t)));
    }
}
