//! `sagafs-bpf-bench [-x NR]... [-k RING_KB] [-R READY_FILE] [-D]`: the
//! consumer side of the BPF benchmark (tests/bench/bpf.sh).  Loads the
//! BPF capture program, logs every call of every ABI (minus the x86_64
//! numbers given with -x; its own process excluded), drains the rings
//! until SIGTERM or SIGINT, then turns capture off, drains what is left
//! and prints key=value lines: getppid_records, records, seq_gaps (records
//! the consumer saw lost), dropped and logged (the program's counts),
//! records_per_s.  With -D the program is loaded but never attached
//! (capture off): the cost of having it loaded.  READY_FILE is created
//! once capture is on.

use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, Signal};
use sagafs::abi;
use sagafs::device::bpf::{BpfBackend, BpfOptions};
use sagafs::device::{set_capture, Backend};
use sagafs::record::{Abi, ItemRef, Items};

const NR_GETPPID: i32 = 110;

fn usage() -> ExitCode {
    eprintln!("usage: sagafs-bpf-bench [-x NR]... [-k RING_KB] [-R READY_FILE] [-D]");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut excluded = Vec::new();
    let (mut ring_kb, mut ready, mut detached) = (None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-x" => match it.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if n < abi::NR_SLOTS => excluded.push(n),
                _ => return usage(),
            },
            "-k" => match it.next().and_then(|v| v.parse::<u32>().ok()) {
                Some(k) => ring_kb = Some(k),
                None => return usage(),
            },
            "-R" => match it.next() {
                Some(p) => ready = Some(p.clone()),
                None => return usage(),
            },
            "-D" => detached = true,
            _ => return usage(),
        }
    }
    let mut sigs = SigSet::empty();
    sigs.add(Signal::SIGTERM);
    sigs.add(Signal::SIGINT);
    if let Err(e) = sigs.thread_block() {
        eprintln!("sagafs-bpf-bench: blocking signals: {e}");
        return ExitCode::from(2);
    }
    let b = match BpfBackend::open(BpfOptions::default()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("sagafs-bpf-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cfg = b.config().expect("config");
    for n in &excluded {
        cfg.exclude_syscalls[0][n / 64] |= 1 << (n % 64);
    }
    if let Some(k) = ring_kb {
        cfg.ring_kb = k;
    }
    cfg.flags |= abi::CFG_EXCLUDE_SELF;
    if !detached {
        cfg.flags |= abi::CFG_ENABLED;
    }
    if let Err(e) = b.set_config(&cfg) {
        eprintln!("sagafs-bpf-bench: {e}");
        return ExitCode::from(2);
    }
    b.reset_stats().expect("reset");
    let mut cons = b.map().expect("map the rings");
    let (stop_r, stop_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe");
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    std::thread::spawn(move || {
        let _ = sigs.wait();
        flag.store(true, Ordering::Release);
        let _ = nix::unistd::write(&stop_w, b"x");
    });
    if let Some(p) = &ready {
        std::fs::write(p, b"").expect("ready file");
    }
    let start = Instant::now();
    let (mut getppid, mut records, mut gaps) = (0u64, 0u64, 0u64);
    let mut items = Items::new();
    let mut count = |items: &mut Items| {
        for it in items.iter() {
            match it {
                ItemRef::Record(r) => {
                    records += 1;
                    if r.abi == Abi::X86_64 && r.nr == NR_GETPPID {
                        getppid += 1;
                    }
                }
                ItemRef::Dropped { count, .. } => gaps += count,
            }
        }
        items.clear();
    };
    while !stopped.load(Ordering::Acquire) {
        let _ = cons.wait(Some(stop_r.as_fd()), Some(Duration::from_millis(200)));
        cons.drain(&mut items);
        count(&mut items);
    }
    let secs = start.elapsed().as_secs_f64();
    set_capture(&b, false).expect("capture off");
    while cons.drain(&mut items) > 0 {
        count(&mut items);
    }
    let st = b.stats().expect("stats");
    println!("getppid_records={getppid}");
    println!("records={records}");
    println!("seq_gaps={gaps}");
    println!("dropped={}", st.total.dropped);
    println!("logged={}", st.total.logged);
    println!("records_per_s={:.0}", records as f64 / secs.max(1e-9));
    println!("attach={}", b.attach_type().as_str());
    ExitCode::SUCCESS
}
