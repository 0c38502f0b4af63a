//! The end-to-end behaviour suite, written once and run against every
//! capture backend: the device double (host, no privilege), the module
//! (in the VM), and the eBPF backend (natively as root, and in the VM).
//!
//! A case gets a [`Bed`]: a backend and a way to run a marked workload
//! on it.  On a real backend the workload is `sagafs-marked`, a process
//! that makes exactly the calls asked for; on the double the same calls
//! are fed to its probe as the kernel would report them.  Filters,
//! counters, validation and drop accounting are then the backend's own
//! (the double's are the daemon's production code), so a difference
//! between backends fails a case.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use sagafs::abi::{self, sagafs_config};
use sagafs::clock::now_ns;
use sagafs::device::double::DeviceDouble;
use sagafs::device::{set_capture, Backend, Consumer};
use sagafs::record::{Abi, Builder, Items, PathSpec, RecordRef};

pub const NR_OPENAT: i32 = 257;
pub const NR_EXIT_GROUP: i32 = 231;
const ENOENT: i64 = 2;

/// How the marked workload is run.
pub enum Runner {
    /// A real process: `sagafs-marked` at this path.
    Process(PathBuf),
    /// The double's probe is fed the calls (`pid` is made up).
    Double(DeviceDouble),
}

/// A backend and its workload runner.
pub struct Bed {
    pub backend: Arc<dyn Backend>,
    pub runner: Runner,
}

/// A workload started and waiting for its go.
pub struct Pending<'a> {
    bed: &'a Bed,
    child: Option<Child>,
    pid: u32,
    comm: String,
    prefix: String,
    n: u64,
}

/// A pid no test process has: the double's workload.
const DOUBLE_PID: u32 = 4_000_001;

impl Bed {
    /// `n` openat calls of `PREFIX.i` (even i exist, odd do not), then
    /// exit_group, by a process named `comm`.  Files are created here.
    pub fn opens(&self, comm: &str, dir: &std::path::Path, n: u64) -> Pending<'_> {
        let prefix = dir.join("f").display().to_string();
        for i in (0..n).step_by(2) {
            std::fs::write(format!("{prefix}.{i}"), b"x").unwrap();
        }
        self.opens_of(comm, prefix, n)
    }

    /// As [`Bed::opens`] with the files named `prefix.i` (none created).
    pub fn opens_of(&self, comm: &str, prefix: String, n: u64) -> Pending<'_> {
        let (child, pid) = match &self.runner {
            Runner::Process(marked) => {
                let mut c = Command::new(marked)
                    .arg(comm)
                    .args(["open", &prefix, &n.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("start sagafs-marked");
                let mut line = String::new();
                BufReader::new(c.stdout.as_mut().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                assert_eq!(line, "ready\n", "sagafs-marked did not start");
                let pid = c.id();
                (Some(c), pid)
            }
            Runner::Double(_) => (None, DOUBLE_PID),
        };
        Pending {
            bed: self,
            child,
            pid,
            comm: comm.to_string(),
            prefix,
            n,
        }
    }
}

impl Pending<'_> {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Runs the workload to its end.
    pub fn go(mut self) {
        if let Some(mut c) = self.child.take() {
            let mut stdin = c.stdin.take().unwrap();
            stdin.write_all(b"go\n").unwrap();
            drop(stdin);
            let st = c.wait().unwrap();
            assert!(st.code().is_some(), "workload died: {st}");
            return;
        }
        let Runner::Double(dev) = &self.bed.runner else {
            unreachable!("a process workload has its child")
        };
        // What the kernel reports for the same calls: a descriptor or
        // ENOENT, the path as given (the module resolves an opened one).
        for i in 0..self.n {
            let mut b = Builder::new(0, now_ns());
            b.pid = self.pid;
            b.tid = self.pid;
            b.ns_pid = self.pid;
            b.ns_tid = self.pid;
            b.comm = self.comm.as_bytes().to_vec();
            b.args = [libc::AT_FDCWD as u32 as u64, 0x1000, 0, 0, 0, 0];
            b.ret = if i % 2 == 0 { 3 } else { -ENOENT };
            b.paths = [
                Some(PathSpec::new(format!("{}.{i}", self.prefix).as_bytes())),
                None,
            ];
            dev.inject(b);
        }
        let mut b = Builder::new(0, now_ns());
        (b.pid, b.tid, b.ns_pid, b.ns_tid) = (self.pid, self.pid, self.pid, self.pid);
        b.comm = self.comm.as_bytes().to_vec();
        b.nr = NR_EXIT_GROUP;
        b.flags = abi::RF_NORETURN;
        b.ret = 0;
        b.args = [0; 6];
        b.paths = [None, None];
        dev.inject(b);
    }
}

/// A scratch directory of this process.
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sagafs-suite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn comm16(s: &str) -> [u8; abi::COMM_LEN] {
    let mut c = [0u8; abi::COMM_LEN];
    c[..s.len()].copy_from_slice(s.as_bytes());
    c
}

/// Capture on with `f` applied to the backend's config, counters reset.
fn capture_on(b: &dyn Backend, f: impl FnOnce(&mut sagafs_config)) {
    let mut c = b.config().unwrap();
    c.flags |= abi::CFG_ENABLED;
    f(&mut c);
    b.set_config(&c).unwrap();
    b.reset_stats().unwrap();
}

/// Capture off, then every item left in the rings.
fn finish(b: &dyn Backend, cons: &mut dyn Consumer) -> Items {
    set_capture(b, false).unwrap();
    let mut items = Items::new();
    while cons.drain(&mut items) > 0 {}
    items
}

fn opens_of<'a>(items: &'a Items, comm: &str) -> Vec<RecordRef<'a>> {
    items
        .records()
        .filter(|r| r.abi == Abi::X86_64 && r.nr == NR_OPENAT && r.comm == comm.as_bytes())
        .collect()
}

/// Restores the backend's default filters between cases.
fn reset_filters(b: &dyn Backend) {
    let mut c = b.config().unwrap();
    let keep = (c.size, c.ring_kb, c.snaplen, c.wakeup_bytes);
    c = sagafs_config {
        flags: abi::CFG_EXCLUDE_SELF,
        ..Default::default()
    };
    (c.size, c.ring_kb, c.snaplen, c.wakeup_bytes) = keep;
    c.syscalls = [[u64::MAX; abi::BITMAP_WORDS]; abi::NR_ABIS];
    b.set_config(&c).unwrap();
}

/// Every call of the workload is logged once, in order, with its path,
/// result and identity; sequence numbers have no gap; the counters agree.
pub fn opens_are_logged_exactly(bed: &Bed) {
    const N: u64 = 40;
    let b = bed.backend.as_ref();
    reset_filters(b);
    let dir = scratch_dir("exact");
    let w = bed.opens("sgs-exact", &dir, N);
    let pid = w.pid();
    capture_on(b, |c| {
        c.nr_pids = 1;
        c.pids[0] = pid;
    });
    let mut cons = b.map().unwrap();
    w.go();
    let items = finish(b, cons.as_mut());
    assert_eq!(items.dropped(), 0, "nothing may be dropped here");
    assert!(items.records().all(|r| r.pid == pid), "only the marked pid");
    let opens = opens_of(&items, "sgs-exact");
    assert_eq!(opens.len(), N as usize, "one record per openat");
    let prefix = dir.join("f").display().to_string();
    for (i, r) in opens.iter().enumerate() {
        let p = r.paths[0].expect("path 0");
        assert_eq!(p.bytes, format!("{prefix}.{i}").as_bytes(), "call {i}");
        if i % 2 == 0 {
            assert!(r.ret >= 0, "open of an existing file: {}", r.ret);
        } else {
            assert_eq!(r.ret, -ENOENT);
        }
        assert_eq!(r.args[0] as i32, libc::AT_FDCWD);
        assert_eq!((r.tid, r.ns_pid), (pid, pid));
    }
    let exits: Vec<_> = items.records().filter(|r| r.nr == NR_EXIT_GROUP).collect();
    assert_eq!(exits.len(), 1, "exit_group, logged at entry");
    assert!(exits[0].noreturn() && exits[0].ret == 0);
    let mut last: HashMap<u32, u64> = HashMap::new();
    for r in items.records() {
        if let Some(p) = last.insert(r.cpu, r.seq) {
            assert_eq!(r.seq, p + 1, "seq gap on cpu {}", r.cpu);
        }
    }
    let st = b.stats().unwrap();
    let c = st.syscalls[0][NR_OPENAT as usize];
    assert_eq!((c.logged, c.dropped), (N, 0), "openat counters {c:?}");
    assert!(c.errors >= N / 2, "{c:?}");
    assert_eq!(st.total.logged, items.records().count() as u64);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Filters: excluded calls are counted as filtered, never logged; a
/// comm list, failures only and an excluded comm select as documented.
pub fn filters_select_and_count(bed: &Bed) {
    const N: u64 = 20;
    let b = bed.backend.as_ref();
    let run = |comm: &str, set: &dyn Fn(&mut sagafs_config)| -> usize {
        reset_filters(b);
        let dir = scratch_dir(comm);
        let w = bed.opens(comm, &dir, N);
        let pid = w.pid();
        capture_on(b, |c| {
            c.nr_pids = 1;
            c.pids[0] = pid;
            set(c);
        });
        let mut cons = b.map().unwrap();
        w.go();
        let items = finish(b, cons.as_mut());
        let _ = std::fs::remove_dir_all(&dir);
        opens_of(&items, comm).len()
    };
    assert_eq!(
        run("sgs-comm", &|c| {
            c.nr_comms = 1;
            c.comms[0] = comm16("sgs-comm");
        }),
        N as usize
    );
    assert_eq!(
        run("sgs-excl", &|c| {
            c.exclude_syscalls[0][NR_OPENAT as usize / 64] |= 1 << (NR_OPENAT % 64);
        }),
        0
    );
    let o = b.stats().unwrap().syscalls[0][NR_OPENAT as usize];
    assert!(o.filtered >= N && o.logged == 0, "excluded openat: {o:?}");
    assert_eq!(
        run("sgs-fail", &|c| c.result = abi::RESULT_FAILURE),
        N as usize / 2
    );
    assert_eq!(
        run("sgs-xcom", &|c| {
            c.nr_exclude_comms = 1;
            c.exclude_comms[0] = comm16("sgs-xcom");
        }),
        0
    );
}

/// Capture off: the workload leaves no record and no count.
pub fn capture_off_sees_nothing(bed: &Bed) {
    let b = bed.backend.as_ref();
    reset_filters(b);
    let dir = scratch_dir("off");
    let w = bed.opens("sgs-off", &dir, 10);
    set_capture(b, false).unwrap();
    b.reset_stats().unwrap();
    let mut cons = b.map().unwrap();
    w.go();
    let items = finish(b, cons.as_mut());
    assert_eq!(opens_of(&items, "sgs-off").len(), 0);
    let st = b.stats().unwrap();
    assert_eq!(st.syscalls[0][NR_OPENAT as usize].calls, 0, "not counted");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A configuration the kernel refuses is refused alike, with EINVAL, and
/// changes nothing.
pub fn invalid_configs_change_nothing(bed: &Bed) {
    let b = bed.backend.as_ref();
    reset_filters(b);
    let before = b.config().unwrap();
    type Spoil = Box<dyn Fn(&mut sagafs_config)>;
    let bad: [(&str, Spoil); 5] = [
        ("snaplen", Box::new(|c| c.snaplen = abi::SNAPLEN_MAX + 1)),
        ("ring_kb", Box::new(|c| c.ring_kb = 48)),
        ("result", Box::new(|c| c.result = 3)),
        (
            "comm",
            Box::new(|c| {
                c.nr_comms = 1;
                c.comms[0] = [b'x'; abi::COMM_LEN];
            }),
        ),
        (
            "pid 0",
            Box::new(|c| {
                c.nr_pids = 1;
                c.pids[0] = 0;
            }),
        ),
    ];
    for (what, f) in bad {
        let mut c = before;
        f(&mut c);
        let e = b.set_config(&c).unwrap_err();
        assert_eq!(e.errno(), nix::errno::Errno::EINVAL, "{what}: {e}");
        assert_eq!(b.config().unwrap(), before, "{what} changed the config");
    }
}

/// A ring too small for a reader that reads only at the end: every drop
/// is counted, per CPU, and seen by the reader where it happened.
pub fn drops_are_counted_and_seen(bed: &Bed) {
    const N: u64 = 300;
    let b = bed.backend.as_ref();
    reset_filters(b);
    let dir = scratch_dir("drops");
    // About 3 KiB per record: a 32 KiB ring holds ten.
    let long = dir.join("d".repeat(200)).display().to_string() + &"/x".repeat(1400);
    let w = bed.opens_of("sgs-drops", long, N);
    let pid = w.pid();
    set_capture(b, false).unwrap();
    let mut c = b.config().unwrap();
    let restore = c;
    c.ring_kb = abi::RING_KB_MIN;
    c.snaplen = abi::SNAPLEN_MAX;
    b.set_config(&c).unwrap();
    capture_on(b, |c| {
        c.nr_pids = 1;
        c.pids[0] = pid;
    });
    let mut cons = b.map().unwrap();
    w.go();
    let items = finish(b, cons.as_mut());
    let st = b.stats().unwrap();
    drop(cons);
    b.set_config(&restore).unwrap();
    assert!(st.total.dropped > 0, "a 32 KiB ring must overflow");
    assert_eq!(items.dropped(), st.total.dropped, "every drop seen");
    assert_eq!(items.records().count() as u64, st.total.logged);
    let o = st.syscalls[0][NR_OPENAT as usize];
    assert_eq!(o.logged + o.dropped, N, "each openat logged or dropped");
    for (cpu, cs) in st.cpus.iter().enumerate() {
        let seen: u64 = items
            .iter()
            .map(|i| match i {
                sagafs::record::ItemRef::Dropped { cpu: c, count, .. } if c as usize == cpu => {
                    count
                }
                _ => 0,
            })
            .sum();
        assert_eq!(seen, cs.dropped, "cpu {cpu}: drops seen vs counted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One `#[test]` per case, each on a fresh bed from `$bed` (an expression
/// of type [`Bed`]).
#[macro_export]
macro_rules! suite_tests {
    ($bed:expr) => {
        $crate::suite_tests!(@each $bed;
            opens_are_logged_exactly,
            filters_select_and_count,
            capture_off_sees_nothing,
            invalid_configs_change_nothing,
            drops_are_counted_and_seen);
    };
    (@each $bed:expr; $($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                $crate::suite::$case(&$bed);
            }
        )*
    };
}
