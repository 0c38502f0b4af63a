//! Syscall classes for `class=` and the static half of `perm=`.
//!
//! A class is a list of canonical syscall names; its members on each ABI
//! are the slots the `syscalls` crate's tables give those names (through
//! [`crate::names`]), so `class=file` covers `open` on x86_64 (2), i386
//! (5) and x32 (2), and `chown32` only on i386. sagafs(5) lists them.
//!
//! The `perm` classes follow the kernel's audit classes
//! (include/asm-generic/audit_{dir_write,write,read,change_attr}.h), so
//! that a `watch` means what auditd's `-w ... -p` means.

use crate::abi::{self, BITMAP_WORDS, NR_ABIS};
use crate::names;

/// `[abi][slot / 64]`, as in the ABI.
pub type Bitmap = [[u64; BITMAP_WORDS]; NR_ABIS];

/// Calls that take a file name (strace's `%file`).
const FILE: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "execve",
    "execveat",
    "stat",
    "lstat",
    "oldstat",
    "oldlstat",
    "stat64",
    "lstat64",
    "newfstatat",
    "fstatat64",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "chdir",
    "chroot",
    "chmod",
    "fchmodat",
    "chown",
    "lchown",
    "chown32",
    "lchown32",
    "fchownat",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "mknod",
    "mknodat",
    "truncate",
    "truncate64",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "utimensat_time64",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "swapon",
    "swapoff",
    "acct",
    "setxattr",
    "lsetxattr",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "removexattr",
    "lremovexattr",
    "statfs",
    "statfs64",
    "quotactl",
    "uselib",
    "name_to_handle_at",
    "inotify_add_watch",
    "fanotify_mark",
    "open_tree",
    "move_mount",
    "fspick",
    "mount_setattr",
];

/// auditd's write class: the directory writes and the calls that change
/// a file's content or the namespace.
const FILE_WRITE: &[&str] = &[
    "rename",
    "mkdir",
    "rmdir",
    "creat",
    "link",
    "unlink",
    "symlink",
    "mknod",
    "mkdirat",
    "mknodat",
    "unlinkat",
    "renameat",
    "linkat",
    "symlinkat",
    "renameat2",
    "acct",
    "swapon",
    "quotactl",
    "truncate",
    "truncate64",
    "ftruncate",
    "ftruncate64",
    "bind",
    "fallocate",
];

/// auditd's read class.
const FILE_READ: &[&str] = &[
    "readlink",
    "quotactl",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "readlinkat",
];

/// auditd's attribute-change class.
const FILE_ATTR: &[&str] = &[
    "chmod",
    "fchmod",
    "chown",
    "lchown",
    "fchown",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "fchownat",
    "fchmodat",
    "chown32",
    "fchown32",
    "lchown32",
    "link",
    "linkat",
];

const EXEC: &[&str] = &["execve", "execveat"];

/// Process life cycle, signals to processes, tracing.
const PROCESS: &[&str] = &[
    "fork",
    "vfork",
    "clone",
    "clone3",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "waitpid",
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "ptrace",
    "unshare",
    "setns",
];

const NETWORK: &[&str] = &[
    "socket",
    "socketpair",
    "bind",
    "connect",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "recvmmsg_time64",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "socketcall",
];

/// System V IPC and POSIX message queues.
const IPC: &[&str] = &[
    "ipc",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "semctl",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_notify",
    "mq_getsetattr",
];

/// Credential changes.
const ID: &[&str] = &[
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
    "setuid32",
    "setgid32",
    "setreuid32",
    "setregid32",
    "setresuid32",
    "setresgid32",
    "setfsuid32",
    "setfsgid32",
    "setgroups32",
    "capset",
];

const MODULE: &[&str] = &["init_module", "finit_module", "delete_module"];

const MOUNT: &[&str] = &[
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
];

const TIME: &[&str] = &[
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "adjtimex",
    "clock_adjtime",
    "clock_adjtime64",
];

/// Calls whose access the kernel reads from their flags (`perm`).
pub const OPEN_FAMILY: &[&str] = &["open", "openat", "openat2", "open_by_handle_at", "creat"];

/// Every class, by the name `class=` takes.
pub const CLASSES: &[(&str, &[&str])] = &[
    ("file", FILE),
    ("file-write", FILE_WRITE),
    ("file-read", FILE_READ),
    ("file-attr", FILE_ATTR),
    ("exec", EXEC),
    ("process", PROCESS),
    ("network", NETWORK),
    ("ipc", IPC),
    ("id", ID),
    ("module", MODULE),
    ("mount", MOUNT),
    ("time", TIME),
];

/// An empty bitmap.
pub const EMPTY: Bitmap = [[0; BITMAP_WORDS]; NR_ABIS];
/// Every slot of every ABI.
pub const FULL: Bitmap = [[u64::MAX; BITMAP_WORDS]; NR_ABIS];

pub fn set(map: &mut Bitmap, abi: usize, slot: usize) {
    map[abi][slot / 64] |= 1 << (slot % 64);
}

pub fn has(map: &Bitmap, abi: usize, slot: usize) -> bool {
    map[abi][slot / 64] & (1 << (slot % 64)) != 0
}

pub fn union(a: &Bitmap, b: &Bitmap) -> Bitmap {
    let mut out = *a;
    for (o, b) in out.iter_mut().flatten().zip(b.iter().flatten()) {
        *o |= b;
    }
    out
}

pub fn intersect(a: &Bitmap, b: &Bitmap) -> Bitmap {
    let mut out = *a;
    for (o, b) in out.iter_mut().flatten().zip(b.iter().flatten()) {
        *o &= b;
    }
    out
}

pub fn complement(a: &Bitmap) -> Bitmap {
    let mut out = *a;
    for o in out.iter_mut().flatten() {
        *o = !*o;
    }
    out
}

pub fn is_empty(a: &Bitmap) -> bool {
    a.iter().flatten().all(|&w| w == 0)
}

/// The slots carrying any of `names` on any ABI.
pub fn of_names(list: &[&str]) -> Bitmap {
    let mut m = EMPTY;
    for n in list {
        for &(abi, slot) in names::canonical_slots(n) {
            set(&mut m, abi.index(), slot);
        }
    }
    m
}

/// The members of class `name`, if there is such a class.
pub fn class(name: &str) -> Option<Bitmap> {
    CLASSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, list)| of_names(list))
}

/// The calls a `perm` mask can apply to: the classes of its letters,
/// exec for x, and the open family (whose flags the kernel then checks)
/// for r and w.
pub fn perm_slots(mask: u64) -> Bitmap {
    let mut m = EMPTY;
    let mut add = |list: &[&str]| m = union(&m, &of_names(list));
    if mask & abi::PERM_W != 0 {
        add(FILE_WRITE);
    }
    if mask & abi::PERM_R != 0 {
        add(FILE_READ);
    }
    if mask & abi::PERM_A != 0 {
        add(FILE_ATTR);
    }
    if mask & abi::PERM_X != 0 {
        add(EXEC);
    }
    if mask & (abi::PERM_R | abi::PERM_W) != 0 {
        add(OPEN_FAMILY);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Abi;

    #[test]
    fn every_listed_name_exists_somewhere() {
        for (class, list) in CLASSES.iter().chain(&[("open", OPEN_FAMILY)]) {
            for n in *list {
                assert!(
                    !names::canonical_slots(n).is_empty(),
                    "class {class}: '{n}' is no syscall name on any ABI"
                );
            }
        }
    }

    #[test]
    fn classes_resolve_per_abi() {
        let file = class("file").unwrap();
        assert!(has(&file, Abi::X86_64.index(), 2)); // open
        assert!(has(&file, Abi::I386.index(), 5)); // open
        assert!(has(&file, Abi::X32.index(), 257)); // openat
        assert!(!has(&file, Abi::X86_64.index(), 0)); // read
        let id = class("id").unwrap();
        assert!(has(&id, Abi::I386.index(), 213)); // setuid32
        assert!(!has(&id, Abi::X86_64.index(), 213)); // epoll_create on x86_64
        assert!(class("nonsense").is_none());
        let net = class("network").unwrap();
        assert!(has(&net, Abi::I386.index(), 102)); // socketcall
    }

    #[test]
    fn perm_slots_follow_the_audit_classes() {
        let w = perm_slots(abi::PERM_W);
        assert!(has(&w, 0, 87)); // unlink
        assert!(has(&w, 0, 257)); // openat: flags decide
        assert!(!has(&w, 0, 90)); // chmod is "a"
        assert!(!has(&w, 0, 59)); // execve is "x"
        let a = perm_slots(abi::PERM_A);
        assert!(has(&a, 0, 90) && !has(&a, 0, 257));
        let x = perm_slots(abi::PERM_X);
        assert!(has(&x, 0, 59) && has(&x, 1, 11) && !has(&x, 0, 2));
        let r = perm_slots(abi::PERM_R);
        assert!(has(&r, 0, 89) && has(&r, 0, 2)); // readlink, open
    }

    /// sagafs(5) lists every class with exactly its members.
    #[test]
    fn the_manual_lists_the_classes() {
        let man = include_str!("../../../man/sagafs.5");
        let section = man
            .split(".Ss Classes\n")
            .nth(1)
            .and_then(|s| s.split("\n.El\n").next())
            .expect("sagafs(5) has a Classes list");
        let mut documented = Vec::new();
        let mut name = None;
        for line in section.lines() {
            if let Some(n) = line.strip_prefix(".It Cm ") {
                name = Some(n);
            } else if let Some(list) = line.strip_prefix(".Li ") {
                let members: Vec<&str> = list.split(" , ").collect();
                documented.push((name.take().expect("a list after .It"), members));
            }
        }
        let code: Vec<(&str, Vec<&str>)> = CLASSES.iter().map(|(n, l)| (*n, l.to_vec())).collect();
        assert_eq!(documented, code);
    }

    #[test]
    fn bitmap_algebra() {
        let mut a = EMPTY;
        set(&mut a, 1, 70);
        assert!(has(&a, 1, 70) && !has(&a, 0, 70));
        assert!(is_empty(&intersect(&a, &complement(&a))));
        assert_eq!(union(&a, &complement(&a)), FULL);
    }
}
