//! Deferred formatting for C and C++: the `ALOG_LOGF` macro of `alog.h` binds each call site
//! to a static `alog_site`, registered here once; each call passes only its raw arguments, and
//! the writer thread renders the text exactly as printf would.

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, Ordering};

use alog_core::deferred;
use alog_core::printf::{Arg, Fetch, MAX_ARGS};
use alog_core::Level;

use crate::{alog_logger, alog_result, boundary, result, ALOG_ERR_INVALID, ALOG_ERR_NULL, ALOG_OK};

/// Most arguments an `ALOG_LOGF` call can defer; calls with more format on the caller's thread.
pub const ALOG_LOGF_MAX_ARGS: usize = 16;
const _: () = assert!(ALOG_LOGF_MAX_ARGS == MAX_ARGS);

/// `alog_site.state`: not registered yet.
pub const ALOG_SITE_NEW: u32 = 0;
/// `alog_site.state`: another thread is registering it (this call formats on its thread).
pub const ALOG_SITE_BUSY: u32 = 1;
/// `alog_site.state`: registered; calls pass raw arguments.
pub const ALOG_SITE_DEFERRED: u32 = 2;
/// `alog_site.state`: the format has something alog does not defer (`%n`, `%m`, `*` widths,
/// `long double`, wide characters, `'` grouping, positional arguments, a `%s` with a precision,
/// more than `ALOG_LOGF_MAX_ARGS` arguments); calls format with `vsnprintf` on the caller's
/// thread.
pub const ALOG_SITE_FALLBACK: u32 = 3;

/// `alog_site.kinds[i]`: the C type argument `i` is fetched as.
pub const ALOG_ARG_INT: u8 = 1;
pub const ALOG_ARG_LONG: u8 = 2;
pub const ALOG_ARG_LLONG: u8 = 3;
pub const ALOG_ARG_SIZE: u8 = 4;
pub const ALOG_ARG_INTMAX: u8 = 5;
pub const ALOG_ARG_PTRDIFF: u8 = 6;
pub const ALOG_ARG_DOUBLE: u8 = 7;
pub const ALOG_ARG_STRING: u8 = 8;
pub const ALOG_ARG_POINTER: u8 = 9;
const _: () = {
    assert!(ALOG_ARG_INT == Fetch::Int as u8);
    assert!(ALOG_ARG_LONG == Fetch::Long as u8);
    assert!(ALOG_ARG_LLONG == Fetch::LongLong as u8);
    assert!(ALOG_ARG_SIZE == Fetch::Size as u8);
    assert!(ALOG_ARG_INTMAX == Fetch::IntMax as u8);
    assert!(ALOG_ARG_PTRDIFF == Fetch::PtrDiff as u8);
    assert!(ALOG_ARG_DOUBLE == Fetch::Double as u8);
    assert!(ALOG_ARG_STRING == Fetch::Str as u8);
    assert!(ALOG_ARG_POINTER == Fetch::Ptr as u8);
};

/// A call site of `ALOG_LOGF`: static storage, initialised by the macro with the format, file,
/// function and line, and zeros. alog fills `state`, `id`, `n_args`, `kinds` and `word_tags` once, on the
/// first call; `state` is read with acquire and written with release ordering. The strings are
/// copied when the site is registered, so they need not outlive the logger. `reserved` is
/// zero (room to grow; the macro's initialiser zeroes it).
#[repr(C)]
#[derive(Debug)]
pub struct alog_site {
    pub fmt: *const c_char,
    pub file: *const c_char,
    pub func: *const c_char,
    pub line: u32,
    /// One of `ALOG_SITE_*`.
    pub state: u32,
    pub id: u32,
    pub n_args: u32,
    /// `ALOG_ARG_*` of each argument.
    pub kinds: [u8; ALOG_LOGF_MAX_ARGS],
    /// alog's: how a record carries the arguments when none is a string (all zero when one is).
    pub word_tags: [u8; ALOG_LOGF_MAX_ARGS],
    pub reserved: [u64; 2],
}

/// One raw argument of a deferred call: `i` for integers (sign- or zero-extended), `d` for
/// doubles, `p` for strings (`const char *`, copied during the call) and pointers.
#[repr(C)]
#[derive(Clone, Copy)]
pub union alog_arg {
    pub i: i64,
    pub d: f64,
    pub p: *const c_void,
}

impl std::fmt::Debug for alog_arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: every member is 8 plain bytes; showing them as an integer reads no padding.
        write!(f, "alog_arg({:#x})", unsafe { self.i })
    }
}

/// The site's `state`, accessed atomically through a raw pointer: other threads may read the
/// site while it is being registered, so no Rust reference to it is made before it is
/// published.
///
/// # Safety
/// `site` points to a live `alog_site`.
unsafe fn state<'a>(site: *const alog_site) -> &'a AtomicU32 {
    // SAFETY: `state` is an aligned u32 that lives as long as the (static) site; every access
    // after initialisation, from C or Rust, is atomic.
    unsafe { AtomicU32::from_ptr(std::ptr::addr_of!((*site).state).cast_mut()) }
}

fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: a non-NULL string of a site is a NUL-terminated literal (macro-provided).
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// Registers a call site on its first use and returns its state: `ALOG_SITE_DEFERRED` when
/// calls may pass raw arguments, else `ALOG_SITE_BUSY` or `ALOG_SITE_FALLBACK` (format on the
/// caller's thread). Called by `ALOG_LOGF`; any thread; idempotent. NULL gives
/// `ALOG_SITE_FALLBACK`.
#[no_mangle]
pub unsafe extern "C" fn alog_site_prepare(site: *mut alog_site) -> u32 {
    let mut out = ALOG_SITE_FALLBACK;
    boundary(|| {
        if site.is_null() {
            return ALOG_OK;
        }
        if alog_core::in_alog_call() {
            // A signal handler that interrupted an alog call on this thread: registering
            // allocates and takes a lock the interrupted call may hold. This call formats on
            // its thread; a later one registers the site.
            out = ALOG_SITE_BUSY;
            return ALOG_OK;
        }
        // SAFETY: a non-NULL site is a live `alog_site` (static storage from the macro).
        let st = unsafe { state(site) };
        if let Err(now) = st.compare_exchange(
            ALOG_SITE_NEW,
            ALOG_SITE_BUSY,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            out = now;
            return ALOG_OK;
        }
        // This thread owns the site's other fields until it publishes `state`. SAFETY: reads
        // of fields the macro initialised; writes of fields nobody reads before the publish.
        unsafe {
            let fmt = (*site).fmt;
            let registered = (!fmt.is_null())
                .then(|| {
                    let (file, func) = (c_bytes((*site).file), c_bytes((*site).func));
                    alog_core::register_site(c_bytes(fmt), file, (*site).line, func).ok()
                })
                .flatten()
                .and_then(|id| deferred::site(id).map(|s| (id, s)))
                // `%.Ns` reads at most N bytes of a string that may lack a NUL; deferring
                // would copy it with strlen. vsnprintf on the caller's thread reads it right.
                .filter(|(_, s)| !s.format.has_string_precision());
            out = match registered {
                Some((id, s)) => {
                    (*site).id = id;
                    (*site).n_args = s.format.fetch.len() as u32;
                    for (i, f) in s.format.fetch.iter().enumerate() {
                        (*site).kinds[i] = *f as u8;
                    }
                    (*site).word_tags = s.word_tags().unwrap_or_default();
                    ALOG_SITE_DEFERRED
                }
                None => ALOG_SITE_FALLBACK,
            };
        }
        st.store(out, Ordering::Release);
        ALOG_OK
    });
    out
}

/// Logs a deferred call of a registered site (`state == ALOG_SITE_DEFERRED`) with `n` raw
/// arguments; each of the first `site->n_args` is read as `site->kinds` says (strings are
/// copied during the call), further ones are ignored, as printf ignores them. Called by
/// `ALOG_LOGF`. Returns as `alog_write`; `ALOG_ERR_INVALID` for a site that is not registered
/// or fewer arguments than its format takes. Any thread.
#[no_mangle]
pub unsafe extern "C" fn alog_logf_args(
    lg: *mut alog_logger,
    site: *const alog_site,
    level: i32,
    args: *const alog_arg,
    n: u32,
) -> alog_result {
    boundary(|| {
        // SAFETY: a non-NULL handle comes from alog_open and is never freed.
        let Some(lg) = (unsafe { lg.as_ref() }) else {
            return ALOG_ERR_NULL;
        };
        if site.is_null() {
            return ALOG_ERR_NULL;
        }
        let Some(level) = Level::new(level) else {
            return ALOG_ERR_INVALID;
        };
        if !lg.logger.enabled(level) {
            return ALOG_OK;
        }
        // SAFETY: a live site; once published as deferred it is never written again, so a
        // shared reference is sound from then on.
        if unsafe { state(site) }.load(Ordering::Acquire) != ALOG_SITE_DEFERRED {
            return ALOG_ERR_INVALID;
        }
        // SAFETY: as above.
        let site = unsafe { &*site };
        let (given, n) = (n as usize, site.n_args as usize);
        if given < n || n > MAX_ARGS {
            return ALOG_ERR_INVALID;
        }
        if n > 0 && args.is_null() {
            return ALOG_ERR_NULL;
        }
        let kinds = &site.kinds[..n];
        // No argument is a string (the tags say so, or there is no argument).
        if n == 0 || site.word_tags[0] != 0 {
            // Integers, doubles and pointers travel as the 8 bytes the caller packed.
            // SAFETY: `n` arguments at `args`, each an 8-byte `alog_arg` that `ALOG_LOGF`
            // writes whole (plain data, laid out as a `u64`); NULL only when `n == 0`, when
            // a dangling aligned pointer stands in for the empty slice.
            let words = unsafe {
                let p = if n == 0 {
                    std::ptr::NonNull::dangling().as_ptr()
                } else {
                    args.cast::<u64>()
                };
                std::slice::from_raw_parts(p, n)
            };
            let tags = &site.word_tags[..n];
            return result(lg.logger.log_deferred_words(level, site.id, tags, words));
        }
        // Only the first `n` entries are written and read: no need to clear all of them.
        let mut vals = [MaybeUninit::<Arg<'_>>::uninit(); MAX_ARGS];
        for (i, v) in vals.iter_mut().enumerate().take(n) {
            // SAFETY: `n` arguments at `args` (caller's promise, checked non-NULL above).
            let a = unsafe { *args.add(i) };
            // SAFETY: `ALOG_LOGF` writes all 8 bytes of each word, so every member reads
            // initialised plain data; the kind says which member the caller meant (a string
            // for `%s` is the caller's promise, as with printf).
            v.write(unsafe {
                match kinds[i] {
                    ALOG_ARG_DOUBLE => Arg::Float(a.d),
                    ALOG_ARG_STRING if a.p.is_null() => Arg::Str(None),
                    ALOG_ARG_STRING => Arg::Str(Some(CStr::from_ptr(a.p.cast()).to_bytes())),
                    ALOG_ARG_POINTER => Arg::Ptr(a.p as usize as u64),
                    _ => Arg::Int(a.i),
                }
            });
        }
        // SAFETY: the first `n` entries were initialised above (n <= MAX_ARGS: it equals the
        // site's argument count).
        let vals = unsafe { std::slice::from_raw_parts(vals.as_ptr().cast::<Arg<'_>>(), n) };
        result(lg.logger.log_deferred(level, site.id, vals))
    })
}
