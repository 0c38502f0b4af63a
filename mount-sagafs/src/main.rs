//! mount.sagafs: the mount(8) helper for `mount -t sagafs`.
//!
//! Checks what it can (root, options, mount point, device, daemon), loads
//! the module when the device is missing, then execs the daemon, whose
//! parent exits 0 only once the mount is live.

#![deny(unsafe_code)]

mod args;
mod daemon;
mod failure;
mod module;
mod namespace;

use std::ffi::OsString;
use std::process::exit;

use args::{Invocation, Request};
use failure::{check_root, Failure};
use sagafs_mount::mountpoint;
use sagafs_mount::options::{self, MountOptions};

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    match run(&argv) {
        Ok(()) => exit(0),
        Err(f) => {
            eprintln!("mount.sagafs: {f}");
            exit(f.code);
        }
    }
}

fn run(argv: &[OsString]) -> Result<(), Failure> {
    args::check_name(argv.first().map(OsString::as_os_str))?;
    let inv = match args::parse(argv.get(1..).unwrap_or_default())? {
        Request::Help => {
            println!("{}", args::USAGE_LINE);
            return Ok(());
        }
        Request::Mount(inv) => inv,
    };
    check_root(nix::unistd::geteuid().as_raw())?;
    if let Some(ns) = &inv.namespace {
        namespace::enter(ns)?;
        say(
            &inv,
            format!(
                "entered mount namespace {}",
                namespace::ns_path(ns).display()
            ),
        );
    }
    let options = parse_options(&inv)?;
    let checked = mountpoint::check(&inv.dir).map_err(Failure::mount)?;
    if let Some(p) = &checked.detached {
        eprintln!("mount.sagafs: {}", mountpoint::detached_notice(p));
    }
    let dir = checked.path;
    module::ensure_device(&options.device, inv.fake, inv.verbose)?;
    let daemon = daemon::find()?;
    let opts = options.to_string();
    let args = daemon::command_line(&opts, &inv.source, &dir);
    let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    if inv.fake {
        say(
            &inv,
            format!("would run {} {}", daemon.display(), shown.join(" ")),
        );
        return Ok(());
    }
    say(
        &inv,
        format!("running {} {}", daemon.display(), shown.join(" ")),
    );
    Err(daemon::exec(&daemon, &args))
}

fn parse_options(inv: &Invocation) -> Result<MountOptions, Failure> {
    if inv.sloppy {
        let (options, skipped) =
            options::parse_sloppy(&inv.options).map_err(|e| Failure::usage(e.to_string()))?;
        for s in skipped {
            say(inv, format!("ignoring unknown option '{s}' (-s)"));
        }
        Ok(options)
    } else {
        options::parse(&inv.options).map_err(|e| Failure::usage(e.to_string()))
    }
}

/// Verbose output (-v), on stdout like mount(8)'s.
fn say(inv: &Invocation, what: String) {
    if inv.verbose {
        println!("mount.sagafs: {what}");
    }
}
