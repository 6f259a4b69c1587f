//! The OTLP sink (`otlp=http://HOST:PORT`).
//!
//! Against a real OpenTelemetry Collector running the README's configuration (the OTLP
//! receiver and the contrib file exporter, built by `scripts/test-otlp.sh`, which sets `ALOG_OTELCOL` to the binary): exact counts
//! with each record's body, severity, attributes and `service.name` as the collector
//! understood them; hostile field names and values; a collector restart in the middle. Those
//! tests are skipped, with a note on stderr, when `ALOG_OTELCOL` is not set.
//!
//! Against a small HTTP server in the test (always run): the request's JSON as sent, a 400
//! counted failed with its status, a partial success reported, 429 and 503 retried until delivered once over connections
//! the server closes now and then, and a server that never answers holding up neither the
//! file sink nor the caller (its records dropped after `stall_timeout_ms`, counted).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alog_core::{Field, Level, Logger, Record, SinkStats, Source, Value};
use serde_json::Value as Json;

fn open(url: &str, extra: &[(&str, &str)]) -> Logger {
    let mut b = Logger::builder()
        .set("otlp", url)
        .unwrap()
        .set("otlp.service_name", "shop \"checkout\"")
        .unwrap()
        .set("level", "trace")
        .unwrap();
    for (k, v) in extra {
        b = b.set(k, v).unwrap();
    }
    b.build().unwrap()
}

fn otlp_stats(log: &Logger) -> SinkStats {
    log.sink_stats()
        .into_iter()
        .find(|s| s.name == "otlp")
        .expect("an otlp sink")
}

/// 2023-11-14T22:13:20.123456789Z, plus `i` microseconds.
const T0: i64 = 1_700_000_000_123_456_789;
const LEVELS: [Level; 6] = [
    Level::TRACE,
    Level::DEBUG,
    Level::INFO,
    Level::WARN,
    Level::ERROR,
    Level::FATAL,
];

fn numbered(log: &Logger, i: usize) {
    log.write_record(&Record {
        level: LEVELS[i % 6],
        timestamp_ns: Some(T0 + i as i64 * 1000),
        msg: format!("order {i} placed").as_bytes(),
        fields: &[
            Field::new("i", i as i64),
            Field::new("neg", -(i as i64)),
            Field::new("ratio", i as f64 / 4.0),
            Field::new("even", i % 2 == 0),
            Field::new("user", format!("u{}", i % 7).as_str()),
        ],
        source: Some(Source {
            file: b"src/shop.rs",
            line: 100 + (i % 3) as u32,
            func: b"place",
        }),
    })
    .unwrap();
}

/// An attribute list as `key -> value` pairs in order.
fn attrs(v: &Json) -> Vec<(String, Json)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|kv| {
                    // The collector leaves out an empty key; a double may print as `0`.
                    let key = kv["key"].as_str().unwrap_or("").to_string();
                    let mut value = kv["value"].clone();
                    if let Some(d) = value["doubleValue"].as_f64() {
                        value["doubleValue"] = Json::from(d);
                    }
                    (key, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that `rec` (a logRecord as JSON) is record `i` of `numbered`. The collector leaves
/// out what is empty or zero; both shapes are accepted.
fn check_numbered(rec: &Json, i: usize) {
    let want_ts = (T0 + i as i64 * 1000).to_string();
    assert_eq!(
        rec["timeUnixNano"].as_str(),
        Some(want_ts.as_str()),
        "{rec}"
    );
    assert!(rec["observedTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok_and(|t| t > 1_700_000_000_000_000_000));
    let level = LEVELS[i % 6];
    assert_eq!(rec["severityNumber"], Json::from(level.number()), "{rec}");
    assert_eq!(rec["severityText"], Json::from(level.name()));
    assert_eq!(
        rec["body"],
        serde_json::json!({"stringValue": format!("order {i} placed")})
    );
    let ratio = i as f64 / 4.0;
    let want = vec![
        (
            "code.filepath".to_string(),
            serde_json::json!({"stringValue": "src/shop.rs"}),
        ),
        (
            "code.lineno".to_string(),
            serde_json::json!({"intValue": (100 + i % 3).to_string()}),
        ),
        (
            "code.function".to_string(),
            serde_json::json!({"stringValue": "place"}),
        ),
        (
            "i".to_string(),
            serde_json::json!({"intValue": i.to_string()}),
        ),
        (
            "neg".to_string(),
            serde_json::json!({"intValue": (-(i as i64)).to_string()}),
        ),
        (
            "ratio".to_string(),
            serde_json::json!({"doubleValue": ratio}),
        ),
        (
            "even".to_string(),
            serde_json::json!({"boolValue": i % 2 == 0}),
        ),
        (
            "user".to_string(),
            serde_json::json!({"stringValue": format!("u{}", i % 7)}),
        ),
    ];
    let mut got = attrs(&rec["attributes"]);
    // The collector writes 0 as an absent member ({}), false as {} and "0" as {}.
    for (k, v) in got.iter_mut() {
        if v.as_object().is_some_and(|o| o.is_empty()) {
            *v = match k.as_str() {
                "i" | "neg" => serde_json::json!({"intValue": "0"}),
                "ratio" => serde_json::json!({"doubleValue": 0.0}),
                "even" => serde_json::json!({"boolValue": false}),
                _ => v.clone(),
            };
        }
    }
    assert_eq!(got, want, "record {i}");
}

/// Checks that `got` is records `0..n` of `numbered`, once each, in order, from our service.
fn check_all(got: &[(String, Json)], n: usize) {
    assert_eq!(got.len(), n);
    for (i, (service, rec)) in got.iter().enumerate() {
        assert_eq!(service, "shop \"checkout\"");
        check_numbered(rec, i);
    }
}

/// Every logRecord in a request (or a file exporter line), with its resource's
/// `service.name`.
fn records_of(req: &Json) -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for rl in req["resourceLogs"].as_array().unwrap() {
        let service = attrs(&rl["resource"]["attributes"])
            .into_iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v["stringValue"].as_str().unwrap().to_string())
            .unwrap_or_default();
        for sl in rl["scopeLogs"].as_array().unwrap() {
            assert_eq!(sl["scope"]["name"], "alog");
            for r in sl["logRecords"].as_array().unwrap() {
                out.push((service.clone(), r.clone()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// A small HTTP server: records each request's body and answers as the test says.

struct Request {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

/// How the server answers request `n` (from 0): status, body, and whether it closes the
/// connection after.
type Answer = dyn Fn(usize) -> (u16, &'static str, bool) + Send + Sync;

impl Server {
    fn start(answer: Box<Answer>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                conn.set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("").to_string();
                    let (mut len, mut content_type) = (0usize, String::new());
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (name, value) = h.split_once(':').unwrap();
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => len = value.trim().parse().unwrap(),
                            "content-type" => content_type = value.trim().to_string(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0u8; len];
                    r.read_exact(&mut body).unwrap();
                    let n = {
                        let mut q = reqs.lock().unwrap();
                        q.push(Request {
                            path,
                            content_type,
                            body,
                        });
                        q.len() - 1
                    };
                    let (status, text, close) = answer(n);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{text}",
                        text.len(),
                        if close { "Connection: close\r\n" } else { "" }
                    );
                    w.write_all(resp.as_bytes()).unwrap();
                    if close {
                        break;
                    }
                }
            }
        });
        Server { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[test]
fn requests_carry_the_records_as_otlp_json() {
    let server = Server::start(Box::new(|_| (200, "{}", false)));
    let log = open(&server.url(), &[]);
    const N: usize = 600;
    for i in 0..N {
        numbered(&log, i);
    }
    log.close(None).unwrap();
    let reqs = server.requests.lock().unwrap();
    let mut all = Vec::new();
    for r in reqs.iter() {
        assert_eq!(r.path, "/v1/logs");
        assert_eq!(r.content_type, "application/json");
        let req: Json = serde_json::from_slice(&r.body).expect("valid JSON");
        let res = attrs(&req["resourceLogs"][0]["resource"]["attributes"]);
        assert_eq!(
            res,
            vec![
                (
                    "service.name".to_string(),
                    serde_json::json!({"stringValue": "shop \"checkout\""})
                ),
                (
                    "process.pid".to_string(),
                    serde_json::json!({"intValue": std::process::id().to_string()})
                ),
            ]
        );
        all.extend(records_of(&req));
    }
    check_all(&all, N);
    let s = otlp_stats(&log);
    assert_eq!(
        (s.taken, s.written, s.dropped, s.failed),
        (N as u64, N as u64, 0, 0)
    );
    assert_eq!(s.target, server.url() + "/v1/logs");
    assert_eq!(
        s.bytes_written,
        reqs.iter().map(|r| r.body.len() as u64).sum::<u64>()
    );
}

#[test]
fn a_collector_answering_400_fails_the_records_with_the_status_in_last_error() {
    let server = Server::start(Box::new(|_| (400, "field \"x\" is bad\n", false)));
    let log = open(&format!("{}/custom/path", server.url()), &[]);
    for i in 0..10 {
        numbered(&log, i);
    }
    log.close(None).unwrap();
    let sent: usize = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.path, "/custom/path");
            records_of(&serde_json::from_slice(&r.body).unwrap()).len()
        })
        .sum();
    assert_eq!(sent, 10, "each record was sent once, not retried");
    let s = otlp_stats(&log);
    assert_eq!((s.taken, s.written, s.dropped, s.failed), (10, 0, 0, 10));
    let err = s.last_error.unwrap();
    assert!(
        err.contains(&format!(
            "refused: the OTLP collector {}/custom/path answered 400: field \"x\" is bad",
            server.url()
        )),
        "{err}"
    );
    let st = log.stats();
    assert_eq!((st.written, st.failed), (0, 10));
}

#[test]
fn a_partial_success_is_reported_and_the_records_count_written() {
    let server = Server::start(Box::new(|_| {
        (
            200,
            r#"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"too old"}}"#,
            false,
        )
    }));
    let log = open(&server.url(), &[]);
    for i in 0..5 {
        numbered(&log, i);
    }
    log.close(None).unwrap();
    assert_eq!(server.requests.lock().unwrap().len(), 1);
    let s = otlp_stats(&log);
    assert_eq!((s.written, s.failed, s.write_errors), (5, 0, 1));
    let err = s.last_error.unwrap();
    assert!(
        err.contains("took a request of 5 records but says it rejected 2 of them: ")
            && err.contains("too old"),
        "{err}"
    );
}

#[test]
fn busy_answers_are_retried_until_delivered_once() {
    // 503, 429, 503 (closing the connection), then 200 for everything, closing every third.
    let server = Server::start(Box::new(|n| match n {
        0 => (503, "busy", false),
        1 => (429, "slow down", false),
        2 => (503, "", true),
        n => (200, "{}", n % 3 == 0),
    }));
    let log = open(&server.url(), &[("stall_timeout_ms", "60000")]);
    const N: usize = 3000;
    for i in 0..N {
        numbered(&log, i);
        if i % 500 == 0 {
            log.flush(Some(Duration::from_secs(20))).unwrap();
        }
    }
    log.close(None).unwrap();
    let reqs = server.requests.lock().unwrap();
    let mut got = Vec::new();
    for r in reqs.iter().skip(3) {
        got.extend(records_of(&serde_json::from_slice(&r.body).unwrap()));
    }
    // The refused request went again whole, and nothing went twice.
    check_all(&got, N);
    assert_eq!(
        reqs[0].body, reqs[3].body,
        "the same request is sent again after 503, 429, 503"
    );
    let s = otlp_stats(&log);
    assert_eq!((s.written, s.dropped, s.failed), (N as u64, 0, 0));
    assert_eq!(s.write_errors, 3, "{s:?}");
    let err = s.last_error.unwrap();
    assert!(err.contains("answered 503; retrying in"), "{err}");
}

#[test]
fn a_collector_that_never_answers_holds_up_neither_the_file_nor_the_caller() {
    // Accepts connections and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 65536];
            while conn.read(&mut buf).unwrap_or(0) == 65536 {}
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    let log = Logger::builder()
        .path(&file)
        .set("otlp", &format!("http://127.0.0.1:{port}"))
        .unwrap()
        .set("stall_timeout_ms", "3000")
        .unwrap()
        .set("level", "trace")
        .unwrap()
        .build()
        .unwrap();
    const N: usize = 1000;
    let start = Instant::now();
    for i in 0..N {
        numbered(&log, i);
    }
    // The file gets every record while the collector sits on its request.
    let lines = loop {
        let n = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .count();
        if n == N || start.elapsed() > Duration::from_secs(10) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(lines, N);
    let s = otlp_stats(&log);
    assert!(
        start.elapsed() < Duration::from_millis(2500) && s.written == 0 && s.backlog > 0,
        "{:?} {s:?}",
        start.elapsed()
    );
    // After stall_timeout_ms the lane drops what waited, counted, and close returns.
    log.close(None).unwrap();
    let s = otlp_stats(&log);
    assert_eq!(
        (s.taken, s.written, s.dropped, s.failed),
        (N as u64, 0, N as u64, 0)
    );
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .starts_with("sink otlp took nothing for 3000 ms: dropped"),
        "{s:?}"
    );
    let st = log.stats();
    assert_eq!((st.written, st.dropped, st.failed), (0, N as u64, 0));
}

#[test]
fn bad_collector_urls_are_refused_naming_the_value() {
    for (value, why) in [
        ("https://collector:4318", "alog does not speak TLS"),
        ("grpc://collector:4317", "unknown scheme grpc"),
        ("http://collector", "no :PORT"),
        ("http://:4318", "no host"),
        ("http://collector:0", "port 0 is not 1..65535"),
        (
            "http://collector:4318/v1 logs",
            "is not a plain request path",
        ),
        ("collector:4318", "expected none or http://HOST:PORT[/PATH]"),
    ] {
        let e = Logger::builder()
            .set("otlp", value)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("{value:?} for otlp")), "{e}");
        assert!(e.contains(why), "{value}: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// A real OpenTelemetry Collector.

fn otelcol() -> Option<PathBuf> {
    std::env::var_os("ALOG_OTELCOL").map(PathBuf::from)
}

macro_rules! need_otelcol {
    () => {
        match otelcol() {
            Some(p) => p,
            None => {
                eprintln!(
                    "SKIPPED: ALOG_OTELCOL is not set (scripts/test-otlp.sh builds an \
                     OpenTelemetry Collector and sets it)"
                );
                return;
            }
        }
    };
}

struct Collector {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    runs: usize,
    child: Option<Child>,
}

impl Collector {
    fn new(bin: PathBuf) -> Collector {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Collector {
            bin,
            dir: tempfile::tempdir().unwrap(),
            port,
            runs: 0,
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the collector (each run writes its own file) and waits until it listens.
    fn start(&mut self) {
        self.runs += 1;
        let out = self.dir.path().join(format!("out-{}.json", self.runs));
        let config = self.dir.path().join(format!("config-{}.yaml", self.runs));
        // The README's configuration: only the port and the output file differ.
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        let conf = readme
            .split("<!-- readme: otelcol config -->\n```yaml\n")
            .nth(1)
            .expect("the README's collector configuration")
            .split("\n```")
            .next()
            .unwrap()
            .replace("127.0.0.1:4318", &format!("127.0.0.1:{}", self.port))
            .replace("/var/log/otel/alog.json", out.to_str().unwrap());
        assert!(
            conf.contains(&format!("endpoint: 127.0.0.1:{}", self.port)),
            "{conf}"
        );
        assert!(conf.contains(out.to_str().unwrap()), "{conf}");
        std::fs::write(&config, conf).unwrap();
        let log =
            std::fs::File::create(self.dir.path().join(format!("log-{}", self.runs))).unwrap();
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the collector");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the collector exited ({st}): {}", self.output());
            }
            assert!(Instant::now() < deadline, "the collector did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and wait until it is gone (it answers what it read, writes its file, closes).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            c.wait().unwrap();
        }
    }

    fn output(&self) -> String {
        (1..=self.runs)
            .map(|k| {
                std::fs::read_to_string(self.dir.path().join(format!("log-{k}")))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Every record in the exporter's files, in order.
    fn received(&self) -> Vec<(String, Json)> {
        let mut out = Vec::new();
        for k in 1..=self.runs {
            let text = std::fs::read_to_string(self.dir.path().join(format!("out-{k}.json")))
                .unwrap_or_default();
            // A line still being written has no newline yet.
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            for line in complete.lines().filter(|l| !l.is_empty()) {
                let req: Json = serde_json::from_str(line).expect("the exporter writes JSON");
                out.extend(records_of(&req));
            }
        }
        out
    }

    /// Waits until `n` records arrived (and a little longer, for any extra).
    fn wait_for(&self, n: usize) -> Vec<(String, Json)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                std::thread::sleep(Duration::from_millis(300));
                return self.received();
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} records arrived; collector: {}",
                got.len(),
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn the_collector_receives_5000_records_exactly() {
    let bin = need_otelcol!();
    let mut col = Collector::new(bin);
    col.start();
    let log = open(&col.url(), &[]);
    const N: usize = 5000;
    for i in 0..N {
        numbered(&log, i);
    }
    log.close(None).unwrap();
    check_all(&col.wait_for(N), N);
    let s = otlp_stats(&log);
    assert_eq!(
        (s.taken, s.written, s.dropped, s.failed),
        (N as u64, N as u64, 0, 0)
    );
    let st = log.stats();
    assert_eq!(
        (st.submitted, st.written, st.dropped, st.failed),
        (N as u64, N as u64, 0, 0)
    );
}

#[test]
fn hostile_field_names_and_values_round_trip_through_the_collector() {
    let bin = need_otelcol!();
    let mut col = Collector::new(bin);
    col.start();
    let log = open(&col.url(), &[]);
    let fields = [
        Field::new("q\"uote", "a\"b"),
        Field::new("back\\slash", "c\\d"),
        Field::new("nl\nkey", "line1\nline2\ttab\r"),
        Field::new("ключ", "значение ü 🎉"),
        Field::new("", "empty name"),
        Field {
            key: b"bad\xffutf8",
            value: Value::Str(b"x\xfey"),
        },
        Field::new("ctl", "\u{1}\u{7f}\u{85}\u{2028}\u{202e}"),
        Field::new("json", "{\"a\":[1,2]}"),
        Field::new("big", u64::MAX),
        Field::new("min", i64::MIN),
        Field::new("nan", f64::NAN),
        Field::new("inf", f64::NEG_INFINITY),
        Field::new("dup", 1i64),
        Field::new("dup", 2i64),
        Field::new("code.lineno", "a field named like the source"),
    ];
    log.write_record(&Record {
        level: Level::new(14).unwrap(),
        timestamp_ns: None,
        msg: b"he said \"hi\"\n\\ }]} \xff done",
        fields: &fields,
        source: Some(Source {
            file: b"src/\"odd\".rs",
            line: 7,
            func: b"f\n",
        }),
    })
    .unwrap();
    log.close(None).unwrap();
    let got = col.wait_for(1);
    assert_eq!(got.len(), 1);
    let rec = &got[0].1;
    assert_eq!(rec["severityNumber"], 14);
    assert_eq!(rec["severityText"], "WARN2");
    // Stamped when logged, observed when the writer formatted it.
    let ts = |k: &str| rec[k].as_str().unwrap().parse::<u64>().unwrap();
    assert!(ts("timeUnixNano") <= ts("observedTimeUnixNano"), "{rec}");
    assert_eq!(
        rec["body"]["stringValue"],
        "he said \"hi\"\n\\ }]} \u{fffd} done"
    );
    let s = |v: &str| serde_json::json!({ "stringValue": v });
    let want = vec![
        ("code.filepath", s("src/\"odd\".rs")),
        ("code.lineno", serde_json::json!({"intValue": "7"})),
        ("code.function", s("f\n")),
        ("q\"uote", s("a\"b")),
        ("back\\slash", s("c\\d")),
        ("nl\nkey", s("line1\nline2\ttab\r")),
        ("ключ", s("значение ü 🎉")),
        ("", s("empty name")),
        ("bad\u{fffd}utf8", s("x\u{fffd}y")),
        ("ctl", s("\u{1}\u{7f}\u{85}\u{2028}\u{202e}")),
        ("json", s("{\"a\":[1,2]}")),
        ("big", s("18446744073709551615")),
        ("min", serde_json::json!({"intValue": i64::MIN.to_string()})),
        ("nan", serde_json::json!({"doubleValue": "NaN"})),
        ("inf", serde_json::json!({"doubleValue": "-Infinity"})),
        ("dup", serde_json::json!({"intValue": "1"})),
        ("dup#2", serde_json::json!({"intValue": "2"})),
        ("fields.code.lineno", s("a field named like the source")),
    ];
    let want: Vec<(String, Json)> = want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(attrs(&rec["attributes"]), want);
    assert_eq!(otlp_stats(&log).written, 1);
}

/// Polls until the OTLP sink has taken `n` records (they are in its lane or beyond).
fn wait_taken(log: &Logger, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while otlp_stats(log).taken < n {
        assert!(Instant::now() < deadline, "{:?}", otlp_stats(log));
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_collector_restart_delays_records_without_losing_or_repeating_them() {
    let bin = need_otelcol!();
    let mut col = Collector::new(bin);
    // Nobody listens yet: the records wait in the lane.
    let log = open(&col.url(), &[("stall_timeout_ms", "60000")]);
    for i in 0..100 {
        numbered(&log, i);
    }
    wait_taken(&log, 100);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(otlp_stats(&log).backlog, 100);
    col.start();
    for i in 100..1000 {
        numbered(&log, i);
    }
    log.flush(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(col.wait_for(1000).len(), 1000);

    // The collector goes away; 2000 records wait for it and arrive when it is back.
    col.stop();
    for i in 1000..3000 {
        numbered(&log, i);
    }
    wait_taken(&log, 3000);
    std::thread::sleep(Duration::from_millis(300));
    assert!(otlp_stats(&log).backlog > 0);
    col.start();
    log.close(None).unwrap();
    check_all(&col.wait_for(3000), 3000);
    let s = otlp_stats(&log);
    assert_eq!((s.written, s.dropped, s.failed), (3000, 0, 0));
    assert!(
        s.write_errors >= 2,
        "refused connections are counted: {s:?}"
    );
    let err = s.last_error.unwrap_or_default();
    assert!(
        err.contains("cannot connect to the OTLP collector"),
        "{err}"
    );
    let st = log.stats();
    assert_eq!((st.written, st.dropped, st.failed), (3000, 0, 0));
}

#[test]
fn records_the_lane_cannot_hold_while_the_collector_is_away_are_counted_dropped() {
    let bin = need_otelcol!();
    let mut col = Collector::new(bin);
    col.start();
    let log = open(
        &col.url(),
        &[("stall_timeout_ms", "60000"), ("otlp.backlog", "64k")],
    );
    for i in 0..10 {
        numbered(&log, i);
    }
    log.flush(Some(Duration::from_secs(20))).unwrap();
    col.wait_for(10);
    col.stop();
    const N: usize = 2000;
    for i in 10..10 + N {
        numbered(&log, i);
    }
    wait_taken(&log, (10 + N) as u64);
    col.start();
    log.close(None).unwrap();
    let s = otlp_stats(&log);
    assert!(s.dropped > 0 && s.dropped < N as u64, "{s:?}");
    let kept = 10 + N - s.dropped as usize;
    let got = col.wait_for(kept);
    // The backlog keeps the oldest records that fit; what arrived is exactly the rest.
    check_all(&got, kept);
    assert_eq!((s.written, s.failed), (kept as u64, 0));
    let st = log.stats();
    assert_eq!(
        (st.written, st.dropped, st.failed),
        (kept as u64, s.dropped, 0)
    );
}
