//! A mount: checks the mount point, arms the daemon on a backend with
//! the settings the mount options ask for, and serves the tree over FUSE
//! on it.  [`Mounted`] is the live mount; the `sagafs` program, the host
//! FUSE tests and the benchmarks all mount through [`mount`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fuser::{MountOption, Session, SessionACL, SessionUnmounter};
use sagafs_mount::mountpoint;
use sagafs_mount::options::MountOptions;

use crate::config::{self, Settings};
use crate::daemon::Daemon;
use crate::device::Backend;
use crate::fuse::SagaFs;
use crate::tree::{Tree, TreeOptions};

/// Checks the mount point (see `sagafs_mount::mountpoint`): an existing
/// directory, not already a sagafs mount; a dead sagafs mount on it is
/// detached, with a message.  Returns its canonical path.
pub fn check_mountpoint(p: &Path) -> Result<PathBuf, String> {
    let checked = mountpoint::check(p)?;
    if let Some(dead) = &checked.detached {
        let msg = mountpoint::detached_notice(dead);
        log::warn!("{msg}");
        eprintln!("sagafs: {msg}");
    }
    Ok(checked.path)
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

/// The FUSE mount flags the options ask for (read-only, dev, suid, exec,
/// default_permissions).  `allow_other` is not among them: fuser takes it
/// as a session ACL.
pub fn fuse_flags(opts: &MountOptions) -> Vec<MountOption> {
    use MountOption as M;
    let mut v = vec![
        if opts.read_only { M::RO } else { M::RW },
        if opts.dev { M::Dev } else { M::NoDev },
        if opts.suid { M::Suid } else { M::NoSuid },
        if opts.exec { M::Exec } else { M::NoExec },
    ];
    if opts.default_permissions {
        v.push(M::DefaultPermissions);
    }
    v
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
    let mut settings = initial_settings(backend.as_ref(), opts)?;
    // The log files are readable by the `gid=` group (mode 0640).
    settings.outputs.group = opts.gid;
    let daemon = Daemon::start(backend, settings).map_err(|e| e.to_string())?;
    let tree = Arc::new(Tree::new(
        daemon.clone(),
        TreeOptions {
            gid: opts.gid.unwrap_or(0),
            read_only: opts.read_only,
        },
    ));
    let mut cfg = fuser::Config::default();
    cfg.mount_options = fuse_flags(opts);
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

#[cfg(test)]
mod tests {
    use super::*;
    use sagafs_mount::options;

    #[test]
    fn fuse_flags_follow_options() {
        use MountOption as M;
        assert_eq!(
            fuse_flags(&options::parse("").unwrap()),
            vec![M::RW, M::NoDev, M::NoSuid, M::NoExec]
        );
        assert_eq!(
            fuse_flags(&options::parse("ro,dev,suid,exec,default_permissions").unwrap()),
            vec![M::RO, M::Dev, M::Suid, M::Exec, M::DefaultPermissions]
        );
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
