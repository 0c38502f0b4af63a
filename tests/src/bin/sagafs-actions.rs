//! `sagafs-actions [OPTIONS] COMM ACTION...`: a process with a known comm
//! whose forked child makes exactly the system calls the actions name,
//! for the VM rule tests to find in the log.
//!
//! Options, applied by the parent before it forks (so the child starts
//! with them and the parent's own calls never carry the child's pid):
//!   --cgroup DIR  move into cgroup DIR (writes 0 to DIR/cgroup.procs)
//!   --auid N      set the login uid (/proc/self/loginuid)
//!   --gid N       setresgid(N, N, N)
//!   --euid N      setresuid(-1, N, -1)
//!   --uid N       setresuid(N, N, N)
//!
//! The parent prints "PID PPID NSPID" of the child (PID as the parent's pid
//! namespace sees it, NSPID as the child's), then the child waits for a
//! line on stdin before acting: the tests set rules knowing the pids.
//!
//! Actions, one system call each:
//!   open:P   openat(AT_FDCWD, P, O_RDONLY)
//!   write:P  openat(AT_FDCWD, P, O_WRONLY|O_CREAT|O_TRUNC, 0600)
//!   chmod:P  fchmodat(AT_FDCWD, P, 0640)
//!   unlink:P unlinkat(AT_FDCWD, P, 0)
//!   mkdir:P  mkdirat(AT_FDCWD, P, 0700)
//!   getppid  getppid()
//!   exec:P[,ARG...]  execve(P, [P, ARG...]) (must be last)
//!
//! Results are not checked (a failing call is still a call). Exit status:
//! the child's, 2 for bad arguments.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::{fchmodat, mkdirat, FchmodatFlags, Mode};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{
    execv, getpid, getppid, setresgid, setresuid, unlinkat, ForkResult, Gid, Uid, UnlinkatFlags,
};

fn usage(msg: &str) -> ExitCode {
    eprintln!("sagafs-actions: {msg}");
    eprintln!("usage: sagafs-actions [--cgroup DIR] [--auid N] [--gid N] [--euid N] [--uid N] COMM ACTION...");
    ExitCode::from(2)
}

fn act(a: &str) -> Result<(), String> {
    let (verb, arg) = a.split_once(':').unwrap_or((a, ""));
    // Each result is what the kernel logs; the actions have no use for it.
    match verb {
        "open" => drop(openat(AT_FDCWD, arg, OFlag::O_RDONLY, Mode::empty())),
        "write" => drop(openat(
            AT_FDCWD,
            arg,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC,
            Mode::from_bits_truncate(0o600),
        )),
        "chmod" => drop(fchmodat(
            AT_FDCWD,
            arg,
            Mode::from_bits_truncate(0o640),
            FchmodatFlags::FollowSymlink,
        )),
        "unlink" => drop(unlinkat(AT_FDCWD, arg, UnlinkatFlags::NoRemoveDir)),
        "mkdir" => drop(mkdirat(AT_FDCWD, arg, Mode::from_bits_truncate(0o700))),
        "getppid" => drop(getppid()),
        "exec" => {
            let argv: Vec<CString> = arg
                .split(',')
                .map(|s| CString::new(s).map_err(|_| "a NUL in exec".to_string()))
                .collect::<Result<_, _>>()?;
            let e = execv(&argv[0], &argv).unwrap_err();
            return Err(format!("exec {arg}: {e}"));
        }
        _ => return Err(format!("unknown action '{a}'")),
    }
    Ok(())
}

fn setup(opt: &str, v: &str) -> Result<(), String> {
    let n: u32 = v.parse().map_err(|_| format!("{opt} {v}: not a number"))?;
    match opt {
        "--cgroup" => unreachable!("handled by the caller"),
        "--auid" => std::fs::write("/proc/self/loginuid", n.to_string())
            .map_err(|e| format!("/proc/self/loginuid: {e}")),
        "--gid" => {
            let g = Gid::from_raw(n);
            setresgid(g, g, g).map_err(|e| format!("setresgid: {e}"))
        }
        "--euid" => setresuid(
            Uid::from_raw(u32::MAX),
            Uid::from_raw(n),
            Uid::from_raw(u32::MAX),
        )
        .map_err(|e| format!("setresuid: {e}")),
        "--uid" => {
            let u = Uid::from_raw(n);
            setresuid(u, u, u).map_err(|e| format!("setresuid: {e}"))
        }
        _ => Err(format!("unknown option {opt}")),
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    while args.first().is_some_and(|a| a.starts_with("--")) {
        if args.len() < 2 {
            return usage("an option needs a value");
        }
        let (opt, v) = (args.remove(0), args.remove(0));
        let r = if opt == "--cgroup" {
            std::fs::write(format!("{v}/cgroup.procs"), "0").map_err(|e| format!("{v}: {e}"))
        } else {
            setup(&opt, &v)
        };
        if let Err(m) = r {
            return usage(&m);
        }
    }
    let Some(comm) = args.first().cloned() else {
        return usage("no COMM");
    };
    let Ok(name) = CString::new(comm) else {
        return usage("COMM holds a NUL");
    };
    if let Err(e) = nix::sys::prctl::set_name(&name) {
        eprintln!("sagafs-actions: PR_SET_NAME: {e}");
        return ExitCode::from(1);
    }
    let actions = args[1..].to_vec();
    let (r, w) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return usage(&format!("pipe: {e}")),
    };
    // SAFETY: the process has one thread; the child only makes system
    // calls and leaves with _exit.
    match unsafe { nix::unistd::fork() } {
        Err(e) => usage(&format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            drop(w);
            let mut b = [0u8; 1];
            // The parent writes once the tests are ready.
            let _ = nix::unistd::read(&r, &mut b);
            for a in &actions {
                if let Err(m) = act(a) {
                    eprintln!("sagafs-actions: {m}");
                    // SAFETY: leaves the child without running destructors.
                    unsafe { libc::_exit(1) };
                }
            }
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Parent { child }) => {
            drop(r);
            let nspid = std::fs::read_to_string(format!("/proc/{child}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("NSpid:"))
                        .and_then(|v| v.split_whitespace().last().map(str::to_string))
                })
                .unwrap_or_else(|| child.to_string());
            println!("{child} {} {nspid}", getpid());
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            let _ = nix::unistd::write(&w, b"g");
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => ExitCode::SUCCESS,
                Ok(s) => {
                    eprintln!("sagafs-actions: child ended {s:?}");
                    ExitCode::from(1)
                }
                Err(e) => usage(&format!("waitpid: {e}")),
            }
        }
    }
}
