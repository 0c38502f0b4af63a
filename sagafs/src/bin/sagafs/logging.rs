//! Where the daemon's `log` messages go: stderr in the foreground; under
//! systemd (JOURNAL_STREAM or INVOCATION_ID set) stderr too, which the
//! journal reads, with `<N>` priority prefixes it understands; once
//! daemonized outside systemd, syslog through the local `/dev/log`
//! socket (`<PRI>sagafs[PID]: message`, facility daemon).
//!
//! `SAGAFS_LOG=error|warn|info|debug` sets the level (default info).

use std::io::Write;
use std::os::unix::net::UnixDatagram;

use log::{Level, LevelFilter, Log, Metadata, Record};

enum Sink {
    Stderr {
        priorities: bool,
    },
    Syslog(UnixDatagram),
    /// Daemonized without a syslog socket: stderr is /dev/null anyway.
    Null,
}

struct Logger {
    sink: Sink,
    level: LevelFilter,
}

/// Whether systemd started us (its journal reads our stderr).
pub fn under_systemd() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

fn severity(l: Level) -> u8 {
    match l {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        // fuser reports routine events (an unmount racing ours) as warnings.
        let floor = if m.target().starts_with("fuser") {
            LevelFilter::Error.min(self.level)
        } else {
            self.level
        };
        m.level() <= floor
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let msg = r.args().to_string().replace('\n', " ");
        match &self.sink {
            Sink::Stderr { priorities: true } => {
                let _ = writeln!(std::io::stderr(), "<{}>{msg}", severity(r.level()));
            }
            Sink::Stderr { priorities: false } => {
                let _ = writeln!(std::io::stderr(), "sagafs: {msg}");
            }
            Sink::Syslog(sock) => {
                let pri = 3 * 8 + severity(r.level());
                let line = format!("<{pri}>sagafs[{}]: {msg}", std::process::id());
                let _ = sock.send(line.as_bytes());
            }
            Sink::Null => {}
        }
    }

    fn flush(&self) {}
}

/// Installs the logger.  `daemonized`: stderr is going away (unless
/// systemd reads it), log to syslog instead.
pub fn init(daemonized: bool) {
    let level = match std::env::var("SAGAFS_LOG").as_deref() {
        Ok("error") => LevelFilter::Error,
        Ok("warn") => LevelFilter::Warn,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        _ => LevelFilter::Info,
    };
    let sink = if under_systemd() {
        Sink::Stderr { priorities: true }
    } else if daemonized {
        match UnixDatagram::unbound().and_then(|s| s.connect("/dev/log").map(|()| s)) {
            Ok(s) => Sink::Syslog(s),
            Err(_) => Sink::Null,
        }
    } else {
        Sink::Stderr { priorities: false }
    };
    let logger: &'static Logger = Box::leak(Box::new(Logger { sink, level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
