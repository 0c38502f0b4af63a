//! `sagafs`: mounts the system call log.
//!
//! `sagafs [-f|--foreground] [-o OPTIONS] [SOURCE] MOUNTPOINT`
//!
//! The program: its command line (`cli`), daemonizing (`daemonize`), the
//! guardian that removes the mount of a killed daemon (`guardian`), where
//! log messages go (`logging`), signals and the end (here).  The daemon's
//! state and threads, the file tree and the FUSE mount are the `sagafs`
//! library's (`sagafs::daemon`, `sagafs::tree`, `sagafs::mount`).
//!
//! SIGTERM, SIGINT and SIGHUP unmount and exit; an external `umount` ends
//! the daemon too.  A busy mount point is detached lazily so that no dead
//! mount is left behind.  Once mounted, the main thread starts the
//! guardian, which detaches the mount if the daemon is killed; a dead
//! sagafs mount found on the mount point at start is detached too.

#![deny(unsafe_code)]

mod cli;
mod daemonize;
mod guardian;
mod logging;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use fuser::SessionUnmounter;
use nix::sys::signal::{SigSet, Signal};
use sagafs::daemon::Daemon;
use sagafs::device::Device;
use sagafs::mount::{check_mountpoint, mount, Mounted};
use sagafs_mount::options::{self, MountOptions};

use cli::{parse_args, Cli};
use daemonize::{spawn_daemon, Reporter};

/// Ends the mount on a signal: readers get end of file, the file system
/// is unmounted; if it is busy, it is detached and the process exits
/// (closing /dev/fuse ends the detached connection).
fn stop_on_signal(sig: Signal, daemon: &Daemon, mut unmounter: SessionUnmounter, mp: &Path) {
    log::info!("{sig}: unmounting {}", mp.display());
    daemon.shutdown();
    if let Err(e) = unmounter.unmount() {
        log::warn!("{} is busy ({e}): detaching it", mp.display());
        if let Err(e) = nix::mount::umount2(mp, nix::mount::MntFlags::MNT_DETACH) {
            log::error!("detaching {} failed: {e}", mp.display());
        }
        std::process::exit(0);
    }
}

/// The `sagafs` program: the guardian, or a mount (daemonized unless
/// `-f`).
fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if let Some(req) = guardian::request(argv.get(1..).unwrap_or_default()) {
        return guardian::run(&req);
    }
    let cli = match parse_args(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let opts = match options::parse(&cli.options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sagafs: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = check_mountpoint(&cli.mountpoint) {
        eprintln!("sagafs: {e}");
        return ExitCode::from(1);
    }
    if !cli.foreground && !cli.daemon_child {
        return spawn_daemon();
    }
    serve(&cli, &opts)
}

/// The daemon proper, in the foreground or as the daemonized copy:
/// mounts, reports, then serves until unmounted or signalled.
fn serve(cli: &Cli, opts: &MountOptions) -> ExitCode {
    if cli.daemon_child {
        // Leave the terminal's session: no SIGHUP when it closes.
        let _ = nix::unistd::setsid();
    }
    logging::init(cli.daemon_child);
    let report = Reporter {
        child: cli.daemon_child,
    };
    // Before any thread exists, so that every thread inherits the mask
    // and only the signal thread receives these.
    let mut sigs = SigSet::empty();
    sigs.add(Signal::SIGTERM);
    sigs.add(Signal::SIGINT);
    sigs.add(Signal::SIGHUP);
    if let Err(e) = sigs.thread_block() {
        return report.fail(&format!("cannot block signals: {e}"));
    }
    let device = match Device::open(&opts.device) {
        Ok(d) => d,
        Err(e) => return report.fail(&e.to_string()),
    };
    let mut mounted = match mount(Arc::new(device), opts, &cli.mountpoint) {
        Ok(m) => m,
        Err(e) => return report.fail(&e),
    };
    let mp = cli
        .mountpoint
        .canonicalize()
        .unwrap_or_else(|_| cli.mountpoint.clone());
    log::info!("mounted on {}", mp.display());
    report.ok();
    // From the main thread, which lives as long as the process: the
    // parent-death signal follows the thread that started the guardian.
    if let Err(e) = guardian::spawn(&mp, cli.daemon_child) {
        log::error!("cannot start the guardian (a killed daemon would leave a dead mount): {e}");
    }
    watch_signals(sigs, &mut mounted, mp);
    match mounted.run() {
        Ok(()) => {
            log::info!("unmounted: exiting");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("the FUSE session ended with an error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Starts the thread that waits for `sigs` (blocked in every thread) and
/// ends the mount on the first.
fn watch_signals(sigs: SigSet, mounted: &mut Mounted, mp: PathBuf) {
    let unmounter = mounted.unmounter();
    let daemon = mounted.daemon().clone();
    let spawned = std::thread::Builder::new()
        .name("sagafs-signals".into())
        .spawn(move || {
            if let Ok(sig) = sigs.wait() {
                stop_on_signal(sig, &daemon, unmounter, &mp);
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start the signal thread: {e}");
    }
}
