//! JSON Lines: one object per record or dropped-records notice, typed fields.
//!
//! Strings (comm, paths) hold the text itself where it is valid UTF-8;
//! JSON escaping covers `"`, `\` and control characters, and characters
//! that can fool a terminal (0x7f, C1 controls, U+2028/9, bidi controls)
//! are written as `\uXXXX` so the raw line is safe to print. A byte that
//! is not part of valid UTF-8 becomes the four characters `\xHH`, and to
//! keep that reversible a literal backslash is doubled: the decoded string
//! is the text log's escaping restricted to `\\` and `\xHH`, and
//! `escape::unescape()` of it gives the original bytes back.

use super::{syscall, DropReason, Line};
use crate::names;
use crate::record::{PathRef, RecordRef, Resolution};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u_escape(out: &mut Vec<u8>, c: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 15) as usize]);
    }
}

/// Whether a character is written as `\uXXXX` rather than as itself.
#[inline]
fn json_needs_u(c: char) -> bool {
    matches!(c,
        '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Whether `s` goes into a JSON string as it is (ASCII without quote,
/// backslash or control characters).
#[inline]
pub(crate) fn is_plain(s: &[u8]) -> bool {
    s.iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        let valid = chunk.valid();
        let bytes = valid.as_bytes();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            let plain = match c {
                '"' | '\\' => false,
                c if (c as u32) < 0x20 => false,
                c if c.is_ascii() => c != '\u{7f}',
                c => !json_needs_u(c),
            };
            if plain {
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            start = i + c.len_utf8();
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                // A literal backslash doubles before JSON escaping.
                '\\' => out.extend_from_slice(b"\\\\\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                c => push_u_escape(out, c as u32),
            }
        }
        out.extend_from_slice(&bytes[start..]);
        for &b in chunk.invalid() {
            out.extend_from_slice(b"\\\\x");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
    }
    out.push(b'"');
}

/// `,"k":` (the key text comes with its quotes and colon).
fn key(l: &mut Line, k: &[u8]) {
    l.raw(k);
}

fn key_u64(l: &mut Line, k: &[u8], v: u64) {
    l.raw(k);
    l.u64(v);
}

fn key_bool(l: &mut Line, k: &[u8], v: bool) {
    l.raw(k);
    l.raw(if v { b"true" } else { b"false" });
}

fn write_time_fields(l: &mut Line, time_ns: u64) {
    l.raw(b"{\"time\":\"");
    l.time(time_ns, true);
    l.byte(b'"');
    key_u64(l, b",\"time_ns\":", time_ns);
}

/// Appends a path object; `resolved` is `None` (null) when the backend
/// could not resolve a path the module would have.
fn write_path(l: &mut Line, p: &PathRef, resolved: Option<bool>) {
    l.raw(b"{\"path\":");
    l.json_str(p.bytes);
    key_bool(l, b",\"truncated\":", p.truncated);
    key_bool(l, b",\"unreadable\":", p.fault);
    match resolved {
        Some(v) => key_bool(l, b",\"resolved\":", v),
        None => l.raw(b",\"resolved\":null"),
    }
    l.byte(b'}');
}

/// Appends `"paths":[...]` (and `"argv"`, `"argv_truncated"` for an exec
/// record, whose path 1 holds the arguments).
fn write_paths(l: &mut Line, r: &RecordRef) {
    let resolved0 = match r.resolution() {
        Resolution::Resolved => Some(true),
        Resolution::Unavailable => None,
        Resolution::Copied => Some(false),
    };
    key(l, b",\"paths\":[");
    let argv = r.argv();
    let paths = if argv.is_some() {
        [r.paths[0], None]
    } else {
        r.paths
    };
    if !r.entry_lost() {
        match &paths {
            [None, None] => {}
            [Some(p0), None] => write_path(l, p0, resolved0),
            [p0, Some(p1)] => {
                match p0 {
                    Some(p0) => write_path(l, p0, resolved0),
                    None => l.raw(b"null"),
                }
                l.byte(b',');
                write_path(l, p1, Some(p1.resolved));
            }
        }
    }
    l.byte(b']');
    if let Some(argv) = argv {
        let truncated = argv.truncated;
        key(l, b",\"argv\":[");
        for (i, a) in argv.enumerate() {
            if i > 0 {
                l.byte(b',');
            }
            l.json_str(a);
        }
        l.byte(b']');
        key_bool(l, b",\"argv_truncated\":", truncated);
    }
}

/// Appends the JSON object of `r` and a newline. Field order: time,
/// time_ns, cpu, seq, pid, tid, ppid, uid, gid, euid, egid, auid (null
/// when unset), comm, abi, syscall, nr, args, paths, argv and
/// argv_truncated (exec records only), entry_lost, ret, errno (null
/// unless ret is an error), noreturn, skipped, key (null when none),
/// ns_pid, ns_tid, pidns, mntns, cgroup_id.
///
/// `paths` lists the captured paths in order; when only the second one
/// was captured the first is `null`. It is empty for `entry_lost` records
/// and holds only path 0 for exec records (path 1 is `argv`).
pub fn write_record(out: &mut Vec<u8>, r: &RecordRef) {
    let mut l = Line::new(out);
    let l = &mut l;
    write_time_fields(l, r.time_ns);
    key_u64(l, b",\"cpu\":", r.cpu.into());
    key_u64(l, b",\"seq\":", r.seq);
    key_u64(l, b",\"pid\":", r.pid.into());
    key_u64(l, b",\"tid\":", r.tid.into());
    key_u64(l, b",\"ppid\":", r.ppid.into());
    key_u64(l, b",\"uid\":", r.uid.into());
    key_u64(l, b",\"gid\":", r.gid.into());
    key_u64(l, b",\"euid\":", r.euid.into());
    key_u64(l, b",\"egid\":", r.egid.into());
    key(l, b",\"auid\":");
    if r.loginuid == u32::MAX {
        l.raw(b"null");
    } else {
        l.u64(r.loginuid.into());
    }
    key(l, b",\"comm\":");
    l.json_str(r.comm);
    key(l, b",\"abi\":\"");
    l.raw(r.abi.as_str().as_bytes());
    key(l, b"\",\"syscall\":\"");
    syscall::write_name(l, r.abi, r.nr);
    key(l, b"\",\"nr\":");
    l.i64(r.nr.into());
    key(l, b",\"args\":[");
    for (i, a) in r.args.iter().enumerate() {
        if i > 0 {
            l.byte(b',');
        }
        l.u64(*a);
    }
    l.byte(b']');
    write_paths(l, r);
    key_bool(l, b",\"entry_lost\":", r.entry_lost());
    key(l, b",\"ret\":");
    l.i64(r.ret);
    key(l, b",\"errno\":");
    match r.ret.checked_neg().and_then(names::errno_name) {
        Some(e) if !r.noreturn() => {
            l.byte(b'"');
            l.raw(e.as_bytes());
            l.byte(b'"');
        }
        _ => l.raw(b"null"),
    }
    key_bool(l, b",\"noreturn\":", r.noreturn());
    key_bool(l, b",\"skipped\":", r.skipped());
    key(l, b",\"key\":");
    if r.key.is_empty() {
        l.raw(b"null");
    } else {
        l.json_str(r.key);
    }
    key_u64(l, b",\"ns_pid\":", r.ns_pid.into());
    key_u64(l, b",\"ns_tid\":", r.ns_tid.into());
    key_u64(l, b",\"pidns\":", r.pidns.into());
    key_u64(l, b",\"mntns\":", r.mntns.into());
    key_u64(l, b",\"cgroup_id\":", r.cgroup_id);
    l.raw(b"}\n");
}

/// Appends a dropped-records object and a newline:
/// `{"time":"...Z","time_ns":N,"cpu":1,"dropped":17,"reason":"ring_full"}`.
pub fn write_dropped(out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: DropReason) {
    let mut l = Line::new(out);
    let l = &mut l;
    write_time_fields(l, time_ns);
    key_u64(l, b",\"cpu\":", cpu.into());
    key_u64(l, b",\"dropped\":", count);
    key(l, b",\"reason\":\"");
    l.raw(why.as_str().as_bytes());
    l.raw(b"\"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi;
    use crate::format::escape::unescape;
    use crate::format::text::tests::{exec_sample, sample};
    use crate::record::{decode_ref, Abi, Builder, PathSpec};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn obj(r: &Builder) -> Value {
        let b = r.encode();
        let mut v = Vec::new();
        write_record(&mut v, &decode_ref(&b).unwrap());
        assert_eq!(v.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(v.last(), Some(&b'\n'));
        serde_json::from_slice(&v).unwrap()
    }

    #[test]
    fn record_fields() {
        let v = obj(&sample());
        assert_eq!(
            v,
            json!({
                "time": "2026-11-21T22:30:01.123456789Z",
                "time_ns": 1_795_300_201_123_456_789u64,
                "cpu": 1, "seq": 42, "pid": 100, "tid": 101, "ppid": 1,
                "uid": 1000, "gid": 1000, "euid": 1000, "egid": 1000,
                "auid": null, "comm": "cat", "abi": "x86_64",
                "syscall": "openat", "nr": 257,
                "args": [0xffff_ff9cu64, 0x7ffd_2a10u64, 0x80000, 0, 0, 0],
                "paths": [{"path": "/etc/passwd", "truncated": false, "unreadable": false,
                           "resolved": false}],
                "entry_lost": false,
                "ret": -2, "errno": "ENOENT", "noreturn": false,
                "skipped": false, "key": null,
                "ns_pid": 100, "ns_tid": 101, "pidns": 0xefff_fffcu32,
                "mntns": 0xf000_0000u32, "cgroup_id": 1,
            })
        );
    }

    #[test]
    fn abi2_fields() {
        let mut r = exec_sample();
        r.paths[1] = Some(PathSpec {
            truncated: true,
            ..PathSpec::new(b"ls\0a\"b\\\0\xff\n")
        });
        r.key = b"exec \"watch\"".to_vec();
        r.ns_tid = 8;
        let v = obj(&r);
        assert_eq!(v["syscall"], "execve");
        assert_eq!(
            v["paths"],
            json!([{"path": "/usr/bin/ls", "truncated": false, "unreadable": false,
                    "resolved": true}])
        );
        let argv: Vec<Vec<u8>> = v["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| unescape(a.as_str().unwrap().as_bytes()).unwrap())
            .collect();
        assert_eq!(argv, [&b"ls"[..], b"a\"b\\", b"\xff\n"]);
        assert_eq!(v["argv_truncated"], true);
        assert_eq!(v["skipped"], true);
        assert_eq!(v["key"], "exec \"watch\"");
        assert_eq!(
            (v["ns_pid"].as_u64(), v["ns_tid"].as_u64()),
            (Some(7), Some(8))
        );
        // Not an exec record: no argv keys; a backend that cannot resolve.
        r.flags = abi::RF_UNRESOLVED;
        r.paths[0].as_mut().unwrap().resolved = false;
        r.key.clear();
        let v = obj(&r);
        assert!(v.get("argv").is_none() && v.get("argv_truncated").is_none());
        assert_eq!(v["paths"][0]["resolved"], Value::Null);
        let p1 = v["paths"][1]["path"].as_str().unwrap().as_bytes();
        assert_eq!(unescape(p1).unwrap(), r.paths[1].as_ref().unwrap().bytes);
        assert_eq!(v["key"], Value::Null);
    }

    #[test]
    fn variants() {
        let mut r = sample();
        r.abi = Abi::I386;
        r.nr = 5;
        r.loginuid = 7;
        r.ret = 3;
        r.args[5] = u64::MAX;
        r.paths[1] = Some(PathSpec {
            truncated: true,
            ..PathSpec::new(b"x")
        });
        let v = obj(&r);
        assert_eq!(v["syscall"], "open");
        assert_eq!(v["abi"], "i386");
        assert_eq!(v["auid"], 7);
        assert_eq!(v["errno"], Value::Null);
        assert_eq!(v["args"][5].as_u64(), Some(u64::MAX));
        assert_eq!(v["paths"][1]["truncated"], true);
        r.paths[0] = None;
        let v = obj(&r);
        assert_eq!(v["paths"][0], Value::Null);
        assert_eq!(v["paths"][1]["path"], "x");
        r.paths = [None, None];
        r.flags = abi::RF_NORETURN;
        r.ret = 0;
        let v = obj(&r);
        assert_eq!(v["paths"], json!([]));
        assert_eq!(v["noreturn"], true);
        r.flags = abi::RF_ENTRY_LOST;
        r.paths[0] = Some(PathSpec::default());
        let v = obj(&r);
        assert_eq!(v["paths"], json!([]));
        assert_eq!(v["entry_lost"], true);
    }

    #[test]
    fn dropped_object() {
        let mut v = Vec::new();
        write_dropped(&mut v, 5, 2, 17, DropReason::Evicted);
        let v: Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(
            v,
            json!({"time": "1970-01-01T00:00:00.000000005Z", "time_ns": 5,
                   "cpu": 2, "dropped": 17, "reason": "evicted"})
        );
    }

    fn str_round_trip(s: &[u8]) -> Result<(), TestCaseError> {
        let mut v = Vec::new();
        write_str(&mut v, s);
        prop_assert!(!v.iter().any(|&b| b < 0x20 || b == 0x7f));
        let text = std::str::from_utf8(&v).unwrap();
        for bad in ['\u{85}', '\u{2028}', '\u{202e}', '\u{2066}'] {
            prop_assert!(!text.contains(bad));
        }
        let decoded: String = serde_json::from_slice(&v).unwrap();
        prop_assert_eq!(unescape(decoded.as_bytes()).unwrap(), s);
        if let Ok(t) = std::str::from_utf8(s) {
            if !t.contains('\\') {
                prop_assert_eq!(decoded, t);
            }
        }
        Ok(())
    }

    #[test]
    fn strings() {
        for s in [
            &b"plain"[..],
            b"",
            b"q\"b\\s",
            b"\n\t\r\x00\x1f\x7f",
            b"\xff\xfe",
            "caf\u{e9}\u{85}\u{202e}".as_bytes(),
            b"\\x41",
        ] {
            str_round_trip(s).unwrap();
        }
        let mut v = Vec::new();
        write_str(&mut v, b"a\\b\xff\"");
        assert_eq!(v, br#""a\\\\b\\xff\"""#);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn any_string_parses_and_round_trips(s in proptest::collection::vec(any::<u8>(), 0..48)) {
            str_round_trip(&s)?;
        }

        #[test]
        fn any_record_is_one_json_line(
            comm in proptest::collection::vec(1u8.., 0..16),
            p0 in proptest::collection::vec(any::<u8>(), 0..40),
            ret in any::<i64>(),
            nr in any::<i32>(),
        ) {
            let mut r = sample();
            r.comm = comm.clone();
            r.paths[0].as_mut().unwrap().bytes = p0.clone();
            r.ret = ret;
            r.nr = nr;
            let v = obj(&r);
            prop_assert_eq!(unescape(v["comm"].as_str().unwrap().as_bytes()).unwrap(), comm);
            prop_assert_eq!(unescape(v["paths"][0]["path"].as_str().unwrap().as_bytes()).unwrap(), p0);
            prop_assert_eq!(v["ret"].as_i64(), Some(ret));
        }
    }
}
