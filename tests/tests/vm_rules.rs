//! Rules against the real module, inside the test VM: a table of rule
//! sets and workloads with the exact records expected (first match wins,
//! every condition kind, keys, watch, default never and always), counters
//! unchanged by rules, hit counts, and containers made in the guest
//! (`unshare --pid --mount --fork` inside a new cgroup v2 directory) whose
//! records carry their cgroup, namespaces and in-namespace pid and which
//! container rules select exactly. Run with `--test-threads=1`: the tests
//! share the one device.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use sagafs::abi;
use sagafs::device::{sagafs_config, set_capture, Backend, Consumer, Device};
use sagafs::names;
use sagafs::record::{ItemRef, Items, RecordRef};
use sagafs::rules::{compile_text, RuleSet};

const ACTIONS: &str = env!("CARGO_BIN_EXE_sagafs-actions");
const COMM: &str = "sgr-act";
const GETPPID: usize = 110;
/// x86_64 calls the configuration lets through to the rules.
const SELECTED: [usize; 8] = [257, 268, 90, 91, 263, 258, 59, GETPPID];

/// Fails (never skips) outside the VM, where there is no module.
fn open() -> Device {
    assert_eq!(
        std::env::var("SAGAFS_IN_VM").as_deref(),
        Ok("1"),
        "this test needs the sagafs module: run it in the VM (tests/vm/suite.sh)"
    );
    Device::open_default().expect("open /dev/sagafs")
}

/// Leaves the module as the other tests expect it: no rules, capture off.
struct Restore<'a>(&'a Device);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = self.0.set_rules(&RuleSet::default());
        let _ = set_capture(self.0, false);
    }
}

fn configure(dev: &Device) {
    set_capture(dev, false).expect("capture off");
    let mut cfg = sagafs_config {
        flags: abi::CFG_ENABLED | abi::CFG_EXCLUDE_SELF,
        snaplen: abi::SNAPLEN_DEFAULT,
        ring_kb: 1024,
        ..Default::default()
    };
    for s in SELECTED {
        cfg.syscalls[0][s / 64] |= 1 << (s % 64);
    }
    dev.set_config(&cfg).expect("SET_CONFIG");
}

fn drain_all(c: &mut dyn Consumer) -> Items {
    let mut out = Items::new();
    while c.drain(&mut out) > 0 {}
    out
}

/// A fresh world-writable directory under /tmp with files and
/// directories the actions use.
fn test_dir(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = format!("/tmp/sagafs-rules-{tag}-{}-{nanos}", std::process::id());
    for sub in ["", "/a", "/ab", "/b", "/w", "/w2", "/c"] {
        std::fs::create_dir(format!("{d}{sub}")).unwrap();
        std::fs::set_permissions(format!("{d}{sub}"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
    }
    for f in ["/a/x", "/ab/y", "/b/y", "/w/f", "/c/x"] {
        std::fs::write(format!("{d}{f}"), b"x").unwrap();
        std::fs::set_permissions(format!("{d}{f}"), std::fs::Permissions::from_mode(0o666))
            .unwrap();
    }
    d
}

/// A workload started and waiting for `go`.
struct Running {
    child: Child,
    /// The acting child's pid as our pid namespace sees it (for a
    /// container: as its own namespace does).
    pid: u32,
    ppid: u32,
    nspid: u32,
}

fn spawn(prefix: &[&str], opts: &[String], actions: &[String]) -> Running {
    let (prog, pre) = match prefix.split_first() {
        Some((p, rest)) => (*p, rest.iter().map(|s| s.to_string()).collect()),
        None => (ACTIONS, Vec::new()),
    };
    let mut args: Vec<String> = pre;
    if !prefix.is_empty() {
        args.push(ACTIONS.to_string());
    }
    args.extend(opts.iter().cloned());
    args.push(COMM.to_string());
    args.extend(actions.iter().cloned());
    let mut child = Command::new(prog)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {prog} {args:?}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ids: Vec<u32> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "sagafs-actions said {line:?} ({prog} {args:?})"
    );
    Running {
        child,
        pid: ids[0],
        ppid: ids[1],
        nspid: ids[2],
    }
}

fn go(mut r: Running) {
    r.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let st = r.child.wait().unwrap();
    assert!(st.success(), "sagafs-actions failed: {st}");
}

fn path0(r: &RecordRef) -> String {
    r.paths[0].map_or(String::new(), |p| {
        String::from_utf8_lossy(p.bytes).into_owned()
    })
}

/// (call, path with the test directory shown as D, key).
type Summary = (String, String, String);

fn summary(r: &RecordRef, dir: &str) -> Summary {
    (
        names::name(r.abi, r.nr).into_owned(),
        path0(r).replace(dir, "D"),
        String::from_utf8_lossy(r.key).into_owned(),
    )
}

struct Fixture<'a> {
    dev: &'a Device,
    rings: Box<dyn Consumer>,
    dir: String,
}

impl Fixture<'_> {
    /// Starts the actions, sets the rules `rules` makes of the pids
    /// (D: the test directory), runs the actions and returns what the
    /// acting child logged.
    fn case(
        &mut self,
        opts: &[String],
        rules: impl Fn(&Running) -> String,
        actions: &[&str],
    ) -> Vec<Summary> {
        let d = format!("{}/", self.dir);
        let actions: Vec<String> = actions.iter().map(|a| a.replace("D/", &d)).collect();
        let r = spawn(&[], opts, &actions);
        let text = rules(&r).replace("D/", &d);
        let set = compile_text(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        self.dev.set_rules(&set).expect("SET_RULES");
        drain_all(self.rings.as_mut());
        let pid = r.pid;
        go(r);
        drain_all(self.rings.as_mut())
            .iter()
            .filter_map(|i| match i {
                ItemRef::Record(rec) if rec.pid == pid => Some(summary(&rec, &self.dir)),
                ItemRef::Dropped { count, .. } => panic!("{count} records lost"),
                _ => None,
            })
            .collect()
    }
}

fn t(call: &str, path: &str, key: &str) -> Summary {
    (call.to_string(), path.to_string(), key.to_string())
}

fn fixture<'a>(dev: &'a Device, tag: &str) -> Fixture<'a> {
    configure(dev);
    let rings = dev.map().expect("map");
    Fixture {
        dev,
        rings,
        dir: test_dir(tag),
    }
}

#[test]
fn first_match_wins_and_the_default_decides_the_rest() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "order");
    let rules = |_: &Running| {
        "always syscall=openat dir=D/a key=A\n\
         never syscall=openat\n\
         always comm=sgr-act key=all\n\
         default never\n"
            .to_string()
    };
    let acts = ["open:D/a/x", "open:D/b/y", "chmod:D/b/y", "mkdir:D/a/d"];
    assert_eq!(
        f.case(&[], rules, &acts),
        vec![
            t("openat", "D/a/x", "A"),
            t("fchmodat", "D/b/y", "all"),
            t("mkdirat", "D/a/d", "all"),
        ]
    );
    // No rules: the module's default, always, no key.
    assert_eq!(
        f.case(&[], |_| String::new(), &["open:D/a/x", "getppid"]),
        vec![t("openat", "D/a/x", ""), t("getppid", "", "")]
    );
    assert_eq!(
        f.case(&[], |_| "default always".into(), &["getppid"]),
        vec![t("getppid", "", "")]
    );
    assert!(f
        .case(&[], |_| "default never".into(), &["open:D/a/x", "getppid"])
        .is_empty());
}

#[test]
fn every_condition_kind() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "conds");
    let none: Vec<Summary> = Vec::new();
    let my_auid = std::fs::read_to_string("/proc/self/loginuid")
        .unwrap()
        .trim()
        .to_string();
    let exe = std::fs::canonicalize(ACTIONS).unwrap();
    let exe = exe.to_str().unwrap().to_string();
    let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let x = ["open:D/a/x"];
    let one = |k: &str| vec![t("openat", "D/a/x", k)];
    type Case<'c> = (Vec<String>, String, Vec<Summary>);
    let cases: Vec<Case> = vec![
        // ids, set by the parent before it forks the acting child
        (
            o(&["--uid", "1000"]),
            "always uid=0 key=root\nalways uid=1000-1999 euid=1000 gid=0 key=user".into(),
            one("user"),
        ),
        (
            o(&["--euid", "1000"]),
            "always uid=0 euid!=0 key=e".into(),
            one("e"),
        ),
        (
            o(&["--euid", "1000"]),
            "always euid<1000 key=e".into(),
            none.clone(),
        ),
        (o(&["--gid", "77"]), "always gid=77 key=g".into(), one("g")),
        (
            o(&["--gid", "77"]),
            "always gid>=78 key=g".into(),
            none.clone(),
        ),
        (o(&[]), format!("always auid={my_auid} key=own"), one("own")),
        (
            o(&["--auid", "1234"]),
            "always auid=unset key=unset\nalways auid=1234 key=a".into(),
            one("a"),
        ),
        (
            o(&["--auid", "1234"]),
            "always auid!=1234 key=a".into(),
            none.clone(),
        ),
        // the rest
        (o(&[]), "always comm=sgr-act key=c".into(), one("c")),
        (o(&[]), "always comm=sgr* key=c".into(), one("c")),
        (o(&[]), "always comm=sgr key=c".into(), none.clone()),
        (o(&[]), "always comm!=sgr-act key=c".into(), none.clone()),
        (o(&[]), format!("always exe={exe} key=x"), one("x")),
        (o(&[]), "always exe=/usr/bin/* key=x".into(), none.clone()),
        (o(&[]), "always exe!=/usr/bin/* key=x".into(), one("x")),
        (o(&[]), "always pidns=host key=h".into(), one("h")),
        (o(&[]), "always pidns!=host key=h".into(), none.clone()),
        (o(&[]), "always container=none key=n".into(), one("n")),
        (o(&[]), "always container!=none key=n".into(), none.clone()),
        (
            o(&[]),
            "always cgroup=/sagafs-no-such/* key=n".into(),
            none.clone(),
        ),
        (o(&[]), "always class=file key=f".into(), one("f")),
        (o(&[]), "always class=network key=f".into(), none.clone()),
        (o(&[]), "always abi=x86_64 key=a".into(), one("a")),
        (o(&[]), "always abi=i386,x32 key=a".into(), none.clone()),
        (o(&[]), "always syscall!=openat key=s".into(), none.clone()),
        (o(&[]), "always result=success key=s".into(), one("s")),
        (o(&[]), "always result=failure key=s".into(), none.clone()),
    ];
    for (opts, rules, want) in cases {
        let rules = format!("{rules}\ndefault never");
        let got = f.case(&opts, |_| rules.clone(), &x);
        assert_eq!(got, want, "rules:\n{rules}\noptions {opts:?}");
    }
    // pid and ppid, known once the workload runs
    let got = f.case(
        &[],
        |r| format!("always pid={} ppid={} key=p\ndefault never", r.pid, r.ppid),
        &x,
    );
    assert_eq!(got, one("p"));
    let got = f.case(
        &[],
        |r| format!("always ppid!={} key=p\ndefault never", r.ppid),
        &x,
    );
    assert_eq!(got, none);
    // result: an errno; paths: exact, prefix, directory, negated
    let acts = ["open:D/a/x", "open:D/a/nothing", "open:D/ab/y", "open:D/a"];
    let cases: Vec<(&str, Vec<Summary>)> = vec![
        (
            "always result=ENOENT key=e",
            vec![t("openat", "D/a/nothing", "e")],
        ),
        (
            "always result!=ENOENT key=e",
            vec![
                t("openat", "D/a/x", "e"),
                t("openat", "D/ab/y", "e"),
                t("openat", "D/a", "e"),
            ],
        ),
        (
            "always dir=D/a key=d",
            vec![
                t("openat", "D/a/x", "d"),
                t("openat", "D/a/nothing", "d"),
                t("openat", "D/a", "d"),
            ],
        ),
        ("always dir!=D/a key=d", vec![t("openat", "D/ab/y", "d")]),
        ("always path=D/a key=p", vec![t("openat", "D/a", "p")]),
        (
            "always path=D/a* key=p",
            vec![
                t("openat", "D/a/x", "p"),
                t("openat", "D/a/nothing", "p"),
                t("openat", "D/ab/y", "p"),
                t("openat", "D/a", "p"),
            ],
        ),
        (
            "always path=D/ab/* syscall=openat key=p",
            vec![t("openat", "D/ab/y", "p")],
        ),
    ];
    for (rules, want) in cases {
        let rules = format!("{rules}\ndefault never");
        assert_eq!(f.case(&[], |_| rules.clone(), &acts), want, "{rules}");
    }
    // class and negated syscalls pick among several calls
    let acts = ["open:D/a/x", "chmod:D/a/x", "getppid"];
    assert_eq!(
        f.case(
            &[],
            |_| "always class=file-attr key=a\ndefault never".into(),
            &acts
        ),
        vec![t("fchmodat", "D/a/x", "a")]
    );
    assert_eq!(
        f.case(
            &[],
            |_| "always syscall!=openat,getppid key=s\ndefault never".into(),
            &acts
        ),
        vec![t("fchmodat", "D/a/x", "s")]
    );
}

#[test]
fn watch_logs_writes_and_attribute_changes_only() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "watch");
    let acts = [
        "open:D/w/f",
        "write:D/w/f",
        "chmod:D/w/f",
        "write:D/w2/g",
        "mkdir:D/w/d",
        "unlink:D/w/f",
        "getppid",
    ];
    assert_eq!(
        f.case(&[], |_| "watch D/w wa key=w\ndefault never".into(), &acts),
        vec![
            t("openat", "D/w/f", "w"),
            t("fchmodat", "D/w/f", "w"),
            t("mkdirat", "D/w/d", "w"),
            t("unlinkat", "D/w/f", "w"),
        ]
    );
    std::fs::write(format!("{}/w/f", f.dir), b"x").unwrap();
    assert_eq!(
        f.case(
            &[],
            |_| "watch D/w/f r key=r\ndefault never".into(),
            &acts[..3]
        ),
        vec![t("openat", "D/w/f", "r")]
    );
}

#[test]
fn exec_and_the_new_executable() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "exec");
    let acts = ["exec:/usr/bin/chmod,640,D/a/x"];
    let got = f.case(
        &[],
        |_| "always class=exec key=x\nalways class=file-attr exe=/usr/bin/chmod key=c\ndefault never".into(),
        &acts,
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], t("execve", "/usr/bin/chmod", "x"));
    assert!(matches!(got[1].0.as_str(), "fchmodat" | "chmod"), "{got:?}");
    assert_eq!(got[1].2, "c");
}

#[test]
fn counters_count_every_call_whatever_the_rules_say() {
    const N: usize = 50;
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "count");
    let acts = vec!["getppid"; N];
    for (rules, logged) in [("default never", false), ("", true)] {
        dev.reset_stats().unwrap();
        let got = f.case(&[], |_| rules.to_string(), &acts);
        let st = dev.stats().unwrap();
        let s = st.syscalls[0][GETPPID];
        assert!(s.calls >= N as u64, "{rules:?}: {s:?}");
        assert_eq!(s.calls, s.logged + s.filtered + s.dropped, "{s:?}");
        if logged {
            assert_eq!(got.len(), N);
            assert_eq!(s.filtered, 0, "{s:?}");
        } else {
            assert!(got.is_empty());
            assert_eq!((s.logged, s.filtered), (0, s.calls), "{s:?}");
        }
    }
}

#[test]
fn hit_counts_per_rule_and_default() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "hits");
    let rules = |_: &Running| {
        "always comm=sgr-act dir=D/a key=A\n\
         never comm=sgr-act syscall=openat\n\
         always comm=sgr-act key=all\n\
         default never\n"
            .to_string()
    };
    let before = dev.rules().unwrap().generation;
    f.case(
        &[],
        rules,
        &["open:D/a/x", "open:D/b/y", "chmod:D/b/y", "getppid"],
    );
    let got = dev.rules().unwrap();
    assert_eq!(got.generation, before + 1);
    assert_eq!(got.set.rules.len(), 3);
    assert_eq!(
        got.set.rules.iter().map(|r| r.hits).collect::<Vec<_>>(),
        vec![1, 1, 2]
    );
    assert_eq!(got.set.flags, abi::RULES_DEFAULT_NEVER);
    // Setting a set again restarts the hits.
    dev.set_rules(&got.set).unwrap();
    let again = dev.rules().unwrap();
    assert!(again.set.rules.iter().all(|r| r.hits == 0));
    assert_eq!(again.generation, before + 2);
}

/// The cgroup2 mount, mounted if the guest has none.
fn cgroup2() -> String {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if let Some(p) = sagafs::container::find_cgroup2(&mi) {
        return p.to_str().unwrap().to_string();
    }
    let st = Command::new("mount")
        .args(["-t", "cgroup2", "none", "/sys/fs/cgroup"])
        .status()
        .unwrap();
    assert!(
        st.success(),
        "the guest has no cgroup2 and mounting one failed"
    );
    "/sys/fs/cgroup".to_string()
}

fn ns_inode(kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .ino()
}

#[test]
fn containers_made_in_the_guest() {
    let dev = open();
    let _r = Restore(&dev);
    let mut f = fixture(&dev, "ctr");
    let root = cgroup2();
    let id: String = (0..64)
        .map(|i| char::from(b"0123456789abcdef"[(i * 7 + std::process::id() as usize) % 16]))
        .collect();
    let top = format!("sagafs-vm-{}", std::process::id());
    let rel = format!("/{top}/docker-{id}.scope");
    let leaf = format!("{root}{rel}");
    let acts: Vec<String> = ["open:D/c/x", "chmod:D/c/x"]
        .iter()
        .map(|a| a.replace("D/", &format!("{}/", f.dir)))
        .collect();
    let cases: Vec<(String, bool, bool)> = vec![
        // (rules, container logged, host logged)
        (format!("always container={id} key=k"), true, false),
        (format!("always container={} key=k", &id[..12]), true, false),
        (
            "always container!=none comm=sgr-act key=k".into(),
            true,
            false,
        ),
        (
            "never container=none\nalways comm=sgr-act key=k".into(),
            true,
            false,
        ),
        (format!("always cgroup=/{top}/* key=k"), true, false),
        (format!("always cgroup={rel} key=k"), true, false),
        ("always pidns!=host comm=sgr-act key=k".into(), true, false),
        (
            "always container=none comm=sgr-act key=k".into(),
            false,
            true,
        ),
        ("always container=0000000000ff key=k".into(), false, false),
    ];
    let host_mntns = ns_inode("mnt");
    for (rules, in_ctr, on_host) in cases {
        // The rules exist before the container does.
        let _ = std::fs::remove_dir(&leaf);
        let _ = std::fs::remove_dir(format!("{root}/{top}"));
        let set = compile_text(&format!("{rules}\ndefault never")).unwrap();
        dev.set_rules(&set).unwrap();
        std::fs::create_dir_all(&leaf).unwrap();
        let cg_id = std::fs::metadata(&leaf).unwrap().ino();

        let r = spawn(
            &["unshare", "--pid", "--mount", "--fork", "--mount-proc"],
            &["--cgroup".to_string(), leaf.clone()],
            &acts,
        );
        assert_eq!(r.nspid, 2, "the acting child is pid 2 of its namespace");
        drain_all(f.rings.as_mut());
        go(r);
        let h = spawn(&[], &[], &acts);
        let host_pid = h.pid;
        go(h);
        let items = drain_all(f.rings.as_mut());
        let ctr: Vec<RecordRef> = items.records().filter(|r| r.cgroup_id == cg_id).collect();
        let host: Vec<RecordRef> = items.records().filter(|r| r.pid == host_pid).collect();
        let calls = |rs: &[RecordRef]| rs.iter().map(|r| summary(r, &f.dir)).collect::<Vec<_>>();
        let want = vec![t("openat", "D/c/x", "k"), t("fchmodat", "D/c/x", "k")];
        assert_eq!(
            calls(&ctr),
            if in_ctr { want.clone() } else { vec![] },
            "{rules}: container"
        );
        assert_eq!(
            calls(&host),
            if on_host { want } else { vec![] },
            "{rules}: host"
        );
        for r in &ctr {
            assert_eq!((r.ns_pid, r.ns_tid), (2, 2), "{r:?}");
            assert_ne!(r.pid, 2, "pid is the initial namespace's");
            assert_ne!(r.pidns, abi::PIDNS_HOST);
            assert_ne!(r.mntns as u64, host_mntns);
            assert_eq!(r.comm, COMM.as_bytes());
        }
        let pidns: BTreeSet<u32> = ctr.iter().map(|r| r.pidns).collect();
        assert!(pidns.len() <= 1, "one namespace: {pidns:?}");
        for r in &host {
            assert_eq!(r.pidns, abi::PIDNS_HOST);
            assert_eq!(r.ns_pid, r.pid);
            assert_ne!(r.cgroup_id, cg_id);
        }
        std::fs::remove_dir(&leaf).unwrap();
        std::fs::remove_dir(format!("{root}/{top}")).unwrap();
    }
    // The daemon's resolver sees the same cgroup and container.
    std::fs::create_dir_all(&leaf).unwrap();
    let cg_id = std::fs::metadata(&leaf).unwrap().ino();
    let res = sagafs::container::CgroupResolver::new(&root);
    let idn = res.resolve(cg_id).expect("the resolver finds the cgroup");
    assert_eq!(idn.path, rel.as_bytes());
    let c = idn.container.clone().unwrap();
    assert_eq!(
        (c.runtime, c.id.as_str()),
        (sagafs::container::Runtime::Docker, id.as_str())
    );
    std::fs::remove_dir(&leaf).unwrap();
    std::fs::remove_dir(format!("{root}/{top}")).unwrap();
}
