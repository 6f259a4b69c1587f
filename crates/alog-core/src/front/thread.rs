//! The calling thread as a record carries it: the operating system's thread id, and its name
//! as the thread had it when it first logged with a pattern that shows it (`{thread}`,
//! `{thread_name}`).
//!
//! A log call asks for the id only when one of its logger's sinks prints it; the id is cached
//! per thread (one thread-local read after the first call), and the first call also records the
//! thread's name in a process-wide table that the writer reads when it formats the line. The
//! table keeps at most [`MAX_NAMES`] names; a thread beyond them prints its id as its name. A
//! thread renamed after its first log call keeps the name it had then (Quill's rule, too); a
//! new thread that reuses an old id records its own name at its first call.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The most thread names the table keeps.
pub const MAX_NAMES: usize = 16384;

thread_local! {
    /// This thread's id once looked up (0: not yet).
    static TID: Cell<u32> = const { Cell::new(0) };
}

fn names() -> &'static Mutex<HashMap<u32, Box<str>>> {
    static NAMES: OnceLock<Mutex<HashMap<u32, Box<str>>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// The calling thread's id. The first call on a thread looks it up and records the thread's
/// name, unless `in_handler` (a signal handler's call must not lock or allocate: it returns the
/// id from the system without caching it).
#[inline]
pub fn current(in_handler: bool) -> u32 {
    let cached = TID.with(|c| c.get());
    if cached != 0 {
        return cached;
    }
    first_call(in_handler)
}

#[cold]
fn first_call(in_handler: bool) -> u32 {
    let tid = os_tid();
    if in_handler || tid == 0 {
        return tid;
    }
    let name = os_name();
    {
        let mut t = names().lock().unwrap_or_else(|e| e.into_inner());
        if t.len() < MAX_NAMES || t.contains_key(&tid) {
            t.insert(tid, name.into_boxed_str());
        }
    }
    TID.with(|c| c.set(tid));
    tid
}

/// Runs `f` with the recorded name of thread `tid` (`None`: not recorded).
pub fn with_name<R>(tid: u32, f: impl FnOnce(Option<&str>) -> R) -> R {
    let t = names().lock().unwrap_or_else(|e| e.into_inner());
    f(t.get(&tid).map(|n| &**n))
}

/// The name table's lock, held across `fork` so that no vanished thread owns it in the child.
pub type NamesGuard = std::sync::MutexGuard<'static, HashMap<u32, Box<str>>>;

/// Takes the name table's lock for a `fork`.
pub fn lock_for_fork() -> NamesGuard {
    names().lock().unwrap_or_else(|e| e.into_inner())
}

/// In the child of a `fork`, on the thread that forked: its id is new.
pub fn forget_after_fork() {
    TID.with(|c| c.set(0));
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn os_tid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    u32::try_from(tid).unwrap_or(0)
}

#[cfg(target_vendor = "apple")]
fn os_tid() -> u32 {
    let mut id: u64 = 0;
    // SAFETY: a null thread means the calling one; `id` is a valid out-pointer.
    unsafe { libc::pthread_threadid_np(0, &mut id) };
    id as u32
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn os_tid() -> u32 {
    0
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn os_name() -> String {
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: `buf` is writable for its length; the call writes a NUL-terminated name.
    let rc = unsafe { libc::pthread_getname_np(libc::pthread_self(), buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    // SAFETY: on success `buf` holds a NUL-terminated string (it was zeroed, and the last byte
    // is never written past).
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    String::from_utf8_lossy(name.to_bytes()).into_owned()
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn os_name() -> String {
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_records_its_id_and_name_once() {
        let (tid, again, os) = std::thread::Builder::new()
            .name("alog-t-names".into())
            .spawn(|| (current(false), current(false), os_tid()))
            .unwrap()
            .join()
            .unwrap();
        assert_ne!(tid, 0);
        assert_eq!(tid, again);
        assert_eq!(tid, os);
        assert_eq!(
            with_name(tid, |n| n.map(str::to_owned)),
            Some("alog-t-names".to_owned())
        );
    }

    #[test]
    fn a_handler_call_neither_caches_nor_records() {
        std::thread::Builder::new()
            .name("alog-t-handler".into())
            .spawn(|| {
                let tid = current(true);
                assert_eq!(tid, os_tid());
                assert_eq!(TID.with(|c| c.get()), 0);
                assert!(with_name(tid, |n| n.is_none()));
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
