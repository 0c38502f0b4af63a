//! `sagafs-marked COMM CMD [ARG...]`: a marked workload for the capture
//! tests.  It prints `ready` once its start-up is done, reads one line
//! from stdin (so that the test can set filters on its pid and start
//! capture in between), renames itself COMM, then runs CMD:
//!
//! - `open PREFIX N`: N calls `openat(AT_FDCWD, "PREFIX.i", O_RDONLY)`,
//!   i = 0..N, moving to CPU i mod nr_cpus before each;
//! - `exec PATH [ARG...]`: `execve(PATH, [PATH, ARG...], environ)`; exits
//!   3 if the call fails;
//! - `int80 N`: N calls of the i386 `getpid` (20) through `int 0x80`,
//!   the 32-bit system call path of a 64-bit process.
//!
//! Exits 2 on bad arguments.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

fn usage() -> ExitCode {
    eprintln!("usage: sagafs-marked COMM open PREFIX N | sagafs-marked COMM exec PATH [ARG...]");
    ExitCode::from(2)
}

fn cstring(s: &str) -> Option<CString> {
    CString::new(s.as_bytes()).ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(comm), Some(cmd)) = (args.get(1).and_then(|c| cstring(c)), args.get(2)) else {
        return usage();
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Before the go: the tests count every call made after it.
    let pid = u64::from(std::process::id());
    let mut out = std::io::stdout().lock();
    if writeln!(out, "ready").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    drop(out);
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if let Err(e) = nix::sys::prctl::set_name(&comm) {
        eprintln!("sagafs-marked: PR_SET_NAME: {e}");
        return ExitCode::from(1);
    }
    match cmd.as_str() {
        "open" => {
            let (Some(prefix), Some(n)) =
                (args.get(3), args.get(4).and_then(|n| n.parse::<u64>().ok()))
            else {
                return usage();
            };
            for i in 0..n {
                let mut set = CpuSet::new();
                if set.set(i as usize % cpus).is_ok() {
                    let _ = sched_setaffinity(Pid::from_raw(0), &set);
                }
                // The result is what the kernel logs; nothing to do with it.
                let _ = openat(
                    AT_FDCWD,
                    format!("{prefix}.{i}").as_str(),
                    OFlag::O_RDONLY,
                    Mode::empty(),
                );
            }
            ExitCode::SUCCESS
        }
        "exec" => {
            let Some(argv) = args[3..]
                .iter()
                .map(|a| cstring(a))
                .collect::<Option<Vec<_>>>()
            else {
                return usage();
            };
            if argv.is_empty() {
                return usage();
            }
            let e = nix::unistd::execv(&argv[0], &argv).unwrap_err();
            eprintln!("sagafs-marked: execve {}: {e}", args[3]);
            ExitCode::from(3)
        }
        "int80" => {
            let Some(n) = args.get(3).and_then(|n| n.parse::<u64>().ok()) else {
                return usage();
            };
            for _ in 0..n {
                let ax = i386_getpid();
                if ax != pid {
                    eprintln!("sagafs-marked: i386 getpid returned {ax}");
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}

/// getpid through the i386 system call entry (int 0x80).
#[allow(unsafe_code)]
fn i386_getpid() -> u64 {
    let mut ax: u64 = 20;
    // SAFETY: int 0x80 enters the kernel's i386 system call path; getpid
    // (i386 number 20) takes no argument and touches no memory. The
    // kernel returns r8-r11 zeroed.
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inout("rax") ax,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            options(nostack)
        );
    }
    ax
}
