//! `alog._alog`: the Python binding of the alog engine, PyO3 over `alog-core` directly.
//!
//! The module holds no policy: configuration keys go to `Config::set` as they are, the engine
//! validates them and its messages become Python exceptions. The binding only translates
//! Python's idioms: level numbers, `%`-style arguments, keyword fields, the interpreter lock.

mod convert;
mod logger;
mod percent;
mod read;
mod record;
mod sinks;

use pyo3::prelude::*;

pyo3::create_exception!(
    _alog,
    Error,
    pyo3::exceptions::PyException,
    "Base class of alog's own errors."
);
pyo3::create_exception!(
    _alog,
    ClosedError,
    Error,
    "The logger is closed: it accepts no more records."
);
pyo3::create_exception!(
    _alog,
    ReadError,
    Error,
    "A file of a log set is damaged: undecodable bytes, a torn last line, a wrong key."
);

/// Maps a Python level number (10..50, or a level name) to the engine's severity number.
#[pyfunction]
fn engine_level(level: &Bound<'_, PyAny>) -> PyResult<u8> {
    Ok(convert::level_arg(level)?.number())
}

#[pymodule]
fn _alog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<logger::Logger>()?;
    m.add_class::<logger::Stats>()?;
    m.add_class::<record::HandleFn>()?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("ReadError", py.get_type::<ReadError>())?;
    m.add_class::<read::Reader>()?;
    m.add_function(wrap_pyfunction!(engine_level, m)?)?;
    m.add_function(wrap_pyfunction!(percent::_deferred_formats, m)?)?;
    m.add_function(wrap_pyfunction!(logger::use_scoped_fields, m)?)?;
    m.add_function(wrap_pyfunction!(sinks::close_python_sinks, m)?)?;
    m.add_function(wrap_pyfunction!(sinks::before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(sinks::after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(sinks::after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(sinks::flush_all, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
