//! The network syslog sink (`syslog=tcp://HOST:PORT`, `udp://HOST:PORT`, `tls://HOST:PORT`) against Debian's
//! rsyslogd, started by each test with a private configuration (imtcp and imudp on free
//! loopback ports, a private work folder; the system's rsyslog and /dev/log are not touched).
//! rsyslog parses every RFC 5424 message and writes its fields (protocol version, priority,
//! timestamp, hostname, app-name, procid, msgid, structured data, message) one line per
//! message, so the tests check what a real receiver understood: exact counts and order over
//! TCP and UDP, the header fields, hostile structured data, and a receiver restart with the
//! accounting of what it could not get. With the `tls` feature (on in `cargo test
//! --workspace`), the same over TLS to imtcp's `ossl` driver (see `mod tls`).
//!
//! Skipped, with a note on stderr, when rsyslogd is not installed (`scripts/prereqs.sh`
//! installs it, so CI never skips).

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alog_core::{Field, Level, Logger, Record, SinkStats, Source, Value};

fn rsyslogd() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("rsyslogd"))
        .find(|p| p.is_file())
}

macro_rules! need_rsyslogd {
    () => {
        match rsyslogd() {
            Some(p) => p,
            None => {
                eprintln!(
                    "SKIPPED: rsyslogd is not installed (apt-get install rsyslog; \
                     scripts/prereqs.sh installs it)"
                );
                return;
            }
        }
    };
}

/// A free loopback port (TCP or UDP).
fn free_port(udp: bool) -> u16 {
    if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// One message as rsyslog parsed it.
#[derive(Clone, Debug, PartialEq)]
struct Got {
    input: String,
    version: String,
    pri: u32,
    ts: String,
    host: String,
    app: String,
    procid: String,
    msgid: String,
    sd: String,
    msg: String,
}

impl Got {
    /// The message as it was on the wire (valid for what rsyslog keeps as it came).
    fn wire(&self) -> String {
        format!(
            "<{}>{} {} {} {} {} {} {} {}",
            self.pri,
            self.version,
            self.ts,
            self.host,
            self.app,
            self.procid,
            self.msgid,
            self.sd,
            self.msg
        )
    }
}

/// Undoes rsyslog's `:::json` escaping.
fn unjson(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next().expect("complete escape") {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = it.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => out.push(other),
        }
    }
    out
}

struct Rsyslog {
    bin: PathBuf,
    dir: tempfile::TempDir,
    tcp: u16,
    udp: u16,
    child: Option<Child>,
}

/// The output of the tests' configurations: each message's parsed fields, tab-separated, one
/// line each in `received.log` of the folder `d` (see `Rsyslog::received`).
fn fields_output(d: &Path) -> String {
    format!(
        r#"template(name="fields" type="string"
  string="%inputname%\t%protocol-version%\t%pri%\t%timereported:::date-rfc3339%\t%hostname%\t%app-name%\t%procid%\t%msgid%\t%structured-data:::json%\t%msg:::json%\n")
action(type="omfile" file="{out}" template="fields")
"#,
        out = d.join("received.log").display(),
    )
}

impl Rsyslog {
    /// Writes the test's configuration; `start` runs the daemon.
    fn new(bin: PathBuf) -> Rsyslog {
        Rsyslog::with_config(bin, |d, tcp, udp| {
            format!(
                r#"module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
input(type="imudp" port="{udp}" address="127.0.0.1")
{fields}"#,
                fields = fields_output(d),
            )
        })
    }

    /// `config(folder, tcp port, udp port)` makes the configuration, after a `global()` line
    /// that gives the daemon a private work folder.
    fn with_config(bin: PathBuf, config: impl Fn(&Path, u16, u16) -> String) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let (tcp, udp) = (free_port(false), free_port(true));
        let d = dir.path();
        std::fs::create_dir(d.join("work")).unwrap();
        let conf = format!(
            "global(workDirectory=\"{}\" net.enableDNS=\"off\")\n{}",
            d.join("work").display(),
            config(d, tcp, udp)
        );
        std::fs::write(d.join("rsyslog.conf"), conf).unwrap();
        Rsyslog {
            bin,
            dir,
            tcp,
            udp,
            child: None,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start(&mut self) {
        let err = std::fs::File::create(self.path("rsyslogd.err")).unwrap();
        let _ = std::fs::remove_file(self.path("rsyslogd.pid"));
        let child = Command::new(&self.bin)
            .arg("-n")
            .arg("-f")
            .arg(self.path("rsyslog.conf"))
            .arg("-i")
            .arg(self.path("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        let conf = std::fs::read_to_string(self.path("rsyslog.conf")).unwrap();
        let udp = conf.contains("imudp");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let tcp_up = TcpStream::connect(("127.0.0.1", self.tcp)).is_ok();
            if tcp_up && (!udp || udp_bound(self.udp)) {
                return;
            }
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("rsyslogd exited ({st}): {}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd does not listen on {} and {}: {}",
                self.tcp,
                self.udp,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and wait until it is gone (it closes its connections on the way out).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            c.wait().unwrap();
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.path("rsyslogd.err")).unwrap_or_default()
    }

    fn received(&self) -> Vec<Got> {
        let mut text = std::fs::read_to_string(self.path("received.log")).unwrap_or_default();
        // A line rsyslog is still writing is not there yet.
        text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 10, "{l:?}");
                Got {
                    input: f[0].into(),
                    version: f[1].into(),
                    pri: f[2].parse().unwrap(),
                    ts: f[3].into(),
                    host: f[4].into(),
                    app: f[5].into(),
                    procid: f[6].into(),
                    msgid: f[7].into(),
                    sd: unjson(f[8]),
                    msg: unjson(f[9]),
                }
            })
            .collect()
    }

    /// Waits until `n` messages arrived (then a little longer: a duplicate would come late).
    fn wait_for(&self, n: usize) -> Vec<Got> {
        self.wait_until(n);
        std::thread::sleep(Duration::from_millis(300));
        self.received()
    }

    /// Waits until `n` messages arrived.
    fn wait_until(&self, n: usize) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "rsyslog received {} of {n} messages; its stderr: {}",
                    got.len(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether a UDP socket is bound to 127.0.0.1:`port` or 0.0.0.0:`port` (/proc/net/udp).
fn udp_bound(port: u16) -> bool {
    let want = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| want.iter().any(|w| w == a))
        })
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 0);
    let n = buf.iter().position(|&b| b == 0).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// RFC 3339 with microseconds and the local offset, as the sink must write `ns`.
fn local_rfc3339(ns: i64) -> String {
    let sec = ns.div_euclid(1_000_000_000);
    let us = ns.rem_euclid(1_000_000_000) / 1000;
    // SAFETY: plain data filled by localtime_r.
    let tm = unsafe {
        let t = sec as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        assert!(!libc::localtime_r(&t, &mut tm).is_null());
        tm
    };
    let off = tm.tm_gmtoff / 60;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{us:06}{}{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        if off < 0 { '-' } else { '+' },
        off.abs() / 60,
        off.abs() % 60
    )
}

fn open(url: &str, extra: &[(&str, &str)]) -> Logger {
    let mut b = Logger::builder()
        .set("syslog", url)
        .unwrap()
        .set("syslog.ident", "alogtest")
        .unwrap()
        .set("syslog.facility", "local3")
        .unwrap();
    for (k, v) in extra {
        b = b.set(k, v).unwrap();
    }
    b.build().unwrap()
}

fn syslog_stats(log: &Logger) -> SinkStats {
    log.sink_stats()
        .into_iter()
        .find(|s| s.name == "syslog")
        .expect("a syslog sink")
}

/// 2023-11-14T22:13:20.123456789Z, plus `i` milliseconds.
const T0: i64 = 1_700_000_000_123_456_789;

fn numbered(log: &Logger, i: usize) {
    let levels = [Level::INFO, Level::WARN, Level::ERROR, Level::FATAL];
    log.write_record(&Record {
        level: levels[i % 4],
        timestamp_ns: Some(T0 + i as i64 * 1_000_000),
        msg: format!("r{i}").as_bytes(),
        fields: &[Field::new("i", i as i64)],
        source: None,
    })
    .unwrap();
}

/// Checks that `got` is records `from..from + got.len()` of `numbered`, each with the whole
/// RFC 5424 header, in order.
fn check_numbered(got: &[Got], from: usize, input: &str) {
    let pid = std::process::id().to_string();
    let host = hostname();
    // local3 = 19; info 6, warning 4, err 3, crit 2.
    let pris = [19 * 8 + 6, 19 * 8 + 4, 19 * 8 + 3, 19 * 8 + 2];
    for (k, g) in got.iter().enumerate() {
        let i = from + k;
        let want = Got {
            input: input.into(),
            version: "1".into(),
            pri: pris[i % 4],
            ts: local_rfc3339(T0 + i as i64 * 1_000_000),
            host: host.clone(),
            app: "alogtest".into(),
            procid: pid.clone(),
            msgid: "-".into(),
            sd: format!("[alog@32473 i=\"{i}\"]"),
            msg: format!("r{i}"),
        };
        assert_eq!(*g, want, "message {k}");
    }
}

#[test]
fn tcp_delivers_10000_records_once_in_order_with_the_rfc5424_header() {
    let bin = need_rsyslogd!();
    let mut rs = Rsyslog::new(bin);
    rs.start();
    let log = open(&format!("tcp://127.0.0.1:{}", rs.tcp), &[]);
    let s = deliver_in_order(log, &rs, 10_000);
    assert_eq!(
        s.target,
        format!("syslog at tcp://127.0.0.1:{}", rs.tcp),
        "the sink names its receiver"
    );
}

/// Logs `n` records of `numbered` and closes: rsyslog gets each once, in order, with its
/// header, and the accounting says so. Returns the syslog sink's statistics.
fn deliver_in_order(log: Logger, rs: &Rsyslog, n: usize) -> SinkStats {
    for i in 0..n {
        numbered(&log, i);
    }
    log.close(None).unwrap();
    let got = rs.wait_for(n);
    assert_eq!(got.len(), n);
    check_numbered(&got, 0, "imtcp");
    let st = log.stats();
    assert_eq!(
        (st.submitted, st.written, st.dropped, st.failed),
        (n as u64, n as u64, 0, 0)
    );
    let s = syslog_stats(&log);
    assert_eq!(
        (s.taken, s.written, s.dropped, s.failed),
        (n as u64, n as u64, 0, 0)
    );
    s
}

#[test]
fn udp_delivers_each_record_as_one_datagram_and_cuts_oversized_ones_at_8096_bytes() {
    let bin = need_rsyslogd!();
    let mut rs = Rsyslog::new(bin);
    rs.start();
    let log = open(&format!("udp://127.0.0.1:{}", rs.udp), &[]);
    // Loopback UDP loses nothing while the receiver's buffer has room: 50 at a time.
    const N: usize = 2000;
    for i in 0..N {
        numbered(&log, i);
        if i % 50 == 49 {
            log.flush(None).unwrap();
            rs.wait_until(i + 1);
        }
    }
    let got = rs.wait_for(N);
    assert_eq!(got.len(), N);
    check_numbered(&got, 0, "imudp");

    // 9000 bytes of message, multi-byte characters at the cut: the datagram is cut to 8096
    // bytes at a character boundary and counted.
    let big: String = "ü".repeat(4500);
    log.log(Level::INFO, &big).unwrap();
    log.flush(None).unwrap();
    let got = rs.wait_for(N + 1);
    assert_eq!(got.len(), N + 1);
    let last = &got[N];
    assert!(
        big.starts_with(&last.msg),
        "a prefix of the message arrives"
    );
    let wire = last.wire();
    assert!(
        (8095..=8096).contains(&wire.len()),
        "cut to 8096 bytes at a character boundary: {}",
        wire.len()
    );
    let s = syslog_stats(&log);
    assert_eq!(
        (s.taken, s.written, s.dropped, s.failed, s.write_errors),
        (N as u64 + 1, N as u64 + 1, 0, 0, 1),
        "the cut record is written and its cut counted as a write error"
    );
    let err = log.last_error().unwrap();
    assert!(
        err.contains(&format!(
            "cut to {} bytes: a datagram to udp://127.0.0.1:{} carries at most 8096",
            wire.len(),
            rs.udp
        )),
        "{err}"
    );
    log.close(None).unwrap();
}

#[test]
fn hostile_field_names_and_values_stay_inside_their_structured_data_parameters() {
    let bin = need_rsyslogd!();
    let mut rs = Rsyslog::new(bin);
    rs.start();
    let log = open(&format!("tcp://127.0.0.1:{}", rs.tcp), &[]);
    let long = "n".repeat(40);
    let fields = [
        Field::new("q\"uote", "a\"b"),
        Field::new("back\\slash", "c\\d"),
        Field::new("br]acket", "e]f"),
        Field::new("eq=ual", "g=h"),
        Field::new("sp ace", "i j"),
        Field::new("ключ", "значение ü"),
        Field::new(&long, "long name"),
        Field::new("", "empty name"),
        Field::new("pct%", "50%"),
        Field::new("nl", "line1\nline2\ttab"),
        Field {
            key: b"bad\xffutf8",
            value: Value::Str(b"x\xfey"),
        },
        Field::new("n", -7i64),
        Field::new("f", 1.5f64),
        Field::new("b", true),
        Field::new("source", "a field named source"),
        Field::new("msgid", "ORDER42"),
    ];
    log.write_record(&Record {
        level: Level::INFO,
        timestamp_ns: None,
        msg: b"he said \"hi\" ] \\ [x=\"y\"] done",
        fields: &fields,
        source: Some(Source {
            file: b"src/app.rs",
            line: 42,
            func: b"main",
        }),
    })
    .unwrap();
    // An msgid that RFC 5424 cannot carry stays in the structured data.
    log.log_fields(Level::INFO, "second", &[Field::new("msgid", "has space")])
        .unwrap();
    log.info("no fields");
    log.close(None).unwrap();
    let got = rs.wait_for(3);
    assert_eq!(got.len(), 3, "{got:?}");
    let sd = concat!(
        r#"[alog@32473 source="src/app.rs:42" func="main" "#,
        r#"q%22uote="a\"b" back\slash="c\\d" br%5Dacket="e\]f" eq%3Dual="g=h" "#,
        r#"sp%20ace="i j" %D0%BA%D0%BB%D1%8E%D1%87="значение ü" "#,
        r#"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn="long name" _="empty name" pct%25="50%" "#,
        r#"nl="line1\\nline2\\ttab" bad%FFutf8="x\\xfey" n="-7" f="1.5" b="true" "#,
        r#"fields.source="a field named source"]"#
    );
    assert_eq!(got[0].sd, sd);
    assert_eq!(got[0].msgid, "ORDER42");
    assert_eq!(got[0].msg, "he said \"hi\" ] \\ [x=\"y\"] done");
    assert_eq!(
        (
            got[1].msgid.as_str(),
            got[1].sd.as_str(),
            got[1].msg.as_str()
        ),
        ("-", r#"[alog@32473 msgid="has space"]"#, "second")
    );
    assert_eq!(
        (
            got[2].msgid.as_str(),
            got[2].sd.as_str(),
            got[2].msg.as_str()
        ),
        ("-", "-", "no fields")
    );
}

/// Polls until the syslog sink has taken `n` records (they are in its lane or beyond).
fn wait_taken(log: &Logger, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while syslog_stats(log).taken < n {
        assert!(Instant::now() < deadline, "{:?}", syslog_stats(log));
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn tcp_rides_out_a_receiver_restart_and_a_late_start_without_loss() {
    let bin = need_rsyslogd!();
    let mut rs = Rsyslog::new(bin);
    // A name, resolved when the logger opens (each address it has is tried in turn).
    let log = open(
        &format!("tcp://localhost:{}", rs.tcp),
        &[("stall_timeout_ms", "60000")],
    );
    // Nobody listens yet: the records wait in the lane.
    for i in 0..100 {
        numbered(&log, i);
    }
    wait_taken(&log, 100);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(syslog_stats(&log).backlog, 100);
    rs.start();
    log.flush(Some(Duration::from_secs(20))).unwrap();
    for i in 100..500 {
        numbered(&log, i);
    }
    log.flush(Some(Duration::from_secs(20))).unwrap();
    check_numbered(&rs.wait_for(500), 0, "imtcp");
    let s = restart_in_the_middle(log, &mut rs, 500);
    assert!(
        s.write_errors >= 2,
        "refused connections are counted: {s:?}"
    );
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("syslog receiver"),
        "{s:?}"
    );
}

/// `done` records of `numbered` were delivered: the receiver goes away, 1000 more wait for it
/// and arrive when it is back; then the logger closes. Checks that rsyslog got every record
/// once, in order, and the accounting; returns the syslog sink's statistics.
fn restart_in_the_middle(log: Logger, rs: &mut Rsyslog, done: usize) -> SinkStats {
    rs.stop();
    let n = done + 1000;
    for i in done..n {
        numbered(&log, i);
    }
    wait_taken(&log, n as u64);
    std::thread::sleep(Duration::from_millis(300));
    assert!(syslog_stats(&log).backlog > 0);
    rs.start();
    log.close(None).unwrap();
    let got = rs.wait_for(n);
    assert_eq!(got.len(), n);
    check_numbered(&got, 0, "imtcp");
    let st = log.stats();
    assert_eq!((st.written, st.dropped, st.failed), (n as u64, 0, 0));
    let s = syslog_stats(&log);
    assert_eq!((s.written, s.dropped, s.failed), (n as u64, 0, 0));
    s
}

#[test]
fn tcp_drops_exactly_what_the_backlog_cannot_hold_while_the_receiver_is_away() {
    let bin = need_rsyslogd!();
    let mut rs = Rsyslog::new(bin);
    rs.start();
    let log = open(
        &format!("tcp://127.0.0.1:{}", rs.tcp),
        &[("stall_timeout_ms", "60000"), ("syslog.backlog", "16k")],
    );
    for i in 0..10 {
        numbered(&log, i);
    }
    log.flush(Some(Duration::from_secs(20))).unwrap();
    rs.wait_for(10);
    rs.stop();
    const N: usize = 1000;
    for i in 10..10 + N {
        numbered(&log, i);
    }
    wait_taken(&log, 10 + N as u64);
    rs.start();
    log.close(None).unwrap();
    let s = syslog_stats(&log);
    assert!(s.dropped > 0 && s.dropped < N as u64, "{s:?}");
    let kept = 10 + N - s.dropped as usize;
    let got = rs.wait_for(kept);
    // The backlog keeps the oldest records that fit; the rest are dropped and counted.
    assert_eq!(got.len(), kept);
    check_numbered(&got, 0, "imtcp");
    let st = log.stats();
    assert_eq!(
        (st.written, st.dropped, st.failed),
        (kept as u64, s.dropped, 0)
    );
    assert_eq!((s.written, s.failed), (kept as u64, 0));
}

#[test]
fn bad_receiver_urls_are_refused_naming_the_value() {
    for (value, why) in [
        ("tcp://", "no host"),
        ("udp://host", "no :PORT"),
        ("tcp://host:", "no :PORT"),
        ("tcp://host:0", "port 0 is not 1..65535"),
        ("tcp://host:65536", "port 65536 is not 1..65535"),
        ("tcp://host:http", "port http is not 1..65535"),
        ("tcp://[::1:514", "unclosed ["),
        (
            "tcp://::1:514",
            "an IPv6 address is written in brackets: [::1]",
        ),
        ("tcp://host:514/path", "port 514/path is not 1..65535"),
        (
            "tls://host:",
            if cfg!(feature = "tls") {
                "no :PORT"
            } else {
                "this build of alog has no TLS (alog-core is built without its `tls` feature)"
            },
        ),
        ("http://host:514", "unknown scheme http"),
    ] {
        let e = Logger::builder().set("syslog", value).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "invalid value {value:?} for syslog: {why} (expected none, local, the absolute \
                 path of a Unix datagram socket, udp://HOST:PORT, tcp://HOST:PORT or \
                 tls://HOST[:PORT])"
            )
        );
    }
    for ok in [
        "tcp://[::1]:514",
        "udp://127.0.0.1:514",
        "tcp://logs.example.com:6514",
    ] {
        Logger::builder().set("syslog", ok).unwrap();
    }
    if cfg!(feature = "tls") {
        // tls:// without a port: RFC 5425's 6514.
        for (value, shown) in [
            ("tls://logs.example.com", "tls://logs.example.com:6514"),
            ("tls://[::1]", "tls://[::1]:6514"),
            ("tls://10.0.0.1:10514", "tls://10.0.0.1:10514"),
        ] {
            let mut b = Logger::builder().set("syslog", value).unwrap();
            let addr = b.config_mut().syslog.as_ref().unwrap().to_string();
            assert_eq!(addr, shown);
        }
    }
    // A name that does not resolve fails the open, naming it.
    let e = Logger::builder()
        .set("syslog", "tcp://no-such-host.invalid:514")
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot resolve the syslog receiver tcp://no-such-host.invalid:514"),
        "{e}"
    );
}

#[test]
fn ipv6_receivers_are_reached_in_brackets() {
    // No rsyslog needed: a listener of the test's own on ::1 (skipped without IPv6).
    let Ok(server) = TcpListener::bind("[::1]:0") else {
        eprintln!("SKIPPED: no IPv6 loopback");
        return;
    };
    let port = server.local_addr().unwrap().port();
    let log = open(&format!("tcp://[::1]:{port}"), &[]);
    log.log_fields(Level::WARN, "over v6", &[Field::new("k", "v")])
        .unwrap();
    log.close(None).unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    while !bytes.ends_with(b"over v6") {
        let n = std::io::Read::read(&mut conn, &mut buf).expect("the record arrives");
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&bytes));
        bytes.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(bytes).unwrap();
    // LEN SP MSG, the length in bytes of MSG.
    let (len, msg) = text.split_once(' ').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), msg.len(), "{text:?}");
    assert!(msg.starts_with(&format!("<{}>1 ", 19 * 8 + 4)), "{msg}");
    assert!(
        msg.ends_with(&format!(
            " {} alogtest {} - [alog@32473 k=\"v\"] over v6",
            hostname(),
            std::process::id()
        )),
        "{msg}"
    );
}

#[test]
fn the_readme_rsyslog_configuration_receives_tcp_and_udp() {
    let bin = need_rsyslogd!();
    let block = readme_block("rsyslog receiver", "");
    let mut rs = Rsyslog::with_config(bin, |d, tcp, udp| {
        // Only the ports and the output file differ from what the README shows.
        let conf = block
            .replace(
                r#"input(type="imtcp" port="514""#,
                &format!(r#"input(type="imtcp" port="{tcp}""#),
            )
            .replace(
                r#"input(type="imudp" port="514""#,
                &format!(r#"input(type="imudp" port="{udp}""#),
            )
            .replace(
                "/var/log/alog-received.log",
                d.join("received.log").to_str().unwrap(),
            );
        assert_eq!(conf.matches("port=\"514\"").count(), 0, "{conf}");
        conf
    });
    rs.start();
    for (url, n) in [
        (format!("tcp://127.0.0.1:{}", rs.tcp), 1),
        (format!("udp://127.0.0.1:{}", rs.udp), 2),
    ] {
        let log = Logger::builder()
            .set("syslog", &url)
            .unwrap()
            .set("syslog.ident", "shop")
            .unwrap()
            .build()
            .unwrap();
        the_readme_record_arrives(log, &rs, n);
    }
}

/// The block after `<!-- readme: NAME -->` in the README (```LANG).
fn readme_block(name: &str, lang: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    readme
        .split(&format!("<!-- readme: {name} -->\n```{lang}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("the README's {name} block"))
        .split("\n```")
        .next()
        .unwrap()
        .to_string()
}

/// Sends the README's example record through `log` (then closes it) and checks that it is
/// line `n` of what the README's receiver configuration wrote, as the README shows it.
fn the_readme_record_arrives(log: Logger, rs: &Rsyslog, n: usize) {
    let what = syslog_stats(&log).target;
    log.write_record(&Record {
        level: Level::WARN,
        timestamp_ns: Some(T0),
        msg: b"slow request",
        fields: &[Field::new("user", "ann"), Field::new("ms", 1250i64)],
        source: None,
    })
    .unwrap();
    log.close(None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let text = std::fs::read_to_string(rs.path("received.log")).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        if lines.len() >= n && text.ends_with('\n') {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {text:?} {}",
            rs.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(lines.len(), n);
    assert_eq!(
        lines[n - 1],
        format!(
            "{} {} shop[{}] warning - [alog@32473 user=\"ann\" ms=\"1250\"] slow request",
            local_rfc3339(T0),
            hostname(),
            std::process::id()
        ),
        "{what}"
    );
}

/// Reads every connection `server` accepts until it closes or stays quiet for a second, and
/// splits each into its octet-counted frames (panicking on a torn one).
fn collect_frames(server: TcpListener, quiet: Duration) -> Vec<Vec<String>> {
    server.set_nonblocking(true).unwrap();
    let mut readers = Vec::new();
    let mut idle_since = Instant::now();
    while idle_since.elapsed() < quiet {
        match server.accept() {
            Ok((mut c, _)) => {
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(quiet)).unwrap();
                readers.push(std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = std::io::Read::read(&mut c, &mut buf) {
                        if n == 0 {
                            break;
                        }
                        bytes.extend_from_slice(&buf[..n]);
                    }
                    bytes
                }));
                idle_since = Instant::now();
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    readers
        .into_iter()
        .map(|r| {
            let bytes = r.join().unwrap();
            let mut rest = &bytes[..];
            let mut frames = Vec::new();
            while !rest.is_empty() {
                let sp = rest.iter().position(|&b| b == b' ').expect("LEN SP");
                let n: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
                frames.push(String::from_utf8(rest[sp + 1..sp + 1 + n].to_vec()).unwrap());
                rest = &rest[sp + 1 + n..];
            }
            frames
        })
        .collect()
}

#[test]
fn a_fork_child_sends_on_a_connection_of_its_own() {
    // A listener of the test's own plays the receiver: each connection's frames are checked.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let log = open(&format!("tcp://127.0.0.1:{port}"), &[]);
    for i in 0..100 {
        log.info(format!("parent-before {i}"));
    }
    log.flush(Some(Duration::from_secs(10))).unwrap();
    // SAFETY: the child only logs through alog, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: alarm is async-signal-safe; a hang kills the child with SIGALRM.
        unsafe { libc::alarm(20) };
        for i in 0..500 {
            log.info(format!("child {i}"));
        }
        let closed = log.close(Some(Duration::from_secs(10))).is_ok();
        let s = syslog_stats(&log);
        let code = if closed && s.written == 500 && s.dropped == 0 && s.failed == 0 {
            0
        } else {
            3
        };
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    for i in 0..100 {
        log.info(format!("parent-after {i}"));
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status}"
    );
    log.close(None).unwrap();
    let conns = collect_frames(server, Duration::from_secs(1));
    let by_pid = |p: u32| -> Vec<String> {
        let mut msgs = Vec::new();
        for frames in &conns {
            let mine = frames
                .iter()
                .filter(|f| f.split(' ').nth(4) == Some(&p.to_string()[..]))
                .count();
            assert!(
                mine == 0 || mine == frames.len(),
                "one connection, one process"
            );
            if mine > 0 {
                msgs.extend(
                    frames
                        .iter()
                        .map(|f| f.rsplit(" - ").next().unwrap().to_string()),
                );
            }
        }
        msgs
    };
    let parent: Vec<String> = (0..100)
        .map(|i| format!("parent-before {i}"))
        .chain((0..100).map(|i| format!("parent-after {i}")))
        .collect();
    let child: Vec<String> = (0..500).map(|i| format!("child {i}")).collect();
    assert_eq!(by_pid(std::process::id()), parent);
    assert_eq!(by_pid(pid as u32), child);
    assert!(conns.len() >= 2, "{}", conns.len());
}

#[test]
fn closing_the_logger_closes_its_connection() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let log = open(&format!("tcp://127.0.0.1:{port}"), &[]);
    log.info("last words");
    log.close(None).unwrap();
    let (mut c, _) = server.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = String::new();
    // read_to_string returns at the end of the stream (a timeout would be an error here).
    std::io::Read::read_to_string(&mut c, &mut got).expect("the connection ends");
    assert!(got.ends_with(" - - last words"), "{got:?}");
    // The logger handle lives on (it is still in scope): the close alone ended the connection.
    assert!(log.is_closed());
}

#[test]
fn json_and_patterns_make_the_msg_and_the_fields_stay_structured_data() {
    for (key, value, want) in [
        (
            "syslog.format",
            "json",
            r#"- [alog@32473 n="1"] {"ts":"2023-11-14T22:13:20.123456Z","level":"INFO","msg":"hello","n":1}"#,
        ),
        (
            "syslog.pattern",
            "{level}: {msg}{fields}",
            r#"- [alog@32473 n="1"] INFO: hello n=1"#,
        ),
    ] {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let log = open(&format!("tcp://127.0.0.1:{port}"), &[(key, value)]);
        log.write_record(&Record {
            level: Level::INFO,
            timestamp_ns: Some(T0),
            msg: b"hello",
            fields: &[Field::new("n", 1i64)],
            source: None,
        })
        .unwrap();
        log.close(None).unwrap();
        let frames = collect_frames(server, Duration::from_millis(300));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), 1);
        let msg = &frames[0][0];
        let after_procid = msg.splitn(6, ' ').nth(5).unwrap();
        assert_eq!(after_procid, want, "{key}={value}");
    }
}

/// `syslog=tls://` (RFC 5425) against rsyslog's TLS input (imtcp with the `ossl` stream
/// driver, Debian's `rsyslog-openssl`), with a CA and certificates made by the `openssl`
/// program for each test. Skipped, saying why, only when rsyslogd or its `ossl` driver is not
/// installed (`scripts/prereqs.sh` installs both).
#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// rsyslog's `ossl` network stream driver, beside its other modules.
    fn ossl_driver() -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = ["/usr/lib/rsyslog", "/usr/lib64/rsyslog"]
            .iter()
            .map(PathBuf::from)
            .collect();
        if let Ok(rd) = std::fs::read_dir("/usr/lib") {
            dirs.extend(rd.flatten().map(|e| e.path().join("rsyslog")));
        }
        dirs.into_iter()
            .map(|d| d.join("lmnsd_ossl.so"))
            .find(|p| p.is_file())
    }

    /// A new CA and certificates, and rsyslog started with a TLS input that authenticates
    /// clients by `auth`; `None` (the test is skipped, saying why) when rsyslogd or its TLS
    /// driver is not installed.
    fn tls_receiver(auth: &str) -> Option<(Pki, Rsyslog)> {
        let bin = rsyslogd_with_tls()?;
        let pki = Pki::new();
        let mut rs = receiver(bin, &pki, auth);
        rs.start();
        Some((pki, rs))
    }

    /// rsyslogd, when it and its TLS driver are installed (else `None`, saying so).
    fn rsyslogd_with_tls() -> Option<PathBuf> {
        let Some(bin) = rsyslogd() else {
            eprintln!(
                "SKIPPED: rsyslogd is not installed (apt-get install rsyslog; \
                 scripts/prereqs.sh installs it)"
            );
            return None;
        };
        if ossl_driver().is_none() {
            eprintln!(
                "SKIPPED: rsyslog's TLS driver lmnsd_ossl.so is not installed (apt-get \
                 install rsyslog-openssl; scripts/prereqs.sh installs it)"
            );
            return None;
        }
        Some(bin)
    }

    /// A CA, a certificate it signed for `localhost` and 127.0.0.1 (the receiver's), one for
    /// a client, and a second CA that signed nothing here: PEM files in a folder.
    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new() -> Pki {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            std::fs::write(
                d.join("openssl.cnf"),
                "[req]\ndistinguished_name = dn\n[dn]\n\
                 [ca]\nbasicConstraints = critical, CA:TRUE\n\
                 keyUsage = critical, keyCertSign, cRLSign\n\
                 subjectKeyIdentifier = hash\n\
                 [server]\nbasicConstraints = CA:FALSE\n\
                 keyUsage = critical, digitalSignature\n\
                 extendedKeyUsage = serverAuth\n\
                 subjectAltName = DNS:localhost, IP:127.0.0.1\n\
                 [client]\nbasicConstraints = CA:FALSE\n\
                 keyUsage = critical, digitalSignature\n\
                 extendedKeyUsage = clientAuth\n\
                 subjectAltName = DNS:alog-client\n",
            )
            .unwrap();
            let run = |args: &[&str]| {
                let out = Command::new("openssl")
                    .args(args)
                    .current_dir(d)
                    .output()
                    .expect("run openssl (apt-get install openssl)");
                assert!(
                    out.status.success(),
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let key = [
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ];
            for ca in ["ca", "other-ca"] {
                let subj = format!("/CN=alog test {ca}");
                let (k, c) = (format!("{ca}.key"), format!("{ca}.pem"));
                let mut a = vec![
                    "req",
                    "-x509",
                    "-config",
                    "openssl.cnf",
                    "-extensions",
                    "ca",
                ];
                a.extend(key);
                a.extend(["-keyout", &k, "-out", &c, "-days", "2", "-subj", &subj]);
                run(&a);
            }
            for (who, cn) in [("server", "localhost"), ("client", "alog-client")] {
                let subj = format!("/CN={cn}");
                let (k, r, c) = (
                    format!("{who}.key"),
                    format!("{who}.csr"),
                    format!("{who}.pem"),
                );
                let mut a = vec!["req", "-new", "-config", "openssl.cnf"];
                a.extend(key);
                a.extend(["-keyout", &k, "-out", &r, "-subj", &subj]);
                run(&a);
                run(&[
                    "x509",
                    "-req",
                    "-in",
                    &r,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    "openssl.cnf",
                    "-extensions",
                    who,
                    "-out",
                    &c,
                ]);
            }
            Pki { dir }
        }

        fn path(&self, name: &str) -> String {
            self.dir.path().join(name).to_str().unwrap().to_string()
        }
    }

    /// rsyslog with one TLS input (`auth`: the driver's authentication mode of clients), the
    /// test's fields template.
    fn receiver(bin: PathBuf, pki: &Pki, auth: &str) -> Rsyslog {
        let (ca, cert, key) = (
            pki.path("ca.pem"),
            pki.path("server.pem"),
            pki.path("server.key"),
        );
        let auth = auth.to_string();
        Rsyslog::with_config(bin, move |d, tcp, _| {
            format!(
                r#"global(DefaultNetstreamDriver="ossl"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="{auth}")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
{fields}"#,
                fields = fields_output(d),
            )
        })
    }

    /// Logs 10 records that cannot be delivered and closes: the stall timeout (1 s) drops
    /// them, counted, and close returns within 3 s. Returns the syslog sink's statistics.
    fn undeliverable(log: Logger) -> SinkStats {
        for i in 0..10 {
            numbered(&log, i);
        }
        wait_taken(&log, 10);
        let t = Instant::now();
        log.close(None).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "close took {:?}",
            t.elapsed()
        );
        let s = syslog_stats(&log);
        assert_eq!(
            (s.taken, s.written, s.dropped, s.failed),
            (10, 0, 10, 0),
            "{s:?}"
        );
        s
    }

    /// A logger for tls://127.0.0.1:`port` with `keys` whose receiver refuses every handshake,
    /// for `cause`: its 10 records are dropped (see `undeliverable`), and each failed
    /// handshake is a counted write error, reported naming the cause, retried after a wait
    /// that doubles.
    fn refused(port: u16, keys: &[(&str, &str)], cause: &str) {
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = errors.clone();
        let mut b = Logger::builder()
            .set("syslog", &format!("tls://127.0.0.1:{port}"))
            .unwrap()
            .set("syslog.ident", "alogtest")
            .unwrap()
            .set("syslog.facility", "local3")
            .unwrap()
            .on_error(move |e| seen.lock().unwrap().push(e.to_string()));
        for (k, v) in keys {
            b = b.set(k, v).unwrap();
        }
        // Handshakes fail with backoff while the records wait.
        let s = undeliverable(b.build().unwrap());
        assert!(s.write_errors >= 1, "{s:?}");
        let errors = errors.lock().unwrap();
        let want = format!(
            "cannot connect to the syslog receiver tls://127.0.0.1:{port} \
             (127.0.0.1:{port}); retrying in 50 ms: TLS handshake failed: ",
        );
        assert!(
            errors[0].starts_with(&want) && errors[0].contains(cause),
            "{errors:?}"
        );
        // Every failed handshake is counted and names its cause, the waits between them
        // doubling; then the drop is reported.
        let tls = &errors[..errors.len() - 1];
        assert_eq!(tls.len() as u64, s.write_errors, "{errors:?}");
        for (k, e) in tls.iter().enumerate() {
            assert!(e.contains(&format!("retrying in {} ms", 50 << k)), "{e}");
            assert!(e.contains(cause), "{e}");
        }
        assert_eq!(
            errors.last().map(String::as_str),
            Some("sink syslog took nothing for 1000 ms: dropped 10 records"),
            "{errors:?}"
        );
    }

    #[test]
    fn tls_delivers_records_once_in_order_with_the_receiver_verified() {
        let Some((pki, rs)) = tls_receiver("anon") else {
            return;
        };
        let ca = pki.path("ca.pem");
        // The certificate is checked for the IP address of the URL.
        let log = open(
            &format!("tls://127.0.0.1:{}", rs.tcp),
            &[("syslog.tls.ca", &ca)],
        );
        let s = deliver_in_order(log, &rs, 5000);
        assert_eq!(s.write_errors, 0, "{s:?}");
        assert_eq!(s.target, format!("syslog at tls://127.0.0.1:{}", rs.tcp));
    }

    #[test]
    fn tls_presents_a_client_certificate_to_a_receiver_that_demands_one() {
        // x509/certvalid: the receiver takes only clients with a certificate its CA signed.
        let Some((pki, rs)) = tls_receiver("x509/certvalid") else {
            return;
        };
        let (ca, cert, key) = (
            pki.path("ca.pem"),
            pki.path("client.pem"),
            pki.path("client.key"),
        );
        // A name, checked against the certificate's DNS name.
        let log = open(
            &format!("tls://127.0.0.1:{}", rs.tcp),
            &[
                ("syslog.tls.ca", &ca),
                ("syslog.tls.cert", &cert),
                ("syslog.tls.key", &key),
                ("syslog.tls.server_name", "localhost"),
            ],
        );
        for i in 0..100 {
            numbered(&log, i);
        }
        log.close(None).unwrap();
        let got = rs.wait_for(100);
        assert_eq!(got.len(), 100);
        check_numbered(&got, 0, "imtcp");
        let s = syslog_stats(&log);
        assert_eq!(
            (s.written, s.dropped, s.failed, s.write_errors),
            (100, 0, 0, 0)
        );
        // Without one the receiver refuses the session (after the client's part of a TLS
        // 1.3 handshake): nothing counts as written, the refusal is reported.
        refused(
            rs.tcp,
            &[("syslog.tls.ca", &ca)],
            "received fatal alert: CertificateRequired (the receiver wants a client \
             certificate: syslog.tls.cert and syslog.tls.key)",
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(rs.received().len(), 100);
    }

    #[test]
    fn a_receiver_the_ca_did_not_sign_or_of_another_name_gets_nothing_and_close_is_prompt() {
        let Some((pki, rs)) = tls_receiver("anon") else {
            return;
        };
        let (ca, other) = (pki.path("ca.pem"), pki.path("other-ca.pem"));
        for (keys, cause) in [
            (
                vec![("syslog.tls.ca", other.as_str())],
                "invalid peer certificate: UnknownIssuer (syslog.tls.ca does not hold the CA \
                 that signed the receiver's certificate)",
            ),
            (
                vec![
                    ("syslog.tls.ca", ca.as_str()),
                    ("syslog.tls.server_name", "logs.example.com"),
                ],
                "certificate not valid for name \"logs.example.com\"",
            ),
        ] {
            refused(rs.tcp, &keys, cause);
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(rs.received().len(), 0);
    }

    #[test]
    fn tls_rides_out_a_receiver_restart_without_loss_or_duplicates() {
        let Some((pki, mut rs)) = tls_receiver("anon") else {
            return;
        };
        let ca = pki.path("ca.pem");
        let log = open(
            &format!("tls://localhost:{}", rs.tcp),
            &[("syslog.tls.ca", &ca), ("stall_timeout_ms", "60000")],
        );
        for i in 0..500 {
            numbered(&log, i);
        }
        log.flush(Some(Duration::from_secs(20))).unwrap();
        check_numbered(&rs.wait_for(500), 0, "imtcp");
        let s = restart_in_the_middle(log, &mut rs, 500);
        assert!(s.write_errors >= 1, "the lost connection is counted: {s:?}");
    }

    #[test]
    fn a_receiver_that_never_answers_the_handshake_holds_up_nothing() {
        // No rsyslog: a listener of the test's own accepts and then says nothing.
        let pki = Pki::new();
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let held = std::thread::spawn(move || {
            let (c, _) = server.accept().unwrap();
            std::thread::sleep(Duration::from_secs(3));
            drop(c);
        });
        let ca = pki.path("ca.pem");
        undeliverable(open(
            &format!("tls://127.0.0.1:{port}"),
            &[("syslog.tls.ca", &ca)],
        ));
        held.join().unwrap();
    }

    #[test]
    fn the_readme_tls_configuration_receives_what_its_keys_send() {
        let Some(bin) = rsyslogd_with_tls() else {
            return;
        };
        let pki = Pki::new();
        let block = readme_block("rsyslog tls receiver", "");
        let mut rs = Rsyslog::with_config(bin, |d, tcp, _| {
            // Only the port, the files and the output differ from what the README shows.
            let conf = block
                .replace(r#"port="6514""#, &format!(r#"port="{tcp}""#))
                .replace("/etc/rsyslog-tls/ca.pem", &pki.path("ca.pem"))
                .replace("/etc/rsyslog-tls/server.pem", &pki.path("server.pem"))
                .replace("/etc/rsyslog-tls/server.key", &pki.path("server.key"))
                .replace(
                    "/var/log/alog-received.log",
                    d.join("received.log").to_str().unwrap(),
                );
            assert!(!conf.contains("6514") && !conf.contains("/etc/"), "{conf}");
            conf
        });
        rs.start();
        // The README's environment, with the test's receiver and CA.
        let vars: Vec<(String, String)> = readme_block("alog tls keys", "sh")
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                let v = v
                    .replace("logs.example.com:6514", &format!("localhost:{}", rs.tcp))
                    .replace("/etc/ssl/alog/ca.pem", &pki.path("ca.pem"));
                (k.to_string(), v)
            })
            .collect();
        assert_eq!(vars.len(), 3, "{vars:?}");
        let mut b = Logger::builder();
        b.config_mut().apply_env(vars).unwrap();
        the_readme_record_arrives(b.build().unwrap(), &rs, 1);
    }

    #[test]
    fn tls_keys_are_checked_naming_the_key() {
        let pki = Pki::new();
        let url = "tls://127.0.0.1:6514";
        let build = |keys: &[(&str, &str)]| {
            let mut b = Logger::builder().set("syslog", url).unwrap();
            for (k, v) in keys {
                b = b.set(k, v).unwrap();
            }
            b.build().map(|_| ()).unwrap_err().to_string()
        };
        assert_eq!(
            build(&[]),
            "syslog=tls://127.0.0.1:6514 needs syslog.tls.ca: a PEM file of the CA \
             certificates that verify the receiver's certificate"
        );
        let missing = pki.path("missing.pem");
        assert_eq!(
            build(&[("syslog.tls.ca", &missing)]),
            format!("syslog.tls.ca: cannot read {missing}: No such file or directory (os error 2)")
        );
        let key = pki.path("server.key");
        assert_eq!(
            build(&[("syslog.tls.ca", &key)]),
            format!("syslog.tls.ca: {key} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        );
        let ca = pki.path("ca.pem");
        assert_eq!(
            build(&[
                ("syslog.tls.ca", &ca),
                ("syslog.tls.cert", &pki.path("client.pem"))
            ]),
            "syslog.tls.cert needs syslog.tls.key too: a client certificate goes with its \
             private key"
        );
        let e = build(&[
            ("syslog.tls.ca", &ca),
            ("syslog.tls.cert", &pki.path("client.pem")),
            ("syslog.tls.key", &ca),
        ]);
        assert!(
            e.starts_with(&format!(
                "syslog.tls.key: {ca} holds no usable PEM private key"
            )),
            "{e}"
        );
        let e = build(&[
            ("syslog.tls.ca", &ca),
            ("syslog.tls.server_name", "bad name!"),
        ]);
        assert_eq!(
            e,
            "syslog.tls.server_name: \"bad name!\" is neither a DNS name nor an IP address"
        );
        assert_eq!(
            Logger::builder()
                .set("syslog.tls.ca", "")
                .unwrap_err()
                .to_string(),
            "invalid value \"\" for syslog.tls.ca: expected none or the path of a PEM file"
        );
    }
}
