//! The test bed of the helper's command-line tests: the built
//! mount.sagafs runs the way mount(8) runs it, on the host (no module
//! needed), from a scratch directory next to a stand-in daemon script that
//! records its arguments.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

pub const HELPER: &str = env!("CARGO_BIN_EXE_mount-sagafs");

/// A scratch directory holding `mount.sagafs`, a stand-in `sagafs`
/// daemon and an empty mount point `mnt`.
pub struct Bed {
    pub dir: PathBuf,
}

impl Bed {
    pub fn new(name: &str, daemon_script: &str) -> Bed {
        let dir = std::env::temp_dir().join(format!("sagafs-helper-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("mnt")).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::copy(HELPER, dir.join("mount.sagafs")).unwrap();
        let daemon = dir.join("sagafs");
        fs::write(&daemon, format!("#!/bin/sh\n{daemon_script}\n")).unwrap();
        fs::set_permissions(&daemon, fs::Permissions::from_mode(0o755)).unwrap();
        Bed { dir }
    }

    pub fn mnt(&self) -> String {
        self.dir.join("mnt").display().to_string()
    }

    pub fn helper(&self) -> Command {
        let mut c = Command::new(self.dir.join("mount.sagafs"));
        // mount(8) runs helpers with PATH cleared.
        c.env_clear();
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        output(self.helper().args(args))
    }

    /// `mount.sagafs sagafs MNT ARGS...`, as mount(8) calls it.
    pub fn mount(&self, args: &[&str]) -> Output {
        let mnt = self.mnt();
        let mut all = vec!["sagafs", mnt.as_str()];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs a command, retrying while a parallel test's fork still holds a
/// just-copied executable open for writing (ETXTBSY).
pub fn output(cmd: &mut Command) -> Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r.unwrap(),
        }
    }
    panic!("executable stayed busy");
}

pub const RECORD: &str = r#"printf '%s\n' "$@" > "$(dirname "$0")/args"; echo "PATH=$PATH" >> "$(dirname "$0")/args"; exit 0"#;

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts the exit code and the single stderr line.
pub fn expect(o: &Output, code: i32, line: &str) {
    assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(o));
    assert_eq!(stderr(o), format!("mount.sagafs: {line}\n"));
}
