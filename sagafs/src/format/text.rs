//! The text log: one line per record, `key=value` fields in a fixed
//! order, untrusted bytes escaped (see `escape`), so that a line splits on
//! spaces and a field on its first `=`:
//!
//! ```text
//! 2026-11-21T22:30:01.123456789Z cpu=1 seq=42 pid=100 tid=101 ppid=1 uid=1000 gid=1000 auid=unset comm=cat syscall=openat args=0xffffff9c,0x7ffd2a10,0x80000,0x0,0x0,0x0 path="/etc/passwd" = -1 ENOENT
//! 2026-11-21T22:30:01.123456789Z cpu=1 seq=43 pid=100 tid=100 ppid=1 uid=0 gid=0 auid=0 comm=sh syscall=execve args=0x55d0a0,0x55d0c0,0x55d0e0,0x0,0x0,0x0 path="/usr/bin/ls" = 0 argv="ls","-l" resolved=yes key=exec nspid=7
//! 2026-11-21T22:30:01.123456789Z cpu=1 dropped=17 reason=ring_full
//! ```
//!
//! Everything up to and including the result sits at fixed positions
//! (scripts index fields by position); after the result come optional
//! fields, each only when it applies, in this order: `argv=`,
//! `resolved=`, `skipped=`, `key=`, `nspid=`.

use super::{syscall, DropReason, Line};
use crate::names;
use crate::record::{Argv, PathRef, RecordRef, Resolution};

fn field_u64(l: &mut Line, key: &[u8], v: u64) {
    l.raw(key);
    l.u64(v);
}

fn write_path(l: &mut Line, p: &Option<PathRef>) {
    match p {
        None => l.byte(b'-'),
        Some(p) if p.fault => l.raw(b"(unreadable)"),
        Some(p) => write_quoted(l, p.bytes, p.truncated),
    }
}

/// Appends an escaped string in double quotes, `...` after it if cut.
fn write_quoted(l: &mut Line, bytes: &[u8], truncated: bool) {
    l.byte(b'"');
    l.escaped(bytes);
    l.byte(b'"');
    if truncated {
        l.raw(b"...");
    }
}

/// Appends ` argv=` and the arguments: `"ls","-l"`, `...` after the last
/// when the list was cut; nothing after `=` for an empty list.
fn write_argv(l: &mut Line, argv: Argv) {
    l.raw(b" argv=");
    let truncated = argv.truncated;
    for (i, a) in argv.enumerate() {
        if i > 0 {
            l.byte(b',');
        }
        write_quoted(l, a, false);
    }
    if truncated {
        l.raw(b"...");
    }
}

/// Appends the optional fields that follow the result.
fn write_optional(l: &mut Line, r: &RecordRef) {
    if let Some(argv) = r.argv() {
        write_argv(l, argv);
    }
    match r.resolution() {
        Resolution::Resolved => l.raw(b" resolved=yes"),
        Resolution::Unavailable => l.raw(b" resolved=unavailable"),
        Resolution::Copied => {}
    }
    if r.skipped() {
        l.raw(b" skipped=yes");
    }
    if !r.key.is_empty() {
        l.raw(b" key=");
        l.escaped(r.key);
    }
    if r.ns_pid != r.pid {
        field_u64(l, b" nspid=", r.ns_pid.into());
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
    } else if r.argv().is_some() {
        // Path 1 holds the arguments, shown as argv= below.
        write_path(&mut l, &r.paths[0]);
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
    write_optional(&mut l, r);
    l.byte(b'\n');
}

/// Appends a dropped-records line, newline included:
/// `TIME cpu=1 dropped=17 reason=ring_full`.
pub fn write_dropped(out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: DropReason) {
    let mut l = Line::new(out);
    l.time(time_ns, true);
    field_u64(&mut l, b" cpu=", cpu.into());
    field_u64(&mut l, b" dropped=", count);
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

    /// An execve with its arguments, a resolved path, a key, run in a
    /// pid namespace, skipped by a tracer.
    pub(crate) fn exec_sample() -> Builder {
        Builder {
            nr: 59,
            ret: 0,
            flags: abi::RF_ARGV | abi::RF_SKIPPED,
            paths: [
                Some(PathSpec {
                    resolved: true,
                    ..PathSpec::new(b"/usr/bin/ls")
                }),
                Some(PathSpec::new(b"ls\0-l\0")),
            ],
            key: b"exec".to_vec(),
            ns_pid: 7,
            ..sample()
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
    fn dropped_line() {
        let mut v = Vec::new();
        write_dropped(
            &mut v,
            1_795_300_201_123_456_789,
            1,
            17,
            DropReason::RingFull,
        );
        write_dropped(&mut v, 0, 0, 1, DropReason::Evicted);
        write_dropped(&mut v, 0, 3, 2, DropReason::ReaderBehind);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "2026-11-21T22:30:01.123456789Z cpu=1 dropped=17 reason=ring_full\n\
             1970-01-01T00:00:00.000000000Z cpu=0 dropped=1 reason=evicted\n\
             1970-01-01T00:00:00.000000000Z cpu=3 dropped=2 reason=reader_behind\n"
        );
    }

    #[test]
    fn optional_fields_follow_the_result_in_order() {
        let mut r = exec_sample();
        let l = line(&r);
        assert!(
            l.ends_with(
                " syscall=execve args=0xffffff9c,0x7ffd2a10,0x80000,0x0,0x0,0x0 \
                 path=\"/usr/bin/ls\" = 0 argv=\"ls\",\"-l\" resolved=yes skipped=yes \
                 key=exec nspid=7\n"
            ),
            "{l}"
        );
        // Each only when it applies.
        r.flags = abi::RF_ARGV | abi::RF_UNRESOLVED;
        r.paths[0].as_mut().unwrap().resolved = false;
        r.paths[1] = Some(PathSpec {
            truncated: true,
            ..PathSpec::new(b"sh\0-c\0ech")
        });
        r.key.clear();
        r.ns_pid = r.pid;
        assert!(
            line(&r).ends_with(
                " path=\"/usr/bin/ls\" = 0 argv=\"sh\",\"-c\",\"ech\"... resolved=unavailable\n"
            ),
            "{}",
            line(&r)
        );
        r.paths[1] = Some(PathSpec::new(b""));
        r.flags = abi::RF_ARGV;
        assert!(line(&r).ends_with(" = 0 argv=\n"), "{}", line(&r));
        // Without RF_ARGV path 1 is a path again.
        r.flags = 0;
        assert!(line(&r).ends_with(" path=\"/usr/bin/ls\",\"\" = 0\n"));
    }

    #[test]
    fn hostile_argv_and_key_cannot_forge_fields() {
        let mut r = sample();
        r.flags = abi::RF_ARGV;
        r.paths[1] = Some(PathSpec::new(b"a\",\"b = 0 key=x\0\n2026 cpu=9\0"));
        r.key = b"k nspid=1\n".to_vec();
        let l = line(&r);
        assert_eq!(l.matches('\n').count(), 1);
        let fields: Vec<&str> = l.trim_end().split(' ').collect();
        // 16 as in the documented line, then argv= and key=.
        assert_eq!(fields.len(), 18, "{l}");
        let argv = fields[16].strip_prefix("argv=").unwrap();
        let args: Vec<Vec<u8>> = argv
            .split(',')
            .map(|a| {
                unescape(
                    a.strip_prefix('"')
                        .unwrap()
                        .strip_suffix('"')
                        .unwrap()
                        .as_bytes(),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(args, [&b"a\",\"b = 0 key=x"[..], b"\n2026 cpu=9"]);
        let key = fields[17].strip_prefix("key=").unwrap();
        assert_eq!(unescape(key.as_bytes()).unwrap(), r.key);
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
