//! Host tests of the mount option parser.

use super::*;
use proptest::prelude::*;
use std::path::PathBuf;

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sagafs-options-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, "exclude = open\n").unwrap();
    path
}

fn err(s: &str) -> String {
    parse(s).unwrap_err().to_string()
}

#[test]
fn empty_string_gives_defaults() {
    let o = parse("").unwrap();
    assert_eq!(o, MountOptions::default());
    assert!(!o.read_only && !o.dev && !o.suid && !o.exec);
    assert_eq!(o.device, PathBuf::from("/dev/sagafs"));
    assert_eq!(o.retain, None);
    assert_eq!(o.gid, None);
    assert_eq!(o.config, None);
    assert_eq!(o.to_string(), "");
}

#[test]
fn ignored_options_change_nothing() {
    let with_values = [
        "user",
        "x-systemd.automount",
        "x-systemd.device-timeout=10s",
        "x-anything=a=b",
        "user=alice",
    ];
    for name in IGNORED.iter().chain(&with_values) {
        assert_eq!(parse(name), Ok(MountOptions::default()), "{name}");
    }
    // What fstab lines carry, whatever the list says.
    let all = "defaults,nofail,_netdev,noauto,relatime,noatime,async,x-gvfs-show,rw";
    assert_eq!(parse(all), Ok(MountOptions::default()));
}

#[test]
fn ignored_flags_refuse_values() {
    assert_eq!(
        err("nofail=1"),
        "mount option 'nofail' takes no value: write just 'nofail'"
    );
    assert!(matches!(
        parse("defaults=yes"),
        Err(OptionError::UnexpectedValue(n)) if n == "defaults"
    ));
}

#[test]
fn mount_flags_set_their_fields() {
    let o = parse("ro,dev,suid,exec,allow_other,default_permissions").unwrap();
    assert!(o.read_only && o.dev && o.suid && o.exec);
    assert!(o.allow_other && o.default_permissions);
    let o = parse("ro,dev,suid,exec,rw,nodev,nosuid,noexec").unwrap();
    assert_eq!(o, MountOptions::default());
}

#[test]
fn flags_refuse_values() {
    for s in [
        "ro=1",
        "rw=",
        "nodev=x",
        "suid=1",
        "noexec=0",
        "allow_other=yes",
    ] {
        let name = s.split('=').next().unwrap();
        assert_eq!(
            parse(s),
            Err(OptionError::UnexpectedValue(name.into())),
            "{s}"
        );
    }
}

#[test]
fn last_duplicate_wins() {
    assert!(!parse("ro,rw").unwrap().read_only);
    assert!(parse("rw,ro").unwrap().read_only);
    assert_eq!(parse("retain=1M,retain=2M").unwrap().retain, Some(2 << 20));
    assert_eq!(
        parse("dev=/dev/a,dev=/dev/b").unwrap().device,
        PathBuf::from("/dev/b")
    );
    assert_eq!(parse("gid=5,gid=7").unwrap().gid, Some(7));
}

#[test]
fn retain_sizes() {
    let r = |s: &str| parse(&format!("retain={s}")).map(|o| o.retain.unwrap());
    assert_eq!(r("4096"), Ok(4096));
    assert_eq!(r("1k"), Ok(1024));
    assert_eq!(r("64M"), Ok(64 << 20));
    assert_eq!(r("64m"), Ok(64 << 20));
    assert_eq!(r("2G"), Ok(2 << 30));
    // The config key's grammar: one for both.
    assert_eq!(r("64MiB"), Ok(64 << 20));
    assert_eq!(r("1MB"), Ok(1 << 20));
    assert_eq!(err("retain=12Q"), "retain=12Q: bad size, use e.g. 64M");
    for bad in ["M", "-1", "1.5M", "1 M", "0x10", "1Mb", "+5"] {
        assert_eq!(
            err(&format!("retain={bad}")),
            format!("retain={bad}: bad size, use e.g. 64M")
        );
    }
    assert_eq!(
        err("retain=0"),
        "retain=0: size must be more than 0, use e.g. 64M"
    );
    assert_eq!(
        err("retain=0K"),
        "retain=0K: size must be more than 0, use e.g. 64M"
    );
    assert_eq!(
        err("retain=99999999999999999999"),
        "retain=99999999999999999999: size too large"
    );
    assert_eq!(
        err("retain=17179869184G"),
        "retain=17179869184G: size too large"
    );
    assert_eq!(
        err("retain"),
        "mount option 'retain' needs a value, e.g. retain=64M"
    );
    assert_eq!(
        err("retain="),
        "mount option 'retain' needs a value, e.g. retain=64M"
    );
}

#[test]
fn gid_numeric_or_name() {
    assert_eq!(parse("gid=0").unwrap().gid, Some(0));
    assert_eq!(parse("gid=4").unwrap().gid, Some(4));
    // root exists in every /etc/group.
    assert_eq!(parse("gid=root").unwrap().gid, Some(0));
    assert_eq!(
        err("gid=no-such-group-sagafs"),
        "gid=no-such-group-sagafs: no such group: give a group name from /etc/group or a number"
    );
    assert_eq!(
        err("gid=4294967295"),
        "gid=4294967295: group id out of range"
    );
    assert_eq!(
        err("gid=99999999999"),
        "gid=99999999999: group id out of range"
    );
    assert_eq!(
        err("gid="),
        "mount option 'gid' needs a value, e.g. gid=adm"
    );
}

#[test]
fn device_path() {
    assert_eq!(
        parse("dev=/tmp/fake-sagafs").unwrap().device,
        PathBuf::from("/tmp/fake-sagafs")
    );
    assert_eq!(
        err("dev=dev/sagafs"),
        "dev=dev/sagafs: not an absolute path: write the full path, starting with /"
    );
    assert_eq!(err("dev=/a\0b"), "dev=/a\0b: path contains a NUL byte");
    // Bare `dev` is the mount flag, `dev=` an empty device path.
    assert!(parse("dev").unwrap().dev);
    assert_eq!(
        err("dev="),
        "mount option 'dev' needs a value, e.g. dev=/dev/sagafs"
    );
}

#[test]
fn config_file_checked() {
    let f = temp_file("plain.conf");
    let o = parse(&format!("config={}", f.display())).unwrap();
    assert_eq!(o.config, Some(f.clone()));

    let missing = "config=/nonexistent/sagafs.conf";
    assert_eq!(
        err(missing),
        "config=/nonexistent/sagafs.conf: cannot open: No such file or directory (os error 2)"
    );
    assert_eq!(err("config=/tmp"), "config=/tmp: not a regular file");
    assert_eq!(
        err("config=sagafs.conf"),
        "config=sagafs.conf: not an absolute path: write the full path, starting with /"
    );
    assert_eq!(
        err("config"),
        "mount option 'config' needs a value, e.g. config=/etc/sagafs.conf"
    );
}

#[test]
fn escaped_commas_and_backslashes() {
    let f = temp_file("a,b\\c.conf");
    let dir = f.parent().unwrap().display().to_string();
    let s = format!("ro,config={dir}/a\\,b\\\\c.conf,nofail");
    let o = parse(&s).unwrap();
    assert_eq!(o.config, Some(f));
    assert!(o.read_only);
    // A backslash before anything else is kept.
    let o = parse("dev=/dev/x\\y").unwrap();
    assert_eq!(o.device, PathBuf::from("/dev/x\\y"));
    let o = parse("dev=/dev/x\\").unwrap();
    assert_eq!(o.device, PathBuf::from("/dev/x\\"));
    // An escaped comma does not split the item, so the name is unknown.
    assert_eq!(err("ro\\,rw"), "unknown mount option 'ro,rw'");
}

#[test]
fn empty_items_skipped() {
    assert_eq!(parse(",,"), Ok(MountOptions::default()));
    assert!(parse(",ro,,").unwrap().read_only);
    assert_eq!(parse(",,retain=1K,,").unwrap().retain, Some(1024));
}

#[test]
fn unknown_options_refused_by_name() {
    assert_eq!(err("foo"), "unknown mount option 'foo'");
    assert_eq!(err("ro,foo=bar,rw"), "unknown mount option 'foo'");
    assert_eq!(err("RO"), "unknown mount option 'RO'");
    assert_eq!(err("=x"), "unknown mount option ''");
}

#[test]
fn sloppy_skips_unknown_but_not_bad_values() {
    let (o, skipped) = parse_sloppy("foo,ro,bar=1,retain=2M").unwrap();
    assert!(o.read_only);
    assert_eq!(o.retain, Some(2 << 20));
    assert_eq!(skipped, vec!["foo".to_string(), "bar=1".to_string()]);
    assert_eq!(
        parse_sloppy("foo,retain=12Q").unwrap_err().to_string(),
        "retain=12Q: bad size, use e.g. 64M"
    );
    assert!(parse_sloppy("ro=1").is_err());
}

#[test]
fn canonical_string_round_trips() {
    let f = temp_file("round,trip.conf");
    let s = format!(
        "nofail,retain=65536K,gid=0,allow_other,ro,dev=/dev/x\\,y,config={},exec",
        escape(&f.display().to_string())
    );
    let o = parse(&s).unwrap();
    let canon = o.to_string();
    assert_eq!(
        canon,
        format!(
            "ro,exec,allow_other,gid=0,retain=64M,dev=/dev/x\\,y,config={}",
            escape(&f.display().to_string())
        )
    );
    assert_eq!(parse(&canon), Ok(o));
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,64}") {
        let _ = parse(&s);
        let _ = parse_sloppy(&s);
    }

    #[test]
    fn device_paths_round_trip(tail in "[a-z,\\\\=/ ]{0,20}") {
        let o = MountOptions { device: PathBuf::from(format!("/dev/{tail}")), ..Default::default() };
        prop_assert_eq!(parse(&o.to_string()), Ok(o));
    }
}
