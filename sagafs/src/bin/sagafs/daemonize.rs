//! Daemonizing without fork in a threaded process: without `-f` the
//! program starts a copy of itself (before any thread exists) with
//! `--daemon-child`, in a new session with its stdout on a pipe.  The copy
//! opens the device, mounts, and reports `ok` or one error line on the
//! pipe ([`Reporter`]); the first process ([`spawn_daemon`]) exits 0 only
//! after `ok` (the mount is live), else prints the line and exits 1.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};

use crate::logging;

/// Reports the start-up result: over stdout to the waiting parent (the
/// daemonized copy) or on stderr (foreground).
pub struct Reporter {
    pub child: bool,
}

impl Reporter {
    /// Reports a failed start and gives the exit code.
    pub fn fail(&self, msg: &str) -> ExitCode {
        log::error!("{msg}");
        if self.child {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{msg}");
            let _ = out.flush();
        }
        ExitCode::from(1)
    }

    /// Reports that the mount is live; the daemonized copy then lets go
    /// of the pipe and the terminal.
    pub fn ok(&self) {
        if !self.child {
            return;
        }
        let mut out = std::io::stdout();
        let _ = writeln!(out, "ok");
        let _ = out.flush();
        // The parent is gone after "ok": stdio must not point at it.
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            let _ = nix::unistd::dup2_stdin(&null);
            let _ = nix::unistd::dup2_stdout(&null);
            if !logging::under_systemd() {
                let _ = nix::unistd::dup2_stderr(&null);
            }
        }
    }
}

/// Starts the daemonized copy and waits for its report.
pub fn spawn_daemon() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sagafs: cannot find its own executable: {e}");
            return ExitCode::from(1);
        }
    };
    let mut child = match Command::new(exe)
        .arg("--daemon-child")
        .args(std::env::args_os().skip(1))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sagafs: cannot start the daemon: {e}");
            return ExitCode::from(1);
        }
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let line = line.trim_end();
    if line == "ok" {
        return ExitCode::SUCCESS;
    }
    let status = child.wait();
    if line.is_empty() {
        let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        eprintln!("sagafs: the daemon ended during start ({how})");
    } else {
        eprintln!("sagafs: {line}");
    }
    ExitCode::from(1)
}
