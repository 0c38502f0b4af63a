//! The text log: one line per record, `key=value` fields in a fixed
//! order, untrusted bytes escaped (see `escape`), so that a line splits on
//! spaces and a field on its first `=`:
//!
//! ```text
//! 2026-11-21T22:30:01.123456789Z cpu=1 seq=42 pid=100 tid=101 ppid=1 uid=1000 gid=1000 auid=unset comm=cat syscall=openat args=0xffffff9c,0x7ffd2a10,0x80000,0x0,0x0,0x0 path="/etc/passwd" = -1 ENOENT
//! 2026-11-21T22:30:01.123456789Z cpu=1 lost=17 reason=ring_full
//! ```

use super::{syscall, Line, LostReason};
use crate::names;
use crate::record::{PathRef, RecordRef};

fn field_u64(l: &mut Line, key: &[u8], v: u64) {
    l.raw(key);
    l.u64(v);
}

fn write_path(l: &mut Line, p: &Option<PathRef>) {
    match p {
        None => l.byte(b'-'),
        Some(p) if p.fault => l.raw(b"(unreadable)"),
        Some(p) => {
            l.byte(b'"');
            l.escaped(p.bytes);
            l.byte(b'"');
            if p.truncated {
                l.raw(b"...");
            }
        }
    }
}

/// Appends the result: ` = 3`, ` = -1 ENOENT`, or ` = ?` for a call that
/// does not return.
fn write_result(l: &mut Line, r: &RecordRef) {
    l.raw(b" = ");
    if r.noreturn() {
        l.byte(b'?');
    } else if let Some(e) = r.ret.checked_neg().and_then(names::errno_name) {
        l.raw(b"-1 ");
        l.raw(e.as_bytes());
    } else {
        l.i64(r.ret);
    }
}

/// Appends the log line of `r`, newline included.
pub fn write_record(out: &mut Vec<u8>, r: &RecordRef) {
    let mut l = Line::new(out);
    l.time(r.time_ns, true);
    field_u64(&mut l, b" cpu=", r.cpu.into());
    field_u64(&mut l, b" seq=", r.seq);
    field_u64(&mut l, b" pid=", r.pid.into());
    field_u64(&mut l, b" tid=", r.tid.into());
    field_u64(&mut l, b" ppid=", r.ppid.into());
    field_u64(&mut l, b" uid=", r.uid.into());
    field_u64(&mut l, b" gid=", r.gid.into());
    if r.loginuid == u32::MAX {
        l.raw(b" auid=unset");
    } else {
        field_u64(&mut l, b" auid=", r.loginuid.into());
    }
    l.raw(b" comm=");
    if r.comm.is_empty() {
        l.raw(b"\"\"");
    } else {
        l.escaped(r.comm);
    }
    l.raw(b" syscall=");
    syscall::write_display(&mut l, r.abi, r.nr);
    l.raw(b" args=");
    for (i, a) in r.args.iter().enumerate() {
        if i > 0 {
            l.byte(b',');
        }
        l.hex(*a);
    }
    l.raw(b" path=");
    if r.entry_lost() {
        l.raw(b"(lost)");
    } else {
        match &r.paths {
            [None, None] => l.byte(b'-'),
            [p0, None] => write_path(&mut l, p0),
            [p0, p1] => {
                write_path(&mut l, p0);
                l.byte(b',');
                write_path(&mut l, p1);
            }
        }
    }
    write_result(&mut l, r);
    l.byte(b'\n');
}

/// Appends a lost-records line, newline included:
/// `TIME cpu=1 lost=17 reason=ring_full`.
pub fn write_lost(out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: LostReason) {
    let mut l = Line::new(out);
    l.time(time_ns, true);
    field_u64(&mut l, b" cpu=", cpu.into());
    field_u64(&mut l, b" lost=", count);
    l.raw(b" reason=");
    l.raw(why.as_str().as_bytes());
    l.byte(b'\n');
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::abi;
    use crate::format::escape::unescape;
    use crate::record::{decode_ref, Abi, Builder, PathSpec};

    pub(crate) fn sample() -> Builder {
        Builder {
            time_ns: 1_795_300_201_123_456_789,
            args: [0xffff_ff9c, 0x7ffd_2a10, 0x80000, 0, 0, 0],
            paths: [Some(PathSpec::new(b"/etc/passwd")), None],
            ..Builder::sample()
        }
    }

    pub(crate) fn line(r: &Builder) -> String {
        let b = r.encode();
        let mut v = Vec::new();
        write_record(&mut v, &decode_ref(&b).unwrap());
        String::from_utf8(v).unwrap()
    }

    fn path(b: &[u8], truncated: bool, fault: bool) -> Option<PathSpec> {
        Some(PathSpec {
            truncated,
            fault,
            ..PathSpec::new(b)
        })
    }

    #[test]
    fn the_documented_line() {
        assert_eq!(
            line(&sample()),
            "2026-11-21T22:30:01.123456789Z cpu=1 seq=42 pid=100 tid=101 ppid=1 uid=1000 \
             gid=1000 auid=unset comm=cat syscall=openat \
             args=0xffffff9c,0x7ffd2a10,0x80000,0x0,0x0,0x0 path=\"/etc/passwd\" = -1 ENOENT\n"
        );
    }

    #[test]
    fn results() {
        let mut r = sample();
        r.ret = 3;
        assert!(line(&r).ends_with(" = 3\n"));
        r.ret = 0;
        assert!(line(&r).ends_with(" = 0\n"));
        r.ret = -4096; // not an error number
        assert!(line(&r).ends_with(" = -4096\n"));
        r.ret = -4095;
        assert!(line(&r).ends_with(" = -1 E4095\n"));
        r.ret = -13;
        assert!(line(&r).ends_with(" = -1 EACCES\n"));
        r.ret = i64::MIN;
        assert!(line(&r).ends_with(" = -9223372036854775808\n"));
        r.ret = 0;
        r.flags |= abi::RF_NORETURN;
        assert!(line(&r).ends_with(" = ?\n"));
    }

    #[test]
    fn paths() {
        let mut r = sample();
        r.paths = [None, None];
        assert!(line(&r).contains(" path=- = "));
        r.paths = [path(b"/a", false, false), path(b"/b c", false, false)];
        assert!(line(&r).contains(" path=\"/a\",\"/b\\x20c\" = "));
        r.paths = [path(b"/very/lo", true, false), None];
        assert!(line(&r).contains(" path=\"/very/lo\"... = "));
        r.paths = [path(b"", false, true), path(b"", false, false)];
        assert!(line(&r).contains(" path=(unreadable),\"\" = "));
        r.paths = [None, path(b"/b", false, false)];
        assert!(line(&r).contains(" path=-,\"/b\" = "));
        r.flags |= abi::RF_ENTRY_LOST;
        assert!(line(&r).contains(" path=(lost) = "));
    }

    #[test]
    fn identity_fields() {
        let mut r = sample();
        r.loginuid = 0;
        r.comm = Vec::new();
        r.abi = Abi::I386;
        r.nr = 5;
        let l = line(&r);
        assert!(
            l.contains(" auid=0 comm=\"\" syscall=i386:open args="),
            "{l}"
        );
        r.abi = Abi::X32;
        r.nr = 0x4000_0000;
        assert!(line(&r).contains(" syscall=x32:read "));
        r.abi = Abi::X86_64;
        r.nr = 100_000;
        assert!(line(&r).contains(" syscall=nr_100000 "));
    }

    #[test]
    fn lost_line() {
        let mut v = Vec::new();
        write_lost(
            &mut v,
            1_795_300_201_123_456_789,
            1,
            17,
            LostReason::RingFull,
        );
        write_lost(&mut v, 0, 0, 1, LostReason::Evicted);
        write_lost(&mut v, 0, 3, 2, LostReason::ReaderBehind);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "2026-11-21T22:30:01.123456789Z cpu=1 lost=17 reason=ring_full\n\
             1970-01-01T00:00:00.000000000Z cpu=0 lost=1 reason=evicted\n\
             1970-01-01T00:00:00.000000000Z cpu=3 lost=2 reason=reader_behind\n"
        );
    }

    #[test]
    fn hostile_bytes_cannot_forge_fields() {
        let mut r = sample();
        r.comm = b"x syscall=evil\n".to_vec();
        r.paths = [
            path(b"/a\" = 0\n2026 cpu=9", false, false),
            path(b"\xff,\"", true, false),
        ];
        let l = line(&r);
        assert_eq!(l.matches('\n').count(), 1);
        assert!(l.ends_with(" = -1 ENOENT\n"));
        let fields: Vec<&str> = l.trim_end().split(' ').collect();
        // time, 11 key=value fields, '=', '-1', 'ENOENT'
        assert_eq!(fields.len(), 16, "{l}");
        let comm = fields[9].strip_prefix("comm=").unwrap();
        assert_eq!(unescape(comm.as_bytes()).unwrap(), r.comm);
        let p = fields[12].strip_prefix("path=").unwrap();
        let parts: Vec<&str> = p.split(',').collect();
        assert_eq!(parts.len(), 2);
        let p0 = parts[0]
            .strip_prefix('"')
            .unwrap()
            .strip_suffix('"')
            .unwrap();
        assert_eq!(unescape(p0.as_bytes()).unwrap(), b"/a\" = 0\n2026 cpu=9");
        let p1 = parts[1]
            .strip_prefix('"')
            .unwrap()
            .strip_suffix("\"...")
            .unwrap();
        assert_eq!(unescape(p1.as_bytes()).unwrap(), b"\xff,\"");
    }
}
