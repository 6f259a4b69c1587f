//! The network syslog sink: RFC 5424 messages to a receiver over UDP (one datagram per record)
//! or TCP (RFC 6587 octet counting: `LEN SP MESSAGE`).
//!
//! A message is `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID ` followed by the line the sink's
//! formatter made, which starts with `MSGID SP STRUCTURED-DATA SP` (see `render::sd`) and goes
//! on with the message text. TIMESTAMP is RFC 3339 in local time with microseconds and the
//! UTC offset (`2026-12-03T07:15:02.120120+01:00`); HOSTNAME is the machine's name
//! (`gethostname`), APP-NAME the ident (`syslog.ident`), PROCID the process id: each kept to
//! the printable US-ASCII characters and lengths RFC 5424 allows (others become `_`).
//!
//! UDP: a datagram carries at most [`MAX_DATAGRAM`] bytes (rsyslog's default
//! `maxMessageSize`: it cuts longer ones itself); a longer message is cut at a character
//! boundary inside its text and the cut is reported (a write error; the record counts as
//! written). A record whose header and structured data alone exceed it fails. A full socket
//! buffer is `WouldBlock` for the lane to retry; a receiver that is not there loses datagrams
//! unseen, as UDP does.
//!
//! TCP: the connection is made without blocking (the lane retries while it is under way, at
//! most [`CONNECT_TIMEOUT`]) to each address the host resolved to (when the logger opened), in
//! turn; when every address failed it waits [`MIN_RECONNECT`], doubling up to
//! [`MAX_RECONNECT`], and each failed round is reported. Until it is connected the sink answers
//! `WouldBlock`, so the records wait in the lane's backlog (bounded by `syslog.backlog`,
//! dropped and counted by `syslog.overflow` and `stall_timeout_ms`). Before each message the
//! sink peeks at the socket: a receiver that closed the connection (stopped, restarted) is
//! seen before anything is written into the dead connection, and the sink reconnects. A
//! message is resent whole on the new connection when the old one broke in the middle of it
//! (the receiver discards the incomplete frame), so none arrives cut. What plain TCP cannot
//! tell: bytes the receiver's kernel acknowledged but the receiver never read (it crashed) are
//! lost without the sender knowing.
//!
//! TLS (`tls://`, RFC 5425): the TCP path above with a TLS session on each connection (see
//! `sinks::tls`). Its handshake runs without blocking as part of connecting (within
//! [`CONNECT_TIMEOUT`] of the connection's start); a handshake that fails (a certificate the
//! CA did not sign, a wrong name) is reported naming the cause and retried with the same
//! backoff, while the records wait in the lane. Each message is sent when the socket took its
//! last TLS record; the check before each message reads what the receiver sent (its closing,
//! an alert) instead of peeking.
//!
//! After `fork` the child does not write into the parent's connection: it opens its own.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

use crate::front::config::{SyslogAddr, SyslogTls};
use crate::front::error::Error;
use crate::front::level::Level;
use crate::front::time::NO_TIMESTAMP;
use crate::render::format::push_u64;
use crate::sinks::syslog::severity;
use crate::sinks::tls::{Session, Setup};

/// The largest UDP datagram the sink sends: what rsyslog takes whole by default.
pub const MAX_DATAGRAM: usize = 8096;
/// The first wait before connecting again after every address failed; it doubles up to
/// [`MAX_RECONNECT`] and starts again after a connection is made.
pub const MIN_RECONNECT: Duration = Duration::from_millis(50);
pub const MAX_RECONNECT: Duration = Duration::from_secs(2);
/// How long a connection may be under way before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// When a network sink may try to connect (or send) again: after a failure it waits, first
/// `min`, doubling up to `max`; a success starts again from `min`. Never sleeps: the sink asks
/// [`Backoff::waiting`] and answers `WouldBlock` meanwhile, and its lane tries again later.
#[derive(Debug)]
pub(crate) struct Backoff {
    retry_at: Option<Instant>,
    wait: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            retry_at: None,
            wait: min,
            min,
            max,
        }
    }

    /// Whether the next attempt must wait at `now`.
    pub(crate) fn waiting(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    /// The next attempt may come at once (a lost connection: a restarted peer is usually
    /// back; a fork child: the parent's wait is not its own), the wait stays as it was.
    pub(crate) fn retry_now(&mut self) {
        self.retry_at = None;
    }

    /// It worked: the next failure waits `min` again.
    pub(crate) fn reset(&mut self) {
        self.retry_at = None;
        self.wait = self.min;
    }

    /// It failed: the next attempt waits; returns how long (for the report).
    pub(crate) fn failed(&mut self) -> Duration {
        let wait = self.wait;
        self.wait = (self.wait * 2).min(self.max);
        self.retry_at = Some(Instant::now() + wait);
        wait
    }
}

/// Longest HOSTNAME and APP-NAME (RFC 5424).
const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;

pub(crate) struct NetSyslog {
    addr: SyslogAddr,
    facility: u8,
    /// ` HOSTNAME APP-NAME `.
    host_app: Vec<u8>,
    /// `YYYY-MM-DDTHH:MM:SS` and `+hh:mm` of `stamp_sec`, recomputed when the second changes.
    stamp: Vec<u8>,
    offset: Vec<u8>,
    stamp_sec: i64,
    header: Vec<u8>,
    transport: Transport,
    /// Something to report that did not fail the record (a cut datagram, a refused
    /// connection); the lane takes it.
    note: Option<Error>,
}

enum Transport {
    Udp { sock: UdpSocket, to: SocketAddr },
    Tcp(Box<Tcp>),
}

struct Tcp {
    addrs: Vec<SocketAddr>,
    /// The address to try next (the one that worked last, after a success).
    next: usize,
    /// Addresses tried in the current round.
    tried: usize,
    conn: Option<Conn>,
    /// `tls://`: what each connection's TLS session is made from.
    tls: Option<Setup>,
    backoff: Backoff,
    /// The message being sent (`LEN SP MESSAGE`) and how much of it this connection took.
    frame: Vec<u8>,
    sent: usize,
    /// The record the frame is for (its line is the frame's tail).
    frame_of: (i64, Level),
}

struct Conn {
    stream: TcpStream,
    /// The TCP connection is made.
    connected: bool,
    /// `tls://`: its session (made once the TCP connection is).
    session: Option<Session>,
    /// Records may go: connected, and the TLS handshake (if any) done.
    ready: bool,
    started: Instant,
    /// The process that made it: a fork child makes its own.
    pid: u32,
    addr: SocketAddr,
}

impl NetSyslog {
    /// Loads the TLS files (`tls://`), resolves the receiver's name (blocking, once) and, for
    /// TCP and TLS, starts connecting.
    pub(crate) fn open(
        addr: &SyslogAddr,
        facility: u8,
        ident: &str,
        tls: &SyslogTls,
    ) -> crate::front::error::Result<NetSyslog> {
        let (host, port, tcp, tls) = match addr {
            SyslogAddr::Udp { host, port } => (host, *port, false, None),
            SyslogAddr::Tcp { host, port } => (host, *port, true, None),
            SyslogAddr::Tls { host, port } => (host, *port, true, Some(Setup::load(tls, host)?)),
            SyslogAddr::Unix(_) => unreachable!("a Unix socket is not a network receiver"),
        };
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| Error::io(format!("cannot resolve the syslog receiver {addr}"), e))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::io(
                format!("cannot resolve the syslog receiver {addr}"),
                io::Error::new(io::ErrorKind::NotFound, "no address"),
            ));
        }
        let transport = if tcp {
            Transport::Tcp(Box::new(Tcp {
                addrs,
                next: 0,
                tried: 0,
                conn: None,
                tls,
                backoff: Backoff::new(MIN_RECONNECT, MAX_RECONNECT),
                frame: Vec::new(),
                sent: 0,
                frame_of: (0, Level::INFO),
            }))
        } else {
            let to = addrs[0];
            let local: SocketAddr = if to.is_ipv4() {
                ([0u8; 4], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let sock = UdpSocket::bind(local)
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .map_err(|e| {
                    Error::io(format!("cannot create a socket for syslog at {addr}"), e)
                })?;
            Transport::Udp { sock, to }
        };
        let mut host_app = vec![b' '];
        push_token(&mut host_app, hostname().as_bytes(), MAX_HOSTNAME);
        host_app.push(b' ');
        push_token(&mut host_app, ident.as_bytes(), MAX_APP_NAME);
        host_app.push(b' ');
        let mut s = NetSyslog {
            addr: addr.clone(),
            facility,
            host_app,
            stamp: Vec::new(),
            offset: Vec::new(),
            stamp_sec: i64::MIN,
            header: Vec::new(),
            transport,
            note: None,
        };
        if let Transport::Tcp(t) = &mut s.transport {
            // Under way while the logger starts. A failure here is not kept: the first record
            // tries again at once and reports what it meets (a note kept from here could be
            // replaced by that attempt's before the lane takes it: one failure unreported).
            let mut failure = None;
            let _ = t.connected(&s.addr, &mut failure);
            if failure.is_some() {
                t.backoff.reset();
            }
        }
        Ok(s)
    }

    pub(crate) fn addr(&self) -> &SyslogAddr {
        &self.addr
    }

    /// What to report that did not fail a record.
    pub(crate) fn take_note(&mut self) -> Option<Error> {
        self.note.take()
    }

    /// Sends one record: `line` is `MSGID SP STRUCTURED-DATA SP MSG` (see `render::sd`).
    /// `WouldBlock`: not now (a full socket buffer, no connection yet); call again with the
    /// same record.
    pub(crate) fn send(&mut self, level: Level, ts: i64, line: &[u8]) -> io::Result<()> {
        // Once per record: the header's PROCID, and how a fork child knows it is one.
        let pid = std::process::id();
        self.make_header(level, ts, pid);
        match &mut self.transport {
            Transport::Udp { sock, to } => {
                let total = self.header.len() + line.len();
                let mut keep = line.len();
                if total > MAX_DATAGRAM {
                    let room = MAX_DATAGRAM.saturating_sub(self.header.len());
                    if room < msg_start(line) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "the record's header and structured data take {} bytes, more \
                                 than one datagram carries ({MAX_DATAGRAM})",
                                self.header.len() + msg_start(line)
                            ),
                        ));
                    }
                    keep = char_boundary(line, room);
                }
                let h = self.header.len();
                self.header.extend_from_slice(&line[..keep]);
                let r = sock.send_to(&self.header, *to);
                self.header.truncate(h);
                r?;
                if keep < line.len() {
                    self.note = Some(Error::invalid(format!(
                        "a syslog record of {total} bytes was cut to {} bytes: a datagram to {} \
                         carries at most {MAX_DATAGRAM}",
                        h + keep,
                        self.addr
                    )));
                }
                Ok(())
            }
            Transport::Tcp(t) => t.send(
                &self.addr,
                &mut self.note,
                &self.header,
                pid,
                (level, ts),
                line,
            ),
        }
    }

    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID ` into `self.header`.
    fn make_header(&mut self, level: Level, ts: i64, pid: u32) {
        let ts = if ts == NO_TIMESTAMP {
            crate::front::time::now_ns()
        } else {
            ts
        };
        let sec = ts.div_euclid(1_000_000_000);
        if sec != self.stamp_sec {
            local_rfc3339(sec, &mut self.stamp, &mut self.offset);
            self.stamp_sec = sec;
        }
        let h = &mut self.header;
        h.clear();
        h.push(b'<');
        push_u64(h, u64::from(self.facility) * 8 + u64::from(severity(level)));
        h.extend_from_slice(b">1 ");
        h.extend_from_slice(&self.stamp);
        h.push(b'.');
        let us = ts.rem_euclid(1_000_000_000) / 1000;
        let mut digits = [b'0'; 6];
        let mut v = us;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        h.extend_from_slice(&digits);
        h.extend_from_slice(&self.offset);
        h.extend_from_slice(&self.host_app);
        push_u64(h, u64::from(pid));
        h.push(b' ');
    }
}

impl Tcp {
    fn send(
        &mut self,
        addr: &SyslogAddr,
        note: &mut Option<Error>,
        header: &[u8],
        pid: u32,
        (level, ts): (Level, i64),
        line: &[u8],
    ) -> io::Result<()> {
        if self.conn.as_ref().is_some_and(|c| c.pid != pid) {
            // A fork child: the connection (and the message on it) is the parent's. Closing
            // our copy of the descriptor leaves the parent's connection alone.
            self.conn = None;
            self.frame.clear();
            self.sent = 0;
            self.backoff.retry_now();
        }
        let same = !self.frame.is_empty()
            && self.frame_of == (ts, level)
            && self.frame.ends_with(line)
            && self.frame.len() > line.len() + header.len()
            && self.frame[..self.frame.len() - line.len()].ends_with(header);
        if !same {
            if self.sent > 0 {
                // The lane gave up on the message this connection is in the middle of (it
                // dropped it): end the connection so that the receiver discards that frame
                // rather than take the next message as its rest.
                self.conn = None;
                self.sent = 0;
                *note = Some(Error::invalid(format!(
                    "closed the connection to the syslog receiver {addr} in the middle of a \
                     dropped record; reconnecting"
                )));
            }
            self.frame.clear();
            push_u64(&mut self.frame, (header.len() + line.len()) as u64);
            self.frame.push(b' ');
            self.frame.extend_from_slice(header);
            self.frame.extend_from_slice(line);
            self.frame_of = (ts, level);
        }
        // At most one reconnection per call: a receiver that accepts and closes at once
        // costs one attempt per retry of the lane, not a busy loop.
        for _ in 0..2 {
            if !self.connected(addr, note) {
                break;
            }
            let conn = self.conn.as_mut().expect("connected");
            if self.sent == 0 {
                if let Err(e) = conn.alive() {
                    self.lost(addr, note, e);
                    continue;
                }
            }
            let mut broke = None;
            while self.sent < self.frame.len() {
                match conn.write(&self.frame[self.sent..]) {
                    Ok(0) => {
                        broke = Some(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
                        break;
                    }
                    Ok(n) => self.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                    Err(e) => {
                        broke = Some(e);
                        break;
                    }
                }
            }
            if broke.is_none() {
                // TLS: the message is sent when the socket took its last record.
                match conn.flush() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                    Err(e) => broke = Some(e),
                }
            }
            match broke {
                None => {
                    self.frame.clear();
                    self.sent = 0;
                    return Ok(());
                }
                // Lost in the middle: the whole message goes again on the next connection.
                Some(e) => self.lost(addr, note, e),
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// The connection broke: forget it; the next attempt comes at once (a restarted receiver
    /// is usually back), then with backoff.
    fn lost(&mut self, addr: &SyslogAddr, note: &mut Option<Error>, e: io::Error) {
        let peer = self.conn.take().map(|c| c.addr);
        self.sent = 0;
        self.backoff.retry_now();
        let peer = peer.map_or(String::new(), |p| format!(" ({p})"));
        *note = Some(Error::io(
            format!("lost the connection to the syslog receiver {addr}{peer}; reconnecting"),
            e,
        ));
    }

    /// Whether a connection is up, making progress towards one if not (never blocking).
    fn connected(&mut self, addr: &SyslogAddr, note: &mut Option<Error>) -> bool {
        // Each pass either returns or moves on to the next address; a round of failures sets
        // `retry_at`, which ends the loop.
        loop {
            let now = Instant::now();
            let Some(c) = &mut self.conn else {
                if self.backoff.waiting(now) {
                    return false;
                }
                self.backoff.retry_now();
                let to = self.addrs[self.next % self.addrs.len()];
                match connect_nonblocking(&to) {
                    Ok(stream) => {
                        self.conn = Some(Conn {
                            stream,
                            connected: false,
                            session: None,
                            ready: false,
                            started: now,
                            pid: std::process::id(),
                            addr: to,
                        })
                    }
                    Err(e) => self.failed(addr, note, to, e),
                }
                continue;
            };
            if c.ready {
                return true;
            }
            let elapsed = now.duration_since(c.started);
            let step = if !c.connected {
                connect_done(&c.stream, elapsed).map(|done| {
                    c.connected = done;
                    // With TLS, the handshake comes next.
                    done && self.tls.is_none()
                })
            } else {
                match (&mut c.session, &self.tls) {
                    (Some(s), _) => s.handshake(&mut c.stream).and_then(|done| {
                        if done || elapsed < CONNECT_TIMEOUT {
                            Ok(done)
                        } else {
                            Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!(
                                    "the TLS handshake did not finish within {} s",
                                    CONNECT_TIMEOUT.as_secs()
                                ),
                            ))
                        }
                    }),
                    (None, Some(setup)) => match setup.session() {
                        Ok(s) => {
                            c.session = Some(s);
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                    (None, None) => Ok(true),
                }
            };
            let err = match step {
                Ok(true) => {
                    c.ready = true;
                    self.tried = 0;
                    self.backoff.reset();
                    return true;
                }
                Ok(false) if !c.connected || c.session.is_some() => return false,
                // Connected, the TLS session comes next.
                Ok(false) => continue,
                Err(e) => e,
            };
            let to = c.addr;
            self.conn = None;
            self.failed(addr, note, to, err);
        }
    }

    /// The attempt on `to` failed: try the next address, and after a round of them wait
    /// (doubling) and report.
    fn failed(
        &mut self,
        addr: &SyslogAddr,
        note: &mut Option<Error>,
        to: SocketAddr,
        e: io::Error,
    ) {
        self.next = (self.next + 1) % self.addrs.len();
        self.tried += 1;
        if self.tried < self.addrs.len() {
            return;
        }
        self.tried = 0;
        let wait = self.backoff.failed();
        *note = Some(Error::io(
            format!(
                "cannot connect to the syslog receiver {addr} ({to}); retrying in {} ms",
                wait.as_millis()
            ),
            e,
        ));
    }
}

impl Conn {
    /// Whether the receiver still has the connection (and its TLS session) open.
    fn alive(&mut self) -> io::Result<()> {
        match &mut self.session {
            Some(s) => s.alive(&mut self.stream),
            None => alive(&self.stream),
        }
    }

    /// Writes (TLS: takes into the session) as much of `b` as the connection takes now.
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.session {
            Some(s) => s.write(&mut self.stream, b),
            None => self.stream.write(b),
        }
    }

    /// TLS: sends what the session holds (`WouldBlock` while the socket takes no more).
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.session {
            Some(s) => s.flush(&mut self.stream),
            None => Ok(()),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // A TLS session ends with `close_notify` when the socket takes it; never in a fork
        // child (the session is the parent's).
        if let Some(s) = &mut self.session {
            if self.ready && self.pid == std::process::id() {
                s.close(&mut self.stream);
            }
        }
    }
}

/// Whether the receiver still has the connection open: a peek that finds the end of the
/// stream (or an error) says it closed it.
pub(crate) fn alive(s: &TcpStream) -> io::Result<()> {
    let mut b = [0u8; 1];
    // SAFETY: a one-byte buffer valid for writing.
    let r = unsafe {
        libc::recv(
            s.as_raw_fd(),
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match r {
        0 => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the receiver closed the connection",
        )),
        n if n > 0 => Ok(()),
        _ => {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(()),
                _ => Err(e),
            }
        }
    }
}

/// Whether the connection of `stream` (from [`connect_nonblocking`], under way for
/// `elapsed`) is made: `Ok(false)` while under way; an error when it failed or took
/// [`CONNECT_TIMEOUT`]. Never waits.
pub(crate) fn connect_done(stream: &TcpStream, elapsed: Duration) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let ready = unsafe { libc::poll(&mut p, 1, 0) } > 0;
    if !ready {
        if elapsed < CONNECT_TIMEOUT {
            return Ok(false);
        }
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connection timed out",
        ));
    }
    match stream.take_error() {
        Ok(None) if stream.peer_addr().is_ok() => Ok(true),
        Ok(None) => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
        Ok(Some(e)) | Err(e) => Err(e),
    }
}

/// A non-blocking TCP socket connecting (or already connected) to `to`.
pub(crate) fn connect_nonblocking(to: &SocketAddr) -> io::Result<TcpStream> {
    // SAFETY: zeroed sockaddr structures are valid; each is filled before use.
    let (family, storage, len) = unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let len = match to {
            SocketAddr::V4(a) => {
                let sin =
                    &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = &mut *(&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>();
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_flowinfo = a.flowinfo().to_be();
                sin6.sin6_addr.s6_addr = a.ip().octets();
                sin6.sin6_scope_id = a.scope_id();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        let family = if to.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        (family, storage, len as libc::socklen_t)
    };
    // SAFETY: plain socket creation; the result is checked.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket we just made and own.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    // SAFETY: `storage` holds a sockaddr of `len` bytes.
    let r = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if r == 0 {
        return Ok(stream);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok(stream)
    } else {
        Err(e)
    }
}

/// The machine's name (`gethostname`).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the result is NUL-terminated within it
    // when the call succeeds (the last byte stays 0).
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    let n = if ok {
        buf.iter().position(|&b| b == 0).unwrap_or(0)
    } else {
        0
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A header token: printable US-ASCII, others `_`, at most `max` bytes; `-` when empty.
fn push_token(out: &mut Vec<u8>, v: &[u8], max: usize) {
    if v.is_empty() {
        out.push(b'-');
        return;
    }
    out.extend(
        v.iter()
            .take(max)
            .map(|&b| if (0x21..=0x7e).contains(&b) { b } else { b'_' }),
    );
}

/// `YYYY-MM-DDTHH:MM:SS` and `+hh:mm` of `sec` in the local time zone.
fn local_rfc3339(sec: i64, stamp: &mut Vec<u8>, offset: &mut Vec<u8>) {
    // SAFETY: `tm` is plain data that localtime_r fills; both pointers are valid for the call.
    let tm = unsafe {
        let t = sec as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            // Out of range: UTC via gmtime_r, which handles what localtime_r does not.
            libc::gmtime_r(&t, &mut tm);
        }
        tm
    };
    stamp.clear();
    let two = |out: &mut Vec<u8>, v: i64| {
        let v = v.clamp(0, 99) as u8;
        out.extend_from_slice(&[b'0' + v / 10, b'0' + v % 10]);
    };
    let year = (i64::from(tm.tm_year) + 1900).clamp(0, 9999);
    two(stamp, year / 100);
    two(stamp, year % 100);
    stamp.push(b'-');
    two(stamp, i64::from(tm.tm_mon) + 1);
    stamp.push(b'-');
    two(stamp, i64::from(tm.tm_mday));
    stamp.push(b'T');
    two(stamp, i64::from(tm.tm_hour));
    stamp.push(b':');
    two(stamp, i64::from(tm.tm_min));
    stamp.push(b':');
    two(stamp, i64::from(tm.tm_sec).min(59));
    offset.clear();
    let off = tm.tm_gmtoff as i64 / 60;
    offset.push(if off < 0 { b'-' } else { b'+' });
    two(offset, off.abs() / 60);
    offset.push(b':');
    two(offset, off.abs() % 60);
}

/// Where MSG starts in `MSGID SP SD SP MSG` (the end of the line when it has none).
fn msg_start(line: &[u8]) -> usize {
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return line.len();
    };
    let sd = sp + 1;
    if line.get(sd) == Some(&b'-') {
        return (sd + 2).min(line.len());
    }
    // Elements `[...]` follow one another; inside quotes a backslash escapes one byte.
    let (mut i, mut quoted) = (sd, false);
    while i < line.len() {
        match line[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b']' if !quoted && line.get(i + 1) != Some(&b'[') => {
                return (i + 2).min(line.len());
            }
            _ => {}
        }
        i += 1;
    }
    line.len()
}

/// The largest `n <= max` that does not split a UTF-8 character of `b`.
fn char_boundary(b: &[u8], max: usize) -> usize {
    let mut n = max.min(b.len());
    while n > 0 && n < b.len() && b[n] & 0xc0 == 0x80 {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn tcp(port: u16) -> NetSyslog {
        let addr = SyslogAddr::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        NetSyslog::open(&addr, 1, "t e\nst", &SyslogTls::default()).unwrap()
    }

    /// Calls `send` until it is not `WouldBlock` (the lane's retry, compressed).
    fn send_until_done(s: &mut NetSyslog, ts: i64, line: &[u8], mut between: impl FnMut()) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match s.send(Level::INFO, ts, line) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => between(),
                Err(e) => panic!("{e}"),
            }
            assert!(Instant::now() < deadline, "never sent");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let sp = bytes.iter().position(|&b| b == b' ').unwrap();
            let n: usize = std::str::from_utf8(&bytes[..sp]).unwrap().parse().unwrap();
            out.push(bytes[sp + 1..sp + 1 + n].to_vec());
            bytes = &bytes[sp + 1 + n..];
        }
        out
    }

    #[test]
    fn header_fields_and_octet_counting() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = tcp(server.local_addr().unwrap().port());
        send_until_done(&mut s, 1_700_000_000_000_001_999, b"- - hello", || {});
        drop(s);
        let (mut c, _) = server.accept().unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        let f = frames(&got);
        assert_eq!(f.len(), 1);
        let text = String::from_utf8(f[0].clone()).unwrap();
        let (mut stamp, mut off) = (Vec::new(), Vec::new());
        local_rfc3339(1_700_000_000, &mut stamp, &mut off);
        let want = format!(
            "<14>1 {}.000001{} {} t_e_st {} - - hello",
            String::from_utf8(stamp).unwrap(),
            String::from_utf8(off).unwrap(),
            hostname(),
            std::process::id()
        );
        assert_eq!(text, want);
    }

    #[test]
    fn a_message_cut_by_a_broken_connection_is_sent_whole_on_the_next() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = tcp(server.local_addr().unwrap().port());
        // Far more than the socket buffers hold: the first send writes part of it.
        let mut line = b"- - ".to_vec();
        line.extend((0..8 << 20).map(|i| b'a' + (i % 26) as u8));
        let first = loop {
            match s.send(Level::INFO, 5, &line) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Transport::Tcp(t) = &s.transport {
                        if t.sent > 0 {
                            break t.sent;
                        }
                    }
                }
                other => panic!("{other:?}"),
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(first < line.len());
        // The receiver reads a little of that connection and closes it.
        let (mut c1, _) = server.accept().unwrap();
        let mut some = [0u8; 1000];
        c1.read_exact(&mut some).unwrap();
        drop(c1);
        // The next connection gets the whole message, once.
        let reader = std::thread::spawn(move || {
            let (mut c2, _) = server.accept().unwrap();
            let mut got = Vec::new();
            c2.read_to_end(&mut got).unwrap();
            got
        });
        send_until_done(&mut s, 5, &line, || {});
        let note = s.take_note().expect("the lost connection is reported");
        assert!(
            note.to_string()
                .starts_with("lost the connection to the syslog receiver tcp://127.0.0.1:"),
            "{note}"
        );
        drop(s);
        let got = reader.join().unwrap();
        let f = frames(&got);
        assert_eq!(f.len(), 1);
        assert!(f[0].ends_with(&line));
    }

    #[test]
    fn without_a_receiver_it_waits_and_reports_with_backoff() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = tcp(port);
        let e = s.send(Level::INFO, 1, b"- - m").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        let note = s.take_note().expect("reported").to_string();
        assert!(
            note.starts_with(&format!(
                "cannot connect to the syslog receiver tcp://127.0.0.1:{port} (127.0.0.1:{port}); retrying in"
            )),
            "{note}"
        );
        // The next attempt waits for its time: no report, no connect in between.
        assert!(s.send(Level::INFO, 1, b"- - m").is_err());
        assert!(s.take_note().is_none());
        // A receiver that comes back gets the record.
        let server = TcpListener::bind(("127.0.0.1", port)).unwrap();
        send_until_done(&mut s, 1, b"- - m", || {});
        drop(s);
        let (mut c, _) = server.accept().unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(frames(&got).len(), 1);
    }

    #[test]
    fn udp_cuts_in_the_text_and_refuses_oversized_structured_data() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = SyslogAddr::Udp {
            host: "127.0.0.1".into(),
            port: server.local_addr().unwrap().port(),
        };
        let mut s = NetSyslog::open(&addr, 1, "t", &SyslogTls::default()).unwrap();
        let mut line = b"- [alog@32473 k=\"v\\]\"] ".to_vec();
        line.extend("é".repeat(5000).as_bytes());
        s.send(Level::INFO, 1, &line).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf).unwrap();
        assert!(n == MAX_DATAGRAM || n == MAX_DATAGRAM - 1, "{n}");
        let text = std::str::from_utf8(&buf[..n]).expect("cut at a character boundary");
        assert!(text.contains("- [alog@32473 k=\"v\\]\"] éé"));
        assert!(s.take_note().unwrap().to_string().contains("cut to"));
        let mut big = b"- [alog@32473 k=\"".to_vec();
        big.extend([b'x'; 9000]);
        big.extend(b"\"] m");
        let e = s.send(Level::INFO, 1, &big).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_starts_again_after_a_success() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(50), ms(300));
        assert!(!b.waiting(Instant::now()));
        let waits: Vec<_> = (0..5).map(|_| b.failed()).collect();
        assert_eq!(waits, [ms(50), ms(100), ms(200), ms(300), ms(300)]);
        assert!(b.waiting(Instant::now()));
        assert!(!b.waiting(Instant::now() + ms(301)));
        b.retry_now();
        assert!(!b.waiting(Instant::now()));
        assert_eq!(
            b.failed(),
            ms(300),
            "retry_now keeps the wait it had reached"
        );
        b.reset();
        assert!(!b.waiting(Instant::now()));
        assert_eq!(b.failed(), ms(50));
    }

    #[test]
    fn where_the_message_starts() {
        assert_eq!(msg_start(b"- - m"), 4);
        assert_eq!(msg_start(b"ID [a x=\"]\\\"\"] m"), 15);
        assert_eq!(msg_start(b"- [a][b c=\"d\"] m"), 15);
        assert_eq!(msg_start(b"- -"), 3);
        assert_eq!(char_boundary("aé".as_bytes(), 2), 1);
        assert_eq!(char_boundary("aé".as_bytes(), 3), 3);
    }
}
