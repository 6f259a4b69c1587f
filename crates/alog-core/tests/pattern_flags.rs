//! Pattern tokens beyond the default ones: the process id, the calling thread's id and name,
//! the logger's name, and the timestamp through a strftime format in UTC and in local time
//! (TZ set for this process), `%f` microseconds.

use alog_core::{Level, Logger, Record};

#[test]
fn pid_and_time_formats() {
    // UTC+02:00 in POSIX TZ syntax (the sign is inverted), read by tzset on first use.
    std::env::set_var("TZ", "ALOG-2");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.log");
    let logger = Logger::builder()
        .path(&path)
        .set(
            "pattern",
            "{ts:%Y/%m/%d %H:%M:%S.%f} | {localtime} | {localtime:%H:%M %Z %%f} | {pid} {level} {msg}",
        )
        .unwrap()
        .build()
        .unwrap();
    // 2026-12-03T04:05:06.789012345Z
    let ts = 1_796_270_706_789_012_345i64;
    logger
        .write_record(&Record {
            timestamp_ns: Some(ts),
            ..Record::new(Level::INFO, "hello")
        })
        .unwrap();
    logger.flush(None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let want = format!(
        "2026/12/03 04:05:06.789012 | 2026-12-03T06:05:06.789012+0200 | 06:05 ALOG %f | {} INFO hello\n",
        std::process::id()
    );
    assert_eq!(text, want);

    for (bad, why) in [
        ("{ts:}", "empty time format"),
        ("{level:x}", "takes no argument"),
        ("{thread:x}", "takes no argument"),
        ("{tid}", "unknown token {tid}"),
    ] {
        let e = Logger::builder()
            .set("pattern", bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

/// The calling thread's id.
fn os_tid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

#[test]
fn thread_id_name_and_logger_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let json = dir.path().join("t.json");
    let logger = std::sync::Arc::new(
        Logger::builder()
            .path(&path)
            .set("name", "billing")
            .unwrap()
            .set("pattern", "[{logger}] {thread_name}/{thread} {level} {msg}")
            .unwrap()
            // A second file without the tokens: its lines stay as they were.
            .set("file.plain.path", json.to_str().unwrap())
            .unwrap()
            .set("file.plain.pattern", "{level} {msg}")
            .unwrap()
            .build()
            .unwrap(),
    );
    let mut want = Vec::new();
    for name in ["alpha", "beta-worker-01", "", "x\ny"] {
        let l = logger.clone();
        let mut b = std::thread::Builder::new();
        if !name.is_empty() {
            b = b.name(name.to_string());
        }
        let (tid, comm) = b
            .spawn(move || {
                for i in 0..3 {
                    l.log(Level::INFO, format!("n{i}")).unwrap();
                }
                let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
                (os_tid(), comm.trim_end().to_string())
            })
            .unwrap()
            .join()
            .unwrap();
        // A thread not named by Rust has the name the system gave it (Linux: its creator's).
        // A name with a newline prints escaped: it cannot split the line.
        let shown = if name.is_empty() {
            comm
        } else {
            name.replace('\n', "\\n")
        };
        for i in 0..3 {
            want.push(format!("[billing] {shown}/{tid} INFO n{i}"));
        }
    }
    // A thread renamed after its first call keeps the name it had then.
    let l = logger.clone();
    let lines = std::thread::Builder::new()
        .name("before".into())
        .spawn(move || {
            l.log(Level::WARN, "first").unwrap();
            let name = std::ffi::CString::new("after").unwrap();
            // SAFETY: renames the calling thread with a NUL-terminated name under 16 bytes.
            unsafe { libc::pthread_setname_np(libc::pthread_self(), name.as_ptr()) };
            l.log(Level::WARN, "second").unwrap();
            let t = os_tid();
            vec![
                format!("[billing] before/{t} WARN first"),
                format!("[billing] before/{t} WARN second"),
            ]
        })
        .unwrap()
        .join()
        .unwrap();
    want.extend(lines);
    logger.flush(None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
    let plain = std::fs::read_to_string(&json).unwrap();
    assert_eq!(plain.lines().count(), 14);
    assert!(plain.starts_with("INFO n0\n"), "{plain}");

    for bad in ["a\nb", &"x".repeat(257)] {
        let e = Logger::builder().set("name", bad).unwrap_err().to_string();
        assert!(e.contains("for name"), "{e}");
    }
}
