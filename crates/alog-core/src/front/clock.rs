//! The hot path's clock: a raw CPU timestamp counter read where it is cheap and trustworthy,
//! converted to wall-clock nanoseconds on the writer thread.
//!
//! On x86-64 with an invariant TSC (CPUID leaf 0x8000_0007, EDX bit 8: the counter ticks at a
//! constant rate in every power state and is synchronised across cores) a log call stamps its
//! record with `rdtsc` (~8 ns here) instead of `clock_gettime(CLOCK_REALTIME)` (~18 ns). Each
//! writer owns a [`Converter`] that maps ticks to nanoseconds since the epoch through an anchor
//! pair (ticks, wall clock) taken on the writer thread and a tick rate measured against the wall
//! clock over an ever longer baseline: the anchor is renewed when it is older than its distance
//! from the process-wide first sample, and at least once a second, so the estimate of the rate
//! sharpens quickly and wall-clock steps (NTP, settimeofday) are followed within a second.
//!
//! Fallback: on other CPUs, when the TSC is not invariant, or when a logger is configured with
//! `clock=realtime` (or the environment sets `ALOG_CLOCK=realtime`), records are stamped with
//! `clock_gettime(CLOCK_REALTIME)` directly and need no conversion.

use std::sync::OnceLock;

use crate::front::time::now_ns;

/// A record's timestamp as taken on the caller's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// Nanoseconds since the Unix epoch.
    Ns(i64),
    /// Raw TSC ticks, to be converted by a [`Converter`].
    Ticks(i64),
}

/// Reads the timestamp counter.
#[inline(always)]
pub fn ticks() -> i64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions; it exists on every x86-64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() as i64 }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Whether the CPU's timestamp counter is invariant (and therefore usable as a clock).
pub fn tsc_invariant() -> bool {
    static INVARIANT: OnceLock<bool> = OnceLock::new();
    *INVARIANT.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: cpuid exists on every x86-64 CPU; leaf 0x8000_0000 reports the highest
            // extended leaf, checked before 0x8000_0007 is read. (Newer compilers deem it safe.)
            #[allow(unused_unsafe)]
            unsafe {
                use core::arch::x86_64::__cpuid;
                __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Whether `ALOG_CLOCK=realtime` asks every logger of the process to skip the TSC.
pub fn env_forces_realtime() -> bool {
    std::env::var_os("ALOG_CLOCK").is_some_and(|v| v == "realtime")
}

/// One (ticks, nanoseconds) pair, taken so that the two readings are as close as possible:
/// the wall clock is read between two counter reads, the pair with the narrowest window of a few
/// tries wins and the counter is taken at that window's midpoint.
#[derive(Clone, Copy, Debug)]
struct Pair {
    ticks: i64,
    ns: i64,
}

fn pair() -> Pair {
    let mut best = (i64::MAX, Pair { ticks: 0, ns: 0 });
    for _ in 0..5 {
        let t0 = ticks();
        let ns = now_ns();
        let t1 = ticks();
        if t1 - t0 < best.0 {
            best = (
                t1 - t0,
                Pair {
                    ticks: t0 + (t1 - t0) / 2,
                    ns,
                },
            );
        }
    }
    best.1
}

/// The process's first calibration: a pair and an initial tick rate measured over a few
/// milliseconds, paid once by the first logger that uses the TSC.
#[derive(Clone, Copy, Debug)]
struct Origin {
    first: Pair,
    ns_per_tick: f64,
}

fn origin() -> Origin {
    static ORIGIN: OnceLock<Origin> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let a = pair();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut b = pair();
        if b.ticks <= a.ticks {
            // A counter that did not advance cannot be a clock; rate 0 maps every stamp to
            // the anchor's wall-clock time rather than to garbage.
            b.ticks = a.ticks + 1;
        }
        Origin {
            first: a,
            ns_per_tick: ((b.ns - a.ns) as f64 / (b.ticks - a.ticks) as f64).max(0.0),
        }
    })
}

/// Calibrates the process's clock now (the first logger to open calls it, so that its first
/// records do not wait on calibration).
pub fn calibrate() {
    origin();
}

/// Converts TSC stamps to wall-clock nanoseconds; one per writer. It calibrates on its first
/// [`refresh`](Converter::refresh), so loggers that never see a TSC stamp never pay for it.
#[derive(Debug, Default)]
pub struct Converter {
    anchor: Option<Pair>,
    ns_per_tick: f64,
}

/// The longest an anchor is kept.
const MAX_ANCHOR_AGE_NS: i64 = 1_000_000_000;

impl Converter {
    /// Renews the anchor when it is due; called before converting a batch with TSC stamps.
    pub fn refresh(&mut self) {
        let first = origin().first;
        if let Some(a) = self.anchor {
            let age = now_ns() - a.ns;
            if (0..MAX_ANCHOR_AGE_NS.min(a.ns - first.ns)).contains(&age) {
                return;
            }
        }
        let now = pair();
        self.ns_per_tick = if now.ticks > first.ticks && now.ns > first.ns {
            (now.ns - first.ns) as f64 / (now.ticks - first.ticks) as f64
        } else {
            origin().ns_per_tick
        };
        self.anchor = Some(now);
    }

    /// Nanoseconds since the epoch for a stamp; TSC stamps need a [`refresh`](Self::refresh)
    /// first (before it they read as the origin's wall-clock time).
    #[inline]
    pub fn ns(&self, s: Stamp) -> i64 {
        match s {
            Stamp::Ns(ns) => ns,
            Stamp::Ticks(t) => {
                let a = self.anchor.unwrap_or_else(|| origin().first);
                a.ns + ((t - a.ticks) as f64 * self.ns_per_tick) as i64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_pass_through() {
        let c = Converter::default();
        assert_eq!(c.ns(Stamp::Ns(42)), 42);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn ticks_convert_to_the_wall_clock() {
        if !tsc_invariant() {
            eprintln!("skipped: no invariant TSC on this CPU");
            return;
        }
        let mut c = Converter::default();
        for round in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(round * 3));
            c.refresh();
            let t = ticks();
            let wall = now_ns();
            let err = (c.ns(Stamp::Ticks(t)) - wall).abs();
            // Conversion error stays far below the printed microsecond.
            assert!(err < 20_000, "round {round}: off by {err} ns");
        }
        // Stamps keep their order and spacing: 1 ms of sleep reads as 1 ms (+ scheduling).
        let t0 = ticks();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let t1 = ticks();
        let d = c.ns(Stamp::Ticks(t1)) - c.ns(Stamp::Ticks(t0));
        assert!(
            (10_000_000..60_000_000).contains(&d),
            "10 ms read as {d} ns"
        );
    }
}
