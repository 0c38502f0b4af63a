//! Compiles `src/device/abi_check.c` against the kernel module's UAPI
//! header; the `device::abi_check` test compares what it exports with the
//! Rust mirror in `src/device/abi.rs`.

fn main() {
    let uapi = "../kmod/include/uapi";
    println!("cargo:rerun-if-changed={uapi}/sagafs.h");
    println!("cargo:rerun-if-changed=src/device/abi_check.c");
    cc::Build::new()
        .file("src/device/abi_check.c")
        .include(uapi)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("sagafs_abi_check");
}
