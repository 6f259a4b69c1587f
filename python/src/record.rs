//! `logging.LogRecord` -> engine record, for `alog.Handler`: the message, the record's own
//! timestamp, its source location, and as fields the logger name, module, thread, traceback,
//! stack and `extra` attributes.

use std::borrow::Cow;

use alog_core::{Field, Record};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{py_level, to_val, utf8, Val};
use crate::logger::{source, submit, traceback_text};

/// The attributes every `LogRecord` has; any other attribute came from `extra`.
fn is_standard(key: &str) -> bool {
    matches!(
        key,
        "name"
            | "msg"
            | "args"
            | "levelname"
            | "levelno"
            | "pathname"
            | "filename"
            | "module"
            | "exc_info"
            | "exc_text"
            | "stack_info"
            | "lineno"
            | "funcName"
            | "created"
            | "msecs"
            | "relativeCreated"
            | "thread"
            | "threadName"
            | "processName"
            | "process"
            | "taskName"
            | "message"
            | "asctime"
    )
}

fn str_attr<'py>(
    r: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    let v = r.getattr(name)?;
    if v.is_none() {
        return Ok(None);
    }
    match v.cast_into::<PyString>() {
        Ok(s) => Ok(Some(s)),
        Err(e) => Ok(Some(e.into_inner().str()?)),
    }
}

pub fn emit(
    py: Python<'_>,
    log: &alog_core::Logger,
    context: &[(Vec<u8>, Val)],
    r: &Bound<'_, PyAny>,
    formatter: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let level = py_level(r.getattr(intern!(py, "levelno"))?.extract()?);
    if !log.enabled(level) {
        return Ok(false);
    }
    let text: Bound<'_, PyString> = match formatter {
        Some(f) => f.call_method1(intern!(py, "format"), (r,))?.str()?,
        None => r.call_method0(intern!(py, "getMessage"))?.str()?,
    };
    let msg = utf8(&text)?;
    let created: f64 = r.getattr(intern!(py, "created"))?.extract()?;
    let pathname = str_attr(r, intern!(py, "pathname"))?;
    let func = str_attr(r, intern!(py, "funcName"))?;
    let lineno: u32 = r.getattr(intern!(py, "lineno"))?.extract().unwrap_or(0);
    let name = str_attr(r, intern!(py, "name"))?;
    let module = str_attr(r, intern!(py, "module"))?;
    let thread = str_attr(r, intern!(py, "threadName"))?;

    let mut owned: Vec<(Cow<'_, [u8]>, Val)> = Vec::new();
    let mut borrowed: Vec<(&[u8], Cow<'_, [u8]>)> = Vec::new();
    let names = [
        (b"logger" as &[u8], &name),
        (b"module", &module),
        (b"thread", &thread),
    ];
    for (k, v) in names {
        if let Some(s) = v {
            borrowed.push((k, utf8(s)?));
        }
    }
    // Without a formatter the traceback and stack go in fields; a formatter put them in msg.
    if formatter.is_none() {
        let exc_info = r.getattr(intern!(py, "exc_info"))?;
        if exc_info.is_truthy()? {
            let cached = r.getattr(intern!(py, "exc_text"))?;
            let tb = if cached.is_truthy()? {
                Some(cached.extract::<String>()?)
            } else {
                let t = traceback_text(py, &exc_info)?;
                if let Some(t) = &t {
                    r.setattr(intern!(py, "exc_text"), t)?;
                }
                t
            };
            if let Some(tb) = tb {
                owned.push((Cow::Borrowed(b"exception"), Val::Str(tb.into_bytes())));
            }
        }
        let stack = r.getattr(intern!(py, "stack_info"))?;
        if stack.is_truthy()? {
            owned.push((Cow::Borrowed(b"stack"), to_val(&stack)?));
        }
    }
    let dict = r.getattr(intern!(py, "__dict__"))?;
    let dict = dict.cast::<PyDict>()?;
    for (k, v) in dict.iter() {
        let Ok(key) = k.cast::<PyString>() else {
            continue;
        };
        let key_text = key.to_cow()?;
        if is_standard(&key_text) {
            continue;
        }
        owned.push((Cow::Owned(key_text.as_bytes().to_vec()), to_val(&v)?));
    }

    let mut fields: Vec<Field<'_>> =
        Vec::with_capacity(context.len() + borrowed.len() + owned.len());
    for (k, v) in &borrowed {
        fields.push(Field {
            key: k,
            value: alog_core::Value::Str(v),
        });
    }
    for (k, v) in context.iter() {
        fields.push(Field {
            key: k,
            value: v.as_value(),
        });
    }
    for (k, v) in &owned {
        fields.push(Field {
            key: k,
            value: v.as_value(),
        });
    }
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
        timestamp_ns: Some((created * 1e9) as i64),
        msg: &msg,
        fields: &fields,
        source: Some(source(&file, lineno, &func_b)),
    };
    submit(py, log, &rec)
}
