//! The remote output against a TCP double on loopback: spooling while the
//! collector is down, draining in order when it comes, and the counting
//! of a broken plain TCP connection. RELP, TLS and the real rsyslog are
//! tested in the `outputs_live` target.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::output::batch::tests::rec;
use crate::output::file::tests::tempdir;
use crate::output::Output;

/// Reads one octet-counted message.
fn read_msg(r: &mut BufReader<TcpStream>) -> Option<String> {
    let mut len = Vec::new();
    if r.read_until(b' ', &mut len).ok()? == 0 {
        return None;
    }
    len.pop();
    let n: usize = std::str::from_utf8(&len).ok()?.parse().ok()?;
    let mut msg = vec![0u8; n];
    r.read_exact(&mut msg).ok()?;
    Some(String::from_utf8(msg).unwrap())
}

fn seq_of(msg: &str) -> Option<u64> {
    let i = msg.find(" seq=\"")? + 6;
    msg[i..].split('"').next()?.parse().ok()
}

fn batch(from: u64, n: u64) -> Arc<Batch> {
    let mut b = Builder::default();
    for s in from..from + n {
        b.record(&rec((s % 2) as u32, s, 12)).unwrap();
    }
    b.finish()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn output(port: u16, spool: &std::path::Path) -> Output {
    let mut cfg = SyslogConfig::new(&format!("127.0.0.1:{port}"), Protocol::Tcp);
    cfg.spool_dir = spool.to_path_buf();
    cfg.hostname = Some("box".into());
    cfg.timeout = Duration::from_secs(2);
    let sink = SyslogSink::new(cfg).unwrap().with_backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
    ));
    Output::spawn("remote", Box::new(sink), 1 << 20).unwrap()
}

#[test]
fn spools_while_down_and_sends_in_order_when_up() {
    let d = tempdir("syslog-spool");
    let port = free_port();
    let o = output(port, &d);
    o.offer(&batch(0, 40));
    wait_for("spooling", || o.status().spooled == 40);
    assert_eq!(o.status().state, State::Spooling);
    assert!(o.status().last_error.unwrap().1.contains("refused"));
    o.offer(&batch(40, 10));
    wait_for("spooling", || o.status().spooled == 50);

    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (s, _) = l.accept().unwrap();
    let mut r = BufReader::new(s);
    for want in 0..50 {
        let m = read_msg(&mut r).unwrap();
        assert!(m.starts_with("<134>1 "), "{m}");
        assert!(m.contains(" box sagafs "));
        assert_eq!(seq_of(&m), Some(want), "{m}");
    }
    wait_for("drained", || o.status().spooled == 0);
    // Connected and empty: the next batch goes straight out.
    o.offer(&batch(50, 5));
    for want in 50..55 {
        assert_eq!(seq_of(&read_msg(&mut r).unwrap()), Some(want));
    }
    let st = o.stop();
    assert_eq!((st.sent, st.dropped(), st.unacknowledged), (55, 0, 0));
    assert!(
        std::fs::read_dir(&d).unwrap().next().is_none(),
        "spool empty"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_broken_tcp_connection_is_counted_and_reported() {
    let d = tempdir("syslog-break");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let o = output(port, &d);
    let (s, _) = l.accept().unwrap();
    o.offer(&batch(0, 20));
    let mut r = BufReader::new(s);
    for want in 0..20 {
        assert_eq!(seq_of(&read_msg(&mut r).unwrap()), Some(want));
    }
    // The collector goes away with what it had read.
    drop(r);
    o.offer(&batch(20, 5));
    wait_for("the break", || o.status().last_error.is_some());
    let st = o.status();
    // Everything written on the broken connection may be lost: counted.
    assert_eq!(st.unacknowledged, 20);
    assert!(st.last_error.unwrap().1.contains("closed"));

    let (s, _) = l.accept().unwrap();
    let mut r = BufReader::new(s);
    // First the notice, per CPU, then what was not written.
    let mut lost = 0;
    let mut next = Vec::new();
    while next.len() < 5 {
        let m = read_msg(&mut r).unwrap();
        if m.contains(" dropped [sagafs@32473 ") {
            assert!(m.contains("reason=\"unacknowledged\""), "{m}");
            assert!(next.is_empty(), "the notice comes first");
            let i = m.find("dropped=\"").unwrap() + 9;
            lost += m[i..].split('"').next().unwrap().parse::<u64>().unwrap();
        } else {
            next.push(seq_of(&m).unwrap());
        }
    }
    assert_eq!(lost, 20);
    assert_eq!(next, (20..25).collect::<Vec<_>>());
    let st = o.stop();
    assert_eq!((st.sent, st.notices, st.spooled), (25, 2, 0));
    std::fs::remove_dir_all(&d).unwrap();
}

/// A RELP server double: answers `open`, then acknowledges the first
/// `ack` syslog frames of the connection and reads the rest; returns the
/// sequence numbers of the frames it received, acknowledged or not. With
/// `close_after`, it drops the connection once it has read that many.
fn relp_double(l: &TcpListener, ack: usize, close_after: Option<usize>) -> (Vec<u64>, Vec<u64>) {
    use std::io::Write;
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let (mut acked, mut unacked) = (Vec::new(), Vec::new());
    loop {
        // TXNR SP COMMAND SP LEN [SP DATA] LF
        let mut head = Vec::new();
        for _ in 0..2 {
            let mut f = Vec::new();
            if r.read_until(b' ', &mut f).unwrap_or(0) == 0 {
                return (acked, unacked);
            }
            head.push(String::from_utf8(f).unwrap().trim().to_string());
        }
        let (txnr, cmd) = (head[0].clone(), head[1].clone());
        // The length ends in a space before data, or in the trailer.
        let mut len = 0usize;
        let mut b = [0u8; 1];
        loop {
            r.read_exact(&mut b).unwrap();
            match b[0] {
                b'0'..=b'9' => len = len * 10 + usize::from(b[0] - b'0'),
                b' ' | b'\n' => break,
                c => panic!("bad length byte {c}"),
            }
        }
        let mut data = vec![0u8; if b[0] == b' ' { len + 1 } else { 0 }];
        r.read_exact(&mut data).unwrap();
        let data = String::from_utf8(data).unwrap();
        match cmd.as_str() {
            "open" => {
                assert!(data.contains("commands=syslog"), "{data}");
                let rsp = "200 OK\nrelp_version=0\nrelp_software=double\ncommands=syslog";
                writeln!(w, "{txnr} rsp {} {rsp}", rsp.len()).unwrap();
            }
            "syslog" => {
                let seq = seq_of(&data).unwrap();
                if acked.len() < ack {
                    acked.push(seq);
                    writeln!(w, "{txnr} rsp 6 200 OK").unwrap();
                } else {
                    unacked.push(seq);
                }
                if close_after.is_some_and(|n| acked.len() + unacked.len() >= n) {
                    return (acked, unacked);
                }
            }
            "close" => {
                writeln!(w, "{txnr} rsp 0").unwrap();
                return (acked, unacked);
            }
            other => panic!("unexpected command {other}"),
        }
    }
}

#[test]
fn relp_sends_again_what_was_not_acknowledged() {
    let d = tempdir("relp-double");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut cfg = SyslogConfig::new(&format!("127.0.0.1:{port}"), Protocol::Relp);
    cfg.spool_dir = d.clone();
    cfg.window = 8;
    cfg.timeout = Duration::from_secs(2);
    let sink = SyslogSink::new(cfg).unwrap().with_backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
    ));
    let o = Output::spawn("relp", Box::new(sink), 1 << 20).unwrap();
    o.offer(&batch(0, 30));
    // The first collector acknowledges 5 of the 8 frames in the window,
    // then goes away.
    let (acked, unacked) = relp_double(&l, 5, Some(8));
    assert_eq!(acked, (0..5).collect::<Vec<_>>());
    assert_eq!(unacked, (5..8).collect::<Vec<_>>());
    o.offer(&batch(30, 10));
    // The second gets everything not acknowledged, in order, and no more.
    let t = std::thread::spawn(move || relp_double(&l, usize::MAX, None));
    wait_for("every acknowledgement", || o.status().acked == 40);
    let st = o.stop();
    let (acked2, unacked2) = t.join().unwrap();
    assert_eq!(acked2, (5..40).collect::<Vec<_>>());
    assert!(unacked2.is_empty());
    assert_eq!(
        (st.sent, st.acked, st.spooled, st.dropped()),
        (40, 40, 0, 0)
    );
    assert_eq!(st.kind, "relp");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_full_spool_drops_the_oldest_and_says_so() {
    let d = tempdir("syslog-spool-full");
    let port = free_port();
    let mut cfg = SyslogConfig::new(&format!("127.0.0.1:{port}"), Protocol::Tcp);
    cfg.spool_dir = d.clone();
    cfg.spool_max_bytes = 16 << 10;
    let sink = SyslogSink::new(cfg).unwrap().with_backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
    ));
    let o = Output::spawn("remote", Box::new(sink), 1 << 20).unwrap();
    // About 64 KiB of records into a 16 KiB spool while nobody listens.
    for i in 0..40 {
        o.offer(&batch(i * 10, 10));
    }
    wait_for("the spool to overflow", || {
        let s = o.status();
        s.spooled + s.dropped_spool_full == 400
    });
    let st = o.status();
    assert!(st.dropped_spool_full > 0 && st.spooled > 0, "{st:?}");

    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (s, _) = l.accept().unwrap();
    let mut r = BufReader::new(s);
    let (mut lost, mut seqs) = (0, Vec::new());
    while seqs.len() as u64 + lost < 400 {
        let m = read_msg(&mut r).unwrap();
        if m.contains(" dropped [sagafs@32473 ") {
            assert!(m.contains("reason=\"spool_full\""), "{m}");
            assert!(seqs.is_empty(), "the notice comes first");
            let i = m.find("dropped=\"").unwrap() + 9;
            lost += m[i..].split('"').next().unwrap().parse::<u64>().unwrap();
        } else {
            seqs.push(seq_of(&m).unwrap());
        }
    }
    let st = o.stop();
    // The oldest went, the newest arrived in order, and the count says
    // how many are missing.
    assert_eq!(lost, st.dropped_spool_full);
    assert_eq!(seqs, (lost..400).collect::<Vec<_>>());
    assert_eq!((st.sent, st.spooled), (400 - lost, 0));
    std::fs::remove_dir_all(&d).unwrap();
}
