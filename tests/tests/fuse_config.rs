//! Host FUSE tests of `config`, `errors`, `stats` and of who may read and
//! write what, with real shell tools and a real non-root user.

mod fuse_support;

use fuse_support::{mount, NOBODY};
use sagafs::abi;
use sagafs::device::double::Outcome;
use sagafs::device::Backend;

fn openat_excluded(m: &fuse_support::Mnt) -> bool {
    let k = m.dev.config().unwrap();
    k.exclude_syscalls[0][257 / 64] & (1 << (257 % 64)) != 0
}

#[test]
fn echo_into_config_applies_and_stats_keep_counting() {
    let mut m = mount("");
    assert!(m.read("config").starts_with('#'));
    m.ok("echo 'exclude = openat' > config");
    assert!(openat_excluded(&m));
    assert!(m.ok("grep '^exclude' config").contains("exclude = openat"));
    // >> works the same way; keys not named keep their values.
    m.ok("echo 'snaplen = 100' >> config");
    assert_eq!(m.dev.config().unwrap().snaplen, 100);
    assert!(openat_excluded(&m));
    // Several lines in one write, comments allowed.
    m.ok("printf '# two at once\\nsnaplen = 64\\nresult = failure\\n' > config");
    let k = m.dev.config().unwrap();
    assert_eq!((k.snaplen, k.result), (64, abi::RESULT_FAILURE));

    // Excluded calls are not logged but still counted.
    m.ok("echo 'result = any' > config");
    let out = m.inject(5, b"/excluded");
    assert!(out.iter().all(|o| *o == Outcome::Filtered));
    assert_eq!(m.read("log").lines().count(), 0);
    let stats = m.read("stats");
    let calls_line = stats.lines().find(|l| l.starts_with("calls")).unwrap();
    assert!(calls_line.split_whitespace().nth(1) == Some("5"), "{stats}");
    let filtered = stats.lines().find(|l| l.starts_with("filtered")).unwrap();
    assert_eq!(filtered.split_whitespace().nth(1), Some("5"), "{stats}");
    m.ok("echo 'exclude =' > config");
    m.inject(2, b"/included");
    assert_eq!(m.read("log").lines().count(), 2);
}

#[test]
fn bad_config_write_fails_changes_nothing_and_errors_explain() {
    let m = mount("");
    let before = m.read("config");
    let k_before = m.dev.config().unwrap();
    // dash's builtin echo calls every write error "I/O error": use
    // coreutils, which prints the errno.
    let o = m.sh("/usr/bin/printf 'snaplen = 10\nbogus_key = 1\n' > config");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Invalid argument"), "{err}");
    assert_eq!(m.read("config"), before);
    assert_eq!(m.dev.config().unwrap(), k_before);
    let errors = m.read("errors");
    assert!(
        errors.contains("line 2") && errors.contains("bogus_key"),
        "{errors}"
    );
    assert!(errors.lines().all(|l| l.starts_with("20")), "{errors}");
    let o = m.sh("echo 'exclude = not_a_syscall' > config");
    assert!(!o.status.success());
    assert!(m.read("errors").contains("not_a_syscall"));
    assert_eq!(m.read("config"), before);
}

#[test]
fn config_ring_kb_and_retain() {
    let mut m = mount("");
    m.ok("echo 'ring_kb = 128' > config");
    assert_eq!(m.dev.config().unwrap().ring_kb, 128);
    m.inject(3, b"/after-rearm");
    assert_eq!(m.ok("grep -c after-rearm log").trim(), "3");
    m.ok("echo 'retain = 8M' > config");
    assert_eq!(m.daemon.hub.retention.lock().limit(), 8 << 20);
    let s = m.read("stats.json");
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert!(v.to_string().contains(&(8u64 << 20).to_string()), "{v}");
}

#[test]
fn stats_json_parses_and_names_the_calls() {
    let mut m = mount("");
    m.inject(9, b"/s");
    let calls = m.ok("jq -r '.. | objects | select(.syscall? == \"openat\") | .calls' stats.json");
    assert_eq!(calls.trim(), "9", "{}", m.read("stats.json"));
    let text = m.read("stats");
    let row = text.lines().find(|l| l.starts_with("openat")).unwrap();
    assert_eq!(row.split_whitespace().nth(1), Some("9"), "{text}");
}

#[test]
fn nobody_cannot_read_the_log_or_write_config() {
    // allow_other without default_permissions: the daemon's own checks
    // are all that stands between other users and the log.
    let mut m = mount("allow_other");
    m.inject(2, b"/secret");
    for f in [
        "log",
        "log.json",
        "pipe",
        "stats",
        "stats.json",
        "errors",
        "outputs",
        "outputs.json",
        "config",
        "rules",
    ] {
        let o = m.sh_as(NOBODY, &format!("cat {f}"));
        assert!(!o.status.success(), "nobody read {f}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("Permission denied"), "{f}: {e}");
    }
    let o = m.sh_as(NOBODY, "echo 'enabled = 0' > config");
    assert!(!o.status.success());
    assert_ne!(m.dev.config().unwrap().flags & abi::CFG_ENABLED, 0);
    // Listing the directory is fine.
    let o = m.sh_as(NOBODY, "ls");
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "config",
            "errors",
            "log",
            "log.json",
            "outputs",
            "outputs.json",
            "pipe",
            "rules",
            "stats",
            "stats.json"
        ]
    );
}

#[test]
fn gid_option_lets_the_group_read_but_never_write() {
    let mut m = mount(&format!("allow_other,gid={NOBODY}"));
    m.inject(2, b"/shared");
    let o = m.sh_as(NOBODY, "wc -l < log");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2");
    assert!(m.sh_as(NOBODY, "cat config").status.success());
    let o = m.sh_as(NOBODY, "echo 'enabled = 0' > config");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Permission denied"));
    let meta = std::fs::metadata(m.path("log")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), NOBODY);
    assert_eq!(std::os::unix::fs::MetadataExt::mode(&meta) & 0o777, 0o440);
}

#[test]
fn read_only_mount_refuses_config_writes() {
    let m = mount("ro");
    let o = m.sh("echo 'snaplen = 1' > config");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(m.dev.config().unwrap().snaplen, 256);
    assert!(m.read("config").contains("snaplen = 256"));
}

#[test]
fn read_only_files_refuse_writes_and_unknown_names_do_not_exist() {
    let m = mount("");
    let o = m.sh("echo x > log");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Permission denied"));
    let o = m.sh("echo x >> stats");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Permission denied"));
    let o = m.sh("cat nope");
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such file"));
    for cmd in ["touch newfile", "mkdir d", "rm -f log", "mv stats x"] {
        let o = m.sh(cmd);
        assert!(!o.status.success(), "{cmd}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("Permission denied"), "{cmd}: {e}");
    }
}

#[test]
fn rules_file_with_shell_redirections() {
    let m = mount("");
    let rules = |m: &fuse_support::Mnt| -> Vec<String> {
        m.read("rules")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  #").next().unwrap().to_string())
            .collect()
    };
    m.ok("printf 'always class=exec key=exec\\ndefault never\\n' > rules");
    m.ok("echo 'never comm=backup' >> rules");
    assert_eq!(
        rules(&m),
        [
            "always class=exec key=exec",
            "never comm=backup",
            "default never"
        ]
    );
    assert_eq!(m.dev.rules().unwrap().set.rules.len(), 2);
    // What cat shows goes back in as it is.
    m.ok("cat rules > /tmp/sagafs-rules-copy && cat /tmp/sagafs-rules-copy > rules");
    assert_eq!(rules(&m).len(), 3);
    // A bad rule: the write fails with EINVAL, nothing changes.
    let o = m.sh("/usr/bin/printf 'always comm=x\\nalways uid=abc\\n' > rules");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid argument"));
    assert_eq!(rules(&m).len(), 3);
    assert!(m.read("errors").contains("line 2: 'uid=abc'"));
    // `>` replaces: no default line means default always.
    m.ok("echo 'always class=exec' > rules");
    assert_eq!(rules(&m), ["always class=exec", "default always"]);
    assert!(m
        .read("config")
        .contains("\nrule = always class=exec\ndefault = always\n"));
}
