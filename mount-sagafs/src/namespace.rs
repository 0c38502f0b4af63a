//! `-N NS`: enter another mount namespace (a path such as
//! /proc/PID/ns/mnt, or a PID) before anything is looked up.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};

use crate::failure::Failure;

/// The namespace file a `-N` value names.
pub fn ns_path(ns: &OsStr) -> PathBuf {
    match ns.to_str() {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            PathBuf::from(format!("/proc/{s}/ns/mnt"))
        }
        _ => PathBuf::from(ns),
    }
}

/// Moves this (single-threaded) process into the mount namespace `ns`.
pub fn enter(ns: &OsString) -> Result<(), Failure> {
    let path = ns_path(ns);
    let p = path.display();
    let file = File::open(&path)
        .map_err(|e| Failure::mount(format!("cannot open mount namespace {p}: {e}")))?;
    setns(&file, CloneFlags::CLONE_NEWNS).map_err(|e| {
        Failure::mount(format!(
            "cannot enter mount namespace {p}: {} (give /proc/PID/ns/mnt or a PID)",
            e.desc()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_or_path() {
        assert_eq!(ns_path(OsStr::new("1")), PathBuf::from("/proc/1/ns/mnt"));
        assert_eq!(
            ns_path(OsStr::new("/run/netns/x")),
            PathBuf::from("/run/netns/x")
        );
        assert_eq!(ns_path(OsStr::new("")), PathBuf::from(""));
    }

    #[test]
    fn bad_namespace_files() {
        let e = enter(&"/nonexistent/ns".into()).unwrap_err();
        assert_eq!(
            e.message,
            "cannot open mount namespace /nonexistent/ns: No such file or directory (os error 2)"
        );
        let e = enter(&"/etc/passwd".into()).unwrap_err();
        assert_eq!(
            e.message,
            "cannot enter mount namespace /etc/passwd: Invalid argument (give /proc/PID/ns/mnt or a PID)"
        );
    }
}
