//! The mechanical ABI check: `check.c`, compiled by `build.rs`
//! against `kmod/include/uapi/sagafs.h`, exports every struct size and
//! alignment, every field's offset, size and alignment, every constant and
//! every request number; this test compares each with `abi/mod.rs` (through
//! `size_of`, `offset_of!` and nix's request encodings), checks that the
//! table covers every `#define` and field of the header, and checks that
//! the layout is the same for i386 callers (no implicit padding, 64-bit
//! fields 8-aligned, sizes multiples of 8).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, CStr};
use std::mem::{align_of, offset_of, size_of};

use super::{self as abi, *};

#[repr(C)]
struct Entry {
    name: *const c_char,
    value: u64,
}

extern "C" {
    static sagafs_abi_table: [Entry; 0];
    static sagafs_abi_table_len: usize;
    static sagafs_abi_device_name: [c_char; 0];
}

const HEADER: &str = include_str!("../../../kmod/include/uapi/sagafs.h");

fn c_table() -> BTreeMap<String, u64> {
    // SAFETY: the C file defines the table with `sagafs_abi_table_len`
    // entries, each name a static NUL-terminated string.
    unsafe {
        let table = std::slice::from_raw_parts(sagafs_abi_table.as_ptr(), sagafs_abi_table_len);
        table
            .iter()
            .map(|e| {
                (
                    CStr::from_ptr(e.name).to_str().unwrap().to_string(),
                    e.value,
                )
            })
            .collect()
    }
}

fn field_size<T, F>(_: fn(&T) -> &F) -> (usize, usize) {
    (size_of::<F>(), align_of::<F>())
}

/// (struct, [(field, offset, size, align)]) of the Rust mirror.
type Layout = (
    &'static str,
    usize,
    usize,
    Vec<(&'static str, usize, usize, usize)>,
);

macro_rules! layout {
    ($t:ident { $($f:ident $(=> $c:literal)?),* $(,)? }) => {{
        let fields = vec![$({
            let (size, align) = field_size(|s: &$t| &s.$f);
            let name = layout!(@name $f $($c)?);
            (name, offset_of!($t, $f), size, align)
        }),*];
        (stringify!($t), size_of::<$t>(), align_of::<$t>(), fields)
    }};
    (@name $f:ident) => { stringify!($f) };
    (@name $f:ident $c:literal) => { $c };
}

fn rust_layouts() -> Vec<Layout> {
    vec![
        layout!(sagafs_record {
            size, type_ => "type", flags, abi, key_len, __pad0, cpu, nr, ns_pid, seq, time_ns,
            pid, tid, ppid, uid, gid, euid, egid, loginuid, ns_tid, pidns, mntns, __pad1,
            cgroup_id, comm, args, ret, path_len, __pad2
        }),
        layout!(sagafs_ring_ctrl {
            head,
            __pad0,
            tail,
            __pad1,
            ring_size,
            next_seq,
            dropped,
            logged,
            bad_tail,
            cpu,
            __pad2
        }),
        layout!(sagafs_info {
            size,
            abi_version,
            nr_cpus,
            page_size,
            ring_size,
            ctrl_offset,
            ctrl_stride,
            ctrl_len,
            data_offset,
            data_len,
            record_align,
            record_max,
            nr_slots,
            nr_abis,
            snaplen_max,
            consumer_pid
        }),
        layout!(sagafs_config {
            size,
            flags,
            result,
            snaplen,
            ring_kb,
            wakeup_bytes,
            nr_pids,
            nr_exclude_pids,
            nr_uids,
            nr_exclude_uids,
            nr_comms,
            nr_exclude_comms,
            syscalls,
            exclude_syscalls,
            pids,
            exclude_pids,
            uids,
            exclude_uids,
            comms,
            exclude_comms
        }),
        layout!(sagafs_counts {
            calls,
            errors,
            logged,
            filtered,
            dropped,
            skipped
        }),
        layout!(sagafs_cpu_stats {
            calls,
            logged,
            filtered,
            dropped,
            bytes,
            bad_tail,
            ring_used,
            ring_size
        }),
        layout!(sagafs_stats {
            size,
            nr_cpus,
            nr_slots,
            __pad0,
            cpus,
            syscalls,
            total,
            bytes,
            bad_tail,
            reset_ns,
            enabled_ns,
            skip_unflagged
        }),
    ]
}

fn rust_constants() -> Vec<(&'static str, u64)> {
    macro_rules! c {
        ($($n:ident $(= $v:expr)?),* $(,)?) => {
            vec![$((concat!("SAGAFS_", stringify!($n)), c!(@v $n $($v)?))),*]
        };
        (@v $n:ident) => { abi::$n as u64 };
        (@v $n:ident $v:expr) => { $v as u64 };
    }
    c![
        ABI_VERSION,
        ABI_X86_64,
        ABI_I386,
        ABI_X32,
        NR_ABIS,
        NR_SLOTS,
        SLOT_OTHER,
        BITMAP_WORDS,
        COMM_LEN,
        MAX_IDS,
        MAX_COMMS,
        SNAPLEN_DEFAULT,
        SNAPLEN_MAX,
        RING_KB_DEFAULT,
        RING_KB_MIN,
        RING_KB_MAX,
        REC_SYSCALL,
        REC_PAD,
        RF_NORETURN,
        RF_ENTRY_LOST,
        RF_PATH0,
        RF_PATH1,
        RF_PATH0_TRUNC,
        RF_PATH1_TRUNC,
        RF_PATH0_FAULT,
        RF_PATH1_FAULT,
        RF_PATH0_RESOLVED,
        RF_PATH1_RESOLVED,
        RF_ARGV,
        RF_SKIPPED,
        RF_UNRESOLVED,
        KEY_MAX,
        RECORD_ALIGN,
        RECORD_MAX,
        CFG_ENABLED,
        CFG_EXCLUDE_SELF,
        CFG_FLAGS_ALL,
        RESULT_ANY,
        RESULT_SUCCESS,
        RESULT_FAILURE,
        IOC_MAGIC,
        IOC_ABI_VERSION = request::ABI_VERSION,
        IOC_GET_INFO = request::GET_INFO,
        IOC_GET_CONFIG = request::GET_CONFIG,
        IOC_SET_CONFIG = request::SET_CONFIG,
        IOC_GET_STATS = request::GET_STATS,
        IOC_RESET_STATS = request::RESET_STATS,
    ]
}

#[test]
fn rust_mirror_matches_the_c_header() {
    let c = c_table();
    let mut checked = BTreeSet::new();
    let mut errors = Vec::new();
    let mut check = |name: String, rust: u64| {
        match c.get(&name) {
            None => errors.push(format!("{name}: not exported by check.c")),
            Some(&v) if v != rust => errors.push(format!("{name}: C {v}, Rust {rust}")),
            Some(_) => {}
        }
        checked.insert(name);
    };
    for (s, size, align, fields) in rust_layouts() {
        check(format!("sizeof {s}"), size as u64);
        check(format!("alignof {s}"), align as u64);
        for (f, off, fsize, falign) in fields {
            check(format!("{s}.{f}"), off as u64);
            check(format!("{s}.{f} size"), fsize as u64);
            check(format!("{s}.{f} align"), falign as u64);
        }
    }
    for (n, v) in rust_constants() {
        check(n.to_string(), v);
    }
    for name in c.keys() {
        if !checked.contains(name) {
            errors.push(format!("{name}: exported by check.c, not checked in Rust"));
        }
    }
    // SAFETY: a static NUL-terminated string defined by the C file.
    let dev = unsafe { CStr::from_ptr(sagafs_abi_device_name.as_ptr()) };
    if format!("/dev/{}", dev.to_str().unwrap()) != abi::DEVICE_PATH {
        errors.push(format!("device name {dev:?} vs {}", abi::DEVICE_PATH));
    }
    assert!(errors.is_empty(), "ABI mismatch:\n{}", errors.join("\n"));
}

/// Every `#define SAGAFS_*` and every field of every
/// struct in the header is in the table, so a header change cannot slip
/// past the check.
#[test]
fn table_covers_the_whole_header() {
    let c = c_table();
    let mut missing = Vec::new();
    let mut in_struct: Option<String> = None;
    for line in HEADER.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#define ") {
            let name = rest
                .split(|ch: char| ch.is_whitespace() || ch == '(')
                .next()
                .unwrap();
            if name.starts_with("SAGAFS_")
                && name != "SAGAFS_DEVICE_NAME"
                && !rest[name.len()..].starts_with('(')
                && !c.contains_key(name)
            {
                missing.push(name.to_string());
            }
        } else if let Some(rest) = t.strip_prefix("struct ") {
            if let Some(name) = rest.strip_suffix(" {") {
                in_struct = Some(name.to_string());
                if !c.contains_key(&format!("sizeof {name}")) {
                    missing.push(format!("struct {name}"));
                }
            }
        } else if t.starts_with("};") {
            in_struct = None;
        } else if let (Some(s), Some(decl)) = (&in_struct, t.split(';').next()) {
            if t.contains(';') && !t.starts_with("/*") {
                let decl = decl.split('[').next().unwrap();
                let field = decl.split_whitespace().last().unwrap();
                if !c.contains_key(&format!("{s}.{field}")) {
                    missing.push(format!("{s}.{field}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "not covered by check.c: {missing:?}");
}

/// A 32-bit (i386) caller lays the structures out identically: no
/// implicit padding anywhere (i386 aligns 64-bit fields to 4, so any hole
/// or tail padding would differ), 64-bit fields at 8-aligned offsets,
/// sizes multiples of 8.
#[test]
fn layout_is_the_same_for_i386() {
    let c = c_table();
    for (s, _, _, fields) in rust_layouts() {
        let size = c[&format!("sizeof {s}")];
        assert_eq!(size % 8, 0, "sizeof {s} = {size}");
        let mut fs: Vec<(u64, u64, u64, &str)> = fields
            .iter()
            .map(|(f, ..)| {
                let k = format!("{s}.{f}");
                (c[&k], c[&format!("{k} size")], c[&format!("{k} align")], *f)
            })
            .collect();
        fs.sort();
        let mut end = 0;
        for (off, fsize, align, f) in fs {
            assert_eq!(off, end, "{s}.{f}: implicit padding before it");
            if align == 8 {
                assert_eq!(off % 8, 0, "{s}.{f}: 64-bit field at offset {off}");
            }
            end = off + fsize;
        }
        assert_eq!(end, size, "{s}: implicit tail padding");
    }
}
