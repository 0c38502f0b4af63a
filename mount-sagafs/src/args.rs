//! The command line mount(8) gives a helper:
//! `mount.sagafs SRC DIR [-s] [-f] [-n] [-v] [-o OPTS] [-N NS]`.
//!
//! The flags may come in any order after SRC and DIR; `-o` and `-N` take
//! the next argument (or the rest of the same one: `-oro`).  Repeated `-o`
//! lists are joined with commas, as mount(8) does.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// The names this program answers to: as installed, and as cargo builds it.
pub const NAMES: [&str; 2] = ["mount.sagafs", "mount-sagafs"];

pub const USAGE_LINE: &str =
    "usage: mount.sagafs SOURCE DIR [-s] [-f] [-n] [-v] [-o OPTIONS] [-N NAMESPACE]";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Help,
    Mount(Invocation),
}

/// A mount request, as given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    pub source: OsString,
    pub dir: PathBuf,
    /// -s: skip unknown options instead of failing.
    pub sloppy: bool,
    /// -f: check everything, mount nothing.
    pub fake: bool,
    /// -n: do not write /etc/mtab (accepted; there is none to write).
    pub no_mtab: bool,
    /// -v: say what is done.
    pub verbose: bool,
    /// -o: the option string (empty when absent).
    pub options: String,
    /// -N: mount namespace, a path or a PID.
    pub namespace: Option<OsString>,
}

/// Checks that the program was called by one of its [`NAMES`].
pub fn check_name(argv0: Option<&OsStr>) -> Result<(), Failure> {
    let name = argv0
        .map(Path::new)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if NAMES.contains(&name.as_str()) {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "called as '{name}': this program runs as mount.sagafs (install it as /sbin/mount.sagafs)"
        )))
    }
}

/// Parses the arguments after argv[0].
pub fn parse(args: &[OsString]) -> Result<Request, Failure> {
    let mut inv = Invocation::default();
    let mut positional: Vec<OsString> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_encoded_bytes();
        if bytes.len() < 2 || bytes[0] != b'-' {
            positional.push(arg.clone());
            continue;
        }
        let s = arg
            .to_str()
            .ok_or_else(|| Failure::usage(format!("bad argument {arg:?}: {USAGE_LINE}")))?;
        match s {
            "-h" | "--help" => return Ok(Request::Help),
            "-s" => inv.sloppy = true,
            "-f" => inv.fake = true,
            "-n" => inv.no_mtab = true,
            "-v" => inv.verbose = true,
            "-o" => options.push(
                value(&mut it, "-o")?
                    .into_string()
                    .map_err(|v| Failure::usage(format!("options are not valid UTF-8: {v:?}")))?,
            ),
            "-N" => inv.namespace = Some(value(&mut it, "-N")?),
            _ if s.starts_with("-o") => options.push(s[2..].to_string()),
            _ if s.starts_with("-N") => inv.namespace = Some(OsString::from(&s[2..])),
            _ => return Err(Failure::usage(format!("unknown flag '{s}': {USAGE_LINE}"))),
        }
    }
    let mut positional = positional.into_iter();
    match (positional.next(), positional.next(), positional.next()) {
        (Some(src), Some(dir), None) => {
            inv.source = src;
            inv.dir = PathBuf::from(dir);
        }
        (_, _, Some(extra)) => {
            return Err(Failure::usage(format!(
                "unexpected argument {:?}: {USAGE_LINE}",
                extra
            )))
        }
        _ => {
            return Err(Failure::usage(format!(
                "SOURCE and DIR are required: {USAGE_LINE}"
            )))
        }
    }
    inv.options = options.join(",");
    Ok(Request::Mount(inv))
}

fn value<'a>(it: &mut impl Iterator<Item = &'a OsString>, flag: &str) -> Result<OsString, Failure> {
    it.next()
        .cloned()
        .ok_or_else(|| Failure::usage(format!("{flag} needs a value: {USAGE_LINE}")))
}

#[cfg(test)]
mod tests;
