//! The device binding against the real module, inside the test VM
//! (`tests/vm/device.sh`): open with the ABI check, GET_INFO, the config
//! round trip, exact capture of a known workload merged across CPUs,
//! exclusion counted but not logged, a flood of a tiny ring where every
//! dropped record is reported, and waiting. Run with `--test-threads=1`: the
//! tests share the one device.

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use sagafs::abi;
use sagafs::device::{sagafs_config, set_capture, Backend, Consumer, Device, Wake};
use sagafs::record::{Abi, Items, RecordRef};

const WORKLOAD: &str = env!("CARGO_BIN_EXE_sagafs-workload");
const OPENAT: usize = 257;

/// Fails (never skips) outside the VM, where there is no module.
fn open() -> Device {
    assert_eq!(
        std::env::var("SAGAFS_IN_VM").as_deref(),
        Ok("1"),
        "this test needs the sagafs module: run tests/vm/device.sh"
    );
    Device::open_default().expect("open /dev/sagafs")
}

/// Turns capture off when a test ends, passed or not.
struct Off<'a>(&'a Device);

impl Drop for Off<'_> {
    fn drop(&mut self) {
        let _ = set_capture(self.0, false);
    }
}

fn set_bit(map: &mut [[u64; abi::BITMAP_WORDS]; abi::NR_ABIS], abi: usize, slot: usize) {
    map[abi][slot / 64] |= 1 << (slot % 64);
}

fn comm_entry(s: &str) -> [u8; abi::COMM_LEN] {
    let mut e = [0u8; abi::COMM_LEN];
    e[..s.len()].copy_from_slice(s.as_bytes());
    e
}

/// Capture on, exclude self, only x86_64 openat selected, no lists but
/// the comm `comm` if given, `ring_kb`; then `f` adjusts.
fn configure(dev: &Device, ring_kb: u32, comm: Option<&str>, f: impl FnOnce(&mut sagafs_config)) {
    set_capture(dev, false).expect("capture off");
    let mut cfg = sagafs_config {
        flags: abi::CFG_ENABLED | abi::CFG_EXCLUDE_SELF,
        snaplen: abi::SNAPLEN_DEFAULT,
        ring_kb,
        ..Default::default()
    };
    set_bit(&mut cfg.syscalls, 0, OPENAT);
    if let Some(c) = comm {
        cfg.nr_comms = 1;
        cfg.comms[0] = comm_entry(c);
    }
    f(&mut cfg);
    dev.set_config(&cfg).expect("SET_CONFIG");
    assert_eq!(dev.config().expect("GET_CONFIG"), cfg);
}

/// A fresh path prefix under /tmp; files `PREFIX.i` exist for even i < `create`.
fn prefix(tag: &str, create: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = format!("/tmp/sagafs-vm-{}-{nanos}", std::process::id());
    std::fs::create_dir(&dir).unwrap();
    let p = format!("{dir}/{tag}");
    for i in (0..create).step_by(2) {
        std::fs::write(format!("{p}.{i}"), b"x").unwrap();
    }
    p
}

/// Runs the workload to completion; returns its pid.
fn workload(comm: &str, prefix: &str, count: u64) -> u32 {
    let mut child = Command::new(WORKLOAD)
        .args([comm, prefix, &count.to_string()])
        .spawn()
        .expect("spawn sagafs-workload");
    let pid = child.id();
    assert!(child.wait().unwrap().success(), "sagafs-workload failed");
    pid
}

fn drain_all(c: &mut dyn Consumer) -> Items {
    let mut out = Items::new();
    while c.drain(&mut out) > 0 {}
    out
}

fn path0<'a>(r: &RecordRef<'a>) -> &'a [u8] {
    r.paths[0].map_or(&[][..], |p| p.bytes)
}

fn mine<'a>(items: &'a Items, prefix: &str) -> Vec<RecordRef<'a>> {
    items
        .records()
        .filter(|r| path0(r).starts_with(prefix.as_bytes()))
        .collect()
}

fn possible_cpus() -> u32 {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    s.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<u32>().unwrap() - a.parse::<u32>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[test]
fn open_info_and_config_round_trip() {
    let dev = open();
    let _off = Off(&dev);
    assert!(Path::new(dev.path()).ends_with("sagafs"));
    configure(&dev, 64, None, |_| {});
    let info = dev.info().unwrap();
    assert_eq!(info.abi_version, abi::ABI_VERSION);
    assert_eq!(info.size as usize, std::mem::size_of::<abi::sagafs_info>());
    assert_eq!(info.nr_cpus, possible_cpus());
    assert_eq!(info.ring_size, 64 * 1024);
    assert_eq!(info.data_len, info.nr_cpus as u64 * info.ring_size);
    assert_eq!(info.nr_slots as usize, abi::NR_SLOTS);
    assert_eq!(info.nr_abis as usize, abi::NR_ABIS);
    assert_eq!(info.snaplen_max, abi::SNAPLEN_MAX);
    assert_eq!(info.consumer_pid, 0);

    // Every field survives the round trip.
    configure(&dev, 64, Some("a-comm"), |c| {
        c.result = abi::RESULT_FAILURE;
        c.snaplen = 100;
        c.wakeup_bytes = 4096;
        c.nr_pids = 2;
        c.pids[..2].copy_from_slice(&[1, 4_000_000]);
        c.nr_exclude_pids = 1;
        c.exclude_pids[0] = 77;
        c.nr_uids = 1;
        c.uids[0] = 1000;
        c.nr_exclude_uids = 1;
        c.exclude_uids[0] = 0;
        c.nr_exclude_comms = 1;
        c.exclude_comms[0] = comm_entry("b-comm");
        set_bit(&mut c.syscalls, 1, 5);
        set_bit(&mut c.syscalls, 2, abi::SLOT_OTHER);
        set_bit(&mut c.exclude_syscalls, 0, 2);
    });

    // Invalid values are refused with EINVAL and change nothing.
    let good = dev.config().unwrap();
    for f in [
        (|c: &mut sagafs_config| c.ring_kb = 48) as fn(&mut sagafs_config),
        |c| c.result = 9,
        |c| c.flags |= 1 << 7,
        |c| c.snaplen = abi::SNAPLEN_MAX + 1,
        |c| c.nr_pids = abi::MAX_IDS as u32 + 1,
        |c| {
            c.nr_pids = 3;
            c.pids[2] = 0
        },
        |c| {
            c.nr_comms = 2;
            c.comms[1] = [b'x'; abi::COMM_LEN]
        },
    ] {
        let mut bad = good;
        f(&mut bad);
        let e = dev.set_config(&bad).unwrap_err();
        assert_eq!(e.errno(), Errno::EINVAL, "{e}");
        assert_eq!(dev.config().unwrap(), good);
    }

    // One consumer at a time; the second learns who it is.
    let rings = dev.map().unwrap();
    assert_eq!(dev.info().unwrap().consumer_pid, std::process::id());
    let other = Device::open_default().unwrap();
    let e = other
        .map()
        .err()
        .expect("a second consumer must be refused");
    assert_eq!(e.errno(), Errno::EBUSY);
    assert!(
        e.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    // ring_kb cannot change under a mapping.
    set_capture(&dev, false).unwrap();
    let mut c = dev.config().unwrap();
    c.ring_kb = 128;
    assert_eq!(dev.set_config(&c).unwrap_err().errno(), Errno::EBUSY);
    // The consumer is the open file, not the mapping: unmapped, the rings
    // stay reserved for it (it may map again) until it is closed.
    drop(rings);
    assert_eq!(other.map().err().map(|e| e.errno()), Some(Errno::EBUSY));
    drop(dev.map().expect("the consumer's file maps again"));
    drop(_off);
    drop(dev);
    drop(
        other
            .map()
            .expect("the rings are free once the consumer's file is closed"),
    );
    set_capture(&other, false).unwrap();
}

#[test]
fn workload_is_captured_exactly_and_merged_across_cpus() {
    const N: u64 = 200;
    let dev = open();
    let _off = Off(&dev);
    configure(&dev, 1024, None, |_| {});
    let mut c = dev.map().unwrap();
    drain_all(c.as_mut());
    let p = prefix("open", N);
    let pid = workload("sgfs-vm-open", &p, N);
    let items = drain_all(c.as_mut());
    let rs = mine(&items, &p);
    assert_eq!(rs.len() as u64, N, "records of the workload");
    assert_eq!(items.dropped(), 0, "nothing may be lost in a 1 MiB ring");
    let mut cpus = std::collections::BTreeSet::new();
    for (i, r) in rs.iter().enumerate() {
        // Merged in time order: the calls' own order.
        assert_eq!(
            path0(r),
            format!("{p}.{i}").as_bytes(),
            "record {i} out of order"
        );
        assert_eq!(r.comm, b"sgfs-vm-open");
        assert_eq!((r.pid, r.tid, r.ppid), (pid, pid, std::process::id()));
        assert_eq!((r.uid, r.euid, r.gid, r.egid), (0, 0, 0, 0));
        assert_eq!((r.abi, r.nr), (Abi::X86_64, OPENAT as i32));
        assert_eq!(r.args[0] as i32, libc::AT_FDCWD);
        if i % 2 == 0 {
            assert!(
                r.ret >= 0,
                "record {i}: openat of an existing file returned {}",
                r.ret
            );
        } else {
            assert_eq!(r.ret, -(libc::ENOENT as i64), "record {i}");
        }
        let path = r.paths[0].unwrap();
        assert!(!path.truncated && !path.fault);
        assert!(r.paths[1].is_none());
        if i > 0 {
            assert!(r.time_ns >= rs[i - 1].time_ns);
        }
        cpus.insert(r.cpu);
    }
    if possible_cpus() > 1 {
        assert!(
            cpus.len() > 1,
            "the workload moved between CPUs: records on {cpus:?}"
        );
    }
    // Per CPU, seqs only grow.
    for cpu in &cpus {
        let seqs: Vec<u64> = rs.iter().filter(|r| r.cpu == *cpu).map(|r| r.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "cpu {cpu}: {seqs:?}");
    }
    assert_eq!(c.stats().resyncs, 0);
}

#[test]
fn excluded_calls_are_counted_not_logged() {
    const N: u64 = 100;
    let dev = open();
    let _off = Off(&dev);
    configure(&dev, 1024, None, |c| {
        set_bit(&mut c.exclude_syscalls, 0, OPENAT)
    });
    dev.reset_stats().unwrap();
    let mut c = dev.map().unwrap();
    let p = prefix("excl", N);
    workload("sgfs-vm-excl", &p, N);
    let items = drain_all(c.as_mut());
    assert!(
        mine(&items, &p).is_empty(),
        "excluded openat calls were logged"
    );
    let st = dev.stats().unwrap();
    let s = st.syscalls[0][OPENAT];
    assert!(s.calls >= N, "openat calls counted: {s:?}");
    assert!(s.filtered >= N, "{s:?}");
    assert_eq!(s.logged, 0, "{s:?}");
    assert!(s.errors >= N / 2, "{s:?}");
    assert_eq!(s.calls, s.logged + s.filtered + s.dropped, "{s:?}");
    assert!(st.total.calls >= s.calls);
    assert!(st.enabled_ns > 0 && st.reset_ns > 0);
    assert_eq!(st.cpus.len() as u32, possible_cpus());
}

#[test]
fn tiny_ring_flood_reports_every_dropped_record() {
    const K: u64 = 3000;
    let dev = open();
    let _off = Off(&dev);
    configure(&dev, abi::RING_KB_MIN, Some("sgfs-vm-flood"), |_| {});
    assert_eq!(
        dev.info().unwrap().ring_size,
        abi::RING_KB_MIN as u64 * 1024
    );
    dev.reset_stats().unwrap();
    let mut c = dev.map().unwrap();
    let p = prefix("flood", 0);
    workload("sgfs-vm-flood", &p, K);
    let items = drain_all(c.as_mut());
    let got = mine(&items, &p).len() as u64;
    let dropped = items.dropped();
    let others: Vec<_> = items
        .records()
        .filter(|r| !path0(r).starts_with(p.as_bytes()))
        .collect();
    assert!(
        others.is_empty(),
        "only the workload's calls pass the comm filter: {others:?}"
    );
    assert!(dropped > 0, "a 32 KiB ring must overflow under {K} calls");
    assert_eq!(
        got + dropped,
        K,
        "records received {got} + dropped {dropped}"
    );
    let st = dev.stats().unwrap();
    let s = st.syscalls[0][OPENAT];
    assert_eq!(s.logged + s.dropped, K, "{s:?}");
    assert_eq!((s.logged, s.dropped), (got, dropped), "{s:?}");
    assert_eq!((st.total.logged, st.total.dropped), (got, dropped));
    let cpu_dropped: u64 = st.cpus.iter().map(|c| c.dropped).sum();
    assert_eq!(cpu_dropped, dropped);
    assert_eq!(st.bad_tail, 0);
    assert_eq!(c.stats().resyncs, 0);
    assert_eq!((c.stats().records, c.stats().dropped), (got, dropped));
    // After the drain the rings are empty and capture resumes at once.
    assert!(st.cpus.iter().all(|c| c.ring_used == 0), "{:?}", st.cpus);
    workload("sgfs-vm-flood", &p, 10);
    let items = drain_all(c.as_mut());
    assert_eq!((mine(&items, &p).len(), items.dropped()), (10, 0));
}

#[test]
fn wait_times_out_when_idle_and_wakes_on_data() {
    let dev = open();
    let _off = Off(&dev);
    configure(&dev, 1024, Some("sgfs-vm-wait"), |_| {});
    let mut c = dev.map().unwrap();
    drain_all(c.as_mut());
    assert_eq!(
        c.wait(None, Some(Duration::from_millis(300))).unwrap(),
        Wake::Timeout
    );
    assert_eq!(
        dev.wait(None, Some(Duration::from_millis(100))).unwrap(),
        Wake::Timeout
    );
    let p = prefix("wait", 0);
    workload("sgfs-vm-wait", &p, 1);
    assert_eq!(
        c.wait(None, Some(Duration::from_secs(10))).unwrap(),
        Wake::Data
    );
    assert_eq!(
        dev.wait(None, Some(Duration::from_secs(10))).unwrap(),
        Wake::Data
    );
    let items = drain_all(c.as_mut());
    assert_eq!(mine(&items, &p).len(), 1);
    assert_eq!(
        c.wait(None, Some(Duration::from_millis(100))).unwrap(),
        Wake::Timeout
    );
    // A stop descriptor ends a wait without a timeout.
    let (r, w) = nix::unistd::pipe().unwrap();
    nix::unistd::write(&w, b"x").unwrap();
    assert_eq!(c.wait(Some(r.as_fd()), None).unwrap(), Wake::Stopped);
    // A waiter blocked without timeout wakes when a record arrives.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        workload("sgfs-vm-wait", &prefix("wait2", 0), 1);
    });
    let (r2, _w2) = nix::unistd::pipe().unwrap();
    assert_eq!(c.wait(Some(r2.as_fd()), None).unwrap(), Wake::Data);
    t.join().unwrap();
}
