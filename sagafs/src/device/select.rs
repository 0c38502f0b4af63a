//! Choosing the capture backend (`backend=auto|module|bpf`).
//!
//! `auto` takes the module when its device exists, or once
//! `modprobe sagafs` made it appear, and then its errors are the answer
//! (another ABI version, another consumer); otherwise the eBPF program.
//! When neither works, the error gives the reason of each, so that one
//! line says what to fix.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bpf::{BpfBackend, BpfOptions};
use super::{Backend, Device};
use sagafs_mount::options::BackendChoice;

const MODPROBE: &str = "/sbin/modprobe";
/// How long udev gets to create the node after the module loads.
const NODE_WAIT: Duration = Duration::from_secs(5);

/// Loads the module if `device` is missing; the reason if that fails.
fn load_module(device: &Path) -> Result<(), String> {
    if device.exists() {
        return Ok(());
    }
    if !Path::new("/proc/modules").exists() {
        return Err(format!(
            "{} is missing and this kernel cannot load modules",
            device.display()
        ));
    }
    let out = Command::new(MODPROBE).arg("sagafs").output().map_err(|e| {
        format!(
            "{} is missing and {MODPROBE} cannot run: {e}",
            device.display()
        )
    })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.trim();
        return Err(format!(
            "{} is missing and modprobe sagafs failed: {}",
            device.display(),
            if why.is_empty() {
                "no reason given"
            } else {
                why
            }
        ));
    }
    let start = Instant::now();
    while !device.exists() {
        if start.elapsed() > NODE_WAIT {
            return Err(format!(
                "the module is loaded but {} did not appear (is udev running?)",
                device.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Opens the backend `choice` asks for (`device`: the module's node).
pub fn open_backend(choice: BackendChoice, device: &Path) -> Result<Arc<dyn Backend>, String> {
    let module = || -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(Device::open(device).map_err(|e| e.to_string())?))
    };
    let bpf = || -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(
            BpfBackend::open(BpfOptions::default()).map_err(|e| e.to_string())?,
        ))
    };
    match choice {
        BackendChoice::Module => module(),
        BackendChoice::Bpf => bpf(),
        BackendChoice::Auto => {
            // A module that is there but refuses (another ABI version,
            // another consumer) is the answer: capturing with BPF beside
            // it would hide a broken install or run a second capture.
            let why_module = match load_module(device) {
                Ok(()) => return module(),
                Err(e) => e,
            };
            match bpf() {
                Ok(b) => {
                    log::info!("backend=auto: using the BPF backend ({why_module})");
                    Ok(b)
                }
                Err(why_bpf) => Err(format!(
                    "no capture backend works here: module: {why_module}; bpf: {why_bpf}"
                )),
            }
        }
    }
}
