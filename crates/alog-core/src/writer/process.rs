//! Process-level hooks over the registry of live loggers.
//!
//! - `fork()`: before a fork, the forking thread takes every lock of every live logger (so that
//!   none is held by a thread that will not exist in the child); afterwards the parent simply
//!   unlocks, and the child unlocks after forgetting the parent's queued records and lane
//!   backlogs (the parent writes them) and the parent's writer threads (the child starts its
//!   own on first use). The `ALOG_LOGF` call-site registry and the writer pool are locked
//!   too, after the loggers. A fork waits for no sink's I/O: lanes write without these locks.
//! - `exit()`: loggers still open when the process exits (a C program that returns from `main`
//!   without `alog_close`, a Rust logger kept in a static) are flushed, each for at most
//!   [`EXIT_FLUSH_TIMEOUT`], so that records accepted before exit are not lost.

use std::cell::UnsafeCell;
use std::sync::{Arc, Mutex, MutexGuard, Once, RwLockWriteGuard, Weak};
use std::time::Duration;

use crate::render::deferred::{self, Site};
use crate::writer::pool;
use crate::writer::shared::{Held, Shared};

static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// How long the exit hook waits for each open logger.
pub const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Locks held between the prepare handler and the parent/child handler. Each entry keeps its
/// logger alive for as long as the guards borrow it.
struct Fork {
    registry: Option<MutexGuard<'static, Vec<Weak<Shared>>>>,
    held: Vec<(Held, Arc<Shared>)>,
    /// The `ALOG_LOGF` call-site registry.
    sites: Option<RwLockWriteGuard<'static, Vec<Arc<Site>>>>,
    /// The thread-name table (`{thread_name}`).
    names: Option<crate::front::thread::NamesGuard>,
    /// The writer pool, taken last: its lock is never held while taking a logger's.
    pool: Option<pool::ForkGuard>,
}

struct Slot(UnsafeCell<Option<Fork>>);
// SAFETY: only the forking thread touches the slot, from prepare to parent/child, and fork
// handlers of one fork never run concurrently with those of another (glibc serialises them).
unsafe impl Sync for Slot {}
static IN_FORK: Slot = Slot(UnsafeCell::new(None));

fn registry() -> MutexGuard<'static, Vec<Weak<Shared>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the fork and exit hooks (once): on the first logger, or the first `ALOG_LOGF` site
/// registered before any logger exists.
pub(crate) fn install_hooks() {
    INSTALL.call_once(|| {
        // SAFETY: the handlers are `extern "C"` functions that never unwind.
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
            libc::atexit(at_exit);
        }
    });
}

/// The registry if its lock is free at once (a signal handler must not wait for it).
pub(crate) fn try_registry() -> Option<MutexGuard<'static, Vec<Weak<Shared>>>> {
    match REGISTRY.try_lock() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

pub(crate) fn register(s: &Arc<Shared>) {
    install_hooks();
    let mut r = registry();
    r.retain(|w| w.strong_count() > 0);
    r.push(Arc::downgrade(s));
}

pub(crate) fn unregister(s: &Arc<Shared>) {
    registry().retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(s)));
}

extern "C" fn prepare() {
    let _ = std::panic::catch_unwind(|| {
        let reg = registry();
        let live: Vec<Arc<Shared>> = reg.iter().filter_map(Weak::upgrade).collect();
        let held = live
            .into_iter()
            .map(|arc| {
                // SAFETY: the Arc stored beside the guards keeps the logger alive until the
                // guards are dropped (tuple fields drop in order: guards first).
                let s: &'static Shared = unsafe { &*Arc::as_ptr(&arc) };
                (s.lock_all(), arc)
            })
            .collect();
        let sites = Some(deferred::lock_for_fork());
        let names = Some(crate::front::thread::lock_for_fork());
        let pool = Some(pool::lock_for_fork());
        // SAFETY: see `Slot`.
        unsafe {
            *IN_FORK.0.get() = Some(Fork {
                registry: Some(reg),
                held,
                sites,
                names,
                pool,
            })
        };
    });
}

extern "C" fn parent() {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: see `Slot`.
        let fork = unsafe { (*IN_FORK.0.get()).take() };
        drop(fork);
    });
}

extern "C" fn child() {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: see `Slot`; the child has one thread.
        let Some(mut fork) = (unsafe { (*IN_FORK.0.get()).take() }) else {
            return;
        };
        if let Some(g) = fork.pool.as_mut() {
            pool::reset_in_child(g);
        }
        for (held, arc) in fork.held.iter_mut() {
            arc.reset_in_child(held);
        }
        fork.pool.take();
        for (held, arc) in fork.held.drain(..) {
            drop(held);
            drop(arc);
        }
        fork.sites.take();
        fork.names.take();
        crate::front::thread::forget_after_fork();
        fork.registry.take();
    });
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let live: Vec<Arc<Shared>> = registry().iter().filter_map(Weak::upgrade).collect();
        for s in live {
            s.flush_at_exit(EXIT_FLUSH_TIMEOUT);
        }
    });
}
