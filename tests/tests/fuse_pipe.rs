//! Host FUSE tests of the live stream `pipe`: poll and O_NONBLOCK, fan-out
//! to several readers, the reader-behind gap line, and prompt returns on
//! signals while a read waits.

mod fuse_support;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fuse_support::{dropped_sum, mount, record_lines, wait_for};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn poll_in(f: &std::fs::File, ms: u16) -> bool {
    let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
    let n = poll(&mut fds, PollTimeout::from(ms)).unwrap();
    n > 0 && fds[0].revents().unwrap().contains(PollFlags::POLLIN)
}

#[test]
fn pipe_under_poll_and_nonblocking_reads() {
    let mut m = mount("");
    m.inject(3, b"/before-open");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(m.path("pipe"))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let e = f.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    assert!(!poll_in(&f, 200), "poll said ready with nothing new");

    // Data from another thread wakes the poll.
    let dev = m.dev.clone();
    let recs: Vec<_> = (0..4).map(|i| m.rec(i % 2, b"/after-open")).collect();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        dev.inject_many(recs);
    });
    let start = Instant::now();
    assert!(poll_in(&f, 10_000), "poll never woke");
    assert!(start.elapsed() >= Duration::from_millis(250));
    t.join().unwrap();

    let mut got = String::new();
    let end = Instant::now() + Duration::from_secs(10);
    while got.lines().count() < 4 {
        assert!(Instant::now() < end, "only got {got}");
        if poll_in(&f, 1000) {
            match f.read(&mut buf) {
                Ok(n) => got.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
            }
        }
    }
    assert_eq!(got.lines().count(), 4, "{got}");
    assert!(got.lines().all(|l| l.contains("\"/after-open\"")), "{got}");
    assert_eq!(
        f.read(&mut buf).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn every_reader_gets_every_record_and_ctrl_c_returns() {
    let mut m = mount("");
    let before = m.tree.open_handles();
    let mut cats: Vec<_> = (0..3)
        .map(|_| {
            Command::new("cat")
                .arg(m.path("pipe"))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    wait_for("the readers to open", || {
        m.tree.open_handles() >= before + 3
    });
    m.inject(50, b"/fanout");
    let (tx, rx) = mpsc::channel();
    for (i, c) in cats.iter_mut().enumerate() {
        let out = c.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut lines = Vec::new();
            for _ in 0..50 {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap() == 0 {
                    break;
                }
                lines.push(l);
            }
            tx.send((i, lines)).unwrap();
        });
    }
    for _ in 0..3 {
        let (i, lines) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(lines.len(), 50, "reader {i}");
        assert!(lines.iter().all(|l| l.contains("\"/fanout\"")));
    }
    // The readers now wait for more; Ctrl-C ends them at once.
    let start = Instant::now();
    for c in &cats {
        kill(Pid::from_raw(c.id() as i32), Signal::SIGINT).unwrap();
    }
    for c in &mut cats {
        let st = c.wait().unwrap();
        assert!(!st.success());
    }
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    wait_for("the handles to close", || m.tree.open_handles() == before);
}

#[test]
fn a_signal_handled_by_the_reader_interrupts_a_waiting_read() {
    // Python turns SIGINT into KeyboardInterrupt only once read() returns:
    // this only ends if the daemon answers the waiting read with EINTR.
    let m = mount("");
    let before = m.tree.open_handles();
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys\nf = open(sys.argv[1], 'rb', buffering=0)\n\
             try:\n    f.read(4096)\nexcept KeyboardInterrupt:\n    sys.exit(42)\nsys.exit(1)\n",
        )
        .arg(m.path("pipe"))
        .spawn()
        .unwrap();
    wait_for("python to open the pipe", || m.tree.open_handles() > before);
    wait_for("the read to wait", || m.daemon.blocked.waiting() > 0);
    let start = Instant::now();
    kill(Pid::from_raw(py.id() as i32), Signal::SIGINT).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let st = loop {
        if let Some(st) = py.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = py.kill();
            panic!("the waiting read was not interrupted");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(st.code(), Some(42));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_reader_that_falls_behind_gets_a_gap_line() {
    let mut m = mount("retain=1M");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(m.path("pipe"))
        .unwrap();
    let mut injected = 0u64;
    for _ in 0..120 {
        m.inject(100, b"/flood");
        injected += 100;
    }
    let mut text = Vec::new();
    let mut buf = vec![0u8; 1 << 17];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    let text = String::from_utf8(text).unwrap();
    let behind = dropped_sum(&text, "reader_behind");
    assert!(behind > 0, "no gap reported");
    assert!(text
        .lines()
        .next()
        .unwrap()
        .ends_with(" reason=reader_behind"));
    assert_eq!(behind + record_lines(&text) as u64, injected);
    let stats = m.read("stats.json");
    assert!(
        stats.contains(&format!("\"reader_behind\":{behind}")),
        "{stats}"
    );
}
