//! A realistic mix of records for the benchmarks: two reads for each
//! openat, a handful of processes, now and then bytes that need escaping
//! and a cut path.

use sagafs::record::Builder;

const PATHS: [&[u8]; 6] = [
    b"/etc/ld.so.cache",
    b"/usr/lib/x86_64-linux-gnu/libc.so.6",
    b"/proc/self/status",
    b"/home/user/projects/sagafs/target/release/deps/libsagafs-0123456789abcdef.rlib",
    b"/var/log/syslog",
    b"/usr/share/locale/locale.alias",
];

/// The `i`-th record of the mix, on CPU `i % 2`, at `time_ns`.
pub fn record(i: u64, time_ns: u64) -> Builder {
    let mut r = Builder::new((i % 2) as u32, time_ns);
    r.pid = 1000 + (i % 7) as u32;
    r.tid = r.pid;
    r.ns_pid = r.pid;
    r.ns_tid = r.tid;
    r.uid = 1000;
    r.gid = 1000;
    r.comm = [&b"bash"[..], b"cargo", b"rustc", b"sshd"][(i % 4) as usize].to_vec();
    if i % 3 == 0 {
        let p = r.paths[0].as_mut().expect("Builder::new has a path");
        p.bytes = PATHS[(i / 3 % 6) as usize].to_vec();
        r.args = [0xffff_ff9c, 0x7ffd_2a10_0000 + i, 0x80000, 0, 0, 0];
        r.ret = if i % 9 == 0 { -2 } else { 3 };
        if i % 97 == 0 {
            p.bytes = b"/tmp/a b\"\xff\xe2\x80\xae=,\\".to_vec();
            p.truncated = true;
            r.comm = b"we ird\n".to_vec();
        }
    } else {
        r.nr = 0; // read
        r.paths = [None, None];
        r.args = [3, 0x5555_5555_0000 + i, 4096, 0, 0, 0];
        r.ret = 4096;
    }
    r
}
