//! The hot path allocates nothing: a counting global allocator watches the logging thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use alog_core::printf::Arg;
use alog_core::{Field, Level, Logger, Record, Source};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the thread-local counter does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(|c| c.get());
    f();
    ALLOCS.with(|c| c.get()) - before
}

#[test]
fn logging_calls_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let log = Logger::builder()
        .path(dir.path().join("a.log"))
        .queue_capacity(1 << 16)
        .build()
        .unwrap();
    let msg = [b'x'; 100];
    let fields = [
        Field::new("user", "ann"),
        Field::new("ms", 12i64),
        Field::new("ok", true),
    ];
    let rec = Record {
        level: Level::INFO,
        timestamp_ns: None,
        msg: b"structured",
        fields: &fields,
        source: Some(Source {
            file: b"alloc.rs",
            line: 1,
            func: b"test",
        }),
    };
    let site =
        alog_core::register_site(b"user %d from %s in %.1f ms", b"alloc.rs", 2, b"test").unwrap();
    log.log(Level::INFO, msg).unwrap();
    let n = allocations_during(|| {
        for i in 0..20_000 {
            log.log(Level::INFO, msg).unwrap();
            log.write_record(&rec).unwrap();
            log.log(Level::DEBUG, msg).unwrap();
            let args = [Arg::Int(i), Arg::Str(Some(b"10.0.0.1")), Arg::Float(1.5)];
            log.log_deferred(Level::INFO, site, &args).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations on the logging thread");
    log.close(None).unwrap();
    assert_eq!(log.stats().written, 60_001);
    let text = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
    assert!(text.contains(" INFO user 19999 from 10.0.0.1 in 1.5 ms source=alloc.rs:2 func=test\n"));
}
