//! The capture program's call table (`slots` map): per `[abi][slot]`, the
//! kind of call and which arguments are paths, the same table as the
//! module's `kmod/capture.c`, built from the syscall names.

use super::layout::{
    sagafs_bpf_slot, FD_PATH, KIND_EXEC, KIND_FORK, KIND_NORETURN, KIND_SIGRETURN, SLOTS, TRACK,
};
use crate::device::abi::NR_SLOTS;
use crate::names;
use crate::record::Abi;

/// Calls with path arguments: (name, argument of path 0, of path 1).
const PATHS: &[(&str, i8, i8)] = &[
    ("open", 0, -1),
    ("openat", 1, -1),
    ("openat2", 1, -1),
    ("creat", 0, -1),
    ("execve", 0, -1),
    ("execveat", 1, -1),
    ("unlink", 0, -1),
    ("unlinkat", 1, -1),
    ("rename", 0, 1),
    ("renameat", 1, 3),
    ("renameat2", 1, 3),
    ("mkdir", 0, -1),
    ("mkdirat", 1, -1),
    ("rmdir", 0, -1),
    ("link", 0, 1),
    ("linkat", 1, 3),
    ("symlink", 0, 1),
    ("symlinkat", 0, 2),
    ("chmod", 0, -1),
    ("fchmodat", 1, -1),
    ("chown", 0, -1),
    ("chown32", 0, -1),
    ("lchown", 0, -1),
    ("lchown32", 0, -1),
    ("fchownat", 1, -1),
    ("truncate", 0, -1),
    ("truncate64", 0, -1),
    ("mknod", 0, -1),
    ("mknodat", 1, -1),
    ("mount", 0, 1),
    ("umount", 0, -1),
    ("umount2", 0, -1),
];

/// Calls that return a file descriptor of the file path 0 names: the
/// module resolves that path; the BPF program flags its copy unresolved.
const FD_PATHS: &[&str] = &["open", "openat", "openat2", "creat"];

const KINDS: &[(&str, u8)] = &[
    ("exit", KIND_NORETURN),
    ("exit_group", KIND_NORETURN),
    ("execve", KIND_EXEC),
    ("execveat", KIND_EXEC),
    ("rt_sigreturn", KIND_SIGRETURN),
    ("sigreturn", KIND_SIGRETURN),
    ("clone", KIND_FORK),
    ("clone3", KIND_FORK),
    ("fork", KIND_FORK),
    ("vfork", KIND_FORK),
];

/// x32's own entry points (the x86_64 numbers of these are unused there).
const X32_RT_SIGRETURN: usize = 513;
const X32_EXECVE: usize = 520;
const X32_EXECVEAT: usize = 545;

fn index(abi: Abi, slot: usize) -> usize {
    abi.index() * NR_SLOTS + slot
}

/// The whole table, `[abi][slot]` flattened.
pub fn table() -> Vec<sagafs_bpf_slot> {
    let mut t = vec![sagafs_bpf_slot::default(); SLOTS];
    for &(name, p0, p1) in PATHS {
        for &(abi, slot) in names::lookup(name).unwrap_or_default().iter() {
            t[index(abi, slot)].path = [p0, p1];
        }
    }
    for &name in FD_PATHS {
        for &(abi, slot) in names::lookup(name).unwrap_or_default().iter() {
            t[index(abi, slot)].flags |= FD_PATH;
        }
    }
    for &(name, kind) in KINDS {
        for &(abi, slot) in names::lookup(name).unwrap_or_default().iter() {
            t[index(abi, slot)].kind = kind;
        }
    }
    // x32 has its own execve, execveat and rt_sigreturn.
    for name in ["execve", "execveat", "rt_sigreturn"] {
        for &(abi, slot) in names::lookup(name).unwrap_or_default().iter() {
            if abi == Abi::X32 {
                t[index(abi, slot)] = sagafs_bpf_slot::default();
            }
        }
    }
    t[index(Abi::X32, X32_EXECVE)] = sagafs_bpf_slot {
        kind: KIND_EXEC,
        flags: 0,
        path: [0, -1],
    };
    t[index(Abi::X32, X32_EXECVEAT)] = sagafs_bpf_slot {
        kind: KIND_EXEC,
        flags: 0,
        path: [1, -1],
    };
    t[index(Abi::X32, X32_RT_SIGRETURN)].kind = KIND_SIGRETURN;
    // A successful exec between i386 and x86_64 exits under the other
    // ABI's number: the program keeps the mark for those numbers.
    for name in ["execve", "execveat"] {
        for &(abi, slot) in names::lookup(name).unwrap_or_default().iter() {
            let other = match abi {
                Abi::I386 => Abi::X86_64,
                Abi::X86_64 => Abi::I386,
                Abi::X32 => continue,
            };
            t[index(other, slot)].flags |= TRACK;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &[sagafs_bpf_slot], abi: Abi, name: &str) -> sagafs_bpf_slot {
        let hits = names::lookup(&format!("{}:{name}", abi.as_str())).unwrap();
        t[index(abi, hits[0].1)]
    }

    #[test]
    fn the_module_table() {
        let t = table();
        // The numbers the module's table uses (asm/unistd_64.h, unistd_32.h).
        assert_eq!(t[index(Abi::X86_64, 257)].path, [1, -1]); // openat
        assert_eq!(t[index(Abi::X86_64, 257)].flags, FD_PATH);
        // munmap is i386's execve number; olduname x86_64's.
        assert_eq!(t[index(Abi::X86_64, 11)].flags, TRACK);
        assert_eq!(t[index(Abi::I386, 59)].flags, TRACK);
        assert_eq!(t[index(Abi::X86_64, 59)].kind, KIND_EXEC);
        assert_eq!(t[index(Abi::X86_64, 231)].kind, KIND_NORETURN); // exit_group
        assert_eq!(t[index(Abi::X86_64, 15)].kind, KIND_SIGRETURN);
        assert_eq!(t[index(Abi::X86_64, 56)].kind, KIND_FORK); // clone
        assert_eq!(t[index(Abi::X86_64, 0)], sagafs_bpf_slot::default()); // read
        assert_eq!(t[index(Abi::I386, 5)].path, [0, -1]); // open
        assert_eq!(t[index(Abi::I386, 11)].kind, KIND_EXEC); // execve
        assert_eq!(t[index(Abi::I386, 119)].kind, KIND_SIGRETURN); // sigreturn
        assert_eq!(t[index(Abi::I386, 212)].path, [0, -1]); // chown32
        assert_eq!(t[index(Abi::I386, 22)].path, [0, -1]); // umount
        assert_eq!(at(&t, Abi::X86_64, "renameat2").path, [1, 3]);
        assert_eq!(at(&t, Abi::X86_64, "symlinkat").path, [0, 2]);
        // x32: own execve/execveat/rt_sigreturn, the x86_64 numbers unused.
        assert_eq!(t[index(Abi::X32, 59)], sagafs_bpf_slot::default());
        assert_eq!(t[index(Abi::X32, 322)], sagafs_bpf_slot::default());
        assert_eq!(t[index(Abi::X32, 15)], sagafs_bpf_slot::default());
        assert_eq!(t[index(Abi::X32, 520)].kind, KIND_EXEC);
        assert_eq!(t[index(Abi::X32, 545)].path, [1, -1]);
        assert_eq!(t[index(Abi::X32, 513)].kind, KIND_SIGRETURN);
        assert_eq!(t[index(Abi::X32, 257)].path, [1, -1]);
        let paths = t.iter().filter(|s| s.path[0] >= 0).count();
        // x86_64 28, x32 the same 28 (its exec numbers moved), i386 32.
        assert_eq!(paths, 28 + 28 + 32, "{paths}");
    }
}
