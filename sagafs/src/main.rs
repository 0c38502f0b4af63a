//! `sagafs`: mounts the system call log (see `sagafs::daemon::start`).

fn main() -> std::process::ExitCode {
    sagafs::daemon::start::main()
}
