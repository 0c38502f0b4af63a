//! Helpers for the outputs tests that need root and real programs: a
//! private rsyslogd on a loopback port, a journald in a namespace of its
//! own, a small tmpfs, test certificates, and marked records.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sagafs::output::{Batch, Builder};
use sagafs::record::{Abi, Builder as Rec, PathSpec};

/// Fails the test at once unless it runs as root with `prog` present:
/// these tests are never skipped.
pub fn require(progs: &[&str]) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the outputs tests need root (make test runs them as root)"
    );
    for p in progs {
        let found = [
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
            "/lib/systemd",
            "/usr/lib/systemd",
        ]
        .iter()
        .any(|d| Path::new(d).join(p).exists());
        assert!(
            found,
            "{p} is missing: run tests/deps.sh (make deps) to install it"
        );
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory for one test.
pub fn tempdir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sagafs-live-{what}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A marked record: an openat of `/marked/<seq>` by `comm` "marker".
pub fn marked(seq: u64) -> Vec<u8> {
    Rec {
        cpu: (seq % 2) as u32,
        seq,
        time_ns: 1_795_300_201_000_000_000 + seq,
        abi: Abi::X86_64,
        nr: 257,
        flags: 0,
        pid: 4242,
        tid: 4242,
        ppid: 1,
        uid: 1000,
        gid: 1000,
        euid: 0,
        egid: 0,
        loginuid: 1000,
        ns_pid: 4242,
        ns_tid: 4242,
        pidns: 0xefff_fffc,
        mntns: 0xf000_0000,
        cgroup_id: 1,
        comm: b"marker".to_vec(),
        args: [0xffff_ff9c, 0x7ffd_0000, 0, 0, 0, 0],
        ret: 3,
        paths: [
            Some(PathSpec::new(format!("/marked/{seq}").as_bytes())),
            None,
        ],
        key: Vec::new(),
    }
    .encode()
}

/// A batch of marked records `from..from + n`.
pub fn batch(from: u64, n: u64) -> Arc<Batch> {
    let mut b = Builder::with_capacity(n as usize * 176);
    for s in from..from + n {
        b.record(&marked(s)).expect("a valid record");
    }
    b.finish()
}

/// The protocol a private rsyslogd listens with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    Tcp,
    Tls,
    Relp,
    RelpTls,
}

/// A private rsyslogd in the foreground on a loopback port, writing what
/// it receives (MSGID, structured data, message) to `out`.
pub struct Rsyslog {
    pub dir: PathBuf,
    pub port: u16,
    pub out: PathBuf,
    conf: PathBuf,
    child: Option<Child>,
}

impl Rsyslog {
    pub fn start(dir: &Path, listen: Listen) -> Rsyslog {
        let port = free_port();
        let work = dir.join("work");
        fs::create_dir_all(&work).unwrap();
        let out = dir.join("received.log");
        let input = match listen {
            Listen::Tcp => format!(
                "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")"
            ),
            Listen::Tls => format!(
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" \
                 StreamDriver.AuthMode=\"anon\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")"
            ),
            Listen::Relp => format!(
                "module(load=\"imrelp\")\ninput(type=\"imrelp\" address=\"127.0.0.1\" port=\"{port}\")"
            ),
            Listen::RelpTls => format!(
                "module(load=\"imrelp\")\ninput(type=\"imrelp\" address=\"127.0.0.1\" port=\"{port}\" \
                 tls=\"on\" tls.caCert=\"{d}/ca.pem\" tls.myCert=\"{d}/server.pem\" \
                 tls.myPrivKey=\"{d}/server.key\" tls.authMode=\"certvalid\")",
                d = dir.display()
            ),
        };
        let tls_global = if listen == Listen::Tls {
            format!(
                " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{d}/ca.pem\" \
                 defaultNetstreamDriverCertFile=\"{d}/server.pem\" \
                 defaultNetstreamDriverKeyFile=\"{d}/server.key\"",
                d = dir.display()
            )
        } else {
            String::new()
        };
        let conf = dir.join("rsyslog.conf");
        fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\"{tls_global})\n\
                 {input}\n\
                 template(name=\"t\" type=\"string\" string=\"%msgid% %structured-data% %msg%\\n\")\n\
                 action(type=\"omfile\" file=\"{out}\" template=\"t\" asyncWriting=\"off\" flushOnTXEnd=\"on\")\n",
                work = work.display(),
                out = out.display(),
            ),
        )
        .unwrap();
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            port,
            out,
            conf,
            child: None,
        };
        r.restart();
        r
    }

    /// Starts rsyslogd (again) and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let pid = self.dir.join("rsyslogd.pid");
        let _ = fs::remove_file(&pid);
        let log = fs::File::create(self.dir.join("rsyslogd.stderr")).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&self.conf)
            .arg("-i")
            .arg(&pid)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("rsyslogd runs");
        self.child = Some(child);
        let port = self.port;
        let dir = self.dir.clone();
        wait_for("rsyslogd to listen", Duration::from_secs(20), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!(
                        "rsyslogd exited ({st}): {}",
                        fs::read_to_string(dir.join("rsyslogd.stderr")).unwrap_or_default()
                    );
                }
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Stops rsyslogd with `signal` and waits for it.
    pub fn stop_with(&mut self, signal: nix::sys::signal::Signal) {
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            nix::sys::signal::kill(pid, signal).unwrap();
            c.wait().unwrap();
        }
    }

    pub fn stop(&mut self) {
        self.stop_with(nix::sys::signal::Signal::SIGTERM);
    }

    /// The lines received so far.
    pub fn lines(&self) -> Vec<String> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The marked sequence numbers received (each once) and how many
    /// lines carried one.
    pub fn marked_seqs(&self) -> (BTreeSet<u64>, usize) {
        let mut set = BTreeSet::new();
        let mut n = 0;
        for l in self.lines() {
            if let Some(s) = sd_param(&l, "seq") {
                set.insert(s.parse().unwrap());
                n += 1;
            }
        }
        (set, n)
    }

    /// The sum of `lost` over the notices received with `reason`.
    pub fn lost(&self, reason: &str) -> u64 {
        self.lines()
            .iter()
            .filter(|l| sd_param(l, "reason").as_deref() == Some(reason))
            .map(|l| sd_param(l, "dropped").unwrap().parse::<u64>().unwrap())
            .sum()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop_with(nix::sys::signal::Signal::SIGKILL);
    }
}

/// The value of an SD-PARAM in a received line (no escapes expected).
pub fn sd_param(line: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = line.find(&key)? + key.len();
    Some(line[i..].split('"').next()?.to_string())
}

/// A CA and a server certificate for `localhost` and 127.0.0.1 in `dir`
/// (`ca.pem`, `server.pem`, `server.key`), a client certificate
/// (`client.pem`, `client.key`), and a second, unrelated CA
/// (`other-ca.pem`).
pub fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let st = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(st.success(), "openssl {args:?} failed");
    };
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    for (name, subj) in [("ca", "/CN=sagafs test CA"), ("other-ca", "/CN=another CA")] {
        let cmd = format!("req -x509 {key} -keyout {name}.key -out {name}.pem -days 2 -subj");
        let mut a: Vec<&str> = cmd.split(' ').collect();
        a.push(subj);
        run(&a);
    }
    // A key and a certificate the CA signs, with one extension.
    let issue = |name: &str, subj: &str, ext: &str| {
        let cmd = format!("req {key} -keyout {name}.key -out {name}.csr -subj");
        let mut a: Vec<&str> = cmd.split(' ').collect();
        a.push(subj);
        run(&a);
        fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
        let sign = format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
             -out {name}.pem -days 2 -extfile {name}.ext"
        );
        run(&sign.split_whitespace().collect::<Vec<_>>());
    };
    issue(
        "server",
        "/CN=localhost",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
    );
    issue("client", "/CN=sagafs-client", "extendedKeyUsage=clientAuth");
}

/// A journald of its own namespace, so the machine's journal is not
/// touched; removed with its files on drop.
pub struct Journald {
    pub namespace: String,
    child: Child,
}

impl Journald {
    pub fn start() -> Journald {
        let namespace = format!("sagafstest{}", std::process::id());
        let bin = [
            "/lib/systemd/systemd-journald",
            "/usr/lib/systemd/systemd-journald",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("systemd-journald is installed");
        let child = Command::new(bin)
            .arg(&namespace)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-journald runs");
        let j = Journald { namespace, child };
        let sock = j.socket();
        wait_for("journald's socket", Duration::from_secs(10), || {
            sock.exists()
        });
        j
    }

    pub fn socket(&self) -> PathBuf {
        PathBuf::from(format!("/run/systemd/journal.{}/socket", self.namespace))
    }

    /// `journalctl --namespace=NS -o json ARGS...`, one object per entry.
    pub fn query(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let out = Command::new("journalctl")
            .arg(format!("--namespace={}", self.namespace))
            .args(["-o", "json", "--no-pager"])
            .args(args)
            .output()
            .expect("journalctl runs");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Journald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(format!("/run/systemd/journal.{}", self.namespace));
        for base in ["/var/log/journal", "/run/log/journal"] {
            if let Ok(rd) = fs::read_dir(base) {
                for e in rd.flatten() {
                    if e.file_name()
                        .to_string_lossy()
                        .ends_with(&format!(".{}", self.namespace))
                    {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
    }
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
pub struct SmallFs {
    pub dir: PathBuf,
}

impl SmallFs {
    pub fn mount(size: &str) -> SmallFs {
        let dir = tempdir("tmpfs");
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "sagafs-test",
            ])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "mounting a tmpfs on {} failed", dir.display());
        SmallFs { dir }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // A process forked by a test running in parallel may hold it for
        // a moment: retry, then detach it.
        for _ in 0..10 {
            let ok = Command::new("umount")
                .arg(&self.dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                let _ = fs::remove_dir(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = fs::remove_dir(&self.dir);
    }
}
