//! Signals: what a signal handler's log call may do, and `flush_on_signal`'s handlers.
//!
//! **Re-entered calls.** A log call marks its thread for as long as it runs ([`marked`]). A
//! log call that finds the mark set interrupted another alog call on the same thread: it runs
//! in a signal handler (or a sink's signal handler) and must not wait for anything the
//! interrupted call may hold. It takes a path without locks, waits and allocation: the record
//! is copied into the queue if it fits inline and there is room, else refused (`Full`, or
//! `TooLarge` beyond [`crate::queue::INLINE`] bytes) and counted as dropped; the writer is not
//! woken (it writes the record at its next batch timeout, a flush, close or exit).
//!
//! **`flush_on_signal`.** Handlers for the configured termination and crash signals, installed
//! only where the disposition is still the default: they write what every open logger has
//! queued (each within [`SIGNAL_FLUSH_TIMEOUT`]), restore the default disposition and raise
//! the signal again, so the process ends as it would have (same signal, same core dump).
//! Writer threads block asynchronous signals; a crash on a writer thread skips the flush.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::front::error::{Error, Result};
use crate::writer::shared::{Shared, CLOSED, RESPAWN, SYNC};

/// How long a signal handler waits for each logger's queue to be written.
pub const SIGNAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

thread_local! {
    /// This thread is inside an alog call that may hold a lock or wait.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    /// This thread is a writer (pool) thread.
    static IS_WRITER: Cell<bool> = const { Cell::new(false) };
}

/// The calling thread's mark. Only the address is looked up through the thread-local key (a
/// closure small enough to inline, so the key's accessor folds into one thread-pointer-relative
/// address); the call it marks stays inline in its caller instead of running inside an
/// out-of-line `LocalKey::with` with its captures spilled to the stack.
#[inline(always)]
fn in_call_mark() -> *const Cell<bool> {
    IN_CALL.with(|c| c as *const Cell<bool>)
}

/// The thread marked as inside an alog call until this guard drops; `reentered` says whether
/// it already was (a signal handler's call). One thread-local lookup: the hot path's. A guard
/// rather than a closure, so that the call it marks stays inline in its caller.
pub(crate) struct Mark {
    cell: *const Cell<bool>,
    pub(crate) reentered: bool,
}

impl Mark {
    #[inline(always)]
    pub(crate) fn enter() -> Mark {
        let cell = in_call_mark();
        // SAFETY: `IN_CALL` has a const initializer and no destructor, so its storage lives as
        // long as the thread; the guard is not `Send` (raw pointer) and stays on this thread.
        let reentered = unsafe { (*cell).replace(true) };
        Mark { cell, reentered }
    }
}

impl Drop for Mark {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: as in `enter`: this thread's mark, alive as long as the thread.
        unsafe { (*self.cell).set(self.reentered) };
    }
}

/// Runs `f(reentered)` with the thread marked as inside an alog call (see [`Mark`]).
#[inline(always)]
pub(crate) fn marked<R>(f: impl FnOnce(bool) -> R) -> R {
    let m = Mark::enter();
    f(m.reentered)
}

/// Runs `f` unmarked: sinks run by a call on its own thread (sync mode) are not inside it.
pub(crate) fn unmarked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_CALL.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(IN_CALL.with(|c| c.replace(false)));
    f()
}

/// Whether the calling thread is inside an alog call (a handler that interrupted it must not
/// take locks: `ALOG_LOGF` then formats on its thread instead of registering its site).
pub fn in_alog_call() -> bool {
    IN_CALL.with(|c| c.get())
}

/// Called once by every writer thread.
pub(crate) fn mark_writer_thread() {
    IS_WRITER.with(|c| c.set(true));
}

// --- flush_on_signal -----------------------------------------------------------------------

/// Signals whose handler this process installed.
static INSTALLED: AtomicU64 = AtomicU64::new(0);
static INSTALL_LOCK: Mutex<()> = Mutex::new(());
/// A handler is flushing: another signal meanwhile only re-raises.
static FLUSHING: AtomicBool = AtomicBool::new(false);

/// Installs the handler for every signal in `set` whose disposition is still the default (an
/// application's own handler, or an ignored signal, is left as it is).
pub(crate) fn install(set: u64) -> Result<()> {
    if set & !INSTALLED.load(Ordering::Acquire) == 0 {
        return Ok(());
    }
    let _g = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for sig in 1..64 {
        if set & (1 << sig) == 0 || INSTALLED.load(Ordering::Acquire) & (1 << sig) != 0 {
            continue;
        }
        // SAFETY: sigaction with valid, fully initialised structures.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                return Err(Error::io(
                    format!("cannot read the disposition of signal {sig}"),
                    std::io::Error::last_os_error(),
                ));
            }
            if old.sa_sigaction != libc::SIG_DFL {
                continue;
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_signal;
            sa.sa_sigaction = handler as usize;
            sa.sa_flags =
                libc::SA_SIGINFO | libc::SA_RESETHAND | libc::SA_NODEFER | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(Error::io(
                    format!("cannot install the flush_on_signal handler for signal {sig}"),
                    std::io::Error::last_os_error(),
                ));
            }
        }
        INSTALLED.fetch_or(1 << sig, Ordering::AcqRel);
    }
    Ok(())
}

extern "C" fn on_signal(sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: errno is this thread's; it is restored before returning.
    let saved = unsafe { *errno() };
    let writer = IS_WRITER.with(|c| c.get());
    if !writer && !FLUSHING.swap(true, Ordering::AcqRel) {
        let _ = std::panic::catch_unwind(|| {
            flush_all(Instant::now() + SIGNAL_FLUSH_TIMEOUT);
        });
    }
    // SA_RESETHAND put the default disposition back: the signal ends the process as it
    // would have without alog (SA_NODEFER lets it through right away).
    // SAFETY: plain libc calls.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
        *errno() = saved;
    }
}

/// This thread's `errno`.
///
/// # Safety
/// The pointer is valid for the calling thread's life only.
unsafe fn errno() -> *mut libc::c_int {
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: the C library's accessor for the calling thread's errno.
    return unsafe { libc::__error() };
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    // SAFETY: as above.
    return unsafe { libc::__errno_location() };
}

/// The most loggers a handler follows by their exact target (beyond it, by the queue's end).
const TRACKED: usize = 64;

/// Writes what every open logger has queued, each within the deadline. Takes no lock it
/// cannot get at once (a lock held by the interrupted code is given up on at the deadline),
/// allocates nothing, and waits by polling.
fn flush_all(deadline: Instant) {
    let reg = loop {
        if let Some(r) = crate::writer::process::try_registry() {
            break r;
        }
        if Instant::now() >= deadline {
            return;
        }
        nap();
    };
    let mut targets = [0u64; TRACKED];
    for (i, w) in reg.iter().enumerate() {
        if let Some(s) = w.upgrade() {
            let t = request(&s, deadline);
            if i < TRACKED {
                targets[i] = t;
            }
        }
    }
    loop {
        let mut all = true;
        for (i, w) in reg.iter().enumerate() {
            if let Some(s) = w.upgrade() {
                let t = targets
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| s.queue.tail_pos());
                all &= settled(&s, t);
            }
        }
        if all || Instant::now() >= deadline {
            return;
        }
        nap();
    }
}

/// Asks the logger's writer to write everything queued now; returns that position.
fn request(s: &Arc<Shared>, deadline: Instant) -> u64 {
    let g = s.gate.load(Ordering::Acquire);
    let target = s.queue.tail_pos();
    if g & CLOSED != 0 {
        return 0;
    }
    if g & (SYNC | RESPAWN) != 0 {
        // No writer runs for it here: write on this thread, if the sinks are free.
        if let Ok(mut core) = s.core.try_lock() {
            let core = &mut *core;
            if let Some(p) = core.pipeline.as_mut() {
                crate::writer::shared::drain_locked(s, p, &mut core.scratch);
            }
        }
        return 0;
    }
    // Not through `wake`: the interrupted code may hold that lock (inside `flush`).
    s.signal_target.fetch_max(target, Ordering::SeqCst);
    while !crate::writer::pool::try_wake(&s.job()) {
        if Instant::now() >= deadline {
            break;
        }
        nap();
    }
    target
}

fn settled(s: &Shared, target: u64) -> bool {
    s.gate.load(Ordering::Acquire) & CLOSED != 0 || s.done_pos.load(Ordering::SeqCst) >= target
}

fn nap() {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    // SAFETY: nanosleep with a valid timespec; an interruption only shortens the nap.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_nest_and_unmark() {
        assert!(!in_alog_call());
        marked(|outer| {
            assert!(!outer);
            marked(|inner| {
                assert!(inner);
                unmarked(|| assert!(!in_alog_call()));
                assert!(in_alog_call());
            });
            assert!(in_alog_call());
        });
        assert!(!in_alog_call());
    }

    /// A call that interrupted another alog call on its thread (what a signal handler's is)
    /// finds the queue full under `overflow=block`: it returns `Full` at once, counted, rather
    /// than wait for a writer that may be waiting for the call it interrupted.
    #[test]
    fn a_reentered_call_never_waits_for_room() {
        use std::sync::{Condvar, Mutex};
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        let log = crate::Logger::builder()
            .path(dir.path().join("reentry.log"))
            .set("queue_capacity", "4")
            .unwrap()
            .set("callback.backlog", "0")
            .unwrap()
            .callback(None, None, move |_, _| {
                let (m, cv) = &*g;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            })
            .build()
            .unwrap();
        // The first record holds the callback; four more fill the queue behind it.
        log.info("held");
        let start = Instant::now();
        while log.stats().queue_len > 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..4 {
            log.info(format!("queued {i}"));
        }
        assert_eq!(log.stats().queue_len, 4);
        let l = log.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(marked(|_| l.log(crate::Level::WARN, "from a handler")));
        });
        let r = rx.recv_timeout(Duration::from_secs(5));
        {
            let (m, cv) = &*gate;
            *m.lock().unwrap() = true;
            cv.notify_all();
        }
        assert!(matches!(r, Ok(Err(Error::Full))), "{r:?}");
        log.close(None).unwrap();
        let st = log.stats();
        assert_eq!((st.submitted, st.written, st.dropped), (6, 5, 1), "{st:?}");
    }

    /// A signal that lands while its thread holds the logger's wake lock (inside `flush`, as
    /// a `multiprocessing` worker exiting by itself is when `Pool.terminate()` signals it):
    /// the handler still gets the queue written, well within its bound.
    /// What the interrupted code left behind when the signal landed.
    enum Interrupted {
        /// Inside `flush`, holding the logger's wake lock.
        HoldingWakeLock,
        /// Inside the pool's `wake`: the job claimed, not yet in the ready queue.
        WakeClaimed,
        /// Inside the pool's `wake`: the job in the ready queue, no thread notified yet.
        WakeNotNotified,
    }

    /// A signal landing in the middle of a `flush` (as it does when `Pool.terminate()` signals
    /// a `multiprocessing` worker exiting by itself): the handler still gets the queue
    /// written, well within its bound. `batch_size` (unique per case, below half the queue so
    /// that it is not capped) finds the logger.
    fn interrupted_flush_still_writes(case: Interrupted, batch_size: u64) {
        // One case at a time: the handler flushes every logger of the process, and another
        // case's stranded job would hold it to its bound (as any logger left in that state
        // would: that is what the bound is for).
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.log");
        let mut c = crate::Config::default();
        for (k, v) in [
            ("pattern", "{msg}"),
            ("queue_capacity", "131072"),
            ("batch_size", &batch_size.to_string()),
            ("batch_timeout_ms", "3600000"),
        ] {
            c.set(k, v).unwrap();
        }
        let log = crate::Logger::open(Some(&path), c).unwrap();
        for i in 0..1000 {
            log.info(format!("r {i}"));
        }
        let s = crate::writer::process::try_registry()
            .unwrap()
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .find(|s| s.batch_size == batch_size)
            .unwrap();
        // The writer job parks once it has looked at the queue.
        std::thread::sleep(Duration::from_millis(50));
        let held = match case {
            Interrupted::HoldingWakeLock => Some(s.wake.lock().unwrap()),
            Interrupted::WakeClaimed => {
                crate::writer::pool::strand(&s.job(), false);
                None
            }
            Interrupted::WakeNotNotified => {
                crate::writer::pool::strand(&s.job(), true);
                None
            }
        };
        let start = Instant::now();
        flush_all(start + SIGNAL_FLUSH_TIMEOUT);
        let took = start.elapsed();
        let written = std::fs::read_to_string(&path).unwrap();
        drop(held);
        // Written, and not by running into the handler's bound (a loaded machine may take a
        // while, but giving up is what the bound is for).
        assert!(took < SIGNAL_FLUSH_TIMEOUT, "the handler waited {took:?}");
        let want: Vec<String> = (0..1000).map(|i| format!("r {i}")).collect();
        assert_eq!(written.lines().collect::<Vec<_>>(), want);
        drop(s);
        log.close(None).unwrap();
    }

    #[test]
    fn a_handler_interrupting_the_wake_lock_holder_still_writes_the_queue() {
        interrupted_flush_still_writes(Interrupted::HoldingWakeLock, 50001);
    }

    #[test]
    fn a_handler_interrupting_a_wake_before_its_push_still_writes_the_queue() {
        interrupted_flush_still_writes(Interrupted::WakeClaimed, 50002);
    }

    #[test]
    fn a_handler_interrupting_a_wake_before_its_notify_still_writes_the_queue() {
        interrupted_flush_still_writes(Interrupted::WakeNotNotified, 50003);
    }
}
