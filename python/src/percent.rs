//! Python's `%`-formatting, deferred to the writer thread.
//!
//! `logger.info("request %d handled in %.1f ms", i, ms)` spends most of its time in `msg % args`
//! (~700 ns of a ~5 us call on a slow machine). The engine already renders C printf formats on
//! its writer (`ALOG_LOGF`), so a Python format whose output printf reproduces byte for byte is
//! translated once into a printf format, registered as a call site without a location, and
//! each call copies only its arguments: exact `int`s (within 64 bits), exact `float`s and exact
//! `str`s. Anything whose Python output printf could render differently is formatted by Python
//! on the caller's thread, as before:
//!
//! - mapping keys (`%(name)s`), `*` widths, `%c`, `%r`, `%a`, flags on `%%`;
//! - `#` (Python's `%#o` is `0o17`, `%#x` of 0 is `0x0`), `0` together with a precision on
//!   integer conversions, a precision of 0 on them (Python prints 0 as `0`, printf as nothing);
//! - `%x`/`%o` of a negative number (Python prints `-ff`, C the two's complement), or with the
//!   `+` or space flag (Python prints the sign, printf does not);
//! - `inf` and `nan` under the `0` flag (Python pads them with zeros, printf with spaces);
//! - `%s` with a precision or flags other than `-` (they count characters in Python and bytes
//!   in C), `%s` with a width of a non-ASCII string, `%s` of a float (Python prints its shortest
//!   `repr`), `%d` of a float, bools or `None` outside `%s`, subclasses of `int`, `float` or
//!   `str` (their `__format__` or `__str__` may differ);
//! - arguments that do not match the format's count (Python raises the error).
//!
//! NaN is printed `nan` by Python whatever its sign; it is captured as the positive NaN so that
//! printf prints the same.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::raw::{c_char, c_int, c_longlong};
use std::sync::Mutex;

use alog_core::printf::{Arg, MAX_ARGS};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

extern "C" {
    // See `convert::utf8`: in the stable ABI since 3.10, exported by 3.9 with this signature.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// Most formats remembered (deferrable or not) and most call sites registered; a program that
/// builds its formats at run time stops adding them here and formats on the caller's thread.
const MAX_FORMATS: usize = 4096;
const MAX_SITES: usize = 4096;

/// How a conversion takes its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Take {
    /// `%d`, `%i`, `%u`: an exact int.
    Int,
    /// `%x`, `%X`, `%o`: an exact int, not negative.
    Unsigned,
    /// `%e`, `%f`, `%g` and capitals: an exact float, or an exact int converted as Python does.
    /// With the `0` flag, only a finite one (Python pads `inf` and `nan` with zeros, printf
    /// with spaces).
    Float { zero: bool },
    /// `%s`: an exact str (ASCII when the conversion has a width), an exact int, a bool or None.
    Text { width: bool },
}

#[derive(Debug)]
enum Piece {
    /// Literal text, `%` already doubled for printf.
    Lit(Vec<u8>),
    /// A conversion: printf's flags, width and precision, and its conversion letter.
    Conv { spec: Vec<u8>, conv: u8, take: Take },
}

/// A parsed format and the sites registered for it, one per way its `%s` conversions were
/// given (string or integer: bit `i` of the key is set when the `i`-th `%s` got an int).
#[derive(Debug)]
struct Entry {
    fmt: Box<[u8]>,
    pieces: Option<Vec<Piece>>,
    convs: usize,
    sites: Vec<(u16, Option<u32>)>,
}

/// Keys are Python's own hash of the format string, which the string caches: a call hashes
/// nothing. The few formats that share a hash are told apart by their bytes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = v as u64;
    }
}

#[derive(Default)]
struct Cache {
    formats: HashMap<i64, Vec<Entry>, BuildHasherDefault<Identity>>,
    count: usize,
    sites: usize,
}

/// Every access happens with the interpreter held, so the lock is never contended; it exists
/// because the interpreter lock is not a Rust type.
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Parses a Python `%`-format. `None` when some part of it is not rendered identically by
/// printf (see the module's list).
fn parse(f: &[u8]) -> Option<(Vec<Piece>, usize)> {
    let mut pieces = Vec::new();
    let mut lit = Vec::new();
    let mut convs = 0;
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        i += 1;
        if c != b'%' {
            lit.push(c);
            continue;
        }
        if f.get(i) == Some(&b'%') {
            lit.extend_from_slice(b"%%");
            i += 1;
            continue;
        }
        let (mut minus, mut plus, mut space, mut alt, mut zero) =
            (false, false, false, false, false);
        while let Some(&c) = f.get(i) {
            match c {
                b'-' => minus = true,
                b'+' => plus = true,
                b' ' => space = true,
                b'#' => alt = true,
                b'0' => zero = true,
                _ => break,
            }
            i += 1;
        }
        let width = digits(f, &mut i)?;
        let prec = if f.get(i) == Some(&b'.') {
            i += 1;
            Some(digits(f, &mut i)?.unwrap_or(0))
        } else {
            None
        };
        if matches!(f.get(i), Some(b'h' | b'l' | b'L')) {
            i += 1;
        }
        let conv = *f.get(i)?;
        i += 1;
        let take = match conv {
            b'd' | b'i' | b'u' => Take::Int,
            b'x' | b'X' | b'o' => Take::Unsigned,
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => Take::Float { zero },
            b's' => Take::Text {
                width: width.is_some(),
            },
            _ => return None,
        };
        let integer = matches!(take, Take::Int | Take::Unsigned);
        // Python prints `0` for a zero precision of 0 where printf prints nothing, and a sign
        // for `%+x` where printf prints none.
        if (alt && !matches!(take, Take::Float { .. }))
            || (integer && prec.is_some() && (zero || prec == Some(0)))
            || (take == Take::Unsigned && (plus || space))
        {
            return None;
        }
        if matches!(take, Take::Text { .. }) && (plus || space || alt || zero || prec.is_some()) {
            return None;
        }
        let mut spec = Vec::new();
        for (on, ch) in [
            (minus, b'-'),
            (plus, b'+'),
            (space, b' '),
            (alt, b'#'),
            (zero, b'0'),
        ] {
            if on {
                spec.push(ch);
            }
        }
        if let Some(w) = width {
            spec.extend_from_slice(w.to_string().as_bytes());
        }
        if let Some(p) = prec {
            spec.push(b'.');
            spec.extend_from_slice(p.to_string().as_bytes());
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Conv {
            spec,
            conv: if conv == b'u' { b'd' } else { conv },
            take,
        });
        convs += 1;
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    (convs <= MAX_ARGS).then_some((pieces, convs))
}

/// A decimal width or precision; `Some(None)` when there is none, `None` for `*` or a number
/// too large to be a sensible field.
fn digits(f: &[u8], i: &mut usize) -> Option<Option<usize>> {
    if f.get(*i) == Some(&b'*') {
        return None;
    }
    let start = *i;
    let mut n = 0usize;
    while let Some(d) = f.get(*i).filter(|d| d.is_ascii_digit()) {
        n = n * 10 + usize::from(d - b'0');
        if n > 4096 {
            return None;
        }
        *i += 1;
    }
    Some((*i > start).then_some(n))
}

/// The printf format for `pieces` with the `%s` conversions whose bit is set in `ints` taking
/// integers.
fn c_format(pieces: &[Piece], ints: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut text = 0;
    for p in pieces {
        match p {
            Piece::Lit(l) => out.extend_from_slice(l),
            Piece::Conv { spec, conv, take } => {
                out.push(b'%');
                out.extend_from_slice(spec);
                match take {
                    Take::Int | Take::Unsigned => {
                        out.extend_from_slice(b"ll");
                        out.push(*conv);
                    }
                    Take::Float { .. } => out.push(*conv),
                    Take::Text { .. } => {
                        let int = ints & (1 << text) != 0;
                        text += 1;
                        out.extend_from_slice(if int { b"lld" } else { b"s" });
                    }
                }
            }
        }
    }
    out
}

/// The UTF-8 bytes of an exact `str`, borrowed from the string's cache; `None` for a string
/// with lone surrogates (Python then formats it).
///
/// # Safety
/// `p` is a live exact `str` that stays alive for `'a`, and the interpreter is held.
unsafe fn str_bytes<'a>(p: *mut ffi::PyObject) -> Option<&'a [u8]> {
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: the caller's contract; the buffer is cached in the string object.
    let data = unsafe { PyUnicode_AsUTF8AndSize(p, &mut size) };
    if data.is_null() {
        // SAFETY: interpreter held; clears the UnicodeEncodeError just raised.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: CPython guarantees `size` bytes at `data`, alive as long as the string.
    Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) })
}

/// An exact `int` within 64 bits.
///
/// # Safety
/// `p` is a live object and the interpreter is held.
unsafe fn exact_int(p: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: the caller's contract.
    if unsafe { ffi::PyLong_CheckExact(p) } == 0 {
        return None;
    }
    let mut overflow: c_int = 0;
    // SAFETY: `p` is an int; overflow is reported in `overflow`, not as an exception.
    let v: c_longlong = unsafe { ffi::PyLong_AsLongLongAndOverflow(p, &mut overflow) };
    (overflow == 0).then_some(v)
}

/// One argument as `take` wants it, and whether a `%s` got an integer.
///
/// # Safety
/// `p` is a live object that stays alive for `'a`, and the interpreter is held.
unsafe fn capture<'a>(p: *mut ffi::PyObject, take: Take) -> Option<(Arg<'a>, bool)> {
    // SAFETY: the caller's contract (a live object, the interpreter held) is what each of
    // these calls needs; `str_bytes`' borrow lasts as long as the object does.
    unsafe {
        match take {
            Take::Int => exact_int(p).map(|v| (Arg::Int(v), false)),
            Take::Unsigned => exact_int(p)
                .filter(|v| *v >= 0)
                .map(|v| (Arg::Int(v), false)),
            Take::Float { zero } if ffi::PyFloat_CheckExact(p) != 0 => {
                let v = ffi::PyFloat_AsDouble(p);
                if zero && !v.is_finite() {
                    return None;
                }
                Some((Arg::Float(if v.is_nan() { f64::NAN } else { v }), false))
            }
            // Python converts an int with float(): to nearest, ties to even, as `as f64` does.
            Take::Float { .. } => exact_int(p).map(|v| (Arg::Float(v as f64), false)),
            Take::Text { width } if ffi::PyUnicode_CheckExact(p) != 0 => {
                let bytes = str_bytes(p)?;
                // A width pads characters in Python and bytes in printf: alike only for ASCII.
                if width && ffi::PyUnicode_GetLength(p) as usize != bytes.len() {
                    return None;
                }
                Some((Arg::Str(Some(bytes)), false))
            }
            Take::Text { .. } => {
                if let Some(v) = exact_int(p) {
                    return Some((Arg::Int(v), true));
                }
                let word: &'static [u8] = if p == ffi::Py_True() {
                    b"True"
                } else if p == ffi::Py_False() {
                    b"False"
                } else if p == ffi::Py_None() {
                    b"None"
                } else {
                    return None;
                };
                Some((Arg::Str(Some(word)), false))
            }
        }
    }
}

/// `str(msg) % args` on the caller's thread, as `LogRecord.getMessage` computes it: a message
/// without (truthy) arguments is not a format and is returned as it is.
pub fn format_in_python<'py>(
    msg: &Bound<'py, PyAny>,
    args: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyString>> {
    let msg = match msg.cast::<PyString>() {
        Ok(s) => s.clone(),
        Err(_) => msg.str()?,
    };
    match args {
        Some(args) if args.is_truthy()? => msg.rem(args)?.str(),
        _ => Ok(msg),
    }
}

/// Room for a call's captured arguments, on the caller's stack.
pub type Args<'a> = [Arg<'a>; MAX_ARGS];

/// An empty [`Args`].
pub fn no_args<'a>() -> Args<'a> {
    [Arg::Int(0); MAX_ARGS]
}

/// `msg % args` as a registered call site and its number of arguments, captured into `out`
/// (borrowing from `args`' items), when printf renders it exactly as Python would; `None`:
/// format it in Python.
pub fn defer<'a>(
    msg: &Bound<'_, PyAny>,
    args: &'a Bound<'_, PyTuple>,
    out: &mut Args<'a>,
) -> Option<(u32, usize)> {
    // SAFETY: `msg` is alive for this call and the interpreter is held (a `Bound`).
    if unsafe { ffi::PyUnicode_CheckExact(msg.as_ptr()) } == 0 {
        return None;
    }
    // SAFETY: an exact str, alive for this call.
    let fmt = unsafe { str_bytes(msg.as_ptr()) }?;
    // SAFETY: as above; a str's hash never fails (and is computed once per string).
    let hash = unsafe { ffi::PyObject_Hash(msg.as_ptr()) } as i64;
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard.get_or_insert_with(Cache::default);
    let full = cache.count >= MAX_FORMATS;
    let bucket = cache.formats.entry(hash).or_default();
    let at = match bucket.iter().position(|e| *e.fmt == *fmt) {
        Some(at) => at,
        None if full => return None,
        None => {
            let (pieces, convs) = match parse(fmt) {
                Some((p, n)) => (Some(p), n),
                None => (None, 0),
            };
            bucket.push(Entry {
                fmt: fmt.into(),
                pieces,
                convs,
                sites: Vec::new(),
            });
            cache.count += 1;
            bucket.len() - 1
        }
    };
    let entry = &mut bucket[at];
    let pieces = entry.pieces.as_ref()?;
    if args.len() != entry.convs {
        return None;
    }
    let mut ints = 0u16;
    let mut text = 0;
    let mut n = 0;
    for p in pieces {
        let Piece::Conv { take, .. } = p else {
            continue;
        };
        // SAFETY: `n < len` (checked above); the tuple is alive for `'a` and holds a reference
        // to each item, so the borrowed item and the bytes borrowed from it live as long.
        let item = unsafe { ffi::PyTuple_GetItem(args.as_ptr(), n as ffi::Py_ssize_t) };
        n += 1;
        // SAFETY: as above.
        let (arg, int) = unsafe { capture(item, *take) }?;
        if let Take::Text { .. } = take {
            if int {
                ints |= 1 << text;
            }
            text += 1;
        }
        out[n - 1] = arg;
    }
    if let Some((_, site)) = entry.sites.iter().find(|(k, _)| *k == ints) {
        return site.map(|s| (s, n));
    }
    let site = if cache.sites < MAX_SITES {
        cache.sites += 1;
        alog_core::register_site(&c_format(pieces, ints), b"", 0, b"").ok()
    } else {
        None
    };
    entry.sites.push((ints, site));
    site.map(|s| (s, n))
}

/// How many formats have been registered as call sites (for tests: which formats defer).
#[pyfunction]
pub fn _deferred_formats() -> usize {
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, |c| c.sites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(f: &str, ints: u16) -> Option<String> {
        parse(f.as_bytes()).map(|(p, _)| String::from_utf8(c_format(&p, ints)).unwrap())
    }

    #[test]
    fn translates_what_printf_renders_alike() {
        assert_eq!(
            c("a %d b %.1f c %s%%", 0).as_deref(),
            Some("a %lld b %.1f c %s%%")
        );
        assert_eq!(c("%s=%-5s", 0b10).as_deref(), Some("%s=%-5lld"));
        assert_eq!(
            c("%5.3i %x %lu %#.0f", 0).as_deref(),
            Some("%5.3lli %llx %lld %#.0f")
        );
        for bad in [
            "%(k)s", "%*d", "%.*f", "%c", "%r", "%a", "%#x", "%#o", "%05.2d", "%.0d", "%.x", "%+x",
            "% o", "%.3s", "%05s", "%+s", "%", "%5", "%y",
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
        }
        assert!(parse(&b"%d".repeat(MAX_ARGS + 1)).is_none());
    }
}
