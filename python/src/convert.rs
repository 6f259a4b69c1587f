//! Translations between Python values and the engine's: levels, strings, field values, errors.

use std::borrow::Cow;
use std::os::raw::c_char;

use alog_core::{Error, Level};
use pyo3::exceptions::{PyOSError, PyTimeoutError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::ClosedError;

extern "C" {
    // Part of the stable ABI since 3.10 and exported with the same signature by 3.9, so an
    // abi3-py39 module may call it; pyo3 declares it only for 3.10+ builds.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// The UTF-8 bytes of a Python string, borrowed from the string's own cache when it is valid
/// Unicode. A string with lone surrogates is encoded with `surrogatepass`: the bytes are then
/// not valid UTF-8, and the engine escapes (text) or replaces (JSON) them as for any input.
pub fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str object and we hold the GIL; the returned buffer belongs to the
    // string and lives as long as it does, which the borrow of `s` guarantees.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if !data.is_null() {
        // SAFETY: CPython guarantees `size` bytes at `data`.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) };
        return Ok(Cow::Borrowed(bytes));
    }
    // Clear the UnicodeEncodeError and take the bytes surrogates and all.
    let _ = PyErr::take(s.py());
    let b = s.call_method1(pyo3::intern!(s.py(), "encode"), ("utf-8", "surrogatepass"))?;
    Ok(Cow::Owned(b.extract::<Vec<u8>>()?))
}

/// A Python level number (logging's 10..50; 5 for TRACE) as an engine level: the five named
/// Python levels land on DEBUG/INFO/WARN/ERROR/FATAL (5/9/13/17/21), numbers between them on
/// the finer grades of the band below, anything under 10 on TRACE.
pub fn py_level(n: i64) -> Level {
    let engine = if n < 10 {
        1
    } else {
        (5 + (n - 10) * 4 / 10).min(24)
    };
    Level::new(engine as i32).unwrap_or(Level::FATAL)
}

/// A level argument: a Python level number or a level name (`"info"`, `"WARNING"`, ...).
pub fn level_arg(v: &Bound<'_, PyAny>) -> PyResult<Level> {
    if let Ok(n) = v.cast::<PyInt>() {
        return Ok(py_level(n.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow()?;
        return Level::parse(&s)
            .filter(|_| s.trim().parse::<i64>().is_err())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "invalid level {s:?}: expected trace|debug|info|warning|error|critical or a Python level number"
                ))
            });
    }
    Err(PyTypeError::new_err(format!(
        "a level is an int or a str, not {}",
        v.get_type().name()?
    )))
}

/// An engine error as the Python exception users expect.
pub fn py_err(e: Error) -> PyErr {
    py_err_ref(&e)
}

/// [`py_err`] of a borrowed error. An I/O error with an OS error number becomes the `OSError`
/// subclass of that number (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`...)
/// with `errno`, `strerror` and `filename` set, as `open()` raises them.
pub fn py_err_ref(e: &Error) -> PyErr {
    match e {
        Error::Invalid(_) | Error::TooLarge { .. } => PyValueError::new_err(e.to_string()),
        Error::Closed => ClosedError::new_err(e.to_string()),
        Error::Timeout => PyTimeoutError::new_err(e.to_string()),
        Error::Io { context, .. } => match Some(e.os_errno()).filter(|n| *n != 0) {
            // OSError(errno, strerror, filename) picks the subclass of errno by itself.
            Some(errno) => {
                let os = std::io::Error::from_raw_os_error(errno).to_string();
                let os = os.split(" (os error").next().unwrap_or(&os).to_string();
                PyOSError::new_err((
                    errno,
                    format!("{context}: {os}"),
                    io_filename(context).map(str::to_owned),
                ))
            }
            None => PyOSError::new_err(e.to_string()),
        },
        Error::Full => crate::Error::new_err(e.to_string()),
    }
}

/// The path an I/O error's context names (`cannot open PATH`, `cannot create folder PATH`...).
fn io_filename(context: &str) -> Option<&str> {
    const BEFORE_PATH: [&str; 7] = [
        "cannot open ",
        "cannot create folder ",
        "cannot stat ",
        "cannot reopen ",
        "cannot read ",
        "compressing ",
        "fsync of ",
    ];
    BEFORE_PATH
        .iter()
        .find_map(|p| context.find(p).map(|i| &context[i + p.len()..]))
        .filter(|p| !p.is_empty())
}

/// An owned field value (the engine's type).
pub use alog_core::OwnedValue as Val;

fn json_dumps(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = v.py();
    // alog._json.dumps: json.dumps with non-finite floats as the engine writes them.
    let dumps = DUMPS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("alog._json")?.getattr("dumps")?.unbind())
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", py.get_type::<PyString>())?;
    kwargs.set_item("ensure_ascii", false)?;
    let s = dumps.bind(py).call((v,), Some(&kwargs))?;
    let s = s.cast_into::<PyString>()?;
    Ok(utf8(&s)?.into_owned())
}

/// A keyword argument's value as a field value: str, bool, int, float as themselves, `None`,
/// dicts, lists and tuples as JSON, anything else as its `str()`.
pub fn to_val(v: &Bound<'_, PyAny>) -> PyResult<Val> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Val::Str(utf8(s)?.into_owned()));
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(Val::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Val::Int(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Val::Uint(u));
        }
        return Ok(Val::Json(v.str()?.to_cow()?.as_bytes().to_vec()));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Val::Float(v.extract()?));
    }
    if v.is_none() {
        return Ok(Val::Json(b"null".to_vec()));
    }
    if v.is_instance_of::<PyDict>() || v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()
    {
        return Ok(Val::Json(json_dumps(v)?));
    }
    let s = v.str()?;
    Ok(Val::Str(utf8(&s)?.into_owned()))
}

/// Field keys: str, encoded like messages.
pub fn key_bytes(k: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let s = k.cast::<PyString>()?;
    Ok(utf8(s)?.into_owned())
}
