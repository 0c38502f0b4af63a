//! The rule language: text to [`RuleList`], and back (`Display` writes
//! the canonical form, which parses to the same list).
//!
//! ```text
//! # comment                        (a line whose first word starts with #)
//! default always|never             (calls no rule decides; once)
//! always|never CONDITION...        (one rule; conditions ANDed)
//! watch PATH [rwxa] [key=KEY]      (auditd's -w PATH -p PERMS -k KEY)
//! ```
//!
//! A condition is one word, `FIELD=VALUE` or `FIELD!=VALUE` (numeric
//! fields also `<`, `<=`, `>`, `>=`); each field at most once per rule.
//! sagafs(5) describes every field.

use std::fmt;

use crate::abi;
use crate::names;

use super::classes;
use super::error::RuleError;
use super::lex::{self, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Always,
    Never,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Always => "always",
            Action::Never => "never",
        }
    }
}

/// The fields a condition names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Syscall,
    Class,
    Abi,
    Perm,
    Uid,
    Euid,
    Gid,
    Auid,
    Pid,
    Ppid,
    Result,
    Pidns,
    Comm,
    Cgroup,
    Container,
    Exe,
    Path,
    Dir,
    Key,
}

const FIELDS: [(&str, Field); 19] = [
    ("syscall", Field::Syscall),
    ("class", Field::Class),
    ("abi", Field::Abi),
    ("perm", Field::Perm),
    ("uid", Field::Uid),
    ("euid", Field::Euid),
    ("gid", Field::Gid),
    ("auid", Field::Auid),
    ("pid", Field::Pid),
    ("ppid", Field::Ppid),
    ("result", Field::Result),
    ("pidns", Field::Pidns),
    ("comm", Field::Comm),
    ("cgroup", Field::Cgroup),
    ("container", Field::Container),
    ("exe", Field::Exe),
    ("path", Field::Path),
    ("dir", Field::Dir),
    ("key", Field::Key),
];

impl Field {
    pub fn name(self) -> &'static str {
        FIELDS.iter().find(|(_, f)| *f == self).expect("listed").0
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Field::Uid | Field::Euid | Field::Gid | Field::Auid | Field::Pid | Field::Ppid
        )
    }
}

/// A condition's value, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// syscall, class, abi: names as written (validated).
    Names(Vec<String>),
    /// perm: `abi::PERM_*` bits.
    Perm(u64),
    /// ids: lo..=hi.
    Range(u32, u32),
    /// result: lo..=hi of the return value.
    Result(i64, i64),
    /// pidns: an inode number (`host`: `abi::PIDNS_HOST`).
    Pidns(u32),
    /// comm, cgroup, exe, path, dir, container: bytes, and whether they
    /// are a prefix.
    Str(Vec<u8>, bool),
    /// container=none (negated: any container).
    NoContainer,
    /// key.
    Key(String),
}

/// One condition: `field` (negated) `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub field: Field,
    pub negated: bool,
    pub value: Val,
}

/// One rule, with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    pub action: Action,
    /// In the order written (each field at most once).
    pub conds: Vec<Cond>,
}

impl Rule {
    pub fn get(&self, f: Field) -> Option<&Cond> {
        self.conds.iter().find(|c| c.field == f)
    }
}

/// A parsed rule text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleList {
    /// `default never` was given.
    pub default_never: bool,
    /// A `default` line was given (always or never).
    pub default_given: bool,
    pub rules: Vec<Rule>,
}

/// The largest errno a result condition names.
const MAX_ERRNO: i64 = names::MAX_ERRNO;

fn suggest(word: &str) -> String {
    let best = FIELDS
        .iter()
        .map(|(n, _)| (strsim::levenshtein(word, n), *n))
        .min()
        .filter(|(d, _)| *d <= 2);
    match best {
        Some((_, n)) => format!(" (did you mean '{n}'?)"),
        None => String::new(),
    }
}

fn field_list() -> String {
    FIELDS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The operator at the start of `s`.
fn operator(s: &str) -> Option<(&'static str, &str)> {
    ["!=", "<=", ">=", "=", "<", ">"]
        .into_iter()
        .find_map(|op| s.strip_prefix(op).map(|rest| (op, rest)))
}

struct Ctx<'a> {
    line: usize,
    word: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, RuleError> {
        Err(RuleError::new(self.line, self.word, msg))
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 10 {
        return None;
    }
    s.parse().ok()
}

fn parse_range(cx: &Ctx, field: Field, op: &str, v: &str) -> Result<Val, RuleError> {
    let one = |s: &str| -> Result<u32, RuleError> {
        if field == Field::Auid && s == "unset" {
            return Ok(u32::MAX);
        }
        parse_u32(s).map_or_else(
            || {
                let extra = if field == Field::Auid { ", or unset" } else { "" };
                cx.err(format!(
                    "'{s}' is not a number from 0 to 4294967295{extra} (names are not resolved: use id -u NAME)"
                ))
            },
            Ok,
        )
    };
    if op == "=" || op == "!=" {
        if let Some((a, b)) = v.split_once('-') {
            let (lo, hi) = (one(a)?, one(b)?);
            if lo > hi {
                return cx.err(format!("the range {lo}-{hi} is empty (write LOW-HIGH)"));
            }
            return Ok(Val::Range(lo, hi));
        }
        if v.contains(',') {
            return cx.err("one value or one range per condition (LOW-HIGH), not a list");
        }
        let n = one(v)?;
        return Ok(Val::Range(n, n));
    }
    let n = one(v)?;
    let r = match op {
        "<" => n.checked_sub(1).map(|h| (0, h)),
        "<=" => Some((0, n)),
        ">" => n.checked_add(1).map(|l| (l, u32::MAX)),
        _ => Some((n, u32::MAX)),
    };
    match r {
        Some((lo, hi)) => Ok(Val::Range(lo, hi)),
        None => cx.err(format!("{}{op}{v} matches nothing", field.name())),
    }
}

fn errno_by_name(name: &str) -> Option<i64> {
    (1..=MAX_ERRNO).find(|&e| names::errno_name(e) == Some(name))
}

fn parse_result(cx: &Ctx, v: &str) -> Result<(Val, bool), RuleError> {
    // success is "not failure".
    let failure = Val::Result(-MAX_ERRNO, -1);
    match v {
        "success" => return Ok((failure, true)),
        "failure" => return Ok((failure, false)),
        _ => {}
    }
    let e = if let Some(n) = v.strip_prefix('-') {
        parse_u32(n)
            .map(i64::from)
            .filter(|n| (1..=MAX_ERRNO).contains(n))
    } else {
        errno_by_name(&v.to_ascii_uppercase())
    };
    match e {
        Some(e) => Ok((Val::Result(-e, -e), false)),
        None => cx.err(format!(
            "'{v}' is not success, failure, an errno name (ENOENT) or -1 to -{MAX_ERRNO}"
        )),
    }
}

fn parse_names(cx: &Ctx, field: Field, v: &str) -> Result<Val, RuleError> {
    let list: Vec<String> = v.split(',').map(str::to_string).collect();
    if list.iter().any(String::is_empty) {
        return cx.err("an empty name in the list");
    }
    for n in &list {
        match field {
            Field::Syscall => {
                let q = if n.bytes().all(|b| b.is_ascii_digit()) {
                    format!("nr_{n}")
                } else {
                    n.clone()
                };
                if let Err(e) = names::lookup(&q) {
                    return cx.err(e.to_string());
                }
            }
            Field::Class => {
                if classes::class(n).is_none() {
                    let all: Vec<&str> = classes::CLASSES.iter().map(|(c, _)| *c).collect();
                    return cx.err(format!("unknown class '{n}' (classes: {})", all.join(", ")));
                }
            }
            _ => {
                if !["x86_64", "i386", "x32"].contains(&n.as_str()) {
                    return cx.err(format!("unknown ABI '{n}' (x86_64, i386, x32)"));
                }
            }
        }
    }
    Ok(Val::Names(list))
}

fn parse_perm(cx: &Ctx, v: &str) -> Result<u64, RuleError> {
    let mut mask = 0;
    for c in v.chars() {
        let bit = match c {
            'r' => abi::PERM_R,
            'w' => abi::PERM_W,
            'x' => abi::PERM_X,
            'a' => abi::PERM_A,
            _ => return cx.err(format!("'{c}' is not a permission: use r, w, x, a")),
        };
        if mask & bit != 0 {
            return cx.err(format!("'{c}' given twice"));
        }
        mask |= bit;
    }
    if mask == 0 {
        return cx.err("no permission given: use some of r, w, x, a");
    }
    Ok(mask)
}

fn valid_key(k: &str) -> bool {
    (1..=abi::KEY_MAX).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:,/@+=-".contains(&b))
}

fn parse_key(cx: &Ctx, v: &str) -> Result<Val, RuleError> {
    if !valid_key(v) {
        return cx.err(format!(
            "a key is 1 to {} characters from A-Z a-z 0-9 _ . : , / @ + = -",
            abi::KEY_MAX
        ));
    }
    Ok(Val::Key(v.to_string()))
}

fn parse_string(cx: &Ctx, field: Field, raw: &str) -> Result<Val, RuleError> {
    let Value { bytes, star, .. } = lex::value(raw).or_else(|m| cx.err(m))?;
    if field == Field::Container && !star && bytes == b"none" {
        return Ok(Val::NoContainer);
    }
    let max = match field {
        Field::Comm => abi::COMM_LEN - 1,
        _ => abi::RULE_STR_MAX,
    };
    if bytes.is_empty() {
        return cx.err(format!("an empty {}", field.name()));
    }
    if bytes.len() > max {
        return cx.err(format!(
            "{} bytes: a {} holds at most {max}",
            bytes.len(),
            field.name()
        ));
    }
    if bytes.contains(&0) {
        return cx.err("a NUL byte cannot match");
    }
    match field {
        Field::Cgroup | Field::Exe if bytes[0] != b'/' => {
            return cx.err(format!("a {} starts with '/'", field.name()))
        }
        Field::Container if bytes.contains(&b'/') => {
            return cx.err("a container id has no '/' (for a cgroup path use cgroup=)")
        }
        Field::Dir if star => {
            return cx.err("dir= already means the directory and everything below it: drop the '*'")
        }
        _ => {}
    }
    // Short docker-style ids match the ids they start.
    let prefix = star
        || (field == Field::Container
            && bytes.len() < 64
            && bytes.len() >= 12
            && bytes
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
    Ok(Val::Str(bytes, prefix))
}

fn parse_cond(cx: &Ctx, action: Action) -> Result<Cond, RuleError> {
    let w = cx.word;
    let name_len = w
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .unwrap_or(w.len());
    let name = &w[..name_len];
    let Some((_, field)) = FIELDS.iter().find(|(n, _)| *n == name) else {
        if name.is_empty() {
            return cx.err(format!("expected FIELD=VALUE (fields: {})", field_list()));
        }
        return cx.err(format!("unknown field '{name}'{}", suggest(name)));
    };
    let field = *field;
    let Some((op, v)) = operator(&w[name_len..]) else {
        return cx.err(format!("expected {name}=VALUE or {name}!=VALUE"));
    };
    if v.is_empty() {
        return cx.err(format!("no value after {name}{op}"));
    }
    if !matches!(op, "=" | "!=") && !field.numeric() {
        return cx.err(format!("{name} takes = or != only"));
    }
    let mut negated = op == "!=";
    if negated && matches!(field, Field::Perm | Field::Key) {
        return cx.err(format!("{name} takes = only"));
    }
    let value = match field {
        Field::Syscall | Field::Class | Field::Abi => parse_names(cx, field, v)?,
        Field::Perm => Val::Perm(parse_perm(cx, v)?),
        f if f.numeric() => parse_range(cx, field, op, v)?,
        Field::Result => {
            let (val, neg) = parse_result(cx, v)?;
            negated ^= neg;
            val
        }
        Field::Pidns => match v {
            "host" => Val::Pidns(abi::PIDNS_HOST),
            _ => Val::Pidns(parse_u32(v).map_or_else(
                || cx.err("pidns is host or a namespace inode number (ls -l /proc/PID/ns/pid)"),
                Ok,
            )?),
        },
        Field::Key => {
            if action == Action::Never {
                return cx.err("never rules log nothing: a key belongs on an always rule");
            }
            parse_key(cx, v)?
        }
        _ => parse_string(cx, field, v)?,
    };
    Ok(Cond {
        field,
        negated,
        value,
    })
}

fn push_cond(cx: &Ctx, rule: &mut Rule, c: Cond) -> Result<(), RuleError> {
    let clash = |f: Field| rule.get(f).is_some();
    if clash(c.field) {
        return cx.err(format!(
            "{} given twice in one rule (one condition per field: use a range or a second rule)",
            c.field.name()
        ));
    }
    if matches!(c.field, Field::Path | Field::Dir) && (clash(Field::Path) || clash(Field::Dir)) {
        return cx.err("path= and dir= both test the path arguments: use one per rule");
    }
    rule.conds.push(c);
    Ok(())
}

fn parse_watch(line: usize, words: &[&str]) -> Result<Rule, RuleError> {
    let mut rule = Rule {
        line,
        action: Action::Always,
        conds: Vec::new(),
    };
    let Some(path) = words.get(1) else {
        return Err(RuleError::new(
            line,
            "watch",
            "watch needs a path: watch PATH [rwxa] [key=KEY]",
        ));
    };
    let cx = Ctx { line, word: path };
    let v = lex::value(path).or_else(|m| cx.err(m))?;
    if v.star || v.bytes.first() != Some(&b'/') {
        return cx.err("watch takes an absolute path (it covers what lies below a directory)");
    }
    let Val::Str(bytes, _) = parse_string(&cx, Field::Dir, path)? else {
        unreachable!("a path value")
    };
    rule.conds.push(Cond {
        field: Field::Dir,
        negated: false,
        value: Val::Str(bytes, false),
    });
    let mut rest = &words[2..];
    let mut perm = abi::PERM_ALL;
    if let Some(w) = rest.first().filter(|w| !w.contains('=')) {
        perm = parse_perm(&Ctx { line, word: w }, w)?;
        rest = &rest[1..];
    }
    rule.conds.push(Cond {
        field: Field::Perm,
        negated: false,
        value: Val::Perm(perm),
    });
    match rest {
        [] => {}
        [k] if k.starts_with("key=") => {
            let c = parse_cond(&Ctx { line, word: k }, Action::Always)?;
            rule.conds.push(c);
        }
        [w, ..] => return Err(RuleError::new(
            line,
            *w,
            "watch takes a path, permissions (rwxa) and key=KEY only: use an always rule for more",
        )),
    }
    Ok(rule)
}

/// Parses a rule text. Line numbers in errors count from 1.
pub fn parse(text: &str) -> Result<RuleList, RuleError> {
    let mut list = RuleList::default();
    let mut default_line = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut words = lex::words(line).map_err(|m| RuleError::new(n, "", m))?;
        // A word that starts with an unquoted '#' begins a comment.
        if let Some(c) = words.iter().position(|w| w.starts_with('#')) {
            words.truncate(c);
        }
        let Some(first) = words.first() else { continue };
        match *first {
            "default" => {
                if let Some(prev) = default_line {
                    return Err(RuleError::new(
                        n,
                        "default",
                        format!("default given twice (also on line {prev})"),
                    ));
                }
                default_line = Some(n);
                list.default_given = true;
                list.default_never = match words.get(1..) {
                    Some(["always"]) => false,
                    Some(["never"]) => true,
                    _ => {
                        return Err(RuleError::new(
                            n,
                            "default",
                            "write 'default always' or 'default never'",
                        ))
                    }
                };
            }
            "watch" => list.rules.push(parse_watch(n, &words)?),
            "always" | "never" => {
                let action = if *first == "always" {
                    Action::Always
                } else {
                    Action::Never
                };
                let mut rule = Rule {
                    line: n,
                    action,
                    conds: Vec::new(),
                };
                for w in &words[1..] {
                    let cx = Ctx { line: n, word: w };
                    let c = parse_cond(&cx, action)?;
                    push_cond(&cx, &mut rule, c)?;
                }
                list.rules.push(rule);
            }
            w => {
                return Err(RuleError::new(
                    n,
                    w,
                    "a line starts with always, never, watch, default or # (a comment)",
                ))
            }
        }
    }
    Ok(list)
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.name();
        let op = if self.negated { "!=" } else { "=" };
        match &self.value {
            Val::Names(list) => write!(f, "{name}{op}{}", list.join(",")),
            Val::Perm(mask) => {
                let letters: String = [
                    (abi::PERM_R, 'r'),
                    (abi::PERM_W, 'w'),
                    (abi::PERM_X, 'x'),
                    (abi::PERM_A, 'a'),
                ]
                .iter()
                .filter(|(b, _)| mask & b != 0)
                .map(|(_, c)| *c)
                .collect();
                write!(f, "{name}={letters}")
            }
            Val::Range(lo, hi) => {
                let one = |v: u32| {
                    if self.field == Field::Auid && v == u32::MAX {
                        "unset".to_string()
                    } else {
                        v.to_string()
                    }
                };
                if lo == hi {
                    write!(f, "{name}{op}{}", one(*lo))
                } else {
                    write!(f, "{name}{op}{}-{}", one(*lo), one(*hi))
                }
            }
            Val::Result(lo, hi) => {
                if (*lo, *hi) == (-MAX_ERRNO, -1) {
                    let v = if self.negated { "success" } else { "failure" };
                    write!(f, "{name}={v}")
                } else {
                    let e = names::errno_name(-lo).unwrap_or("?");
                    if e.starts_with('E') && e[1..].bytes().all(|b| b.is_ascii_digit()) {
                        write!(f, "{name}{op}{lo}")
                    } else {
                        write!(f, "{name}{op}{e}")
                    }
                }
            }
            Val::Pidns(n) if *n == abi::PIDNS_HOST => write!(f, "{name}{op}host"),
            Val::Pidns(n) => write!(f, "{name}{op}{n}"),
            Val::Str(b, prefix) => {
                let auto = self.field == Field::Container && *prefix && b.len() >= 12;
                write!(f, "{name}{op}{}", lex::quote(b, *prefix && !auto))
            }
            Val::NoContainer => write!(f, "{name}{op}none"),
            Val::Key(k) => write!(f, "{name}={k}"),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action.as_str())?;
        for c in &self.conds {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for RuleList {
    /// One rule per line (watches as the always rules they are), the
    /// default first when it is never.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.default_never {
            writeln!(f, "default never")?;
        }
        for r in &self.rules {
            writeln!(f, "{r}")?;
        }
        Ok(())
    }
}
