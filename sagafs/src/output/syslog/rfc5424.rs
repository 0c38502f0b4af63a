//! RFC 5424 syslog messages of records, with their fields as structured
//! data, and the octet-counted framing of RFC 6587 for TCP and TLS.
//!
//! ```text
//! <134>1 2026-11-21T22:30:01.123456Z host sagafs 812 openat [sagafs@32473 time_ns="..." cpu="1" seq="42" ... ret="-2" errno="ENOENT"] 2026-11-21T22:30:01.123456789Z cpu=1 seq=42 ...
//! ```
//!
//! The SD-ID is `sagafs@32473`: 32473 is the enterprise number RFC 5612
//! reserves for documentation, as the project has none registered. The
//! MSGID is the system call's name (`lost` for a lost-records notice), the
//! MSG the text log line. Comm and paths are given in the text log's
//! escaped form (see `format::escape`), so every value is printable UTF-8;
//! then `"`, `\` and `]` are escaped with a backslash (section 6.3.3).

use std::io::Write;

use crate::format::{self, escape, Format};
use crate::output::batch::Entry;
use crate::output::fields::{self, Value};

/// The structured data element's ID.
pub const SD_ID: &str = "sagafs@32473";

/// Facility and severity codes (RFC 5424 section 6.2.1).
pub const SEVERITY_WARNING: u8 = 4;
pub const SEVERITY_INFO: u8 = 6;

/// Facility names and numbers.
pub const FACILITIES: [(&str, u8); 20] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// The parts of the header that do not change per message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub facility: u8,
    /// A valid HOSTNAME (printable ASCII, at most 255), or `-`.
    pub hostname: String,
    pub procid: u32,
}

impl Header {
    /// With the machine's host name (`/proc/sys/kernel/hostname`).
    pub fn local(facility: u8) -> Header {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Header {
            facility,
            hostname: hostname_or_nil(name.trim()),
            procid: std::process::id(),
        }
    }
}

/// `name` if it is a valid RFC 5424 HOSTNAME, else the nil value `-`.
pub fn hostname_or_nil(name: &str) -> String {
    if !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| (33..=126).contains(&b)) {
        name.to_string()
    } else {
        "-".to_string()
    }
}

/// Appends `v` as an SD-PARAM value: `"`, `\` and `]` escaped.
pub fn sd_value(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

fn param(out: &mut Vec<u8>, name: &str, v: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    sd_value(out, v);
    out.push(b'"');
}

fn param_escaped(out: &mut Vec<u8>, name: &str, v: &[u8], scratch: &mut Vec<u8>) {
    scratch.clear();
    escape::escape_into(scratch, v);
    param(out, name, scratch);
}

/// A number needs no escaping; written without an allocation.
fn param_num(out: &mut Vec<u8>, name: &str, v: impl std::fmt::Display) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    let _ = write!(out, "{v}");
    out.push(b'"');
}

/// Appends one field of the shared list as an SD-PARAM.
fn put(out: &mut Vec<u8>, name: &str, v: Value, scratch: &mut Vec<u8>) {
    match v {
        Value::U64(n) => param_num(out, name, n),
        Value::I64(n) => param_num(out, name, n),
        Value::Str(t) => param(out, name, t.as_bytes()),
        Value::Bytes(b) => param_escaped(out, name, b, scratch),
        Value::Args(a) => {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            fields::write_args(out, a);
            out.push(b'"');
        }
        Value::Flag => param(out, name, b"1"),
    }
}

/// Appends the message of `e` (no framing, no newline). `scratch` is
/// working space.
pub fn write(out: &mut Vec<u8>, h: &Header, e: &Entry, scratch: &mut Vec<u8>) {
    let (severity, time_ns) = match e {
        Entry::Record(r) => (SEVERITY_INFO, r.time_ns),
        Entry::Lost { time_ns, .. } => (SEVERITY_WARNING, *time_ns),
    };
    let pri = u32::from(h.facility) * 8 + u32::from(severity);
    let _ = write!(out, "<{pri}>1 ");
    // RFC 5424 allows six fraction digits.
    scratch.clear();
    format::write_time(scratch, time_ns);
    out.extend_from_slice(&scratch[..26]);
    out.push(b'Z');
    let _ = write!(out, " {} sagafs {} ", h.hostname, h.procid);
    match e {
        Entry::Record(r) => {
            let name = fields::syscall_name(r);
            // MSGID: 1 to 32 printable ASCII characters (names are).
            let ok =
                !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_graphic());
            let _ = write!(out, "{} [{SD_ID}", if ok { &name } else { "-" });
            fields::record(r, &name, &mut |n, v| put(out, n.sd, v, scratch));
        }
        Entry::Lost {
            time_ns,
            cpu,
            count,
            reason,
        } => {
            let _ = write!(out, "dropped [{SD_ID}");
            fields::lost(*time_ns, *cpu, *count, *reason, &mut |n, v| {
                put(out, n.sd, v, scratch)
            });
        }
    }
    out.extend_from_slice(b"] ");
    scratch.clear();
    match e {
        Entry::Record(r) => Format::Text.record(scratch, r),
        Entry::Lost {
            time_ns,
            cpu,
            count,
            reason,
        } => Format::Text.dropped(scratch, *time_ns, *cpu, *count, *reason),
    }
    scratch.pop();
    out.extend_from_slice(scratch);
}

/// Appends `msg` octet-counted (RFC 6587 section 3.4.1): `LEN SP MSG`.
pub fn frame_octet_counted(out: &mut Vec<u8>, msg: &[u8]) {
    let _ = write!(out, "{} ", msg.len());
    out.extend_from_slice(msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::DropReason;
    use crate::output::batch::tests::view;
    use crate::record::{Builder as Rec, PathSpec};

    fn header() -> Header {
        Header {
            facility: 16,
            hostname: "box".into(),
            procid: 812,
        }
    }

    #[test]
    fn a_record_message() {
        let mut r = Rec::sample();
        r.paths[0] = Some(PathSpec {
            truncated: true,
            ..PathSpec::new(b"/tmp/a]b\"c\\d e")
        });
        let bytes = r.encode();
        let (mut out, mut s) = (Vec::new(), Vec::new());
        write(&mut out, &header(), &Entry::Record(view(&bytes)), &mut s);
        let m = String::from_utf8(out).unwrap();
        assert!(
            m.starts_with("<134>1 2023-11-14T22:13:20.123456Z box sagafs 812 openat [sagafs@32473 time_ns=\"1700000000123456789\" cpu=\"1\" seq=\"42\" "),
            "{m}"
        );
        // `]`, `"` and `\` are escaped, after the log's own escaping.
        assert!(
            m.contains(r#" path0="/tmp/a\]b\\x22c\\\\d\\x20e" path0_truncated="1""#),
            "{m}"
        );
        assert!(m.contains(
            " ret=\"-2\" errno=\"ENOENT\"] 2023-11-14T22:13:20.123456789Z cpu=1 seq=42 "
        ));
        assert!(!m.contains('\n'));
        assert!(m.ends_with("= -1 ENOENT"), "{m}");
    }

    #[test]
    fn a_notice_and_framing() {
        let (mut out, mut s) = (Vec::new(), Vec::new());
        let e = Entry::Lost {
            time_ns: 1_000_000_000,
            cpu: 3,
            count: 12,
            reason: DropReason::Unacknowledged,
        };
        write(&mut out, &header(), &e, &mut s);
        let m = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            m,
            "<132>1 1970-01-01T00:00:01.000000Z box sagafs 812 dropped [sagafs@32473 time_ns=\"1000000000\" \
             cpu=\"3\" dropped=\"12\" reason=\"unacknowledged\"] 1970-01-01T00:00:01.000000000Z cpu=3 \
             dropped=12 reason=unacknowledged"
        );
        let mut f = Vec::new();
        frame_octet_counted(&mut f, &out);
        assert_eq!(f, [format!("{} ", out.len()).as_bytes(), &out].concat());
    }

    #[test]
    fn host_names() {
        assert_eq!(hostname_or_nil("web-1.example"), "web-1.example");
        assert_eq!(hostname_or_nil(""), "-");
        assert_eq!(hostname_or_nil("a b"), "-");
        assert_eq!(hostname_or_nil("caf\u{e9}"), "-");
    }
}
