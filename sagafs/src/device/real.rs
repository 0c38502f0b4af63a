//! `Device`: the real `/dev/sagafs`: open with the ABI check, every ioctl
//! through nix's generated calls, the mmap of the two ring regions and
//! poll(2) on the device file.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use memmap2::MmapOptions;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

use super::ioctl;
use super::ring::{RingConsumer, RingMem};
use super::{wait, Backend, Consumer, DeviceError, Rings, Stats, Waiter, Wake};
use crate::abi::{self, sagafs_config, sagafs_counts, sagafs_cpu_stats, sagafs_info};

/// An open `/dev/sagafs` whose ABI version matches this build.
#[derive(Debug)]
pub struct Device {
    fd: Arc<OwnedFd>,
    path: String,
    nr_cpus: u32,
}

struct FdWaiter(Arc<OwnedFd>);

impl Waiter for FdWaiter {
    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        wait::poll_wait(self.0.as_fd(), stop, timeout)
    }
}

impl Device {
    /// Opens the device read-write and checks its ABI version.
    pub fn open(path: impl AsRef<Path>) -> Result<Device, DeviceError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let fd = open(path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| DeviceError::open(&shown, e))?;
        let st = fstat(&fd).map_err(|e| DeviceError::open(&shown, e))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFCHR {
            return Err(DeviceError::new(
                Errno::ENOTTY,
                format!("{shown} is not a character device: not the sagafs device"),
            ));
        }
        let mut version = 0u32;
        // SAFETY: `fd` is an open file and `version` a valid u32 the
        // request writes.
        unsafe { ioctl::abi_version(fd.as_raw_fd(), &mut version) }.map_err(|e| {
            if e == Errno::ENOTTY {
                DeviceError::new(
                    e,
                    format!(
                        "{shown} does not answer SAGAFS_IOC_ABI_VERSION: not the sagafs device"
                    ),
                )
            } else {
                DeviceError::request("ABI_VERSION", e)
            }
        })?;
        if version != abi::ABI_VERSION {
            return Err(DeviceError::abi_mismatch(version));
        }
        let mut dev = Device {
            fd: Arc::new(fd),
            path: shown,
            nr_cpus: 0,
        };
        dev.nr_cpus = dev.info()?.nr_cpus;
        Ok(dev)
    }

    /// Opens `/dev/sagafs`.
    pub fn open_default() -> Result<Device, DeviceError> {
        Device::open(abi::DEVICE_PATH)
    }

    /// The path the device was opened from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Maps the rings (the concrete type behind [`Backend::map`]).
    pub fn map_rings(&self) -> Result<Rings, DeviceError> {
        let info = self.info()?;
        let fd = self.fd.as_raw_fd();
        let mapped = |e: io::Error, region: &str| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            if errno == Errno::EBUSY {
                let pid = self.info().map(|i| i.consumer_pid).unwrap_or(0);
                DeviceError::busy(pid)
            } else {
                DeviceError::new(
                    errno,
                    format!("cannot map the ring {region} region: {}", errno.desc()),
                )
            }
        };
        // SAFETY: a MAP_SHARED mapping of the device's control pages, at
        // the offset and length the device reported. Its contents change
        // under us; `RingMem` accesses it only through atomics.
        let mut ctrl = unsafe {
            MmapOptions::new()
                .offset(info.ctrl_offset)
                .len(info.ctrl_len as usize)
                .map_mut(fd)
        }
        .map_err(|e| mapped(e, "control"))?;
        // SAFETY: a read-only MAP_SHARED mapping of the data areas; its
        // bytes are only copied out by `RingMem`, within bounds.
        let data = unsafe {
            MmapOptions::new()
                .offset(info.data_offset)
                .len(info.data_len as usize)
                .map(fd)
        }
        .map_err(|e| mapped(e, "data"))?;
        // SAFETY: `check_info` proved both mappings cover nr_cpus strides
        // and nr_cpus rings; they are page aligned; `Rings` keeps them
        // (in `keep`) until after the consumer is dropped.
        let mem = unsafe {
            RingMem::new(
                ctrl.as_mut_ptr(),
                info.ctrl_stride as usize,
                data.as_ptr(),
                info.ring_size as usize,
                info.nr_cpus as usize,
            )
        };
        let consumer = RingConsumer::new(mem);
        Ok(Rings::new(
            consumer,
            Arc::new(FdWaiter(self.fd.clone())),
            Box::new((ctrl, data)),
        ))
    }
}

/// Rejects a GET_INFO answer this binding cannot use safely.
pub(crate) fn check_info(i: &sagafs_info) -> Result<(), DeviceError> {
    let bad = |what: String| Err(DeviceError::protocol(what));
    let page = i.page_size as u64;
    let cpus = i.nr_cpus as u64;
    if i.abi_version != abi::ABI_VERSION {
        return Err(DeviceError::abi_mismatch(i.abi_version));
    }
    if cpus == 0 || cpus > 65536 {
        return bad(format!("{cpus} rings"));
    }
    if !page.is_power_of_two() || page < 4096 {
        return bad(format!("a page size of {page}"));
    }
    let ring = i.ring_size;
    if !ring.is_power_of_two()
        || ring < abi::RING_KB_MIN as u64 * 1024
        || ring > abi::RING_KB_MAX as u64 * 1024
    {
        return bad(format!("a ring size of {ring} bytes"));
    }
    if i.ctrl_stride < size_of::<abi::sagafs_ring_ctrl>() as u64 || i.ctrl_stride % page != 0 {
        return bad(format!("a control stride of {}", i.ctrl_stride));
    }
    if i.ctrl_offset % page != 0 || i.data_offset % page != 0 {
        return bad("region offsets not page aligned".to_string());
    }
    if cpus
        .checked_mul(i.ctrl_stride)
        .map_or(true, |n| i.ctrl_len < n)
    {
        return bad(format!("a control region of {} bytes", i.ctrl_len));
    }
    if cpus.checked_mul(ring).map_or(true, |n| i.data_len < n) || i.data_len > isize::MAX as u64 {
        return bad(format!("a data region of {} bytes", i.data_len));
    }
    if i.record_align as usize != abi::RECORD_ALIGN || i.record_max as usize != abi::RECORD_MAX {
        return bad(format!(
            "record alignment {} and maximum {} (expected {} and {})",
            i.record_align,
            i.record_max,
            abi::RECORD_ALIGN,
            abi::RECORD_MAX
        ));
    }
    Ok(())
}

impl Backend for Device {
    fn info(&self) -> Result<sagafs_info, DeviceError> {
        let mut info = sagafs_info {
            size: size_of::<sagafs_info>() as u32,
            ..Default::default()
        };
        // SAFETY: `info` is a valid sagafs_info the request reads and writes.
        unsafe { ioctl::get_info(self.fd.as_raw_fd(), &mut info) }
            .map_err(|e| DeviceError::request("GET_INFO", e))?;
        check_info(&info)?;
        Ok(info)
    }

    fn config(&self) -> Result<sagafs_config, DeviceError> {
        let mut cfg = sagafs_config::default();
        // SAFETY: `cfg` is a valid sagafs_config the request reads and writes.
        unsafe { ioctl::get_config(self.fd.as_raw_fd(), &mut cfg) }
            .map_err(|e| DeviceError::request("GET_CONFIG", e))?;
        Ok(cfg)
    }

    fn set_config(&self, cfg: &sagafs_config) -> Result<(), DeviceError> {
        let mut c = *cfg;
        c.size = size_of::<sagafs_config>() as u32;
        // SAFETY: `c` is a valid sagafs_config the request only reads.
        unsafe { ioctl::set_config(self.fd.as_raw_fd(), &c) }
            .map_err(|e| DeviceError::request("SET_CONFIG", e))?;
        Ok(())
    }

    fn stats(&self) -> Result<Stats, DeviceError> {
        let n = self.nr_cpus as usize;
        let mut cpus = vec![sagafs_cpu_stats::default(); n];
        let mut sys = vec![sagafs_counts::default(); abi::NR_ABIS * abi::NR_SLOTS];
        let mut s = abi::sagafs_stats {
            size: size_of::<abi::sagafs_stats>() as u32,
            nr_cpus: n as u32,
            nr_slots: abi::NR_SLOTS as u32,
            cpus: cpus.as_mut_ptr() as u64,
            syscalls: sys.as_mut_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: `s` is valid; its pointers address `cpus` (nr_cpus
        // entries) and `sys` (NR_ABIS * nr_slots entries), which outlive
        // the call, and the kernel fills at most those capacities.
        unsafe { ioctl::get_stats(self.fd.as_raw_fd(), &mut s) }
            .map_err(|e| DeviceError::request("GET_STATS", e))?;
        cpus.truncate((s.nr_cpus as usize).min(n));
        let slots = (s.nr_slots as usize).min(abi::NR_SLOTS);
        let syscalls = sys
            .chunks(abi::NR_SLOTS)
            .map(|c| c[..slots].to_vec())
            .collect();
        Ok(Stats {
            total: s.total,
            bytes: s.bytes,
            bad_tail: s.bad_tail,
            skip_unflagged: s.skip_unflagged,
            reset_ns: s.reset_ns,
            enabled_ns: s.enabled_ns,
            cpus,
            syscalls,
        })
    }

    fn reset_stats(&self) -> Result<(), DeviceError> {
        // SAFETY: a request without argument on an open file.
        unsafe { ioctl::reset_stats(self.fd.as_raw_fd()) }
            .map_err(|e| DeviceError::request("RESET_STATS", e))?;
        Ok(())
    }

    fn map(&self) -> Result<Box<dyn Consumer>, DeviceError> {
        Ok(Box::new(self.map_rings()?))
    }

    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        wait::poll_wait(self.fd.as_fd(), stop, timeout)
    }
}
