//! Timestamps taken on the hot path (TSC where it is invariant, else CLOCK_REALTIME) read as
//! the wall-clock time of the call, to the printed microsecond, and keep per-thread order.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alog_core::{Builder, Logger};

fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// Microseconds since the epoch of `2026-11-23T17:58:01.123456Z`.
fn parse_us(ts: &str) -> i64 {
    let b = ts.as_bytes();
    assert_eq!(b.len(), 27, "timestamp {ts:?}");
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil, for the proleptic Gregorian calendar.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    secs * 1_000_000 + n(20..26)
}

fn check(clock: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clock.log");
    let lg: Logger = Builder::default()
        .path(&path)
        .set("clock", clock)
        .unwrap()
        .build()
        .unwrap();
    let mut windows = Vec::new();
    for i in 0..50 {
        let before = wall_us();
        lg.info(format!("m{i}"));
        let after = wall_us();
        windows.push((before, after));
        std::thread::sleep(Duration::from_millis(if i % 10 == 0 { 20 } else { 1 }));
    }
    for i in 0..20_000 {
        lg.info(format!("burst{i}"));
    }
    lg.close(None).unwrap();
    let lines = common::lines(&path);
    assert_eq!(lines.len(), 50 + 20_000);
    for (i, (line, (before, after))) in lines.iter().zip(&windows).enumerate() {
        let ts = parse_us(line.split(' ').next().unwrap());
        // The printed microsecond is truncated; allow 50 us of conversion error either way.
        assert!(
            ts >= before - 50 && ts <= after + 50,
            "clock={clock} record {i}: {ts} outside [{before}, {after}]"
        );
    }
    let stamps: Vec<i64> = lines
        .iter()
        .map(|l| parse_us(l.split(' ').next().unwrap()))
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "clock={clock}: timestamps of one thread go backwards"
    );
}

#[test]
fn auto_clock_reads_as_wall_clock_time() {
    check("auto");
}

#[test]
fn realtime_clock_reads_as_wall_clock_time() {
    check("realtime");
}

#[test]
fn unknown_clock_is_rejected_with_the_accepted_values() {
    let err = Builder::default().set("clock", "tsc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value \"tsc\" for clock: expected auto|realtime"
    );
}
