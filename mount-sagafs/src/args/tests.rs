//! Tests of the helper's argument layouts.

use super::*;
use crate::failure::USAGE;

fn argv(s: &[&str]) -> Vec<OsString> {
    s.iter().map(OsString::from).collect()
}

fn mount(s: &[&str]) -> Invocation {
    match parse(&argv(s)) {
        Ok(Request::Mount(inv)) => inv,
        other => panic!("{s:?}: {other:?}"),
    }
}

/// Asserts that `s` is refused as a usage error with `reason`, followed
/// by the usage line.
fn fails_with(s: &[&str], reason: &str) {
    let e = parse(&argv(s)).unwrap_err();
    assert_eq!(e.code, USAGE, "{s:?}");
    assert_eq!(e.message, format!("{reason}: {USAGE_LINE}"), "{s:?}");
}

#[test]
fn plain_layout() {
    let inv = mount(&["sagafs", "/sagafs", "-o", "rw,nofail"]);
    assert_eq!(inv.source, OsString::from("sagafs"));
    assert_eq!(inv.dir, PathBuf::from("/sagafs"));
    assert_eq!(inv.options, "rw,nofail");
    assert!(!inv.sloppy && !inv.fake && !inv.no_mtab && !inv.verbose);
    assert_eq!(inv.namespace, None);
}

#[test]
fn every_flag_in_any_order() {
    let orders: [&[&str]; 4] = [
        &[
            "sagafs",
            "/x",
            "-s",
            "-f",
            "-n",
            "-v",
            "-o",
            "ro",
            "-N",
            "/proc/1/ns/mnt",
        ],
        &[
            "sagafs",
            "/x",
            "-N",
            "/proc/1/ns/mnt",
            "-o",
            "ro",
            "-v",
            "-n",
            "-f",
            "-s",
        ],
        &[
            "sagafs",
            "/x",
            "-v",
            "-o",
            "ro",
            "-s",
            "-N",
            "/proc/1/ns/mnt",
            "-f",
            "-n",
        ],
        &[
            "-f",
            "sagafs",
            "-oro",
            "/x",
            "-N/proc/1/ns/mnt",
            "-s",
            "-v",
            "-n",
        ],
    ];
    for order in orders {
        let inv = mount(order);
        assert!(
            inv.sloppy && inv.fake && inv.no_mtab && inv.verbose,
            "{order:?}"
        );
        assert_eq!(inv.options, "ro", "{order:?}");
        assert_eq!(inv.dir, PathBuf::from("/x"), "{order:?}");
        assert_eq!(
            inv.namespace,
            Some(OsString::from("/proc/1/ns/mnt")),
            "{order:?}"
        );
    }
}

#[test]
fn missing_o_means_no_options() {
    let inv = mount(&["sagafs", "/x"]);
    assert_eq!(inv.options, "");
    let inv = mount(&["sagafs", "/x", "-n"]);
    assert!(inv.no_mtab);
}

#[test]
fn repeated_o_joined() {
    let inv = mount(&["sagafs", "/x", "-o", "ro", "-o", "retain=1M"]);
    assert_eq!(inv.options, "ro,retain=1M");
}

#[test]
fn option_value_may_start_with_dash() {
    let inv = mount(&["sagafs", "/x", "-o", "-weird"]);
    assert_eq!(inv.options, "-weird");
}

#[test]
fn flag_without_value() {
    fails_with(&["sagafs", "/x", "-o"], "-o needs a value");
    fails_with(&["sagafs", "/x", "-N"], "-N needs a value");
}

#[test]
fn wrong_argument_counts() {
    fails_with(&[], "SOURCE and DIR are required");
    fails_with(&["sagafs"], "SOURCE and DIR are required");
    fails_with(&["sagafs", "/x", "extra"], "unexpected argument \"extra\"");
    fails_with(
        &["sagafs", "/x", "-o", "ro", "/y"],
        "unexpected argument \"/y\"",
    );
}

#[test]
fn unknown_flags() {
    fails_with(&["sagafs", "/x", "-t"], "unknown flag '-t'");
    fails_with(&["sagafs", "/x", "-sf"], "unknown flag '-sf'");
    fails_with(&["sagafs", "/x", "--fake"], "unknown flag '--fake'");
}

#[test]
fn help() {
    assert_eq!(parse(&argv(&["-h"])), Ok(Request::Help));
    assert_eq!(parse(&argv(&["sagafs", "/x", "--help"])), Ok(Request::Help));
}

#[test]
fn a_lone_dash_is_positional() {
    let inv = mount(&["-", "/x"]);
    assert_eq!(inv.source, OsString::from("-"));
}

#[test]
fn program_names() {
    assert!(check_name(Some(OsStr::new("/sbin/mount.sagafs"))).is_ok());
    assert!(check_name(Some(OsStr::new("mount.sagafs"))).is_ok());
    assert!(check_name(Some(OsStr::new("/work/target/debug/mount-sagafs"))).is_ok());
    let e = check_name(Some(OsStr::new("/sbin/mount.fuse"))).unwrap_err();
    assert_eq!(e.code, USAGE);
    assert_eq!(
        e.message,
        "called as 'mount.fuse': this program runs as mount.sagafs (install it as /sbin/mount.sagafs)"
    );
    assert!(check_name(None).is_err());
}
