//! Checks of the outputs' settings, for the configuration to call before
//! it changes anything. Each returns the value to use or a sentence that
//! says what is wrong and what would be right.
//!
//! Host names are not resolved here: a collector that is down or not in
//! the DNS yet is the spool's business, not a configuration error.

use std::ffi::CString;
use std::path::Path;
use std::time::Duration;

use nix::unistd::{access, AccessFlags};

use super::file::{DiskFull, Flush};
use super::syslog::conn::{self, TlsConfig};
use super::syslog::rfc5424::FACILITIES;
use super::syslog::Protocol;
use crate::format::Format;

/// A port number, 1 to 65535.
pub fn port(s: &str) -> Result<u16, String> {
    match s.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        Ok(p) => Err(format!("port {p} is out of range: give 1 to 65535")),
        Err(_) => Err(format!("port {s:?} is not a number: give 1 to 65535")),
    }
}

fn host_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A collector address, `HOST:PORT` or `[IPV6]:PORT`.
pub fn address(s: &str) -> Result<String, String> {
    let hint = "give HOST:PORT, such as logs.example.com:6514, 192.0.2.7:514 or [2001:db8::7]:514";
    let (host, p) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(|| {
            format!("address {s:?} has no port after the bracketed IPv6 address: {hint}")
        })?;
        h.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("address {s:?}: {h:?} is not an IPv6 address: {hint}"))?;
        (h, p)
    } else {
        let (h, p) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("address {s:?} has no port: {hint}"))?;
        if h.contains(':') {
            return Err(format!(
                "address {s:?}: put an IPv6 address in brackets: {hint}"
            ));
        }
        if h.parse::<std::net::Ipv4Addr>().is_err() && !host_ok(h) {
            return Err(format!(
                "address {s:?}: {h:?} is not a valid host name: {hint}"
            ));
        }
        (h, p)
    };
    port(p).map_err(|e| format!("address {s:?}: {e}; {hint}"))?;
    let _ = host;
    Ok(s.to_string())
}

/// A name the server certificate must carry.
pub fn server_name(s: &str) -> Result<String, String> {
    rustls::pki_types::ServerName::try_from(s.to_string())
        .map(|_| s.to_string())
        .map_err(|e| format!("TLS server name {s:?} is not a valid DNS name or IP address: {e}"))
}

/// A CA file: readable, PEM, at least one certificate usable as a trust
/// anchor.
pub fn ca_file(path: &Path) -> Result<(), String> {
    conn::root_store(Some(path)).map(drop)
}

/// The whole TLS setting: certificates readable and parsing, a client
/// key that fits its certificate, a valid server name.
pub fn tls(t: &TlsConfig) -> Result<(), String> {
    if let Some(n) = &t.server_name {
        server_name(n)?;
    }
    conn::client_config(t).map(drop)
}

/// A directory the daemon can write to, or create: an absolute path,
/// an existing directory with write access, or a missing one whose
/// nearest existing parent is a writable directory.
pub fn writable_dir(path: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!("{}: give an absolute path", path.display()));
    }
    let mut p = path;
    loop {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(format!(
                    "{}: {} is not a directory",
                    path.display(),
                    p.display()
                ));
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                p = p
                    .parent()
                    .ok_or_else(|| format!("{}: no existing parent", path.display()))?;
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    access(p, AccessFlags::W_OK | AccessFlags::X_OK)
        .map_err(|e| format!("{}: cannot write in {}: {e}", path.display(), p.display()))
}

/// A size within `[min, max]` bytes, named `what` in the message.
pub fn size(what: &str, bytes: u64, min: u64, max: u64) -> Result<u64, String> {
    if (min..=max).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!(
            "{what} {bytes} is out of range: give {min} to {max} bytes"
        ))
    }
}

/// The number of log generations kept, 1 to 999.
pub fn num_logs(n: u64) -> Result<u32, String> {
    match n {
        1..=999 => Ok(n as u32),
        _ => Err(format!("num_logs {n} is out of range: give 1 to 999")),
    }
}

/// A syslog facility by name.
pub fn facility(s: &str) -> Result<u8, String> {
    FACILITIES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
            format!(
                "facility {s:?} is unknown: give one of {}",
                names.join(", ")
            )
        })
}

/// A group by name or number.
pub fn group(s: &str) -> Result<u32, String> {
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    if CString::new(s).is_err() {
        return Err(format!("group {s:?} holds a NUL byte"));
    }
    match nix::unistd::Group::from_name(s) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!(
            "group {s:?} does not exist: create it or give a number"
        )),
        Err(e) => Err(format!("group {s:?}: cannot look it up: {e}")),
    }
}

/// `none`, `every`, or an interval such as `1s`, `250ms` (at most an
/// hour).
pub fn flush(s: &str) -> Result<Flush, String> {
    let hint = "give none, every, or an interval such as 1s or 250ms";
    match s {
        "none" => return Ok(Flush::None),
        "every" => return Ok(Flush::Every),
        _ => {}
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("flush {s:?}: {hint}"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        _ => return Err(format!("flush {s:?}: {hint}")),
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!(
            "flush {s:?}: the interval must be above 0 and at most 1 h"
        ));
    }
    Ok(Flush::Interval(d))
}

/// `stop` or `remove_oldest`.
pub fn disk_full(s: &str) -> Result<DiskFull, String> {
    match s {
        "stop" => Ok(DiskFull::Stop),
        "remove_oldest" => Ok(DiskFull::RemoveOldest),
        _ => Err(format!(
            "disk_full_action {s:?}: give stop or remove_oldest"
        )),
    }
}

/// `text` or `json`.
pub fn format(s: &str) -> Result<Format, String> {
    match s {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        _ => Err(format!("format {s:?}: give text or json")),
    }
}

/// `tcp` or `relp`.
pub fn protocol(s: &str) -> Result<Protocol, String> {
    match s {
        "tcp" => Ok(Protocol::Tcp),
        "relp" => Ok(Protocol::Relp),
        _ => Err(format!("protocol {s:?}: give tcp or relp")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::file::tests::tempdir;

    #[test]
    fn addresses_and_ports() {
        for ok in [
            "logs.example.com:6514",
            "127.0.0.1:514",
            "[::1]:2514",
            "h:1",
            "a_b.c:65535",
        ] {
            assert_eq!(address(ok).unwrap(), ok);
        }
        for (bad, why) in [
            ("logs.example.com", "no port"),
            ("h:0", "out of range"),
            ("h:65536", "out of range"),
            ("h:http", "not a number"),
            (":514", "not a valid host"),
            ("::1:514", "brackets"),
            ("[::g]:514", "not an IPv6"),
            ("[::1]514", "no port"),
            ("a..b:1", "not a valid host"),
            ("-a:1", "not a valid host"),
            ("a b:1", "not a valid host"),
        ] {
            let e = address(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.contains("HOST:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn directories() {
        let d = tempdir("validate");
        writable_dir(&d).unwrap();
        writable_dir(&d.join("new/deeper")).unwrap();
        assert!(writable_dir(Path::new("relative"))
            .unwrap_err()
            .contains("absolute"));
        std::fs::write(d.join("f"), b"").unwrap();
        assert!(writable_dir(&d.join("f/sub"))
            .unwrap_err()
            .contains("not a directory"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn certificates() {
        let d = tempdir("validate-ca");
        let missing = d.join("missing.pem");
        assert!(ca_file(&missing).unwrap_err().contains("cannot read"));
        std::fs::write(d.join("empty.pem"), b"").unwrap();
        assert!(ca_file(&d.join("empty.pem"))
            .unwrap_err()
            .contains("no PEM certificate"));
        std::fs::write(
            d.join("junk.pem"),
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(ca_file(&d.join("junk.pem")).is_err());
        assert!(server_name("logs.example.com").is_ok());
        assert!(server_name("bad name").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_rest() {
        assert_eq!(facility("local3").unwrap(), 19);
        assert!(facility("local9").unwrap_err().contains("authpriv"));
        assert_eq!(group("0").unwrap(), 0);
        assert_eq!(group("root").unwrap(), 0);
        assert!(group("no-such-group-sagafs")
            .unwrap_err()
            .contains("does not exist"));
        assert_eq!(flush("every").unwrap(), Flush::Every);
        assert_eq!(flush("none").unwrap(), Flush::None);
        assert_eq!(
            flush("250ms").unwrap(),
            Flush::Interval(Duration::from_millis(250))
        );
        assert_eq!(
            flush("2s").unwrap(),
            Flush::Interval(Duration::from_secs(2))
        );
        for bad in ["0s", "2h", "s", "5", "-1s", "1.5s"] {
            assert!(flush(bad).is_err(), "{bad}");
        }
        assert_eq!(disk_full("remove_oldest").unwrap(), DiskFull::RemoveOldest);
        assert!(disk_full("halt").is_err());
        assert!(num_logs(0).is_err());
        assert_eq!(num_logs(5).unwrap(), 5);
        assert!(size("max_log_file", 10, 64 << 10, 1 << 40)
            .unwrap_err()
            .contains("65536"));
        assert_eq!(format("json").unwrap(), Format::Json);
        assert_eq!(protocol("relp").unwrap(), Protocol::Relp);
        assert!(protocol("udp").unwrap_err().contains("tcp or relp"));
    }
}
