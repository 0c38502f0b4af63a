//! The command line:
//! `sagafs [-f|--foreground] [-o OPTIONS] [SOURCE] MOUNTPOINT`, as a user,
//! mount(8) through mount.sagafs, or mount.fuse3 gives it.  The hidden
//! `--daemon-child` marks the daemonized copy (see `daemonize`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction};

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    pub foreground: bool,
    /// All `-o` values joined with commas.
    pub options: String,
    pub mountpoint: PathBuf,
    /// Internal: this is the daemonized copy reporting on stdout.
    pub daemon_child: bool,
}

fn command() -> clap::Command {
    clap::Command::new("sagafs")
        .about("Mount the sagafs system call log as a file system")
        .override_usage("sagafs [-f|--foreground] [-o OPTIONS] [SOURCE] MOUNTPOINT")
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuser::MountOption;
    use sagafs_mount::options;

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
        let flags = sagafs::mount::fuse_flags(&o);
        assert!(flags.contains(&MountOption::NoDev) && flags.contains(&MountOption::NoSuid));
        // Without options at all.
        let c = args(&["sagafs", "sagafs", "/x"]).unwrap();
        assert_eq!(c.options, "");
    }
}
