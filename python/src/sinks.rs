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

use std::io::Write;

use alog_core::config::{BatchCallback, ErrorCallback, LineCallback};
use alog_core::Stream;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::logger::Inner;

/// A Python callable taking batches, and the batches kept for it while a fork is prepared.
pub struct PySink {
    /// Released at interpreter exit once the logger is closed, so that what the callable
    /// holds (a file whose `write` it is) is finalized, and flushed, with its module.
    callback: Mutex<Option<Py<PyAny>>>,
    deferred: Mutex<Vec<u8>>,
    /// Whose turn it is to call the callable: a call may release the interpreter lock (file
    /// writes do), and the writer's batches and the parent's delivery after a fork must still
    /// reach it one after the other, in order.
    busy: AtomicBool,
}

impl PySink {
    pub fn new(callback: Py<PyAny>) -> Arc<PySink> {
        Arc::new(PySink {
            callback: Mutex::new(Some(callback)),
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
        let callback = match &*self.callback.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(c) => c.clone_ref(py),
            None => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the Python interpreter is shutting down",
                ))
            }
        };
        callback.call1(py, (PyBytes::new(py, bytes),)).map(|_| ())
    }
}

/// An open logger, with its Python sinks, and whether the writer thread may call into Python
/// for it at all (a sink or an `on_error` callable).
type Entry = (Weak<Inner>, Vec<Arc<PySink>>, bool);

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
    l.retain(|(w, _, _)| w.strong_count() > 0);
    l
}

fn live(calls_python_only: bool) -> Vec<Arc<Inner>> {
    registry()
        .iter()
        .filter(|(_, _, calls_python)| *calls_python || !calls_python_only)
        .filter_map(|(w, _, _)| w.upgrade())
        .collect()
}

fn python_sinks() -> Vec<Arc<PySink>> {
    registry()
        .iter()
        .flat_map(|(_, s, _)| s.iter().cloned())
        .collect()
}

/// Registers an open logger; `calls_python`: its writer may call into Python.
pub fn register(inner: &Arc<Inner>, sinks: Vec<Arc<PySink>>, calls_python: bool) {
    registry().push((Arc::downgrade(inner), sinks, calls_python));
}

/// Registers more Python sinks of an open logger (sinks added after it opened).
pub fn register_more(inner: &Arc<Inner>, sinks: Vec<Arc<PySink>>) {
    let mut r = registry();
    match r
        .iter_mut()
        .find(|(w, _, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(inner)))
    {
        Some((_, s, calls_python)) => {
            *calls_python |= !sinks.is_empty();
            s.extend(sinks);
        }
        None => {
            let calls_python = !sinks.is_empty();
            r.push((Arc::downgrade(inner), sinks, calls_python));
        }
    }
}

/// Why a writer thread may not call into Python now.
enum NoCall {
    ShuttingDown,
    Forking,
}

/// Runs `f` with the interpreter from a writer thread, unless the interpreter is shutting
/// down. While a fork is being prepared the call waits for it to end, holding no lock: a
/// writer that kept the batch under a lock instead could be forked holding it, and the
/// child, whose after-fork hook takes that lock, would hang. `Forking` only if a fork has
/// not ended after [`FORK_WAIT`].
fn call_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Result<R, NoCall> {
    let start = Instant::now();
    loop {
        if SHUT_DOWN.load(Ordering::Acquire) {
            return Err(NoCall::ShuttingDown);
        }
        // Announce the call before checking for a fork (the forking thread sets FORKING,
        // then waits for IN_CALL to drain): one of the two always sees the other.
        IN_CALL.fetch_add(1, Ordering::SeqCst);
        if !FORKING.load(Ordering::SeqCst) {
            break;
        }
        IN_CALL.fetch_sub(1, Ordering::SeqCst);
        if start.elapsed() > FORK_WAIT {
            return Err(NoCall::Forking);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let r = Python::attach(f);
    IN_CALL.fetch_sub(1, Ordering::SeqCst);
    Ok(r)
}

/// How long a writer waits for a fork to end before it keeps its batch for later.
const FORK_WAIT: Duration = Duration::from_secs(10);

/// The engine sink calling `sink` on the writer thread; an exception fails the batch's
/// records (counted in `failed`, its text in `last_error()`).
pub fn batch_callback(sink: Arc<PySink>) -> BatchCallback {
    Arc::new(
        move |bytes: &[u8]| match call_python(|py| sink.deliver(py, bytes)) {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(NoCall::ShuttingDown) => Err("the Python interpreter is shutting down".into()),
            Err(NoCall::Forking) => {
                sink.deferred().extend_from_slice(bytes);
                Ok(())
            }
        },
    )
}

/// Writes the bytes it is called with to `sys.stdout` or `sys.stderr`, whatever object they
/// are when it is called.
#[pyclass(module = "alog._alog", frozen)]
pub struct PyStream {
    name: &'static str,
}

#[pymethods]
impl PyStream {
    fn __call__(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let text = String::from_utf8_lossy(bytes);
        py.import("sys")?
            .getattr(self.name)?
            .call_method1("write", (text,))?;
        Ok(())
    }
}

/// The console sink of a logger opened while `sys.stdout` / `sys.stderr` (the configured
/// stream) is not the interpreter's own (`sys.__stdout__`): an application or a test
/// framework (pytest's `capsys`) replaced it, so lines go to that object instead of the file
/// descriptor. `None` when the stream is the interpreter's own.
pub fn replaced_console(
    py: Python<'_>,
    stream: Stream,
) -> PyResult<Option<(Arc<PySink>, LineCallback)>> {
    let name = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    let sys = py.import("sys")?;
    if sys.getattr(name)?.is(&sys.getattr(format!("__{name}__"))?) {
        return Ok(None);
    }
    let sink = PySink::new(Py::new(py, PyStream { name })?.into_any());
    let s = sink.clone();
    let write_fd = move |line: &[u8]| {
        let _ = match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(line),
            Stream::Stderr => std::io::stderr().lock().write_all(line),
        };
    };
    let cb: LineCallback = Arc::new(move |_level, line: &[u8]| {
        let mut l = Vec::with_capacity(line.len() + 1);
        l.extend_from_slice(line);
        l.push(b'\n');
        match call_python(|py| s.deliver(py, &l)) {
            Ok(Ok(())) => {}
            // The replaced stream failed, or Python is gone: the line goes to the descriptor.
            Ok(Err(_)) | Err(NoCall::ShuttingDown) => write_fd(&l),
            Err(NoCall::Forking) => s.deferred().extend_from_slice(&l),
        }
    });
    Ok(Some((sink, cb)))
}

/// The engine's error callback calling `on_error(exc)` on the writer thread with the error
/// as the Python exception `py_err` makes of it (`OSError` subclasses with `errno` and
/// `filename` for I/O errors). An exception it raises is reported as unraisable. During a
/// fork or at interpreter exit the call is skipped (`last_error()` still has the error).
pub fn error_callback(on_error: Py<PyAny>) -> ErrorCallback {
    Arc::new(move |e: &alog_core::Error| {
        let _ = call_python(|py| {
            let exc = crate::convert::py_err_ref(e);
            if let Err(err) = on_error.call1(py, (exc.value(py),)) {
                err.write_unraisable(py, Some(on_error.bind(py)));
            }
        });
    })
}

/// The default error report: one line on stderr per kind of error (its result code and OS
/// error number), then at most one per kind every [`REPORT_EVERY`], saying how many of that
/// kind were not shown. Needs no interpreter.
pub fn stderr_error_reporter() -> ErrorCallback {
    type Kinds = Vec<((i32, Option<i32>), Instant, u64)>;
    let kinds: Mutex<Kinds> = Mutex::new(Vec::new());
    Arc::new(move |e: &alog_core::Error| {
        let kind = (
            e.code(),
            match e {
                alog_core::Error::Io { source, .. } => source.raw_os_error(),
                _ => None,
            },
        );
        let now = Instant::now();
        let mut kinds = kinds.lock().unwrap_or_else(|p| p.into_inner());
        let unshown = match kinds.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, last, n)) if now.duration_since(*last) < REPORT_EVERY => {
                *n += 1;
                return;
            }
            Some((_, last, n)) => {
                *last = now;
                std::mem::take(n)
            }
            None => {
                kinds.push((kind, now, 0));
                0
            }
        };
        drop(kinds);
        if unshown > 0 {
            eprintln!("alog: {e} ({unshown} more errors of this kind since the last report)");
        } else {
            eprintln!("alog: {e}");
        }
    })
}

/// How often the default error report repeats one kind of error.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Closes every logger with a Python sink (registered with `atexit` by `alog`).
#[pyfunction]
pub fn close_python_sinks(py: Python<'_>) {
    for inner in live(true) {
        let _ = py.detach(|| inner.log().close(Some(HOOK_TIMEOUT)));
    }
    SHUT_DOWN.store(true, Ordering::Release);
    for sink in python_sinks() {
        let callback = sink
            .callback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(callback); // outside the lock: its finalizers may run Python
    }
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
