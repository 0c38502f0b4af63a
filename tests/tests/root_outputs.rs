//! The outputs against the real things, on the host, as root: a private
//! rsyslogd (TCP, TLS, RELP) on a loopback port, including a collector
//! restart in the middle of a marked workload; a journald in a namespace
//! of its own; a file system that fills up. `make test` runs this target
//! as root; it fails, never skips, when something it needs is missing.
//!
//! `cargo test -p sagafs-tests --test root_outputs -- --nocapture` also
//! prints the throughput of each output (`throughput_*`).

mod outputs_support;

use std::collections::BTreeSet;
use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use outputs_support::*;
use sagafs::format::Format;
use sagafs::output::file::{self, DiskFull, FileConfig, FileSink, Flush};
use sagafs::output::journal::{JournalConfig, JournalSink};
use sagafs::output::syslog::conn::TlsConfig;
use sagafs::output::syslog::{Protocol, SyslogConfig, SyslogSink};
use sagafs::output::{Entry, Output, State, Status};

fn syslog(addr: &str, protocol: Protocol, spool: &std::path::Path) -> SyslogConfig {
    let mut c = SyslogConfig::new(addr, protocol);
    c.spool_dir = spool.to_path_buf();
    c.hostname = Some("sagafs-test".into());
    c.timeout = Duration::from_secs(5);
    c
}

fn tls(addr: &str, ca: &std::path::Path, name: &str, spool: &std::path::Path) -> SyslogConfig {
    let mut c = syslog(addr, Protocol::Tcp, spool);
    c.tls = Some(TlsConfig {
        ca_file: Some(ca.to_path_buf()),
        server_name: Some(name.into()),
        client_cert: None,
    });
    c
}

fn spawn_syslog(c: SyslogConfig) -> Output {
    let sink = SyslogSink::new(c)
        .unwrap()
        .with_backoff(sagafs::output::backoff::Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(500),
        ));
    Output::spawn("remote", Box::new(sink), 64 << 20).unwrap()
}

/// Offers `total` marked records in batches of `per` every `gap`,
/// calling `midway` once half are out.
fn feed(o: &Output, total: u64, per: u64, gap: Duration, mut midway: impl FnMut()) {
    let mut s = 0;
    let mut called = false;
    while s < total {
        let n = per.min(total - s);
        o.offer(&batch(s, n));
        s += n;
        if !called && s >= total / 2 {
            midway();
            called = true;
        }
        std::thread::sleep(gap);
    }
}

fn all_marked(total: u64) -> BTreeSet<u64> {
    (0..total).collect()
}

#[test]
fn tcp_to_rsyslog_carries_every_field() {
    require(&["rsyslogd"]);
    let d = tempdir("tcp");
    let mut rs = Rsyslog::start(&d, Listen::Tcp);
    let o = spawn_syslog(syslog(
        &format!("127.0.0.1:{}", rs.port),
        Protocol::Tcp,
        &d.join("spool"),
    ));
    o.offer(&batch(0, 500));
    wait_for("500 records at rsyslog", Duration::from_secs(20), || {
        rs.marked_seqs().0.len() == 500
    });
    let st = o.stop();
    rs.stop();
    assert_eq!(
        (st.sent, st.dropped(), st.unacknowledged, st.spooled),
        (500, 0, 0, 0)
    );
    assert_eq!(st.kind, "tcp");
    let lines = rs.lines();
    let l = lines.iter().find(|l| l.contains(" seq=\"7\"")).unwrap();
    // MSGID, then the structured data rsyslog parsed, then the log line.
    assert!(l.starts_with("openat [sagafs@32473 "), "{l}");
    for p in [
        " pid=\"4242\"",
        " uid=\"1000\"",
        " euid=\"0\"",
        " auid=\"1000\"",
        " comm=\"marker\"",
        " syscall=\"openat\"",
        " path0=\"/marked/7\"",
        " ret=\"3\"",
    ] {
        assert!(l.contains(p), "{p} missing in {l}");
    }
    assert!(
        l.contains("] 2026-11-21T22:30:01.000000007Z cpu=1 seq=7 pid=4242 "),
        "{l}"
    );
    assert_eq!(rs.marked_seqs().1, 500, "each once");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn tls_to_rsyslog_checks_the_certificate() {
    require(&["rsyslogd", "openssl"]);
    let d = tempdir("tls");
    make_certs(&d);
    let mut rs = Rsyslog::start(&d, Listen::Tls);
    let addr = format!("127.0.0.1:{}", rs.port);

    // A CA that did not sign the server's certificate, then the right CA
    // with the wrong name: refused, spooled, said why.
    for (i, (ca, name, why)) in [
        ("other-ca.pem", "localhost", "invalid peer certificate"),
        ("ca.pem", "logs.example.com", "not valid for name"),
    ]
    .into_iter()
    .enumerate()
    {
        let bad = spawn_syslog(tls(&addr, &d.join(ca), name, &d.join(format!("spool-{i}"))));
        bad.offer(&batch(1000, 10));
        wait_for("the refusal", Duration::from_secs(20), || {
            bad.status().last_error.is_some()
        });
        let st = bad.stop();
        assert_eq!((st.sent, st.spooled), (0, 10));
        let err = st.last_error.unwrap().1;
        assert!(err.contains(why), "{err}");
    }

    // The right CA and name.
    let o = spawn_syslog(tls(&addr, &d.join("ca.pem"), "localhost", &d.join("spool")));
    o.offer(&batch(0, 300));
    wait_for("300 records at rsyslog", Duration::from_secs(20), || {
        rs.marked_seqs().0.len() == 300
    });
    let st = o.stop();
    rs.stop();
    assert_eq!((st.kind.as_str(), st.sent, st.dropped()), ("tls", 300, 0));
    assert_eq!(rs.marked_seqs().0, all_marked(300));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn relp_over_tls_to_rsyslog() {
    require(&["rsyslogd", "openssl"]);
    let d = tempdir("relp-tls");
    make_certs(&d);
    let mut rs = Rsyslog::start(&d, Listen::RelpTls);
    let mut c = tls(
        &format!("127.0.0.1:{}", rs.port),
        &d.join("ca.pem"),
        "localhost",
        &d.join("spool"),
    );
    c.protocol = Protocol::Relp;
    // imrelp over TLS wants a certificate from its clients too.
    if let Some(t) = c.tls.as_mut() {
        t.client_cert = Some((d.join("client.pem"), d.join("client.key")));
    }
    let o = spawn_syslog(c);
    o.offer(&batch(0, 300));
    wait_for("300 acknowledgements", Duration::from_secs(30), || {
        o.status().acked == 300
    });
    let st = o.stop();
    rs.stop();
    assert_eq!(
        (st.kind.as_str(), st.sent, st.acked, st.dropped()),
        ("relp+tls", 300, 300, 0)
    );
    assert_eq!(rs.marked_seqs().0, all_marked(300));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn relp_loses_nothing_to_a_collector_restart() {
    require(&["rsyslogd"]);
    assert!(
        std::path::Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so").exists(),
        "rsyslog-relp is missing: run tests/deps.sh (make deps)"
    );
    let d = tempdir("relp");
    let mut rs = Rsyslog::start(&d, Listen::Relp);
    let o = spawn_syslog(syslog(
        &format!("127.0.0.1:{}", rs.port),
        Protocol::Relp,
        &d.join("spool"),
    ));
    let total = 3000;
    let mut down = Duration::ZERO;
    feed(&o, total, 50, Duration::from_millis(40), || {
        // The collector stops in the middle and is down for 3 s.
        rs.stop();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        rs.restart();
        down = t.elapsed();
    });
    wait_for("every record at rsyslog", Duration::from_secs(60), || {
        rs.marked_seqs().0.len() as u64 == total
    });
    let st = o.stop();
    rs.stop();
    let (seqs, lines) = rs.marked_seqs();
    println!(
        "relp restart: {total} marked, collector down {down:?}, received {} ({} lines), \
         sent {} acked {} spooled {} dropped {}",
        seqs.len(),
        lines,
        st.sent,
        st.acked,
        st.spooled,
        st.dropped()
    );
    assert_eq!(seqs, all_marked(total));
    assert_eq!((st.dropped(), st.spooled, st.unacknowledged), (0, 0, 0));
    assert_eq!(st.acked, st.sent, "everything sent was acknowledged");
    assert!(st.acked >= total);
    assert!(o_error_mentions(&st, "relp output"), "{:?}", st.last_error);
    fs::remove_dir_all(&d).unwrap();
}

fn o_error_mentions(st: &Status, what: &str) -> bool {
    st.last_error
        .as_ref()
        .is_some_and(|(_, m)| m.contains(what))
}

#[test]
fn tcp_counts_what_a_collector_kill_may_have_lost() {
    require(&["rsyslogd"]);
    let d = tempdir("tcp-kill");
    let mut rs = Rsyslog::start(&d, Listen::Tcp);
    let o = spawn_syslog(syslog(
        &format!("127.0.0.1:{}", rs.port),
        Protocol::Tcp,
        &d.join("spool"),
    ));
    let total = 3000;
    feed(&o, total, 50, Duration::from_millis(40), || {
        rs.stop_with(Signal::SIGKILL);
        std::thread::sleep(Duration::from_secs(3));
        rs.restart();
    });
    wait_for("the spool to drain", Duration::from_secs(60), || {
        let s = o.status();
        s.spooled == 0 && s.state == State::Connected && s.sent >= total
    });
    // The notice is sent first after reconnecting; give rsyslog a moment.
    wait_for("the notice", Duration::from_secs(10), || {
        rs.lost("unacknowledged") == o.status().unacknowledged
    });
    let st = o.stop();
    rs.stop();
    let (seqs, _) = rs.marked_seqs();
    let missing = total - seqs.len() as u64;
    println!(
        "tcp kill: {total} marked, received {}, missing {missing}, counted unacknowledged {}",
        seqs.len(),
        st.unacknowledged
    );
    assert!(st.unacknowledged > 0, "the break was noticed and counted");
    assert!(
        missing <= st.unacknowledged,
        "{missing} records missing, only {} counted",
        st.unacknowledged
    );
    assert_eq!(
        rs.lost("unacknowledged"),
        st.unacknowledged,
        "the collector was told"
    );
    assert_eq!(st.dropped(), 0);
    // What was written after the break arrived.
    assert!(seqs.contains(&(total - 1)));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn journald_gets_one_entry_per_record_with_fields() {
    require(&["journalctl"]);
    let j = Journald::start();
    let o = Output::spawn(
        "journal",
        Box::new(JournalSink::new(JournalConfig { socket: j.socket() })),
        16 << 20,
    )
    .unwrap();
    let total = 400;
    o.offer(&batch(0, total));
    wait_for("the entries", Duration::from_secs(30), || {
        j.query(&["-t", "sagafs", "SAGAFS_SYSCALL=openat"]).len() as u64 == total
    });
    let st = o.stop();
    assert_eq!(
        (st.sent, st.dropped(), st.state),
        (total, 0, State::Stopped)
    );
    let entries = j.query(&["-t", "sagafs", "SAGAFS_SYSCALL=openat", "SAGAFS_PID=4242"]);
    let seqs: BTreeSet<u64> = entries
        .iter()
        .map(|e| e["SAGAFS_SEQ"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, all_marked(total));
    let e = j.query(&["SAGAFS_PATH0=/marked/17"]);
    assert_eq!(e.len(), 1);
    let e = &e[0];
    assert_eq!(e["SYSLOG_IDENTIFIER"], "sagafs");
    assert_eq!(e["PRIORITY"], "6");
    assert_eq!(e["SAGAFS_COMM"], "marker");
    assert_eq!(e["SAGAFS_EUID"], "0");
    assert_eq!(e["SAGAFS_RESULT"], "3");
    assert!(e["MESSAGE"].as_str().unwrap().contains(" seq=17 "));
}

/// Writes marked records in small batches until `done` says stop.
fn fill(o: &Output, mut next: u64, mut done: impl FnMut(&Status) -> bool) -> u64 {
    let t0 = Instant::now();
    loop {
        o.offer(&batch(next, 20));
        next += 20;
        assert!(o.wait_idle(Duration::from_secs(10)));
        if done(&o.status()) {
            return next;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "never happened: {:?}",
            o.status()
        );
    }
}

fn disk_full_config(dir: &std::path::Path, action: DiskFull) -> FileConfig {
    FileConfig {
        dir: dir.to_path_buf(),
        format: Format::Text,
        max_file_bytes: 32 << 10,
        num_logs: 100,
        flush: Flush::Every,
        disk_full: action,
        group: None,
    }
}

#[test]
fn a_full_disk_stops_writing_counts_and_resumes() {
    require(&["mount", "umount"]);
    let fs_ = SmallFs::mount("256k");
    let dir = fs_.dir.join("log");
    let o = Output::spawn(
        "file",
        Box::new(FileSink::new(disk_full_config(&dir, DiskFull::Stop))),
        1 << 20,
    )
    .unwrap();
    let sent = fill(&o, 0, |s| s.state == State::DiskFull);
    // More records while the disk is full: counted, not written.
    let next = fill(&o, sent, |s| s.dropped_disk_full >= 200);
    let st = o.status();
    assert_eq!(st.sent + st.dropped_disk_full, next);
    assert!(st.last_error.as_ref().unwrap().1.contains("disk full"));
    // The administrator frees space: writing resumes within a second,
    // and the log says what is missing and why.
    for g in 1..=3 {
        for base in [file::TEXT_NAME, file::REC_NAME] {
            let _ = fs::remove_file(dir.join(format!("{base}.{g}")));
        }
    }
    std::thread::sleep(Duration::from_millis(1100));
    let end = fill(&o, next, |s| s.state == State::Writing);
    let st = o.stop();
    assert_eq!(st.sent + st.dropped_disk_full, end);
    let mut notices = 0;
    let mut records = 0u64;
    let rb = file::read_back(&dir, None, |e, _| match e {
        Entry::Lost { count, reason, .. } => {
            assert_eq!(reason, sagafs::format::DropReason::DiskFull);
            notices += count;
        }
        Entry::Record(_) => records += 1,
    })
    .unwrap();
    assert!(rb.problems.is_empty(), "{:?}", rb.problems);
    assert_eq!(
        notices, st.dropped_disk_full,
        "the notice counts every record not written"
    );
    let text = fs::read_to_string(dir.join(file::TEXT_NAME)).unwrap();
    assert!(text.contains(" reason=disk_full\n"));
    println!(
        "disk full (stop): {end} records, written {}, not written and counted {}",
        st.sent, st.dropped_disk_full
    );
    assert!(records > 0);
}

#[test]
fn a_full_disk_removes_the_oldest_and_goes_on() {
    require(&["mount", "umount"]);
    let fs_ = SmallFs::mount("256k");
    let dir = fs_.dir.join("log");
    let o = Output::spawn(
        "file",
        Box::new(FileSink::new(disk_full_config(
            &dir,
            DiskFull::RemoveOldest,
        ))),
        1 << 20,
    )
    .unwrap();
    let end = fill(&o, 0, |s| {
        s.last_error
            .as_ref()
            .is_some_and(|(_, m)| m.contains("removed generation"))
            && s.sent > 3000
    });
    let st = o.stop();
    assert_eq!((st.sent, st.dropped()), (end, 0));
    assert_ne!(st.state, State::DiskFull);
    // What is kept is the newest, in order, without a gap.
    let mut seqs = Vec::new();
    file::read_back(&dir, None, |e, _| {
        if let Entry::Record(r) = e {
            seqs.push(r.seq);
        }
    })
    .unwrap();
    assert_eq!(*seqs.last().unwrap(), end - 1);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(seqs[0] > 0, "old generations went");
}

/// CPU time of this process (every thread), from /proc.
fn cpu_time() -> Duration {
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th fields, in clock ticks.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as u64;
    Duration::from_micros((f[0] + f[1]) * 1_000_000 / hz)
}

/// Wall-clock rate, and the CPU time this process spent per record (the
/// collector's own work, in rsyslogd or journald, not included).
fn rate(n: u64, (wall, cpu): (Duration, Duration)) -> String {
    format!(
        "{:.0} records/s, {:.2} us CPU per record",
        n as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64
    )
}

/// Offers `total` records in batches of 256 and waits until `done`:
/// the wall-clock and CPU time it took.
fn throughput(o: &Output, total: u64, done: impl Fn(&Status) -> bool) -> (Duration, Duration) {
    let batches: Vec<Arc<sagafs::output::Batch>> =
        (0..total / 256).map(|i| batch(i * 256, 256)).collect();
    let (t0, c0) = (Instant::now(), cpu_time());
    for b in &batches {
        o.offer(b);
    }
    wait_for("delivery", Duration::from_secs(300), || done(&o.status()));
    (t0.elapsed(), cpu_time() - c0)
}

#[test]
fn throughput_of_each_output() {
    require(&["rsyslogd", "journalctl"]);
    let total = 200 * 256;
    let mut report = Vec::new();
    for format in [Format::Text, Format::Json] {
        let d = tempdir("bench-file");
        let c = FileConfig {
            dir: d.clone(),
            format,
            flush: Flush::None,
            ..FileConfig::default()
        };
        let o = Output::spawn("file", Box::new(FileSink::new(c)), 1 << 30).unwrap();
        let t = throughput(&o, total, |s| s.sent == total);
        report.push(format!("file ({format:?}, flush none): {}", rate(total, t)));
        assert_eq!(o.stop().dropped(), 0);
        fs::remove_dir_all(&d).unwrap();
    }
    {
        let j = Journald::start();
        let o = Output::spawn(
            "journal",
            Box::new(JournalSink::new(JournalConfig { socket: j.socket() })),
            1 << 30,
        )
        .unwrap();
        let n = 20 * 256;
        let t = throughput(&o, n, |s| s.sent == n);
        report.push(format!("journal (datagrams written): {}", rate(n, t)));
        assert_eq!(o.stop().dropped(), 0);
    }
    {
        // The output's own cost: a collector that reads and discards.
        let d = tempdir("bench-discard");
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            std::io::copy(&mut s, &mut std::io::sink()).unwrap()
        });
        let o = spawn_syslog(syslog(
            &format!("127.0.0.1:{port}"),
            Protocol::Tcp,
            &d.join("spool"),
        ));
        let t = throughput(&o, total, |s| s.sent == total);
        report.push(format!(
            "tcp to a discarding reader (written): {}",
            rate(total, t)
        ));
        assert_eq!(o.stop().dropped(), 0);
        assert!(
            reader.join().unwrap() > total * 300,
            "every message was read"
        );
        fs::remove_dir_all(&d).unwrap();
    }
    for (listen, proto) in [(Listen::Tcp, Protocol::Tcp), (Listen::Relp, Protocol::Relp)] {
        let d = tempdir("bench-syslog");
        let mut rs = Rsyslog::start(&d, listen);
        let o = spawn_syslog(syslog(
            &format!("127.0.0.1:{}", rs.port),
            proto,
            &d.join("spool"),
        ));
        let t = throughput(&o, total, |s| {
            if proto == Protocol::Relp {
                s.acked == total
            } else {
                s.sent == total
            }
        });
        report.push(format!(
            "{} to a local rsyslogd ({}): {}",
            o.status().kind,
            if proto == Protocol::Relp {
                "acknowledged"
            } else {
                "written"
            },
            rate(total, t)
        ));
        assert_eq!(o.stop().dropped(), 0);
        rs.stop();
        fs::remove_dir_all(&d).unwrap();
    }
    for r in &report {
        println!("throughput: {r}");
    }
}
