//! Compiles `src/abi/check.c` against the kernel module's UAPI
//! header; the `abi::check` test compares what it exports with the
//! Rust mirror in `src/abi/mod.rs`.

fn main() {
    let uapi = "../kmod/include/uapi";
    println!("cargo:rerun-if-changed={uapi}/sagafs.h");
    println!("cargo:rerun-if-changed=src/abi/check.c");
    cc::Build::new()
        .file("src/abi/check.c")
        .include(uapi)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("sagafs_abi_check");
}
