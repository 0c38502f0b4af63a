//! `DeviceError`: what went wrong talking to the device, with the errno
//! kept for callers that map it (FUSE replies, mount helper exit codes) and
//! a message a person can act on.

use std::fmt;
use std::io;

use nix::errno::Errno;

use crate::abi;

/// An error from the device or its double.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceError {
    errno: Errno,
    message: String,
}

impl DeviceError {
    /// An error with an errno and a complete, human readable message.
    pub fn new(errno: Errno, message: impl Into<String>) -> Self {
        DeviceError {
            errno,
            message: message.into(),
        }
    }

    /// The errno behind the error (`EPROTO` for an ABI mismatch or a
    /// device that reports nonsense).
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The errno as a raw number, like `io::Error::raw_os_error`.
    pub fn raw_os_error(&self) -> Option<i32> {
        Some(self.errno as i32)
    }

    /// The message without the errno suffix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error of a failed `open(path)`.
    pub(crate) fn open(path: &str, errno: Errno) -> Self {
        let msg = match errno {
            Errno::ENOENT | Errno::ENODEV | Errno::ENXIO => {
                format!("{path} not found: is the sagafs module loaded? (modprobe sagafs)")
            }
            Errno::EACCES | Errno::EPERM => {
                format!("{path}: permission denied: sagafs needs root (CAP_SYS_ADMIN)")
            }
            e => format!("cannot open {path}: {}", e.desc()),
        };
        DeviceError::new(errno, msg)
    }

    /// The error of a failed request `what` (e.g. "SET_CONFIG").
    pub(crate) fn request(what: &str, errno: Errno) -> Self {
        let msg = match errno {
            Errno::EPERM | Errno::EACCES => {
                format!("{what}: permission denied: changing sagafs needs root (CAP_SYS_ADMIN)")
            }
            Errno::EINVAL if what == "SET_CONFIG" => {
                "SET_CONFIG: the module rejected the configuration; nothing was changed".to_string()
            }
            Errno::EBUSY if what == "SET_CONFIG" => "SET_CONFIG: ring_kb can change only while \
                 capture is off and no consumer maps the rings; nothing was changed"
                .to_string(),
            Errno::E2BIG => format!(
                "{what}: the module is older than this sagafs and does not know some \
                 fields set here; nothing was changed"
            ),
            Errno::ENOTTY => format!(
                "{what}: the module does not know this request: install matching versions \
                 of sagafs.ko and sagafs"
            ),
            e => format!("{what}: {}", e.desc()),
        };
        DeviceError::new(errno, msg)
    }

    /// The module speaks another ABI version.
    pub(crate) fn abi_mismatch(module: u32) -> Self {
        DeviceError::new(
            Errno::EPROTO,
            format!(
                "sagafs.ko speaks ABI {module}, this sagafs speaks ABI {}: install matching versions",
                abi::ABI_VERSION
            ),
        )
    }

    /// The device reported something that cannot be right.
    pub(crate) fn protocol(what: impl fmt::Display) -> Self {
        DeviceError::new(
            Errno::EPROTO,
            format!("the sagafs module reported {what}: install matching versions"),
        )
    }

    /// Mapping failed because another file maps the rings.
    pub(crate) fn busy(pid: u32) -> Self {
        let who = if pid == 0 {
            "another consumer".to_string()
        } else {
            format!("another consumer (pid {pid})")
        };
        DeviceError::new(
            Errno::EBUSY,
            format!("{who} maps the rings: only one reader at a time (is another sagafs running?)"),
        )
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeviceError {}

impl From<DeviceError> for io::Error {
    fn from(e: DeviceError) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(e.errno as i32).kind(), e)
    }
}
