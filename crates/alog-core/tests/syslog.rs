//! The syslog sink against a socket the test binds itself (the real rsyslog is exercised by
//! tests/lifecycle/test-syslog.sh): what each datagram carries, the sink's own level, format and
//! pattern, and the accounting when no daemon listens.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use alog_core::{Field, Level, Logger, Record};

/// Every datagram waiting on `server`, as text.
fn received(server: &UnixDatagram) -> Vec<String> {
    server
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = server.recv(&mut buf) {
        out.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    out
}

/// `<PRI>` and what follows `ident[pid]: `.
fn pri_and_body(d: &str) -> (String, String) {
    let pri = d[1..d.find('>').unwrap()].to_string();
    let body = d.split_once("]: ").unwrap().1.to_string();
    (pri, body)
}

#[test]
fn records_arrive_with_priority_ident_and_the_sink_own_style() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let server = UnixDatagram::bind(&sock).unwrap();
    let log = Logger::builder()
        .path(dir.path().join("app.log"))
        .level(Level::DEBUG)
        .set("syslog", sock.to_str().unwrap())
        .and_then(|b| b.set("syslog.level", "info"))
        .and_then(|b| b.set("syslog.facility", "daemon"))
        .and_then(|b| b.set("syslog.ident", "shop"))
        .and_then(|b| b.build())
        .unwrap();
    log.debug("below the sink's level");
    log.info("started");
    log.write_record(&Record {
        level: Level::ERROR,
        timestamp_ns: None,
        msg: b"payment failed",
        fields: &[Field::new("order", 42i64)],
        source: None,
    })
    .unwrap();
    log.fatal("giving up");
    log.close(None).unwrap();
    let got = received(&server);
    let pid = std::process::id();
    assert!(
        got.iter().all(|d| d.contains(&format!(" shop[{pid}]: "))),
        "{got:?}"
    );
    // daemon = 3: 3 * 8 + severity (info 6, err 3, crit 2).
    let got: Vec<_> = got.iter().map(|d| pri_and_body(d)).collect();
    let want = [
        ("30", "started"),
        ("27", "payment failed order=42"),
        ("26", "giving up"),
    ];
    assert_eq!(
        got,
        want.map(|(p, b)| (p.to_string(), b.to_string())),
        "the default pattern is {{msg}}{{fields}}"
    );
    // The file sink has everything, the DEBUG record too.
    assert_eq!(common::lines(&dir.path().join("app.log")).len(), 4);
}

#[test]
fn json_and_a_pattern_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let server = UnixDatagram::bind(&sock).unwrap();
    for (key, value, want) in [
        ("syslog.format", "json", "{\"msg\":\"hello\",\"n\":1}"),
        ("syslog.pattern", "{level}: {msg}", "INFO: hello"),
    ] {
        let log = Logger::builder()
            .set("syslog", sock.to_str().unwrap())
            .and_then(|b| b.set(key, value))
            .and_then(|b| b.build())
            .unwrap();
        log.log_fields(Level::INFO, "hello", &[Field::new("n", 1i64)])
            .unwrap();
        log.close(None).unwrap();
        let got = received(&server);
        assert_eq!(got.len(), 1, "{got:?}");
        let body = pri_and_body(&got[0]).1;
        if value == "json" {
            // The syslog daemon stamps the record: JSON lines still carry ts and level.
            assert!(body.starts_with("{\"ts\":\"") && body.contains("\"level\":\"INFO\""));
            assert!(body.ends_with(&want[1..]), "{body}");
        } else {
            assert_eq!(body, want);
        }
    }
}

#[test]
fn without_a_daemon_records_fail_for_syslog_and_the_file_still_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nobody-listens.sock");
    let log = Logger::builder()
        .path(dir.path().join("app.log"))
        .set("syslog", missing.to_str().unwrap())
        .and_then(|b| b.build())
        .unwrap();
    for i in 0..5 {
        log.info(format!("r{i}"));
    }
    log.flush(None).unwrap();
    let st = log.stats();
    assert_eq!(
        (st.submitted, st.written, st.failed, st.write_errors),
        (5, 0, 5, 5)
    );
    let err = log.last_error().unwrap();
    assert!(
        err.contains("sending to syslog at") && err.contains("nobody-listens.sock"),
        "{err}"
    );
    log.close(None).unwrap();
    assert_eq!(common::lines(&dir.path().join("app.log")).len(), 5);
}

#[test]
fn bad_settings_are_refused_with_the_key_named() {
    let e = Logger::builder()
        .set("syslog", "relative/path")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"relative/path\" for syslog: expected none, local, the absolute path \
         of a Unix datagram socket, udp://HOST:PORT, tcp://HOST:PORT or tls://HOST[:PORT]"
    );
    let e = Logger::builder()
        .set("syslog.facility", "local9")
        .unwrap_err();
    assert!(e.to_string().contains("local0|local1"), "{e}");
}
