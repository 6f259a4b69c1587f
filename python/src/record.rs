//! `logging.LogRecord` -> engine record, for `alog.Handler`: the message, the record's own
//! timestamp, its source location, and as fields the logger name, module, thread, traceback,
//! stack and `extra` attributes. One pass over the record's `__dict__` reads everything.

use std::borrow::Cow;

use alog_core::{Field, Record, Value};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::convert::{py_level, to_val, utf8, Val};
use crate::logger::{source, submit, submit_deferred, traceback_text};
use crate::percent;

/// The attributes of a `LogRecord` this module reads.
#[derive(Default)]
struct Attrs<'py> {
    levelno: Option<Bound<'py, PyAny>>,
    msg: Option<Bound<'py, PyAny>>,
    args: Option<Bound<'py, PyAny>>,
    created: Option<Bound<'py, PyAny>>,
    pathname: Option<Bound<'py, PyAny>>,
    lineno: Option<Bound<'py, PyAny>>,
    func: Option<Bound<'py, PyAny>>,
    name: Option<Bound<'py, PyAny>>,
    module: Option<Bound<'py, PyAny>>,
    thread: Option<Bound<'py, PyAny>>,
    exc_info: Option<Bound<'py, PyAny>>,
    exc_text: Option<Bound<'py, PyAny>>,
    stack_info: Option<Bound<'py, PyAny>>,
}

/// Where an attribute of a `LogRecord` goes.
#[derive(Clone, Copy)]
enum Slot {
    Levelno,
    Msg,
    Args,
    Created,
    Pathname,
    Lineno,
    Func,
    Name,
    Module,
    Thread,
    ExcInfo,
    ExcText,
    StackInfo,
}

/// `LogRecord`'s own attributes in the order its `__init__` sets them (then those
/// `Formatter.format` adds); `None`: not used (it is in another field, or the line's own).
const KNOWN: [(&str, Option<Slot>); 23] = [
    ("name", Some(Slot::Name)),
    ("msg", Some(Slot::Msg)),
    ("args", Some(Slot::Args)),
    ("levelname", None),
    ("levelno", Some(Slot::Levelno)),
    ("pathname", Some(Slot::Pathname)),
    ("filename", None),
    ("module", Some(Slot::Module)),
    ("exc_info", Some(Slot::ExcInfo)),
    ("exc_text", Some(Slot::ExcText)),
    ("stack_info", Some(Slot::StackInfo)),
    ("lineno", Some(Slot::Lineno)),
    ("funcName", Some(Slot::Func)),
    ("created", Some(Slot::Created)),
    ("msecs", None),
    ("relativeCreated", None),
    ("thread", None),
    ("threadName", Some(Slot::Thread)),
    ("processName", None),
    ("process", None),
    ("taskName", None),
    ("message", None),
    ("asctime", None),
];

/// The names of [`KNOWN`] as interned strings.
fn known_names(py: Python<'_>) -> &[Py<PyString>] {
    static NAMES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
    NAMES.get_or_init(py, || {
        KNOWN
            .iter()
            .map(|(n, _)| PyString::intern(py, n).unbind())
            .collect()
    })
}

/// `logging.LogRecord`, whose `getMessage` this module may compute itself.
fn log_record_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static T: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    T.import(py, "logging", "LogRecord")
}

fn text<'py>(v: &Option<Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyString>>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => match v.cast::<PyString>() {
            Ok(s) => Ok(Some(s.clone())),
            Err(_) => Ok(Some(v.str()?)),
        },
    }
}

/// A `LogRecord` that is only its message, level and time (no formatter, and no sink shows
/// fields or the source): four attributes are read, not the whole record, and a `%`-format
/// printf renders alike goes to the writer unformatted (`percent`). `None`: the record lacks
/// one of them (made by hand), and the general path decides.
fn emit_message_only(
    py: Python<'_>,
    log: &alog_core::Logger,
    dict: &Bound<'_, PyDict>,
) -> PyResult<Option<bool>> {
    let (Some(levelno), Some(msg)) = (
        dict.get_item(intern!(py, "levelno"))?,
        dict.get_item(intern!(py, "msg"))?,
    ) else {
        return Ok(None);
    };
    let level = py_level(levelno.extract()?);
    if !log.enabled(level) {
        return Ok(Some(false));
    }
    let ts = match dict.get_item(intern!(py, "created"))? {
        Some(c) => Some((c.extract::<f64>()? * 1e9) as i64),
        None => None,
    };
    let args = dict.get_item(intern!(py, "args"))?;
    // Without arguments logging prints the message as it is (`%%` stays `%%`).
    if let Some(tuple) = args
        .as_ref()
        .and_then(|a| a.cast::<PyTuple>().ok())
        .filter(|a| !a.is_empty())
    {
        let mut captured = percent::no_args();
        if let Some((site, n)) = percent::defer(&msg, tuple, &mut captured) {
            return submit_deferred(py, log, level, ts, site, &captured[..n]).map(Some);
        }
    }
    let message = percent::format_in_python(&msg, args.as_ref())?;
    let rec = Record {
        level,
        timestamp_ns: ts,
        msg: &utf8(&message)?,
        fields: &[],
        source: None,
    };
    submit(py, log, &rec).map(Some)
}

pub fn emit(
    py: Python<'_>,
    log: &alog_core::Logger,
    context: &[(Vec<u8>, Val)],
    r: &Bound<'_, PyAny>,
    formatter: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let dict = r.getattr(intern!(py, "__dict__"))?;
    let dict = dict.cast::<PyDict>()?;
    let plain_record = formatter.is_none() && r.get_type().is(log_record_type(py)?);
    if plain_record && !log.shows_fields() {
        if let Some(accepted) = emit_message_only(py, log, dict)? {
            return Ok(accepted);
        }
    }
    let mut a = Attrs::default();
    let mut extra: Vec<(Bound<'_, PyString>, Bound<'_, PyAny>)> = Vec::new();
    let known = known_names(py);
    // The record's attributes come in the order LogRecord.__init__ sets them, which is the
    // order of KNOWN: the next expected name is compared first, by identity (attribute names
    // are interned), so each attribute costs one comparison.
    let mut next = 0;
    for (k, v) in dict.iter() {
        let at = match known.get(next) {
            Some(n) if n.as_ptr() == k.as_ptr() => Some(next),
            _ => known.iter().position(|n| n.as_ptr() == k.as_ptr()),
        };
        let at = match at {
            Some(i) => Some(i),
            None => {
                let Ok(key) = k.cast_into::<PyString>() else {
                    continue;
                };
                let b = utf8(&key)?;
                match KNOWN.iter().position(|(n, _)| n.as_bytes() == &*b) {
                    Some(i) => Some(i),
                    None => {
                        extra.push((key, v));
                        continue;
                    }
                }
            }
        };
        let Some(i) = at else { continue };
        next = i + 1;
        let slot = match KNOWN[i].1 {
            Some(Slot::Levelno) => &mut a.levelno,
            Some(Slot::Msg) => &mut a.msg,
            Some(Slot::Args) => &mut a.args,
            Some(Slot::Created) => &mut a.created,
            Some(Slot::Pathname) => &mut a.pathname,
            Some(Slot::Lineno) => &mut a.lineno,
            Some(Slot::Func) => &mut a.func,
            Some(Slot::Name) => &mut a.name,
            Some(Slot::Module) => &mut a.module,
            Some(Slot::Thread) => &mut a.thread,
            Some(Slot::ExcInfo) => &mut a.exc_info,
            Some(Slot::ExcText) => &mut a.exc_text,
            Some(Slot::StackInfo) => &mut a.stack_info,
            None => continue,
        };
        *slot = Some(v);
    }
    let levelno: i64 = match &a.levelno {
        Some(l) => l.extract()?,
        None => r.getattr(intern!(py, "levelno"))?.extract()?,
    };
    let level = py_level(levelno);
    if !log.enabled(level) {
        return Ok(false);
    }
    let ts = match &a.created {
        Some(c) => Some((c.extract::<f64>()? * 1e9) as i64),
        None => None,
    };
    let message: Bound<'_, PyString> = match formatter {
        Some(f) => f.call_method1(intern!(py, "format"), (r,))?.str()?,
        None if plain_record && a.msg.is_some() => {
            percent::format_in_python(a.msg.as_ref().expect("checked"), a.args.as_ref())?
        }
        None => r.call_method0(intern!(py, "getMessage"))?.str()?,
    };
    let msg = utf8(&message)?;
    if !log.shows_fields() {
        // No sink prints fields or the source location (a text pattern without them): the
        // record is its message, level and time.
        let rec = Record {
            level,
            timestamp_ns: ts,
            msg: &msg,
            fields: &[],
            source: None,
        };
        return submit(py, log, &rec);
    }
    let lineno: u32 = a
        .lineno
        .as_ref()
        .and_then(|l| l.extract().ok())
        .unwrap_or(0);
    let (pathname, func) = (text(&a.pathname)?, text(&a.func)?);
    let named = [
        (&b"logger"[..], text(&a.name)?),
        (b"module", text(&a.module)?),
        (b"thread", text(&a.thread)?),
    ];
    let mut named_bytes: Vec<(&[u8], Cow<'_, [u8]>)> = Vec::with_capacity(3);
    for (k, v) in &named {
        if let Some(s) = v {
            named_bytes.push((k, utf8(s)?));
        }
    }

    let mut owned: Vec<(Vec<u8>, Val)> = Vec::new();
    // Without a formatter the traceback and stack go in fields; a formatter put them in msg.
    if formatter.is_none() {
        if let Some(exc_info) = a
            .exc_info
            .as_ref()
            .filter(|e| e.is_truthy().unwrap_or(false))
        {
            let tb = match a
                .exc_text
                .as_ref()
                .filter(|t| t.is_truthy().unwrap_or(false))
            {
                Some(cached) => Some(cached.extract::<String>()?),
                None => {
                    let t = traceback_text(py, exc_info)?;
                    if let Some(t) = &t {
                        r.setattr(intern!(py, "exc_text"), t)?;
                    }
                    t
                }
            };
            if let Some(tb) = tb {
                owned.push((b"exception".to_vec(), Val::Str(tb.into_bytes())));
            }
        }
        if let Some(stack) = a
            .stack_info
            .as_ref()
            .filter(|s| s.is_truthy().unwrap_or(false))
        {
            owned.push((b"stack".to_vec(), to_val(stack)?));
        }
    }
    for (k, v) in &extra {
        owned.push((utf8(k)?.into_owned(), to_val(v)?));
    }

    let mut fields: Vec<Field<'_>> =
        Vec::with_capacity(named_bytes.len() + context.len() + owned.len());
    fields.extend(named_bytes.iter().map(|(k, v)| Field {
        key: k,
        value: Value::Str(v),
    }));
    fields.extend(context.iter().chain(owned.iter()).map(|(k, v)| Field {
        key: k,
        value: v.as_value(),
    }));
    let file = match &pathname {
        Some(p) => utf8(p)?,
        None => Cow::Borrowed(&b""[..]),
    };
    let func_b = match &func {
        Some(f) => utf8(f)?,
        None => Cow::Borrowed(&b""[..]),
    };
    let rec = Record {
        level,
        timestamp_ns: ts,
        msg: &msg,
        fields: &fields,
        source: Some(source(&file, lineno, &func_b)),
    };
    submit(py, log, &rec)
}

/// `alog.Handler.handle` without a Python frame: the handler's filters (if any), then the
/// record goes to the engine. On an error nothing was submitted, and the handler's Python
/// `emit` runs instead, which reports the error through `handleError` as logging does.
#[pyclass(module = "alog._alog", frozen)]
pub struct HandleFn {
    logger: Py<crate::logger::Logger>,
    handler: Py<PyAny>,
}

#[pymethods]
impl HandleFn {
    #[new]
    fn new(logger: Py<crate::logger::Logger>, handler: Py<PyAny>) -> Self {
        HandleFn { logger, handler }
    }

    fn __call__<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let h = self.handler.bind(py);
        let mut rec = record.clone();
        let mut rv = pyo3::types::PyBool::new(py, true).to_owned().into_any();
        if h.getattr(intern!(py, "filters"))?.is_truthy()? {
            rv = h.call_method1(intern!(py, "filter"), (&rec,))?;
            if !rv.is_truthy()? {
                return Ok(rv);
            }
            if rv.is_instance(log_record_type(py)?)? {
                rec = rv.clone();
            }
        }
        let formatter = h.getattr(intern!(py, "formatter"))?;
        let formatter = (!formatter.is_none()).then_some(&formatter);
        let lg = self.logger.get();
        match emit(py, lg.inner.log(), &lg.context, &rec, formatter) {
            Ok(_) => Ok(rv),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyRecursionError>(py) => Err(e),
            // A closed handler drops records silently, as logging's own handlers do.
            Err(e) if e.is_instance_of::<crate::ClosedError>(py) => Ok(rv),
            Err(_) => {
                h.call_method1(intern!(py, "emit"), (&rec,))?;
                Ok(rv)
            }
        }
    }

    /// Breaks the cycle handler -> handle -> handler for the garbage collector.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.handler)?;
        visit.call(&self.logger)
    }
}
