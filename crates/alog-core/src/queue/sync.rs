//! The synchronization primitives the queue uses, swapped for loom's under `--cfg loom` so that
//! the model checker explores every interleaving of the real queue code.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// An `UnsafeCell` with loom's access API on both builds.
#[derive(Debug)]
pub(crate) struct Cell<T>(
    #[cfg(loom)] loom::cell::UnsafeCell<T>,
    #[cfg(not(loom))] std::cell::UnsafeCell<T>,
);

impl<T> Cell<T> {
    #[cfg_attr(not(loom), allow(dead_code))]
    pub(crate) fn new(v: T) -> Self {
        #[cfg(loom)]
        return Cell(loom::cell::UnsafeCell::new(v));
        #[cfg(not(loom))]
        return Cell(std::cell::UnsafeCell::new(v));
    }

    /// A raw pointer to the contents (no access tracking: the build without loom only).
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.0.get()
    }

    /// Runs `f` with a raw pointer to the contents. The caller guarantees exclusive access.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(loom)]
        return self.0.with_mut(f);
        #[cfg(not(loom))]
        return f(self.0.get());
    }
}
