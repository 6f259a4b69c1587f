//! A program logging through `tracing` into alog: events with their fields and the fields of
//! the spans they are in (outermost first, values recorded later included), levels, sources.

use alog_core::{Level, Logger};
use tracing_subscriber::prelude::*;

#[test]
fn tracing_events_and_span_fields_write_through_alog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tracing.log");
    let logger = Logger::builder()
        .path(&path)
        .level(Level::INFO)
        .set("pattern", "{level} {msg}{fields}")
        .unwrap()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(alog_core::tracing::layer(logger.clone()));
    let f = file!();
    let m = module_path!();
    let mut lines = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("started");
        lines.push(line!() - 1);
        let outer = tracing::info_span!(
            "request",
            id = 7u64,
            path = "/api",
            user = tracing::field::Empty
        );
        let _o = outer.enter();
        outer.record("user", "ann");
        let inner = tracing::debug_span!("db", table = "users");
        let _i = inner.enter();
        lines.push(line!() + 1);
        tracing::warn!(
            ms = 1250i64,
            slow = true,
            ratio = 0.5,
            "query took {} ms",
            1250
        );
        tracing::debug!(n = 1, "below the level");
        tracing::error!(err = ?std::io::ErrorKind::NotFound, "failed");
        lines.push(line!() - 1);
    });
    logger.flush(None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let want = [
        format!("INFO started source={f}:{} func={m}", lines[0]),
        format!(
            "WARN query took 1250 ms source={f}:{} func={m} id=7 path=/api user=ann table=users ms=1250 slow=true ratio=0.5",
            lines[1]
        ),
        format!(
            "ERROR failed source={f}:{} func={m} id=7 path=/api user=ann table=users err=NotFound",
            lines[2]
        ),
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
    let s = logger.stats();
    assert_eq!((s.submitted, s.written), (3, 3));
}
