//! Build steps besides rustc:
//!
//! - `src/abi/check.c` and `src/device/bpf/layout_check.c`, compiled
//!   against the module's UAPI header and `bpf/sagafs_bpf.h`; the
//!   `abi::check` and `bpf::layout_check` tests compare what they export
//!   with the Rust mirrors.
//! - `bpf/sagafs.bpf.c`, the eBPF capture program, compiled once with
//!   clang into a CO-RE object (`$OUT_DIR/sagafs.bpf.o`) that the BPF
//!   backend embeds and libbpf relocates at load time.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let uapi = "../kmod/include/uapi";
    println!("cargo:rerun-if-changed={uapi}/sagafs.h");
    println!("cargo:rerun-if-changed=src/abi/check.c");
    println!("cargo:rerun-if-changed=src/device/bpf/layout_check.c");
    cc::Build::new()
        .file("src/abi/check.c")
        .include(uapi)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("sagafs_abi_check");
    cc::Build::new()
        .file("src/device/bpf/layout_check.c")
        .include("../kmod/include")
        .include("../bpf")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("sagafs_bpf_layout_check");
    build_bpf();
}

/// Compiles the capture program with clang (`$CLANG`, default `clang`).
fn build_bpf() {
    for f in ["sagafs.bpf.c", "sagafs_bpf.h", "kernel_types.h"] {
        println!("cargo:rerun-if-changed=../bpf/{f}");
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("sagafs.bpf.o");
    let status = Command::new(&clang)
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            "-Werror",
            "-I../kmod/include",
            "-I../bpf",
            // <linux/types.h> needs <asm/types.h> from the multiarch tree.
            "-idirafter/usr/include/x86_64-linux-gnu",
            "-c",
            "../bpf/sagafs.bpf.c",
            "-o",
        ])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile bpf/sagafs.bpf.c ({s})"),
        Err(e) => panic!(
            "cannot run {clang} ({e}): the BPF capture program is compiled with clang; \
             install clang and libbpf-dev (tests/deps.sh does) or set CLANG"
        ),
    }
}
