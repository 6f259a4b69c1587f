//! The C ABI of alog. Thin `extern "C"` shims over `alog-core`: every function checks its
//! pointers, runs its body inside a panic boundary and maps the engine's errors to stable
//! result codes. `include/alog.h` is generated from this file by cbindgen.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alog_core::config::CallbackSpec;
use alog_core::record::{FieldSource, FieldsRecord, Measured, Shape};
use alog_core::{Config, Error, Field, Format, Level, Logger, Source, Value};

mod logf;
mod result;
pub use logf::*;
pub use result::*;

/// Major version of the library this header belongs to.
pub const ALOG_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const ALOG_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const ALOG_VERSION_PATCH: u32 = 0;

/// Severity levels: the OpenTelemetry severity numbers. Every integer 1..24 is a valid level;
/// the numbers between the named ones are finer grades (printed `INFO2`, `INFO3`, ...).
pub const ALOG_LEVEL_TRACE: i32 = 1;
pub const ALOG_LEVEL_DEBUG: i32 = 5;
pub const ALOG_LEVEL_INFO: i32 = 9;
pub const ALOG_LEVEL_WARN: i32 = 13;
pub const ALOG_LEVEL_ERROR: i32 = 17;
pub const ALOG_LEVEL_FATAL: i32 = 21;

/// Timeout value meaning "wait as long as it takes" for `alog_flush` and `alog_close`.
pub const ALOG_TIMEOUT_INFINITE: u32 = u32::MAX;

/// `alog_record.timestamp_ns` of a record written without a timestamp (log/slog's zero time):
/// text lines start at the level, JSON objects have no timestamp member.
pub const ALOG_TIMESTAMP_NONE: i64 = i64::MIN;
const _: () = assert!(ALOG_TIMESTAMP_NONE == alog_core::NO_TIMESTAMP);

/// `alog_field.kind`: `str`/`str_len` hold a string (any bytes; invalid UTF-8 is escaped).
pub const ALOG_FIELD_STRING: i32 = 1;
/// `alog_field.kind`: `i64` holds a signed integer.
pub const ALOG_FIELD_INT: i32 = 2;
/// `alog_field.kind`: `u64` holds an unsigned integer.
pub const ALOG_FIELD_UINT: i32 = 3;
/// `alog_field.kind`: `f64` holds a double (NaN and infinities print as "NaN", "+Inf", "-Inf").
pub const ALOG_FIELD_FLOAT: i32 = 4;
/// `alog_field.kind`: `i64` holds a boolean (0 = false, anything else = true).
pub const ALOG_FIELD_BOOL: i32 = 5;
/// `alog_field.kind`: `str`/`str_len` hold one pre-encoded JSON value (e.g. a nested group),
/// emitted as is in JSON output after validation; in text an object is flattened into
/// `key.member=value` pairs; invalid JSON is written as a string.
pub const ALOG_FIELD_JSON: i32 = 6;

/// A configuration under construction. Create with `alog_conf_new`, fill with
/// `alog_conf_set`, pass to `alog_open` (which copies it), free with `alog_conf_free`.
/// Not thread-safe: one thread at a time may use a given conf.
#[derive(Debug)]
pub struct alog_conf {
    config: Config,
}

/// An open logger. Every function taking an `alog_logger *` may be called from any thread
/// concurrently, including `alog_close` racing writes (those then return `ALOG_ERR_CLOSED`).
/// After `alog_close` the handle stays valid for `alog_get_stats`, `alog_last_error` and
/// further (refused) calls; its small remaining memory is retained by the library.
#[derive(Debug)]
pub struct alog_logger {
    logger: Logger,
    /// The next closed handle in `CLOSED` (set once, when this one is closed).
    closed_next: AtomicPtr<alog_logger>,
    closed_listed: AtomicBool,
}

/// One key/value field of a structured record. Strings are pointer + length (no NUL needed).
/// Zero the whole struct first (`= {0}`, designated initialisers or `memset`): `reserved`
/// must be 0 (a later version may give it a meaning whose 0 is today's behaviour).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct alog_field {
    pub key: *const c_char,
    pub key_len: usize,
    /// One of the `ALOG_FIELD_*` kinds.
    pub kind: i32,
    /// Zero (room to grow, in what was padding); anything else is `ALOG_ERR_INVALID`.
    pub reserved: u32,
    pub i64: i64,
    pub u64: u64,
    pub f64: f64,
    pub str: *const c_char,
    pub str_len: usize,
}

/// A structured record for `alog_write_record`. Every pointer is borrowed for the call only.
/// Zero the whole struct first: `reserved` must be all zeros (room to grow without changing
/// the struct's size; a later version gives them meanings whose 0 is today's behaviour).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct alog_record {
    pub level: i32,
    /// Nanoseconds since the Unix epoch; 0 means "now" (taken by alog), `ALOG_TIMESTAMP_NONE`
    /// means "no timestamp".
    pub timestamp_ns: i64,
    pub msg: *const c_char,
    pub msg_len: usize,
    pub fields: *const alog_field,
    pub n_fields: usize,
    /// Source file; NULL means the record has no source location.
    pub file: *const c_char,
    pub file_len: usize,
    pub line: u32,
    /// Function or module name; may be NULL.
    pub func: *const c_char,
    pub func_len: usize,
    /// Zero; anything else is `ALOG_ERR_INVALID`.
    pub reserved: [u64; 4],
}

/// Counters of a logger. At every moment
/// `submitted == written + dropped + failed + pending`; after `alog_close`, `pending == 0`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct alog_stats {
    /// Records accepted by write calls (records below the level are not counted).
    pub submitted: u64,
    /// Records every sink took.
    pub written: u64,
    /// Records discarded by the overflow policy (drop_newest, drop_oldest, warn, block timeout).
    pub dropped: u64,
    /// Records some sink could not take after retries (see `alog_last_error`).
    pub failed: u64,
    /// Records accepted and not yet written, dropped or failed.
    pub pending: u64,
    pub queue_len: u64,
    pub queue_capacity: u64,
    pub queue_peak: u64,
    pub batches: u64,
    pub bytes_written: u64,
    /// Failed write attempts, retries included.
    pub write_errors: u64,
    /// File rotations this process did (rotate_bytes, rotate_interval).
    pub rotations: u64,
    pub writer_restarts: u64,
    /// Zero; room to grow without changing the struct's size.
    pub reserved: [u64; 8],
}

/// One sink's counters: `alog_get_sink_stats`. Counts are of records (lines). Per sink,
/// `taken == written + dropped + failed + backlog` once nothing is in flight.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct alog_sink_stats {
    /// `file` (the path given to `alog_open`), `file.NAME`, `console`, `syslog`, `sqlite`,
    /// `otlp`, `callback.N`, `batch_callback.N`; NUL-terminated, truncated to fit.
    pub name: [c_char; 64],
    /// Where it writes: a path, `stdout`, `stderr`, `syslog at PATH` (or at
    /// `udp://HOST:PORT`, `tcp://HOST:PORT`), `sqlite at PATH`, the OTLP collector's URL
    /// (`http://HOST:PORT/v1/logs`), `callback`.
    pub target: [c_char; 256],
    /// Records handed to the sink (at or above its level).
    pub taken: u64,
    pub written: u64,
    /// Records its lane dropped under the sink's policy (`NAME.overflow=drop`, a receiver
    /// that accepted nothing for `stall_timeout_ms`).
    pub dropped: u64,
    /// Records the sink could not write after retries.
    pub failed: u64,
    /// Failed write attempts, retries included.
    pub write_errors: u64,
    pub bytes_written: u64,
    /// Records waiting in the sink's lane now, and the most that ever waited.
    pub backlog: u64,
    pub backlog_peak: u64,
    /// The sink's last error (empty if none), NUL-terminated, truncated to fit.
    pub last_error: [c_char; 256],
    /// Zero; room to grow without changing the struct's size.
    pub reserved: [u64; 8],
}

/// A line sink: called on the writer thread (or the logging thread in sync mode) with each
/// formatted line, without its newline; `line[len]` is always `'\0'`. The line is valid
/// only during the call. It must not call into the same logger, nor fork, nor let a C++
/// exception or a longjmp leave it (the process would abort): make it `noexcept` in C++.
pub type alog_sink_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, level: i32, line: *const c_char, len: usize),
>;

/// Error callback: called on the writer thread (or the logging thread in sync mode) for
/// every I/O or sink error, with a NUL-terminated message valid during the call only. It must
/// not call into the same logger, nor let a C++ exception or a longjmp leave it.
pub type alog_error_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, code: alog_result, message: *const c_char)>;

/// Closed handles, kept reachable: their memory must outlive every caller's stale pointer. A
/// lock-free list, so that a fork while another thread closes a logger leaves no lock held in
/// the child.
static CLOSED: AtomicPtr<alog_logger> = AtomicPtr::new(std::ptr::null_mut());

/// Puts a closed handle on `CLOSED` (once).
fn keep_closed(lg: *mut alog_logger) {
    // SAFETY: a live handle (never freed).
    let h = unsafe { &*lg };
    if h.closed_listed.swap(true, Ordering::AcqRel) {
        return;
    }
    let mut head = CLOSED.load(Ordering::Acquire);
    loop {
        h.closed_next.store(head, Ordering::Relaxed);
        match CLOSED.compare_exchange_weak(head, lg, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// Runs `f` inside the panic boundary.
fn boundary(f: impl FnOnce() -> alog_result) -> alog_result {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(ALOG_ERR_PANIC)
}

/// The caller's `errstr` buffer: failures write a NUL-terminated message into it, truncated
/// to its size; a NULL buffer or a size of 0 receives nothing.
#[derive(Clone, Copy)]
struct ErrBuf {
    ptr: *mut c_char,
    size: usize,
}

impl ErrBuf {
    /// # Safety
    /// `ptr` is NULL or points to `size` writable bytes for the duration of the call.
    unsafe fn new(ptr: *mut c_char, size: usize) -> ErrBuf {
        ErrBuf { ptr, size }
    }

    /// The configuration behind `conf`, or `ALOG_ERR_NULL` with a message.
    ///
    /// # Safety
    /// `conf` is NULL or comes from `alog_conf_new` and is used by this thread alone.
    unsafe fn conf<'a>(self, conf: *mut alog_conf) -> Result<&'a mut Config, alog_result> {
        // SAFETY: the caller's contract.
        match unsafe { conf.as_mut() } {
            Some(c) => Ok(&mut c.config),
            None => Err(self.fail(ALOG_ERR_NULL, "conf is NULL")),
        }
    }

    /// Writes the engine error's message, sets `errno` to the OS error behind it (0 when there
    /// is none) and returns its code.
    fn error(self, e: &Error) -> alog_result {
        let code = self.fail(code(e), &e.to_string());
        set_errno(e);
        code
    }

    /// Writes `msg` and returns `code`.
    fn fail(self, code: alog_result, msg: &str) -> alog_result {
        // SAFETY: the contract of `ErrBuf::new`.
        unsafe { put_str(self.ptr, self.size, msg) };
        code
    }
}

/// The body of a function that fills a configuration: panic boundary, the caller's error
/// buffer, and `ALOG_ERR_NULL` with a message for a NULL conf.
///
/// # Safety
/// `errstr` is NULL or points to `errstr_size` writable bytes; `conf` is NULL or comes from
/// `alog_conf_new` and is used by this thread alone.
unsafe fn with_conf(
    conf: *mut alog_conf,
    errstr: *mut c_char,
    errstr_size: usize,
    f: impl FnOnce(&mut Config, ErrBuf) -> alog_result,
) -> alog_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let err = unsafe { ErrBuf::new(errstr, errstr_size) };
        // SAFETY: the caller's contract.
        match unsafe { err.conf(conf) } {
            Ok(c) => f(c, err),
            Err(code) => code,
        }
    })
}

/// Writes `msg` into a caller's buffer, always NUL-terminated. A message that does not fit
/// is cut and ends in `... [N bytes]`, N the buffer size it needs (buffers of 32 bytes or more;
/// smaller ones get a plain cut).
unsafe fn put_str(buf: *mut c_char, size: usize, msg: &str) {
    if buf.is_null() || size == 0 {
        return;
    }
    let cut;
    let text: &[u8] = if msg.len() < size {
        msg.as_bytes()
    } else if size >= 32 {
        let suffix = format!("... [{} bytes]", msg.len() + 1);
        let mut keep = size - 1 - suffix.len();
        while !msg.is_char_boundary(keep) {
            keep -= 1;
        }
        cut = format!("{}{suffix}", &msg[..keep]);
        cut.as_bytes()
    } else {
        &msg.as_bytes()[..size - 1]
    };
    let n = text.len().min(size - 1);
    // SAFETY: the caller promises `buf` has `size` writable bytes; n < size.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
}

/// Sets `errno` to the OS error behind `e` (0 when there is none), as C functions that fail
/// with a system error do, so that callers can tell `ENOENT` from `EACCES` without parsing.
fn set_errno(e: &Error) {
    let n = e.os_errno();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the thread's errno location is always valid.
    unsafe {
        *libc::__errno_location() = n
    };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: as above.
    unsafe {
        *libc::__error() = n
    };
}

fn code(e: &Error) -> alog_result {
    e.code()
}

#[inline(always)]
fn result(r: alog_core::Result<()>) -> alog_result {
    match r {
        Ok(()) => ALOG_OK,
        Err(e) => code(&e),
    }
}

/// Borrows `len` bytes at `ptr`. Refused: NULL with a non-zero length (`ALOG_ERR_NULL`), and a
/// length over `isize::MAX`, which no buffer can have (`ALOG_ERR_TOO_LARGE`; typically a
/// failed `snprintf`'s -1 passed as a length), before any slice is made.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> Result<&'a [u8], alog_result> {
    if len > isize::MAX as usize {
        return Err(ALOG_ERR_TOO_LARGE);
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(ALOG_ERR_NULL)
        };
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr`; `len` fits an object.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller promises a NUL-terminated string or NULL.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

fn timeout(ms: u32) -> Option<Duration> {
    (ms != ALOG_TIMEOUT_INFINITE).then(|| Duration::from_millis(u64::from(ms)))
}

/// The library version, e.g. "0.1.0". Static string; any thread.
#[no_mangle]
pub extern "C" fn alog_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A new configuration holding every default (see the configuration table in README.md).
/// Returns NULL only if memory is exhausted. Free it with `alog_conf_free`.
#[no_mangle]
pub extern "C" fn alog_conf_new() -> *mut alog_conf {
    catch_unwind(|| {
        Box::into_raw(Box::new(alog_conf {
            config: Config::default(),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Sets one configuration key from its string value. On failure returns `ALOG_ERR_NULL` or
/// `ALOG_ERR_INVALID` and, if `errstr` is not NULL, writes a NUL-terminated message naming
/// the key and the accepted values (one that does not fit `errstr_size` ends in
/// `... [N bytes]`, N the size it needs; unknown keys' messages fit 256). The conf is unchanged on
/// failure.
#[no_mangle]
pub unsafe extern "C" fn alog_conf_set(
    conf: *mut alog_conf,
    key: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> alog_result {
    let body = |conf: &mut Config, err: ErrBuf| {
        // SAFETY: NUL-terminated strings from the caller.
        let (Some(k), Some(v)) = (unsafe { c_str(key) }, unsafe { c_str(value) }) else {
            return err.fail(
                ALOG_ERR_NULL,
                if key.is_null() {
                    "key is NULL"
                } else {
                    "value is NULL"
                },
            );
        };
        let (Ok(k), Ok(v)) = (k.to_str(), v.to_str()) else {
            return err.fail(ALOG_ERR_INVALID, "key and value must be valid UTF-8");
        };
        match conf.set(k, v) {
            Ok(()) => ALOG_OK,
            Err(e) => err.fail(code(&e), &e.to_string()),
        }
    };
    // SAFETY: errstr/errstr_size and conf come from the caller (see `with_conf`).
    unsafe { with_conf(conf, errstr, errstr_size, body) }
}

/// Adds a callback sink that receives every record at `min_level` and above (0: the
/// logger's level), formatted as `format` ("text", "json", or NULL for the logger's
/// format). `userdata` is passed back unchanged; the caller keeps it alive until the logger
/// is closed. See `alog_sink_fn` for the thread it runs on.
#[no_mangle]
pub unsafe extern "C" fn alog_conf_add_callback(
    conf: *mut alog_conf,
    callback: alog_sink_fn,
    userdata: *mut c_void,
    min_level: i32,
    format: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> alog_result {
    let body = |conf: &mut Config, err: ErrBuf| {
        let Some(cb) = callback else {
            return err.fail(ALOG_ERR_NULL, "callback is NULL");
        };
        let level = match min_level {
            0 => None,
            n => match Level::new(n) {
                Some(l) => Some(l),
                None => {
                    return err.fail(
                        ALOG_ERR_INVALID,
                        &format!("invalid min_level {n}: expected 0 or 1..24"),
                    )
                }
            },
        };
        // SAFETY: NUL-terminated string or NULL from the caller.
        let format = match unsafe { c_str(format) }.map(|f| f.to_bytes()) {
            None => None,
            Some(b"text") => Some(Format::Text),
            Some(b"json") => Some(Format::Json),
            Some(other) => {
                let shown = String::from_utf8_lossy(other);
                return err.fail(
                    ALOG_ERR_INVALID,
                    &format!("invalid format {shown:?}: expected text|json or NULL"),
                );
            }
        };
        let ud = userdata as usize;
        let callback = Arc::new(move |level: Level, line: &[u8]| {
            // SAFETY: the core guarantees a NUL byte right after `line`; the user promised that
            // the function and userdata stay valid while the logger is open.
            unsafe {
                cb(
                    ud as *mut c_void,
                    i32::from(level.number()),
                    line.as_ptr().cast(),
                    line.len(),
                )
            }
        });
        conf.callbacks.push(CallbackSpec {
            callback,
            level,
            format,
        });
        ALOG_OK
    };
    // SAFETY: errstr/errstr_size and conf come from the caller (see `with_conf`).
    unsafe { with_conf(conf, errstr, errstr_size, body) }
}

/// Sets the error callback (NULL removes it). See `alog_error_fn`.
#[no_mangle]
pub unsafe extern "C" fn alog_conf_set_error_callback(
    conf: *mut alog_conf,
    callback: alog_error_fn,
    userdata: *mut c_void,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL conf comes from alog_conf_new.
        let Some(conf) = (unsafe { conf.as_mut() }) else {
            return ALOG_ERR_NULL;
        };
        conf.config.on_error = callback.map(|cb| {
            let ud = userdata as usize;
            let f: alog_core::config::ErrorCallback = Arc::new(move |e: &Error| {
                let mut msg = e.to_string().into_bytes();
                msg.retain(|b| *b != 0);
                msg.push(0);
                // SAFETY: the user promised the function and userdata stay valid; msg is NUL-terminated.
                unsafe { cb(ud as *mut c_void, e.code(), msg.as_ptr().cast()) }
            });
            f
        });
        ALOG_OK
    })
}

/// Frees a configuration. NULL is a no-op. Loggers opened with it are not affected.
#[no_mangle]
pub unsafe extern "C" fn alog_conf_free(conf: *mut alog_conf) {
    if !conf.is_null() {
        // SAFETY: conf came from alog_conf_new and is freed once (caller's promise).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(conf) })));
    }
}

/// Opens a logger appending to `path` (NULL: no main file; then the conf must name another
/// sink) with the settings of `conf` (NULL: defaults), over which the environment applies:
/// `ALOG_LEVEL` sets `level`, `ALOG_CONF_<KEY>` any key (capitals, `.` written `__`, e.g.
/// `ALOG_CONF_CONSOLE__LEVEL=warn`); a bad one fails the open with a message naming the
/// variable. `conf` is copied, not consumed. On
/// success writes the handle to `*out`; on failure leaves `*out` untouched, returns
/// `ALOG_ERR_NULL`, `ALOG_ERR_INVALID` or `ALOG_ERR_IO` and writes a message to `errstr`;
/// `errno` is then the OS error behind an `ALOG_ERR_IO` (`ENOENT`, `EACCES`, ...) and 0 for
/// every other failure. Starts the `alog-writer` thread (unless sync mode). Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_open(
    path: *const c_char,
    conf: *const alog_conf,
    out: *mut *mut alog_logger,
    errstr: *mut c_char,
    errstr_size: usize,
) -> alog_result {
    boundary(|| {
        // SAFETY: errstr/errstr_size come from the caller, who promises `errstr_size` bytes.
        let err = unsafe { ErrBuf::new(errstr, errstr_size) };
        if out.is_null() {
            return err.fail(ALOG_ERR_NULL, "out is NULL");
        }
        // SAFETY: a non-NULL conf comes from alog_conf_new.
        let mut config = unsafe { conf.as_ref() }
            .map(|c| c.config.clone())
            .unwrap_or_default();
        if let Err(e) = config.apply_env(std::env::vars_os()) {
            return err.fail(code(&e), &e.to_string());
        }
        // SAFETY: NUL-terminated path or NULL from the caller.
        let path =
            unsafe { c_str(path) }.map(|p| Path::new(std::ffi::OsStr::from_bytes(p.to_bytes())));
        if path.is_some_and(|p| p.as_os_str().is_empty()) {
            return err.fail(
                ALOG_ERR_INVALID,
                "path is empty (pass NULL for no main file)",
            );
        }
        match Logger::open(path, config) {
            Ok(logger) => {
                // SAFETY: out is not NULL (checked).
                unsafe {
                    *out = Box::into_raw(Box::new(alog_logger {
                        logger,
                        closed_next: AtomicPtr::new(std::ptr::null_mut()),
                        closed_listed: AtomicBool::new(false),
                    }))
                };
                ALOG_OK
            }
            Err(e) => err.error(&e),
        }
    })
}

/// Logs a preformatted message of `len` bytes (any bytes: newlines, control characters and
/// invalid UTF-8 are escaped by the formats; `msg` may be NULL when `len` is 0). The bytes are
/// copied; the call never formats, locks, allocates (for messages up to 216 bytes) or makes a
/// syscall on its normal path. Returns `ALOG_OK` also for records below the level (not
/// counted); `ALOG_ERR_FULL` / `ALOG_ERR_TIMEOUT` when the overflow policy dropped it
/// (counted in `dropped`); `ALOG_ERR_TOO_LARGE` beyond `max_message_bytes`;
/// `ALOG_ERR_INVALID` for a level outside 1..24; `ALOG_ERR_CLOSED`. Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_write(
    lg: *mut alog_logger,
    level: i32,
    msg: *const c_char,
    len: usize,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return ALOG_ERR_NULL;
        };
        let Some(level) = Level::new(level) else {
            return ALOG_ERR_INVALID;
        };
        // SAFETY: `len` readable bytes at `msg` (caller's promise).
        let msg = match unsafe { bytes(msg, len) } {
            Ok(m) => m,
            Err(code) => return code,
        };
        result(lg.logger.log(level, msg))
    })
}

/// Checks that `len` bytes at `ptr` may be borrowed, as [`bytes`] does, without making a slice.
#[inline(always)]
fn check_bytes(ptr: *const c_char, len: usize) -> Result<(), alog_result> {
    if len > isize::MAX as usize {
        Err(ALOG_ERR_TOO_LARGE)
    } else if ptr.is_null() && len != 0 {
        Err(ALOG_ERR_NULL)
    } else {
        Ok(())
    }
}

/// The fields of an `alog_record`, checked (every kind known, every `reserved` zero, every
/// pointer + length pair one that [`bytes`] accepts) and read in place by the encoder: no copy
/// into the core's `Field`s before the queue.
struct CFields<'a> {
    raw: &'a [alog_field],
    /// The sizes read while checking, so that the encoder's length needs no other pass.
    measured: Measured,
}

impl<'a> CFields<'a> {
    /// The first field's error decides the code: its key's pair, then its value's kind and
    /// pair, then `reserved`. Measures the fields in the same pass.
    ///
    /// # Safety
    /// Every field's pointer + length pairs are readable for `'a` (the caller's promise).
    unsafe fn check(raw: &'a [alog_field]) -> Result<CFields<'a>, alog_result> {
        let mut measured = Measured::default();
        for f in raw {
            check_bytes(f.key, f.key_len)?;
            let shape = match f.kind {
                ALOG_FIELD_STRING | ALOG_FIELD_JSON => {
                    check_bytes(f.str, f.str_len)?;
                    Shape::Bytes(f.str_len)
                }
                ALOG_FIELD_INT | ALOG_FIELD_UINT | ALOG_FIELD_FLOAT => Shape::Number,
                ALOG_FIELD_BOOL => Shape::Bool,
                _ => return Err(ALOG_ERR_INVALID),
            };
            if f.reserved != 0 {
                return Err(ALOG_ERR_INVALID);
            }
            measured.add(f.key_len, shape);
        }
        Ok(CFields { raw, measured })
    }
}

impl FieldSource for CFields<'_> {
    #[inline(always)]
    fn count(&self) -> usize {
        self.raw.len()
    }

    #[inline(always)]
    fn measured(&self) -> Option<Measured> {
        Some(self.measured)
    }

    /// Checked by `check`; the checks are repeated (a few compares) so that a caller changing
    /// its fields during the call, against its promise, still cannot make a bad slice: it
    /// gets empty bytes, and the encoder a payload the writer rejects.
    #[inline(always)]
    fn field(&self, i: usize) -> Field<'_> {
        let f = &self.raw[i];
        // SAFETY: readable pairs for the borrow's lifetime (`CFields::check`); `bytes` refuses
        // a NULL pointer with a length and a length no object can have.
        let key = unsafe { bytes(f.key, f.key_len) }.unwrap_or_default();
        let value = match f.kind {
            // SAFETY: as above.
            ALOG_FIELD_STRING => Value::Str(unsafe { bytes(f.str, f.str_len) }.unwrap_or_default()),
            // SAFETY: as above.
            ALOG_FIELD_JSON => Value::Json(unsafe { bytes(f.str, f.str_len) }.unwrap_or_default()),
            ALOG_FIELD_UINT => Value::Uint(f.u64),
            ALOG_FIELD_FLOAT => Value::Float(f.f64),
            ALOG_FIELD_BOOL => Value::Bool(f.i64 != 0),
            _ => Value::Int(f.i64),
        };
        Field { key, value }
    }
}

/// Logs a structured record: message, typed fields, optional source location and optional
/// timestamp. Everything is copied during the call. Returns as `alog_write`, plus
/// `ALOG_ERR_NULL` for a NULL pointer with a non-zero length and `ALOG_ERR_INVALID` for an
/// unknown field kind or a non-zero `reserved` member. Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_write_record(
    lg: *mut alog_logger,
    rec: *const alog_record,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let (Some(lg), Some(rec)) = (unsafe { lg.as_ref() }, unsafe { rec.as_ref() }) else {
            return ALOG_ERR_NULL;
        };
        let Some(level) = Level::new(rec.level) else {
            return ALOG_ERR_INVALID;
        };
        if rec.reserved != [0; 4] {
            return ALOG_ERR_INVALID;
        }
        if !lg.logger.enabled(level) {
            return ALOG_OK;
        }
        // SAFETY: pointer + length pairs from the caller.
        let msg = match unsafe { bytes(rec.msg, rec.msg_len) } {
            Ok(m) => m,
            Err(code) => return code,
        };
        if rec.fields.is_null() && rec.n_fields > 0 {
            return ALOG_ERR_NULL;
        }
        if rec.n_fields > isize::MAX as usize / std::mem::size_of::<alog_field>() {
            return ALOG_ERR_TOO_LARGE;
        }
        let raw: &[alog_field] = if rec.n_fields == 0 {
            &[]
        } else {
            // SAFETY: `n_fields` readable fields at `fields` (caller's promise).
            unsafe { std::slice::from_raw_parts(rec.fields, rec.n_fields) }
        };
        let source = if rec.file.is_null() {
            None
        } else {
            // SAFETY: pointer + length pairs from the caller.
            let (file, func) =
                match unsafe { (bytes(rec.file, rec.file_len), bytes(rec.func, rec.func_len)) } {
                    (Ok(file), Ok(func)) => (file, func),
                    (Err(code), _) | (_, Err(code)) => return code,
                };
            Some(Source {
                file,
                line: rec.line,
                func,
            })
        };
        // SAFETY: the fields' pointer + length pairs come from the caller, readable for the call.
        let fields = match unsafe { CFields::check(raw) } {
            Ok(f) => f,
            Err(code) => return code,
        };
        result(lg.logger.write_fields(&FieldsRecord {
            level,
            timestamp_ns: (rec.timestamp_ns != 0).then_some(rec.timestamp_ns),
            msg,
            fields: &fields,
            source,
        }))
    })
}

/// Waits until every record submitted before the call is written (or failed), then fsyncs
/// file sinks unless `fsync=never`. `timeout_ms`: `ALOG_TIMEOUT_INFINITE` waits as long as
/// it takes; on expiry returns `ALOG_ERR_TIMEOUT` (nothing is lost; writing continues).
/// Any thread; blocks the caller.
#[no_mangle]
pub unsafe extern "C" fn alog_flush(lg: *mut alog_logger, timeout_ms: u32) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return ALOG_ERR_NULL;
        };
        result(lg.logger.flush(timeout(timeout_ms)))
    })
}

/// Closes the logger: refuses new records, drains the queue, flushes and fsyncs (unless
/// `fsync=never`), closes the sinks and joins the writer. NULL is a no-op returning `ALOG_OK`.
/// On `ALOG_ERR_TIMEOUT` the writer keeps draining in the background (callbacks still run)
/// and releases the sinks when done. A later close - also one racing the first from another
/// thread - waits for that, as long as its own timeout allows, and returns `ALOG_ERR_CLOSED`
/// once the writer is done (`ALOG_ERR_TIMEOUT` while it still drains): after a close returned
/// `ALOG_OK` or `ALOG_ERR_CLOSED`, no callback runs any more and their userdata may be freed.
/// The handle stays valid afterwards for `alog_get_stats` and `alog_last_error`; writes,
/// flushes and level changes return `ALOG_ERR_CLOSED` (a write below the logger's level still
/// returns `ALOG_OK` at once, and a bad level `ALOG_ERR_INVALID`, as they do before close).
/// Any thread, also while other threads write. A logger still open when the process calls
/// `exit()` (or returns from `main`) is flushed by an exit hook, for at most 2 s.
#[no_mangle]
pub unsafe extern "C" fn alog_close(lg: *mut alog_logger, timeout_ms: u32) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(handle) = (unsafe { lg.as_ref() }) else {
            return ALOG_OK;
        };
        let r = handle.logger.close(timeout(timeout_ms));
        if !matches!(r, Err(Error::Closed)) {
            keep_closed(lg);
        }
        result(r)
    })
}

/// Fills `*out` with a snapshot of the logger's counters (also after close). Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_get_stats(
    lg: *const alog_logger,
    out: *mut alog_stats,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let (Some(lg), false) = (unsafe { lg.as_ref() }, out.is_null()) else {
            return ALOG_ERR_NULL;
        };
        let s = lg.logger.stats();
        let stats = alog_stats {
            submitted: s.submitted,
            written: s.written,
            dropped: s.dropped,
            failed: s.failed,
            pending: s.pending,
            queue_len: s.queue_len,
            queue_capacity: s.queue_capacity,
            queue_peak: s.queue_peak,
            batches: s.batches,
            bytes_written: s.bytes_written,
            write_errors: s.write_errors,
            rotations: s.rotations,
            writer_restarts: s.writer_restarts,
            reserved: [0; 8],
        };
        // SAFETY: out is not NULL (checked) and points to an alog_stats.
        unsafe { out.write(stats) };
        ALOG_OK
    })
}

/// Stores the number of the logger's sinks in `*out` (indexes for `alog_get_sink_stats`).
/// Any thread; also after close.
#[no_mangle]
pub unsafe extern "C" fn alog_sink_count(lg: *const alog_logger, out: *mut usize) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let (Some(lg), false) = (unsafe { lg.as_ref() }, out.is_null()) else {
            return ALOG_ERR_NULL;
        };
        // SAFETY: out is not NULL (checked) and points to a size_t.
        unsafe { out.write(lg.logger.sink_stats().len()) };
        ALOG_OK
    })
}

/// Fills `*out` with the counters of sink `index` (0-based, in configuration order: the file
/// given to `alog_open`, `file.NAME` sinks, the console, syslog, callbacks, batch callbacks).
/// `ALOG_ERR_INVALID` when `index` is not below `alog_sink_count`. Any thread; also after
/// close.
#[no_mangle]
pub unsafe extern "C" fn alog_get_sink_stats(
    lg: *const alog_logger,
    index: usize,
    out: *mut alog_sink_stats,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let (Some(lg), false) = (unsafe { lg.as_ref() }, out.is_null()) else {
            return ALOG_ERR_NULL;
        };
        let Some(s) = lg.logger.sink_stats().into_iter().nth(index) else {
            return ALOG_ERR_INVALID;
        };
        let mut st = alog_sink_stats {
            name: [0; 64],
            target: [0; 256],
            taken: s.taken,
            written: s.written,
            dropped: s.dropped,
            failed: s.failed,
            write_errors: s.write_errors,
            bytes_written: s.bytes_written,
            backlog: s.backlog,
            backlog_peak: s.backlog_peak,
            last_error: [0; 256],
            reserved: [0; 8],
        };
        // SAFETY: each buffer is a local array of the size given.
        unsafe {
            put_str(st.name.as_mut_ptr(), st.name.len(), &s.name);
            put_str(st.target.as_mut_ptr(), st.target.len(), &s.target);
            let e = s.last_error.as_deref().unwrap_or("");
            put_str(st.last_error.as_mut_ptr(), st.last_error.len(), e);
        }
        // SAFETY: out is not NULL (checked) and points to an alog_sink_stats.
        unsafe { out.write(st) };
        ALOG_OK
    })
}

/// Called from inside a line or batch callback sink (for example by a binding whose callback
/// caught its language's exception): the record being written counts as failed for that sink
/// (`failed` in its `alog_sink_stats` and the logger's stats), and `reason` (NUL-terminated,
/// may be NULL) reaches the error callback as "callback sink failed: REASON". Outside a
/// callback it does nothing. The callback's thread only.
#[no_mangle]
pub unsafe extern "C" fn alog_sink_fail(reason: *const c_char) {
    let _ = boundary(|| {
        let r = if reason.is_null() {
            std::borrow::Cow::Borrowed("(no reason given)")
        } else {
            // SAFETY: a non-NULL `reason` is a NUL-terminated string (caller's promise).
            unsafe { std::ffi::CStr::from_ptr(reason) }.to_string_lossy()
        };
        alog_core::sink_failed(&r);
        ALOG_OK
    });
}

/// Sets the most `alog-writer` threads of the process (1..16; default 4, or
/// `ALOG_WRITER_THREADS`). Every logger and every sink lane of the process shares them; they
/// start when work needs them and end after 10 s without any. Lowering the limit lets extra
/// threads end when they next find nothing to do. `ALOG_ERR_INVALID` outside 1..16. Any
/// thread, at any time.
#[no_mangle]
pub extern "C" fn alog_set_writer_threads(n: u32) -> alog_result {
    boundary(|| result(alog_core::set_writer_threads(n as usize)))
}

// --- file lifecycle: external rotation -------------------------------------------------------

/// Asks the writer to close and reopen the logger's files before its next batch, after an
/// external tool (logrotate without `copytruncate`) moved them. Only an atomic increment:
/// async-signal-safe, so a SIGHUP handler may call it:
///
/// ```c
/// static alog_logger *g_log;
/// static void on_hup(int sig) { (void)sig; alog_reopen(g_log); }
/// /* after alog_open: */ signal(SIGHUP, on_hup);
/// ```
///
/// Without it alog still notices a moved or deleted file (one `stat` per batch, key
/// `reopen_check`). `ALOG_ERR_CLOSED` after close. Any thread, signal handlers included.
#[no_mangle]
pub unsafe extern "C" fn alog_reopen(lg: *mut alog_logger) -> alog_result {
    // No panic boundary needed: nothing here can panic (an atomic load and increment).
    // SAFETY: a non-NULL handle comes from alog_open and is never freed.
    let Some(lg) = (unsafe { lg.as_ref() }) else {
        return ALOG_ERR_NULL;
    };
    result(lg.logger.reopen())
}

// --- end of the file lifecycle block --------------------------------------------------------

/// Sets the level of the logger and of every sink without a level of its own.
/// `ALOG_ERR_INVALID` outside 1..24. Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_set_level(lg: *mut alog_logger, level: i32) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return ALOG_ERR_NULL;
        };
        let Some(level) = Level::new(level) else {
            return ALOG_ERR_INVALID;
        };
        result(lg.logger.set_level(level))
    })
}

/// Adds the one sink that `sink` defines to the open logger: its keys only (`file.NAME.*`,
/// `console*`, `syslog*`, `sqlite*`, `otlp*`, `callback.*`, or one callback from
/// `alog_conf_add_callback`); the style and the file lifecycle are the logger's. `sink` is
/// copied, not consumed; the environment does not apply. The sink takes every record logged
/// after the call returns (records logged before may reach it too); the writer keeps writing
/// while it opens. On success writes the sink's name (`file.NAME`, `console`, `syslog`,
/// `sqlite`, `otlp`, `callback.N`; at most 63 bytes) to `name` unless it is NULL, cut to
/// `name_size`. On failure returns `ALOG_ERR_NULL`, `ALOG_ERR_INVALID` (a logger-wide key,
/// no sink or two, a name already in use), `ALOG_ERR_IO` (the sink could not open; `errno` is
/// the OS error) or `ALOG_ERR_CLOSED`, with a message in `errstr`. Any thread, not from the
/// logger's own callbacks.
#[no_mangle]
pub unsafe extern "C" fn alog_add_sink(
    lg: *mut alog_logger,
    sink: *const alog_conf,
    name: *mut c_char,
    name_size: usize,
    errstr: *mut c_char,
    errstr_size: usize,
) -> alog_result {
    boundary(|| {
        // SAFETY: errstr/errstr_size come from the caller, who promises `errstr_size` bytes.
        let err = unsafe { ErrBuf::new(errstr, errstr_size) };
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return err.fail(ALOG_ERR_NULL, "lg is NULL");
        };
        // SAFETY: a non-NULL conf comes from alog_conf_new.
        let Some(sink) = (unsafe { sink.as_ref() }) else {
            return err.fail(ALOG_ERR_NULL, "sink is NULL");
        };
        match lg.logger.add_sink(&sink.config) {
            Ok(n) => {
                if !name.is_null() {
                    // SAFETY: `name_size` writable bytes at `name` (caller's promise).
                    unsafe { put_str(name, name_size, &n) };
                }
                ALOG_OK
            }
            Err(e) => err.error(&e),
        }
    })
}

/// Removes the sink named `name` (as `alog_get_sink_stats` and `alog_add_sink` name it): first
/// writes to it every record logged before the call (as `alog_flush`, within `timeout_ms`;
/// `ALOG_ERR_TIMEOUT` then leaves the sink in place), then takes it out and closes it, its
/// lane writing what it still holds until the timeout (`ALOG_ERR_TIMEOUT`: the sink is gone and
/// its lane finishes in the background). `ALOG_ERR_INVALID` for an unknown name or the last
/// sink, with a message in `errstr`. Any thread, not from the logger's own callbacks; after a
/// callback sink's removal returned `ALOG_OK` its callback is never called again.
#[no_mangle]
pub unsafe extern "C" fn alog_remove_sink(
    lg: *mut alog_logger,
    name: *const c_char,
    timeout_ms: u32,
    errstr: *mut c_char,
    errstr_size: usize,
) -> alog_result {
    boundary(|| {
        // SAFETY: errstr/errstr_size come from the caller, who promises `errstr_size` bytes.
        let err = unsafe { ErrBuf::new(errstr, errstr_size) };
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return err.fail(ALOG_ERR_NULL, "lg is NULL");
        };
        // SAFETY: NUL-terminated name or NULL from the caller.
        let Some(name) = (unsafe { c_str(name) }) else {
            return err.fail(ALOG_ERR_NULL, "name is NULL");
        };
        let name = String::from_utf8_lossy(name.to_bytes());
        match lg.logger.remove_sink(&name, timeout(timeout_ms)) {
            Ok(()) => ALOG_OK,
            Err(e) => err.error(&e),
        }
    })
}

/// 1 if a record at `level` would be accepted, else 0 (also for NULL, a closed logger
/// still answers by its level). One atomic load: use it to skip building expensive messages.
#[no_mangle]
pub unsafe extern "C" fn alog_level_enabled(lg: *const alog_logger, level: i32) -> c_int {
    // SAFETY: a non-NULL handle comes from alog_open and is never freed.
    let Some(lg) = (unsafe { lg.as_ref() }) else {
        return 0;
    };
    Level::new(level)
        .is_some_and(|l| lg.logger.enabled(l))
        .into()
}

/// Copies the last I/O or sink error message (empty if none) into `buf`, NUL-terminated and
/// cut to `size` (ending in `... [N bytes]`, N the size needed, when it does not fit). Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_last_error(
    lg: *const alog_logger,
    buf: *mut c_char,
    size: usize,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let (Some(lg), false) = (unsafe { lg.as_ref() }, buf.is_null()) else {
            return ALOG_ERR_NULL;
        };
        // SAFETY: `size` writable bytes at `buf` (caller's promise).
        unsafe { put_str(buf, size, lg.logger.last_error().as_deref().unwrap_or("")) };
        ALOG_OK
    })
}
