//! Sinks added to and removed from an open logger: which records each one gets, what stays
//! counted, and the errors for specifications that are not one sink.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use alog_core::config::CallbackSpec;
use alog_core::{Config, Level, Logger};

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn spec(pairs: &[(&str, &str)]) -> Config {
    let mut c = Config::default();
    for (k, v) in pairs {
        c.set(k, v).unwrap();
    }
    c
}

#[test]
fn added_and_removed_sinks_get_the_records_of_their_time() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.log");
    let audit = dir.path().join("audit.log");
    let logger = Logger::builder()
        .path(&main)
        .set("pattern", "{level} {msg}")
        .unwrap()
        .build()
        .unwrap();
    // "{level} {msg}" shows no fields: a binding may leave them out, until a sink shows them.
    assert!(!logger.shows_fields());
    logger.log(Level::WARN, "before").unwrap();
    // Records logged before the call may reach the new sink: this one is written first.
    logger.flush(None).unwrap();
    let name = logger
        .add_sink(&spec(&[
            ("file.audit.path", audit.to_str().unwrap()),
            ("file.audit.level", "warn"),
            ("file.audit.pattern", "audit {level} {msg} {thread}"),
        ]))
        .unwrap();
    assert_eq!(name, "file.audit");
    assert!(!logger.shows_fields());
    let tid = unsafe_tid();
    logger.log(Level::INFO, "info while added").unwrap();
    logger.log(Level::ERROR, "error while added").unwrap();
    let names: Vec<String> = logger.sink_stats().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["file", "file.audit"]);

    // A callback at debug: the logger's gate opens for it, the file keeps its info level.
    let got = Arc::new(Mutex::new(Vec::new()));
    let mut cb = Config::default();
    let g = got.clone();
    cb.callbacks.push(CallbackSpec {
        callback: Arc::new(move |_, line: &[u8]| g.lock().unwrap().push(line.to_vec())),
        level: Some(Level::DEBUG),
        format: None,
    });
    logger.flush(None).unwrap();
    assert_eq!(logger.add_sink(&cb).unwrap(), "callback.0");
    logger.log(Level::DEBUG, "debug for the callback").unwrap();

    let json = logger
        .add_sink(&spec(&[
            ("console", "stderr"),
            ("console.format", "json"),
            ("console.level", "fatal"),
        ]))
        .unwrap();
    assert!(logger.shows_fields());
    logger.remove_sink(&json, None).unwrap();
    assert!(!logger.shows_fields());
    logger.remove_sink("file.audit", None).unwrap();
    logger.log(Level::ERROR, "after removal").unwrap();
    logger.remove_sink("callback.0", None).unwrap();
    logger
        .log(Level::DEBUG, "debug after the callback went")
        .unwrap();
    logger.flush(None).unwrap();

    assert_eq!(
        lines(&main),
        [
            "WARN before",
            "INFO info while added",
            "ERROR error while added",
            "ERROR after removal"
        ]
    );
    assert_eq!(
        lines(&audit),
        [format!("audit ERROR error while added {tid}")]
    );
    let cb_lines: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(
        cb_lines,
        ["DEBUG debug for the callback", "ERROR after removal"],
        "the callback's lines carry the logger's style: {cb_lines:?}"
    );
    let names: Vec<String> = logger.sink_stats().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["file"]);
    let st = logger.stats();
    // The last debug record found the gate back at info: not taken, not counted.
    assert_eq!(st.submitted, 5, "{st:?}");
    assert_eq!(st.written, 5, "{st:?}");

    // A name comes back once its sink is gone, and callbacks keep counting.
    let again = Config::default().tap_callback();
    assert_eq!(logger.add_sink(&again).unwrap(), "callback.1");
    logger.close(None).unwrap();
    assert!(matches!(
        logger.add_sink(&spec(&[("console", "stderr")])),
        Err(alog_core::Error::Closed)
    ));
}

/// The calling thread's id.
fn unsafe_tid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

trait TapCallback {
    fn tap_callback(self) -> Self;
}

impl TapCallback for Config {
    fn tap_callback(mut self) -> Self {
        self.callbacks.push(CallbackSpec {
            callback: Arc::new(|_, _: &[u8]| {}),
            level: None,
            format: None,
        });
        self
    }
}

#[test]
fn specifications_that_are_not_one_sink_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("m.log");
    let other = dir.path().join("o.log");
    let logger = Logger::builder().path(&main).build().unwrap();
    let cases: Vec<(Config, &str)> = vec![
        (Config::default(), "defines no sink"),
        (
            spec(&[("console", "stderr"), ("syslog", "local")]),
            "defines 2 sinks: add one sink at a time",
        ),
        (
            spec(&[("console", "stderr"), ("queue_capacity", "10")]),
            "queue_capacity is a setting of the whole logger, not of a sink",
        ),
        (
            spec(&[("file.x.level", "warn")]),
            "file.x.path is required for sink \"x\"",
        ),
    ];
    for (c, want) in cases {
        let e = logger.add_sink(&c).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    // One file, one sink: two would write every line twice (also when opening).
    let e = logger
        .add_sink(&spec(&[("file.again.path", main.to_str().unwrap())]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sink \"file.again\" would write to the same file as sink \"file\""),
        "{e}"
    );
    let e = Logger::builder()
        .path(&other)
        .set("file.twin.path", other.to_str().unwrap())
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("give each file one sink"), "{e}");
    logger
        .add_sink(&spec(&[("file.o.path", other.to_str().unwrap())]))
        .unwrap();
    let e = logger
        .add_sink(&spec(&[("file.o.path", other.to_str().unwrap())]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already has a sink named \"file.o\""), "{e}");
    // A symlink planted where an added file sink would write is not followed.
    let target = dir.path().join("elsewhere.log");
    std::fs::write(&target, b"").unwrap();
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = logger
        .add_sink(&spec(&[("file.link.path", link.to_str().unwrap())]))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("is a symbolic link, not a regular file"),
        "{e}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    let e = logger.remove_sink("nope", None).unwrap_err().to_string();
    assert_eq!(
        e,
        "no sink named \"nope\"; the logger's sinks: file, file.o"
    );
    logger.remove_sink("file", None).unwrap();
    let e = logger.remove_sink("file.o", None).unwrap_err().to_string();
    assert!(e.contains("is the logger's last sink"), "{e}");
    // Nothing refused was lost: the logger still writes to what is left.
    logger.log(Level::INFO, "still here").unwrap();
    logger.close(None).unwrap();
    assert_eq!(lines(&other).len(), 1);
    assert!(lines(&other)[0].ends_with("INFO still here"));
}

#[test]
fn a_sink_added_and_removed_under_load_gets_every_record_of_its_time_once() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.log");
    let side = dir.path().join("side.log");
    let logger = Arc::new(
        Logger::builder()
            .path(&main)
            .set("pattern", "{msg}")
            .unwrap()
            .set("queue_capacity", "256")
            .unwrap()
            .build()
            .unwrap(),
    );
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (l, sent, stop) = (logger.clone(), sent.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || i < 20_000 {
                l.log(Level::INFO, i.to_string()).unwrap();
                i += 1;
                sent.store(i, Ordering::SeqCst);
            }
            i
        })
    };
    while sent.load(Ordering::SeqCst) < 2_000 {
        std::thread::yield_now();
    }
    logger
        .add_sink(&spec(&[
            ("file.side.path", side.to_str().unwrap()),
            ("file.side.pattern", "{msg}"),
        ]))
        .unwrap();
    // Every record whose call began after add_sink returned reaches the new sink.
    let first = sent.load(Ordering::SeqCst) + 1;
    while sent.load(Ordering::SeqCst) < first + 5_000 {
        std::thread::yield_now();
    }
    // ... and every record whose call ended before remove_sink began.
    let last = sent.load(Ordering::SeqCst);
    logger.remove_sink("file.side", None).unwrap();
    stop.store(true, Ordering::Relaxed);
    let total = producer.join().unwrap();
    logger.close(None).unwrap();

    let all: Vec<u64> = lines(&main).iter().map(|l| l.parse().unwrap()).collect();
    assert_eq!(all, (0..total).collect::<Vec<_>>());
    let got: Vec<u64> = lines(&side).iter().map(|l| l.parse().unwrap()).collect();
    assert!(!got.is_empty());
    // In order, no duplicate, no gap: one contiguous run of the producer's records.
    let lo = got[0];
    assert_eq!(got, (lo..lo + got.len() as u64).collect::<Vec<_>>());
    assert!(lo <= first, "side starts at {lo}, after {first}");
    assert!(
        lo + got.len() as u64 >= last,
        "side ends at {}, before {last}",
        lo + got.len() as u64
    );
    let st = logger.stats();
    assert_eq!(st.submitted, total);
    assert_eq!(st.written, total);
}
