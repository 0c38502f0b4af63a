//! Host FUSE tests of `log` and `log.json` with real shell tools: exact
//! line counts, snapshots per open, concurrent readers, escaping of hostile
//! file names, and the gap lines that make every loss visible.

mod fuse_support;

use fuse_support::{dropped_sum, mount, mount_with, record_lines};
use sagafs::device::double::{DeviceDouble, Outcome};

#[test]
fn log_has_one_line_per_record_and_shell_tools_work() {
    let mut m = mount("");
    m.inject(7, b"/etc/passwd");
    m.inject(3, b"/tmp/other");
    assert_eq!(m.ok("wc -l < log").trim(), "10");
    assert_eq!(m.ok("grep -c 'path=\"/etc/passwd\"' log").trim(), "7");
    let tail = m.ok("tail -n 2 log");
    assert_eq!(tail.lines().count(), 2);
    assert!(
        tail.lines().all(|l| l.contains("path=\"/tmp/other\"")),
        "{tail}"
    );
    // Oldest first: timestamps never go down.
    let log = m.read("log");
    let times: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(log
        .lines()
        .all(|l| l.contains(" syscall=openat ") && l.ends_with(" = 3")));
    // less reads it like a file.
    assert_eq!(m.ok("less log | wc -l").trim(), "10");
}

#[test]
fn log_json_is_json_lines_for_jq() {
    let mut m = mount("");
    m.inject(5, b"/var/log/x");
    assert_eq!(m.ok("jq -c . log.json | wc -l").trim(), "5");
    assert_eq!(
        m.ok("jq -r 'select(.syscall == \"openat\") | .paths[0].path' log.json | sort -u")
            .trim(),
        "/var/log/x"
    );
    assert_eq!(m.ok("jq -e -s 'length' log.json").trim(), "5");
}

#[test]
fn each_open_sees_a_snapshot_taken_at_open() {
    let mut m = mount("");
    m.inject(4, b"/a");
    // A reader that opened before the next records keeps its view.
    let mut f = std::fs::File::open(m.path("log")).unwrap();
    m.inject(6, b"/b");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).unwrap();
    assert_eq!(s.lines().count(), 4);
    assert_eq!(m.read("log").lines().count(), 10);
}

#[test]
fn many_readers_at_once_see_the_same_log() {
    let mut m = mount("");
    for _ in 0..20 {
        m.inject(100, b"/concurrent");
    }
    let out = m.ok(
        "for i in 1 2 3 4 5 6; do cat log > /tmp/sagafs-cat-$$-$i & done; wait; \
         for i in 2 3 4 5 6; do cmp /tmp/sagafs-cat-$$-1 /tmp/sagafs-cat-$$-$i || exit 1; done; \
         wc -l < /tmp/sagafs-cat-$$-1; rm -f /tmp/sagafs-cat-$$-*",
    );
    assert_eq!(out.trim(), "2000");
}

#[test]
fn a_file_name_cannot_forge_a_line_or_a_field() {
    let mut m = mount("");
    let evil: &[u8] =
        b"/tmp/x\n2026-11-21T22:30:01.000000000Z cpu=0 seq=1 pid=1 comm=init syscall=openat path=\"/etc/shadow\" = 3";
    m.inject(3, evil);
    let log = m.read("log");
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(!log.contains("\"/etc/shadow\""), "{log}");
    for l in log.lines() {
        let path = l.split(' ').find_map(|f| f.strip_prefix("path=")).unwrap();
        let inner = path.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
        assert_eq!(
            sagafs::format::escape::unescape(inner.as_bytes()).unwrap(),
            evil
        );
    }
    // JSON keeps the exact bytes.
    let p = m.ok("jq -r '.paths[0].path' log.json | head -n 2");
    assert!(p.starts_with("/tmp/x\n2026-11-21"), "{p}");
}

#[test]
fn records_evicted_unread_show_as_a_gap_at_the_top() {
    let mut m = mount("retain=1M");
    let mut injected = 0;
    for _ in 0..120 {
        let out = m.inject(100, b"/evict");
        assert!(out.iter().all(|o| matches!(o, Outcome::Logged { .. })));
        injected += 100;
    }
    let log = m.read("log");
    let evicted = dropped_sum(&log, "evicted");
    assert!(evicted > 0, "nothing evicted with retain=1M");
    let first_record = log.lines().position(|l| l.contains(" syscall=")).unwrap();
    assert!(log
        .lines()
        .take(first_record)
        .all(|l| l.ends_with(" reason=evicted")));
    assert_eq!(evicted + record_lines(&log) as u64, injected);
    // Once read, nothing more is reported evicted until new records go.
    let again = m.read("log");
    assert_eq!(dropped_sum(&again, "evicted"), evicted);
    let stats = m.read("stats.json");
    let v: serde_json::Value = serde_json::from_str(stats.trim()).unwrap();
    assert!(
        v.to_string().contains(&format!("\"evicted\":{evicted}")),
        "{v}"
    );
}

#[test]
fn ring_drops_show_as_ring_full_lines_with_exact_counts() {
    // One CPU, the smallest ring: a burst overflows it before the
    // collector drains.
    let mut m = mount_with("", DeviceDouble::new(1, 32));
    let recs: Vec<_> = (0..3000).map(|_| m.rec(0, b"/burst")).collect();
    let out = m.dev.inject_many(recs);
    let dropped = out
        .iter()
        .filter(|o| matches!(o, Outcome::Dropped { .. }))
        .count() as u64;
    let logged = out.len() as u64 - dropped;
    assert!(dropped > 0, "the burst did not overflow the ring");
    fuse_support::wait_for("every record and loss", || {
        let log = m.read("log");
        record_lines(&log) as u64 == logged && dropped_sum(&log, "ring_full") == dropped
    });
    let log = m.read("log");
    assert_eq!(
        record_lines(&log) as u64 + dropped_sum(&log, "ring_full"),
        3000
    );
    let j = m.ok("jq -s '[.[] | select(.reason == \"ring_full\") | .dropped] | add' log.json");
    assert_eq!(j.trim(), dropped.to_string());
}
