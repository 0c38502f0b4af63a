//! Shared by the host FUSE tests: mounts the real file tree over a device
//! double in a temporary directory (in this process, on the host's
//! /dev/fuse), injects records in the kernel's ring layout, and runs shell
//! tools against the mount.
//!
//! These tests need root and /dev/fuse (both present on the project's
//! machines and in CI); without them they fail with a message saying so.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sagafs::daemon::Daemon;
use sagafs::device::double::{DeviceDouble, Outcome};
use sagafs::device::Backend;
use sagafs::record::Builder;
use sagafs::tree::Tree;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub const NOBODY: u32 = 65534;

/// One mount of the tree over a double.
pub struct Mnt {
    pub dir: PathBuf,
    pub dev: DeviceDouble,
    pub daemon: Arc<Daemon>,
    pub tree: Arc<Tree>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
    t: u64,
}

fn require_fuse() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the FUSE tests mount file systems: run them as root"
    );
    assert!(
        Path::new("/dev/fuse").exists(),
        "the FUSE tests need /dev/fuse (modprobe fuse)"
    );
}

/// Mounts with mount options `opts` over a double with 2 CPUs of 64 KiB.
pub fn mount(opts: &str) -> Mnt {
    mount_with(opts, DeviceDouble::new(2, 64))
}

pub fn mount_with(opts: &str, dev: DeviceDouble) -> Mnt {
    require_fuse();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(format!("/tmp/sagafs-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = sagafs_mount::options::parse(opts).unwrap();
    let backend: Arc<dyn Backend> = Arc::new(dev.clone());
    let m = sagafs::mount::mount(backend, &o, &dir).unwrap();
    let daemon = m.daemon().clone();
    let tree = m.tree().clone();
    let thread = std::thread::spawn(move || m.run());
    Mnt {
        dir,
        dev,
        daemon,
        tree,
        thread: Some(thread),
        t: 1_795_300_201_000_000_000,
    }
}

pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Mnt {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A record on `cpu` with the next timestamp and path 0 = `path`.
    pub fn rec(&mut self, cpu: u32, path: &[u8]) -> Builder {
        self.t += 1000;
        let mut r = Builder::new(cpu, self.t);
        r.paths[0].as_mut().unwrap().bytes = path.to_vec();
        r
    }

    /// Entries the daemon has collected so far.
    pub fn collected(&self) -> u64 {
        self.daemon.hub.retention.lock().next()
    }

    /// Injects `n` records (alternating CPUs) and waits until the
    /// collector has published them.  Returns the outcomes.
    pub fn inject(&mut self, n: usize, path: &[u8]) -> Vec<Outcome> {
        let before = self.collected();
        let recs: Vec<Builder> = (0..n).map(|i| self.rec((i % 2) as u32, path)).collect();
        let out = self.dev.inject_many(recs);
        let logged = out
            .iter()
            .filter(|o| matches!(o, Outcome::Logged { .. }))
            .count() as u64;
        wait_for("the collector", || self.collected() >= before + logged);
        out
    }

    /// `sh -c CMD` in the mount directory, as root.
    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// `sh -c CMD` in the mount directory as uid/gid `id` (no
    /// supplementary groups).
    pub fn sh_as(&self, id: u32, cmd: &str) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&self.dir)
            .uid(id)
            .gid(id)
            .output()
            .unwrap()
    }

    /// `sh -c CMD`, asserting success; its stdout.
    pub fn ok(&self, cmd: &str) -> String {
        let o = self.sh(cmd);
        assert!(
            o.status.success(),
            "`{cmd}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    pub fn read(&self, name: &str) -> String {
        String::from_utf8(std::fs::read(self.path(name)).unwrap()).unwrap()
    }

    /// Unmounts with `cmd` (e.g. `umount DIR`) and returns how the
    /// serving thread ended.
    pub fn unmount_with(&mut self, cmd: &str) -> std::io::Result<()> {
        let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
        assert!(
            o.status.success(),
            "`{cmd}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let t = self.thread.take().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while !t.is_finished() {
            assert!(Instant::now() < end, "the daemon did not end after `{cmd}`");
            std::thread::sleep(Duration::from_millis(10));
        }
        t.join().unwrap()
    }

    pub fn is_mounted(&self) -> bool {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
        let d = self.dir.to_string_lossy().into_owned();
        mounts
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(d.as_str()))
    }
}

impl Drop for Mnt {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
            if let Some(t) = self.thread.take() {
                let end = Instant::now() + Duration::from_secs(10);
                while !t.is_finished() && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if t.is_finished() {
                    let _ = t.join();
                }
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Sum of `dropped=N` over lines with `reason=WHY`.
pub fn dropped_sum(text: &str, why: &str) -> u64 {
    text.lines()
        .filter(|l| l.ends_with(&format!(" reason={why}")))
        .map(|l| {
            l.split(' ')
                .find_map(|f| f.strip_prefix("dropped="))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no dropped= in {l}"))
        })
        .sum()
}

/// Lines that are records (not loss notices).
pub fn record_lines(text: &str) -> usize {
    text.lines().filter(|l| l.contains(" syscall=")).count()
}
