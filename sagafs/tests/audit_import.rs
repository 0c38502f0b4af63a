//! `sagafs-rules --from-audit` on a set of real-looking auditd rule files
//! (tests/data/audit/, modelled on auditd's base, loginuid, stig, ospp,
//! module-load and finalize samples plus a site file): the exact
//! translation, every untranslatable line reported with its file and
//! line, the exit status, and the result loading and deciding as auditd
//! would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sagafs::abi;
use sagafs::record::Abi;
use sagafs::rules::{compile_text, decide, Call, PathArg};

const BIN: &str = env!("CARGO_BIN_EXE_sagafs-rules");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("tests/data/audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rules"))
        .map(|n| format!("tests/data/audit/{n}"))
        .collect();
    v.sort();
    v
}

fn run(args: &[String]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run sagafs-rules")
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/data/audit").join(name)).unwrap()
}

#[test]
fn whole_directory_translates_exactly_and_reports_the_rest() {
    let files = files();
    assert_eq!(files.len(), 7, "{files:?}");
    let mut args = vec!["--from-audit".to_string()];
    args.extend(files);
    let out = run(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "some lines do not translate: {stderr}"
    );
    assert_eq!(stdout, expected("expected.sagafs"));
    let reported: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once(": not translated: ").map(|(at, _)| at))
        .collect();
    let want_text = expected("expected-untranslated");
    let want: Vec<&str> = want_text.lines().collect();
    assert_eq!(reported, want);
    // Each report says why, and shows the line.
    assert!(stderr.contains(
        "tests/data/audit/30-stig.rules:17: not translated: field a0 has no sagafs equivalent\n    -a always,exit -F arch=b32 -S clock_settime -F a0=0x0 -F key=time-change\n"
    ));
    assert!(stderr.contains("tests/data/audit/10-base-config.rules:6: skipped: -b:"));
    assert!(
        stderr.ends_with("sagafs-rules: 66 rules translated, 18 lines not translated, 3 skipped\n")
    );
}

#[test]
fn a_file_that_translates_whole_exits_zero() {
    let out = run(&[
        "--from-audit".into(),
        "tests/data/audit/43-module-load.rules".into(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rules: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        rules,
        vec![
            "default never",
            "always syscall=init_module,finit_module abi=i386 key=module-load",
            "always syscall=init_module,finit_module abi=x86_64 key=module-load",
            "always syscall=delete_module abi=i386 key=module-unload",
            "always syscall=delete_module abi=x86_64 key=module-unload",
        ]
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "sagafs-rules: 4 rules translated, 0 lines not translated, 0 skipped\n"
    );
}

#[test]
fn unreadable_files_and_bad_usage_exit_two() {
    let out = run(&["--from-audit".into(), "tests/data/audit/none.rules".into()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("tests/data/audit/none.rules"));
    assert_eq!(run(&[]).status.code(), Some(2));
}

#[test]
fn check_names_file_line_and_word() {
    let out = run(&["--check".into(), "tests/data/audit/expected.sagafs".into()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "tests/data/audit/expected.sagafs: 66 rules\n"
    );
    // An auditd file is not a sagafs rule file.
    let out = run(&[
        "--check".into(),
        "tests/data/audit/43-module-load.rules".into(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "tests/data/audit/43-module-load.rules:3: '-a': a line starts with always, never, watch, default or # (a comment)\n"
    );
}

fn open_call<'a>(path: &'a [u8], flags: i32, auid: u32, uid: u32) -> Call<'a> {
    Call {
        abi: Abi::X86_64,
        slot: 257,
        uid,
        euid: uid,
        gid: 0,
        loginuid: auid,
        pid: 4000,
        ppid: 1,
        ret: 3,
        pidns: abi::PIDNS_HOST,
        comm: b"vi",
        args: [libc::AT_FDCWD as u64, 0, flags as u64, 0, 0, 0],
        paths: [
            Some(PathArg {
                bytes: path,
                cut: false,
            }),
            None,
        ],
        exe: Some(b"/usr/bin/vi"),
        cgroup: Some(b"/user.slice"),
    }
}

#[test]
fn the_translation_decides_as_auditd_would() {
    let set = compile_text(&expected("expected.sagafs")).unwrap();
    assert!(!set.default_logs(), "auditd logs nothing unasked");
    let key = |c: &Call| {
        let d = decide(&set, c);
        d.log
            .then(|| String::from_utf8(set.key(d.rule.unwrap()).to_vec()).unwrap())
    };
    let unset = u32::MAX;
    // A user writing /etc/shadow: the ospp file sorts first.
    assert_eq!(
        key(&open_call(b"/etc/shadow", libc::O_WRONLY, 1000, 1000)).as_deref(),
        Some("user-modify")
    );
    // root without a login session: the stig watch.
    assert_eq!(
        key(&open_call(b"/etc/shadow", libc::O_RDWR, unset, 0)).as_deref(),
        Some("identity")
    );
    // Reading it is neither w nor a.
    assert_eq!(
        key(&open_call(b"/etc/shadow", libc::O_RDONLY, 1000, 1000)),
        None
    );
    // The -A never rule for uid 33 without a session comes first of all.
    assert_eq!(
        key(&open_call(b"/etc/shadow", libc::O_WRONLY, unset, 33)),
        None
    );
    // A denied open by a user.
    let mut denied = open_call(b"/home/x", libc::O_RDONLY, 1000, 1000);
    denied.ret = -(libc::EACCES as i64);
    assert_eq!(key(&denied).as_deref(), Some("unsuccessful-access"));
    denied.loginuid = unset;
    assert_eq!(key(&denied), None);
}
