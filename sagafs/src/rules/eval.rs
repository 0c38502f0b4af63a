//! The rule evaluator in Rust, on the compiled form, with the kernel's
//! semantics one for one (kmod/rulematch.c): the device double decides
//! with it, so that one suite can run against both.

use crate::abi::{self, sagafs_rule_cond};
use crate::container::layout;
use crate::record::{Abi, Builder, RecordRef};

use super::classes;
use super::set::RuleSet;

/// A path argument as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathArg<'a> {
    pub bytes: &'a [u8],
    /// The copy was cut at snaplen: the path goes on.
    pub cut: bool,
}

/// What the rules see of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    pub abi: Abi,
    pub slot: usize,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub loginuid: u32,
    pub pid: u32,
    pub ppid: u32,
    pub ret: i64,
    pub pidns: u32,
    /// Without NUL padding.
    pub comm: &'a [u8],
    pub args: [u64; 6],
    /// Path arguments that were captured (not absent, not unreadable);
    /// path 1 only when it does not hold argv.
    pub paths: [Option<PathArg<'a>>; 2],
    /// The executable's path, if known.
    pub exe: Option<&'a [u8]>,
    /// The cgroup v2 path, if known.
    pub cgroup: Option<&'a [u8]>,
}

impl<'a> Call<'a> {
    /// The call a record describes, with the executable and cgroup path
    /// the caller knows for it.
    pub fn of_record(r: &RecordRef<'a>, exe: Option<&'a [u8]>, cgroup: Option<&'a [u8]>) -> Self {
        let path = |i: usize| {
            let p = r.paths[i]?;
            if p.fault || (i == 1 && r.flags & abi::RF_ARGV != 0) {
                return None;
            }
            Some(PathArg {
                bytes: p.bytes,
                cut: p.truncated,
            })
        };
        Call {
            abi: r.abi,
            slot: crate::names::slot_of(r.abi, r.nr),
            uid: r.uid,
            euid: r.euid,
            gid: r.gid,
            loginuid: r.loginuid,
            pid: r.pid,
            ppid: r.ppid,
            ret: r.ret,
            pidns: r.pidns,
            comm: r.comm,
            args: r.args,
            paths: [path(0), path(1)],
            exe,
            cgroup,
        }
    }
}

impl<'a> Call<'a> {
    /// The call a record being built describes (the device double), as
    /// the kernel would write it: comm cut to `COMM_LEN`, paths as given.
    pub fn of_builder(b: &'a Builder, exe: Option<&'a [u8]>, cgroup: Option<&'a [u8]>) -> Self {
        let path = |i: usize| {
            let p = b.paths[i].as_ref()?;
            if p.fault || (i == 1 && b.flags & abi::RF_ARGV != 0) {
                return None;
            }
            Some(PathArg {
                bytes: &p.bytes,
                cut: p.truncated,
            })
        };
        let comm = &b.comm[..b.comm.len().min(abi::COMM_LEN)];
        let comm = comm.split(|&c| c == 0).next().unwrap_or_default();
        Call {
            abi: b.abi,
            slot: crate::names::slot_of(b.abi, b.nr),
            uid: b.uid,
            euid: b.euid,
            gid: b.gid,
            loginuid: b.loginuid,
            pid: b.pid,
            ppid: b.ppid,
            ret: b.ret,
            pidns: b.pidns,
            comm,
            args: b.args,
            paths: [path(0), path(1)],
            exe,
            cgroup,
        }
    }
}

/// What the rules decided about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Log it.
    pub log: bool,
    /// The rule that decided (`None`: the default).
    pub rule: Option<usize>,
}

/// EQ, PREFIX or DIR of a value (`cut`: the start of a longer one)
/// against `s`; a cut value matches only where its bytes decide.
pub fn str_match(op: u16, v: Option<&[u8]>, cut: bool, s: &[u8]) -> bool {
    let Some(v) = v else { return false };
    let n = s.len();
    if n == 0 || v.len() < n || &v[..n] != s {
        return false;
    }
    if op == abi::OP_PREFIX {
        return true;
    }
    if v.len() == n {
        return !cut || (op == abi::OP_DIR && s[n - 1] == b'/');
    }
    op == abi::OP_DIR && (s[n - 1] == b'/' || v[n] == b'/')
}

/// The access an open-family call asks for (`abi::PERM_*`), `None` for
/// any other call.
pub fn open_access(abi: Abi, slot: usize, args: &[u64; 6]) -> Option<u64> {
    use syscalls::{x86, x86_64};
    let is = |a: x86_64::Sysno, b: x86::Sysno| match abi {
        Abi::I386 => slot == b as usize,
        _ => slot == a as usize,
    };
    let flags = if is(x86_64::Sysno::open, x86::Sysno::open) {
        args[1]
    } else if is(x86_64::Sysno::openat, x86::Sysno::openat)
        || is(
            x86_64::Sysno::open_by_handle_at,
            x86::Sysno::open_by_handle_at,
        )
    {
        args[2]
    } else if is(x86_64::Sysno::creat, x86::Sysno::creat) {
        return Some(abi::PERM_W);
    } else if is(x86_64::Sysno::openat2, x86::Sysno::openat2) {
        return Some(abi::PERM_R | abi::PERM_W);
    } else {
        return None;
    };
    let acc = [
        abi::PERM_R,
        abi::PERM_W,
        abi::PERM_R | abi::PERM_W,
        abi::PERM_R | abi::PERM_W,
    ][(flags & libc::O_ACCMODE as u64) as usize];
    Some(
        acc | if flags & libc::O_TRUNC as u64 != 0 {
            abi::PERM_W
        } else {
            0
        },
    )
}

fn range(c: &sagafs_rule_cond, v: u64) -> bool {
    v >= c.lo && v <= c.hi
}

fn holds(set: &RuleSet, c: &sagafs_rule_cond, call: &Call) -> bool {
    let op = c.op & !abi::OP_NOT;
    let s = set.operand(c);
    let hit = match c.field {
        abi::FIELD_UID => range(c, call.uid.into()),
        abi::FIELD_EUID => range(c, call.euid.into()),
        abi::FIELD_GID => range(c, call.gid.into()),
        abi::FIELD_AUID => range(c, call.loginuid.into()),
        abi::FIELD_PID => range(c, call.pid.into()),
        abi::FIELD_PPID => range(c, call.ppid.into()),
        abi::FIELD_RESULT => call.ret >= c.lo as i64 && call.ret <= c.hi as i64,
        abi::FIELD_PIDNS => range(c, call.pidns.into()),
        abi::FIELD_PERM => {
            open_access(call.abi, call.slot, &call.args).unwrap_or(abi::PERM_ALL) & c.lo != 0
        }
        abi::FIELD_COMM => {
            let comm = &call.comm[..call.comm.len().min(abi::COMM_LEN)];
            str_match(op, Some(comm), false, s)
        }
        abi::FIELD_CGROUP => str_match(op, call.cgroup, false, s),
        abi::FIELD_CONTAINER => {
            let id = call.cgroup.and_then(layout::container_id);
            if op == abi::OP_EXISTS {
                id.is_some()
            } else {
                str_match(op, id, false, s)
            }
        }
        abi::FIELD_EXE => str_match(op, call.exe, false, s),
        abi::FIELD_PATH => call
            .paths
            .iter()
            .flatten()
            .any(|p| str_match(op, Some(p.bytes), p.cut, s)),
        _ => false,
    };
    if c.op & abi::OP_NOT != 0 {
        !hit
    } else {
        hit
    }
}

/// The first rule that applies to `call` and whose conditions all hold
/// decides; otherwise the default. `set` must be valid
/// ([`RuleSet::validate`]).
pub fn decide(set: &RuleSet, call: &Call) -> Decision {
    let abi = call.abi.index();
    for (i, (r, conds)) in set.rules.iter().zip(set.rule_conds()).enumerate() {
        if !classes::has(&r.syscalls, abi, call.slot) {
            continue;
        }
        if conds.iter().all(|c| holds(set, c, call)) {
            return Decision {
                log: r.action == abi::RULE_ALWAYS,
                rule: Some(i),
            };
        }
    }
    Decision {
        log: set.default_logs(),
        rule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_operators() {
        let m = |op, v: &str, cut, s: &str| str_match(op, Some(v.as_bytes()), cut, s.as_bytes());
        assert!(m(abi::OP_EQ, "/etc/shadow", false, "/etc/shadow"));
        assert!(!m(abi::OP_EQ, "/etc/shadow-", false, "/etc/shadow"));
        assert!(!m(abi::OP_EQ, "/etc/shadow", true, "/etc/shadow"));
        assert!(m(abi::OP_PREFIX, "/etc/shadow", false, "/etc/sh"));
        assert!(m(abi::OP_PREFIX, "/etc/sh", true, "/etc/sh"));
        assert!(!m(abi::OP_PREFIX, "/etc", true, "/etc/sh"));
        assert!(m(abi::OP_DIR, "/etc", false, "/etc"));
        assert!(m(abi::OP_DIR, "/etc/x", false, "/etc"));
        assert!(!m(abi::OP_DIR, "/etcx", false, "/etc"));
        assert!(m(abi::OP_DIR, "/etc/x", false, "/etc/"));
        assert!(
            !m(abi::OP_DIR, "/etc", true, "/etc"),
            "cut: /etc... may be /etcx"
        );
        assert!(m(abi::OP_DIR, "/etc/", true, "/etc/"));
        assert!(m(abi::OP_DIR, "/etc/a", true, "/etc"));
        assert!(!str_match(abi::OP_EQ, None, false, b"/"));
    }

    #[test]
    fn open_access_from_flags() {
        let a = |abi, slot, flags: i32| {
            let mut args = [0u64; 6];
            args[1] = flags as u64;
            args[2] = flags as u64;
            open_access(abi, slot, &args)
        };
        assert_eq!(a(Abi::X86_64, 257, libc::O_RDONLY), Some(abi::PERM_R));
        assert_eq!(a(Abi::X86_64, 257, libc::O_WRONLY), Some(abi::PERM_W));
        assert_eq!(
            a(Abi::X86_64, 2, libc::O_RDWR),
            Some(abi::PERM_R | abi::PERM_W)
        );
        assert_eq!(
            a(Abi::X86_64, 2, libc::O_RDONLY | libc::O_TRUNC),
            Some(abi::PERM_R | abi::PERM_W)
        );
        assert_eq!(a(Abi::I386, 5, libc::O_WRONLY), Some(abi::PERM_W));
        assert_eq!(a(Abi::I386, 2, libc::O_WRONLY), None, "i386 2 is fork");
        assert_eq!(a(Abi::X32, 85, 0), Some(abi::PERM_W));
        assert_eq!(a(Abi::X86_64, 437, 0), Some(abi::PERM_R | abi::PERM_W));
        assert_eq!(a(Abi::X86_64, 0, 0), None);
    }
}
