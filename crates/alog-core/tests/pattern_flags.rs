//! Pattern tokens beyond the default ones: the process id, and the timestamp through a
//! strftime format in UTC and in local time (TZ set for this process), `%f` microseconds.

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
        ("{thread}", "unknown token {thread}"),
    ] {
        let e = Logger::builder()
            .set("pattern", bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
}
