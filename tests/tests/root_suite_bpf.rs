//! The shared behaviour suite (tests/src/suite.rs) against the eBPF
//! backend on this machine's kernel (root and BTF; every case fails,
//! saying why, where the backend cannot load).  `make test` runs it as
//! root on the host when the kernel has BTF, and in the VM (the bpf
//! component of tests/vm/suite.sh).

use std::path::PathBuf;
use std::sync::Arc;

use sagafs::device::bpf::{BpfBackend, BpfOptions};
use sagafs_tests::suite::{Bed, Runner};

fn bed() -> Bed {
    let b = BpfBackend::open(BpfOptions::default())
        .unwrap_or_else(|e| panic!("the BPF backend cannot run here (root and BTF needed): {e}"));
    Bed {
        backend: Arc::new(b),
        runner: Runner::Process(PathBuf::from(env!("CARGO_BIN_EXE_sagafs-marked"))),
    }
}

sagafs_tests::suite_tests!(bed());
