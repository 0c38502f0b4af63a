//! `sagafs-workload COMM PREFIX COUNT`: a process with a known comm making
//! exactly COUNT `openat(AT_FDCWD, "PREFIX.i", O_RDONLY)` calls, i = 0..COUNT,
//! moving to CPU i mod nr_cpus before each, for the VM tests to find in
//! the log. Prints nothing; exits 0 unless its arguments are wrong.

use std::process::ExitCode;

use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(comm), Some(path), Some(count)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|c| c.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: sagafs-workload COMM PREFIX COUNT");
        return ExitCode::from(2);
    };
    let Ok(name) = std::ffi::CString::new(comm.as_bytes()) else {
        eprintln!("sagafs-workload: COMM contains a NUL byte");
        return ExitCode::from(2);
    };
    // Before the rename: finding the CPU count opens files (cgroup
    // quotas), and the tests count every openat made under the new name.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Err(e) = nix::sys::prctl::set_name(&name) {
        eprintln!("sagafs-workload: PR_SET_NAME: {e}");
        return ExitCode::from(1);
    }
    for i in 0..count {
        let mut set = CpuSet::new();
        // Moving between CPUs spreads the records over several rings;
        // a failure only leaves the process where it is.
        if set.set(i as usize % cpus).is_ok() {
            let _ = sched_setaffinity(Pid::from_raw(0), &set);
        }
        let name = format!("{path}.{i}");
        // The result (a descriptor, closed on drop, or an errno) is what
        // the kernel logs; the workload has no use for it.
        let _ = openat(AT_FDCWD, name.as_str(), OFlag::O_RDONLY, Mode::empty());
    }
    ExitCode::SUCCESS
}
