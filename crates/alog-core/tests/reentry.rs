//! A sink callback that calls back into its own logger: what would wait for itself (a write
//! in sync mode, a flush or close, a blocking write into a full queue from the writer) is
//! refused with an error naming the problem, and everything else goes on.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use alog_core::{Error, Level, Logger, Overflow};

/// A logger whose callback runs `inner` with the logger itself for every "outer" record, and
/// collects the lines it sees.
fn reentrant(
    sync: bool,
    capacity: usize,
    inner: impl Fn(&Logger) + Send + Sync + 'static,
) -> (Logger, Arc<Mutex<Vec<String>>>) {
    let me: Arc<OnceLock<Logger>> = Arc::new(OnceLock::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (me2, seen2) = (me.clone(), seen.clone());
    let log = Logger::builder()
        .sync(sync)
        .queue_capacity(capacity)
        .overflow(Overflow::Block)
        .set("pattern", "{msg}")
        .unwrap()
        // The writer takes nothing more while the callback runs: the queue is all there is.
        .set("callback.backlog", "0")
        .unwrap()
        .callback(None, None, move |_, line| {
            let text = String::from_utf8_lossy(line).into_owned();
            if text == "outer" {
                inner(me2.get().unwrap());
            }
            seen2.lock().unwrap().push(text);
        })
        .build()
        .unwrap();
    me.set(log.clone()).ok().unwrap();
    (log, seen)
}

fn refused(r: Result<(), Error>, what: &str) -> bool {
    matches!(&r, Err(e) if e.to_string()
        == format!("a sink or error callback cannot {what} its own logger: it would wait for itself"))
}

#[test]
fn sync_mode_refuses_a_write_from_its_own_sink() {
    let results = Arc::new(Mutex::new(Vec::new()));
    let r2 = results.clone();
    let (log, seen) = reentrant(true, 16, move |me| {
        r2.lock()
            .unwrap()
            .push(refused(me.log(Level::INFO, "inner"), "log to"));
        r2.lock().unwrap().push(refused(me.flush(None), "flush"));
        r2.lock().unwrap().push(refused(me.close(None), "close"));
    });
    log.info("outer");
    log.info("after");
    assert_eq!(*results.lock().unwrap(), [true, true, true]);
    assert_eq!(*seen.lock().unwrap(), ["outer", "after"]);
    log.close(None).unwrap();
    assert_eq!(log.stats().written, 2);
}

#[test]
fn the_writer_refuses_to_wait_for_itself() {
    let results = Arc::new(Mutex::new(Vec::new()));
    let r2 = results.clone();
    // A queue of 2: the callback's third write finds it full while only the writer itself
    // could make room.
    let (log, seen) = reentrant(false, 2, move |me| {
        let mut r = r2.lock().unwrap();
        for i in 0..3 {
            r.push(me.log(Level::INFO, format!("inner {i}")).is_ok());
        }
        r.push(refused(me.flush(Some(Duration::from_secs(5))), "flush"));
    });
    let started = Instant::now();
    log.info("outer");
    log.flush(None).unwrap(); // the callback runs (and is refused) before this returns
    log.close(None).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for itself"
    );
    assert_eq!(*results.lock().unwrap(), [true, true, false, true]);
    assert_eq!(
        *seen.lock().unwrap(),
        ["outer", "inner 0", "inner 1"],
        "the refused record is not written"
    );
    let s = log.stats();
    assert_eq!((s.submitted, s.written, s.dropped), (4, 3, 1));
}
