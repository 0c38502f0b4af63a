//! The configuration keys, in one table: [`KEYS`] gives each key's name
//! (in the order `render()` prints the keys and sagafs(5) lists them),
//! how its value is rendered and how a value is read and checked.
//! Parsing, rendering, the key names in messages and the man page's key
//! list (compared by a test) all follow this table.

use super::outputs as o;
use super::{ResultFilter, RuleDefault, Settings, SyscallSet, RETAIN_MAX, RETAIN_MIN};
use crate::abi::{COMM_LEN, MAX_COMMS, MAX_IDS, RING_KB_MAX, RING_KB_MIN, SNAPLEN_MAX};
use crate::format::escape::{escape_into, unescape};
use crate::output::validate;
use sagafs_mount::size;

/// One key of the `config` file.
pub struct Key {
    pub name: &'static str,
    /// The value as `render()` prints it (empty for an empty list); for a
    /// repeated key, one value per line.
    pub render: fn(&Settings) -> String,
    /// Sets the key from its value text (trimmed), or says why not; a
    /// repeated key adds its value.
    pub set: fn(&mut Settings, &str) -> Result<(), String>,
    /// Given once per value, on as many lines as it has values (`rule`):
    /// the first of them in a write replaces the whole list.
    pub repeated: bool,
}

/// A key stored as is in the `Settings` field of the same name: rendered
/// by `$render` (given a reference to the field), parsed and checked by
/// `$parse` (given the value text).
macro_rules! key {
    ($name:ident, $render:expr, $parse:expr) => {
        Key {
            name: stringify!($name),
            render: |s| ($render)(&s.$name),
            set: |s, v| ($parse)(v).map(|x| s.$name = x),
            repeated: false,
        }
    };
}

/// A key of the outputs' settings (`Settings::outputs`), like `key!`.
macro_rules! okey {
    ($name:ident, $render:expr, $parse:expr) => {
        Key {
            name: stringify!($name),
            render: |s| ($render)(&s.outputs.$name),
            set: |s, v| ($parse)(v).map(|x| s.outputs.$name = x),
            repeated: false,
        }
    };
}

/// Every key, in the order `render()` prints them.
pub const KEYS: [Key; 30] = [
    key!(enabled, render_flag, parse_bool),
    key!(syscalls, SyscallSet::render, parse_syscalls),
    key!(exclude, render_exclude, SyscallSet::parse),
    key!(pids, render_ids, parse_pids),
    key!(exclude_pids, render_ids, parse_pids),
    key!(uids, render_ids, parse_uids),
    key!(exclude_uids, render_ids, parse_uids),
    key!(comms, render_comms, parse_comms),
    key!(exclude_comms, render_comms, parse_comms),
    key!(result, ResultFilter::render, parse_result),
    key!(snaplen, u32::to_string, parse_snaplen),
    key!(ring_kb, u32::to_string, parse_ring_kb),
    key!(retain, render_size, parse_retain),
    key!(exclude_self, render_flag, parse_bool),
    key!(wakeup_bytes, u32::to_string, parse_u32),
    Key {
        name: "rule",
        render: |s| s.rules.join("\n"),
        set: add_rule,
        repeated: true,
    },
    key!(default, RuleDefault::render, RuleDefault::parse),
    okey!(log_dir, o::render_path, o::parse_dir_or_off),
    okey!(log_format, o::render_format, validate::format),
    okey!(max_log_file, render_size, o::parse_max_log_file),
    okey!(num_logs, u32::to_string, o::parse_num_logs),
    okey!(log_flush, o::render_flush, validate::flush),
    okey!(disk_full_action, o::render_disk_full, validate::disk_full),
    okey!(journal, render_flag, parse_bool),
    okey!(remote, String::clone, o::parse_remote),
    okey!(remote_protocol, o::render_protocol, validate::protocol),
    okey!(remote_tls, render_flag, parse_bool),
    okey!(remote_ca, o::render_path, o::parse_ca),
    okey!(remote_spool, o::render_path, o::parse_dir),
    okey!(remote_spool_max, render_size, o::parse_spool_max),
];

/// Keys that were renamed, with their new names: refused with a hint.
pub const RENAMED: [(&str, &str); 1] = [("buffer_kb", "ring_kb")];

/// The position of the key `name` in [`KEYS`].
pub fn position(name: &str) -> Option<usize> {
    KEYS.iter().position(|k| k.name == name)
}

/// The key names, in table order.
pub fn names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

/// One rule (sagafs(5), RULES), kept in its normal form; an empty value
/// leaves the list empty.
fn add_rule(s: &mut Settings, v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    let list = crate::rules::parse(v).map_err(|e| {
        if e.word.is_empty() {
            e.message
        } else {
            format!("'{}': {}", e.word, e.message)
        }
    })?;
    if list.default_given {
        return Err("the default is a key of its own: write 'default = always|never'".into());
    }
    match list.rules.as_slice() {
        [r] => {
            s.rules.push(r.to_string());
            Ok(())
        }
        _ => Err("give one rule: always|never CONDITION... or watch PATH [PERMS]".into()),
    }
}

fn render_flag(v: &bool) -> String {
    if *v { "1" } else { "0" }.to_string()
}

/// The empty set renders as an empty value (nothing excluded).
fn render_exclude(set: &SyscallSet) -> String {
    if set.is_empty() {
        String::new()
    } else {
        set.render()
    }
}

fn parse_syscalls(v: &str) -> Result<SyscallSet, String> {
    if v.is_empty() {
        return Err("empty: give 'all', 'none' or a list of names \
                    (to stop capture, write 'enabled = 0')"
            .into());
    }
    SyscallSet::parse(v)
}

/// Process ids: at least 1.
fn parse_pids(v: &str) -> Result<Vec<u32>, String> {
    parse_ids(v, "pid", |n| n > 0)
}

/// User ids: any but 4294967295 (-1, "no uid").
fn parse_uids(v: &str) -> Result<Vec<u32>, String> {
    parse_ids(v, "uid", |n| n != u32::MAX)
}

fn render_size(n: &u64) -> String {
    size::format(*n)
}

fn parse_result(v: &str) -> Result<ResultFilter, String> {
    match v {
        "any" => Ok(ResultFilter::Any),
        "success" => Ok(ResultFilter::Success),
        "failure" => Ok(ResultFilter::Failure),
        _ => Err(format!("'{v}' is not any, success or failure")),
    }
}

fn parse_snaplen(v: &str) -> Result<u32, String> {
    let n = parse_u32(v)?;
    if n > SNAPLEN_MAX {
        return Err(format!("{n} is out of range 0..{SNAPLEN_MAX}"));
    }
    Ok(n)
}

fn parse_ring_kb(v: &str) -> Result<u32, String> {
    let n = parse_u32(v)?;
    if !(RING_KB_MIN..=RING_KB_MAX).contains(&n) || !n.is_power_of_two() {
        return Err(format!(
            "{n} is not a power of two in {RING_KB_MIN}..{RING_KB_MAX}"
        ));
    }
    Ok(n)
}

fn parse_retain(v: &str) -> Result<u64, String> {
    let n = size::parse(v).map_err(|e| format!("'{v}': {e}"))?;
    if !(RETAIN_MIN..=RETAIN_MAX).contains(&n) {
        return Err(format!(
            "{} is out of range {}..{}",
            size::format(n),
            size::format(RETAIN_MIN),
            size::format(RETAIN_MAX)
        ));
    }
    Ok(n)
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "yes" | "on" | "true" => Ok(true),
        "0" | "no" | "off" | "false" => Ok(false),
        _ => Err(format!("'{v}' is not 0 or 1")),
    }
}

fn parse_u32(v: &str) -> Result<u32, String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{v}' is not a decimal number"));
    }
    v.parse::<u32>()
        .map_err(|_| format!("'{v}' is too large (at most {})", u32::MAX))
}

fn check_count(n: usize, max: usize) -> Result<(), String> {
    if n > max {
        return Err(format!("{n} entries, at most {max} are allowed"));
    }
    Ok(())
}

/// Splits a comma list; an empty value is the empty list.
fn items(v: &str) -> Result<Vec<&str>, String> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    v.split(',')
        .map(|i| {
            let i = i.trim_matches(|c: char| c.is_ascii_whitespace());
            if i.is_empty() {
                Err("empty entry in the list (two commas in a row?)".to_string())
            } else {
                Ok(i)
            }
        })
        .collect()
}

/// `v` without repeated entries, first occurrences kept in order.
pub(super) fn dedup<T: PartialEq>(v: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn parse_ids(v: &str, what: &str, ok: impl Fn(u32) -> bool) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for i in items(v)? {
        let n = parse_u32(i)?;
        if !ok(n) {
            return Err(format!("{n} is not a valid {what}"));
        }
        out.push(n);
    }
    let out = dedup(out);
    check_count(out.len(), MAX_IDS)?;
    Ok(out)
}

fn parse_comms(v: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for i in items(v)? {
        let c = unescape(i.as_bytes()).map_err(|e| format!("'{i}': {e}"))?;
        if c.len() >= COMM_LEN {
            return Err(format!(
                "'{i}' is {} bytes long, a comm has at most {}",
                c.len(),
                COMM_LEN - 1
            ));
        }
        if c.contains(&0) {
            return Err(format!("'{i}' contains a NUL byte"));
        }
        out.push(c);
    }
    let out = dedup(out);
    check_count(out.len(), MAX_COMMS)?;
    Ok(out)
}

fn render_ids(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn render_comms(v: &[Vec<u8>]) -> String {
    let mut out = Vec::new();
    for (i, c) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        escape_into(&mut out, c);
    }
    String::from_utf8(out).expect("escaped text is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys sagafs(5) describes under `config`, in its order: the
    /// `.It Cm` items of the list that follows the `.Ss config` heading
    /// (an item may name several keys: `.It Cm pids , exclude_pids`).
    fn man_page_keys() -> Vec<String> {
        let page = include_str!("../../../man/sagafs.5");
        let section = page
            .split("\n.Ss config\n")
            .nth(1)
            .expect("sagafs(5) has a config section");
        let list = section
            .split_once("\n.Bl -tag")
            .expect("the config section has a key list")
            .1;
        let list = list.split_once("\n.El\n").expect("the key list ends").0;
        list.lines()
            .filter_map(|l| l.strip_prefix(".It Cm "))
            .flat_map(|l| l.split(" , ").map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    /// The keys of the example `config` content in sagafs(5).
    fn man_page_example_keys() -> Vec<String> {
        let page = include_str!("../../../man/sagafs.5");
        let section = page.split("\n.Ss config\n").nth(1).unwrap();
        let example = section
            .split_once(".Bd -literal")
            .and_then(|(_, rest)| rest.split_once("\n.Ed\n"))
            .expect("the config section shows the file")
            .0;
        example
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" ="))
            .map(|(k, _)| k.to_string())
            .collect()
    }

    #[test]
    fn man_page_lists_every_key_in_table_order() {
        let table: Vec<String> = names().map(str::to_string).collect();
        assert_eq!(man_page_keys(), table);
        assert_eq!(man_page_example_keys(), table);
    }

    #[test]
    fn names_are_unique_and_renames_point_to_keys() {
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(position(k.name), Some(i), "{}", k.name);
        }
        for (old, new) in RENAMED {
            assert_eq!(position(old), None, "{old}");
            assert!(position(new).is_some(), "{new}");
        }
    }
}
