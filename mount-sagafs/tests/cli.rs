//! mount.sagafs's command line as any user may run it: usage errors and
//! the program name are checked before the helper asks for root.  The
//! rest, which needs root, is in root_cli.rs.

mod bed;

use std::fs;
use std::process::Command;

use bed::{expect, output, stdout, Bed, HELPER, RECORD};

#[test]
fn usage_errors_exit_1() {
    let bed = Bed::new("usage", RECORD);
    let usage = "usage: mount.sagafs SOURCE DIR [-s] [-f] [-n] [-v] [-o OPTIONS] [-N NAMESPACE]";
    expect(
        &bed.run(&[]),
        1,
        &format!("SOURCE and DIR are required: {usage}"),
    );
    expect(
        &bed.mount(&["-o"]),
        1,
        &format!("-o needs a value: {usage}"),
    );
    expect(
        &bed.mount(&["extra"]),
        1,
        &format!("unexpected argument \"extra\": {usage}"),
    );
    expect(
        &bed.mount(&["-x"]),
        1,
        &format!("unknown flag '-x': {usage}"),
    );
    let o = bed.run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), format!("{usage}\n"));
    assert!(!bed.dir.join("args").exists());
}

#[test]
fn refuses_other_program_names() {
    let bed = Bed::new("name", RECORD);
    let other = bed.dir.join("mount.fuse.sagafs");
    fs::copy(HELPER, &other).unwrap();
    let o = output(Command::new(&other).args(["sagafs", &bed.mnt()]));
    expect(
        &o,
        1,
        "called as 'mount.fuse.sagafs': this program runs as mount.sagafs (install it as /sbin/mount.sagafs)",
    );
}
