//! Mount options: the `-o` string of `mount.sagafs` and the daemon.
//!
//! Syntax: a comma-separated list of items, each `name` or `name=value`;
//! the value is everything after the first `=`.  Inside an item `\,` stands
//! for a comma and `\\` for a backslash; any other backslash is kept as
//! is.  Empty items (`,,`, a leading or trailing comma) are skipped.  When
//! a name appears twice the last one wins, as with mount(8) (`ro,rw` is
//! read-write); `rw`/`ro`, `dev`/`nodev` and so on override each other the
//! same way.
//!
//! - Ignored (accepted, no effect): `defaults`, `auto`, `noauto`, `_netdev`,
//!   `nofail`, `user[=NAME]`, `users`, `nouser`, `x-*`, and the access-time
//!   family (`atime`, `noatime`, `relatime`, `strictatime`, `lazytime`,
//!   `diratime` and their `no` forms), `async`, `silent`, `loud`.
//! - Mount flags: `rw`/`ro` (`ro` makes the file system, and so the
//!   configuration file in it, read-only), `dev`/`nodev`, `suid`/`nosuid`,
//!   `exec`/`noexec`.  sagafs defaults to `nodev,nosuid,noexec`: it serves
//!   only text files.
//! - Daemon options: `retain=SIZE` (see [`crate::size`]), `gid=GID`, `allow_other`,
//!   `default_permissions`, `dev=PATH`, `config=FILE`.
//!
//! Anything else is refused by name, and a bad value is refused with the
//! reason; [`parse_sloppy`] instead drops unknown names (mount -s).

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use nix::unistd::Group;

use crate::size;

/// The capture device used when no `dev=PATH` option is given.
pub const DEFAULT_DEVICE: &str = "/dev/sagafs";

/// Mount options, parsed and checked.  `Default` is the empty option
/// string.  `to_string()` gives the canonical option string (only the
/// settings that differ from the defaults), which [`parse`] reads back to
/// an equal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// `ro`: the file system, and so `/sagafs/config`, is read-only.
    pub read_only: bool,
    /// `dev`: device nodes honoured (default `nodev`).
    pub dev: bool,
    /// `suid`: set-user-id bits honoured (default `nosuid`).
    pub suid: bool,
    /// `exec`: execution allowed (default `noexec`).
    pub exec: bool,
    /// `retain=SIZE`: bytes of log the daemon keeps; `None`: its default.
    pub retain: Option<u64>,
    /// `gid=GID`: group given read access to the files.
    pub gid: Option<u32>,
    /// `allow_other`: users other than the mounter may access the files.
    pub allow_other: bool,
    /// `default_permissions`: the kernel checks file modes.
    pub default_permissions: bool,
    /// `dev=PATH`: the capture device (absolute path).
    pub device: PathBuf,
    /// `config=FILE`: `key = value` lines applied at mount (absolute path
    /// of a readable regular file, checked by [`parse`]).
    pub config: Option<PathBuf>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            read_only: false,
            dev: false,
            suid: false,
            exec: false,
            retain: None,
            gid: None,
            allow_other: false,
            default_permissions: false,
            device: PathBuf::from(DEFAULT_DEVICE),
            config: None,
        }
    }
}

/// Why an option string was refused.  `Display` gives one line that names
/// the option and says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// A name sagafs does not know.
    Unknown(String),
    /// A name that must not carry a value, given one (`ro=1`).
    UnexpectedValue(String),
    /// A name that needs a value, given none (`retain`, `gid=`).
    MissingValue { name: String, example: &'static str },
    /// A value that does not parse or does not pass its check.
    BadValue {
        name: String,
        value: String,
        reason: String,
    },
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown(name) => write!(f, "unknown mount option '{name}'"),
            OptionError::UnexpectedValue(name) => {
                write!(
                    f,
                    "mount option '{name}' takes no value: write just '{name}'"
                )
            }
            OptionError::MissingValue { name, example } => {
                write!(f, "mount option '{name}' needs a value, e.g. {example}")
            }
            OptionError::BadValue {
                name,
                value,
                reason,
            } => write!(f, "{name}={value}: {reason}"),
        }
    }
}

impl std::error::Error for OptionError {}

/// Parses an option string strictly: unknown names are errors.
pub fn parse(s: &str) -> Result<MountOptions, OptionError> {
    parse_inner(s, false).map(|(opts, _)| opts)
}

/// Parses an option string like mount -s: unknown names are skipped and
/// returned (in order) instead of refused.  Bad values are still errors.
pub fn parse_sloppy(s: &str) -> Result<(MountOptions, Vec<String>), OptionError> {
    parse_inner(s, true)
}

fn parse_inner(s: &str, sloppy: bool) -> Result<(MountOptions, Vec<String>), OptionError> {
    let mut opts = MountOptions::default();
    let mut skipped = Vec::new();
    for item in split(s) {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item.as_str(), None),
        };
        if let Err(e) = apply(&mut opts, name, value) {
            match e {
                OptionError::Unknown(_) if sloppy => skipped.push(item.clone()),
                e => return Err(e),
            }
        }
    }
    Ok((opts, skipped))
}

/// Splits at unescaped commas, resolves `\,` and `\\`, drops empty items.
fn split(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(',') | Some('\\')) => {
                cur.push(chars.next().unwrap_or('\\'));
            }
            ',' => items.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    items.push(cur);
    items.retain(|i| !i.is_empty());
    items
}

/// Names accepted and ignored (without a value): mount(8), fstab and
/// mount.fuse3 add them.  `user[=NAME]` and `x-*` are ignored with any
/// value.
pub const IGNORED: &[&str] = &[
    "defaults",
    "auto",
    "noauto",
    "_netdev",
    "nofail",
    "users",
    "nouser",
    "atime",
    "noatime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "diratime",
    "nodiratime",
    "async",
    "silent",
    "loud",
];

fn apply(opts: &mut MountOptions, name: &str, value: Option<&str>) -> Result<(), OptionError> {
    // Options that may carry any value, or none, and are ignored.
    if name.starts_with("x-") || name == "user" {
        return Ok(());
    }
    let flag = |set: &mut bool, on: bool| -> Result<(), OptionError> {
        match value {
            Some(_) => Err(OptionError::UnexpectedValue(name.to_string())),
            None => {
                *set = on;
                Ok(())
            }
        }
    };
    match name {
        "rw" => flag(&mut opts.read_only, false),
        "ro" => flag(&mut opts.read_only, true),
        "dev" if value.is_some() => {
            opts.device = absolute_path(name, need(name, value, "dev=/dev/sagafs")?)?;
            Ok(())
        }
        "dev" => flag(&mut opts.dev, true),
        "nodev" => flag(&mut opts.dev, false),
        "suid" => flag(&mut opts.suid, true),
        "nosuid" => flag(&mut opts.suid, false),
        "exec" => flag(&mut opts.exec, true),
        "noexec" => flag(&mut opts.exec, false),
        "allow_other" => flag(&mut opts.allow_other, true),
        "default_permissions" => flag(&mut opts.default_permissions, true),
        "retain" => {
            let v = need(name, value, "retain=64M")?;
            opts.retain = Some(size::parse(v).map_err(|e| bad(name, v, e.to_string()))?);
            Ok(())
        }
        "gid" => {
            let v = need(name, value, "gid=adm")?;
            opts.gid = Some(parse_gid(v).map_err(|reason| bad(name, v, reason))?);
            Ok(())
        }
        "config" => {
            let v = need(name, value, "config=/etc/sagafs.conf")?;
            let path = absolute_path(name, v)?;
            check_readable(&path).map_err(|reason| bad(name, v, reason))?;
            opts.config = Some(path);
            Ok(())
        }
        _ if IGNORED.contains(&name) => match value {
            Some(_) => Err(OptionError::UnexpectedValue(name.to_string())),
            None => Ok(()),
        },
        _ => Err(OptionError::Unknown(name.to_string())),
    }
}

fn need<'a>(
    name: &str,
    value: Option<&'a str>,
    example: &'static str,
) -> Result<&'a str, OptionError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(OptionError::MissingValue {
            name: name.to_string(),
            example,
        }),
    }
}

fn bad(name: &str, value: &str, reason: String) -> OptionError {
    OptionError::BadValue {
        name: name.to_string(),
        value: value.to_string(),
        reason,
    }
}

fn absolute_path(name: &str, v: &str) -> Result<PathBuf, OptionError> {
    if v.contains('\0') {
        return Err(bad(name, v, "path contains a NUL byte".into()));
    }
    if !v.starts_with('/') {
        return Err(bad(
            name,
            v,
            "not an absolute path: write the full path, starting with /".into(),
        ));
    }
    Ok(PathBuf::from(v))
}

fn check_readable(path: &Path) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    Ok(())
}

fn parse_gid(v: &str) -> Result<u32, String> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return match v.parse::<u32>() {
            Ok(g) if g != u32::MAX => Ok(g),
            _ => Err("group id out of range".into()),
        };
    }
    match Group::from_name(v) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err("no such group: give a group name from /etc/group or a number".into()),
        Err(e) => Err(format!("cannot look up the group: {}", e.desc())),
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace(',', "\\,")
}

impl fmt::Display for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> = Vec::new();
        let flags = [
            (self.read_only, "ro"),
            (self.dev, "dev"),
            (self.suid, "suid"),
            (self.exec, "exec"),
            (self.allow_other, "allow_other"),
            (self.default_permissions, "default_permissions"),
        ];
        items.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| n.to_string()),
        );
        if let Some(gid) = self.gid {
            items.push(format!("gid={gid}"));
        }
        if let Some(retain) = self.retain {
            items.push(format!("retain={}", size::format(retain)));
        }
        if self.device != Path::new(DEFAULT_DEVICE) {
            items.push(format!("dev={}", escape(&self.device.to_string_lossy())));
        }
        if let Some(config) = &self.config {
            items.push(format!("config={}", escape(&config.to_string_lossy())));
        }
        f.write_str(&items.join(","))
    }
}

#[cfg(test)]
mod tests;
