//! Whole-file golden tests of the text and JSON formats. `ALOG_BLESS=1` rewrites the files.

use std::path::Path;

use alog_core::{Field, Level, Logger, Record, Source, Value};

const T0: i64 = 1_700_000_000_123_456_789;

fn records(log: &Logger) {
    let fields = [
        Field::new("user", "ann lee"),
        Field::new("attempt", 3i64),
        Field::new("bytes", 18_446_744_073_709_551_615u64),
        Field::new("ratio", 0.5f64),
        Field::new("inf", f64::INFINITY),
        Field::new("ok", false),
        Field {
            key: b"req",
            value: Value::Json(br#"{"method":"GET","path":"/a b"}"#),
        },
        Field {
            key: b"raw",
            value: Value::Str(b"bad \xff utf8 \"quoted\" back\\slash"),
        },
    ];
    let src = Some(Source {
        file: b"src/server.rs",
        line: 120,
        func: b"server::accept",
    });
    let msgs: [&[u8]; 6] = [
        b"service started",
        b"line one\nFORGED 2023-11-14T22:13:20.123456Z FATAL injected",
        b"tab\there, cr\rthere, nul\0, bell\x07, del\x7f",
        b"invalid utf8: \xc3\x28 \xff\xfe and valid: \xc3\xa9\xe2\x82\xac",
        b"",
        "unicode line separator \u{2028} and \u{85} next-line".as_bytes(),
    ];
    for (i, m) in msgs.iter().enumerate() {
        let level = Level::new(1 + 4 * i as i32 + (i as i32 % 2)).unwrap();
        log.write_record(&Record {
            level,
            timestamp_ns: Some(T0 + i as i64 * 1_000_000_001),
            msg: m,
            fields: &[],
            source: None,
        })
        .unwrap();
    }
    log.write_record(&Record {
        level: Level::WARN,
        timestamp_ns: Some(T0),
        msg: b"with fields",
        fields: &fields,
        source: src,
    })
    .unwrap();
}

fn check(name: &str, settings: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut b = Logger::builder().path(&path).level(Level::TRACE);
    for (k, v) in settings {
        b = b.set(k, v).unwrap();
    }
    let log = b.build().unwrap();
    records(&log);
    log.close(None).unwrap();
    let got = std::fs::read_to_string(&path).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("ALOG_BLESS").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(got, want, "{name} differs from its golden file");
    assert_eq!(got.lines().count(), 7, "one line per record");
}

#[test]
fn text_golden() {
    check("text.log", &[]);
}

#[test]
fn text_pattern_golden() {
    check(
        "pattern.log",
        &[(
            "pattern",
            "[{level}] {ts} {file}:{line} ({func}) {msg}{fields}",
        )],
    );
}

#[test]
fn json_golden() {
    check("json.log", &[("format", "json")]);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/json.log"),
    )
    .unwrap();
    for line in text.lines() {
        assert!(
            alog_core::format::json_valid(line.as_bytes()),
            "invalid JSON: {line}"
        );
    }
}

#[test]
fn json_custom_keys_golden() {
    check(
        "json-keys.log",
        &[
            ("format", "json"),
            ("json.ts_key", "@timestamp"),
            ("json.level_key", "severity"),
            ("json.msg_key", "message"),
        ],
    );
}
