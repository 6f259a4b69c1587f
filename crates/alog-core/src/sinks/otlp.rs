//! The OTLP sink: records to an OpenTelemetry Collector's OTLP/HTTP receiver as
//! `ExportLogsServiceRequest`s in the protobuf JSON mapping (`POST /v1/logs`,
//! `Content-Type: application/json`), over plain HTTP/1.1 on a kept-alive TCP connection. No
//! TLS: send to a collector on the same machine or network, which forwards over TLS.
//!
//! The writer's formatter makes each record's `LogRecord` object (see `render::otlp_json`);
//! the sink puts as many of the records its lane hands over as fit in [`MAX_BODY`] bytes (at
//! least one) into one request, under one resource (`service.name`, `process.pid`) and one
//! scope (`alog`).
//!
//! Nothing blocks: the connection is made without blocking ([`CONNECT_TIMEOUT`](crate::sinks::net::CONNECT_TIMEOUT) at most),
//! the request written as the socket takes it and the response read as it comes (at most
//! [`RESPONSE_TIMEOUT`] after the request went out); until then the sink answers
//! `WouldBlock` and its lane tries again with backoff, so a slow or dead collector delays only
//! this sink. Outcomes:
//! - 2xx: the request's records are written (a `partialSuccess` that rejected some is
//!   reported: which ones it does not say).
//! - 429, 5xx, no connection, a connection lost before the whole response came, no response
//!   in time: the same request goes again, after [`MIN_RETRY`] doubling up to [`MAX_RETRY`];
//!   each is reported (a write error, not a record's failure). Meanwhile records wait in the
//!   lane's backlog (`otlp.backlog`, `otlp.overflow`, `stall_timeout_ms` drop them, counted).
//! - any other status (400: the collector cannot take it): the request's records failed; the
//!   error names the status and the start of the response body.
//!
//! A request whose response was lost with its connection (the collector crashed after
//! reading it) is sent again: the collector may then get those records twice. A collector
//! that shuts down cleanly answers the requests it read before it closes connections, and an
//! idle connection it closed is seen (a peek) before a request is written into it.
//!
//! After `fork` the child does not use the parent's connection: it opens its own.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::front::config::OtlpAddr;
use crate::front::error::Error;
use crate::render::format::{json_str, push_u64};
use crate::sinks::net::{alive, connect_done, connect_nonblocking, Backoff};

/// The largest request body the sink makes (a record longer than that goes alone).
pub const MAX_BODY: usize = 1 << 20;
/// The first wait before trying again after a failure; it doubles up to [`MAX_RETRY`].
pub const MIN_RETRY: Duration = Duration::from_millis(50);
pub const MAX_RETRY: Duration = Duration::from_secs(2);
/// How long the response may take after the request went out.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most response bytes read (a longer response is an error).
const MAX_RESPONSE: usize = 1 << 20;

/// What became of a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The collector took the first `records` records (2xx); the body had `bytes` bytes.
    Delivered { records: usize, bytes: usize },
    /// The collector refused the first `records` records for good.
    Rejected { records: usize, error: Error },
}

pub(crate) struct Otlp {
    addr: OtlpAddr,
    addrs: Vec<SocketAddr>,
    next: usize,
    conn: Option<Conn>,
    /// No attempt before this (after a failure).
    backoff: Backoff,
    /// `{"resourceLogs":[{"resource":...,"scopeLogs":[{"scope":...,"logRecords":[` without
    /// the pid, which is added per request (a fork child has its own).
    head: (Vec<u8>, Vec<u8>),
    /// The request under way: its bytes, how many records it holds (0: none), the first
    /// record's bytes (to know it again when the lane retries), how much was written, when
    /// it was written, and the response so far.
    req: Vec<u8>,
    req_records: usize,
    req_body: usize,
    req_first: Vec<u8>,
    sent: usize,
    sent_at: Instant,
    resp: Vec<u8>,
    note: Option<Error>,
}

struct Conn {
    stream: TcpStream,
    connected: bool,
    started: Instant,
    /// Whether a request already went over it (an idle kept-alive connection may be closed).
    used: bool,
    pid: u32,
}

/// A response: its status, whether the server closes the connection, and its body.
#[derive(Debug, PartialEq)]
struct Response<'a> {
    status: u16,
    close: bool,
    body: &'a [u8],
}

impl Otlp {
    /// Resolves the collector's name (blocking, once) and starts connecting.
    pub(crate) fn open(addr: &OtlpAddr, service_name: &str) -> crate::front::error::Result<Otlp> {
        let addrs: Vec<SocketAddr> = (addr.host.as_str(), addr.port)
            .to_socket_addrs()
            .map_err(|e| Error::io(format!("cannot resolve the OTLP collector {addr}"), e))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::io(
                format!("cannot resolve the OTLP collector {addr}"),
                io::Error::new(io::ErrorKind::NotFound, "no address"),
            ));
        }
        let mut head = b"{\"resourceLogs\":[{\"resource\":{\"attributes\":[".to_vec();
        head.extend_from_slice(b"{\"key\":\"service.name\",\"value\":{\"stringValue\":");
        json_str(service_name.as_bytes(), &mut head);
        head.extend_from_slice(b"}},{\"key\":\"process.pid\",\"value\":{\"intValue\":\"");
        let mut tail =
            b"\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"alog\",\"version\":\"".to_vec();
        tail.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        tail.extend_from_slice(b"\"},\"logRecords\":[");
        let mut o = Otlp {
            addr: addr.clone(),
            addrs,
            next: 0,
            conn: None,
            backoff: Backoff::new(MIN_RETRY, MAX_RETRY),
            head: (head, tail),
            req: Vec::new(),
            req_records: 0,
            req_body: 0,
            req_first: Vec::new(),
            sent: 0,
            sent_at: Instant::now(),
            resp: Vec::new(),
            note: None,
        };
        // Under way while the logger starts; a failure is reported with the first record.
        let _ = o.connected();
        Ok(o)
    }

    pub(crate) fn addr(&self) -> &OtlpAddr {
        &self.addr
    }

    /// What to report that did not fail a record (a refused connection, a 503).
    pub(crate) fn take_note(&mut self) -> Option<Error> {
        self.note.take()
    }

    /// Sends the first of `records` (each one `LogRecord` JSON object) that fit in one
    /// request, or goes on with the request under way when `records` still starts with its
    /// records. `WouldBlock`: not now, call again.
    pub(crate) fn send(&mut self, records: &[&[u8]]) -> io::Result<Reply> {
        let pid = std::process::id();
        if self.conn.as_ref().is_some_and(|c| c.pid != pid) {
            // A fork child: the connection (and the request on it) is the parent's.
            self.conn = None;
            self.req_records = 0;
            self.backoff.retry_now();
        }
        let same = self.req_records > 0
            && records.len() >= self.req_records
            && records
                .first()
                .is_some_and(|r| *r == self.req_first.as_slice());
        if !same {
            if self.req_records > 0 && self.sent > 0 {
                // The lane gave up on the request under way (it dropped its records): its
                // response is of no use, and the connection would deliver it to us next.
                self.conn = None;
            }
            self.request(records, pid);
        }
        if self.backoff.waiting(Instant::now()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // At most one reconnection per call: a collector that accepts and closes at once
        // costs one attempt per retry of the lane, not a busy loop.
        for _ in 0..2 {
            if !self.connected() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            match self.exchange() {
                Ok(Some(reply)) => return Ok(reply),
                Ok(None) => return Err(io::ErrorKind::WouldBlock.into()),
                Err(e) => {
                    // The connection broke: the whole request goes again on a new one.
                    let fresh = self.conn.as_ref().is_some_and(|c| !c.used);
                    self.conn = None;
                    self.sent = 0;
                    self.resp.clear();
                    if fresh {
                        self.failed(Error::io(
                            format!("lost the connection to the OTLP collector {}", self.addr),
                            e,
                        ));
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                }
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Makes the request for the first of `records` that fit in [`MAX_BODY`].
    fn request(&mut self, records: &[&[u8]], pid: u32) {
        let mut body = self.head.0.clone();
        push_u64(&mut body, u64::from(pid));
        body.extend_from_slice(&self.head.1);
        let fixed = body.len() + 7;
        let mut n = 0;
        let mut len = fixed;
        for r in records {
            let add = r.len() + usize::from(n > 0);
            if n > 0 && len + add > MAX_BODY {
                break;
            }
            len += add;
            n += 1;
        }
        for (i, r) in records[..n].iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(r);
        }
        body.extend_from_slice(b"]}]}]}");
        let r = &mut self.req;
        r.clear();
        r.extend_from_slice(b"POST ");
        r.extend_from_slice(self.addr.path.as_bytes());
        r.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        if self.addr.host.contains(':') {
            r.push(b'[');
            r.extend_from_slice(self.addr.host.as_bytes());
            r.push(b']');
        } else {
            r.extend_from_slice(self.addr.host.as_bytes());
        }
        r.push(b':');
        push_u64(r, u64::from(self.addr.port));
        r.extend_from_slice(b"\r\nUser-Agent: alog/");
        r.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        r.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
        push_u64(r, body.len() as u64);
        r.extend_from_slice(b"\r\n\r\n");
        r.extend_from_slice(&body);
        self.req_records = n;
        self.req_body = body.len();
        self.req_first.clear();
        if let Some(f) = records.first() {
            self.req_first.extend_from_slice(f);
        }
        self.sent = 0;
        self.resp.clear();
    }

    /// Writes the request and reads the response as far as the socket allows: `None` when
    /// not done yet; an error when the connection broke.
    fn exchange(&mut self) -> io::Result<Option<Reply>> {
        let conn = self.conn.as_mut().expect("connected");
        if self.sent == 0 && conn.used {
            // An idle kept-alive connection the collector may have closed meanwhile.
            alive(&conn.stream)?;
        }
        while self.sent < self.req.len() {
            match conn.stream.write(&self.req[self.sent..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
                Ok(n) => {
                    self.sent += n;
                    conn.used = true;
                    self.sent_at = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        let mut eof = false;
        let mut buf = [0u8; 8192];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    self.resp.extend_from_slice(&buf[..n]);
                    if self.resp.len() > MAX_RESPONSE {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("a response longer than {MAX_RESPONSE} bytes"),
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let parsed = parse_response(&self.resp, eof).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {e}"),
            )
        })?;
        let Some(resp) = parsed else {
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the collector closed the connection before it answered",
                ));
            }
            if self.sent_at.elapsed() >= RESPONSE_TIMEOUT {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no response in {} s", RESPONSE_TIMEOUT.as_secs()),
                ));
            }
            return Ok(None);
        };
        let (status, close) = (resp.status, resp.close || eof);
        let said = snippet(resp.body);
        let rejected = partially_rejected(resp.body);
        self.sent = 0;
        self.resp.clear();
        if close {
            self.conn = None;
        }
        let records = self.req_records;
        if (200..300).contains(&status) {
            if let Some(n) = rejected {
                self.note = Some(Error::invalid(format!(
                    "the OTLP collector {} took a request of {records} records but says it \
                     rejected {n} of them{said}",
                    self.addr
                )));
            }
            self.req_records = 0;
            self.backoff.reset();
            return Ok(Some(Reply::Delivered {
                records,
                bytes: self.req_body,
            }));
        }
        let what = format!("the OTLP collector {} answered {status}{said}", self.addr);
        if status == 429 || status >= 500 {
            self.failed(Error::invalid(what));
            return Ok(None);
        }
        self.req_records = 0;
        Ok(Some(Reply::Rejected {
            records,
            error: Error::invalid(format!("{records} records refused: {what}")),
        }))
    }

    /// Whether the connection is made; starts or checks it otherwise (never waits).
    fn connected(&mut self) -> bool {
        let now = Instant::now();
        if self.backoff.waiting(now) {
            return false;
        }
        let Some(c) = &mut self.conn else {
            self.backoff.retry_now();
            let to = self.addrs[self.next % self.addrs.len()];
            match connect_nonblocking(&to) {
                Ok(stream) => {
                    self.conn = Some(Conn {
                        stream,
                        connected: false,
                        started: now,
                        used: false,
                        pid: std::process::id(),
                    });
                    return self.connected();
                }
                Err(e) => {
                    self.next += 1;
                    self.failed(self.cannot_connect(to, e));
                    return false;
                }
            }
        };
        if c.connected {
            return true;
        }
        let err = match connect_done(&c.stream, now.duration_since(c.started)) {
            Ok(false) => return false,
            Ok(true) => {
                c.connected = true;
                return true;
            }
            Err(e) => e,
        };
        let to = c
            .stream
            .peer_addr()
            .unwrap_or(self.addrs[self.next % self.addrs.len()]);
        self.conn = None;
        self.next += 1;
        self.failed(self.cannot_connect(to, err));
        false
    }

    fn cannot_connect(&self, to: SocketAddr, e: io::Error) -> Error {
        Error::io(
            format!("cannot connect to the OTLP collector {} ({to})", self.addr),
            e,
        )
    }

    /// An attempt failed: wait (doubling) before the next, and report `e`.
    fn failed(&mut self, e: Error) {
        let wait = self.backoff.failed();
        self.sent = 0;
        self.resp.clear();
        self.note = Some(Error::invalid(format!(
            "{e}; retrying in {} ms",
            wait.as_millis()
        )));
    }
}

/// How many records a 2xx answer says were rejected (OTLP's `partialSuccess`), when not 0.
fn partially_rejected(body: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"rejectedLogRecords\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits: Vec<u8> = body[at..]
        .iter()
        .skip_while(|&&b| b == b' ' || b == b':' || b == b'"')
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    let n: u64 = std::str::from_utf8(&digits).ok()?.parse().ok()?;
    (n > 0).then_some(n)
}

/// `: BODY` (its first 200 bytes, printable) or nothing for an empty body.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Parses an HTTP/1.x response in `b`: `None` while incomplete (with `eof`, a response
/// without a length ends where the stream did).
fn parse_response(b: &[u8], eof: bool) -> Result<Option<Response<'_>>, String> {
    let Some(head_end) = b.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if b.len() > 64 << 10 {
            Err("a header longer than 64 KiB".into())
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&b[..head_end]).map_err(|_| "a header that is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("status line {status_line:?}"))?;
    let mut close = version == "HTTP/1.0";
    let mut length = None;
    let mut chunked = false;
    for l in lines {
        let Some((name, value)) = l.split_once(':') else {
            return Err(format!("header line {l:?}"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("Content-Length {value:?}"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                close = true;
            } else if v.contains("keep-alive") {
                close = false;
            }
        }
    }
    let rest = &b[head_end + 4..];
    // No body: 1xx, 204, 304.
    if status < 200 || status == 204 || status == 304 {
        return Ok(Some(Response {
            status,
            close,
            body: &[],
        }));
    }
    if chunked {
        // The body is the first chunk's data (enough for an error message); the response
        // ends after the last chunk and the trailer.
        let mut i = 0;
        let mut first: &[u8] = &[];
        loop {
            let Some(eol) = rest[i..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let size_text = std::str::from_utf8(&rest[i..i + eol]).unwrap_or("");
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("chunk size {size_text:?}"))?;
            i += eol + 2;
            if size == 0 {
                // Trailer lines, then an empty line.
                loop {
                    let Some(eol) = rest[i..].windows(2).position(|w| w == b"\r\n") else {
                        return Ok(None);
                    };
                    i += eol + 2;
                    if eol == 0 {
                        return Ok(Some(Response {
                            status,
                            close,
                            body: first,
                        }));
                    }
                }
            }
            if rest.len() < i + size + 2 {
                return Ok(None);
            }
            if first.is_empty() {
                first = &rest[i..i + size];
            }
            i += size + 2;
        }
    }
    match length {
        Some(n) if rest.len() >= n => Ok(Some(Response {
            status,
            close,
            body: &rest[..n],
        })),
        Some(_) => Ok(None),
        None if eof => Ok(Some(Response {
            status,
            close: true,
            body: rest,
        })),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_with_length_chunks_or_eof() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false);
        assert_eq!(
            r,
            Ok(Some(Response {
                status: 200,
                close: false,
                body: b"{}"
            }))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", false),
            Ok(None)
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Le", false),
            Ok(None)
        );
        let chunked = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nbad r\r\n3;x=y\r\neq.\r\n0\r\n\r\n";
        for cut in 0..chunked.len() {
            assert_eq!(parse_response(&chunked[..cut], false), Ok(None), "{cut}");
        }
        assert_eq!(
            parse_response(chunked, false),
            Ok(Some(Response {
                status: 400,
                close: true,
                body: b"bad r"
            }))
        );
        assert_eq!(
            parse_response(b"HTTP/1.0 503 Busy\r\n\r\nlater", true),
            Ok(Some(Response {
                status: 503,
                close: true,
                body: b"later"
            }))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 204 No Content\r\n\r\n", false).map(|r| r.map(|r| r.status)),
            Ok(Some(204))
        );
        let e = parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false).unwrap_err();
        assert_eq!(e, "status line \"SSH-2.0-OpenSSH\"");
        let e = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false);
        assert_eq!(e, Err("Content-Length \"x\"".into()));
    }

    #[test]
    fn partial_success_counts_are_read() {
        let b = br#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}"#;
        assert_eq!(partially_rejected(b), Some(3));
        assert_eq!(
            partially_rejected(br#"{"partialSuccess":{"rejectedLogRecords": 12}}"#),
            Some(12)
        );
        assert_eq!(partially_rejected(br#"{"partialSuccess":{}}"#), None);
        assert_eq!(
            partially_rejected(br#"{"partialSuccess":{"rejectedLogRecords":"0"}}"#),
            None
        );
        assert_eq!(partially_rejected(b"{}"), None);
    }

    #[test]
    fn requests_are_cut_at_the_body_limit() {
        let addr = OtlpAddr {
            host: "127.0.0.1".into(),
            port: 9,
            path: "/v1/logs".into(),
        };
        let mut o = Otlp::open(&addr, "svc \"q\"").unwrap();
        let rec = vec![b'x'; 300 << 10];
        let recs: Vec<&[u8]> = vec![&rec, &rec, &rec, &rec, &rec];
        o.request(&recs, 7);
        assert_eq!(o.req_records, 3);
        assert!(o.req_body <= MAX_BODY);
        let text = String::from_utf8_lossy(&o.req);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            format!(
                "POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: alog/{}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}",
                env!("CARGO_PKG_VERSION"),
                body.len()
            )
        );
        assert!(body.starts_with(
            "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\
             \"value\":{\"stringValue\":\"svc \\\"q\\\"\"}},{\"key\":\"process.pid\",\
             \"value\":{\"intValue\":\"7\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"alog\""
        ));
        assert!(body.ends_with("xxx]}]}]}"));
        // One record longer than the limit goes alone.
        let big = vec![b'y'; MAX_BODY + 1];
        o.request(&[&big, &rec], 7);
        assert_eq!(o.req_records, 1);
    }
}
