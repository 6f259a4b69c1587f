//! `alog.Logger`: the native logger. A call checks the level, formats `%`-arguments only when
//! the level is enabled, and hands the message (and keyword fields) to the engine while holding
//! the interpreter lock; only a call that must wait for room (`overflow=block`), `flush` and
//! `close` release it, and they wake up for Ctrl-C.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alog_core::config::CallbackSpec;
use alog_core::printf::Arg;
use alog_core::{Config, Error, Field, Format, Level, Record, Source, Stream};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyMapping, PyString, PyTuple};

use crate::convert::{key_bytes, level_arg, py_err, py_level, to_val, utf8, Val};
use crate::percent;
use crate::sinks;

/// How often a blocked call, `flush` or `close` comes back for pending signals (Ctrl-C).
const SIGNAL_STEP: Duration = Duration::from_millis(50);

/// The engine logger shared by a logger and the children `bind` makes.
pub struct Inner {
    log: Option<alog_core::Logger>,
}

impl Inner {
    pub fn log(&self) -> &alog_core::Logger {
        self.log.as_ref().expect("set until drop")
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping the last handle closes the logger and waits for the writer, which may need
        // the interpreter for a Python sink: wait without holding it.
        if let Some(log) = self.log.take() {
            Python::attach(|py| py.detach(move || drop(log)));
        }
    }
}

/// Context fields of a bound logger.
type Context = Arc<[(Vec<u8>, Val)]>;

#[pyclass(module = "alog._alog", name = "Logger", frozen, weakref, subclass)]
pub struct Logger {
    pub(crate) inner: Arc<Inner>,
    pub(crate) context: Context,
}

/// The binding's own defaults, set before the user's keywords (which override them). Every
/// way of opening a logger from Python (`Logger`, `Handler`, `alog.aio`, `alog.logxpy`) comes
/// through [`Logger::new`], so these hold for all of them.
const PYTHON_DEFAULTS: [(&str, &str); 2] = [
    // Python's logging contract: a multi-line message or traceback keeps its lines in text
    // output (continuation lines indented; `multiline="escape"` prints them as \n).
    ("multiline", "indent"),
    // A process ended by SIGTERM with the default disposition (`kill`, systemd, Kubernetes,
    // `multiprocessing.Pool.terminate()`) writes what is queued before it dies, as
    // `logging.FileHandler` would have; Python's own SIGINT handling already exits through
    // `atexit`. `flush_on_signal="none"` turns it off.
    ("flush_on_signal", "term"),
];

/// Sets configuration keywords: `key=value`, and a mapping as the value of `key` stands for
/// its members as dotted keys (`file={"full": {"path": p}}` is `file.full.path=p`), so that
/// `dictConfig`, whose keys must be identifiers, can give every key; the members of a mapping
/// under `config` are keys as they are (`config={"console.level": "warn"}`).
fn set_config(c: &mut Config, prefix: &str, cfg: &Bound<'_, PyDict>) -> PyResult<()> {
    for (k, v) in cfg.iter() {
        let name: String = k.extract()?;
        let key = match (prefix, name.as_str()) {
            ("", "config") if v.cast::<PyDict>().is_ok() => String::new(),
            ("", _) => name,
            _ => format!("{prefix}.{name}"),
        };
        if prefix.is_empty() {
            if let Some(keys) = loguru_keys(&key, &v)? {
                for (k, val) in keys {
                    c.set(k, &val).map_err(py_err)?;
                }
                continue;
            }
        }
        match v.cast::<PyDict>() {
            Ok(d) => set_config(c, &key, d)?,
            Err(_) => c.set(&key, &config_value(&key, &v)?).map_err(py_err)?,
        }
    }
    Ok(())
}

/// loguru's `rotation`, `retention` and `compression`, as its users write them, in the
/// engine's keys: `rotation="100 MB"` (size), `"12:00"` or a `datetime.time` (daily at that
/// time of day), `"daily"` / `"1 day"` / `"hourly"` / `"1 hour"` or such a `timedelta`;
/// `retention=10` (files) or `"10 days"` / a `timedelta` (age); `compression="gz"` / `"zst"`.
/// `None` for other keys.
fn loguru_keys(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<Vec<(&'static str, String)>>> {
    let py = v.py();
    let bad = |what: &str| {
        PyValueError::new_err(format!(
            "invalid value {} for {key}: expected {what}",
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    };
    let is = |module: &str, name: &str| -> PyResult<bool> {
        v.is_instance(&py.import(module)?.getattr(name)?)
    };
    match key {
        "rotation" => {
            if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
                return Ok(Some(vec![(
                    "rotate_bytes",
                    v.extract::<u64>()?.to_string(),
                )]));
            }
            if is("datetime", "time")? {
                let (h, m): (u32, u32) = (
                    v.getattr("hour")?.extract()?,
                    v.getattr("minute")?.extract()?,
                );
                return Ok(Some(vec![("rotate_at", format!("{h:02}:{m:02}"))]));
            }
            let interval = |secs: f64| match secs as i64 {
                86_400 => Ok(Some(vec![("rotate_interval", "daily".to_string())])),
                3_600 => Ok(Some(vec![("rotate_interval", "hourly".to_string())])),
                _ => Err(bad(
                    "a rotation of 1 day or 1 hour (other periods are not supported)",
                )),
            };
            if is("datetime", "timedelta")? {
                return interval(v.call_method0("total_seconds")?.extract()?);
            }
            let s: String = v.str()?.to_string();
            let t = s.trim().to_ascii_lowercase();
            if t.contains(':') {
                return Ok(Some(vec![("rotate_at", t)]));
            }
            match t.as_str() {
                "daily" | "day" | "1 day" | "1d" | "24 hours" | "24h" => return interval(86_400.0),
                "hourly" | "hour" | "1 hour" | "1h" | "60 minutes" => return interval(3_600.0),
                _ => {}
            }
            if t.starts_with(|c: char| c.is_ascii_digit()) && t.ends_with('b') {
                return Ok(Some(vec![("rotate_bytes", t)]));
            }
            Err(bad(
                "a size (\"100 MB\"), a time of day (\"12:00\") or \"daily\" / \"hourly\"",
            ))
        }
        "retention" => {
            if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
                return Ok(Some(vec![("max_files", v.extract::<u64>()?.to_string())]));
            }
            if is("datetime", "timedelta")? {
                let secs: f64 = v.call_method0("total_seconds")?.extract()?;
                return Ok(Some(vec![("max_age", format!("{}", secs.round() as i64))]));
            }
            Ok(Some(vec![("max_age", v.str()?.to_string())]))
        }
        "compression" => {
            let s: String = v.str()?.to_string();
            let c = match s
                .trim()
                .trim_start_matches('.')
                .to_ascii_lowercase()
                .as_str()
            {
                "gz" | "gzip" => "gzip",
                "zst" | "zstd" => "zstd",
                _ => return Err(bad("\"gz\" or \"zst\"")),
            };
            Ok(Some(vec![("compress", c.to_string())]))
        }
        _ => Ok(None),
    }
}

/// The config value of a Python argument: levels as engine numbers, bools as true/false,
/// an int `file_mode` or `dir_mode` as the octal digits of its value (`0o640`).
fn config_value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    let is_level = key == "level" || key.ends_with(".level") || key == "flush_on";
    if v.is_instance_of::<PyBool>() {
        return Ok(if v.extract::<bool>()? {
            "true"
        } else {
            "false"
        }
        .into());
    }
    if is_level && v.is_instance_of::<PyInt>() {
        return Ok(py_level(v.extract()?).number().to_string());
    }
    if (key == "file_mode" || key == "dir_mode") && v.is_instance_of::<PyInt>() {
        return Ok(format!("0o{:o}", v.extract::<u32>()?));
    }
    static TIMEDELTA: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();
    if v.is_instance(TIMEDELTA.import(v.py(), "datetime", "timedelta")?)? {
        // Durations: milliseconds for the `_ms` keys, seconds for the others (`max_age`).
        let secs: f64 = v.call_method0("total_seconds")?.extract()?;
        let n = if key.ends_with("_ms") {
            secs * 1e3
        } else {
            secs
        };
        return Ok(format!("{}", n.round() as i64));
    }
    Ok(v.str()?.to_cow()?.into_owned())
}

/// The name of a file sink added by path: the file's stem, with what a key cannot hold
/// (dots, spaces) made `_`.
fn file_sink_name(path: &str) -> String {
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() {
        "added".into()
    } else {
        n
    }
}

fn bad_level(l: &str) -> PyErr {
    PyValueError::new_err(format!("invalid level {l:?}"))
}

fn parse_format(f: &str) -> PyResult<Format> {
    match f {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        _ => Err(PyValueError::new_err(format!(
            "invalid value {f:?} for format: expected text or json"
        ))),
    }
}

/// Submits a record: without waiting while holding the interpreter lock, and if the queue is
/// full under `overflow=block`, waiting without it. `Ok(false)`: dropped by the policy.
pub fn submit(py: Python<'_>, log: &alog_core::Logger, rec: &Record<'_>) -> PyResult<bool> {
    submit_or_not(py, log, rec, true).map(|r| r.unwrap_or(false))
}

/// [`submit`], or with `wait == false` `Ok(None)` instead of waiting for room: the record was
/// neither submitted nor counted (for `alog.aio`, which then awaits room off the event loop).
pub fn submit_or_not(
    py: Python<'_>,
    log: &alog_core::Logger,
    rec: &Record<'_>,
    wait: bool,
) -> PyResult<Option<bool>> {
    let r = match log.try_write_record(rec) {
        Ok(true) => return Ok(Some(true)),
        Ok(false) if !wait => return Ok(None),
        Ok(false) => wait_for_room(py, |keep| {
            log.write_record_interruptible(rec, SIGNAL_STEP, keep)
        })?,
        Err(e) => Err(e),
    };
    accepted(r).map(Some)
}

/// [`submit`] for a deferred `%`-format ([`crate::percent`]): the writer renders the message.
pub fn submit_deferred(
    py: Python<'_>,
    log: &alog_core::Logger,
    level: Level,
    timestamp_ns: Option<i64>,
    site: u32,
    args: &[Arg<'_>],
) -> PyResult<bool> {
    let r = match log.try_log_deferred(level, timestamp_ns, site, args) {
        Ok(true) => return Ok(true),
        Ok(false) => wait_for_room(py, |keep| {
            log.log_deferred_interruptible(level, timestamp_ns, site, args, SIGNAL_STEP, keep)
        })?,
        Err(e) => Err(e),
    };
    accepted(r)
}

/// Runs a submission that waits for room under `overflow=block` with the interpreter
/// released, delivering pending signals (Ctrl-C) at every step; a signal handler's exception
/// ends the wait (the record is dropped and counted) and is raised.
fn wait_for_room(
    py: Python<'_>,
    op: impl FnOnce(&mut dyn FnMut() -> bool) -> alog_core::Result<()> + Send,
) -> PyResult<alog_core::Result<()>> {
    let mut interrupted: Option<PyErr> = None;
    let r = py.detach(|| {
        op(&mut || {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => true,
                Err(e) => {
                    interrupted = Some(e);
                    false
                }
            })
        })
    });
    match interrupted {
        Some(e) => Err(e),
        None => Ok(r),
    }
}

/// Whether a submission was accepted: `false` when dropped by the overflow policy (counted).
fn accepted(r: alog_core::Result<()>) -> PyResult<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(Error::Full | Error::Timeout) => Ok(false),
        Err(e) => Err(py_err(e)),
    }
}

/// Runs `op(step)` with the interpreter released, in steps, until it stops timing out or
/// `timeout` (seconds; `None`: forever) passes; between steps pending signals are delivered.
fn interruptible(
    py: Python<'_>,
    timeout: Option<f64>,
    op: impl Fn(Duration) -> alog_core::Result<()> + Send + Sync,
) -> PyResult<()> {
    let deadline = match timeout {
        Some(t) if !(t >= 0.0 && t.is_finite()) => {
            return Err(PyValueError::new_err(format!(
                "timeout must be a non-negative number of seconds, not {t}"
            )))
        }
        Some(t) => Some(Instant::now() + Duration::from_secs_f64(t)),
        None => None,
    };
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let step = left.map_or(SIGNAL_STEP, |l| l.min(SIGNAL_STEP));
        match py.detach(|| op(step)) {
            Ok(()) => return Ok(()),
            Err(Error::Timeout) if left.map_or(true, |l| l > step) => py.check_signals()?,
            Err(e) => return Err(py_err(e)),
        }
    }
}

/// Set once `contextualize` was used in this process: from then on a call looks for fields
/// in `alog._context` (a `contextvars.ContextVar`); before, it costs nothing.
static SCOPED_USED: AtomicBool = AtomicBool::new(false);

/// Called by `alog.Logger.contextualize` before it first sets `alog._context`.
#[pyfunction]
pub fn use_scoped_fields() {
    SCOPED_USED.store(true, Ordering::Relaxed);
}

/// The fields `contextualize` set for the current context, if any.
fn scoped_fields(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    if !SCOPED_USED.load(Ordering::Relaxed) {
        return Ok(None);
    }
    static VAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let var = VAR.import(py, "alog", "_context")?;
    let v = var.call_method0(pyo3::intern!(py, "get"))?;
    Ok(v.cast_into::<PyDict>().ok().filter(|d| !d.is_empty()))
}

/// `alog.<name>(*args, **kwargs)`: the pure-Python helpers behind `catch`, `contextualize`
/// and `opt`.
fn helper<'py>(
    py: Python<'py>,
    name: &str,
    args: Vec<Bound<'py, PyAny>>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let args = PyTuple::new(py, args)?;
    py.import("alog")?.getattr(name)?.call(args, kwargs)
}

/// The coroutine `asyncio.to_thread(obj.method, timeout)`.
fn to_thread<'py>(
    obj: &Bound<'py, PyAny>,
    method: &str,
    timeout: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    py.import("asyncio")?
        .getattr("to_thread")?
        .call1((obj.getattr(method)?, timeout))
}

/// `exc_info` as logging takes it: True (the exception being handled), an exception, or a
/// `(type, value, traceback)` tuple; the traceback text, or `None` when there is none.
pub fn traceback_text(py: Python<'_>, exc_info: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if !exc_info.is_truthy()? {
        return Ok(None);
    }
    let ei: Bound<'_, PyTuple> = if let Ok(t) = exc_info.cast::<PyTuple>() {
        t.clone()
    } else if exc_info.is_instance_of::<pyo3::exceptions::PyBaseException>() {
        let tb = exc_info.getattr("__traceback__")?;
        PyTuple::new(py, [exc_info.get_type().into_any(), exc_info.clone(), tb])?
    } else {
        py.import("sys")?.call_method0("exc_info")?.cast_into()?
    };
    if ei.get_item(0)?.is_none() {
        return Ok(None);
    }
    let lines = py
        .import("traceback")?
        .call_method1("format_exception", ei)?;
    let text: String = PyString::new(py, "")
        .call_method1("join", (lines,))?
        .extract()?;
    Ok(Some(text.trim_end_matches('\n').to_string()))
}

fn stack_text(py: Python<'_>) -> PyResult<String> {
    let lines = py.import("traceback")?.call_method0("format_stack")?;
    let text: String = PyString::new(py, "")
        .call_method1("join", (lines,))?
        .extract()?;
    Ok(format!(
        "Stack (most recent call last):\n{}",
        text.trim_end_matches('\n')
    ))
}

impl Logger {
    /// The message: `str(msg)`, or `msg % args` (a single mapping argument is the mapping, as
    /// in logging).
    fn message<'py>(
        msg: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyString>> {
        let args: Bound<'py, PyAny> = match args.len() {
            1 => {
                let a = args.get_item(0)?;
                if a.cast::<PyMapping>().is_ok() && a.is_truthy()? {
                    a
                } else {
                    args.clone().into_any()
                }
            }
            _ => args.clone().into_any(),
        };
        percent::format_in_python(msg, Some(&args))
    }

    fn emit(
        &self,
        py: Python<'_>,
        level: Level,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        exc_default: bool,
    ) -> PyResult<bool> {
        let log = self.inner.log();
        if !log.enabled(level) {
            return Ok(false);
        }
        let scoped = scoped_fields(py)?;
        let simple =
            kwargs.is_none() && self.context.is_empty() && !exc_default && scoped.is_none();
        if simple && !args.is_empty() {
            // A `%`-format printf renders alike goes to the writer unformatted (`percent`).
            let mut captured = percent::no_args();
            if let Some((site, n)) = percent::defer(msg, args, &mut captured) {
                return submit_deferred(py, log, level, None, site, &captured[..n]);
            }
        }
        let text = Self::message(msg, args)?;
        let bytes = utf8(&text)?;
        if simple {
            return submit(py, log, &Record::new_bytes(level, &bytes));
        }
        let mut extra: Vec<(Vec<u8>, Val)> = Vec::new();
        if let Some(d) = scoped {
            for (k, v) in d.iter() {
                extra.push((key_bytes(&k)?, to_val(&v)?));
            }
        }
        let mut exc_info = None;
        let mut stack_info = false;
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                let key = key_bytes(&k)?;
                match key.as_slice() {
                    b"exc_info" => exc_info = Some(v),
                    b"stack_info" => stack_info = v.is_truthy()?,
                    _ => extra.push((key, to_val(&v)?)),
                }
            }
        }
        let exc_info = match exc_info {
            Some(e) => Some(e),
            None if exc_default => Some(PyBool::new(py, true).to_owned().into_any()),
            None => None,
        };
        if let Some(e) = exc_info {
            if let Some(tb) = traceback_text(py, &e)? {
                extra.push((b"exception".to_vec(), Val::Str(tb.into_bytes())));
            }
        }
        if stack_info {
            extra.push((b"stack".to_vec(), Val::Str(stack_text(py)?.into_bytes())));
        }
        self.submit_fields(py, level, &bytes, &extra, None, true)
            .map(|r| r.unwrap_or(false))
    }

    /// Submits `msg` with the context fields, then `extra`, as [`submit_or_not`] does.
    fn submit_fields(
        &self,
        py: Python<'_>,
        level: Level,
        msg: &[u8],
        extra: &[(Vec<u8>, Val)],
        timestamp_ns: Option<i64>,
        wait: bool,
    ) -> PyResult<Option<bool>> {
        let fields: Vec<Field<'_>> = self
            .context
            .iter()
            .chain(extra.iter())
            .map(|(k, v)| Field {
                key: k,
                value: v.as_value(),
            })
            .collect();
        let rec = Record {
            level,
            timestamp_ns,
            msg,
            fields: &fields,
            source: None,
        };
        submit_or_not(py, self.inner.log(), &rec, wait)
    }
}

/// `Record::new` for bytes.
trait NewBytes<'a> {
    fn new_bytes(level: Level, msg: &'a [u8]) -> Record<'a>;
}
impl<'a> NewBytes<'a> for Record<'a> {
    fn new_bytes(level: Level, msg: &'a [u8]) -> Record<'a> {
        Record {
            level,
            timestamp_ns: None,
            msg,
            fields: &[],
            source: None,
        }
    }
}

/// One `#[pymethods]` block per level method (pyo3's `multiple-pymethods`).
macro_rules! level_methods {
    ($($name:ident => $level:ident, $exc:expr, $doc:literal;)*) => {$(
        #[pymethods]
        impl Logger {
            #[doc = $doc]
            #[pyo3(signature = (msg, *args, **fields))]
            fn $name(
                &self,
                py: Python<'_>,
                msg: &Bound<'_, PyAny>,
                args: &Bound<'_, PyTuple>,
                fields: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<()> {
                self.emit(py, Level::$level, msg, args, fields, $exc).map(|_| ())
            }
        }
    )*};
}

level_methods! {
    trace => TRACE, false, "Logs at TRACE (Python level 5).";
    debug => DEBUG, false, "Logs at DEBUG (10).";
    info => INFO, false, "Logs at INFO (20).";
    warning => WARN, false, "Logs at WARNING (30).";
    warn => WARN, false, "Logs at WARNING (30).";
    error => ERROR, false, "Logs at ERROR (40).";
    critical => FATAL, false, "Logs at CRITICAL (50).";
    fatal => FATAL, false, "Logs at CRITICAL (50).";
    exception => ERROR, true, "Logs at ERROR with the traceback being handled as field `exception`.";
}

#[pymethods]
impl Logger {
    /// Opens a logger writing to `path` (if given). Keywords are the engine's configuration
    /// keys (`level`, `format`, `queue_capacity`, `overflow`, ...; `file.NAME.path` through
    /// `**{...}`); `on_batch` is a callable receiving each batch's formatted lines as bytes.
    #[new]
    #[pyo3(signature = (path=None, *, on_batch=None, on_error=None, **config))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        on_batch: Option<Py<PyAny>>,
        on_error: Option<Py<PyAny>>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut c = Config::default();
        for (key, value) in PYTHON_DEFAULTS {
            c.set(key, value).map_err(py_err)?;
        }
        if let Some(cfg) = config {
            set_config(&mut c, "", cfg)?;
        }
        let mut py_sinks = Vec::new();
        // One callable, or a list of them: each is a sink of its own (`batch_callback.N` in
        // `sink_stats()`, with its own lane and counters).
        let callables: Vec<Py<PyAny>> = match on_batch {
            None => Vec::new(),
            Some(f) => match f.bind(py).cast::<pyo3::types::PyList>() {
                Ok(l) => l.iter().map(Bound::unbind).collect(),
                Err(_) => vec![f],
            },
        };
        for f in callables {
            if !f.bind(py).is_callable() {
                return Err(PyTypeError::new_err(format!(
                    "on_batch takes callables, not {}",
                    f.bind(py).get_type().name()?
                )));
            }
            let sink = sinks::PySink::new(f);
            c.batch_callbacks.push(sinks::batch_callback(sink.clone()));
            py_sinks.push(sink);
        }
        if let Some(stream) = c.console {
            if let Some((sink, callback)) = sinks::replaced_console(py, stream)? {
                c.console = None;
                c.callbacks.push(CallbackSpec {
                    callback,
                    level: c.console_level,
                    format: c.console_format,
                });
                py_sinks.push(sink);
            }
        }
        let calls_python = !py_sinks.is_empty() || on_error.is_some();
        c.on_error = match on_error {
            Some(f) if !f.bind(py).is_callable() => {
                return Err(PyTypeError::new_err(format!(
                    "on_error must be callable, not {}",
                    f.bind(py).get_type().name()?
                )))
            }
            Some(f) => Some(sinks::error_callback(f)),
            None if py
                .import("logging")?
                .getattr("raiseExceptions")?
                .is_truthy()? =>
            {
                Some(sinks::stderr_error_reporter())
            }
            None => None,
        };
        let log = py
            .detach(|| alog_core::Logger::open(path.as_deref(), c))
            .map_err(py_err)?;
        let inner = Arc::new(Inner { log: Some(log) });
        sinks::register(&inner, py_sinks, calls_python);
        Ok(Logger {
            inner,
            context: Arc::new([]),
        })
    }

    /// Logs at `level` (a Python level number or name).
    #[pyo3(signature = (level, msg, *args, **fields))]
    fn log(
        &self,
        py: Python<'_>,
        level: &Bound<'_, PyAny>,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        fields: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.emit(py, level_arg(level)?, msg, args, fields, false)
            .map(|_| ())
    }

    /// Submits a preformatted message as it is; returns whether the engine accepted it (False:
    /// below the level, or dropped by the overflow policy and counted).
    #[pyo3(signature = (msg, level=None))]
    fn write(
        &self,
        py: Python<'_>,
        msg: &Bound<'_, PyString>,
        level: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let level = match level {
            Some(l) => level_arg(l)?,
            None => Level::INFO,
        };
        let log = self.inner.log();
        if !log.enabled(level) {
            return Ok(false);
        }
        let bytes = utf8(msg)?;
        submit(py, log, &Record::new_bytes(level, &bytes))
    }

    /// `alog.aio`'s entry point: submits `msg` at `level` with `fields` (a dict) and the
    /// record's own timestamp `ts_ns` (nanoseconds since the epoch). True: submitted; False:
    /// below the level or dropped by the overflow policy (counted); None (only with
    /// `wait=False`): the queue is full under `overflow=block`, nothing was submitted.
    #[pyo3(signature = (level, msg, fields=None, ts_ns=None, wait=false))]
    fn _submit(
        &self,
        py: Python<'_>,
        level: &Bound<'_, PyAny>,
        msg: &Bound<'_, PyString>,
        fields: Option<&Bound<'_, PyDict>>,
        ts_ns: Option<i64>,
        wait: bool,
    ) -> PyResult<Option<bool>> {
        let level = level_arg(level)?;
        let log = self.inner.log();
        if !log.enabled(level) {
            return Ok(Some(false));
        }
        let bytes = utf8(msg)?;
        let mut owned: Vec<(Vec<u8>, Val)> = Vec::new();
        if let Some(f) = fields {
            for (k, v) in f.iter() {
                owned.push((key_bytes(&k)?, to_val(&v)?));
            }
        }
        self.submit_fields(py, level, &bytes, &owned, ts_ns, wait)
    }

    /// Logs an exception escaping a block (`with log.catch():`) or a function
    /// (`@log.catch` or `@log.catch(ValueError, level="critical", reraise=True)`) with its
    /// traceback, as loguru's `catch` does.
    #[pyo3(signature = (*args, **kwargs))]
    fn catch<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let all = std::iter::once(slf.as_any().clone())
            .chain(args.iter())
            .collect();
        helper(py, "_Catch", all, kwargs)
    }

    /// `with log.contextualize(request=7):` adds fields to every record logged in the block
    /// (also from coroutines and tasks it awaits: a `contextvars` context).
    #[pyo3(signature = (**fields))]
    fn contextualize<'py>(
        &self,
        py: Python<'py>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields = match fields {
            Some(f) => f.clone(),
            None => PyDict::new(py),
        };
        helper(py, "_contextualize", vec![fields.into_any()], None)
    }

    /// `log.opt(lazy=True).debug("x=%s", expensive)`: with `lazy`, callable arguments are
    /// called only when the level is enabled; `exception=True` adds the traceback being
    /// handled.
    #[pyo3(signature = (**options))]
    fn opt<'py>(
        slf: &Bound<'py, Self>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_Opt", vec![slf.as_any().clone()], options)
    }

    /// `await logger.aflush(timeout)`: `flush` on a worker thread, so the event loop runs on.
    #[pyo3(signature = (timeout=None))]
    fn aflush<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        to_thread(slf.as_any(), "flush", timeout)
    }

    /// `await logger.aclose(timeout)`: `close` on a worker thread, so the event loop runs on.
    #[pyo3(signature = (timeout=None))]
    fn aclose<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        to_thread(slf.as_any(), "close", timeout)
    }

    /// A child logger sharing this one's engine, adding `fields` to every record.
    #[pyo3(signature = (**fields))]
    fn bind(&self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Logger> {
        let mut ctx: Vec<(Vec<u8>, Val)> = self.context.to_vec();
        if let Some(f) = fields {
            for (k, v) in f.iter() {
                let key = key_bytes(&k)?;
                let val = to_val(&v)?;
                match ctx.iter_mut().find(|(k2, _)| *k2 == key) {
                    Some(slot) => slot.1 = val,
                    None => ctx.push((key, val)),
                }
            }
        }
        Ok(Logger {
            inner: self.inner.clone(),
            context: ctx.into(),
        })
    }

    /// Whether a record at `level` would be written (never after close).
    fn enabled(&self, level: &Bound<'_, PyAny>) -> PyResult<bool> {
        let log = self.inner.log();
        Ok(log.enabled(level_arg(level)?) && !log.is_closed())
    }

    /// Changes the level of the logger and of its sinks without a level of their own.
    fn set_level(&self, level: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner
            .log()
            .set_level(level_arg(level)?)
            .map_err(py_err)
    }

    /// Closes and reopens the logger's files before the writer's next batch, after an external
    /// tool (logrotate without `copytruncate`) moved them; a SIGHUP handler may call it.
    fn reopen(&self) -> PyResult<()> {
        self.inner.log().reopen().map_err(py_err)
    }

    /// Adds a sink to the open logger and returns its name (for `remove`, as `sink_stats()`
    /// names it). `sink`: a path (a file sink named `name`, by default the file's stem), a
    /// callable (taking each batch's formatted lines as bytes, like `on_batch`),
    /// `sys.stdout` / `sys.stderr` (the console), or `None` with the sink's engine keys as
    /// keywords (`console="stderr"`, `syslog="tcp://host:514"`, `sqlite=path`, ...). `level`,
    /// `format` and `pattern` are the new sink's; everything else (rotation, time zone) is the
    /// logger's. The sink takes every record logged after the call.
    #[pyo3(signature = (sink=None, *, name=None, level=None, format=None, pattern=None, **config))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        sink: Option<Py<PyAny>>,
        name: Option<String>,
        level: Option<&Bound<'_, PyAny>>,
        format: Option<&Bound<'_, PyAny>>,
        pattern: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<String> {
        let mut spec = Config::default();
        let mut py_sinks = Vec::new();
        // The keys of `level`, `format`, `pattern` for this kind of sink (None: the logger's).
        let mut prefix: Option<String> = None;
        let sys = py.import("sys")?;
        match sink.as_ref().map(|s| s.bind(py)) {
            None => {}
            Some(s) if s.is(&sys.getattr("stdout")?) || s.is(&sys.getattr("stderr")?) => {
                let stream = if s.is(&sys.getattr("stdout")?) {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                let lvl = level.map(|l| config_value("level", l)).transpose()?;
                let lvl = lvl
                    .map(|l| Level::parse(&l).ok_or_else(|| bad_level(&l)))
                    .transpose()?;
                let fmt = format.map(|f| config_value("format", f)).transpose()?;
                let fmt = fmt.map(|f| parse_format(&f)).transpose()?;
                if pattern.is_some() {
                    return Err(PyTypeError::new_err(
                        "pattern= does not apply to a console sink: it prints the logger's pattern",
                    ));
                }
                match sinks::replaced_console(py, stream)? {
                    Some((py_sink, callback)) => {
                        spec.callbacks.push(CallbackSpec {
                            callback,
                            level: lvl,
                            format: fmt,
                        });
                        py_sinks.push(py_sink);
                    }
                    None => {
                        let which = if stream == Stream::Stdout {
                            "stdout"
                        } else {
                            "stderr"
                        };
                        spec.set("console", which).map_err(py_err)?;
                        if let Some(l) = lvl {
                            spec.set("console.level", &l.number().to_string())
                                .map_err(py_err)?;
                        }
                        if let Some(f) = fmt {
                            let f = if f == Format::Json { "json" } else { "text" };
                            spec.set("console.format", f).map_err(py_err)?;
                        }
                    }
                }
            }
            Some(s) if s.is_callable() => {
                if level.is_some() || format.is_some() || pattern.is_some() {
                    return Err(PyTypeError::new_err(
                        "a callable sink takes the logger's level, format and pattern: filter \
                         in the callable",
                    ));
                }
                let py_sink = sinks::PySink::new(s.clone().unbind());
                spec.batch_callbacks
                    .push(sinks::batch_callback(py_sink.clone()));
                py_sinks.push(py_sink);
            }
            Some(s) => {
                let os = py.import("os")?;
                let path: String = os.call_method1("fspath", (s,))?.extract().map_err(|_| {
                    PyTypeError::new_err(
                        "sink must be a path, a callable, sys.stdout or sys.stderr, or None",
                    )
                })?;
                let n = match name {
                    Some(n) => n,
                    None => file_sink_name(&path),
                };
                spec.set(&format!("file.{n}.path"), &path).map_err(py_err)?;
                prefix = Some(format!("file.{n}"));
            }
        }
        if let Some(p) = &prefix {
            for (k, v) in [("level", level), ("format", format), ("pattern", pattern)] {
                if let Some(v) = v {
                    let key = format!("{p}.{k}");
                    spec.set(&key, &config_value(&key, v)?).map_err(py_err)?;
                }
            }
        } else if sink.is_none() {
            for (k, v) in [("level", level), ("format", format), ("pattern", pattern)] {
                if let Some(v) = v {
                    spec.set(k, &config_value(k, v)?).map_err(py_err)?;
                }
            }
        }
        if let Some(cfg) = config {
            set_config(&mut spec, "", cfg)?;
        }
        let calls_python = !py_sinks.is_empty();
        let log = self.inner.log();
        let added = py.detach(|| log.add_sink(&spec)).map_err(py_err)?;
        if calls_python {
            sinks::register_more(&self.inner, py_sinks);
        }
        Ok(added)
    }

    /// Removes the sink named `name` after writing to it every record logged before the call.
    /// `timeout` in seconds (`None`: no limit).
    #[pyo3(signature = (name, timeout=None))]
    fn remove(&self, py: Python<'_>, name: &str, timeout: Option<f64>) -> PyResult<()> {
        let log = self.inner.log();
        let t = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        py.detach(|| log.remove_sink(name, t)).map_err(py_err)
    }

    /// Returns when every record logged before the call is written. `timeout` in seconds
    /// (`None`: no limit) raises `TimeoutError` when it passes.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let log = self.inner.log();
        interruptible(py, timeout, |step| log.flush(Some(step)))
    }

    /// Drains the queue, writes everything, closes the files. Closing a closed logger does
    /// nothing; logging to it raises `ClosedError`.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let log = self.inner.log();
        let start = Instant::now();
        match interruptible(py, timeout, |step| log.flush(Some(step))) {
            Err(e) if e.is_instance_of::<crate::ClosedError>(py) => return Ok(()),
            r => r?,
        }
        let left = timeout.map(|t| Duration::from_secs_f64(t).saturating_sub(start.elapsed()));
        match py.detach(|| log.close(left)) {
            Ok(()) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(py_err(e)),
        }
    }

    /// Whether the logger is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.log().is_closed()
    }

    /// Whether records are written on the calling thread (`sync=true` or `ALOG_SYNC=1`).
    #[getter]
    fn is_sync(&self) -> bool {
        self.inner.log().is_sync()
    }

    /// Each sink's counters, in the order the sinks were configured: a list of dicts with
    /// `name` (`file`, `file.NAME`, `console`, `syslog`, `callback.N`, `batch_callback.N`),
    /// `target`, `taken`, `written`, `dropped`, `failed`, `write_errors`, `bytes_written`,
    /// `backlog`, `backlog_peak` and `last_error`.
    fn sink_stats<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .log()
            .sink_stats()
            .into_iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("name", s.name)?;
                d.set_item("target", s.target)?;
                for (k, v) in [
                    ("taken", s.taken),
                    ("written", s.written),
                    ("dropped", s.dropped),
                    ("failed", s.failed),
                    ("write_errors", s.write_errors),
                    ("bytes_written", s.bytes_written),
                    ("backlog", s.backlog),
                    ("backlog_peak", s.backlog_peak),
                ] {
                    d.set_item(k, v)?;
                }
                d.set_item("last_error", s.last_error)?;
                Ok(d)
            })
            .collect()
    }

    /// The last I/O or sink error, if any.
    fn last_error(&self) -> Option<String> {
        self.inner.log().last_error()
    }

    /// The engine's counters.
    fn stats(&self) -> Stats {
        Stats::from(self.inner.log().stats())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: &Bound<'_, PyAny>,
        _v: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close(py, None)?;
        Ok(false)
    }

    /// Writes a `logging.LogRecord` (used by `alog.Handler`); see `record.rs`.
    #[pyo3(signature = (record, formatter=None))]
    fn _emit_record(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        formatter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        crate::record::emit(py, self.inner.log(), &self.context, record, formatter)
    }
}

/// A snapshot of a logger's counters: `submitted == written + dropped + failed + pending`.
/// Attributes: the names of [`Stats::items`].
#[pyclass(module = "alog._alog", name = "Stats", frozen)]
#[derive(Clone, Debug)]
pub struct Stats(alog_core::Stats);

impl From<alog_core::Stats> for Stats {
    fn from(s: alog_core::Stats) -> Self {
        Stats(s)
    }
}

#[pymethods]
impl Stats {
    fn __getattr__(&self, name: &str) -> PyResult<u64> {
        self.items()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                pyo3::exceptions::PyAttributeError::new_err(format!(
                    "'Stats' object has no attribute '{name}'"
                ))
            })
    }

    fn __dir__(&self) -> Vec<&'static str> {
        self.items().iter().map(|(k, _)| *k).collect()
    }

    /// The counters as a dict.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.items() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let parts: Vec<String> = self
            .items()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("Stats({})", parts.join(", "))
    }
}

impl Stats {
    /// Every counter by its Python name.
    fn items(&self) -> [(&'static str, u64); 13] {
        let s = &self.0;
        [
            ("submitted", s.submitted),
            ("written", s.written),
            ("dropped", s.dropped),
            ("failed", s.failed),
            ("pending", s.pending),
            ("queue_len", s.queue_len),
            ("queue_capacity", s.queue_capacity),
            ("queue_peak", s.queue_peak),
            ("batches", s.batches),
            ("bytes_written", s.bytes_written),
            ("write_errors", s.write_errors),
            ("rotations", s.rotations),
            ("writer_restarts", s.writer_restarts),
        ]
    }
}

/// The source location of a record, for `record.rs`.
pub fn source<'a>(file: &'a [u8], line: u32, func: &'a [u8]) -> Source<'a> {
    Source { file, line, func }
}
