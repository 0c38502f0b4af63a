//! The outputs' settings: the durable log files, the journal and the
//! remote collector, as the `config` keys set them.  Each value is
//! checked when it is written (a directory the daemon cannot write to, a
//! bad address or port, an unreadable certificate file: the write is
//! refused and nothing changes); [`OutputSettings::check`] checks what
//! only the keys together say (TLS with its CA file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::format::Format;
use crate::output::file::{DiskFull, FileConfig, Flush, MAX_FILE_DEFAULT, NUM_LOGS_DEFAULT};
use crate::output::journal::{JournalConfig, SOCKET_DEFAULT};
use crate::output::syslog::conn::TlsConfig;
use crate::output::syslog::{Protocol, SyslogConfig, SPOOL_DIR_DEFAULT, SPOOL_MAX_DEFAULT};
use crate::output::validate;
use sagafs_mount::size;

/// The range of `max_log_file`, bytes.
pub const MAX_LOG_FILE_MIN: u64 = 64 << 10;
pub const MAX_LOG_FILE_MAX: u64 = 64 << 30;
/// The range of `remote_spool_max`, bytes.
pub const SPOOL_MAX_MIN: u64 = 1 << 20;
pub const SPOOL_MAX_MAX: u64 = 1 << 40;

/// See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSettings {
    /// The log files' directory; empty: no log files.
    pub log_dir: PathBuf,
    pub log_format: Format,
    pub max_log_file: u64,
    pub num_logs: u32,
    pub log_flush: Flush,
    pub disk_full_action: DiskFull,
    /// The group of the log files (mode 0640), from the `gid=` mount
    /// option; `None`: mode 0600.  Not a key.
    pub group: Option<u32>,
    /// Send every record to the systemd journal.
    pub journal: bool,
    /// The collector, `HOST:PORT`; empty: none.
    pub remote: String,
    pub remote_protocol: Protocol,
    pub remote_tls: bool,
    /// The CA file the collector's certificate is checked against; empty:
    /// the system's store.
    pub remote_ca: PathBuf,
    pub remote_spool: PathBuf,
    pub remote_spool_max: u64,
}

impl Default for OutputSettings {
    /// Every output off; the other values their defaults.
    fn default() -> OutputSettings {
        OutputSettings {
            log_dir: PathBuf::new(),
            log_format: Format::Text,
            max_log_file: MAX_FILE_DEFAULT,
            num_logs: NUM_LOGS_DEFAULT,
            log_flush: Flush::Interval(Duration::from_secs(1)),
            disk_full_action: DiskFull::Stop,
            group: None,
            journal: false,
            remote: String::new(),
            remote_protocol: Protocol::Relp,
            remote_tls: false,
            remote_ca: PathBuf::new(),
            remote_spool: PathBuf::from(SPOOL_DIR_DEFAULT),
            remote_spool_max: SPOOL_MAX_DEFAULT,
        }
    }
}

impl OutputSettings {
    /// The file output's settings, if it is on.
    pub fn file(&self) -> Option<FileConfig> {
        if self.log_dir.as_os_str().is_empty() {
            return None;
        }
        Some(FileConfig {
            dir: self.log_dir.clone(),
            format: self.log_format,
            max_file_bytes: self.max_log_file,
            num_logs: self.num_logs,
            flush: self.log_flush,
            disk_full: self.disk_full_action,
            group: self.group,
        })
    }

    /// The journal output's settings, if it is on.
    pub fn journal(&self) -> Option<JournalConfig> {
        self.journal.then(|| JournalConfig {
            socket: PathBuf::from(SOCKET_DEFAULT),
        })
    }

    /// The remote output's settings, if it is on.
    pub fn remote(&self) -> Option<SyslogConfig> {
        if self.remote.is_empty() {
            return None;
        }
        let mut c = SyslogConfig::new(&self.remote, self.remote_protocol);
        c.spool_dir = self.remote_spool.clone();
        c.spool_max_bytes = self.remote_spool_max;
        if self.remote_tls {
            c.tls = Some(TlsConfig {
                ca_file: (!self.remote_ca.as_os_str().is_empty()).then(|| self.remote_ca.clone()),
                server_name: None,
                client_cert: None,
            });
        }
        Some(c)
    }

    /// What only the keys together say: TLS needs trust anchors that load.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(tls) = self.remote().and_then(|c| c.tls) {
            validate::tls(&tls).map_err(|e| ("remote_tls", e))?;
        }
        Ok(())
    }
}

pub(super) fn render_path(p: &Path) -> String {
    p.display().to_string()
}

/// An absolute directory the daemon can write to (or create); empty: off.
pub(super) fn parse_dir_or_off(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        return Ok(PathBuf::new());
    }
    parse_dir(v)
}

pub(super) fn parse_dir(v: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(v);
    validate::writable_dir(&p)?;
    Ok(p)
}

/// A readable PEM file of CA certificates; empty: the system's store.
pub(super) fn parse_ca(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        return Ok(PathBuf::new());
    }
    let p = PathBuf::from(v);
    if !p.is_absolute() {
        return Err(format!("{v}: give an absolute path"));
    }
    validate::ca_file(&p)?;
    Ok(p)
}

pub(super) fn render_format(f: &Format) -> String {
    match f {
        Format::Text => "text",
        Format::Json => "json",
    }
    .into()
}

pub(super) fn parse_max_log_file(v: &str) -> Result<u64, String> {
    let n = size::parse(v).map_err(|e| format!("'{v}': {e}"))?;
    validate::size("max_log_file", n, MAX_LOG_FILE_MIN, MAX_LOG_FILE_MAX)
}

pub(super) fn parse_spool_max(v: &str) -> Result<u64, String> {
    let n = size::parse(v).map_err(|e| format!("'{v}': {e}"))?;
    validate::size("remote_spool_max", n, SPOOL_MAX_MIN, SPOOL_MAX_MAX)
}

pub(super) fn parse_num_logs(v: &str) -> Result<u32, String> {
    let n: u64 = v
        .parse()
        .map_err(|_| format!("'{v}' is not a decimal number: give 1 to 999"))?;
    validate::num_logs(n)
}

pub(super) fn render_flush(f: &Flush) -> String {
    match f {
        Flush::None => "none".into(),
        Flush::Every => "every".into(),
        Flush::Interval(d) if d.subsec_millis() == 0 => format!("{}s", d.as_secs()),
        Flush::Interval(d) => format!("{}ms", d.as_millis()),
    }
}

pub(super) fn render_disk_full(d: &DiskFull) -> String {
    match d {
        DiskFull::Stop => "stop",
        DiskFull::RemoveOldest => "remove_oldest",
    }
    .into()
}

/// `HOST:PORT`; empty: no remote output.
pub(super) fn parse_remote(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    validate::address(v)
}

pub(super) fn render_protocol(p: &Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Relp => "relp",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{apply, render, Settings};

    #[test]
    fn output_keys_round_trip_and_refuse_bad_values() {
        let d = std::env::temp_dir().join(format!("sagafs-cfg-out-{}", std::process::id()));
        let text = format!(
            "log_dir = {}\nlog_format = json\nmax_log_file = 1M\nnum_logs = 3\n\
             log_flush = 250ms\ndisk_full_action = remove_oldest\njournal = 1\n\
             remote = logs.example.com:2514\nremote_protocol = tcp\nremote_spool = {}\n\
             remote_spool_max = 16M\n",
            d.display(),
            d.join("spool").display()
        );
        let s = apply(&Settings::default(), text.as_bytes()).unwrap();
        let o = &s.outputs;
        assert_eq!(o.log_dir, d);
        assert_eq!(o.log_format, Format::Json);
        assert_eq!((o.max_log_file, o.num_logs), (1 << 20, 3));
        assert_eq!(o.log_flush, Flush::Interval(Duration::from_millis(250)));
        assert_eq!(o.disk_full_action, DiskFull::RemoveOldest);
        assert!(o.journal);
        assert_eq!(o.remote_protocol, Protocol::Tcp);
        assert_eq!(o.remote().unwrap().spool_max_bytes, 16 << 20);
        assert_eq!(o.file().unwrap().dir, d);
        // What render prints reads back the same.
        assert_eq!(
            apply(&Settings::default(), render(&s).as_bytes()),
            Ok(s.clone())
        );

        for (bad, says) in [
            ("log_dir = relative/dir", "absolute path"),
            ("log_dir = /proc/version/x", "not a directory"),
            ("remote = nocolon", "has no port"),
            ("remote = host:0", "out of range"),
            ("remote = host:99999", "out of range"),
            ("remote = bad host:514", "not a valid host name"),
            ("remote_ca = /nonexistent/ca.pem", "cannot read"),
            ("remote_protocol = udp", "give tcp or relp"),
            ("log_flush = 0s", "above 0"),
            ("num_logs = 0", "1 to 999"),
            ("max_log_file = 1", "out of range"),
        ] {
            let e = apply(&s, bad.as_bytes()).unwrap_err();
            assert_eq!(e.errno, libc::EINVAL, "{bad}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        // TLS on with the system's store: the store loads here; a CA
        // file that holds no certificate is refused.
        let not_pem = d.join("not.pem");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(&not_pem, "not a certificate\n").unwrap();
        let e = apply(
            &s,
            format!("remote_ca = {}\n", not_pem.display()).as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("remote_ca"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
