//! `sagafs-actions [OPTIONS] COMM ACTION...`: a process with a known comm
//! whose child (this program again) makes exactly the system calls the
//! actions name, for the VM rule tests to find in the log.
//!
//! Options, applied by the parent before it starts the child (so the child
//! starts with them and the parent's own calls never carry the child's
//! pid):
//!   --cgroup DIR  move into cgroup DIR (writes 0 to DIR/cgroup.procs)
//!   --auid N      set the login uid (/proc/self/loginuid)
//!   --gid N       setresgid(N, N, N)
//!   --euid N      setresuid(-1, N, -1)
//!   --uid N       setresuid(N, N, N)
//!
//! The parent prints "PID PPID NSPID" of the child (PID as the parent's pid
//! namespace sees it, NSPID as the child's) once the child has started
//! and taken COMM as its name; the child then waits until the parent
//! reads a line on stdin before acting: the tests set rules knowing the
//! pids. The child's first call after that is the read(2) that wakes it.
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
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::process::{Command, ExitCode, Stdio};

use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::{fchmodat, mkdirat, FchmodatFlags, Mode};
use nix::unistd::{
    execv, getpid, getppid, setresgid, setresuid, unlinkat, Gid, Uid, UnlinkatFlags,
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

/// The first argument of the child's command line.
const CHILD: &str = "--child";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == CHILD) {
        return if args.len() < 3 {
            usage("--child COMM ACTION...")
        } else {
            child(&args[1..])
        };
    }
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
    if args.is_empty() {
        return usage("no COMM");
    }
    if args.len() < 2 {
        return usage("no ACTION");
    }
    parent(&args)
}

/// Starts the child (this program again, with `--child`), prints its ids
/// once it is ready, and lets it act on a line from stdin.
fn parent(args: &[String]) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return usage(&format!("/proc/self/exe: {e}")),
    };
    let mut child = match Command::new(exe)
        .arg(CHILD)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return usage(&format!("starting the child: {e}")),
    };
    let pid = child.id();
    // The child says "ready" once its start-up calls are behind it.
    let mut ready = String::new();
    let said = child
        .stdout
        .take()
        .map(|o| BufReader::new(o).read_line(&mut ready));
    if !matches!(said, Some(Ok(_))) || ready.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("sagafs-actions: the child did not start ({ready:?})");
        return ExitCode::from(1);
    }
    let nspid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|v| v.split_whitespace().last().map(str::to_string))
        })
        .unwrap_or_else(|| pid.to_string());
    println!("{pid} {} {nspid}", getpid());
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if let Some(mut w) = child.stdin.take() {
        let _ = w.write_all(b"g");
    }
    match child.wait() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("sagafs-actions: child ended {s}");
            ExitCode::from(1)
        }
        Err(e) => usage(&format!("wait: {e}")),
    }
}

/// The child: takes COMM as its name, says "ready", waits for one byte on
/// stdin, then makes the calls.
fn child(args: &[String]) -> ExitCode {
    let Ok(name) = CString::new(args[0].as_str()) else {
        return usage("COMM holds a NUL");
    };
    if let Err(e) = nix::sys::prctl::set_name(&name) {
        eprintln!("sagafs-actions: PR_SET_NAME: {e}");
        return ExitCode::from(1);
    }
    let mut out = std::io::stdout();
    if writeln!(out, "ready").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    let mut b = [0u8; 1];
    // The parent writes once the tests are ready.
    let _ = nix::unistd::read(std::io::stdin().as_fd(), &mut b);
    for a in &args[1..] {
        if let Err(m) = act(a) {
            eprintln!("sagafs-actions: {m}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
