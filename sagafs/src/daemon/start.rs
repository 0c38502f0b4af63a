//! Start-up of the `sagafs` binary: the command line, the mount, the
//! daemonizing hand-shake, signals and the end.
//!
//! `sagafs [-f|--foreground] [-o OPTIONS] [SOURCE] MOUNTPOINT`
//!
//! Without `-f` the process starts a copy of itself (before any thread
//! exists) in a new session with its stdout on a pipe; the copy opens the
//! device, mounts, and writes `ok` or one error line to the pipe.  The
//! first process exits 0 only after `ok` (the mount is live), else it
//! prints the line and exits 1.  SIGTERM, SIGINT and SIGHUP unmount and
//! exit; an external `umount` ends the daemon too.  A busy mount point is
//! detached lazily so that no dead mount is left behind.  Once mounted,
//! the main thread starts the guardian (`guardian`), which detaches the
//! mount if the daemon is killed; a dead sagafs mount found on the mount
//! point at start is detached too.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use clap::{Arg, ArgAction};
use fuser::{MountOption, Session, SessionACL, SessionUnmounter};
use nix::sys::signal::{SigSet, Signal};

use super::{guardian, logging, Daemon};
use crate::config::{self, Settings};
use crate::device::Backend;
use crate::fuse::SagaFs;
use crate::options::{self, BackendChoice, MountOptions};
use crate::tree::{Tree, TreeOptions};

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    pub foreground: bool,
    /// All `-o` values joined with commas.
    pub options: String,
    pub mountpoint: PathBuf,
    /// Internal: this is the daemonized copy reporting on stdout.
    pub daemon_child: bool,
    /// `--backend`: overrides the `backend=` mount option.
    pub backend: Option<BackendChoice>,
}

fn command() -> clap::Command {
    clap::Command::new("sagafs")
        .about("Mount the sagafs system call log as a file system")
        .override_usage(
            "sagafs [-f|--foreground] [--backend auto|module|bpf] [-o OPTIONS] [SOURCE] MOUNTPOINT",
        )
        .disable_version_flag(true)
        .arg(
            Arg::new("foreground")
                .short('f')
                .long("foreground")
                .action(ArgAction::SetTrue)
                .help("Stay in the foreground and log to stderr"),
        )
        .arg(
            Arg::new("options")
                .short('o')
                .value_name("OPTIONS")
                .action(ArgAction::Append)
                .help("Comma-separated mount options (see sagafs(8))"),
        )
        .arg(
            Arg::new("backend")
                .long("backend")
                .value_name("auto|module|bpf")
                .value_parser(|v: &str| BackendChoice::parse(v))
                .help("Capture backend (overrides -o backend=; see sagafs(8))"),
        )
        .arg(
            Arg::new("daemon-child")
                .long("daemon-child")
                .action(ArgAction::SetTrue)
                .hide(true),
        )
        .arg(
            Arg::new("paths")
                .value_name("[SOURCE] MOUNTPOINT")
                .num_args(1..=2)
                .required(true)
                .value_parser(clap::value_parser!(PathBuf)),
        )
}

/// Parses the command line (`args` includes the program name).
pub fn parse_args<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, clap::Error> {
    let m = command().try_get_matches_from(args)?;
    let paths: Vec<PathBuf> = m
        .get_many::<PathBuf>("paths")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    let options = m
        .get_many::<String>("options")
        .map(|v| v.cloned().collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    Ok(Cli {
        foreground: m.get_flag("foreground"),
        options,
        mountpoint: paths.last().cloned().unwrap_or_default(),
        daemon_child: m.get_flag("daemon-child"),
        backend: m.get_one::<BackendChoice>("backend").copied(),
    })
}

/// Checks the mount point: an existing directory, not already a sagafs
/// mount.  Returns its canonical path.
pub fn check_mountpoint(p: &Path) -> Result<PathBuf, String> {
    remove_dead_mount(p)?;
    let canon = p.canonicalize().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "mount point {} does not exist: create it (mkdir -p {})",
                p.display(),
                p.display()
            )
        } else {
            format!("mount point {}: {e}", p.display())
        }
    })?;
    if !canon.is_dir() {
        return Err(format!("mount point {} is not a directory", p.display()));
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let target = canon.to_string_lossy().replace(' ', "\\040");
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.get(4) == Some(&target.as_str()) && f.get(sep + 1) == Some(&"fuse.sagafs") {
            return Err(format!(
                "{} is already a sagafs mount: unmount it first (umount {})",
                p.display(),
                p.display()
            ));
        }
    }
    Ok(canon)
}

/// Detaches a dead sagafs mount (its daemon was killed) on `p`, which is
/// looked up with its parent resolved and itself untouched: stat on a dead
/// mount fails.
fn remove_dead_mount(p: &Path) -> Result<(), String> {
    let (Some(name), Some(parent)) = (p.file_name(), p.parent()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(parent) = parent.canonicalize() else {
        return Ok(());
    };
    let target = parent.join(name);
    if guardian::detach_if_dead(&target)? {
        let msg = format!(
            "{} was a dead sagafs mount (its daemon had ended): detached it",
            target.display()
        );
        log::warn!("{msg}");
        eprintln!("sagafs: {msg}");
    }
    Ok(())
}

/// The settings to start with: the device's current configuration with
/// capture on, then the `config=FILE` lines, then `retain=` (the mount
/// option wins over the file).
pub fn initial_settings(backend: &dyn Backend, opts: &MountOptions) -> Result<Settings, String> {
    let kcfg = backend.config().map_err(|e| e.to_string())?;
    let mut s = Settings::from_kernel(&kcfg, Settings::default().retain);
    s.enabled = true;
    if let Some(path) = &opts.config {
        let text = std::fs::read(path)
            .map_err(|e| format!("config file {}: cannot read it: {e}", path.display()))?;
        s = config::apply(&s, &text).map_err(|e| format!("config file {}: {e}", path.display()))?;
    }
    if let Some(r) = opts.retain {
        // Through the config language, so its limits hold here too.
        s = config::apply(&s, format!("retain = {r}").as_bytes())
            .map_err(|e| format!("mount option retain={r}: {}", e.message))?;
    }
    Ok(s)
}

/// A live mount: the FUSE session over the daemon.
pub struct Mounted {
    session: Session<SagaFs>,
    daemon: Arc<Daemon>,
    tree: Arc<Tree>,
}

/// Arms the device and mounts the tree on `mountpoint` (checked first).
/// The mount is live when this returns.
pub fn mount(
    backend: Arc<dyn Backend>,
    opts: &MountOptions,
    mountpoint: &Path,
) -> Result<Mounted, String> {
    let mp = check_mountpoint(mountpoint)?;
    let settings = initial_settings(backend.as_ref(), opts)?;
    let daemon = Daemon::start(backend, settings).map_err(|e| e.to_string())?;
    let tree = Arc::new(Tree::new(
        daemon.clone(),
        TreeOptions {
            gid: opts.gid.unwrap_or(0),
            read_only: opts.read_only,
        },
    ));
    let mut cfg = fuser::Config::default();
    cfg.mount_options = opts.fuse_flags();
    cfg.mount_options.push(MountOption::FSName("sagafs".into()));
    cfg.mount_options
        .push(MountOption::CUSTOM("subtype=sagafs".into()));
    cfg.acl = if opts.allow_other {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    cfg.n_threads = Some(2);
    let session = match Session::new(SagaFs::new(tree.clone()), &mp, &cfg) {
        Ok(s) => s,
        Err(e) => {
            daemon.shutdown();
            return Err(format!("cannot mount on {}: {e}", mp.display()));
        }
    };
    Ok(Mounted {
        session,
        daemon,
        tree,
    })
}

impl Mounted {
    pub fn daemon(&self) -> &Arc<Daemon> {
        &self.daemon
    }

    pub fn tree(&self) -> &Arc<Tree> {
        &self.tree
    }

    /// Something that unmounts from another thread.
    pub fn unmounter(&mut self) -> SessionUnmounter {
        self.session.unmount_callable()
    }

    /// Serves requests until the file system is unmounted, then stops the
    /// daemon.
    pub fn run(self) -> std::io::Result<()> {
        let daemon = self.daemon.clone();
        let r = self.session.run();
        daemon.shutdown();
        r
    }
}

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

/// Reports the start-up result: over stdout to the waiting parent (the
/// daemonized copy) or on stderr (foreground).
struct Reporter {
    child: bool,
}

impl Reporter {
    fn fail(&self, msg: &str) -> ExitCode {
        log::error!("{msg}");
        if self.child {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{msg}");
            let _ = out.flush();
        }
        ExitCode::from(1)
    }

    fn ok(&self) {
        if !self.child {
            return;
        }
        let mut out = std::io::stdout();
        let _ = writeln!(out, "ok");
        let _ = out.flush();
        // The parent is gone after "ok": stdio must not point at it.
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            let _ = nix::unistd::dup2_stdin(&null);
            let _ = nix::unistd::dup2_stdout(&null);
            if !logging::under_systemd() {
                let _ = nix::unistd::dup2_stderr(&null);
            }
        }
    }
}

/// Starts the daemonized copy and waits for its report.
fn spawn_daemon() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sagafs: cannot find its own executable: {e}");
            return ExitCode::from(1);
        }
    };
    let mut child = match Command::new(exe)
        .arg("--daemon-child")
        .args(std::env::args_os().skip(1))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sagafs: cannot start the daemon: {e}");
            return ExitCode::from(1);
        }
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let line = line.trim_end();
    if line == "ok" {
        return ExitCode::SUCCESS;
    }
    let status = child.wait();
    if line.is_empty() {
        let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        eprintln!("sagafs: the daemon ended during start ({how})");
    } else {
        eprintln!("sagafs: {line}");
    }
    ExitCode::from(1)
}

/// The `sagafs` program.
pub fn main() -> ExitCode {
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

    let choice = cli.backend.unwrap_or(opts.backend);
    let backend = match crate::device::open_backend(choice, &opts.device) {
        Ok(b) => b,
        Err(e) => return report.fail(&e),
    };
    log::info!("capture backend: {}", backend.kind());
    let mut mounted = match mount(backend, &opts, &cli.mountpoint) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Cli, clap::Error> {
        parse_args(v.iter().map(OsString::from))
    }

    #[test]
    fn command_lines() {
        let c = args(&["sagafs", "/mnt"]).unwrap();
        assert_eq!(c.mountpoint, PathBuf::from("/mnt"));
        assert!(!c.foreground && !c.daemon_child);
        assert_eq!(c.options, "");
        let c = args(&["sagafs", "-f", "-o", "ro,gid=0", "sagafs", "/x"]).unwrap();
        assert!(c.foreground);
        assert_eq!(c.options, "ro,gid=0");
        assert_eq!(c.mountpoint, PathBuf::from("/x"));
        let c = args(&["sagafs", "-o", "ro", "sagafs", "/x", "-o", "allow_other"]).unwrap();
        assert_eq!(c.options, "ro,allow_other");
        let c = args(&["sagafs", "--foreground", "/x"]).unwrap();
        assert!(c.foreground);
        assert_eq!(c.backend, None);
        let c = args(&["sagafs", "--backend", "bpf", "/x"]).unwrap();
        assert_eq!(c.backend, Some(BackendChoice::Bpf));
        assert!(args(&["sagafs", "--backend", "ebpf", "/x"]).is_err());
        assert!(args(&["sagafs"]).is_err());
        assert!(args(&["sagafs", "a", "b", "c"]).is_err());
        assert!(args(&["sagafs", "-x", "/m"]).is_err());
        assert!(args(&["sagafs", "-o"]).is_err());
    }

    #[test]
    fn what_mount_fuse3_passes() {
        // mount -t fuse.sagafs -o retain=16M,nofail sagafs /x runs this
        // (mount.fuse3 drops nofail, adds dev,suid; mount(8) adds rw).
        let c = args(&["sagafs", "sagafs", "/x", "-o", "rw,retain=16M,dev,suid"]).unwrap();
        assert!(!c.foreground && !c.daemon_child);
        assert_eq!(c.mountpoint, PathBuf::from("/x"));
        let o = options::parse(&c.options).unwrap();
        assert_eq!(o.retain, Some(16 << 20));
        assert!(!o.read_only);
        let c = args(&["sagafs", "sagafs", "/x", "-o", "nodev,nosuid"]).unwrap();
        let o = options::parse(&c.options).unwrap();
        let flags = o.fuse_flags();
        assert!(flags.contains(&MountOption::NoDev) && flags.contains(&MountOption::NoSuid));
        // Without options at all.
        let c = args(&["sagafs", "sagafs", "/x"]).unwrap();
        assert_eq!(c.options, "");
    }

    #[test]
    fn mountpoint_checks() {
        let e = check_mountpoint(Path::new("/nonexistent/sagafs-mp")).unwrap_err();
        assert!(
            e.contains("does not exist") && e.contains("mkdir -p"),
            "{e}"
        );
        let e = check_mountpoint(Path::new("/proc/self/status")).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
        assert_eq!(
            check_mountpoint(Path::new("/tmp/")).unwrap(),
            PathBuf::from("/tmp")
        );
    }
}
