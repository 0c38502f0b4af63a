//! The daemon's state and threads, independent of FUSE: it arms the
//! device, runs the collector, keeps the retention buffer and the live
//! stream fan-out, applies configuration writes and assembles statistics.
//! `tree` serves files from it; `mount` wires it to a FUSE mount, and the
//! `sagafs` program (src/bin/sagafs) starts it.
//!
//! - `retention`: the bounded, indexed buffer of recent entries.
//! - `hub`: retention behind its lock, wake-ups for readers and pollers.
//! - `collector`: the thread that drains the rings.
//! - `stream`: `pipe` readers and the server of blocked reads.
//! - `errors`: the `errors` file.
//! - `outputs`: the log files, journal and remote outputs, fed by the
//!   collector; the reload of the log files at start.

pub mod collector;
pub mod errors;
pub mod hub;
pub mod outputs;
pub mod retention;
pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::errno::Errno;
use parking_lot::Mutex;

use crate::abi;
use crate::config::{self, RuleDefault, Settings};
use crate::device::{set_capture, Backend, DeviceError, Stats as DevStats};
use crate::error::Error;
use crate::format::stats as fstats;
use crate::rules::{self, RuleSet};
use collector::Collector;
use errors::ErrorLog;
use hub::{now_ns, Hub};
use outputs::Feed;
use stream::BlockedReads;

/// Rates are measured against a sample at least this old (ns), so two
/// reads in a row do not give a rate over a few microseconds.
const MIN_RATE_INTERVAL_NS: u64 = 1_000_000_000;

/// See the module documentation.
pub struct Daemon {
    backend: Arc<dyn Backend>,
    pub hub: Arc<Hub>,
    pub blocked: Arc<BlockedReads>,
    pub errors: Arc<ErrorLog>,
    feed: Arc<Feed>,
    settings: Mutex<Settings>,
    /// Serialises configuration changes (apply + device + retention).
    config_lock: Mutex<()>,
    collector: Mutex<Option<Collector>>,
    blocked_thread: Mutex<Option<JoinHandle<()>>>,
    prev_stats: Mutex<Option<(u64, DevStats)>>,
    config_mtime: AtomicU64,
}

fn retain_usize(r: u64) -> usize {
    usize::try_from(r).unwrap_or(usize::MAX)
}

impl Daemon {
    /// Arms the device with `settings` and starts collecting.
    ///
    /// Refuses, changing nothing, when another process maps the rings.
    /// Then, through SET_CONFIG alone: capture off, the new configuration
    /// with capture still off (a new ring size needs the rings unmapped
    /// and capture off), map, the configuration with capture on if
    /// `settings.enabled`.
    ///
    /// With log files configured, retention is first filled from them
    /// (what the daemon before this one logged), then the outputs start.
    pub fn start(
        backend: Arc<dyn Backend>,
        settings: Settings,
    ) -> Result<Arc<Daemon>, DeviceError> {
        let sinks = outputs::sinks(&settings.outputs)
            .map_err(|e| DeviceError::new(Errno::EINVAL, format!("outputs: {e}")))?;
        let info = backend.info()?;
        if info.consumer_pid != 0 {
            return Err(DeviceError::new(
                Errno::EBUSY,
                format!(
                    "the capture device is busy: another consumer (pid {}) maps the rings; \
                     stop it first (is another sagafs mounted?)",
                    info.consumer_pid
                ),
            ));
        }
        let kcfg = settings.to_kernel();
        let mut off = kcfg;
        off.flags &= !abi::CFG_ENABLED;
        set_capture(&*backend, false)?;
        backend.set_config(&off)?;
        backend.set_rules(&compiled(&settings)?)?;
        let mut consumer = backend.map()?;
        if kcfg.flags & abi::CFG_ENABLED != 0 {
            backend.set_config(&kcfg)?;
        }
        let hub = Arc::new(Hub::new(retain_usize(settings.retain)));
        let (blocked, blocked_thread) =
            BlockedReads::start(hub.clone()).map_err(|e| thread_error(&e))?;
        let errors = Arc::new(ErrorLog::default());
        let next = outputs::reload(&settings.outputs, settings.retain, &hub, &errors);
        for (cpu, seq) in next.iter().enumerate() {
            if let Some(seq) = *seq {
                if !consumer.resume(cpu as u32, seq) {
                    log::info!(
                        "cpu {cpu}: the log files end at seq {seq}, which the ring never \
                         reached (module loaded again?): no gap check"
                    );
                }
            }
        }
        let outs = outputs::spawn(sinks).map_err(|e| DeviceError::new(Errno::EAGAIN, e))?;
        let feed = Arc::new(Feed::new(outs));
        let collector = Collector::start(
            backend.clone(),
            consumer,
            hub.clone(),
            feed.clone(),
            errors.clone(),
        )
        .map_err(|e| thread_error(&e))?;
        let first = backend.stats().ok().map(|s| (now_ns(), s));
        Ok(Arc::new(Daemon {
            backend,
            hub,
            blocked,
            errors,
            feed,
            settings: Mutex::new(settings),
            config_lock: Mutex::new(()),
            collector: Mutex::new(Some(collector)),
            blocked_thread: Mutex::new(Some(blocked_thread)),
            prev_stats: Mutex::new(first),
            config_mtime: AtomicU64::new(now_ns()),
        }))
    }

    /// Stops everything: blocked reads get end of file, the collector
    /// drains a last time, capture is turned off (nobody reads it), the
    /// outputs finish their queues.  Idempotent.
    pub fn shutdown(&self) {
        self.hub.shutdown();
        if let Some(mut c) = self.collector.lock().take() {
            c.stop();
            if let Err(e) = set_capture(&*self.backend, false) {
                log::warn!("turning capture off at exit failed: {e}");
            }
        }
        if let Some(t) = self.blocked_thread.lock().take() {
            let _ = t.join();
        }
        self.feed.stop();
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings.lock().clone()
    }

    /// When the configuration last changed (CLOCK_REALTIME ns).
    pub fn config_mtime_ns(&self) -> u64 {
        self.config_mtime.load(Ordering::Acquire)
    }

    /// The content of `config`.
    pub fn config_text(&self) -> Vec<u8> {
        config::render(&self.settings.lock()).into_bytes()
    }

    /// Applies one configuration write atomically: parse and validate all
    /// of it, then one SET_CONFIG (or a re-arm of the rings for a new
    /// ring size), then the daemon's own settings.  On any error nothing
    /// changes, the reason goes to `errors` and the log, and comes back
    /// with its errno: EINVAL (EFBIG) for invalid input, the device's own
    /// errno (EBUSY, EPERM, ...) when it refuses.
    pub fn apply_config(&self, text: &[u8]) -> Result<(), Error> {
        let _serial = self.config_lock.lock();
        let cur = self.settings();
        let new = match config::apply(&cur, text) {
            Ok(s) => s,
            Err(e) => {
                return Err(self.refuse(
                    Errno::from_raw(e.errno),
                    format!("config: write refused, nothing changed: {e}"),
                ))
            }
        };
        // New outputs are made (not started) before anything changes.
        let sinks = if new.outputs != cur.outputs {
            match outputs::sinks(&new.outputs) {
                Ok(s) => Some(s),
                Err(e) => {
                    return Err(self.refuse(
                        Errno::EINVAL,
                        format!("config: write refused, nothing changed: {e}"),
                    ))
                }
            }
        } else {
            None
        };
        let rules_changed = new.rules != cur.rules || new.default != cur.default;
        if rules_changed {
            if let Err(e) = compiled(&new).and_then(|set| self.backend.set_rules(&set)) {
                return Err(self.refuse(
                    e.errno(),
                    format!("config: the capture device refused the rules, nothing changed: {e}"),
                ));
            }
        }
        let (kcur, knew) = (cur.to_kernel(), new.to_kernel());
        let applied = if knew.ring_kb != kcur.ring_kb {
            match self.collector.lock().as_ref() {
                Some(c) => c.rearm(&knew),
                None => Err(DeviceError::new(
                    Errno::ESHUTDOWN,
                    "sagafs is shutting down",
                )),
            }
        } else if knew != kcur {
            self.backend.set_config(&knew)
        } else {
            Ok(())
        };
        if let Err(e) = applied {
            if rules_changed {
                self.restore_rules(&cur);
            }
            return Err(self.refuse(
                e.errno(),
                format!("config: the capture device refused the change, nothing changed: {e}"),
            ));
        }
        if new.retain != cur.retain {
            self.hub
                .retention
                .lock()
                .set_limit(retain_usize(new.retain));
        }
        if let Some(sinks) = sinks {
            if let Err(e) = self.feed.replace(sinks) {
                self.errors
                    .push(&format!("config: the outputs are stopped: {e}"));
            }
        }
        log::info!("configuration changed");
        *self.settings.lock() = new;
        self.config_mtime.store(now_ns(), Ordering::Release);
        Ok(())
    }

    /// Puts back the rules of `cur` after a change that failed half way.
    fn restore_rules(&self, cur: &Settings) {
        if let Err(e) = compiled(cur).and_then(|set| self.backend.set_rules(&set)) {
            self.errors.push(&format!(
                "rules: putting back the previous rules failed: {e}"
            ));
        }
    }

    /// Applies one write to `rules` atomically: its rules replace the list
    /// (`append`: follow it), a `default` line sets the default (when
    /// replacing, its absence means `default always`).  On any error
    /// nothing changes, and the reason, naming the line and the word,
    /// goes to `errors` and comes back with its errno (EINVAL for a bad
    /// rule).
    pub fn apply_rules(&self, text: &[u8], append: bool) -> Result<(), Error> {
        let _serial = self.config_lock.lock();
        let cur = self.settings();
        let refuse_input = |msg: String| {
            self.refuse(
                Errno::EINVAL,
                format!("rules: write refused, nothing changed: {msg}"),
            )
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return Err(refuse_input(
                "not valid UTF-8 (write other bytes as \\xHH inside quotes)".into(),
            ));
        };
        let list = rules::parse(text).map_err(|e| refuse_input(e.to_string()))?;
        let mut new = cur.clone();
        if !append {
            new.rules.clear();
            new.default = RuleDefault::Always;
        }
        if list.default_given {
            new.default = if list.default_never {
                RuleDefault::Never
            } else {
                RuleDefault::Always
            };
        }
        new.rules.extend(list.rules.iter().map(ToString::to_string));
        let set = match new.rule_set() {
            Ok(set) => set,
            Err(e) => {
                // Rule i of the new list is line i + 1 of its text; each
                // rule alone compiled, so this is a limit of the whole.
                let kept = new.rules.len() - list.rules.len();
                let at = match e.line.checked_sub(1 + kept).and_then(|i| list.rules.get(i)) {
                    Some(r) => format!("line {}", r.line),
                    None => format!("rule {}", e.line),
                };
                return Err(refuse_input(format!("{at}: {}", e.message)));
            }
        };
        if let Err(e) = self.backend.set_rules(&set) {
            return Err(self.refuse(
                e.errno(),
                format!("rules: the capture device refused the rules, nothing changed: {e}"),
            ));
        }
        log::info!(
            "rules changed: {} rules, default {}",
            new.rules.len(),
            new.default.as_str()
        );
        *self.settings.lock() = new;
        self.config_mtime.store(now_ns(), Ordering::Release);
        Ok(())
    }

    /// The content of `rules`: the rules in force in their order, each
    /// with the calls it decided since it was set, then the default.
    pub fn rules_file(&self) -> Vec<u8> {
        let s = self.settings();
        let mut out = String::from(
            "# sagafs rules: the first rule that matches a call decides; \
             '# hits N': the calls it decided since the rules were set\n",
        );
        let hits = match self.backend.rules() {
            Ok(k) if k.set.rules.len() == s.rules.len() => Some(k),
            Ok(k) => {
                out.push_str(&format!(
                    "# the module holds {} rules, not these: hit counts unknown\n",
                    k.set.rules.len()
                ));
                None
            }
            Err(e) => {
                let msg = format!("rules: reading the hit counts failed: {e}");
                self.errors.push(&msg);
                out.push_str(&format!("# {msg}\n"));
                None
            }
        };
        let hit = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
        for (i, r) in s.rules.iter().enumerate() {
            let n = hits.as_ref().map(|k| k.set.rules[i].hits);
            out.push_str(&format!("{r}  # hits {}\n", hit(n)));
        }
        let n = hits.as_ref().map(|k| k.default_hits);
        out.push_str(&format!(
            "default {}  # hits {}\n",
            s.default.as_str(),
            hit(n)
        ));
        out.into_bytes()
    }

    /// Records a refusal in `errors` (and the log) and returns it.
    pub fn refuse(&self, errno: Errno, reason: String) -> Error {
        self.errors.push(&reason);
        Error::new(errno, reason)
    }

    /// Everything `stats` shows, with rates since the previous sample.
    pub fn stats(&self) -> Result<fstats::Stats, DeviceError> {
        let cur = self.backend.stats()?;
        let now = now_ns();
        let mut prev_slot = self.prev_stats.lock();
        let prev = prev_slot.clone();
        let interval = prev.as_ref().map_or(0, |(t, _)| now.saturating_sub(*t));
        let flat = |s: &DevStats| -> Vec<abi::sagafs_counts> { s.syscalls.concat() };
        let nr_slots = cur.syscalls.first().map_or(abi::NR_SLOTS, Vec::len);
        let cur_flat = flat(&cur);
        let prev_flat = prev.as_ref().map(|(_, s)| flat(s));
        let rows = fstats::syscall_rows(&cur_flat, prev_flat.as_deref(), nr_slots, interval);
        let total_rate = prev.as_ref().map_or(0.0, |(_, p)| {
            fstats::rate(cur.total.calls, p.total.calls, interval)
        });
        if prev.is_none() || interval >= MIN_RATE_INTERVAL_NS {
            *prev_slot = Some((now, cur.clone()));
        }
        drop(prev_slot);
        let daemon = {
            let r = self.hub.retention.lock();
            fstats::DaemonCounts {
                retained: r.len(),
                retained_bytes: r.bytes() as u64,
                retain_limit: r.limit() as u64,
                evicted: r.evicted().total(),
                reader_behind: self.hub.reader_behind.load(Ordering::Relaxed),
            }
        };
        Ok(fstats::Stats {
            backend: self.backend.kind(),
            since_ns: cur.reset_ns,
            now_ns: now,
            enabled_ns: cur.enabled_ns,
            interval_ns: interval,
            total: (&cur.total).into(),
            total_rate,
            bytes: cur.bytes,
            bad_tail: cur.bad_tail,
            skip_unflagged: cur.skip_unflagged,
            daemon,
            cpus: cur
                .cpus
                .iter()
                .enumerate()
                .map(|(i, c)| fstats::CpuRow::from_kernel(i as u32, c))
                .collect(),
            syscalls: rows,
        })
    }

    /// The content of `outputs` (text) or `outputs.json`.
    pub fn outputs_file(&self, json: bool) -> Vec<u8> {
        self.feed.render(json)
    }

    /// The content of `stats` (text) or `stats.json`.
    pub fn stats_file(&self, json: bool) -> Vec<u8> {
        match self.stats() {
            Ok(s) => {
                let mut out = String::new();
                if json {
                    fstats::write_json(&mut out, &s);
                } else {
                    fstats::write_text(&mut out, &s);
                }
                out.into_bytes()
            }
            Err(e) => {
                let msg = format!("stats: reading the counters failed: {e}");
                self.errors.push(&msg);
                if json {
                    format!("{}\n", serde_json::json!({ "error": msg })).into_bytes()
                } else {
                    format!("# {msg}\n").into_bytes()
                }
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The rules of `s`, compiled (they were checked when `s` was made).
fn compiled(s: &Settings) -> Result<RuleSet, DeviceError> {
    s.rule_set().map_err(|e| {
        DeviceError::new(
            Errno::EINVAL,
            format!("rules: rule {}: {}", e.line, e.message),
        )
    })
}

fn thread_error(e: &std::io::Error) -> DeviceError {
    DeviceError::new(
        Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)),
        format!("cannot start a thread: {e}"),
    )
}
