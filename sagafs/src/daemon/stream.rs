//! The live stream behind `pipe`: one [`StreamReader`] per open handle
//! (a cursor into the retention buffer plus rendered bytes not yet
//! returned), and the [`BlockedReads`] server that answers reads which
//! found nothing, from its own thread, so that no FUSE session thread ever
//! blocks.
//!
//! While a read waits, the server checks about every 100 ms whether the
//! calling thread has a signal pending (`/proc/TID/status`) and then
//! answers `EINTR`: the kernel's FUSE interrupts are not implemented by
//! fuser, so this is how Ctrl-C on `cat pipe` returns promptly.  With no
//! read waiting, the server sleeps on a condition variable without a
//! timeout: an idle daemon uses no CPU.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use parking_lot::Mutex;

use super::hub::{now_ns, Hub};
use super::retention::Cursor;
use crate::format::{DropReason, Format};

/// Entries rendered per step.
const BATCH: usize = 1024;
/// How often a waiting read checks its caller for pending signals.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Answers one read: the bytes, or an errno.
pub type ReadReply = Box<dyn FnOnce(Result<Vec<u8>, Errno>) + Send>;

/// One reader of the live stream.
pub struct StreamReader {
    cursor: Cursor,
    out: Vec<u8>,
    format: Format,
}

impl StreamReader {
    /// A reader that sees what is published from now on.
    pub fn new(hub: &Hub, format: Format) -> StreamReader {
        StreamReader {
            cursor: hub.retention.lock().cursor_at_end(),
            out: Vec::new(),
            format,
        }
    }

    /// Whether a read would return data now.
    pub fn ready(&self, hub: &Hub) -> bool {
        !self.out.is_empty() || hub.retention.lock().has_data(&self.cursor)
    }

    /// Up to `size` bytes of new lines, or `None` when there is nothing.
    /// A line longer than `size` is returned over several reads.
    pub fn read(&mut self, hub: &Hub, size: usize) -> Option<Vec<u8>> {
        let size = size.max(1);
        while self.out.len() < size {
            let batch = hub.retention.lock().read_from(&mut self.cursor, BATCH);
            if batch.is_empty() && batch.missed.is_empty() {
                break;
            }
            if !batch.missed.is_empty() {
                let now = now_ns();
                for (cpu, n) in &batch.missed {
                    hub.reader_behind.fetch_add(*n, Ordering::Relaxed);
                    self.format
                        .dropped(&mut self.out, now, *cpu, *n, DropReason::ReaderBehind);
                }
            }
            for e in batch.entries() {
                self.format.item(&mut self.out, &e);
            }
        }
        if self.out.is_empty() {
            return None;
        }
        if self.out.len() <= size {
            return Some(std::mem::take(&mut self.out));
        }
        let rest = self.out.split_off(size);
        Some(std::mem::replace(&mut self.out, rest))
    }
}

struct Pending {
    stream: Arc<Mutex<StreamReader>>,
    size: usize,
    tid: u32,
    reply: ReadReply,
}

/// The server of reads that wait for data.
pub struct BlockedReads {
    hub: Arc<Hub>,
    queue: Mutex<Vec<Pending>>,
}

impl BlockedReads {
    /// Starts the server thread.
    pub fn start(hub: Arc<Hub>) -> std::io::Result<(Arc<BlockedReads>, JoinHandle<()>)> {
        let server = Arc::new(BlockedReads {
            hub,
            queue: Mutex::new(Vec::new()),
        });
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("sagafs-pipe".into())
            .spawn(move || s.run())?;
        Ok((server, thread))
    }

    /// Queues a read that found nothing; it is answered once data comes,
    /// its caller gets a signal, or the daemon shuts down (end of file).
    pub fn wait(&self, stream: Arc<Mutex<StreamReader>>, size: usize, tid: u32, reply: ReadReply) {
        let mut w = self.hub.wait_lock.lock();
        if w.shutdown {
            drop(w);
            return reply(Ok(Vec::new()));
        }
        self.queue.lock().push(Pending {
            stream,
            size,
            tid,
            reply,
        });
        w.queued += 1;
        drop(w);
        self.hub.wait_cv.notify_all();
    }

    /// Reads waiting now.
    pub fn waiting(&self) -> usize {
        self.queue.lock().len()
    }

    fn run(&self) {
        let mut check_signals = false;
        loop {
            let (generation, queued) = {
                let w = self.hub.wait_lock.lock();
                if w.shutdown {
                    // Taken under the lock: `wait` queues nothing after this.
                    let pending = std::mem::take(&mut *self.queue.lock());
                    drop(w);
                    for p in pending {
                        (p.reply)(Ok(Vec::new()));
                    }
                    return;
                }
                (w.generation, w.queued)
            };
            let pending = std::mem::take(&mut *self.queue.lock());
            let mut kept = Vec::new();
            for p in pending {
                let data = p.stream.lock().read(&self.hub, p.size);
                match data {
                    Some(d) => (p.reply)(Ok(d)),
                    None if check_signals && signal_pending(p.tid) => (p.reply)(Err(Errno::EINTR)),
                    None => kept.push(p),
                }
            }
            let any = !kept.is_empty();
            if any {
                self.queue.lock().extend(kept);
            }
            let mut w = self.hub.wait_lock.lock();
            if w.generation != generation || w.queued != queued || w.shutdown {
                check_signals = false;
                continue;
            }
            // Decided under the lock publishers take: a publish after this
            // sees `serving` as set here.
            w.serving = any || !self.queue.lock().is_empty();
            if w.serving {
                check_signals = self.hub.wait_cv.wait_for(&mut w, SIGNAL_CHECK).timed_out();
            } else {
                self.hub.wait_cv.wait(&mut w);
                check_signals = false;
            }
        }
    }
}

/// Whether thread `tid` has a signal pending that it does not block (or
/// is gone, which also ends its wait).
pub fn signal_pending(tid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return true;
    };
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let pending = field("SigPnd:") | field("ShdPnd:");
    pending & !field("SigBlk:") != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Builder, Items};
    use std::sync::mpsc;

    fn recs(seqs: impl IntoIterator<Item = u64>) -> Items {
        Items::of(
            seqs.into_iter()
                .map(|s| Builder::numbered(0, s, 1_795_300_201_000_000_000 + s)),
        )
    }

    fn rec(seq: u64) -> Items {
        recs([seq])
    }

    #[test]
    fn reader_sees_only_what_comes_after_open_and_splits_long_output() {
        let hub = Hub::new(1 << 20);
        hub.publish(&rec(0));
        let mut s = StreamReader::new(&hub, Format::Text);
        assert!(!s.ready(&hub));
        assert!(s.read(&hub, 4096).is_none());
        hub.publish(&recs([1, 2]));
        assert!(s.ready(&hub));
        let a = s.read(&hub, 10).unwrap();
        assert_eq!(a.len(), 10);
        let b = s.read(&hub, 1 << 20).unwrap();
        let all = [a, b].concat();
        let text = String::from_utf8(all).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(" seq=1 "), "{}", lines[0]);
        assert!(lines[1].contains(" seq=2 "), "{}", lines[1]);
        assert!(s.read(&hub, 100).is_none());
    }

    #[test]
    fn blocked_read_is_answered_when_data_comes() {
        let hub = Arc::new(Hub::new(1 << 20));
        let (server, thread) = BlockedReads::start(hub.clone()).unwrap();
        let stream = Arc::new(Mutex::new(StreamReader::new(&hub, Format::Text)));
        let (tx, rx) = mpsc::channel();
        let me = nix::unistd::gettid().as_raw() as u32;
        server.wait(
            stream.clone(),
            4096,
            me,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        hub.publish(&rec(5));
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert!(String::from_utf8(got).unwrap().contains(" seq=5 "));
        // Shutdown ends a waiting read with end of file.
        let (tx, rx) = mpsc::channel();
        server.wait(stream, 4096, me, Box::new(move |r| tx.send(r).unwrap()));
        hub.shutdown();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Ok(Vec::new())
        );
        thread.join().unwrap();
        assert_eq!(server.waiting(), 0);
    }

    #[test]
    fn a_gone_caller_ends_the_wait() {
        let hub = Arc::new(Hub::new(1 << 20));
        let (server, _thread) = BlockedReads::start(hub.clone()).unwrap();
        let stream = Arc::new(Mutex::new(StreamReader::new(&hub, Format::Text)));
        let (tx, rx) = mpsc::channel();
        // No such thread: pid_max is at most 2^22.
        server.wait(
            stream,
            4096,
            0x7fff_fff0,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(r, Err(Errno::EINTR));
        hub.shutdown();
    }

    #[test]
    fn own_thread_has_no_signal_pending() {
        assert!(!signal_pending(nix::unistd::gettid().as_raw() as u32));
    }
}
