//! The asymmetric memory barrier that lets a queue's owning thread claim positions with plain
//! stores (see "Single-producer claims" in `ring`).
//!
//! The owner's side of the handshake is a store and a load with only a compiler fence between
//! them, so the processor may reorder them; the other side makes up for it by making every
//! thread of the process pass a full barrier (`membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`,
//! Linux 4.14 and later) before it reads the owner's store. The expensive half is paid once, by
//! the thread that takes the queue away from its owner; the owner pays nothing per record.
//! Where the call is missing or refused (another kernel, a seccomp filter), no queue is ever
//! owned and every producer claims with a compare-and-swap, as before.
//!
//! Under loom both sides are sequentially consistent fences, which the model checker
//! understands (it has no notion of a barrier run on another thread's behalf).

#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(not(loom))]
const UNKNOWN: u8 = 0;
#[cfg(not(loom))]
const READY: u8 = 1;
#[cfg(not(loom))]
const MISSING: u8 = 2;

#[cfg(not(loom))]
static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether [`issue`] works in this process (the process is registered for it, on first ask).
#[cfg(all(not(loom), any(target_os = "linux", target_os = "android")))]
pub(crate) fn available() -> bool {
    match STATE.load(Ordering::Acquire) {
        READY => true,
        MISSING => false,
        _ => {
            // SAFETY: membarrier takes three integers; a kernel without it returns ENOSYS.
            let supported =
                unsafe { libc::syscall(libc::SYS_membarrier, libc::MEMBARRIER_CMD_QUERY, 0, 0) };
            let ok = supported >= 0
                && supported & libc::c_long::from(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
                // SAFETY: as above; registering twice is harmless.
                && unsafe {
                    libc::syscall(
                        libc::SYS_membarrier,
                        libc::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                        0,
                        0,
                    )
                } == 0;
            STATE.store(if ok { READY } else { MISSING }, Ordering::Release);
            ok
        }
    }
}

#[cfg(all(not(loom), not(any(target_os = "linux", target_os = "android"))))]
pub(crate) fn available() -> bool {
    false
}

/// Makes every running thread of the process pass a full memory barrier before it returns.
/// False if the system refused (only possible when [`available`] said no).
#[cfg(all(not(loom), any(target_os = "linux", target_os = "android")))]
pub(crate) fn issue() -> bool {
    // SAFETY: membarrier takes three integers.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED,
            0,
            0,
        ) == 0
    }
}

#[cfg(all(not(loom), not(any(target_os = "linux", target_os = "android"))))]
pub(crate) fn issue() -> bool {
    false
}

/// The owner's half: keeps the compiler from moving its store past its load (the processor
/// may; [`issue`] covers that).
#[inline(always)]
pub(crate) fn owner_side() {
    #[cfg(not(loom))]
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    #[cfg(loom)]
    loom::sync::atomic::fence(loom::sync::atomic::Ordering::SeqCst);
}

#[cfg(loom)]
pub(crate) fn available() -> bool {
    true
}

#[cfg(loom)]
pub(crate) fn issue() -> bool {
    loom::sync::atomic::fence(loom::sync::atomic::Ordering::SeqCst);
    true
}
