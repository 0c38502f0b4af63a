//! The `key = value` configuration language of the `config` file: the
//! settings (`Settings`), their text form (`render`), atomic application
//! of a write (`apply`), and conversion to and from the kernel's
//! `struct sagafs_config`.
//!
//! A write is parsed completely, applied to a copy of the current settings
//! and validated as a whole; any error rejects the whole write and names
//! the line and the key. Lines are `key = value` (spaces optional), `#`
//! starts a comment line, blank lines are ignored, trailing whitespace and
//! CR are tolerated. A key given twice in one write is an error.
//!
//! Syscall lists hold names as `names::lookup()` takes them; comm lists
//! hold comms in the log's escaped form (`escape`), so any comm can be
//! written and `render()` output reads back unchanged.

use std::fmt;

use crate::abi::{
    self, sagafs_config, BITMAP_WORDS, COMM_LEN, MAX_COMMS, MAX_IDS, NR_ABIS, NR_SLOTS,
};
use crate::names;
use crate::record::Abi;
use crate::rules::{self, RuleError, RuleSet};

mod keys;
pub mod outputs;
pub use keys::{Key, KEYS};
pub use outputs::OutputSettings;

/// The largest write `apply()` accepts, bytes.
pub const MAX_WRITE: usize = 64 * 1024;
/// The range of `retain`, bytes.
pub const RETAIN_MIN: u64 = 1 << 20;
pub const RETAIN_MAX: u64 = 64 << 30;
/// The daemon's default `retain`, bytes.
pub const RETAIN_DEFAULT: u64 = 64 << 20;

/// The first line of `render()`'s output.
pub const HEADER: &str = "# sagafs configuration: write 'key = value' lines here (see sagafs(5))";

/// A set of `[abi][slot]` positions, in the kernel's bitmap layout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SyscallSet(pub [[u64; BITMAP_WORDS]; NR_ABIS]);

impl SyscallSet {
    pub const EMPTY: SyscallSet = SyscallSet([[0; BITMAP_WORDS]; NR_ABIS]);
    /// Every slot of every ABI, `SLOT_OTHER` included.
    pub const ALL: SyscallSet = SyscallSet([[u64::MAX; BITMAP_WORDS]; NR_ABIS]);

    pub fn contains(&self, abi: Abi, slot: usize) -> bool {
        slot < NR_SLOTS && self.0[abi.index()][slot / 64] & (1 << (slot % 64)) != 0
    }

    pub fn insert(&mut self, abi: Abi, slot: usize) {
        if slot < NR_SLOTS {
            self.0[abi.index()][slot / 64] |= 1 << (slot % 64);
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::EMPTY
    }

    pub fn is_full(&self) -> bool {
        *self == Self::ALL
    }

    /// Parses a comma list of names (`names::lookup()`), or `all`, or
    /// `none`; an empty string is the empty set.
    pub fn parse(s: &str) -> Result<SyscallSet, String> {
        let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
        match s {
            "" | "none" => return Ok(Self::EMPTY),
            "all" => return Ok(Self::ALL),
            _ => {}
        }
        let mut set = Self::EMPTY;
        for item in s.split(',') {
            let item = item.trim_matches(|c: char| c.is_ascii_whitespace());
            if item.is_empty() {
                return Err("empty entry in the list (two commas in a row?)".into());
            }
            if item == "all" || item == "none" {
                return Err(format!("'{item}' must stand alone, not in a list"));
            }
            for (abi, slot) in names::lookup(item).map_err(|e| e.to_string())? {
                set.insert(abi, slot);
            }
        }
        Ok(set)
    }

    /// The list form `parse()` reads back: `all`, `none` for the empty set,
    /// or the names, bare when every ABI that has the name is in the set,
    /// prefixed (`i386:open`) otherwise.
    pub fn render(&self) -> String {
        if self.is_full() {
            return "all".into();
        }
        if self.is_empty() {
            return "none".into();
        }
        let mut out = String::new();
        let mut done = Self::EMPTY;
        for abi in Abi::ALL {
            for slot in 0..NR_SLOTS {
                if !self.contains(abi, slot) || done.contains(abi, slot) {
                    continue;
                }
                if !out.is_empty() {
                    out.push(',');
                }
                let name = names::slot_name(abi, slot);
                let group = names::canonical_slots(name);
                if group.iter().all(|&(a, s)| self.contains(a, s)) {
                    out.push_str(name);
                    for &(a, s) in group {
                        done.insert(a, s);
                    }
                } else {
                    out.push_str(abi.as_str());
                    out.push(':');
                    out.push_str(name);
                    done.insert(abi, slot);
                }
            }
        }
        out
    }
}

impl fmt::Debug for SyscallSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyscallSet({})", self.render())
    }
}

/// Which results are logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultFilter {
    Any,
    Success,
    Failure,
}

impl ResultFilter {
    /// The value of the `result` key.
    pub fn render(&self) -> String {
        self.as_str().to_string()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResultFilter::Any => "any",
            ResultFilter::Success => "success",
            ResultFilter::Failure => "failure",
        }
    }

    fn to_raw(self) -> u32 {
        match self {
            ResultFilter::Any => abi::RESULT_ANY,
            ResultFilter::Success => abi::RESULT_SUCCESS,
            ResultFilter::Failure => abi::RESULT_FAILURE,
        }
    }

    fn from_raw(v: u32) -> ResultFilter {
        match v {
            abi::RESULT_SUCCESS => ResultFilter::Success,
            abi::RESULT_FAILURE => ResultFilter::Failure,
            _ => ResultFilter::Any,
        }
    }
}

/// What happens to a call no rule decides (`default`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleDefault {
    #[default]
    Always,
    Never,
}

impl RuleDefault {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleDefault::Always => "always",
            RuleDefault::Never => "never",
        }
    }

    fn render(&self) -> String {
        self.as_str().to_string()
    }

    fn parse(v: &str) -> Result<RuleDefault, String> {
        match v {
            "always" => Ok(RuleDefault::Always),
            "never" => Ok(RuleDefault::Never),
            _ => Err(format!("'{v}' is not always or never")),
        }
    }
}

/// The whole configuration: the kernel's part, the rules and the
/// daemon's `retain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub syscalls: SyscallSet,
    pub exclude: SyscallSet,
    pub pids: Vec<u32>,
    pub exclude_pids: Vec<u32>,
    pub uids: Vec<u32>,
    pub exclude_uids: Vec<u32>,
    /// Raw comm bytes, 1..=15 each, no NUL.
    pub comms: Vec<Vec<u8>>,
    pub exclude_comms: Vec<Vec<u8>>,
    pub result: ResultFilter,
    pub snaplen: u32,
    /// Ring size per CPU, KiB.
    pub ring_kb: u32,
    /// Bytes of records the daemon keeps for readers of `log`.
    pub retain: u64,
    pub exclude_self: bool,
    pub wakeup_bytes: u32,
    /// The rule list, one rule each, in normal form (`rules::Rule`'s
    /// text), in order.
    pub rules: Vec<String>,
    /// For calls no rule decides.
    pub default: RuleDefault,
    /// The daemon's outputs: log files, journal, remote collector.
    pub outputs: OutputSettings,
}

impl Default for Settings {
    /// The kernel's defaults with capture on, and `retain = 64M`.
    fn default() -> Settings {
        Settings {
            enabled: true,
            syscalls: SyscallSet::ALL,
            exclude: SyscallSet::EMPTY,
            pids: Vec::new(),
            exclude_pids: Vec::new(),
            uids: Vec::new(),
            exclude_uids: Vec::new(),
            comms: Vec::new(),
            exclude_comms: Vec::new(),
            result: ResultFilter::Any,
            snaplen: abi::SNAPLEN_DEFAULT,
            ring_kb: abi::RING_KB_DEFAULT,
            retain: RETAIN_DEFAULT,
            exclude_self: true,
            wakeup_bytes: 0,
            rules: Vec::new(),
            default: RuleDefault::Always,
            outputs: OutputSettings::default(),
        }
    }
}

fn copy_ids(dst: &mut [u32; MAX_IDS], src: &[u32]) -> u32 {
    let n = src.len().min(MAX_IDS);
    dst[..n].copy_from_slice(&src[..n]);
    n as u32
}

fn copy_comms(dst: &mut [[u8; COMM_LEN]; MAX_COMMS], src: &[Vec<u8>]) -> u32 {
    let n = src.len().min(MAX_COMMS);
    for (d, s) in dst.iter_mut().zip(&src[..n]) {
        let len = s.len().min(COMM_LEN - 1);
        d[..len].copy_from_slice(&s[..len]);
    }
    n as u32
}

fn read_ids(src: &[u32; MAX_IDS], n: u32) -> Vec<u32> {
    src[..(n as usize).min(MAX_IDS)].to_vec()
}

fn read_comms(src: &[[u8; COMM_LEN]; MAX_COMMS], n: u32) -> Vec<Vec<u8>> {
    src[..(n as usize).min(MAX_COMMS)]
        .iter()
        .map(|c| {
            let len = c.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
            c[..len].to_vec()
        })
        .collect()
}

impl Settings {
    /// The kernel structure for SET_CONFIG (size set).
    pub fn to_kernel(&self) -> sagafs_config {
        let mut c = sagafs_config::default();
        c.flags = if self.enabled { abi::CFG_ENABLED } else { 0 }
            | if self.exclude_self {
                abi::CFG_EXCLUDE_SELF
            } else {
                0
            };
        c.result = self.result.to_raw();
        c.snaplen = self.snaplen;
        c.ring_kb = self.ring_kb;
        c.wakeup_bytes = self.wakeup_bytes;
        c.nr_pids = copy_ids(&mut c.pids, &self.pids);
        c.nr_exclude_pids = copy_ids(&mut c.exclude_pids, &self.exclude_pids);
        c.nr_uids = copy_ids(&mut c.uids, &self.uids);
        c.nr_exclude_uids = copy_ids(&mut c.exclude_uids, &self.exclude_uids);
        c.nr_comms = copy_comms(&mut c.comms, &self.comms);
        c.nr_exclude_comms = copy_comms(&mut c.exclude_comms, &self.exclude_comms);
        c.syscalls = self.syscalls.0;
        c.exclude_syscalls = self.exclude.0;
        c
    }

    /// The settings a GET_CONFIG result and the daemon's `retain` make.
    /// Counts beyond the arrays are clamped.
    pub fn from_kernel(c: &sagafs_config, retain: u64) -> Settings {
        Settings {
            enabled: c.flags & abi::CFG_ENABLED != 0,
            syscalls: SyscallSet(c.syscalls),
            exclude: SyscallSet(c.exclude_syscalls),
            pids: read_ids(&c.pids, c.nr_pids),
            exclude_pids: read_ids(&c.exclude_pids, c.nr_exclude_pids),
            uids: read_ids(&c.uids, c.nr_uids),
            exclude_uids: read_ids(&c.exclude_uids, c.nr_exclude_uids),
            comms: read_comms(&c.comms, c.nr_comms),
            exclude_comms: read_comms(&c.exclude_comms, c.nr_exclude_comms),
            result: ResultFilter::from_raw(c.result),
            snaplen: c.snaplen,
            ring_kb: c.ring_kb,
            retain,
            exclude_self: c.flags & abi::CFG_EXCLUDE_SELF != 0,
            wakeup_bytes: c.wakeup_bytes,
            rules: Vec::new(),
            default: RuleDefault::Always,
            outputs: OutputSettings::default(),
        }
    }

    /// The rules as one rule text: rule `i` on line `i + 1`, the
    /// default last.
    pub fn rule_text(&self) -> String {
        let mut t = String::new();
        for r in &self.rules {
            t.push_str(r);
            t.push('\n');
        }
        t.push_str("default ");
        t.push_str(self.default.as_str());
        t.push('\n');
        t
    }

    /// The rules compiled for SET_RULES; an error's line is the rule's
    /// position, counted from 1.
    pub fn rule_set(&self) -> Result<RuleSet, RuleError> {
        rules::compile_text(&self.rule_text())
    }

    /// The ring size per CPU, bytes.
    pub fn ring_bytes(&self) -> u64 {
        u64::from(self.ring_kb) * 1024
    }
}

/// Why a write to `config` was rejected. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the write, 0 when the error concerns the whole write.
    pub line: usize,
    /// The key concerned, if any.
    pub key: Option<String>,
    pub message: String,
    /// The errno a write(2) of it fails with.
    pub errno: i32,
}

impl ConfigError {
    fn at(line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            line,
            key: Some(key.to_string()),
            message: message.into(),
            errno: libc::EINVAL,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The `config` file's content: `HEADER`, then one `key = value` line per
/// key in `KEYS` order.
pub fn render(s: &Settings) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for key in &KEYS {
        let v = (key.render)(s);
        let mut lines: Vec<&str> = v.split('\n').collect();
        if !key.repeated {
            lines = vec![&v];
        }
        for l in lines {
            out.push_str(key.name);
            out.push_str(" =");
            if !l.is_empty() {
                out.push(' ');
                out.push_str(l);
            }
            out.push('\n');
        }
    }
    out
}

fn unknown_key(line: usize, key: &str) -> ConfigError {
    let mut msg = format!("unknown key '{key}'");
    if let Some((_, new)) = keys::RENAMED.iter().find(|(old, _)| *old == key) {
        msg.push_str(&format!(" (renamed: write '{new}')"));
    } else if let Some((_, k)) = keys::names()
        .map(|k| (strsim::levenshtein(key, k), k))
        .min()
        .filter(|&(d, _)| d <= 3)
    {
        msg.push_str(&format!(" (did you mean '{k}'?)"));
    } else {
        let known: Vec<&str> = keys::names().collect();
        msg.push_str(&format!(" (known keys: {})", known.join(", ")));
    }
    ConfigError {
        line,
        key: None,
        message: msg,
        errno: libc::EINVAL,
    }
}

/// The most `wakeup_bytes` may be: a quarter of the ring, so that the
/// daemon is woken well before a ring fills (the kernel's own bound).
pub fn wakeup_bytes_max(ring_kb: u32) -> u64 {
    u64::from(ring_kb) * 1024 / 4
}

/// Checks `wakeup_bytes` against `ring_kb`; the error names the later of
/// the two lines that set them (`seen`: the line of each key, 0 if not
/// written).
fn check_wakeup(s: &Settings, seen: &[usize; KEYS.len()]) -> Result<(), ConfigError> {
    let max = wakeup_bytes_max(s.ring_kb);
    if u64::from(s.wakeup_bytes) <= max {
        return Ok(());
    }
    let line_of = |name| keys::position(name).map_or(0, |i| seen[i]);
    let (wl, rl) = (line_of("wakeup_bytes"), line_of("ring_kb"));
    let (line, key) = if wl >= rl {
        (wl, "wakeup_bytes")
    } else {
        (rl, "ring_kb")
    };
    Err(ConfigError::at(
        line,
        key,
        format!(
            "wakeup_bytes = {} is more than a quarter of the ring: \
             at most {max} with ring_kb = {}",
            s.wakeup_bytes, s.ring_kb
        ),
    ))
}

/// Applies the `key = value` lines of `text` to a copy of `current` and
/// returns the result if the whole write is valid; on any error nothing
/// is applied.
pub fn apply(current: &Settings, text: &[u8]) -> Result<Settings, ConfigError> {
    if text.len() > MAX_WRITE {
        return Err(ConfigError {
            line: 0,
            key: None,
            message: format!(
                "write of {} bytes is too large (at most {MAX_WRITE} bytes in one write)",
                text.len()
            ),
            errno: libc::EFBIG,
        });
    }
    let mut s = current.clone();
    let mut seen: [usize; KEYS.len()] = [0; KEYS.len()];
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let Ok(l) = std::str::from_utf8(raw) else {
            return Err(ConfigError {
                line,
                key: None,
                message: "not valid UTF-8 (write comms with \\xHH escapes)".into(),
                errno: libc::EINVAL,
            });
        };
        let l = l.trim_matches(|c: char| c.is_ascii_whitespace());
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            return Err(ConfigError {
                line,
                key: None,
                message: format!("'{l}' is not a 'key = value' line"),
                errno: libc::EINVAL,
            });
        };
        let (key, value) = (
            key.trim_matches(|c: char| c.is_ascii_whitespace()),
            value.trim_matches(|c: char| c.is_ascii_whitespace()),
        );
        let Some(k) = keys::position(key) else {
            return Err(unknown_key(line, key));
        };
        if KEYS[k].repeated {
            if seen[k] == 0 {
                // The first of a repeated key's lines replaces its list.
                s.rules.clear();
            }
            seen[k] = line;
            (KEYS[k].set)(&mut s, value).map_err(|m| ConfigError::at(line, key, m))?;
            continue;
        }
        if seen[k] != 0 {
            return Err(ConfigError::at(
                line,
                key,
                format!("set twice in one write (first on line {})", seen[k]),
            ));
        }
        seen[k] = line;
        (KEYS[k].set)(&mut s, value).map_err(|m| ConfigError::at(line, key, m))?;
    }
    check_wakeup(&s, &seen)?;
    if s.outputs != current.outputs {
        s.outputs.check().map_err(|(key, m)| {
            let line = keys::position(key).map_or(0, |i| seen[i]);
            ConfigError::at(line, key, m)
        })?;
    }
    check_rules(&s, &seen)?;
    Ok(s)
}

/// Checks that the rule list as a whole fits the kernel's limits (each
/// rule alone was checked as it was read); the error names the last line
/// that set a rule.
fn check_rules(s: &Settings, seen: &[usize; KEYS.len()]) -> Result<(), ConfigError> {
    s.rule_set().map(|_| ()).map_err(|e| {
        let line = keys::position("rule").map_or(0, |i| seen[i]);
        ConfigError::at(line, "rule", format!("rule {}: {}", e.line, e.message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(text: &str) -> Settings {
        apply(&Settings::default(), text.as_bytes()).unwrap()
    }

    fn err(text: &[u8]) -> ConfigError {
        let e = apply(&Settings::default(), text).unwrap_err();
        assert!(!e.message.is_empty());
        e
    }

    #[test]
    fn default_renders_as_documented() {
        assert_eq!(
            render(&Settings::default()),
            "# sagafs configuration: write 'key = value' lines here (see sagafs(5))\n\
             enabled = 1\n\
             syscalls = all\n\
             exclude =\n\
             pids =\n\
             exclude_pids =\n\
             uids =\n\
             exclude_uids =\n\
             comms =\n\
             exclude_comms =\n\
             result = any\n\
             snaplen = 256\n\
             ring_kb = 1024\n\
             retain = 64M\n\
             exclude_self = 1\n\
             wakeup_bytes = 0\n\
             rule =\n\
             default = always\n\
             log_dir =\n\
             log_format = text\n\
             max_log_file = 8M\n\
             num_logs = 5\n\
             log_flush = 1s\n\
             disk_full_action = stop\n\
             journal = 0\n\
             remote =\n\
             remote_protocol = relp\n\
             remote_tls = 0\n\
             remote_ca =\n\
             remote_spool = /var/spool/sagafs\n\
             remote_spool_max = 256M\n"
        );
    }

    #[test]
    fn applies_lines() {
        let s = ok("exclude = open,openat\n");
        assert!(s.exclude.contains(Abi::X86_64, 2));
        assert!(s.exclude.contains(Abi::I386, 5));
        assert!(s.exclude.contains(Abi::X86_64, 257));
        assert!(!s.exclude.contains(Abi::X86_64, 0));
        assert!(render(&s).contains("\nexclude = open,openat\n"));

        let s = ok(
            "# comment\r\n\r\n  enabled=0  \r\npids = 1, 2,2 ,3\nuids=0\n\
                    comms = cat,my\\x20prog\nresult = failure\nsnaplen=0\n\
                    ring_kb = 32\nretain = 1G\nexclude_self = off\nwakeup_bytes = 4096\n\
                    syscalls = i386:open,read\nexclude_comms=\nexclude_pids = 7\n\
                    exclude_uids = 65534\n",
        );
        assert!(!s.enabled);
        assert_eq!(s.pids, [1, 2, 3]);
        assert_eq!(s.uids, [0]);
        assert_eq!(s.comms, [b"cat".to_vec(), b"my prog".to_vec()]);
        assert_eq!(s.result, ResultFilter::Failure);
        assert_eq!(s.snaplen, 0);
        assert_eq!(s.ring_kb, 32);
        assert_eq!(s.retain, 1 << 30);
        assert!(!s.exclude_self);
        assert_eq!(s.wakeup_bytes, 4096);
        assert_eq!(s.exclude_pids, [7]);
        assert_eq!(s.exclude_uids, [65534]);
        assert_eq!(s.syscalls.render(), "read,i386:open");
        // Only what was written changes.
        let s2 = apply(&s, b"snaplen = 100").unwrap();
        assert_eq!(
            s2,
            Settings {
                snaplen: 100,
                ..s.clone()
            }
        );
        // Empty values clear lists.
        let s3 = apply(&s, b"pids =\ncomms=\nexclude=").unwrap();
        assert!(s3.pids.is_empty() && s3.comms.is_empty() && s3.exclude.is_empty());
        // A write of only comments changes nothing.
        assert_eq!(apply(&s, b"# nothing\n\n").unwrap(), s);
    }

    #[test]
    fn sizes() {
        assert_eq!(ok("retain = 1048576").retain, 1 << 20);
        assert_eq!(ok("retain = 2048K").retain, 2 << 20);
        assert_eq!(ok("retain = 64m").retain, 64 << 20);
        assert_eq!(ok("retain = 64MiB").retain, 64 << 20);
        assert_eq!(ok("retain = 3GB").retain, 3 << 30);
        assert_eq!(ok("retain = 64G").retain, 64 << 30);
        assert_eq!(sagafs_mount::size::format(1_048_577), "1048577");
        assert_eq!(sagafs_mount::size::format(1536 << 10), "1536K");
        for bad in [
            "retain = 1023K",
            "retain = 65G",
            "retain = 12X",
            "retain = M",
            "retain = -1M",
            "retain = 99999999999999999999G",
            "retain = 1.5G",
            "retain =",
        ] {
            let e = err(bad.as_bytes());
            assert_eq!(
                (e.line, e.key.as_deref()),
                (1, Some("retain")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn bad_values_name_line_and_key() {
        // (the line, what its error says); the key is the line's.
        let cases: &[(&str, &str)] = &[
            ("enabled = 2", "not 0 or 1"),
            ("exclude_self = maybe", "not 0 or 1"),
            ("syscalls =", "enabled = 0"),
            ("syscalls = opn", "did you mean 'open'"),
            ("exclude = open,,read", "empty entry"),
            ("exclude = all,open", "stand alone"),
            ("exclude = arm:open", "unknown system call 'arm:open'"),
            ("pids = 0", "not a valid pid"),
            ("pids = -1", "not a decimal number"),
            ("pids = +5", "not a decimal number"),
            ("pids = 0x10", "not a decimal number"),
            ("exclude_pids = 4294967296", "too large"),
            ("uids = 4294967295", "not a valid uid"),
            ("uids = root", "not a decimal number"),
            ("comms = abcdefghijklmnop", "at most 15"),
            ("comms = a\\x00b", "NUL"),
            ("comms = a\\qb", "bad escape"),
            ("exclude_comms = ,x", "empty entry"),
            ("result = some", "any, success or failure"),
            ("snaplen = 4097", "out of range"),
            ("ring_kb = 1000", "power of two"),
            ("ring_kb = 16", "power of two"),
            ("ring_kb = 524288", "power of two"),
            ("wakeup_bytes = 1048576", "more than a quarter of the ring"),
        ];
        for (text, needle) in cases {
            let key = text.split(' ').next().unwrap();
            let full = format!("# first\n\n{text}\n");
            let e = err(full.as_bytes());
            assert_eq!(e.line, 3, "{text}: {e}");
            assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
            assert_eq!(e.errno, libc::EINVAL);
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert!(
                e.to_string().starts_with(&format!("line 3: {key}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn cross_check_names_the_later_line() {
        let e = err(b"wakeup_bytes = 40000\nring_kb = 32\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("ring_kb")));
        let e = err(b"ring_kb = 32\nwakeup_bytes = 32768\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("wakeup_bytes")));
    }

    #[test]
    fn wakeup_bytes_is_at_most_a_quarter_of_the_ring() {
        assert_eq!(ok("ring_kb = 32\nwakeup_bytes = 8192").wakeup_bytes, 8192);
        let e = err(b"ring_kb = 32\nwakeup_bytes = 8193\n");
        assert_eq!(
            e.to_string(),
            "line 2: wakeup_bytes: wakeup_bytes = 8193 is more than a quarter \
             of the ring: at most 8192 with ring_kb = 32"
        );
        // Against the ring in force when only one of them is written.
        let big = ok("ring_kb = 1024\nwakeup_bytes = 262144");
        let e = apply(&big, b"ring_kb = 512").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (1, Some("ring_kb")));
        assert!(
            e.message.contains("at most 131072 with ring_kb = 512"),
            "{e}"
        );
        assert_eq!(wakeup_bytes_max(abi::RING_KB_MAX), 64 << 20);
    }

    #[test]
    fn renamed_keys_say_their_new_name() {
        let e = err(b"buffer_kb = 64\n");
        assert_eq!((e.line, e.key.as_deref()), (1, None));
        assert_eq!(
            e.to_string(),
            "line 1: unknown key 'buffer_kb' (renamed: write 'ring_kb')"
        );
    }

    #[test]
    fn malformed_writes() {
        let e = err(b"enabled 1\n");
        assert_eq!((e.line, e.key.as_deref()), (1, None));
        assert!(e.message.contains("not a 'key = value' line"));

        let e = err(b"\nexlcude = open\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("did you mean 'exclude'"), "{e}");
        let e = err(b"frobnicate = 1");
        assert!(e.message.contains("known keys: enabled"), "{e}");

        let e = err(b"snaplen = 1\nsnaplen = 2\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("snaplen")));
        assert!(e.message.contains("first on line 1"));

        let e = err(b"comms = caf\xe9\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("UTF-8"));

        let big = "# padding\n".repeat(MAX_WRITE / 10 + 1);
        let e = err(big.as_bytes());
        assert_eq!((e.line, e.errno), (0, libc::EFBIG));
        assert!(e.message.contains("too large"));
    }

    #[test]
    fn too_many_entries() {
        let ids: Vec<String> = (1..=65).map(|i| i.to_string()).collect();
        let e = err(format!("pids = {}", ids.join(",")).as_bytes());
        assert!(e.message.contains("65 entries, at most 64"), "{e}");
        ok(&format!("uids = {}", ids[..64].join(",")));
        let comms: Vec<String> = (0..33).map(|i| format!("c{i}")).collect();
        let e = err(format!("exclude_comms = {}", comms.join(",")).as_bytes());
        assert!(e.message.contains("33 entries, at most 32"), "{e}");
        // Duplicates do not count twice.
        ok(&format!("comms = {},c0,c1", comms[..32].join(",")));
    }

    #[test]
    fn errors_change_nothing() {
        let cur = ok("snaplen = 100\npids = 5");
        let before = cur.clone();
        assert!(apply(&cur, b"snaplen = 200\npids = 6\nbogus = 1\n").is_err());
        assert_eq!(cur, before);
    }

    #[test]
    fn kernel_round_trip() {
        let s = ok(
            "enabled = 0\nsyscalls = open,i386:read,other\nexclude = x32:read\n\
                    pids = 1,2\nexclude_pids = 3\nuids = 0\nexclude_uids = 4\n\
                    comms = abcdefghijklmno,\\xff\nexclude_comms = sh\nresult = success\n\
                    snaplen = 4096\nring_kb = 262144\nexclude_self = 0\nwakeup_bytes = 9",
        );
        let k = s.to_kernel();
        assert_eq!(k.size as usize, std::mem::size_of::<sagafs_config>());
        assert_eq!(k.flags, 0);
        assert_eq!(k.result, abi::RESULT_SUCCESS);
        assert_eq!((k.nr_pids, k.pids[0], k.pids[1]), (2, 1, 2));
        assert_eq!(&k.comms[0], b"abcdefghijklmno\0");
        assert_eq!(&k.comms[1][..2], b"\xff\0");
        assert_eq!(k.ring_kb, 262_144);
        assert_eq!(k.syscalls[0][0], 1 << 2);
        assert_eq!(k.syscalls[1][0], 1 << 3 | 1 << 5);
        assert_eq!(k.syscalls[2][0], 1 << 2);
        assert_eq!(k.syscalls[0][15], 1 << 63);
        assert_eq!(k.exclude_syscalls[2][0], 1);
        assert_eq!(Settings::from_kernel(&k, s.retain), s);

        let d = Settings::default();
        let k = d.to_kernel();
        assert_eq!(k.flags, abi::CFG_FLAGS_ALL);
        assert_eq!(k.snaplen, abi::SNAPLEN_DEFAULT);
        assert_eq!(k.ring_kb, abi::RING_KB_DEFAULT);
        assert!(k.syscalls.iter().flatten().all(|&w| w == u64::MAX));
        assert_eq!(Settings::from_kernel(&k, RETAIN_DEFAULT), d);

        // Hostile counts from the kernel side are clamped.
        let k = sagafs_config {
            nr_pids: 1000,
            nr_comms: u32::MAX,
            ..Default::default()
        };
        let s = Settings::from_kernel(&k, RETAIN_DEFAULT);
        assert_eq!((s.pids.len(), s.comms.len()), (MAX_IDS, MAX_COMMS));
    }

    #[test]
    fn set_rendering() {
        assert_eq!(SyscallSet::EMPTY.render(), "none");
        assert_eq!(SyscallSet::ALL.render(), "all");
        let s = SyscallSet::parse("open").unwrap();
        assert_eq!(s.render(), "open");
        let s = SyscallSet::parse("x86_64:open,i386:open").unwrap();
        assert_eq!(s.render(), "x86_64:open,i386:open");
        let s = SyscallSet::parse("socketcall,nr_600,x32:x32_nr_520,i386:nr_5").unwrap();
        assert_eq!(s.render(), "nr_600,i386:open,socketcall,x32_nr_520");
        assert_eq!(SyscallSet::parse(&s.render()).unwrap(), s);
    }

    fn round_trip(s: &Settings) -> Result<(), TestCaseError> {
        let text = render(s);
        let back = apply(&Settings::default(), text.as_bytes());
        prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
        prop_assert_eq!(&back.unwrap(), s);
        Ok(())
    }

    fn arb_set() -> impl Strategy<Value = SyscallSet> {
        prop_oneof![
            Just(SyscallSet::ALL),
            Just(SyscallSet::EMPTY),
            proptest::collection::vec((0..3usize, 0..NR_SLOTS), 0..200).prop_map(|v| {
                let mut s = SyscallSet::EMPTY;
                for (a, slot) in v {
                    s.insert(Abi::ALL[a], slot);
                }
                s
            }),
        ]
    }

    fn arb_comms() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(1u8.., 1..16), 0..MAX_COMMS)
            .prop_map(keys::dedup)
    }

    fn arb_ids(ok: fn(&u32) -> bool) -> impl Strategy<Value = Vec<u32>> {
        proptest::collection::vec(any::<u32>().prop_filter("valid", ok), 0..MAX_IDS)
            .prop_map(keys::dedup)
    }

    prop_compose! {
        fn arb_settings()(
            enabled in any::<bool>(),
            syscalls in arb_set().prop_filter("not empty", |s| !s.is_empty()),
            exclude in arb_set(),
            pids in arb_ids(|&n| n > 0),
            exclude_pids in arb_ids(|&n| n > 0),
            uids in arb_ids(|&n| n != u32::MAX),
            exclude_uids in arb_ids(|&n| n != u32::MAX),
            comms in arb_comms(),
            exclude_comms in arb_comms(),
            result in 0..3u32,
            snaplen in 0..=abi::SNAPLEN_MAX,
            kb_shift in 5..=18u32,
            retain in RETAIN_MIN..=RETAIN_MAX,
            exclude_self in any::<bool>(),
            wakeup in any::<u32>(),
            rules in proptest::sample::subsequence(RULES.to_vec(), 0..=RULES.len()),
            never in any::<bool>(),
        ) -> Settings {
            Settings {
                enabled, syscalls, exclude, pids, exclude_pids, uids, exclude_uids,
                comms, exclude_comms,
                result: ResultFilter::from_raw(result),
                snaplen,
                ring_kb: 1 << kb_shift,
                retain,
                exclude_self,
                wakeup_bytes: (u64::from(wakeup) % (wakeup_bytes_max(1 << kb_shift) + 1)) as u32,
                rules: rules.into_iter().map(str::to_string).collect(),
                default: if never { RuleDefault::Never } else { RuleDefault::Always },
                outputs: OutputSettings::default(),
            }
        }
    }

    /// Rules in their normal form.
    const RULES: [&str; 5] = [
        "always syscall=openat,openat2 dir=/etc key=etc",
        "never comm=backup",
        "always path=/etc/shadow perm=wa key=shadow",
        "never uid!=0-999",
        "always exe=\"/usr/bin/a b\" result=EACCES",
    ];

    #[test]
    fn the_example_configuration_file_applies_uncommented() {
        let text: String = include_str!("../../packaging/sagafs.conf")
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .filter(|l| l.contains(" = ") && !l.starts_with(' '))
            // The CA file of the example names the administrator's own.
            .filter(|l| !l.starts_with("remote_ca "))
            .map(|l| format!("{l}\n"))
            .collect();
        let s = ok(&text);
        assert_eq!(s.rules.len(), 3, "{text}");
        assert_eq!(s.default, RuleDefault::Never);
    }

    #[test]
    fn rule_lines_replace_the_list_and_must_each_be_one_rule() {
        let s = ok("rule = never comm=a\nrule = always class=exec key=x\ndefault = never\n");
        assert_eq!(s.rules, ["never comm=a", "always class=exec key=x"]);
        assert_eq!(s.default, RuleDefault::Never);
        let t = render(&s);
        assert!(
            t.contains("\nrule = never comm=a\nrule = always class=exec key=x\ndefault = never\n"),
            "{t}"
        );
        // A later write's rule lines replace the list; other keys keep it.
        let s2 = apply(&s, b"rule = always comm=b\n").unwrap();
        assert_eq!(s2.rules, ["always comm=b"]);
        assert_eq!(apply(&s, b"snaplen = 9\n").unwrap().rules, s.rules);
        assert!(apply(&s, b"rule =\n").unwrap().rules.is_empty());
        for (text, want) in [
            (
                "rule = default never\n",
                "line 1: rule: the default is a key of its own",
            ),
            ("rule = always comm=a comm=b\n", "line 1: rule: 'comm=b'"),
            ("\nrule = sometimes\n", "line 2: rule: 'sometimes'"),
            (
                "default = maybe\n",
                "line 1: default: 'maybe' is not always or never",
            ),
        ] {
            let e = apply(&s, text.as_bytes()).unwrap_err();
            assert!(e.to_string().starts_with(want), "{text}: {e}");
            assert_eq!(e.errno, libc::EINVAL);
        }
    }

    #[test]
    fn empty_syscalls_round_trip() {
        let s = Settings {
            syscalls: SyscallSet::EMPTY,
            ..Settings::default()
        };
        assert!(render(&s).contains("\nsyscalls = none\n"));
        round_trip(&s).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn render_then_apply_is_identity(s in arb_settings()) {
            round_trip(&s)?;
            // The kernel's configuration holds no rules.
            let kernel_part = Settings { rules: Vec::new(), default: RuleDefault::Always, ..s.clone() };
            prop_assert_eq!(Settings::from_kernel(&s.to_kernel(), s.retain), kernel_part);
        }

        #[test]
        fn apply_never_panics(text in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = apply(&Settings::default(), &text);
        }

        #[test]
        fn apply_never_panics_on_keyish_text(
            lines in proptest::collection::vec(
                (proptest::sample::select(keys::names().collect::<Vec<_>>()), "[ -~]{0,24}"), 0..6)
        ) {
            let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            if let Ok(s) = apply(&Settings::default(), text.as_bytes()) {
                round_trip(&s)?;
            }
        }
    }
}
