//! The journal output against a socket double that speaks journald's
//! side of the native protocol (datagrams and memfds).

use std::collections::BTreeMap;
use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

use super::*;
use crate::output::batch::tests::{rec, rec_fields, view};
use crate::output::file::tests::tempdir;
use crate::output::Output;
use crate::record::{Builder as Rec, PathSpec};

/// One entry's fields (the last value of a repeated name wins).
pub(crate) type Fields = BTreeMap<String, Vec<u8>>;

/// Parses the native protocol, as journald does.
pub(crate) fn parse(mut b: &[u8]) -> Fields {
    let mut f = Fields::new();
    while !b.is_empty() {
        let nl = b
            .iter()
            .position(|&c| c == b'\n')
            .expect("a field ends in a newline");
        let line = &b[..nl];
        if let Some(eq) = line.iter().position(|&c| c == b'=') {
            f.insert(
                String::from_utf8(line[..eq].to_vec()).unwrap(),
                line[eq + 1..].to_vec(),
            );
            b = &b[nl + 1..];
        } else {
            let name = String::from_utf8(line.to_vec()).unwrap();
            let len = u64::from_le_bytes(b[nl + 1..nl + 9].try_into().unwrap()) as usize;
            let start = nl + 9;
            f.insert(name, b[start..start + len].to_vec());
            assert_eq!(b[start + len], b'\n');
            b = &b[start + len + 1..];
        }
    }
    f
}

/// journald's side: a bound datagram socket.
pub(crate) struct Double {
    sock: UnixDatagram,
    /// Entries that came through a memfd.
    pub memfds: usize,
}

impl Double {
    pub(crate) fn bind(path: &Path) -> Double {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Double { sock, memfds: 0 }
    }

    /// The next entry, from a datagram or a memfd.
    pub(crate) fn recv(&mut self) -> Fields {
        let mut buf = vec![0u8; 1 << 20];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (n, fds) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let m = recvmsg::<UnixAddr>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            )
            .expect("an entry within 10 s");
            let mut fds = Vec::new();
            for c in m.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(v) = c {
                    fds.extend(v);
                }
            }
            (m.bytes, fds)
        };
        if let Some(&fd) = fds.first() {
            assert_eq!(n, 0, "a memfd comes alone");
            let data = std::fs::read(format!("/proc/self/fd/{fd}")).unwrap();
            for fd in fds {
                nix::unistd::close(fd).unwrap();
            }
            self.memfds += 1;
            return parse(&data);
        }
        parse(&buf[..n])
    }
}

fn batch(records: &[Vec<u8>]) -> Arc<Batch> {
    let mut b = Builder::default();
    for r in records {
        b.record(r).unwrap();
    }
    b.finish()
}

#[test]
fn fields_plain_and_binary() {
    let mut v = Vec::new();
    field(&mut v, "A", b"x y");
    field(&mut v, "B", b"two\nlines");
    assert_eq!(v, b"A=x y\nB\n\x09\0\0\0\0\0\0\0two\nlines\n");
    let f = parse(&v);
    assert_eq!(f["B"], b"two\nlines");
}

#[test]
fn an_entry_has_every_field() {
    let mut r = Rec::sample();
    r.loginuid = 1000;
    r.paths[1] = Some(PathSpec {
        fault: true,
        ..PathSpec::new(b"new\nname")
    });
    let bytes = r.encode();
    let r = view(&bytes);
    let (mut out, mut line) = (Vec::new(), Vec::new());
    write_entry(&mut out, &mut line, &Entry::Record(r));
    let f = parse(&out);
    let s = |k: &str| String::from_utf8(f[k].clone()).unwrap();
    let mut want_line = Vec::new();
    Format::Text.record(&mut want_line, &r);
    assert_eq!(f["MESSAGE"], want_line[..want_line.len() - 1]);
    assert_eq!(s("PRIORITY"), "6");
    assert_eq!(s("SYSLOG_IDENTIFIER"), "sagafs");
    assert_eq!(s("SAGAFS_SYSCALL"), "openat");
    assert_eq!(s("SAGAFS_ABI"), "x86_64");
    assert_eq!(s("SAGAFS_NR"), "257");
    assert_eq!(s("SAGAFS_PID"), "100");
    assert_eq!(s("SAGAFS_TID"), "101");
    assert_eq!(s("SAGAFS_PPID"), "1");
    assert_eq!(s("SAGAFS_UID"), "1000");
    assert_eq!(s("SAGAFS_EUID"), "1000");
    assert_eq!(s("SAGAFS_AUID"), "1000");
    assert_eq!(s("SAGAFS_COMM"), "cat");
    assert_eq!(s("SAGAFS_SEQ"), "42");
    assert_eq!(s("SAGAFS_CPU"), "1");
    assert_eq!(s("SAGAFS_RESULT"), "-2");
    assert_eq!(s("SAGAFS_ERRNO"), "ENOENT");
    assert_eq!(s("SAGAFS_ARGS"), "0xffffff9c,0x7fff0000,0x0,0x0,0x0,0x0");
    assert_eq!(f["SAGAFS_PATH0"], b"/etc/pass\nwd");
    assert_eq!(s("SAGAFS_PATH0_TRUNCATED"), "1");
    assert_eq!(f["SAGAFS_PATH1"], b"new\nname");
    assert_eq!(s("SAGAFS_PATH1_UNREADABLE"), "1");
    assert!(!f.contains_key("SAGAFS_NORETURN"));
    assert_eq!(s("SAGAFS_TIME_NS"), "1700000000123456789");

    out.clear();
    let lost = Entry::Lost {
        time_ns: 1,
        cpu: 2,
        count: 3,
        reason: DropReason::RingFull,
    };
    write_entry(&mut out, &mut line, &lost);
    let f = parse(&out);
    assert_eq!(f["PRIORITY"], b"4");
    assert_eq!(f["SAGAFS_DROPPED"], b"3");
    assert_eq!(f["SAGAFS_DROP_REASON"], b"ring_full");
    assert!(String::from_utf8(f["MESSAGE"].clone())
        .unwrap()
        .ends_with("cpu=2 dropped=3 reason=ring_full"));
}

#[test]
fn delivers_to_a_socket_and_uses_a_memfd_for_large_entries() {
    let d = tempdir("journal");
    let path = d.join("socket");
    let mut j = Double::bind(&path);
    let mut records: Vec<Vec<u8>> = (0..20).map(|i| rec(0, i, 10)).collect();
    // Two paths of 4000 bytes: past a 4 KiB send buffer.
    let mut big = rec_fields(0, 7, 10);
    big.paths = [
        Some(PathSpec {
            truncated: true,
            ..PathSpec::new(&[b'p'; 4000])
        }),
        Some(PathSpec::new(&[b'q'; 4000])),
    ];
    records[7] = big.encode();
    let sink = JournalSink::with_send_buffer(
        JournalConfig {
            socket: path.clone(),
        },
        4096,
    );
    let o = Output::spawn("journal", Box::new(sink), 1 << 20).unwrap();
    o.offer(&batch(&records));
    for (i, r) in records.iter().enumerate() {
        let f = j.recv();
        assert_eq!(
            f["SAGAFS_SEQ"],
            view(r).seq.to_string().as_bytes(),
            "entry {i}"
        );
        if i == 7 {
            assert_eq!(f["SAGAFS_PATH1"], vec![b'q'; 4000]);
        }
    }
    assert_eq!(j.memfds, 1);
    assert!(o.wait_idle(Duration::from_secs(5)));
    let st = o.stop();
    assert_eq!((st.sent, st.dropped()), (20, 0));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn waits_for_an_absent_journal_and_delivers_in_order() {
    let d = tempdir("journal-absent");
    let path = d.join("socket");
    let o = Output::spawn(
        "journal",
        Box::new(JournalSink::new(JournalConfig {
            socket: path.clone(),
        })),
        1 << 20,
    )
    .unwrap();
    let records: Vec<Vec<u8>> = (0..30).map(|i| rec(1, i, 3)).collect();
    o.offer(&batch(&records[..10]));
    let t0 = Instant::now();
    while o.status().state != State::Retrying {
        assert!(t0.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    o.offer(&batch(&records[10..]));
    let st = o.status();
    assert_eq!(st.sent, 0);
    assert!(st.last_error.unwrap().1.contains("retrying"));
    // journald comes up: everything arrives, in order, on the next try.
    let mut j = Double::bind(&path);
    for r in &records {
        assert_eq!(j.recv()["SAGAFS_SEQ"], view(r).seq.to_string().as_bytes());
    }
    assert!(o.wait_idle(Duration::from_secs(5)));
    let st = o.stop();
    assert_eq!((st.sent, st.dropped()), (30, 0));
    std::fs::remove_dir_all(&d).unwrap();
}
