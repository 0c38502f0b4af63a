//! The collector: the one thread that owns the ring consumer.  It sleeps
//! in poll(2) on the device and on a wake pipe (no timeout: idle, it uses
//! no CPU), drains every ring when data comes, and publishes the items to
//! the hub and the outputs.  Commands come in through the wake pipe: stop, and re-arm the
//! rings for a new ring size (capture off, drain, unmap, SET_CONFIG with
//! capture off, map, capture on), which must happen where the consumer
//! lives.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::fcntl::OFlag;
use parking_lot::Mutex;

use super::errors::ErrorLog;
use super::hub::Hub;
use super::outputs::Feed;
use crate::abi;
use crate::device::{sagafs_config, set_capture, Backend, Consumer, DeviceError, Wake};
use crate::record::Items;

/// Drains in a row after one wake-up at most.
const DRAINS_PER_WAKE: usize = 64;

enum Command {
    Stop,
    Rearm {
        cfg: Box<sagafs_config>,
        done: mpsc::Sender<Result<(), DeviceError>>,
    },
}

/// Handle on the collector thread.
pub struct Collector {
    wake_w: OwnedFd,
    cmds: Arc<Mutex<VecDeque<Command>>>,
    thread: Option<JoinHandle<()>>,
}

struct Worker {
    backend: Arc<dyn Backend>,
    consumer: Option<Box<dyn Consumer>>,
    hub: Arc<Hub>,
    feed: Arc<Feed>,
    errors: Arc<ErrorLog>,
    wake_r: OwnedFd,
    cmds: Arc<Mutex<VecDeque<Command>>>,
    /// One drain's items, its memory kept from drain to drain.
    items: Items,
}

impl Collector {
    /// Starts collecting from an already mapped consumer.
    pub fn start(
        backend: Arc<dyn Backend>,
        consumer: Box<dyn Consumer>,
        hub: Arc<Hub>,
        feed: Arc<Feed>,
        errors: Arc<ErrorLog>,
    ) -> std::io::Result<Collector> {
        let (wake_r, wake_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        let cmds = Arc::new(Mutex::new(VecDeque::new()));
        let mut worker = Worker {
            backend,
            consumer: Some(consumer),
            hub,
            feed,
            errors,
            wake_r,
            cmds: cmds.clone(),
            items: Items::new(),
        };
        let thread = std::thread::Builder::new()
            .name("sagafs-collect".into())
            .spawn(move || worker.run())?;
        Ok(Collector {
            wake_w,
            cmds,
            thread: Some(thread),
        })
    }

    fn send(&self, c: Command) {
        self.cmds.lock().push_back(c);
        // A full pipe already wakes the thread: EAGAIN is fine.
        let _ = nix::unistd::write(&self.wake_w, b"x");
    }

    /// Re-arms the rings with `cfg` (a new ring size) and waits for the
    /// result.  Capture is off and the rings unmapped in between; what
    /// they held is drained and published first.
    pub fn rearm(&self, cfg: &sagafs_config) -> Result<(), DeviceError> {
        let (tx, rx) = mpsc::channel();
        self.send(Command::Rearm {
            cfg: Box::new(*cfg),
            done: tx,
        });
        rx.recv().unwrap_or_else(|_| {
            Err(DeviceError::new(
                nix::errno::Errno::EIO,
                "the collector thread is gone",
            ))
        })
    }

    /// Drains one last time and stops the thread.
    pub fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.send(Command::Stop);
            if t.join().is_err() {
                log::error!("the collector thread panicked");
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Worker {
    fn run(&mut self) {
        loop {
            let wake = match &self.consumer {
                Some(c) => c.wait(Some(self.wake_r.as_fd()), None),
                None => self.backend.wait(Some(self.wake_r.as_fd()), None),
            };
            match wake {
                Ok(Wake::Data) | Ok(Wake::Timeout) => {
                    // While records keep coming, drain again at once (as
                    // long as each drain finds some, and a bounded number
                    // of times so commands are not kept waiting).
                    for _ in 0..DRAINS_PER_WAKE {
                        if self.drain() == 0 {
                            break;
                        }
                    }
                }
                Ok(Wake::Stopped) => {
                    let mut buf = [0u8; 64];
                    while matches!(nix::unistd::read(&self.wake_r, &mut buf), Ok(n) if n > 0) {}
                    loop {
                        let cmd = self.cmds.lock().pop_front();
                        match cmd {
                            None => break,
                            Some(Command::Stop) => {
                                self.drain();
                                return;
                            }
                            Some(Command::Rearm { cfg, done }) => {
                                let r = self.rearm(&cfg);
                                let _ = done.send(r);
                            }
                        }
                    }
                }
                Err(e) => {
                    self.errors
                        .push(&format!("waiting on the capture device failed: {e}"));
                    // Do not spin on a persistent error; commands still work.
                    std::thread::sleep(Duration::from_secs(1));
                    self.drain();
                }
            }
        }
    }

    /// Drains the rings into retention and the outputs; returns the items
    /// published.
    fn drain(&mut self) -> usize {
        let Some(c) = self.consumer.as_mut() else {
            return 0;
        };
        self.items.clear();
        let n = c.drain(&mut self.items);
        self.hub.publish(&self.items);
        self.feed.submit(&self.items);
        n
    }

    fn rearm(&mut self, cfg: &sagafs_config) -> Result<(), DeviceError> {
        let was_on = self
            .backend
            .config()
            .map_or(true, |c| c.flags & abi::CFG_ENABLED != 0);
        set_capture(&*self.backend, false)?;
        self.drain();
        self.consumer = None;
        let mut off = *cfg;
        off.flags &= !abi::CFG_ENABLED;
        let applied = self.backend.set_config(&off);
        // Map again whatever happened, so capture can go on.
        match self.backend.map() {
            Ok(c) => self.consumer = Some(c),
            Err(e) => {
                self.errors.push(&format!(
                    "mapping the rings again failed, capture stopped: {e}"
                ));
                return Err(e);
            }
        }
        let enable = if applied.is_ok() {
            cfg.flags & abi::CFG_ENABLED != 0
        } else {
            was_on
        };
        if enable {
            set_capture(&*self.backend, true)?;
        }
        applied
    }
}
