//! The shared behaviour suite (tests/src/suite.rs) against the device
//! double: no privilege needed.  `make test` runs it and counts it on its
//! own line.

use std::sync::Arc;

use sagafs::device::double::DeviceDouble;
use sagafs_tests::suite::{Bed, Runner};

fn bed() -> Bed {
    let dev = DeviceDouble::new(2, 64);
    Bed {
        backend: Arc::new(dev.clone()),
        runner: Runner::Double(dev),
    }
}

sagafs_tests::suite_tests!(bed());
