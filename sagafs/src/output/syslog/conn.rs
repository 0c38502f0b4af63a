//! Connections to the collector: TCP, or TLS over TCP (RFC 5425) with
//! rustls, the server's certificate checked against a CA file or the
//! system's store and its name against the configured one.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// TLS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file of the CA certificates to trust; `None`: the system's
    /// store (`/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    pub ca_file: Option<PathBuf>,
    /// The name the server's certificate must carry; `None`: the host
    /// part of the address.
    pub server_name: Option<String>,
    /// A client certificate and its key (PEM), for collectors that
    /// authenticate their senders.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// The certificates in a PEM file; an error a person can act on.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a valid PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The trust anchors: from `ca_file` or the system's store.
pub fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(p) => {
            for c in load_certs(p)? {
                roots.add(c).map_err(|e| {
                    format!("{}: a certificate is not usable as a CA: {e}", p.display())
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // A system store holds certificates rustls cannot use
                // (old formats); the others still count.
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err(format!(
                    "the system's certificate store is empty or unreadable ({} errors); \
                     install ca-certificates or give a CA file",
                    found.errors.len()
                ));
            }
        }
    }
    Ok(roots)
}

/// The rustls client configuration for `tls`.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<ClientConfig>, String> {
    let roots = root_store(tls.ca_file.as_deref())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    let config = match &tls.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = load_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("the client certificate and key do not fit: {e}"))?
        }
    };
    Ok(Arc::new(config))
}

/// The host part of `host:port` (brackets of an IPv6 address removed).
pub fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// A connection, plain or TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// Connects to `address` (every address it resolves to, in turn),
    /// then runs the TLS handshake if `tls` is given.
    pub fn connect(
        address: &str,
        tls: Option<(&Arc<ClientConfig>, &str)>,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let mut last = None;
        let addrs = address
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {address}: {e}")))?;
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(io::Error::new(e.kind(), format!("connect to {a}: {e}"))),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            last.unwrap_or_else(|| io::Error::other(format!("{address} resolves to no address")))
        })?;
        tcp.set_write_timeout(Some(timeout))?;
        tcp.set_read_timeout(Some(timeout))?;
        let Some((config, name)) = tls else {
            return Ok(Stream::Plain(tcp));
        };
        let server = ServerName::try_from(name.to_string()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("server name {name:?}: {e}"),
            )
        })?;
        let conn = ClientConnection::new(Arc::clone(config), server).map_err(io::Error::other)?;
        let mut s = StreamOwned::new(conn, tcp);
        // Handshake now, so that a bad certificate shows as a connection
        // error and not as a failed write later.
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).map_err(|e| {
                io::Error::new(e.kind(), format!("TLS handshake with {address}: {e}"))
            })?;
        }
        Ok(Stream::Tls(Box::new(s)))
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    pub fn set_read_timeout(&self, t: Duration) -> io::Result<()> {
        self.tcp().set_read_timeout(Some(t))
    }

    /// Reads what the peer sent into `sink`, waiting at most `wait`:
    /// `None` if nothing came, `Some(0)` if the peer closed.
    pub fn read_within(&mut self, wait: Duration, sink: &mut Vec<u8>) -> io::Result<Option<usize>> {
        self.set_read_timeout(wait.max(Duration::from_millis(1)))?;
        let mut buf = [0u8; 4096];
        match self.read(&mut buf) {
            Ok(n) => {
                sink.extend_from_slice(&buf[..n]);
                Ok(Some(n))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the peer has closed or reset the connection, without
    /// waiting; data it sent is read into `sink`.
    pub fn peer_closed(&mut self, sink: &mut Vec<u8>) -> io::Result<bool> {
        Ok(self.read_within(Duration::ZERO, sink)? == Some(0))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("logs.example:6514"), "logs.example");
        assert_eq!(host_of("[::1]:514"), "::1");
        assert_eq!(host_of("127.0.0.1:514"), "127.0.0.1");
    }
}
