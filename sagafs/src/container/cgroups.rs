//! cgroup id to cgroup path. On cgroup v2 a cgroup's id is the inode
//! number of its directory in the cgroup2 mount, so a walk of that mount
//! maps ids to paths. The walk's result is the cache: looked up first,
//! rebuilt on a miss (a cgroup made since, such as a new container), but
//! not more often than once per `min_refresh`, and never holding more than
//! `max_entries` cgroups or descending more than `MAX_DEPTH` levels. An id
//! that is still unknown after a refresh (a cgroup already removed) gets
//! no identity; its record is shown without `cgroup=`.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::layout::{container_of, Container};

/// Directory levels below the mount a walk descends.
pub const MAX_DEPTH: usize = 64;
/// Default bound of the cache (cgroups on the machine it remembers).
pub const DEFAULT_MAX_ENTRIES: usize = 65_536;
/// Default minimum time between two walks.
pub const DEFAULT_MIN_REFRESH: Duration = Duration::from_millis(200);

/// A cgroup as the formats show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The cgroup's path below the cgroup2 mount, `/` for the root; bytes
    /// as the kernel has them (the formats escape them).
    pub path: Vec<u8>,
    /// The container this cgroup belongs to, if its path says so.
    pub container: Option<Container>,
}

impl Identity {
    fn new(path: Vec<u8>) -> Identity {
        let container = container_of(&String::from_utf8_lossy(&path));
        Identity { path, container }
    }
}

struct Cache {
    map: HashMap<u64, Arc<Identity>>,
    last_walk: Option<Instant>,
    walks: u64,
}

/// Maps cgroup ids to [`Identity`], walking a cgroup2 mount on misses.
pub struct CgroupResolver {
    root: PathBuf,
    max_entries: usize,
    min_refresh: Duration,
    cache: Mutex<Cache>,
}

/// The mount point of the cgroup2 filesystem in a mountinfo text
/// (`/proc/self/mountinfo`), octal escapes decoded.
pub fn find_cgroup2(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mount_point = left.split_whitespace().nth(4)?;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&unescape(
            mount_point,
        ))))
    })
}

/// mountinfo's `\ooo` escapes (space, tab, newline, backslash).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + (c - b'0') as u32);
            if v <= 0xff {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

impl CgroupResolver {
    /// A resolver over the cgroup2 mount at `root`.
    pub fn new(root: impl Into<PathBuf>) -> CgroupResolver {
        CgroupResolver {
            root: root.into(),
            max_entries: DEFAULT_MAX_ENTRIES,
            min_refresh: DEFAULT_MIN_REFRESH,
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                last_walk: None,
                walks: 0,
            }),
        }
    }

    /// The resolver of this machine's cgroup2 mount; `None` without one.
    pub fn discover() -> Option<CgroupResolver> {
        let mi = fs::read_to_string("/proc/self/mountinfo").ok()?;
        find_cgroup2(&mi).map(CgroupResolver::new)
    }

    /// Bounds the cache to `n` cgroups (at least 1).
    pub fn with_max_entries(mut self, n: usize) -> CgroupResolver {
        self.max_entries = n.max(1);
        self
    }

    /// Walks at most once per `d`.
    pub fn with_min_refresh(mut self, d: Duration) -> CgroupResolver {
        self.min_refresh = d;
        self
    }

    /// The mount this resolver walks.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many walks have been made (for tests and stats).
    pub fn walks(&self) -> u64 {
        self.cache.lock().walks
    }

    /// The identity of cgroup `id`: from the cache, or after a new walk
    /// if the last one is at least `min_refresh` old.
    pub fn resolve(&self, id: u64) -> Option<Arc<Identity>> {
        let mut c = self.cache.lock();
        if let Some(i) = c.map.get(&id) {
            return Some(i.clone());
        }
        if c.last_walk.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return None;
        }
        c.map = self.walk();
        c.last_walk = Some(Instant::now());
        c.walks += 1;
        c.map.get(&id).cloned()
    }

    /// Every cgroup below the root (breadth first, so that a bound keeps
    /// the shallow ones), by inode number.
    fn walk(&self) -> HashMap<u64, Arc<Identity>> {
        let mut map = HashMap::new();
        let Ok(meta) = fs::symlink_metadata(&self.root) else {
            return map;
        };
        map.insert(meta.ino(), Arc::new(Identity::new(b"/".to_vec())));
        let mut level = vec![(self.root.clone(), Vec::new())];
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for (dir, rel) in &level {
                let Ok(rd) = fs::read_dir(dir) else { continue };
                for e in rd.flatten() {
                    if map.len() >= self.max_entries {
                        return map;
                    }
                    let Ok(m) = e.metadata() else { continue };
                    if !m.is_dir() {
                        continue;
                    }
                    let mut path: Vec<u8> = rel.clone();
                    path.push(b'/');
                    path.extend_from_slice(e.file_name().as_bytes());
                    map.insert(m.ino(), Arc::new(Identity::new(path.clone())));
                    next.push((e.path(), path));
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Runtime;

    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let p = std::env::temp_dir().join(format!(
                "sagafs-cgroups-{tag}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&p).unwrap();
            Tree(p)
        }

        fn mkdir(&self, rel: &str) -> u64 {
            let p = self.0.join(rel.trim_start_matches('/'));
            fs::create_dir_all(&p).unwrap();
            fs::metadata(&p).unwrap().ino()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn resolves_paths_and_containers() {
        let t = Tree::new("basic");
        let sshd = t.mkdir("/system.slice/sshd.service");
        let ctr = t.mkdir(&format!("/system.slice/docker-{ID}.scope"));
        fs::write(t.0.join("system.slice/cgroup.procs"), b"").unwrap();
        let r = CgroupResolver::new(&t.0);
        let root = fs::metadata(&t.0).unwrap().ino();
        assert_eq!(r.resolve(root).unwrap().path, b"/");
        let i = r.resolve(sshd).unwrap();
        assert_eq!(i.path, b"/system.slice/sshd.service");
        assert_eq!(i.container, None);
        let i = r.resolve(ctr).unwrap();
        assert_eq!(
            i.path,
            format!("/system.slice/docker-{ID}.scope").as_bytes()
        );
        let c = i.container.clone().unwrap();
        assert_eq!((c.runtime, c.id.as_str()), (Runtime::Docker, ID));
        // One walk served all three.
        assert_eq!(r.walks(), 1);
        // Files are not cgroups.
        let f = fs::metadata(t.0.join("system.slice/cgroup.procs"))
            .unwrap()
            .ino();
        assert!(r.with_min_refresh(Duration::ZERO).resolve(f).is_none());
    }

    #[test]
    fn refreshes_on_miss_at_most_once_per_interval() {
        let t = Tree::new("refresh");
        t.mkdir("/a");
        let r = CgroupResolver::new(&t.0).with_min_refresh(Duration::from_secs(3600));
        assert!(r.resolve(u64::MAX).is_none());
        assert_eq!(r.walks(), 1);
        // A cgroup made after the walk: unknown until the next one is due.
        let b = t.mkdir("/b/c");
        assert!(r.resolve(b).is_none());
        assert_eq!(r.walks(), 1, "a miss within min_refresh must not walk");
        let r = CgroupResolver::new(&t.0).with_min_refresh(Duration::ZERO);
        assert!(r.resolve(u64::MAX).is_none());
        let d = t.mkdir("/d");
        assert_eq!(r.resolve(d).unwrap().path, b"/d");
        assert_eq!(r.resolve(b).unwrap().path, b"/b/c");
        assert_eq!(r.walks(), 2, "the second lookup is a cache hit");
    }

    #[test]
    fn bounded_breadth_first() {
        let t = Tree::new("bound");
        let shallow: Vec<u64> = (0..5).map(|i| t.mkdir(&format!("/s{i}"))).collect();
        let deep = t.mkdir("/s0/x/y/z");
        let r = CgroupResolver::new(&t.0)
            .with_max_entries(6)
            .with_min_refresh(Duration::ZERO);
        for id in &shallow {
            assert!(r.resolve(*id).is_some());
        }
        assert!(r.resolve(deep).is_none(), "beyond the bound");
    }

    #[test]
    fn missing_root_resolves_nothing() {
        let r = CgroupResolver::new("/nonexistent/sagafs-cgroup2");
        assert!(r.resolve(1).is_none());
    }

    #[test]
    fn finds_the_cgroup2_mount() {
        let mi = "22 28 0:21 / /sys rw,nosuid - sysfs sysfs rw\n\
                  30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(find_cgroup2(mi), Some(PathBuf::from("/sys/fs/cgroup")));
        let mi = "30 22 0:26 / /mnt/my\\040cg rw - cgroup2 none rw\n";
        assert_eq!(find_cgroup2(mi), Some(PathBuf::from("/mnt/my cg")));
        assert_eq!(
            find_cgroup2("31 22 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"),
            None
        );
        assert_eq!(find_cgroup2(""), None);
    }
}
