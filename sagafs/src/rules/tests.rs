//! The language end to end: parse errors naming line and word, the
//! canonical text round trip, the compiled form, the evaluator's
//! decisions, and the validation of malformed compiled sets.

use super::classes;
use super::*;
use crate::abi;
use crate::record::Abi;

const OPENAT: usize = 257;
const EXECVE: usize = 59;
const GETPID: usize = 39;

fn err(text: &str) -> RuleError {
    compile_text(text).expect_err(text)
}

#[test]
fn errors_name_the_line_and_the_word() {
    let e = err("# rules\n\nalways uidd=0\n");
    assert_eq!((e.line, e.word.as_str()), (3, "uidd=0"));
    assert!(e.message.contains("did you mean 'uid'"), "{e}");
    assert_eq!(e.to_string(), format!("line 3: 'uidd=0': {}", e.message));

    for (text, word, needle) in [
        (
            "always syscall=opneat",
            "syscall=opneat",
            "did you mean 'openat'",
        ),
        ("always uid=abc", "uid=abc", "not a number"),
        ("always uid=5-3", "uid=5-3", "empty"),
        ("always uid=1,2", "uid=1,2", "not a list"),
        ("always uid=0 uid=1", "uid=1", "given twice"),
        ("always path=/a dir=/b", "dir=/b", "use one"),
        ("never key=x", "key=x", "always rule"),
        ("always key=\"a b\"", "key=\"a b\"", "a key is"),
        (
            "always comm=0123456789abcdef",
            "comm=0123456789abcdef",
            "at most 15",
        ),
        ("always exe=usr/bin/x", "exe=usr/bin/x", "starts with '/'"),
        (
            "always cgroup=system.slice",
            "cgroup=system.slice",
            "starts with '/'",
        ),
        ("always container=a/b", "container=a/b", "no '/'"),
        ("always dir=/etc/*", "dir=/etc/*", "drop the '*'"),
        ("always path=/a*b", "path=/a*b", "'*' only ends"),
        (
            "always result=ENOTANERRNO",
            "result=ENOTANERRNO",
            "errno name",
        ),
        ("always perm=rq", "perm=rq", "'q' is not a permission"),
        ("always perm!=r", "perm!=r", "= only"),
        ("always comm<abc", "comm<abc", "= or != only"),
        ("always class=files", "class=files", "unknown class"),
        ("always abi=arm", "abi=arm", "unknown ABI"),
        ("always pidns=guest", "pidns=guest", "host or"),
        ("always uid", "uid", "expected uid=VALUE"),
        ("always uid=", "uid=", "no value"),
        ("always =3", "=3", "expected FIELD=VALUE"),
        ("sometimes uid=0", "sometimes", "a line starts with"),
        ("watch etc/shadow", "etc/shadow", "absolute path"),
        ("watch /etc/shadow wa comm=x", "comm=x", "key=KEY only"),
        ("default maybe", "default", "default always"),
        ("always uid<0", "uid<0", "matches nothing"),
        (
            "always syscall=socketcall abi=x86_64",
            "syscall=socketcall abi=x86_64",
            "no system call",
        ),
    ] {
        let e = err(text);
        assert_eq!((e.line, e.word.as_str()), (1, word), "{text}: {e}");
        assert!(e.message.contains(needle), "{text}: {e}");
    }
    let e = err("default never\ndefault always\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("line 1"), "{e}");
    let e = err("always path=\"/a\n");
    assert_eq!((e.line, e.word.as_str()), (1, ""));
}

#[test]
fn canonical_text_round_trips() {
    let text = "\
# a comment
default never
always syscall=openat,openat2 dir=/etc key=etc
never comm=backup
always class=exec
never uid!=0-999
always exe=/usr/bin/* result=failure
always auid=unset
watch /etc/shadow wa key=shadow
always container=none
never cgroup=/system.slice/*
always pidns!=host
always uid>=1000 euid<1000 gid=5 pid=1-100 ppid!=1 result=ENOENT
always result!=success comm=cr* path=\"/tmp/a b\" abi=i386,x32
always container=0123456789ab perm=rw syscall!=openat
always container!=none result=-4000 pidns=4026531836
";
    let list = parse(text).unwrap();
    assert!(list.default_never);
    assert_eq!(list.rules.len(), 14);
    let canonical = list.to_string();
    let again = parse(&canonical).unwrap();
    assert_eq!(again.rules.len(), list.rules.len());
    for (a, b) in list.rules.iter().zip(&again.rules) {
        assert_eq!(a.conds, b.conds, "{a} vs {b}");
        assert_eq!(a.action, b.action);
    }
    assert_eq!(again.to_string(), canonical);
    assert!(canonical.contains("always dir=/etc/shadow perm=wa key=shadow"));
    assert!(canonical.contains("always uid=1000-4294967295 euid=0-999"));
    assert!(canonical.contains("result=failure"));
    assert!(
        canonical.contains("always result=failure comm=cr* path=\"/tmp/a b\" abi=i386,x32\n"),
        "not success is failure: {canonical}"
    );
    assert_eq!(compile(&list).unwrap(), compile(&again).unwrap());
}

fn bit(r: &abi::sagafs_rule, abi: Abi, slot: usize) -> bool {
    classes::has(&r.syscalls, abi.index(), slot)
}

#[test]
fn compiled_form() {
    let set = compile_text(
        "default never\n\
         always syscall=openat dir=/etc uid=0 key=etc\n\
         never comm=backup\n\
         always syscall=openat abi=i386 path=/etc key=etc\n",
    )
    .unwrap();
    set.validate().unwrap();
    assert!(!set.default_logs());
    assert_eq!(set.rules.len(), 3);
    let r = &set.rules[0];
    assert_eq!(r.action, abi::RULE_ALWAYS);
    assert!(bit(r, Abi::X86_64, OPENAT) && bit(r, Abi::X32, OPENAT) && bit(r, Abi::I386, 295));
    assert!(!bit(r, Abi::X86_64, EXECVE));
    assert_eq!(set.key(0), b"etc");
    let conds = set.rule_conds();
    // Cheapest first: uid before path, whatever the order written.
    assert_eq!(
        conds[0].iter().map(|c| (c.field, c.op)).collect::<Vec<_>>(),
        vec![
            (abi::FIELD_UID, abi::OP_RANGE),
            (abi::FIELD_PATH, abi::OP_DIR)
        ]
    );
    assert_eq!(set.operand(&conds[0][1]), b"/etc");
    // A rule without syscall= applies to every call.
    assert!(set.rules[1]
        .syscalls
        .iter()
        .flatten()
        .all(|&w| w == u64::MAX));
    assert_eq!(set.rules[1].action, abi::RULE_NEVER);
    assert_eq!(set.key(1), b"");
    // abi= narrows the names to that ABI; strings are shared.
    let r = &set.rules[2];
    assert!(bit(r, Abi::I386, 295) && !bit(r, Abi::X86_64, OPENAT));
    assert_eq!(set.rules[2].key_off, set.rules[0].key_off);
    assert_eq!(conds[2][0].str_off, conds[0][1].str_off);
    // container=none is "no container exists".
    let set = compile_text("always container=none\nnever container!=none\n").unwrap();
    assert_eq!(set.conds[0].op, abi::OP_EXISTS | abi::OP_NOT);
    assert_eq!(set.conds[1].op, abi::OP_EXISTS);
    // watch: the perm classes' calls and a PERM condition.
    let set = compile_text("watch /etc/shadow wa key=shadow").unwrap();
    let r = &set.rules[0];
    assert!(bit(r, Abi::X86_64, 87) && bit(r, Abi::X86_64, 90) && bit(r, Abi::X86_64, OPENAT));
    assert!(!bit(r, Abi::X86_64, 0) && !bit(r, Abi::X86_64, EXECVE));
    assert_eq!(
        set.conds
            .iter()
            .map(|c| (c.field, c.op, c.lo))
            .collect::<Vec<_>>(),
        vec![
            (abi::FIELD_PERM, abi::OP_MASK, abi::PERM_W | abi::PERM_A),
            (abi::FIELD_PATH, abi::OP_DIR, 0)
        ]
    );
}

#[test]
fn limits_are_enforced_by_the_compiler() {
    let many = "always uid=1\n".repeat(abi::RULES_MAX + 1);
    let e = err(&many);
    assert_eq!(e.line, abi::RULES_MAX + 1);
    assert!(e.message.contains("more than 1024 rules"), "{e}");
    let long = format!("always path=/{}", "a".repeat(abi::RULE_STR_MAX));
    assert!(err(&long).message.contains("at most 1024"));
    let text: String = (0..70)
        .map(|i| format!("always path=/{i:03}{}\n", "x".repeat(1000)))
        .collect();
    let e = err(&text);
    assert!(e.message.contains("65536"), "{e}");
    assert_eq!(e.line, 66);
}

/// A call for the evaluator: an openat of `path` by pid 100, uid 1000.
fn call<'a>(path: &'a [u8]) -> Call<'a> {
    Call {
        abi: Abi::X86_64,
        slot: OPENAT,
        uid: 1000,
        euid: 1000,
        gid: 100,
        loginuid: 1000,
        pid: 100,
        ppid: 1,
        ret: 3,
        pidns: abi::PIDNS_HOST,
        comm: b"cat",
        args: [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0],
        paths: [
            Some(PathArg {
                bytes: path,
                cut: false,
            }),
            None,
        ],
        exe: Some(b"/usr/bin/cat"),
        cgroup: Some(b"/user.slice/user-1000.slice/session-1.scope"),
    }
}

fn decision(text: &str, c: &Call) -> (bool, Option<usize>) {
    let set = compile_text(text).unwrap();
    let d = decide(&set, c);
    (d.log, d.rule)
}

#[test]
fn first_match_decides_then_the_default() {
    let text = "always syscall=openat dir=/etc key=etc\nnever comm=cat\ndefault always\n";
    assert_eq!(decision(text, &call(b"/etc/passwd")), (true, Some(0)));
    assert_eq!(decision(text, &call(b"/tmp/x")), (false, Some(1)));
    let mut c = call(b"/tmp/x");
    c.comm = b"ls";
    assert_eq!(decision(text, &c), (true, None));
    assert_eq!(decision("default never", &c), (false, None));
    assert_eq!(decision("", &c), (true, None));
    // A rule for other syscalls is skipped.
    c.slot = GETPID;
    c.paths = [None, None];
    assert_eq!(
        decision("never syscall=openat\ndefault always", &c),
        (true, None)
    );
}

#[test]
fn every_condition_kind() {
    let ctr = "0123456789abcdef".repeat(4);
    let cg = format!("/system.slice/docker-{ctr}.scope");
    let mut in_ctr = call(b"/etc/hosts");
    in_ctr.cgroup = Some(cg.as_bytes());
    in_ctr.pidns = 4026532000;
    let c = call(b"/etc/hosts");
    let cases: Vec<(String, &Call, bool)> = vec![
        ("uid=1000".into(), &c, true),
        ("uid!=1000".into(), &c, false),
        ("uid=0-999".into(), &c, false),
        ("uid>=1000".into(), &c, true),
        ("euid<1000".into(), &c, false),
        ("gid=100".into(), &c, true),
        ("auid=unset".into(), &c, false),
        ("auid!=unset".into(), &c, true),
        ("pid=100".into(), &c, true),
        ("ppid=2".into(), &c, false),
        ("result=success".into(), &c, true),
        ("result=failure".into(), &c, false),
        ("pidns=host".into(), &c, true),
        ("pidns!=host".into(), &in_ctr, true),
        ("perm=r".into(), &c, true),
        ("perm=w".into(), &c, false),
        ("comm=cat".into(), &c, true),
        ("comm=ca*".into(), &c, true),
        ("comm=ca".into(), &c, false),
        ("comm!=cat".into(), &c, false),
        ("exe=/usr/bin/cat".into(), &c, true),
        ("exe=/usr/bin/*".into(), &c, true),
        ("exe=/usr/sbin/*".into(), &c, false),
        ("cgroup=/user.slice/*".into(), &c, true),
        ("cgroup=/user.slice".into(), &c, false),
        ("cgroup!=/system.slice/*".into(), &c, true),
        ("container=none".into(), &c, true),
        ("container=none".into(), &in_ctr, false),
        ("container!=none".into(), &in_ctr, true),
        (format!("container={ctr}"), &in_ctr, true),
        (format!("container={}", &ctr[..12]), &in_ctr, true),
        ("container=0123456789ac".into(), &in_ctr, false),
        ("cgroup=/system.slice/docker-*".into(), &in_ctr, true),
        ("path=/etc/hosts".into(), &c, true),
        ("path=/etc/*".into(), &c, true),
        ("path=/etc".into(), &c, false),
        ("dir=/etc".into(), &c, true),
        ("dir=/et".into(), &c, false),
        ("dir!=/etc".into(), &c, false),
        ("syscall=openat".into(), &c, true),
        ("syscall!=openat".into(), &c, false),
        ("class=file".into(), &c, true),
        ("class=network".into(), &c, false),
        ("abi=x86_64".into(), &c, true),
        ("abi=i386".into(), &c, false),
    ];
    for (cond, call, want) in cases {
        let text = format!("always {cond}\ndefault never");
        assert_eq!(decision(&text, call).0, want, "{cond}");
    }
    let mut err = c;
    err.ret = -2;
    assert!(decision("always result=ENOENT\ndefault never", &err).0);
    assert!(decision("always result=-2\ndefault never", &err).0);
    assert!(!decision("always result=EACCES\ndefault never", &err).0);
    // A value that is missing does not match; its negation does.
    let mut none = c;
    none.exe = None;
    none.paths = [None, None];
    assert!(!decision("always exe=/usr/bin/*\ndefault never", &none).0);
    assert!(decision("always exe!=/usr/bin/*\ndefault never", &none).0);
    assert!(!decision("always path=/etc/*\ndefault never", &none).0);
    assert!(decision("always path!=/etc/*\ndefault never", &none).0);
    // A path cut at snaplen matches where its bytes decide.
    let mut cut = call(b"/etc/hos");
    cut.paths[0].as_mut().unwrap().cut = true;
    assert!(decision("always path=/etc/*\ndefault never", &cut).0);
    assert!(!decision("always path=/etc/hosts\ndefault never", &cut).0);
    // Path 1 counts too.
    let mut two = call(b"/tmp/a");
    two.paths[1] = Some(PathArg {
        bytes: b"/etc/b",
        cut: false,
    });
    assert!(decision("always dir=/etc\ndefault never", &two).0);
}

#[test]
fn watch_follows_the_open_flags() {
    let text = "watch /etc/shadow wa key=shadow\ndefault never";
    let mut c = call(b"/etc/shadow");
    assert!(!decision(text, &c).0, "a read-only open is not w or a");
    c.args[2] = (libc::O_WRONLY | libc::O_CREAT) as u64;
    assert_eq!(decision(text, &c), (true, Some(0)));
    c.args[2] = (libc::O_RDONLY | libc::O_TRUNC) as u64;
    assert!(decision(text, &c).0, "O_TRUNC writes");
    // chmod (90) is an attribute change: no flags to look at.
    let mut chmod = call(b"/etc/shadow");
    chmod.slot = 90;
    assert!(decision(text, &chmod).0);
    chmod.paths[0] = Some(PathArg {
        bytes: b"/etc/shadowx",
        cut: false,
    });
    assert!(!decision(text, &chmod).0);
    // read(0) is in no perm class.
    let mut read = call(b"/etc/shadow");
    read.slot = 0;
    assert!(!decision(text, &read).0);
}

fn valid() -> RuleSet {
    compile_text("always syscall=openat uid=0 path=/etc/* key=k\nnever comm=x\n").unwrap()
}

fn refused(f: impl FnOnce(&mut RuleSet)) -> String {
    let mut s = valid();
    f(&mut s);
    s.validate().expect_err("must be refused").0
}

#[test]
fn validation_refuses_malformed_sets() {
    valid().validate().unwrap();
    type Mutation = Box<dyn FnOnce(&mut RuleSet)>;
    let checks: Vec<(Mutation, &str)> = vec![
        (Box::new(|s| s.flags = 2), "flags"),
        (Box::new(|s| s.rules[0].action = 3), "action"),
        (Box::new(|s| s.rules[1].nr_conds = 2), "conditions"),
        (Box::new(|s| s.rules[0].nr_conds = 17), "conditions"),
        (Box::new(|s| s.rules[1].key_len = 1), "never rule"),
        (Box::new(|s| s.rules[0].key_len = 64), "longer than 63"),
        (
            Box::new(|s| s.rules[0].key_off = 1000),
            "outside the string table",
        ),
        (
            Box::new(|s| s.rules[1].key_off = 1),
            "key offset without a key",
        ),
        (
            Box::new(|s| s.rules[0].syscalls = classes::EMPTY),
            "no system call",
        ),
        (Box::new(|s| s.conds[0].field = 15), "strictly increasing"),
        (Box::new(|s| s.conds[0].field = 0), "strictly increasing"),
        (
            Box::new(|s| s.conds[1].field = abi::FIELD_UID),
            "strictly increasing",
        ),
        (Box::new(|s| s.conds[0].op = abi::OP_EQ), "operator"),
        (Box::new(|s| s.conds[0].lo = 5), "bad operand"),
        (Box::new(|s| s.conds[0].hi = 1 << 32), "bad operand"),
        (Box::new(|s| s.conds[0].str_len = 1), "a string on a number"),
        (Box::new(|s| s.conds[0].__pad0 = 1), "strictly increasing"),
        (Box::new(|s| s.conds[1].str_len = 5000), "string of"),
        (Box::new(|s| s.conds[1].str_off = u32::MAX), "string of"),
        (Box::new(|s| s.conds[1].lo = 1), "a string with numbers"),
        (Box::new(|s| s.conds[2].str_len = 16), "string of"),
        (Box::new(|s| s.strings[0] = 0), "bad string bytes"),
        (
            Box::new(|s| s.conds.pop().map(|_| ()).unwrap()),
            "conditions",
        ),
        (
            Box::new(|s| {
                s.conds[2].op = abi::OP_MASK | abi::OP_NOT;
            }),
            "operator",
        ),
        (
            Box::new(|s| s.rules.extend(vec![s.rules[1]; 1024])),
            "rules",
        ),
    ];
    for (f, needle) in checks {
        let m = refused(f);
        assert!(m.contains(needle), "{m} (wanted {needle})");
    }
}
