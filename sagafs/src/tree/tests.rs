//! Tree semantics against the device double, without FUSE.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::*;
use crate::abi;
use crate::config::Settings;
use crate::device::double::DeviceDouble;
use crate::device::Backend;
use crate::error::Error;
use crate::record::Builder;

const ROOT: Cred = Cred::ROOT;
const USER: Cred = Cred {
    uid: 1000,
    gid: 1000,
    pid: 0,
};

struct Fixture {
    dev: DeviceDouble,
    tree: Tree,
    t: u64,
}

fn fixture(opts: TreeOptions) -> Fixture {
    let dev = DeviceDouble::new(2, 32);
    let backend: Arc<dyn Backend> = Arc::new(dev.clone());
    let daemon = Daemon::start(backend, Settings::default()).unwrap();
    Fixture {
        dev,
        tree: Tree::new(daemon, opts),
        t: 1_795_300_201_000_000_000,
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Fixture {
    fn rec(&mut self, cpu: u32, path: &[u8]) -> Builder {
        self.t += 1000;
        let mut r = Builder::new(cpu, self.t);
        r.paths[0].as_mut().unwrap().bytes = path.to_vec();
        r
    }

    /// Injects and waits until the collector has published them.
    fn inject(&mut self, n: usize, path: &[u8]) {
        let before = self.tree.daemon().hub.retention.lock().next();
        for i in 0..n {
            let r = self.rec((i % 2) as u32, path);
            self.dev.inject(r);
        }
        let want = before + n as u64;
        wait_for("records to be collected", || {
            self.tree.daemon().hub.retention.lock().next() >= want
        });
    }

    fn read_sync(&self, fh: u64, off: u64, size: u32, flags: i32) -> Result<Vec<u8>, Errno> {
        let (tx, rx) = mpsc::channel();
        self.tree.read(
            fh,
            off,
            size,
            flags,
            0,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn read_all(&self, fh: u64) -> String {
        let mut out = Vec::new();
        loop {
            let d = self.read_sync(fh, out.len() as u64, 4096, 0).unwrap();
            if d.is_empty() {
                return String::from_utf8(out).unwrap();
            }
            out.extend_from_slice(&d);
        }
    }

    fn cat(&self, node: Node) -> String {
        let fh = self.tree.open(node.ino(), libc::O_RDONLY, &ROOT).unwrap();
        let s = self.read_all(fh);
        self.tree.release(fh).unwrap();
        s
    }

    fn write_config(&self, text: &str) -> Result<(), Errno> {
        self.write_config_why(text).map_err(|e| e.errno())
    }

    /// `write_config` with the reason of a refusal.
    fn write_config_why(&self, text: &str) -> Result<(), Error> {
        let fh = self.tree.open(Node::Config.ino(), libc::O_WRONLY, &ROOT)?;
        let w = self.tree.write(fh, text.as_bytes(), &ROOT).map(|_| ());
        let c = self.tree.release(fh);
        w.and(c)
    }
}

#[test]
fn directory_lists_exactly_the_files_and_unknown_names_are_enoent() {
    let f = fixture(TreeOptions::default());
    let names: Vec<&str> = f.tree.readdir(1).unwrap().iter().map(|e| e.2).collect();
    assert_eq!(
        names,
        [
            ".",
            "..",
            "log",
            "log.json",
            "pipe",
            "config",
            "rules",
            "stats",
            "stats.json",
            "errors",
            "outputs",
            "outputs.json"
        ]
    );
    assert_eq!(f.tree.lookup(1, OsStr::new("nope")), Err(Errno::ENOENT));
    assert_eq!(f.tree.lookup(1, OsStr::new("log")).unwrap().node, Node::Log);
    assert_eq!(f.tree.getattr(99), Err(Errno::ENOENT));
    let a = f.tree.getattr(Node::Config.ino()).unwrap();
    assert_eq!((a.perm, a.uid, a.gid, a.size), (0o640, 0, 0, 0));
    assert_eq!(f.tree.getattr(Node::Log.ino()).unwrap().perm, 0o440);
}

#[test]
fn log_is_a_snapshot_per_open_and_mtime_moves() {
    let mut f = fixture(TreeOptions::default());
    let m0 = f.tree.getattr(Node::Log.ino()).unwrap().mtime_ns;
    f.inject(5, b"/a");
    let m1 = f.tree.getattr(Node::Log.ino()).unwrap().mtime_ns;
    assert!(m1 >= m0);
    let fh = f.tree.open(Node::Log.ino(), libc::O_RDONLY, &ROOT).unwrap();
    f.inject(3, b"/b");
    let first = f.read_all(fh);
    assert_eq!(first.lines().count(), 5, "{first}");
    assert!(first.lines().all(|l| l.contains(" path=\"/a\" ")));
    f.tree.release(fh).unwrap();
    let again = f.cat(Node::Log);
    assert_eq!(again.lines().count(), 8);
    let json = f.cat(Node::LogJson);
    assert_eq!(json.lines().count(), 8);
    for l in json.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["syscall"], "openat");
    }
}

#[test]
fn config_writes_apply_atomically_and_errors_explain() {
    let f = fixture(TreeOptions::default());
    f.write_config("exclude = openat\n").unwrap();
    assert!(f.cat(Node::Config).contains("\nexclude = openat\n"));
    let k = f.dev.config().unwrap();
    assert_ne!(k.exclude_syscalls[0][257 / 64] & (1 << (257 % 64)), 0);

    // A bad line anywhere refuses the whole write.
    let before = f.cat(Node::Config);
    assert_eq!(
        f.write_config("snaplen = 12\nbogus_key = 1\n"),
        Err(Errno::EINVAL)
    );
    assert_eq!(f.cat(Node::Config), before);
    let errors = f.cat(Node::Errors);
    assert!(errors.contains("bogus_key"), "{errors}");
    assert!(errors.contains("nothing changed"), "{errors}");

    // A last line without a newline is applied at close.
    f.write_config("snaplen = 100").unwrap();
    assert!(f.cat(Node::Config).contains("\nsnaplen = 100\n"));
    assert_eq!(f.dev.config().unwrap().snaplen, 100);
    // ... and a bad one fails the close.
    assert_eq!(f.write_config("snaplen = 99999"), Err(Errno::EINVAL));
    assert_eq!(f.dev.config().unwrap().snaplen, 100);

    // Truncate (the shell's `>`) is accepted on config only.
    assert!(f.tree.truncate(Node::Config.ino(), 0, &ROOT).is_ok());
    assert_eq!(
        f.tree.truncate(Node::Log.ino(), 0, &ROOT),
        Err(Errno::EACCES)
    );
}

#[test]
fn a_refusal_keeps_its_errno_and_reason() {
    let f = fixture(TreeOptions::default());
    let e = f.write_config_why("snaplen = 99999\n").unwrap_err();
    assert_eq!(e.errno(), Errno::EINVAL);
    assert!(e.reason().unwrap().contains("snaplen"), "{e}");
    // The device side of a change refused: its errno, not EINVAL.  A new
    // ring size needs the collector, which a shut-down daemon no longer
    // has.
    let ring_key = f
        .cat(Node::Config)
        .lines()
        .find_map(|l| l.split_once(" = ").filter(|(k, _)| k.ends_with("_kb")))
        .map(|(k, _)| k.to_string())
        .expect("a ring size key in config");
    let before = f.cat(Node::Config);
    f.tree.daemon().shutdown();
    let e = f
        .write_config_why(&format!("{ring_key} = 64\n"))
        .unwrap_err();
    assert_eq!(e.errno(), Errno::ESHUTDOWN);
    assert!(e.reason().unwrap().contains("shutting down"), "{e}");
    assert!(f.cat(Node::Errors).contains("shutting down"));
    assert_eq!(f.cat(Node::Config), before);
}

#[test]
fn oversized_config_write_is_refused() {
    let f = fixture(TreeOptions::default());
    let big = "# padding\n".repeat(7000);
    assert_eq!(f.write_config(&big), Err(Errno::EFBIG));
    assert!(f.cat(Node::Errors).contains("KiB"));
}

#[test]
fn ring_kb_rearms_the_rings_and_capture_goes_on() {
    let mut f = fixture(TreeOptions::default());
    f.inject(2, b"/before");
    f.write_config("ring_kb = 64\n").unwrap();
    assert_eq!(f.dev.config().unwrap().ring_kb, 64);
    assert_ne!(f.dev.config().unwrap().flags & abi::CFG_ENABLED, 0);
    f.inject(3, b"/after");
    let log = f.cat(Node::Log);
    assert_eq!(log.matches("\"/before\"").count(), 2, "{log}");
    assert_eq!(log.matches("\"/after\"").count(), 3, "{log}");
}

#[test]
fn retain_changes_the_retention_limit() {
    let f = fixture(TreeOptions::default());
    f.write_config("retain = 2M\n").unwrap();
    assert_eq!(f.tree.daemon().hub.retention.lock().limit(), 2 << 20);
    assert!(f.cat(Node::Config).contains("retain = 2M"));
}

#[test]
fn permissions_are_enforced_by_the_daemon() {
    let f = fixture(TreeOptions::default());
    for n in Node::FILES {
        assert_eq!(
            f.tree.open(n.ino(), libc::O_RDONLY, &USER),
            Err(Errno::EACCES),
            "{n:?}"
        );
    }
    assert_eq!(
        f.tree.open(Node::Log.ino(), libc::O_WRONLY, &ROOT),
        Err(Errno::EACCES)
    );
    assert_eq!(
        f.tree.access(Node::Log.ino(), libc::R_OK, &USER),
        Err(Errno::EACCES)
    );
    assert_eq!(f.tree.access(Node::Log.ino(), libc::R_OK, &ROOT), Ok(()));

    // gid= gives the group read access, never write access.
    let g = fixture(TreeOptions {
        gid: 1000,
        read_only: false,
    });
    let fh = g.tree.open(Node::Log.ino(), libc::O_RDONLY, &USER).unwrap();
    g.tree.release(fh).unwrap();
    assert_eq!(
        g.tree.open(Node::Config.ino(), libc::O_WRONLY, &USER),
        Err(Errno::EACCES)
    );
    let fh = g
        .tree
        .open(Node::Config.ino(), libc::O_RDWR, &ROOT)
        .unwrap();
    assert_eq!(
        g.tree.write(fh, b"snaplen = 1\n", &USER),
        Err(Errno::EACCES.into())
    );
    g.tree.release(fh).unwrap();
}

#[test]
fn read_only_mount_refuses_config_writes_with_erofs() {
    let f = fixture(TreeOptions {
        gid: 0,
        read_only: true,
    });
    assert_eq!(f.write_config("snaplen = 1\n"), Err(Errno::EROFS));
    assert_eq!(
        f.tree.truncate(Node::Config.ino(), 0, &ROOT),
        Err(Errno::EROFS)
    );
    assert!(f.cat(Node::Config).contains("snaplen = 256"));
}

#[test]
fn pipe_streams_new_records_nonblocking_and_blocking() {
    let mut f = fixture(TreeOptions::default());
    f.inject(4, b"/old");
    let fh = f
        .tree
        .open(Node::Pipe.ino(), libc::O_RDONLY, &ROOT)
        .unwrap();
    assert_eq!(
        f.read_sync(fh, 0, 4096, libc::O_NONBLOCK),
        Err(Errno::EAGAIN)
    );
    // poll: not ready; the wake-up fires when data comes.
    let woken = Arc::new(AtomicBool::new(false));
    let w = woken.clone();
    let ready = f
        .tree
        .poll(fh, Some(Box::new(move || w.store(true, Ordering::SeqCst))))
        .unwrap();
    assert!(!ready);
    // A blocking read waits, then gets the new record.
    let (tx, rx) = mpsc::channel();
    let me = nix::unistd::gettid().as_raw() as u32;
    f.tree
        .read(fh, 0, 65536, 0, me, Box::new(move |r| tx.send(r).unwrap()));
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    f.inject(1, b"/new");
    let got =
        String::from_utf8(rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap()).unwrap();
    assert_eq!(got.lines().count(), 1, "{got}");
    assert!(got.contains("\"/new\""));
    // Blocked reads are woken before pollers: the wake-up may come a bit later.
    wait_for("the poll wake-up", || woken.load(Ordering::SeqCst));
    f.tree.release(fh).unwrap();
}

#[test]
fn stats_show_kernel_and_daemon_counters() {
    let mut f = fixture(TreeOptions::default());
    f.inject(6, b"/s");
    let s = f.cat(Node::Stats);
    assert!(s.contains("openat"), "{s}");
    let j: serde_json::Value = serde_json::from_str(f.cat(Node::StatsJson).trim()).unwrap();
    assert!(j.is_object());
    let text = j.to_string();
    assert!(text.contains("openat"), "{text}");
    assert!(text.contains("retain"), "{text}");
}

#[test]
fn shutdown_ends_waiting_reads_with_eof() {
    let f = fixture(TreeOptions::default());
    let fh = f
        .tree
        .open(Node::Pipe.ino(), libc::O_RDONLY, &ROOT)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let me = nix::unistd::gettid().as_raw() as u32;
    f.tree
        .read(fh, 0, 4096, 0, me, Box::new(move |r| tx.send(r).unwrap()));
    f.tree.daemon().shutdown();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Ok(Vec::new())
    );
    // Capture is off after shutdown: nobody reads it.
    assert_eq!(f.dev.config().unwrap().flags & abi::CFG_ENABLED, 0);
}

impl Fixture {
    /// One open of `rules` (`append`: O_APPEND, the shell's `>>`) with
    /// one write per piece, then close.
    fn write_rules(&self, pieces: &[&str], append: bool) -> Result<(), Error> {
        let flags = libc::O_WRONLY | if append { libc::O_APPEND } else { 0 };
        let fh = self.tree.open(Node::Rules.ino(), flags, &ROOT)?;
        let mut w = Ok(());
        for p in pieces {
            w = w.and(self.tree.write(fh, p.as_bytes(), &ROOT).map(|_| ()));
        }
        let c = self.tree.release(fh);
        w.and(c)
    }

    /// The rules as `cat rules` shows them, without the comment lines.
    fn rules(&self) -> Vec<String> {
        self.cat(Node::Rules)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }
}

/// A daemon started with log files under `dir`, on a fresh double.
fn fixture_with_log_dir(dir: &std::path::Path) -> Fixture {
    let dev = DeviceDouble::new(2, 32);
    let backend: Arc<dyn Backend> = Arc::new(dev.clone());
    let mut s = Settings::default();
    s.outputs.log_dir = dir.to_path_buf();
    let daemon = Daemon::start(backend, s).unwrap();
    Fixture {
        dev,
        tree: Tree::new(daemon, TreeOptions::default()),
        t: 1_795_400_000_000_000_000,
    }
}

#[test]
fn rules_file_replaces_appends_and_shows_hits() {
    let mut f = fixture(TreeOptions::default());
    assert_eq!(f.rules(), ["default always  # hits 0"]);
    f.write_rules(
        &[
            "# etc only\nalways syscall=openat dir=/etc key=etc\n",
            "default never\n",
        ],
        false,
    )
    .unwrap();
    f.write_rules(&["never comm=noisy  # quiet\n"], true)
        .unwrap();
    assert_eq!(
        f.rules(),
        [
            "always syscall=openat dir=/etc key=etc  # hits 0",
            "never comm=noisy  # hits 0",
            "default never  # hits 0",
        ]
    );
    assert_eq!(f.dev.rules().unwrap().set.rules.len(), 2);
    f.inject(1, b"/etc/passwd");
    let r = f.rec(0, b"/tmp/x");
    f.dev.inject(r);
    assert_eq!(
        f.rules(),
        [
            "always syscall=openat dir=/etc key=etc  # hits 1",
            "never comm=noisy  # hits 0",
            "default never  # hits 1",
        ]
    );
    assert!(
        f.cat(Node::Log).contains(" key=etc"),
        "{}",
        f.cat(Node::Log)
    );
    // config shows the same rules and default.
    let cfg = f.cat(Node::Config);
    assert!(
        cfg.contains("\nrule = always syscall=openat dir=/etc key=etc\nrule = never comm=noisy\ndefault = never\n"),
        "{cfg}"
    );

    // What cat shows can be written back as it is.
    let shown = f.cat(Node::Rules);
    f.write_rules(&[&shown], false).unwrap();
    assert_eq!(f.rules().len(), 3);

    // Replacing without a default line means default always.
    f.write_rules(&["always class=exec\n"], false).unwrap();
    assert_eq!(
        f.rules(),
        ["always class=exec  # hits 0", "default always  # hits 0"]
    );
}

#[test]
fn a_bad_rule_refuses_the_whole_write_naming_line_and_word() {
    let f = fixture(TreeOptions::default());
    f.write_rules(&["always class=exec key=x\n"], false)
        .unwrap();
    let before = f.cat(Node::Rules);
    let kernel = f.dev.rules().unwrap();
    for (text, append, want) in [
        (
            "always comm=a\nalways bogus=1\n",
            false,
            "line 2: 'bogus=1'",
        ),
        ("never uid=abc\n", true, "line 1: 'uid=abc'"),
        ("always comm=a\ndefault maybe\n", false, "line 2: 'default'"),
        ("sometimes comm=a\n", false, "line 1: 'sometimes'"),
    ] {
        let e = f.write_rules(&[text], append).unwrap_err();
        assert_eq!(e.errno(), Errno::EINVAL, "{text}");
        let errors = f.cat(Node::Errors);
        let last = errors.lines().last().unwrap();
        assert!(last.contains(want), "{text}: {last}");
        assert!(last.contains("nothing changed"), "{last}");
        assert_eq!(f.cat(Node::Rules), before, "{text}");
        assert_eq!(f.dev.rules().unwrap(), kernel, "{text}");
    }
    // Too many rules for the kernel: refused as a whole, too.
    let many: String = (0..=abi::RULES_MAX)
        .map(|i| format!("never pid={}\n", i + 1))
        .collect();
    let e = f.write_rules(&[&many], true).unwrap_err();
    assert_eq!(e.errno(), Errno::EINVAL);
    assert!(e.to_string().contains("more than"), "{e}");
    assert_eq!(f.cat(Node::Rules), before);
    // Only root writes; a read-only mount refuses even root.
    assert_eq!(
        f.tree.open(Node::Rules.ino(), libc::O_WRONLY, &USER),
        Err(Errno::EACCES)
    );
    let ro = fixture(TreeOptions {
        read_only: true,
        ..TreeOptions::default()
    });
    assert_eq!(
        ro.tree.open(Node::Rules.ino(), libc::O_WRONLY, &ROOT),
        Err(Errno::EROFS)
    );
}

#[test]
fn config_rule_keys_set_the_rules() {
    let f = fixture(TreeOptions::default());
    f.write_config(
        "rule = always syscall=openat key=o\nrule = watch /etc/shadow wa\ndefault = never\n",
    )
    .unwrap();
    assert_eq!(
        f.rules(),
        [
            "always syscall=openat key=o  # hits 0",
            "always dir=/etc/shadow perm=wa  # hits 0",
            "default never  # hits 0",
        ]
    );
    assert_eq!(f.dev.rules().unwrap().set.flags, abi::RULES_DEFAULT_NEVER);
    // An empty rule line clears the list; a bad one changes nothing.
    assert_eq!(f.write_config("rule = always nope=1\n"), Err(Errno::EINVAL));
    assert!(f.cat(Node::Errors).contains("line 1: rule: 'nope=1'"));
    assert_eq!(f.rules().len(), 3);
    f.write_config("rule =\n").unwrap();
    assert_eq!(f.rules(), ["default never  # hits 0"]);
    assert!(f.dev.rules().unwrap().set.rules.is_empty());
}

#[test]
fn log_files_are_configured_written_shown_and_reloaded_after_a_restart() {
    let dir = crate::output::file::tests::tempdir("tree-outputs");
    let mut f = fixture(TreeOptions::default());
    assert!(f.cat(Node::Outputs).starts_with("# no outputs"));
    assert_eq!(f.cat(Node::OutputsJson), "");
    // Bad values are refused with the reason and change nothing.
    let before = f.cat(Node::Config);
    for bad in [
        "log_dir = relative\n",
        "remote = host-without-port\n",
        "remote = h:70000\n",
        "remote_ca = /nonexistent/ca.pem\n",
    ] {
        assert_eq!(f.write_config(bad), Err(Errno::EINVAL), "{bad}");
    }
    assert_eq!(f.cat(Node::Config), before);
    let errors = f.cat(Node::Errors);
    assert!(
        errors.contains("log_dir") && errors.contains("remote_ca"),
        "{errors}"
    );
    assert!(f.cat(Node::Outputs).starts_with("# no outputs"));

    // Turned on by a write: records drained afterwards go to the files.
    f.write_config(&format!("log_dir = {}\nlog_flush = every\n", dir.display()))
        .unwrap();
    f.inject(7, b"/durable");
    wait_for("the file output to write 7 records", || {
        f.cat(Node::Outputs).contains(" sent=7 ")
    });
    let out = f.cat(Node::Outputs);
    assert!(
        out.starts_with("name=file kind=file state=writing queued=7 sent=7 "),
        "{out}"
    );
    assert!(out.contains(" dropped=0 "), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(f.cat(Node::OutputsJson).trim_end()).unwrap();
    assert_eq!(
        (json["name"].as_str(), json["sent"].as_u64()),
        (Some("file"), Some(7))
    );
    let text = std::fs::read_to_string(dir.join("sagafs.log")).unwrap();
    assert_eq!(text, f.cat(Node::Log));
    // Turned off: the output stops after writing what it was given.
    f.write_config("log_dir =\n").unwrap();
    assert!(f.cat(Node::Outputs).starts_with("# no outputs"));
    drop(f);

    // A new daemon on the same directory serves the old log first, then
    // what comes after; the files go on growing.
    let mut g = fixture_with_log_dir(&dir);
    assert_eq!(g.cat(Node::Log), text);
    g.inject(3, b"/after");
    let log = g.cat(Node::Log);
    assert_eq!(log.lines().count(), 10, "{log}");
    assert!(log.starts_with(&text));
    wait_for("the restarted file output", || {
        g.cat(Node::Outputs).contains(" sent=3 ")
    });
    g.tree.daemon().shutdown();
    assert_eq!(
        std::fs::read_to_string(dir.join("sagafs.log")).unwrap(),
        log
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn records_drained_by_a_daemon_that_died_before_writing_them_are_counted() {
    let dir = crate::output::file::tests::tempdir("tree-gap");
    let mut f = fixture_with_log_dir(&dir);
    for _ in 0..4 {
        let r = f.rec(0, b"/kept");
        f.dev.inject(r);
    }
    wait_for("4 records in the files", || {
        f.cat(Node::Outputs).contains(" sent=4 ")
    });
    f.tree.daemon().shutdown();
    let dev = f.dev.clone();
    drop(f);
    // A daemon drained three more (the tail moved past them) and died
    // before its file output wrote them (killed, capture stays on); then
    // two more came.
    crate::device::set_capture(&dev, true).unwrap();
    let mut t = 1_795_500_000_000_000_000;
    let mut rec = |path: &[u8]| {
        t += 1000;
        let mut r = Builder::new(0, t);
        r.paths[0].as_mut().unwrap().bytes = path.to_vec();
        r
    };
    for _ in 0..3 {
        dev.inject(rec(b"/lost-in-the-daemon"));
    }
    let (head, _) = dev.head_tail(0);
    dev.poke_tail(0, head);
    for _ in 0..2 {
        dev.inject(rec(b"/after"));
    }
    let backend: Arc<dyn Backend> = Arc::new(dev.clone());
    let mut s = Settings::default();
    s.outputs.log_dir = dir.clone();
    let g = Fixture {
        dev,
        tree: Tree::new(Daemon::start(backend, s).unwrap(), TreeOptions::default()),
        t,
    };
    wait_for("the two new records", || {
        g.cat(Node::Log).matches("path=\"/after\"").count() == 2
    });
    let log = g.cat(Node::Log);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 7, "{log}");
    assert!(
        lines[..4].iter().all(|l| l.contains("path=\"/kept\"")),
        "{log}"
    );
    assert!(
        lines[4].ends_with(" cpu=0 dropped=3 reason=ring_full"),
        "{log}"
    );
    assert!(!log.contains("/lost-in-the-daemon"));
    g.tree.daemon().shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}
