//! The syslog sink. Locally: one datagram per record to a Unix datagram socket (the local
//! daemon's `/dev/log` unless configured otherwise), in the form glibc's `syslog(3)` sends and
//! every syslog daemon reads: `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE`, the time in local
//! time (RFC 3164). Over the network (`udp://`, `tcp://`, `tls://`): RFC 5424, see
//! `sinks::net`.
//!
//! The socket is not connected: each datagram is addressed to the path, so a daemon that
//! restarts (and recreates its socket) keeps receiving without a reconnect. The socket is
//! non-blocking: a full receive buffer is `WouldBlock`, which the sink's lane retries with
//! backoff (and drops after `stall_timeout_ms`, counted); any other failure (no daemon) counts
//! the record as failed for this sink.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use crate::front::config::{SyslogAddr, SyslogTls};
use crate::front::error::{Error, Result};
use crate::front::level::Level;
use crate::front::time::NO_TIMESTAMP;
use crate::sinks::net::NetSyslog;

pub use crate::front::config::{DEFAULT_SOCKET, FACILITIES};

/// The syslog severity of a level: FATAL crit, ERROR err, WARN warning, INFO info, DEBUG and
/// TRACE debug (each with its finer grades).
pub fn severity(level: Level) -> u8 {
    const BY_BAND: [u8; 6] = [7, 7, 6, 4, 3, 2];
    BY_BAND[usize::from((level.number() - 1) / 4)]
}

/// The program name syslog shows when no ident is configured: the basename of `argv[0]`.
pub fn default_ident() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "alog".into())
}

/// The syslog sink's destination: the local daemon's socket or a network receiver.
pub(crate) enum Syslog {
    Local(Box<Local>),
    Net(Box<NetSyslog>),
}

impl Syslog {
    /// Opens the socket (and resolves a receiver's name) for `addr`; `tls` is for `tls://`.
    pub(crate) fn open(
        addr: &SyslogAddr,
        facility: u8,
        ident: &str,
        tls: &SyslogTls,
    ) -> Result<Syslog> {
        match addr {
            SyslogAddr::Unix(path) => Local::open(path, facility, ident)
                .map(|l| Syslog::Local(Box::new(l)))
                .map_err(|e| {
                    Error::io(
                        format!("cannot create a socket for syslog at {}", path.display()),
                        e,
                    )
                }),
            net => NetSyslog::open(net, facility, ident, tls).map(|n| Syslog::Net(Box::new(n))),
        }
    }

    /// Whether records go out as RFC 5424 (their lines start with MSGID and structured data).
    pub(crate) fn rfc5424(&self) -> bool {
        matches!(self, Syslog::Net(_))
    }

    /// Where records go: the socket's path or the receiver's URL.
    pub(crate) fn describe(&self) -> String {
        match self {
            Syslog::Local(l) => l.path.display().to_string(),
            Syslog::Net(n) => n.addr().to_string(),
        }
    }

    /// Sends one record's formatted line (`ts` in ns since the epoch, or `NO_TIMESTAMP`).
    /// `WouldBlock`: not now, send the same record again later.
    pub(crate) fn send(&mut self, level: Level, ts: i64, line: &[u8]) -> io::Result<()> {
        match self {
            Syslog::Local(l) => l.send(level, ts, line),
            Syslog::Net(n) => n.send(level, ts, line),
        }
    }

    /// Something to report that did not fail a record (a datagram cut to size, a connection
    /// refused or lost).
    pub(crate) fn take_note(&mut self) -> Option<Error> {
        match self {
            Syslog::Local(_) => None,
            Syslog::Net(n) => n.take_note(),
        }
    }
}

/// The local daemon's socket (RFC 3164).
pub(crate) struct Local {
    sock: UnixDatagram,
    path: PathBuf,
    facility: u8,
    ident: Vec<u8>,
    datagram: Vec<u8>,
    /// `Mmm dd hh:mm:ss` of `stamp_sec`, recomputed when the second changes.
    stamp: [u8; 15],
    stamp_sec: i64,
}

impl Local {
    pub(crate) fn open(path: &Path, facility: u8, ident: &str) -> io::Result<Local> {
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        Ok(Local {
            sock,
            path: path.to_path_buf(),
            facility,
            // A newline or NUL would end the header early in some daemons.
            ident: ident.bytes().filter(|b| !b.is_ascii_control()).collect(),
            datagram: Vec::new(),
            stamp: *b"Jan  1 00:00:00",
            stamp_sec: i64::MIN,
        })
    }

    /// Sends one record's formatted line (`ts` in ns since the epoch, or `NO_TIMESTAMP`).
    pub(crate) fn send(&mut self, level: Level, ts: i64, line: &[u8]) -> io::Result<()> {
        let sec = if ts == NO_TIMESTAMP {
            crate::front::time::now_ns().div_euclid(1_000_000_000)
        } else {
            ts.div_euclid(1_000_000_000)
        };
        if sec != self.stamp_sec {
            self.stamp = local_stamp(sec);
            self.stamp_sec = sec;
        }
        let pri = u32::from(self.facility) * 8 + u32::from(severity(level));
        let d = &mut self.datagram;
        d.clear();
        d.push(b'<');
        crate::render::format::push_u64(d, u64::from(pri));
        d.push(b'>');
        d.extend_from_slice(&self.stamp);
        d.push(b' ');
        d.extend_from_slice(&self.ident);
        d.push(b'[');
        crate::render::format::push_u64(d, u64::from(std::process::id()));
        d.extend_from_slice(b"]: ");
        d.extend_from_slice(line);
        self.sock.send_to(d, &self.path).map(|_| ())
    }
}

/// `Mmm dd hh:mm:ss` (day padded with a space) of `sec` in the local time zone.
fn local_stamp(sec: i64) -> [u8; 15] {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    // SAFETY: `tm` is plain data that localtime_r fills; both pointers are valid for the call.
    let tm = unsafe {
        let t = sec as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return *b"Jan  1 00:00:00";
        }
        tm
    };
    let two = |v: libc::c_int, pad: u8| {
        let v = v.clamp(0, 99) as u8;
        [if v < 10 { pad } else { b'0' + v / 10 }, b'0' + v % 10]
    };
    let mut out = [b' '; 15];
    out[..3].copy_from_slice(MONTHS[tm.tm_mon.clamp(0, 11) as usize]);
    out[4..6].copy_from_slice(&two(tm.tm_mday, b' '));
    out[7..9].copy_from_slice(&two(tm.tm_hour, b'0'));
    out[9] = b':';
    out[10..12].copy_from_slice(&two(tm.tm_min, b'0'));
    out[12] = b':';
    out[13..15].copy_from_slice(&two(tm.tm_sec, b'0'));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_follow_the_level_bands() {
        let sev = |n| severity(Level::new(n).unwrap());
        assert_eq!(
            [1, 5, 8, 9, 12, 13, 17, 20, 21, 24].map(sev),
            [7, 7, 7, 6, 6, 4, 3, 3, 2, 2]
        );
    }

    #[test]
    fn datagrams_have_the_syslog3_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut s = Local::open(&path, 16, "my\napp").unwrap();
        s.send(Level::WARN, 1_700_000_000_123_456_789, b"disk 91% full")
            .unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let got = String::from_utf8(buf[..n].to_vec()).unwrap();
        // local0 (16) * 8 + warning (4) = 132; the time is local, so only its shape is known.
        let (head, rest) = got.split_at(5);
        assert_eq!(head, "<132>");
        let stamp = &rest.as_bytes()[..15];
        assert!(
            stamp[3] == b' ' && stamp[6] == b' ' && stamp[9] == b':' && stamp[12] == b':',
            "{got}"
        );
        assert_eq!(
            &rest[16..],
            format!("myapp[{}]: disk 91% full", std::process::id())
        );
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Local::open(&dir.path().join("nobody.sock"), 1, "x").unwrap();
        let e = s.send(Level::INFO, 0, b"m").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
