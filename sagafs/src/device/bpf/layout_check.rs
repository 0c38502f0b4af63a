//! Compares `layout.rs` with `bpf/sagafs_bpf.h` as compiled by `build.rs`
//! (`layout_check.c`): every struct size, field offset and constant.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr};
use std::mem::{offset_of, size_of};

use super::layout::*;

#[repr(C)]
struct Entry {
    name: *const c_char,
    value: u64,
}

extern "C" {
    static sagafs_bpf_layout: [Entry; 0];
    static sagafs_bpf_layout_len: usize;
}

fn c_table() -> BTreeMap<String, u64> {
    // SAFETY: the C file defines `sagafs_bpf_layout_len` entries, each
    // name a static NUL-terminated string.
    unsafe {
        std::slice::from_raw_parts(sagafs_bpf_layout.as_ptr(), sagafs_bpf_layout_len)
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

macro_rules! rust_table {
    ($( $t:ident { $($f:ident),* } )*) => {{
        let mut m = BTreeMap::new();
        $(
            m.insert(format!("sizeof {}", stringify!($t)), size_of::<$t>() as u64);
            $( m.insert(format!("{}.{}", stringify!($t), stringify!($f)), offset_of!($t, $f) as u64); )*
        )*
        m
    }};
}

#[test]
fn layout_matches_the_header() {
    let mut rust = rust_table! {
        sagafs_bpf_slot { kind, flags, path }
        sagafs_bpf_cpu { next_seq, calls, errors, logged, filtered, dropped, bytes, untracked }
        sagafs_bpf_config { eff, self_tgid, user }
        sagafs_bpf_ctl { active, epoch, tai_offset_ns, mono_offset_ns }
        sagafs_bpf_task { epoch, key, nr, state }
    };
    for (name, v) in [
        ("SAGAFS_BPF_SLOTS", SLOTS as u64),
        ("SAGAFS_BPF_PLAIN", KIND_PLAIN as u64),
        ("SAGAFS_BPF_NORETURN", KIND_NORETURN as u64),
        ("SAGAFS_BPF_EXEC", KIND_EXEC as u64),
        ("SAGAFS_BPF_SIGRETURN", KIND_SIGRETURN as u64),
        ("SAGAFS_BPF_FORK", KIND_FORK as u64),
        ("SAGAFS_BPF_FD_PATH", FD_PATH as u64),
        ("SAGAFS_BPF_TRACK", TRACK as u64),
    ] {
        rust.insert(name.to_string(), v);
    }
    let c = c_table();
    assert_eq!(
        c.len(),
        rust.len(),
        "entries: C {:?} vs Rust {:?}",
        c.keys(),
        rust.keys()
    );
    for (k, v) in &c {
        assert_eq!(
            rust.get(k),
            Some(v),
            "{k}: C says {v}, Rust {:?}",
            rust.get(k)
        );
    }
}
