//! The eBPF capture backend on this machine's kernel (root and BTF
//! needed: every test fails, saying so, where the backend cannot load).
//! Also run in the VM under Debian's kernel (tests/vm/suite.sh, bpf). A plain
//! `cargo test` leaves it out; `make test` runs it as root.
//!
//! Each test loads its own copy of the program, logs only its marked
//! workload (`sagafs-marked`, filtered by pid or comm) and checks exact
//! counts, paths, flags and the drop accounting.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use sagafs::abi;
use sagafs::device::bpf::{BpfBackend, BpfOptions};
use sagafs::device::{sagafs_config, set_capture, Backend, Consumer};
use sagafs::record::{Abi, ItemRef, Items, RecordRef};

const MARKED: &str = env!("CARGO_BIN_EXE_sagafs-marked");
const NR_OPENAT: i32 = 257;
const NR_EXECVE: i32 = 59;
const NR_EXIT_GROUP: i32 = 231;
const ENOENT: i64 = 2;

fn backend(raw_tp: bool) -> BpfBackend {
    match BpfBackend::open(BpfOptions {
        force_raw_tp: raw_tp,
    }) {
        Ok(b) => b,
        Err(e) => panic!(
            "the BPF backend cannot run here (these tests need root and a kernel with BTF): {e}"
        ),
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sagafs-bpf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A marked workload, started up and waiting for its go: none of its
/// start-up calls can reach the capture.
fn spawn(comm: &str, args: &[&str]) -> Child {
    let mut c = Command::new(MARKED)
        .arg(comm)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sagafs-marked");
    let mut line = String::new();
    BufReader::new(c.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n", "sagafs-marked did not start");
    c
}

fn go(mut c: Child) {
    let mut stdin = c.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let st = c.wait().unwrap();
    assert!(st.code().is_some(), "workload died: {st}");
}

fn comm16(s: &str) -> [u8; abi::COMM_LEN] {
    let mut c = [0u8; abi::COMM_LEN];
    c[..s.len()].copy_from_slice(s.as_bytes());
    c
}

fn capture_on(b: &BpfBackend, f: impl FnOnce(&mut sagafs_config)) {
    let mut c = b.config().unwrap();
    c.flags |= abi::CFG_ENABLED;
    f(&mut c);
    b.set_config(&c).unwrap();
    b.reset_stats().unwrap();
}

/// Capture off, then every item left in the rings.
fn finish(b: &BpfBackend, cons: &mut dyn Consumer) -> Items {
    set_capture(b, false).unwrap();
    let mut items = Items::new();
    while cons.drain(&mut items) > 0 {}
    items
}

fn records(items: &Items) -> Vec<RecordRef<'_>> {
    items.records().collect()
}

fn lost(items: &Items) -> u64 {
    items.dropped()
}

fn ns_inode(kind: &str) -> u32 {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .ino() as u32
}

fn own_cgroup_id() -> u64 {
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let path = cg
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("cgroup v2");
    std::fs::metadata(format!("/sys/fs/cgroup{path}"))
        .unwrap()
        .ino()
}

fn path0<'a>(r: &RecordRef<'a>) -> &'a [u8] {
    r.paths[0].expect("path 0").bytes
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn opens(raw_tp: bool, tag: &str) {
    const N: u64 = 40;
    let b = backend(raw_tp);
    let dir = scratch_dir(tag);
    let prefix = dir.join("f").display().to_string();
    for i in (0..N).step_by(2) {
        std::fs::write(format!("{prefix}.{i}"), b"x").unwrap();
    }
    let comm = format!("sgo-{tag}");
    let child = spawn(&comm, &["open", &prefix, &N.to_string()]);
    let pid = child.id();
    capture_on(&b, |c| {
        c.nr_pids = 1;
        c.pids[0] = pid;
    });
    let mut cons = b.map().unwrap();
    let t0 = now_ns();
    go(child);
    let t1 = now_ns();
    let items = finish(&b, cons.as_mut());
    assert_eq!(lost(&items), 0, "nothing may be lost here");
    let recs = records(&items);
    assert!(recs.iter().all(|r| r.pid == pid), "only the marked pid");
    let opens: Vec<_> = recs
        .iter()
        .filter(|r| r.abi == Abi::X86_64 && r.nr == NR_OPENAT && r.comm == comm.as_bytes())
        .collect();
    assert_eq!(opens.len(), N as usize, "exactly one record per openat");
    let (pidns, mntns, cgroup) = (ns_inode("pid"), ns_inode("mnt"), own_cgroup_id());
    for (i, r) in opens.iter().enumerate() {
        assert_eq!(
            path0(r),
            format!("{prefix}.{i}").as_bytes(),
            "path of call {i}"
        );
        assert!(r.flags & abi::RF_PATH0 != 0);
        if i % 2 == 0 {
            assert!(r.ret >= 0, "open of an existing file: {}", r.ret);
            assert!(
                r.flags & abi::RF_UNRESOLVED != 0,
                "a path the module would resolve"
            );
        } else {
            assert_eq!(r.ret, -ENOENT);
            assert!(r.flags & abi::RF_UNRESOLVED == 0);
        }
        assert_eq!(r.args[0] as i32, libc::AT_FDCWD);
        assert_eq!(r.args[2], libc::O_RDONLY as u64);
        assert_eq!((r.uid, r.euid, r.gid), (0, 0, 0));
        assert_eq!(r.ppid, std::process::id());
        assert_eq!((r.ns_pid, r.ns_tid, r.tid), (pid, pid, pid));
        assert_eq!((r.pidns, r.mntns, r.cgroup_id), (pidns, mntns, cgroup));
        assert!(
            r.time_ns >= t0 && r.time_ns <= t1,
            "time {} not in [{t0}, {t1}]",
            r.time_ns
        );
    }
    let exits: Vec<_> = recs.iter().filter(|r| r.nr == NR_EXIT_GROUP).collect();
    assert_eq!(exits.len(), 1, "exit_group, logged at entry");
    assert!(exits[0].noreturn() && exits[0].ret == 0);
    assert!(recs.iter().all(|r| r.flags & abi::RF_SKIPPED == 0));
    // Per-CPU sequence numbers have no gap.
    let mut last: HashMap<u32, u64> = HashMap::new();
    for r in &recs {
        if let Some(p) = last.insert(r.cpu, r.seq) {
            assert_eq!(r.seq, p + 1, "seq gap on cpu {}", r.cpu);
        }
    }
    let st = b.stats().unwrap();
    let c = st.syscalls[0][NR_OPENAT as usize];
    assert_eq!(c.logged, N, "openat logged");
    assert_eq!(c.dropped, 0);
    assert!(c.calls >= N && c.errors >= N / 2 && c.filtered == c.calls - N);
    assert_eq!(st.total.logged, recs.len() as u64);
    assert_eq!(st.total.dropped, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn opens_exactly_with_tp_btf() {
    opens(false, "btf");
}

#[test]
fn opens_exactly_with_raw_tp() {
    opens(true, "raw");
}

#[test]
fn exec_success_and_failure() {
    let b = backend(false);
    let ok = spawn("sgx-ok", &["exec", "/bin/true", "a b", "c"]);
    let bad = spawn("sgx-bad", &["exec", "/nonexistent/prog"]);
    let (pok, pbad) = (ok.id(), bad.id());
    capture_on(&b, |c| {
        c.nr_pids = 2;
        c.pids[0] = pok;
        c.pids[1] = pbad;
    });
    let mut cons = b.map().unwrap();
    go(ok);
    go(bad);
    let items = finish(&b, cons.as_mut());
    assert_eq!(lost(&items), 0);
    let recs = records(&items);
    let execs: Vec<_> = recs.iter().filter(|r| r.nr == NR_EXECVE).collect();
    assert_eq!(execs.len(), 2, "one record per execve");
    let good = execs.iter().find(|r| r.pid == pok).unwrap();
    assert_eq!(good.ret, 0);
    assert_eq!(good.comm, b"true", "made at exit, in the new image");
    // As the module: the new image's argv, args zero; the program it ran
    // is what the module resolves and BPF cannot: no path 0, unresolved.
    assert!(good.paths[0].is_none(), "no path 0: {:?}", good.paths[0]);
    let want = abi::RF_PATH1 | abi::RF_ARGV | abi::RF_UNRESOLVED;
    assert_eq!(
        good.flags & (want | abi::RF_PATH0),
        want,
        "flags {:#x}",
        good.flags
    );
    assert_eq!(
        good.paths[1].unwrap().bytes,
        b"/bin/true\0a b\0c\0",
        "argv of the new image"
    );
    assert_eq!(good.args, [0; 6], "the registers are the new image's");
    assert_eq!((good.abi, good.nr), (Abi::X86_64, NR_EXECVE));
    let failed = execs.iter().find(|r| r.pid == pbad).unwrap();
    assert_eq!(failed.ret, -ENOENT);
    assert_eq!(failed.comm, b"sgx-bad");
    assert_eq!(path0(failed), b"/nonexistent/prog");
    assert_eq!(failed.flags & (abi::RF_UNRESOLVED | abi::RF_ARGV), 0);
    assert!(failed.args[0] != 0, "a failed exec keeps its registers");
    // true's own exit_group, in the new image.
    assert!(recs
        .iter()
        .any(|r| r.pid == pok && r.nr == NR_EXIT_GROUP && r.noreturn() && r.comm == b"true"));
}

fn count_opens(b: &BpfBackend, comm: &str, n: u64, set: impl FnOnce(&mut sagafs_config)) -> usize {
    let dir = scratch_dir(comm);
    let prefix = dir.join("f").display().to_string();
    for i in (0..n).step_by(2) {
        std::fs::write(format!("{prefix}.{i}"), b"x").unwrap();
    }
    let child = spawn(comm, &["open", &prefix, &n.to_string()]);
    capture_on(b, set);
    let mut cons = b.map().unwrap();
    go(child);
    let items = finish(b, cons.as_mut());
    let _ = std::fs::remove_dir_all(&dir);
    records(&items)
        .iter()
        .filter(|r| r.nr == NR_OPENAT && r.comm == comm.as_bytes())
        .count()
}

#[test]
fn filters_count_but_do_not_log() {
    let b = backend(false);
    let n = 20;
    // By comm.
    assert_eq!(
        count_opens(&b, "sgf-comm", n, |c| {
            c.nr_comms = 1;
            c.comms[0] = comm16("sgf-comm");
        }),
        n as usize
    );
    // Excluded syscall: counted as filtered, never logged.
    assert_eq!(
        count_opens(&b, "sgf-excl", n, |c| {
            c.nr_comms = 1;
            c.comms[0] = comm16("sgf-excl");
            c.exclude_syscalls[0][NR_OPENAT as usize / 64] |= 1 << (NR_OPENAT % 64);
        }),
        0
    );
    let st = b.stats().unwrap();
    let o = st.syscalls[0][NR_OPENAT as usize];
    assert!(o.filtered >= n && o.logged == 0, "{o:?}");
    // Failures only: the odd half does not exist.
    assert_eq!(
        count_opens(&b, "sgf-fail", n, |c| {
            c.exclude_syscalls = [[0; abi::BITMAP_WORDS]; abi::NR_ABIS];
            c.nr_comms = 1;
            c.comms[0] = comm16("sgf-fail");
            c.result = abi::RESULT_FAILURE;
        }),
        n as usize / 2
    );
    // Excluded comm.
    assert_eq!(
        count_opens(&b, "sgf-xcom", n, |c| {
            c.result = abi::RESULT_ANY;
            c.nr_comms = 0;
            c.nr_uids = 1;
            c.uids[0] = 0;
            c.nr_exclude_comms = 1;
            c.exclude_comms[0] = comm16("sgf-xcom");
        }),
        0
    );
    // Invalid configurations change nothing.
    let before = b.config().unwrap();
    let mut bad = before;
    bad.snaplen = abi::SNAPLEN_MAX + 1;
    let e = b.set_config(&bad).unwrap_err();
    assert_eq!(e.errno(), nix::errno::Errno::EINVAL, "{e}");
    bad = before;
    bad.nr_comms = 1;
    bad.comms[0] = [b'x'; abi::COMM_LEN];
    assert!(b.set_config(&bad).is_err());
    assert_eq!(b.config().unwrap(), before);
}

#[test]
fn tiny_ring_drops_are_counted_and_seen() {
    const N: u64 = 400;
    let b = backend(false);
    let dir = scratch_dir("drops");
    // Long paths: about 3 KiB per record, a 32 KiB ring holds ten.
    let prefix = dir.join("d".repeat(200)).display().to_string() + &"/x".repeat(1400);
    let child = spawn("sgd-drops", &["open", &prefix, &N.to_string()]);
    let pid = child.id();
    let mut c = b.config().unwrap();
    c.ring_kb = abi::RING_KB_MIN;
    c.snaplen = abi::SNAPLEN_MAX;
    b.set_config(&c).unwrap();
    capture_on(&b, |c| {
        c.nr_pids = 1;
        c.pids[0] = pid;
    });
    // A consumer that reads only at the end.
    let mut cons = b.map().unwrap();
    go(child);
    let items = finish(&b, cons.as_mut());
    let st = b.stats().unwrap();
    let recs = records(&items);
    let lost_total = lost(&items);
    assert!(st.total.dropped > 0, "a 32 KiB ring must overflow");
    assert_eq!(lost_total, st.total.dropped, "every drop is seen as a loss");
    assert_eq!(
        recs.len() as u64,
        st.total.logged,
        "every written record is read"
    );
    let o = st.syscalls[0][NR_OPENAT as usize];
    assert_eq!(o.logged + o.dropped, N, "each openat logged or dropped");
    for (cpu, cs) in st.cpus.iter().enumerate() {
        let seen: u64 = items
            .iter()
            .map(|i| match i {
                ItemRef::Dropped { cpu: c, count, .. } if c as usize == cpu => count,
                _ => 0,
            })
            .sum();
        assert_eq!(seen, cs.dropped, "cpu {cpu}: losses seen vs dropped");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn i386_calls_are_decoded() {
    const N: u64 = 25;
    const I386_GETPID: i32 = 20;
    let b = backend(false);
    let child = spawn("sgi-int80", &["int80", &N.to_string()]);
    let pid = child.id();
    capture_on(&b, |c| {
        c.nr_pids = 1;
        c.pids[0] = pid;
    });
    let mut cons = b.map().unwrap();
    go(child);
    let items = finish(&b, cons.as_mut());
    assert_eq!(lost(&items), 0);
    let recs = records(&items);
    let calls: Vec<_> = recs
        .iter()
        .filter(|r| r.abi == Abi::I386 && r.nr == I386_GETPID)
        .collect();
    assert_eq!(
        calls.len(),
        N as usize,
        "one i386 record per int 0x80 getpid"
    );
    assert!(calls
        .iter()
        .all(|r| r.ret == pid as i64 && r.args.iter().all(|&a| a <= u32::MAX as u64)));
    let st = b.stats().unwrap();
    assert_eq!(st.syscalls[1][I386_GETPID as usize].logged, N);
    assert_eq!(
        recs.iter()
            .filter(|r| r.abi == Abi::X86_64 && r.nr == 39)
            .count(),
        0,
        "not counted as x86_64 getpid"
    );
}

#[test]
fn without_privileges_the_error_says_what_to_do() {
    // The benchmark consumer loads the backend first thing; as nobody,
    // with no capabilities, it must fail with the reason.
    let bench = env!("CARGO_BIN_EXE_sagafs-bpf-bench");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            bench,
        ])
        .output()
        .expect("run setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs CAP_BPF and CAP_PERFMON") && err.contains("run sagafs as root"),
        "{err}"
    );
}
