//! `alog.read`: the lines of a log set (rotated files in order, then the active file; plain,
//! gzip, zstd, any of them encrypted) through the engine's reader, as `alog cat` prints them.
//! Files are read in 1 MiB steps without the interpreter lock; memory stays bounded by the
//! step and the longest line.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use alog_core::crypt::Key;
use alog_core::reader::{set_files, Decoder, FileReport};
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;

use crate::convert::py_err;

const STEP: usize = 1 << 20;

/// What to do with a damaged file (undecodable bytes, a torn last line, a wrong key...).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnDamage {
    Raise,
    Warn,
    Ignore,
}

#[pyclass(module = "alog._alog", name = "Reader")]
pub struct Reader {
    files: VecDeque<PathBuf>,
    key: Option<Key>,
    on_damage: OnDamage,
    current: Option<(File, Decoder)>,
    /// Decoded bytes not yet returned as lines, from `start`.
    out: Vec<u8>,
    start: usize,
    /// The damage of the file just finished, reported once its lines are returned.
    damage: Option<String>,
    buf: Vec<u8>,
}

/// The damage a report shows, in one sentence; `None` for an intact file.
fn damage(r: &FileReport) -> Option<String> {
    if r.is_ok() {
        return None;
    }
    let mut p: Vec<String> = r.problems.iter().take(5).cloned().collect();
    if r.problems.len() > 5 {
        p.push(format!("and {} more problems", r.problems.len() - 5));
    }
    if r.torn_tail > 0 {
        p.push(format!(
            "the last {} bytes are a line without its end",
            r.torn_tail
        ));
    }
    if r.nul_bytes > 0 {
        p.push(format!("{} NUL bytes", r.nul_bytes));
    }
    Some(format!("{}: {}", r.path.display(), p.join("; ")))
}

#[pymethods]
impl Reader {
    #[new]
    #[pyo3(signature = (path, key=None, key_file=None, errors="strict"))]
    fn new(
        path: PathBuf,
        key: Option<[u8; 32]>,
        key_file: Option<PathBuf>,
        errors: &str,
    ) -> PyResult<Self> {
        let on_damage = match errors {
            "strict" => OnDamage::Raise,
            "warn" => OnDamage::Warn,
            "ignore" => OnDamage::Ignore,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "errors must be strict|warn|ignore, not {errors:?}"
                )))
            }
        };
        let key = match (key, key_file) {
            (Some(k), _) => Some(Key::from_bytes(k)),
            (None, Some(f)) => Some(Key::from_file(&f).map_err(py_err)?),
            (None, None) => None,
        };
        let files = set_files(&path).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!("cannot list {}: {e}", path.display()))
        })?;
        if files.is_empty() {
            return Err(PyFileNotFoundError::new_err((
                2,
                format!(
                    "{}: no such file, and no rotated files of it",
                    path.display()
                ),
                path.display().to_string(),
            )));
        }
        Ok(Reader {
            files: files.into(),
            key,
            on_damage,
            current: None,
            out: Vec::new(),
            start: 0,
            damage: None,
            buf: vec![0; STEP],
        })
    }

    /// The files of the set, in reading order, not yet started.
    #[getter]
    fn files_left(&self) -> Vec<PathBuf> {
        self.files.iter().cloned().collect()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<String>> {
        loop {
            if let Some(i) = self.out[self.start..].iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&self.out[self.start..self.start + i]);
                let line = line.into_owned();
                self.start += i + 1;
                return Ok(Some(line));
            }
            self.out.drain(..self.start);
            self.start = 0;
            if let Some(d) = self.damage.take() {
                match self.on_damage {
                    OnDamage::Raise => return Err(crate::ReadError::new_err(d)),
                    OnDamage::Warn => PyErr::warn(
                        py,
                        &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                        &std::ffi::CString::new(d).unwrap_or_default(),
                        1,
                    )?,
                    OnDamage::Ignore => {}
                }
            }
            if !self.step(py)? {
                return Ok(None);
            }
        }
    }
}

impl Reader {
    /// Decodes the next piece of the set into `out`; false when the set is done.
    fn step(&mut self, py: Python<'_>) -> PyResult<bool> {
        let Some((file, dec)) = self.current.as_mut() else {
            let Some(path) = self.files.pop_front() else {
                return Ok(false);
            };
            let f = File::open(&path).map_err(|e| {
                let errno = e.raw_os_error().unwrap_or(0);
                pyo3::exceptions::PyOSError::new_err((
                    errno,
                    format!("cannot open {}: {e}", path.display()),
                    path.display().to_string(),
                ))
            })?;
            let dec = Decoder::new(&path, self.key.as_ref());
            self.current = Some((f, dec));
            return Ok(true);
        };
        let buf = &mut self.buf;
        let out = &mut self.out;
        let n = py.detach(|| loop {
            match file.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) => return Ok(0),
                Ok(n) => return dec.feed(&buf[..n], out).map(|_| n),
                Err(e) => return Err(e),
            }
        });
        let path = dec.report.path.clone();
        let io_err = |e: std::io::Error| {
            pyo3::exceptions::PyOSError::new_err(format!("reading {}: {e}", path.display()))
        };
        if n.map_err(io_err)? > 0 {
            return Ok(true);
        }
        let (_, dec) = self.current.take().expect("checked");
        let report = dec.finish(&mut self.out).map_err(io_err)?;
        if self.out.last().is_some_and(|b| *b != b'\n') {
            self.out.push(b'\n'); // a torn last line is still returned, as a line
        }
        self.damage = damage(&report);
        Ok(true)
    }
}
