//! The daemon's outputs (log files, journal, remote collector): started
//! from the settings, replaced when the configuration changes them, fed
//! by the collector after every drain, and the retained log reloaded
//! from the log files when the daemon starts.
//!
//! Feeding never blocks the collector: each output has its own bounded
//! queue (`output::Output`).  While a configuration change replaces the
//! outputs, the collector does not wait for it either: its batches wait
//! in a bounded list and go to the new outputs; what does not fit is
//! handed on as `queue_full` notices, so it is counted where the
//! outputs' readers look.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::errors::ErrorLog;
use super::hub::Hub;
use crate::config::OutputSettings;
use crate::format::DropReason;
use crate::output::batch::{Batch, Builder, Entry, Tally};
use crate::output::file::{self, FileSink};
use crate::output::journal::JournalSink;
use crate::output::syslog::SyslogSink;
use crate::output::{Output, Outputs, Sink, QUEUE_BYTES_DEFAULT};
use crate::record::Items;

/// Bytes of batches kept while the outputs are being replaced.
const PENDING_MAX: usize = 16 << 20;

/// Outputs made but not started: each one's name and work.
pub type Sinks = Vec<(&'static str, Box<dyn Sink>)>;

/// The sinks `o` asks for, with their names; none started yet.  Fails
/// (with the reason) only where a setting cannot work.
pub fn sinks(o: &OutputSettings) -> Result<Sinks, String> {
    let mut v: Sinks = Vec::new();
    if let Some(c) = o.file() {
        v.push(("file", Box::new(FileSink::new(c))));
    }
    if let Some(c) = o.journal() {
        v.push(("journal", Box::new(JournalSink::new(c))));
    }
    if let Some(c) = o.remote() {
        v.push(("remote", Box::new(SyslogSink::new(c)?)));
    }
    Ok(v)
}

/// Starts `sinks`, each on its own thread.
pub fn spawn(sinks: Sinks) -> Result<Outputs, String> {
    let mut outs = Outputs::default();
    for (name, sink) in sinks {
        let o = Output::spawn(name, sink, QUEUE_BYTES_DEFAULT)
            .map_err(|e| format!("cannot start the {name} output's thread: {e}"))?;
        outs.push(o);
    }
    Ok(outs)
}

#[derive(Default)]
struct Pending {
    batches: Vec<Arc<Batch>>,
    bytes: usize,
    /// Records that did not fit, per CPU.
    overflow: Tally,
}

/// The outputs and the collector's way to them.
#[derive(Default)]
pub struct Feed {
    outputs: RwLock<Outputs>,
    pending: Mutex<Pending>,
}

impl Feed {
    pub fn new(outputs: Outputs) -> Feed {
        Feed {
            outputs: RwLock::new(outputs),
            pending: Mutex::default(),
        }
    }

    /// Hands one drain's items to every output; never waits.
    pub fn submit(&self, items: &Items) {
        if items.is_empty() {
            return;
        }
        let Some(outs) = self.outputs.try_read() else {
            // Being replaced: keep the batch for the new outputs.
            let mut b = Builder::default();
            b.items(items);
            let batch = b.finish();
            let mut p = self.pending.lock();
            if p.bytes + batch.bytes().len() > PENDING_MAX {
                p.overflow.merge(batch.records());
            } else {
                p.bytes += batch.bytes().len();
                p.batches.push(batch);
            }
            return;
        };
        let mut p = self.pending.lock();
        if outs.is_empty() {
            // Turned off while they waited: nobody to give them to.
            if !p.batches.is_empty() || !p.overflow.is_empty() {
                *p = Pending::default();
            }
            return;
        }
        for b in p.batches.drain(..) {
            outs.submit(&b);
        }
        p.bytes = 0;
        let mut b = Builder::default();
        if !p.overflow.is_empty() {
            for (cpu, n) in p.overflow.iter() {
                b.lost(crate::clock::now_ns(), cpu, n, DropReason::QueueFull);
            }
            p.overflow = Tally::default();
        }
        drop(p);
        b.items(items);
        outs.submit(&b.finish());
    }

    /// Replaces the outputs with `sinks`: the old ones finish what they
    /// were given (flush, spool) before the new ones start, so that two
    /// never write the same files at once.  Meanwhile the collector's
    /// batches wait for the new ones (see `submit`).
    pub fn replace(&self, sinks: Sinks) -> Result<(), String> {
        let mut g = self.outputs.write();
        std::mem::take(&mut *g).stop();
        *g = spawn(sinks)?;
        Ok(())
    }

    /// Stops every output after it finished its queue.
    pub fn stop(&self) {
        // No sink: nothing to start, nothing to fail.
        let _ = self.replace(Vec::new());
    }

    /// The content of `outputs` (text) or `outputs.json`.
    pub fn render(&self, json: bool) -> Vec<u8> {
        let outs = self.outputs.read();
        if outs.is_empty() {
            return if json {
                Vec::new()
            } else {
                b"# no outputs: set log_dir, journal or remote in config (see sagafs(5))\n".to_vec()
            };
        }
        if json {
            outs.render_json()
        } else {
            outs.render_text()
        }
    }
}

/// Fills retention with what the log files under `o.log_dir` hold (the
/// newest `retain` bytes of it), as a restarted daemon serves the log it
/// served before.  Problems (a torn end, an unreadable file) go to
/// `errors`; what was read is kept.
///
/// Returns, per CPU, the seq the files' next record would carry: the
/// last record's seq plus one plus the records counted dropped after it.
/// A daemon killed between draining records and writing them leaves a
/// gap between that and what the rings hold; the consumer reports it as
/// dropped (`Consumer::resume`).
pub fn reload(o: &OutputSettings, retain: u64, hub: &Hub, errors: &ErrorLog) -> Vec<Option<u64>> {
    let mut next: Vec<Option<u64>> = Vec::new();
    let Some(c) = o.file() else { return next };
    let mut items = Items::new();
    let mut bad = 0u64;
    let r = file::read_back(&c.dir, Some(retain), |e, bytes| match e {
        Entry::Record(r) => {
            if items.push_record(bytes).is_err() {
                bad += 1;
                return;
            }
            let cpu = r.cpu as usize;
            if cpu >= next.len() {
                // CPU numbers of validated records: at most nr_cpu_ids.
                next.resize(cpu + 1, None);
            }
            next[cpu] = Some(r.seq + 1);
        }
        Entry::Lost {
            time_ns,
            cpu,
            count,
            ..
        } => {
            items.push_dropped(cpu, count, time_ns);
            if let Some(Some(n)) = next.get_mut(cpu as usize) {
                *n += count;
            }
        }
    });
    match r {
        Ok(rb) => {
            for p in &rb.problems {
                errors.push(&format!("reloading the log files: {p}"));
            }
            if bad > 0 {
                errors.push(&format!(
                    "reloading the log files: {bad} records did not validate and were left out"
                ));
            }
            log::info!(
                "reloaded {} records from {} log files in {}",
                rb.records,
                rb.files,
                c.dir.display()
            );
        }
        Err(e) => errors.push(&format!("reloading the log files failed: {e}")),
    }
    hub.publish(&items);
    next
}
