//! Loading the capture program: checks that say what to do when this
//! kernel or process cannot run it (no BTF, missing capabilities, kernel
//! lockdown, an old kernel), libbpf's messages routed to the log, and the
//! choice of attach type (`tp_btf` where the kernel has BTF-enabled raw
//! tracepoints, `raw_tp` otherwise).

use std::collections::VecDeque;
use std::sync::{Mutex, Once};

use libbpf_rs::{ErrorKind, Object, ObjectBuilder, PrintLevel};
use nix::errno::Errno;

use super::layout::SLOTS;
use crate::device::DeviceError;

/// The CO-RE object `build.rs` compiles from `bpf/sagafs.bpf.c`.
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sagafs.bpf.o"));

/// How the programs attach to sys_enter/sys_exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// BTF-enabled raw tracepoints (`tp_btf`).
    TpBtf,
    /// Plain raw tracepoints (`raw_tp`).
    RawTp,
}

impl Attach {
    pub fn as_str(self) -> &'static str {
        match self {
            Attach::TpBtf => "tp_btf",
            Attach::RawTp => "raw_tp",
        }
    }

    /// Program names of (sys_enter, sys_exit).
    pub fn programs(self) -> (&'static str, &'static str) {
        match self {
            Attach::TpBtf => ("sagafs_enter_btf", "sagafs_exit_btf"),
            Attach::RawTp => ("sagafs_enter_raw", "sagafs_exit_raw"),
        }
    }
}

/// The last warnings libbpf printed (the verifier's reasons), kept for
/// the error message of a failed load.
static LIBBPF_LOG: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
const LOG_LINES: usize = 6;

fn libbpf_print(level: PrintLevel, msg: String) {
    let msg = msg.trim_end();
    log::debug!("libbpf: {msg}");
    if level == PrintLevel::Warn {
        if let Ok(mut q) = LIBBPF_LOG.lock() {
            for line in msg.lines().filter(|l| !l.trim().is_empty()) {
                if q.len() == LOG_LINES {
                    q.pop_front();
                }
                q.push_back(line.trim().to_string());
            }
        }
    }
}

fn take_libbpf_log() -> String {
    match LIBBPF_LOG.lock() {
        Ok(mut q) => q.drain(..).collect::<Vec<_>>().join(" | "),
        Err(_) => String::new(),
    }
}

/// The errno of a libbpf error.
pub fn errno_of(e: &libbpf_rs::Error) -> Errno {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(n) = io.raw_os_error() {
                return Errno::from_raw(n);
            }
        }
        src = s.source();
    }
    match e.kind() {
        ErrorKind::PermissionDenied => Errno::EPERM,
        ErrorKind::NotFound => Errno::ENOENT,
        ErrorKind::InvalidInput | ErrorKind::InvalidData => Errno::EINVAL,
        ErrorKind::Unsupported => Errno::EOPNOTSUPP,
        ErrorKind::OutOfMemory => Errno::ENOMEM,
        _ => Errno::EIO,
    }
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// (major, minor) of the running kernel.
fn kernel_version() -> Option<(u32, u32)> {
    let rel = kernel_release();
    let mut it = rel.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// What makes loading impossible before trying, with what to do.
pub fn preflight() -> Result<(), DeviceError> {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Err(DeviceError::new(
            Errno::ENOENT,
            format!(
                "BPF backend: this kernel ({}) has no BTF type information \
                 (/sys/kernel/btf/vmlinux missing; it needs CONFIG_DEBUG_INFO_BTF=y): \
                 use the kernel module (backend=module) or a kernel built with BTF",
                kernel_release()
            ),
        ));
    }
    let caps = effective_caps().unwrap_or(0);
    let has = |c: u32| caps & (1u64 << c) != 0;
    if !(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) {
        return Err(DeviceError::new(
            Errno::EPERM,
            "BPF backend: loading the capture program needs CAP_BPF and CAP_PERFMON \
             (or CAP_SYS_ADMIN): run sagafs as root",
        ));
    }
    if let Ok(l) = std::fs::read_to_string("/sys/kernel/security/lockdown") {
        if l.contains("[confidentiality]") {
            return Err(DeviceError::new(
                Errno::EPERM,
                "BPF backend: the kernel is locked down in confidentiality mode, which \
                 forbids BPF programs to read kernel memory: boot with lockdown=integrity \
                 (or none), or use a signed sagafs module (backend=module)",
            ));
        }
    }
    Ok(())
}

fn open_load(attach: Attach, nr_cpus: u32) -> libbpf_rs::Result<Object> {
    static PRINT: Once = Once::new();
    PRINT.call_once(|| {
        libbpf_rs::set_print(Some((PrintLevel::Debug, libbpf_print)));
    });
    let mut open = ObjectBuilder::default()
        .name("sagafs")?
        .open_memory(OBJECT)?;
    for mut m in open.maps_mut() {
        let name = m.name().to_string_lossy().into_owned();
        match name.as_str() {
            "rings" | "cpus" => m.set_max_entries(nr_cpus)?,
            "counts" => m.set_max_entries(nr_cpus * SLOTS as u32)?,
            _ => {}
        }
    }
    let (enter, exit) = attach.programs();
    for mut p in open.progs_mut() {
        let keep = p.name() == enter || p.name() == exit;
        p.set_autoload(keep);
    }
    open.load()
}

fn load_error(attach: Attach, e: &libbpf_rs::Error) -> DeviceError {
    let errno = errno_of(e);
    let detail = take_libbpf_log();
    let release = kernel_release();
    // The capabilities were checked before: EACCES and EINVAL come from
    // the verifier (its reason is in the libbpf lines), EPERM from a
    // security module or lockdown.
    let hint = match (errno, kernel_version()) {
        (_, Some(v)) if v < (5, 15) => format!(
            "Linux {release} is too old for the BPF backend: it needs 5.15 or later \
             with BTF; use the kernel module (backend=module)"
        ),
        (Errno::EPERM, _) => format!(
            "Linux {release} forbids it: a security module or lockdown may forbid BPF; \
             use the kernel module (backend=module)"
        ),
        (Errno::EACCES | Errno::EINVAL, _) => format!(
            "the BPF verifier of Linux {release} rejected the program: please report \
             this with the lines below, and use the kernel module (backend=module)"
        ),
        _ => format!("Linux {release} refused it"),
    };
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" [libbpf: {detail}]")
    };
    DeviceError::new(
        errno,
        format!(
            "BPF backend: loading the capture program ({}) failed: {e}: {hint}{detail}",
            attach.as_str()
        ),
    )
}

/// Loads the programs for `nr_cpus` rings: `tp_btf` unless `raw_tp` is
/// forced or the kernel refuses it, then `raw_tp`.
pub fn load(nr_cpus: u32, force_raw: bool) -> Result<(Object, Attach), DeviceError> {
    preflight()?;
    let mut first = None;
    if !force_raw {
        match open_load(Attach::TpBtf, nr_cpus) {
            Ok(o) => return Ok((o, Attach::TpBtf)),
            Err(e) => {
                let err = load_error(Attach::TpBtf, &e);
                log::info!("{err}; trying raw tracepoints");
                first = Some(err);
            }
        }
    }
    open_load(Attach::RawTp, nr_cpus)
        .map(|o| (o, Attach::RawTp))
        .map_err(|e| {
            let err = load_error(Attach::RawTp, &e);
            match first {
                Some(f) => DeviceError::new(err.errno(), format!("{f}; then {err}")),
                None => err,
            }
        })
}
