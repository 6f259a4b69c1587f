//! TLS for the network syslog sink (`syslog=tls://HOST:PORT`, RFC 5425): rustls with the
//! `ring` provider, driven without blocking over the sink's non-blocking TCP socket.
//!
//! [`Setup`] is what the `syslog.tls.*` keys say, loaded once when the logger opens (a file
//! that cannot be read or holds no usable PEM is an error naming its key). Each connection
//! gets a [`Session`]: its handshake runs step by step as the socket allows (bounded by the
//! connection's timeout), then records go through it as TLS records. A failed handshake (a
//! certificate the CA did not sign, a name the certificate does not carry, a receiver that
//! refused us) is an error naming the cause, which the sink reports and retries with backoff.
//!
//! Without the `tls` feature both types are empty (a `tls://` value is refused when it is
//! set), so the sink's code is the same in both builds.
//!
//! TLS 1.3 lets a receiver refuse the client (no certificate, or one it does not accept) only
//! after the client's part of the handshake: a session counts as made when the receiver has
//! sent something after it, or a second passed without a refusal, so that no record goes into
//! a session the receiver refuses.

#[cfg(not(feature = "tls"))]
pub(crate) use off::{Session, Setup};
#[cfg(feature = "tls")]
pub(crate) use on::{Session, Setup};

#[cfg(feature = "tls")]
mod on {
    use std::io::{self, Read, Write};
    use std::net::TcpStream;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use rustls::ProtocolVersion::TLSv1_3;
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    use crate::front::config::SyslogTls;
    use crate::front::error::{Error, Result};

    /// The client's TLS configuration and the name the receiver's certificate must carry.
    pub(crate) struct Setup {
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    }

    /// Reads `path`, the file of configuration key `key`.
    fn read(key: &str, path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| Error::io(format!("{key}: cannot read {}", path.display()), e))
    }

    /// Every certificate of the PEM file of `key` (at least one).
    fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
        let pem = read(key, path)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                Error::invalid(format!(
                    "{key}: {} is not a valid PEM file: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::invalid(format!(
                "{key}: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        Ok(certs)
    }

    impl Setup {
        /// Loads the `syslog.tls.*` files for a receiver named `host`.
        pub(crate) fn load(t: &SyslogTls, host: &str) -> Result<Setup> {
            let Some(ca) = &t.ca else {
                return Err(Error::invalid(
                    "syslog.tls.ca is required for tls://: a PEM file of the CA certificates \
                     that verify the receiver's certificate",
                ));
            };
            let mut roots = RootCertStore::empty();
            for c in certificates("syslog.tls.ca", ca)? {
                roots.add(c).map_err(|e| {
                    Error::invalid(format!(
                        "syslog.tls.ca: a certificate in {} is not usable: {e}",
                        ca.display()
                    ))
                })?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::invalid(format!("TLS for syslog: {e}")))?
                .with_root_certificates(roots);
            let config = match (&t.cert, &t.key) {
                (Some(cert), Some(key)) => {
                    let chain = certificates("syslog.tls.cert", cert)?;
                    let pem = read("syslog.tls.key", key)?;
                    let k = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                        Error::invalid(format!(
                            "syslog.tls.key: {} holds no usable PEM private key: {e}",
                            key.display()
                        ))
                    })?;
                    builder.with_client_auth_cert(chain, k).map_err(|e| {
                        Error::invalid(format!(
                            "syslog.tls.key: {} does not go with syslog.tls.cert {}: {e}",
                            key.display(),
                            cert.display()
                        ))
                    })?
                }
                (None, None) => builder.with_no_client_auth(),
                (Some(_), None) => {
                    return Err(Error::invalid("syslog.tls.cert needs syslog.tls.key too"))
                }
                (None, Some(_)) => {
                    return Err(Error::invalid("syslog.tls.key needs syslog.tls.cert too"))
                }
            };
            let (key, name) = match &t.server_name {
                Some(n) => ("syslog.tls.server_name", n.as_str()),
                None => ("the host of syslog", host),
            };
            let name = ServerName::try_from(name.to_string()).map_err(|_| {
                Error::invalid(format!(
                    "{key}: {name:?} is neither a DNS name nor an IP address"
                ))
            })?;
            Ok(Setup {
                config: Arc::new(config),
                name,
            })
        }

        /// A session for a new connection.
        pub(crate) fn session(&self) -> io::Result<Session> {
            ClientConnection::new(self.config.clone(), self.name.clone())
                .map(|conn| Session {
                    conn,
                    done_at: None,
                    confirmed: false,
                })
                .map_err(|e| io::Error::other(format!("TLS: {e}")))
        }
    }

    /// How long a TLS 1.3 session waits for a sign that the receiver accepted the client
    /// before records go (see [`Session::handshake`]).
    pub(crate) const CONFIRM_WAIT: Duration = Duration::from_secs(1);

    /// One connection's TLS session.
    pub(crate) struct Session {
        conn: ClientConnection,
        /// When our part of the handshake ended (TLS 1.3).
        done_at: Option<Instant>,
        /// The receiver sent something after it.
        confirmed: bool,
    }

    impl Session {
        /// Moves the handshake on as far as the socket allows: `Ok(true)` when it is done,
        /// `Ok(false)` while it waits for the socket; an error names why it failed.
        ///
        /// TLS 1.3 ends the client's part of the handshake before the receiver has checked
        /// the client (its certificate, or the lack of one): a refusal comes after, as an
        /// alert. So with TLS 1.3 the handshake counts as done when the receiver has sent
        /// something after it (OpenSSL and GnuTLS receivers send session tickets at once) or
        /// [`CONFIRM_WAIT`] passed without a refusal; no record goes into a session the
        /// receiver is about to refuse.
        pub(crate) fn handshake(&mut self, sock: &mut TcpStream) -> io::Result<bool> {
            loop {
                match self.flush(sock) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                }
                let done = !self.conn.is_handshaking();
                if done {
                    if self.confirmed || self.conn.protocol_version() != Some(TLSv1_3) {
                        return Ok(true);
                    }
                    let since = *self.done_at.get_or_insert_with(Instant::now);
                    if since.elapsed() >= CONFIRM_WAIT {
                        return Ok(true);
                    }
                }
                if !self.read(sock, "during the TLS handshake")? {
                    return Ok(false);
                }
                if let Err(e) = self.conn.process_new_packets() {
                    // The alert that tells the receiver why (best effort).
                    let _ = self.flush(sock);
                    return Err(failed(e, "TLS handshake failed"));
                }
                // What came after our part of the handshake: the receiver took us.
                self.confirmed = done;
            }
        }

        /// Reads what the receiver sent (session tickets, alerts, its closing) without
        /// waiting: an error when it closed the session or the connection.
        pub(crate) fn alive(&mut self, sock: &mut TcpStream) -> io::Result<()> {
            // Bounded: a receiver that keeps sending does not keep the sink here.
            for _ in 0..64 {
                if !self.read(sock, "")? {
                    return Ok(());
                }
                let state = self
                    .conn
                    .process_new_packets()
                    .map_err(|e| failed(e, "TLS session failed"))?;
                if state.peer_has_closed() {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the receiver closed the TLS session",
                    ));
                }
                // A receiver has nothing to say in syslog: whatever it sends is dropped.
                let mut sink = [0u8; 512];
                let mut left = state.plaintext_bytes_to_read();
                while left > 0 {
                    match self.conn.reader().read(&mut sink) {
                        Ok(n) if n > 0 => left = left.saturating_sub(n),
                        _ => break,
                    }
                }
            }
            Ok(())
        }

        /// Reads what the socket has into the session: `Ok(false)` when it has nothing now;
        /// an error when the receiver closed the connection (`when` says in which step).
        fn read(&mut self, sock: &mut TcpStream, when: &str) -> io::Result<bool> {
            loop {
                return match self.conn.read_tls(sock) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("the receiver closed the connection {when}")
                            .trim_end()
                            .to_string(),
                    )),
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
            }
        }

        /// Takes as much of `buf` as the session buffers (encrypting it) and sends what the
        /// socket takes; `WouldBlock` when it can take nothing now.
        pub(crate) fn write(&mut self, sock: &mut TcpStream, buf: &[u8]) -> io::Result<usize> {
            loop {
                let n = self.conn.writer().write(buf)?;
                if n > 0 {
                    return match self.flush(sock) {
                        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
                        _ => Ok(n),
                    };
                }
                // Its buffer is full: room comes only from the socket.
                self.flush(sock)?;
            }
        }

        /// Sends the TLS records the session holds: `WouldBlock` while the socket takes no
        /// more.
        pub(crate) fn flush(&mut self, sock: &mut TcpStream) -> io::Result<()> {
            while self.conn.wants_write() {
                match self.conn.write_tls(sock) {
                    Ok(0) => {
                        return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"))
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }

        /// Says goodbye (`close_notify`) if the socket takes it now. Not while part of a
        /// message waits to be sent (the lane dropped it): that connection just ends, and the
        /// receiver discards the incomplete frame.
        pub(crate) fn close(&mut self, sock: &mut TcpStream) {
            if self.conn.wants_write() {
                return;
            }
            self.conn.send_close_notify();
            let _ = self.flush(sock);
        }
    }

    /// A TLS failure (`what`: of the handshake or of the session) as an I/O error naming its
    /// cause, with a hint at the key to look at.
    fn failed(e: rustls::Error, what: &str) -> io::Error {
        use rustls::CertificateError as C;
        let hint = match &e {
            rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
                " (syslog.tls.ca does not hold the CA that signed the receiver's certificate)"
            }
            rustls::Error::InvalidCertificate(C::NotValidForName)
            | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
                " (the receiver's certificate does not carry the name syslog.tls.server_name \
                 or the host of syslog gives)"
            }
            rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
                " (the receiver's certificate has expired)"
            }
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
                " (the receiver wants a client certificate: syslog.tls.cert and syslog.tls.key)"
            }
            rustls::Error::AlertReceived(
                rustls::AlertDescription::BadCertificate
                | rustls::AlertDescription::UnknownCA
                | rustls::AlertDescription::CertificateUnknown,
            ) => " (the receiver did not accept the client certificate of syslog.tls.cert)",
            _ => "",
        };
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}{hint}"))
    }
}

#[cfg(not(feature = "tls"))]
mod off {
    use std::io;
    use std::net::TcpStream;

    use crate::front::config::SyslogTls;
    use crate::front::error::{Error, Result};

    /// Never made: this build has no TLS.
    pub(crate) enum Setup {}
    pub(crate) enum Session {}

    impl Setup {
        pub(crate) fn load(_: &SyslogTls, _: &str) -> Result<Setup> {
            Err(Error::invalid(
                "syslog: this build of alog has no TLS (alog-core is built without its `tls` \
                 feature)",
            ))
        }

        pub(crate) fn session(&self) -> io::Result<Session> {
            match *self {}
        }
    }

    impl Session {
        pub(crate) fn handshake(&mut self, _: &mut TcpStream) -> io::Result<bool> {
            match *self {}
        }

        pub(crate) fn alive(&mut self, _: &mut TcpStream) -> io::Result<()> {
            match *self {}
        }

        pub(crate) fn write(&mut self, _: &mut TcpStream, _: &[u8]) -> io::Result<usize> {
            match *self {}
        }

        pub(crate) fn flush(&mut self, _: &mut TcpStream) -> io::Result<()> {
            match *self {}
        }

        pub(crate) fn close(&mut self, _: &mut TcpStream) {
            match *self {}
        }
    }
}
