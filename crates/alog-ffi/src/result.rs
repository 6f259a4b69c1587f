//! Result codes. Stable: never renumbered, only appended.

use std::ffi::c_char;

/// The result of every fallible function: `ALOG_OK` or one of the `ALOG_ERR_*` codes.
pub type alog_result = i32;

/// Success.
pub const ALOG_OK: alog_result = 0;
/// A required pointer argument was NULL.
pub const ALOG_ERR_NULL: alog_result = 1;
/// A configuration key or value, a level or a record field was not acceptable.
pub const ALOG_ERR_INVALID: alog_result = 2;
/// The queue was full: the record was dropped by the `drop_newest` or `warn` policy (counted).
pub const ALOG_ERR_FULL: alog_result = 3;
/// `block_timeout_ms` expired (the record was dropped and counted), or a flush/close timed out.
pub const ALOG_ERR_TIMEOUT: alog_result = 4;
/// The logger is closed.
pub const ALOG_ERR_CLOSED: alog_result = 5;
/// An I/O error (a file or folder could not be created or opened, a thread not started).
pub const ALOG_ERR_IO: alog_result = 6;
/// A panic inside the library was caught at the boundary (a bug: please report it).
pub const ALOG_ERR_PANIC: alog_result = 7;
/// The record is longer than `max_message_bytes` (or a length no buffer can have); it was not
/// submitted.
pub const ALOG_ERR_TOO_LARGE: alog_result = 8;

/// A static, NUL-terminated description of a result code; never NULL (unknown codes get
/// "unknown result code"). Any thread.
#[no_mangle]
pub extern "C" fn alog_result_str(r: alog_result) -> *const c_char {
    let s: &'static str = match r {
        ALOG_OK => "ok\0",
        ALOG_ERR_NULL => "a required pointer argument was NULL\0",
        ALOG_ERR_INVALID => "invalid argument or configuration\0",
        ALOG_ERR_FULL => "queue full: record dropped by the overflow policy\0",
        ALOG_ERR_TIMEOUT => "timed out\0",
        ALOG_ERR_CLOSED => "logger is closed\0",
        ALOG_ERR_IO => "I/O error\0",
        ALOG_ERR_PANIC => "internal panic caught at the C boundary\0",
        ALOG_ERR_TOO_LARGE => "message longer than max_message_bytes\0",
        _ => "unknown result code\0",
    };
    s.as_ptr().cast()
}

/// The name of a result code as the header spells it ("ALOG_OK", "ALOG_ERR_NULL", ...): a
/// static, NUL-terminated string, never NULL; unknown codes get "ALOG_ERR_UNKNOWN". Any thread.
#[no_mangle]
pub extern "C" fn alog_result_name(r: alog_result) -> *const c_char {
    let s: &'static str = match r {
        ALOG_OK => "ALOG_OK\0",
        ALOG_ERR_NULL => "ALOG_ERR_NULL\0",
        ALOG_ERR_INVALID => "ALOG_ERR_INVALID\0",
        ALOG_ERR_FULL => "ALOG_ERR_FULL\0",
        ALOG_ERR_TIMEOUT => "ALOG_ERR_TIMEOUT\0",
        ALOG_ERR_CLOSED => "ALOG_ERR_CLOSED\0",
        ALOG_ERR_IO => "ALOG_ERR_IO\0",
        ALOG_ERR_PANIC => "ALOG_ERR_PANIC\0",
        ALOG_ERR_TOO_LARGE => "ALOG_ERR_TOO_LARGE\0",
        _ => "ALOG_ERR_UNKNOWN\0",
    };
    s.as_ptr().cast()
}
