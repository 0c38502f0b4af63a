//! The shared behaviour suite (tests/src/suite.rs) against the kernel
//! module, in the VM (tests/vm/suite.sh runs target/vm/bin/vm_*): needs
//! /dev/sagafs and root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sagafs::device::Device;
use sagafs_tests::suite::{Bed, Runner};

fn bed() -> Bed {
    let d = Device::open(Path::new("/dev/sagafs"))
        .unwrap_or_else(|e| panic!("the module's device cannot be opened: {e}"));
    Bed {
        backend: Arc::new(d),
        runner: Runner::Process(PathBuf::from(env!("CARGO_BIN_EXE_sagafs-marked"))),
    }
}

sagafs_tests::suite_tests!(bed());
