//! `sagafs-render-bench [MiB]`: how fast `log` is served.
//!
//! Fills a daemon's retention through the device double with about MiB
//! (default 64) of records in the kernel's layout (`mix`: openat with a
//! path, read without), then measures:
//! 1. rendering the retention snapshot through `LogReader` in 128 KiB
//!    reads, text and JSON, without FUSE;
//! 2. `cat` of `log` on a real FUSE mount (needs root and /dev/fuse)
//!    against `cat` of the same bytes from a tmpfs file (/dev/shm).
//!
//! Prints MB/s (10^6 bytes per second) and the ratio to tmpfs `cat`.
//! With `SAGAFS_BENCH_DUMP=PREFIX` it also writes the text and JSON
//! renderings to PREFIX.txt and PREFIX.json (to compare two builds).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sagafs::daemon::retention::Snapshot;
use sagafs::device::double::{DeviceDouble, Outcome};
use sagafs::device::Backend;
use sagafs::format::Format;
use sagafs::record::Builder;
use sagafs::tree::snapshot::LogReader;
use sagafs_tests::mix;

const READ: usize = 128 << 10;

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// Reads the whole snapshot through a `LogReader`; (bytes, time).
fn render(snap: &Snapshot, format: Format) -> (usize, Duration) {
    let start = Instant::now();
    let mut r = LogReader::new(snap.clone(), format, 0);
    let mut off = 0u64;
    loop {
        let d = r.read(off, READ);
        if d.is_empty() {
            break;
        }
        off += d.len() as u64;
    }
    (off as usize, start.elapsed())
}

/// Best of three `cat PATH > /dev/null`; (bytes, time) with bytes from wc.
fn cat(path: &Path) -> Duration {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            let st = Command::new("sh")
                .arg("-c")
                .arg(format!("cat '{}' > /dev/null", path.display()))
                .status()
                .expect("sh");
            assert!(st.success(), "cat {} failed", path.display());
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("MiB: a number"))
        .unwrap_or(64);
    let target = mib << 20;
    assert!(
        nix::unistd::geteuid().is_root() && Path::new("/dev/fuse").exists(),
        "sagafs-render-bench mounts a file system: run it as root with /dev/fuse"
    );

    let dev = DeviceDouble::new(2, 4096);
    let dir = PathBuf::from(format!("/tmp/sagafs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = sagafs_mount::options::parse(&format!("retain={}M", mib * 2)).unwrap();
    let backend: Arc<dyn Backend> = Arc::new(dev.clone());
    let m = sagafs::mount::mount(backend, &opts, &dir).unwrap();
    let daemon = m.daemon().clone();
    let server = std::thread::spawn(move || m.run());

    // Fill: batches that fit the rings, waiting for the collector.
    let fill = Instant::now();
    let mut t = 1_795_300_201_000_000_000u64;
    let mut i = 0u64;
    let mut encoded = 0usize;
    while encoded < target {
        let batch: Vec<Builder> = (0..4096)
            .map(|_| {
                i += 1;
                t += 1000;
                mix::record(i, t)
            })
            .collect();
        let sizes: usize = batch.iter().map(Builder::encoded_len).sum();
        let out = dev.inject_many(batch);
        let logged = out
            .iter()
            .filter(|o| matches!(o, Outcome::Logged { .. }))
            .count() as u64;
        assert_eq!(logged, out.len() as u64, "the rings overflowed");
        encoded += sizes;
        let want = i;
        let end = Instant::now() + Duration::from_secs(30);
        while daemon.hub.retention.lock().next() < want {
            assert!(Instant::now() < end, "the collector stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let snap = daemon.hub.retention.lock().snapshot();
    println!(
        "filled {} records, {:.1} MiB encoded, in {:.2} s",
        snap.len(),
        encoded as f64 / (1 << 20) as f64,
        fill.elapsed().as_secs_f64()
    );

    // 0. Rendering on one thread, entry by entry (best of seven).
    for (name, f) in [("text", Format::Text), ("json", Format::Json)] {
        let (bytes, d) = (0..7)
            .map(|_| {
                let start = Instant::now();
                let mut out = Vec::with_capacity(1 << 20);
                let mut bytes = 0;
                for e in snap.entries() {
                    f.item(&mut out, &e);
                    if out.len() > (1 << 20) - 4096 {
                        bytes += out.len();
                        out.clear();
                    }
                }
                (bytes + out.len(), start.elapsed())
            })
            .min_by_key(|x| x.1)
            .unwrap();
        println!(
            "one thread {name}: {:.0} MB/s, {:.0} ns/record",
            mbps(bytes, d),
            d.as_nanos() as f64 / snap.len() as f64
        );
    }

    // 1. Rendering through LogReader, without FUSE (best of seven).
    for (name, f) in [("text", Format::Text), ("json", Format::Json)] {
        let (bytes, d) = (0..7)
            .map(|_| render(&snap, f))
            .min_by_key(|x| x.1)
            .unwrap();
        println!(
            "render {name}: {:.1} MiB in {:.3} s = {:.0} MB/s",
            bytes as f64 / (1 << 20) as f64,
            d.as_secs_f64(),
            mbps(bytes, d)
        );
    }
    // SAGAFS_BENCH_DUMP=PREFIX: keep the renderings to compare builds.
    if let Ok(prefix) = std::env::var("SAGAFS_BENCH_DUMP") {
        for (ext, f) in [("txt", Format::Text), ("json", Format::Json)] {
            let mut r = LogReader::new(snap.clone(), f, 0);
            let mut all = Vec::new();
            loop {
                let d = r.read(all.len() as u64, READ);
                if d.is_empty() {
                    break;
                }
                all.extend_from_slice(&d);
            }
            std::fs::write(format!("{prefix}.{ext}"), all).unwrap();
        }
    }
    drop(snap);

    // 2. cat over FUSE against cat from tmpfs.
    let log = dir.join("log");
    let shm = PathBuf::from(format!("/dev/shm/sagafs-bench-{}", std::process::id()));
    std::fs::copy(&log, &shm).unwrap();
    let bytes = std::fs::metadata(&shm).unwrap().len() as usize;
    let fuse = cat(&log);
    let tmpfs = cat(&shm);
    let _ = std::fs::remove_file(&shm);
    println!(
        "cat log:   {:.1} MiB in {:.3} s = {:.0} MB/s",
        bytes as f64 / (1 << 20) as f64,
        fuse.as_secs_f64(),
        mbps(bytes, fuse)
    );
    println!(
        "cat tmpfs: {:.1} MiB in {:.3} s = {:.0} MB/s",
        bytes as f64 / (1 << 20) as f64,
        tmpfs.as_secs_f64(),
        mbps(bytes, tmpfs)
    );
    println!(
        "ratio log/tmpfs: {:.3}",
        tmpfs.as_secs_f64() / fuse.as_secs_f64()
    );

    let st = Command::new("umount").arg(&dir).status().unwrap();
    assert!(st.success(), "umount {} failed", dir.display());
    server.join().unwrap().unwrap();
    let _ = std::fs::remove_dir(&dir);
}
