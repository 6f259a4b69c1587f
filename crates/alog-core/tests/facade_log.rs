//! A program logging through the `log` facade into alog: messages, formatting, key-values as
//! typed fields, source locations, the logger's level as the gate.

use alog_core::{Level, Logger};

#[test]
fn log_macros_write_through_alog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.log");
    let logger = Logger::builder()
        .path(&path)
        .level(Level::INFO)
        .set("pattern", "{level} {msg}{fields}")
        .unwrap()
        .build()
        .unwrap();
    alog_core::log::init(logger.clone()).unwrap();
    assert!(
        alog_core::log::init(logger.clone()).is_err(),
        "installed twice"
    );

    log::info!("service started on port {}", 8080);
    let line_info = line!() - 1;
    log::warn!(user = "ann", ms = 1250, ok = true, ratio = 0.5; "slow request");
    let line_warn = line!() - 1;
    let evaluated = std::cell::Cell::new(0);
    let count = || {
        evaluated.set(evaluated.get() + 1);
        1
    };
    log::debug!("below the level: {}", count());
    assert_eq!(
        evaluated.get(),
        0,
        "a disabled record's arguments were evaluated"
    );
    log::error!(target: "db", "plain");
    let line_error = line!() - 1;
    assert!(log::log_enabled!(log::Level::Info));
    assert!(!log::log_enabled!(log::Level::Debug));
    logger.set_level(Level::DEBUG).unwrap();
    log::debug!("still below the facade's level until it is synced");
    log::set_max_level(alog_core::log::level_filter(&logger));
    log::debug!("now shown");
    let line_debug = line!() - 1;
    log::logger().flush();

    let text = std::fs::read_to_string(&path).unwrap();
    let f = file!();
    let m = module_path!();
    let want = [
        format!("INFO service started on port 8080 source={f}:{line_info} func={m}"),
        format!(
            "WARN slow request source={f}:{line_warn} func={m} user=ann ms=1250 ok=true ratio=0.5"
        ),
        format!("ERROR plain source={f}:{line_error} func={m}"),
        format!("DEBUG now shown source={f}:{line_debug} func={m}"),
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
    let s = logger.stats();
    assert_eq!((s.submitted, s.written, s.dropped, s.failed), (4, 4, 0, 0));
}
