//! The fields of a record or a lost-records notice, in order, for the
//! outputs that carry them one by one: journal fields (`SAGAFS_PID`) and
//! syslog structured data (`pid="..."`). One list, so both carry the same.

use std::borrow::Cow;

use crate::abi::SLOT_OTHER;
use crate::format::DropReason;
use crate::names;
use crate::record::RecordRef;

/// A field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    U64(u64),
    I64(i64),
    /// Text that needs no escaping (names, ASCII).
    Str(Cow<'a, str>),
    /// Bytes from the traced process (comm, paths): untrusted.
    Bytes(&'a [u8]),
    /// The six arguments, written `0x..,0x..`.
    Args(&'a [u64; 6]),
    /// A flag that is set (absent when not).
    Flag,
}

/// A field's name in each output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    /// The syslog SD-PARAM name.
    pub sd: &'static str,
    /// The journal field name.
    pub journal: &'static str,
}

macro_rules! names {
    ($($id:ident = $sd:literal, $j:literal;)*) => {
        $(pub const $id: Name = Name { sd: $sd, journal: $j };)*
    };
}

names! {
    TIME_NS = "time_ns", "SAGAFS_TIME_NS";
    CPU = "cpu", "SAGAFS_CPU";
    SEQ = "seq", "SAGAFS_SEQ";
    PID = "pid", "SAGAFS_PID";
    TID = "tid", "SAGAFS_TID";
    PPID = "ppid", "SAGAFS_PPID";
    UID = "uid", "SAGAFS_UID";
    GID = "gid", "SAGAFS_GID";
    EUID = "euid", "SAGAFS_EUID";
    EGID = "egid", "SAGAFS_EGID";
    AUID = "auid", "SAGAFS_AUID";
    COMM = "comm", "SAGAFS_COMM";
    ABI = "abi", "SAGAFS_ABI";
    SYSCALL = "syscall", "SAGAFS_SYSCALL";
    NR = "nr", "SAGAFS_NR";
    ARGS = "args", "SAGAFS_ARGS";
    ENTRY_LOST = "entry_lost", "SAGAFS_ENTRY_LOST";
    NORETURN = "noreturn", "SAGAFS_NORETURN";
    RESULT = "ret", "SAGAFS_RESULT";
    ERRNO = "errno", "SAGAFS_ERRNO";
    LOST = "dropped", "SAGAFS_DROPPED";
    REASON = "reason", "SAGAFS_DROP_REASON";
}

/// Path `i`'s name, and those of its truncated and unreadable flags.
pub const PATHS: [[Name; 3]; 2] = [
    [
        Name {
            sd: "path0",
            journal: "SAGAFS_PATH0",
        },
        Name {
            sd: "path0_truncated",
            journal: "SAGAFS_PATH0_TRUNCATED",
        },
        Name {
            sd: "path0_unreadable",
            journal: "SAGAFS_PATH0_UNREADABLE",
        },
    ],
    [
        Name {
            sd: "path1",
            journal: "SAGAFS_PATH1",
        },
        Name {
            sd: "path1_truncated",
            journal: "SAGAFS_PATH1_TRUNCATED",
        },
        Name {
            sd: "path1_unreadable",
            journal: "SAGAFS_PATH1_UNREADABLE",
        },
    ],
];

/// The name the JSON log gives the call (`openat`; unknown numbers as
/// the names module spells them).
pub fn syscall_name(r: &RecordRef) -> Cow<'static, str> {
    match names::slot_of(r.abi, r.nr) {
        SLOT_OTHER => names::name(r.abi, r.nr),
        slot => names::slot_name(r.abi, slot).into(),
    }
}

/// Calls `f` for every field of `r`, in order; `syscall` is
/// [`syscall_name`] of `r`.
pub fn record<'a>(r: &'a RecordRef<'a>, syscall: &'a str, f: &mut impl FnMut(Name, Value<'a>)) {
    f(TIME_NS, Value::U64(r.time_ns));
    f(CPU, Value::U64(r.cpu.into()));
    f(SEQ, Value::U64(r.seq));
    f(PID, Value::U64(r.pid.into()));
    f(TID, Value::U64(r.tid.into()));
    f(PPID, Value::U64(r.ppid.into()));
    f(UID, Value::U64(r.uid.into()));
    f(GID, Value::U64(r.gid.into()));
    f(EUID, Value::U64(r.euid.into()));
    f(EGID, Value::U64(r.egid.into()));
    if r.loginuid != u32::MAX {
        f(AUID, Value::U64(r.loginuid.into()));
    }
    f(COMM, Value::Bytes(r.comm));
    f(ABI, Value::Str(r.abi.as_str().into()));
    f(SYSCALL, Value::Str(syscall.into()));
    f(NR, Value::I64(r.nr.into()));
    f(ARGS, Value::Args(&r.args));
    if r.entry_lost() {
        f(ENTRY_LOST, Value::Flag);
    } else {
        for (i, p) in r.paths.iter().enumerate() {
            let Some(p) = p else { continue };
            f(PATHS[i][0], Value::Bytes(p.bytes));
            if p.truncated {
                f(PATHS[i][1], Value::Flag);
            }
            if p.fault {
                f(PATHS[i][2], Value::Flag);
            }
        }
    }
    if r.noreturn() {
        f(NORETURN, Value::Flag);
    } else {
        f(RESULT, Value::I64(r.ret));
        if let Some(e) = r.ret.checked_neg().and_then(names::errno_name) {
            f(ERRNO, Value::Str(e.into()));
        }
    }
}

/// Appends the arguments as `0x..,0x..` (six of them).
pub fn write_args(out: &mut Vec<u8>, args: &[u64; 6]) {
    use std::io::Write;
    for (i, a) in args.iter().enumerate() {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(out, "{sep}{a:#x}");
    }
}

/// Calls `f` for every field of a lost-records notice.
pub fn lost(time_ns: u64, cpu: u32, count: u64, why: DropReason, f: &mut impl FnMut(Name, Value)) {
    f(TIME_NS, Value::U64(time_ns));
    f(CPU, Value::U64(cpu.into()));
    f(LOST, Value::U64(count));
    f(REASON, Value::Str(why.as_str().into()));
}
