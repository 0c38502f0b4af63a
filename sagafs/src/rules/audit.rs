//! auditd rules (auditctl syntax, as in /etc/audit/rules.d/*.rules) to
//! sagafs rules: the common subset.
//!
//! Translated: `-a`/`-A` on the exit list with `always` or `never`
//! (`-A` goes to the front, as auditctl does), `-S` (names, numbers,
//! `all`), `-F` with `arch`, `uid`, `euid`, `gid`, `auid`/`loginuid`,
//! `pid`, `ppid`, `success`, `exit`, `dir`, `path`, `exe`, `perm`, `key`,
//! `-k`, and watches (`-w PATH [-p PERMS] [-k KEY]`). Several conditions
//! on one id field are merged into one range where that is exact
//! (`auid>=1000 auid!=unset` is `auid=1000-4294967294`). Syscalls named
//! without `arch` are x86_64's, as auditctl takes the machine's.
//!
//! Every other line is reported with the reason: other lists
//! (`exclude`, `user`, `task`, `filesystem`), field comparisons (`-C`),
//! fields sagafs does not have, `-e` (locking the rules) and `-f`
//! (failure mode), which promise something sagafs does not do. Settings
//! of auditd's own queue (`-b`, `--backlog_wait_time`, `-r`, `-c`, `-i`)
//! and `-D` are skipped with a note: they change nothing sagafs logs.
//!
//! Each output rule is checked by parsing and compiling it, so what is
//! printed is accepted by sagafs.

use std::collections::BTreeMap;

use super::lex;
use super::parse;

/// What became of one input line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sagafs rule.
    Rule(String),
    /// Nothing to translate, and nothing lost (a setting of auditd itself).
    Skipped(String),
    /// Not translated: why.
    Failed(String),
}

/// One input line and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based.
    pub number: usize,
    pub source: String,
    pub outcome: Outcome,
    /// It was `-A`: auditctl puts it in front of every rule loaded so far.
    pub prepend: bool,
}

/// The translation of one file, line by line in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Translation {
    pub lines: Vec<Line>,
}

/// Lines of one or more files (tagged with their file) in the order
/// auditctl would leave the rules: each `-A` rule in front of everything
/// loaded before it, the others appended.
pub fn in_load_order<T>(lines: Vec<(T, Line)>) -> Vec<(T, Line)> {
    let mut out = std::collections::VecDeque::with_capacity(lines.len());
    for item in lines {
        if item.1.prepend {
            out.push_front(item);
        } else {
            out.push_back(item);
        }
    }
    out.into()
}

impl Translation {
    /// Every rule line translated.
    pub fn complete(&self) -> bool {
        !self
            .lines
            .iter()
            .any(|l| matches!(l.outcome, Outcome::Failed(_)))
    }
}

/// auditd's value for an unset login uid.
const UNSET: u64 = u32::MAX as u64;

/// The set of ids one field may take, as sorted disjoint ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
struct IdSet(Vec<(u64, u64)>);

impl IdSet {
    fn all() -> IdSet {
        IdSet(vec![(0, UNSET)])
    }

    fn keep(&mut self, lo: u64, hi: u64) {
        self.0 = self
            .0
            .iter()
            .filter_map(|&(a, b)| {
                let (a, b) = (a.max(lo), b.min(hi));
                (a <= b).then_some((a, b))
            })
            .collect();
    }

    fn remove(&mut self, v: u64) {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            if v < a || v > b {
                out.push((a, b));
                continue;
            }
            if a < v {
                out.push((a, v - 1));
            }
            if v < b {
                out.push((v + 1, b));
            }
        }
        self.0 = out;
    }

    /// As one sagafs condition: `field=LO-HI` or `field!=LO-HI`.
    fn condition(&self, field: &str) -> Result<Option<String>, String> {
        let one = |lo: u64, hi: u64| {
            let v = |x: u64| {
                if field == "auid" && x == UNSET {
                    "unset".to_string()
                } else {
                    x.to_string()
                }
            };
            if lo == hi {
                v(lo)
            } else {
                format!("{}-{}", v(lo), v(hi))
            }
        };
        match self.0.as_slice() {
            [] => Err(format!("the conditions on {field} exclude every value")),
            [(0, UNSET)] => Ok(None),
            // All but one value at either end: say which one.
            [(0, hi)] if *hi + 1 == UNSET => Ok(Some(format!("{field}!={}", one(UNSET, UNSET)))),
            [(1, UNSET)] => Ok(Some(format!("{field}!=0"))),
            [(lo, hi)] => Ok(Some(format!("{field}={}", one(*lo, *hi)))),
            [(0, a), (b, UNSET)] if a + 1 < *b => Ok(Some(format!("{field}!={}", one(a + 1, b - 1)))),
            _ => Err(format!(
                "the conditions on {field} allow several separate ranges: one sagafs condition holds one"
            )),
        }
    }
}

#[derive(Default)]
struct Draft {
    prepend: bool,
    action: Option<&'static str>,
    abi: Option<&'static str>,
    syscalls: Vec<String>,
    all_syscalls: bool,
    ids: BTreeMap<&'static str, IdSet>,
    result: Option<String>,
    success: Option<bool>,
    paths: Vec<String>,
    perm: Option<String>,
    keys: Vec<String>,
    watch: Option<String>,
}

fn parse_id(field: &str, v: &str) -> Result<u64, String> {
    if v == "-1" || (field == "auid" && v == "unset") {
        return Ok(UNSET);
    }
    match v.parse::<u64>() {
        Ok(n) if n <= UNSET => Ok(n),
        _ => Err(format!(
            "{field} value '{v}' is not a number (user and group names are not resolved here)"
        )),
    }
}

fn id_field(name: &str) -> Option<&'static str> {
    Some(match name {
        "uid" => "uid",
        "euid" => "euid",
        "gid" => "gid",
        "auid" | "loginuid" => "auid",
        "pid" => "pid",
        "ppid" => "ppid",
        _ => return None,
    })
}

/// `field op value` of `-F`.
fn split_field(s: &str) -> Result<(&str, &str, &str), String> {
    for op in ["!=", "<=", ">=", "&=", "=", "<", ">", "&"] {
        if let Some(i) = s.find(op) {
            let (f, rest) = s.split_at(i);
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                continue;
            }
            return Ok((f, op, &rest[op.len()..]));
        }
    }
    Err(format!("'-F {s}' is not FIELD OP VALUE"))
}

impl Draft {
    fn id(&mut self, field: &'static str, op: &str, v: &str) -> Result<(), String> {
        let n = parse_id(field, v)?;
        let set = self.ids.entry(field).or_insert_with(IdSet::all);
        match op {
            "=" => set.keep(n, n),
            "!=" => set.remove(n),
            "<" if n == 0 => set.0.clear(),
            "<" => set.keep(0, n - 1),
            "<=" => set.keep(0, n),
            ">" => set.keep(n + 1, UNSET),
            ">=" => set.keep(n, UNSET),
            _ => return Err(format!("operator {op} on {field} has no sagafs equivalent")),
        }
        Ok(())
    }

    fn exit(&mut self, op: &str, v: &str) -> Result<(), String> {
        let neg = match op {
            "=" => "",
            "!=" => "!",
            _ => return Err(format!("exit{op}: only = and != translate")),
        };
        let name = v.strip_prefix('-').unwrap_or(v);
        let value = if name.bytes().all(|b| b.is_ascii_digit()) {
            if !v.starts_with('-') {
                return Err(format!(
                    "exit={v}: a non-negative return value has no sagafs equivalent (use success=1)"
                ));
            }
            v.to_string()
        } else if v.starts_with('-') && name.starts_with('E') {
            name.to_string()
        } else {
            return Err(format!("exit={v} is not -ERRNO or -N"));
        };
        self.result = Some(format!("result{neg}={value}"));
        Ok(())
    }

    fn field(&mut self, spec: &str) -> Result<(), String> {
        let (f, op, v) = split_field(spec)?;
        if let Some(id) = id_field(f) {
            return self.id(id, op, v);
        }
        let eq_or_ne = |what: &str| match op {
            "=" => Ok(false),
            "!=" => Ok(true),
            _ => Err(format!("{what}{op}: only = and != translate")),
        };
        match f {
            "arch" => {
                if op != "=" {
                    return Err(
                        "arch with an operator other than = has no sagafs equivalent".into(),
                    );
                }
                self.abi = Some(match v {
                    "b64" | "x86_64" => "x86_64",
                    "b32" | "i386" | "i686" => "i386",
                    _ => return Err(format!("arch={v} is not an x86 ABI (b64, b32)")),
                });
            }
            "success" => {
                let neg = eq_or_ne("success")?;
                let ok = match v {
                    "1" | "yes" => true,
                    "0" | "no" => false,
                    _ => return Err(format!("success={v} is not 0 or 1")),
                };
                self.success = Some(ok != neg);
            }
            "exit" => self.exit(op, v)?,
            "dir" | "path" | "exe" => {
                let not = if eq_or_ne(f)? { "!" } else { "" };
                self.paths
                    .push(format!("{f}{not}={}", lex::quote(v.as_bytes(), false)));
            }
            "perm" => {
                if op != "=" {
                    return Err("perm takes = only".into());
                }
                self.perm = Some(v.to_string());
            }
            "key" => {
                if op != "=" {
                    return Err("key takes = only".into());
                }
                self.keys.push(v.to_string());
            }
            _ => return Err(format!("field {f} has no sagafs equivalent")),
        }
        Ok(())
    }

    fn list_action(&mut self, v: &str) -> Result<(), String> {
        let (a, b) = v
            .split_once(',')
            .ok_or_else(|| format!("-a {v}: expected LIST,ACTION"))?;
        let (list, action) = if matches!(a, "always" | "never") {
            (b, a)
        } else {
            (a, b)
        };
        if list != "exit" {
            return Err(format!(
                "the {list} list has no sagafs equivalent (sagafs rules act on completed calls: the exit list)"
            ));
        }
        self.action = Some(match action {
            "always" => "always",
            "never" => "never",
            _ => return Err(format!("action {action} is not always or never")),
        });
        Ok(())
    }

    fn result_condition(&self) -> Result<Option<String>, String> {
        match (&self.result, self.success) {
            (Some(r), None) => Ok(Some(r.clone())),
            (Some(r), Some(false)) if !r.starts_with("result!") => Ok(Some(r.clone())),
            (Some(_), Some(_)) => Err("success and exit together do not translate".into()),
            (None, Some(true)) => Ok(Some("result=success".into())),
            (None, Some(false)) => Ok(Some("result=failure".into())),
            (None, None) => Ok(None),
        }
    }

    fn key(&self) -> Option<String> {
        (!self.keys.is_empty()).then(|| self.keys.join(","))
    }

    fn render(&self) -> Result<String, String> {
        if let Some(path) = &self.watch {
            let mut s = format!("watch {}", lex::quote(path.as_bytes(), false));
            if let Some(p) = &self.perm {
                s.push(' ');
                s.push_str(p);
            }
            if let Some(k) = self.key() {
                s.push_str(&format!(" key={k}"));
            }
            return Ok(s);
        }
        let action = self.action.ok_or("a rule needs -a LIST,ACTION")?;
        let mut words = vec![action.to_string()];
        if !self.syscalls.is_empty() && !self.all_syscalls {
            words.push(format!("syscall={}", self.syscalls.join(",")));
            // auditctl takes the machine's ABI when none is named.
            words.push(format!("abi={}", self.abi.unwrap_or("x86_64")));
        } else if let Some(a) = self.abi {
            words.push(format!("abi={a}"));
        }
        if let Some(p) = &self.perm {
            words.push(format!("perm={p}"));
        }
        for (field, set) in &self.ids {
            if let Some(c) = set.condition(field)? {
                words.push(c);
            }
        }
        if let Some(r) = self.result_condition()? {
            words.push(r);
        }
        if self.paths.len() > 1 && self.paths.iter().filter(|p| !p.starts_with("exe")).count() > 1 {
            return Err("more than one of dir= and path= in one rule does not translate".into());
        }
        words.extend(self.paths.iter().cloned());
        if let (Some(k), "always") = (self.key(), action) {
            words.push(format!("key={k}"));
        }
        Ok(words.join(" "))
    }
}

const SKIPPED: [&str; 6] = ["-D", "-b", "--backlog_wait_time", "-r", "-c", "-i"];

/// Translates one auditctl line; `None` for blank lines and comments.
fn translate_line(line: &str) -> Option<(bool, Outcome)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if SKIPPED.contains(&words[0]) {
        return Some((
            false,
            Outcome::Skipped(format!(
                "{}: a setting of auditd itself, nothing sagafs logs depends on it",
                words[0]
            )),
        ));
    }
    let mut d = Draft::default();
    let out = draft(&mut d, &words)
        .and_then(|()| d.render())
        .and_then(|rule| {
            parse::parse(&rule)
                .map_err(|e| e.message)
                .and_then(|l| super::compile(&l).map_err(|e| e.message))
                .map(|_| rule)
        });
    Some((
        d.prepend,
        match out {
            Ok(r) => Outcome::Rule(r),
            Err(m) => Outcome::Failed(m),
        },
    ))
}

fn draft(d: &mut Draft, words: &[&str]) -> Result<(), String> {
    let mut i = 0;
    let arg = |i: usize| {
        words
            .get(i + 1)
            .copied()
            .ok_or_else(|| format!("{} needs a value", words[i]))
    };
    while i < words.len() {
        let w = words[i];
        match w {
            "-a" | "-A" => {
                d.prepend = w == "-A";
                d.list_action(arg(i)?)?;
            }
            "-S" => {
                for s in arg(i)?.split(',') {
                    if s == "all" {
                        d.all_syscalls = true;
                    } else {
                        d.syscalls.push(s.to_string());
                    }
                }
            }
            "-F" => d.field(arg(i)?)?,
            "-k" => d.keys.push(arg(i)?.to_string()),
            "-w" => d.watch = Some(arg(i)?.to_string()),
            "-p" => d.perm = Some(arg(i)?.to_string()),
            "-C" => return Err("field comparisons (-C) have no sagafs equivalent".into()),
            "-W" => return Err("-W removes a watch: sagafs replaces whole rule sets".into()),
            "-e" => {
                return Err("-e (enable or lock the rules) has no sagafs equivalent: sagafs rules can be changed by root".into())
            }
            "-f" => {
                return Err("-f (failure mode: printk or panic) has no sagafs equivalent: sagafs counts and reports losses".into())
            }
            "--loginuid-immutable" => {
                return Err("--loginuid-immutable has no sagafs equivalent: sagafs reads login uids, it does not guard them".into())
            }
            _ => return Err(format!("option {w} is not translated")),
        }
        i += 2;
    }
    if d.watch.is_some() && (d.action.is_some() || !d.syscalls.is_empty() || !d.ids.is_empty()) {
        return Err("a watch with -a, -S or -F does not translate".into());
    }
    if d.watch.is_none() && d.perm.is_some() && d.action.is_none() {
        return Err("-p without -w".into());
    }
    Ok(())
}

/// Translates the text of an auditd rules file.
pub fn translate(text: &str) -> Translation {
    let lines = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            translate_line(line).map(|(prepend, outcome)| Line {
                number: i + 1,
                source: line.trim().to_string(),
                outcome,
                prepend,
            })
        })
        .collect();
    Translation { lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Outcome {
        let t = translate(line);
        assert_eq!(t.lines.len(), 1, "{line}");
        t.lines[0].outcome.clone()
    }

    fn rule(line: &str) -> String {
        match one(line) {
            Outcome::Rule(r) => r,
            o => panic!("{line}: {o:?}"),
        }
    }

    fn failed(line: &str) -> String {
        match one(line) {
            Outcome::Failed(m) => m,
            o => panic!("{line}: {o:?}"),
        }
    }

    #[test]
    fn syscall_rules() {
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change"),
            "always syscall=adjtimex,settimeofday abi=x86_64 key=time-change"
        );
        assert_eq!(
            rule("-a always,exit -F arch=b32 -S adjtimex -S settimeofday -S stime -k time-change"),
            "always syscall=adjtimex,settimeofday,stime abi=i386 key=time-change"
        );
        assert_eq!(
            rule("-a exit,always -S execve"),
            "always syscall=execve abi=x86_64"
        );
        assert_eq!(rule("-a never,exit -S all -F uid=33"), "never uid=33");
    }

    #[test]
    fn merged_id_conditions() {
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S open,openat -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access"),
            "always syscall=open,openat abi=x86_64 auid=1000-4294967294 result=EACCES key=access"
        );
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=4294967295"),
            "always syscall=mount abi=x86_64 auid=1000-4294967294"
        );
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S mount -F auid!=-1"),
            "always syscall=mount abi=x86_64 auid!=unset"
        );
        assert_eq!(
            rule("-a always,exit -S all -F uid>=1000 -F uid<=1999"),
            "always uid=1000-1999"
        );
        assert!(failed("-a always,exit -S all -F uid!=5 -F uid!=7").contains("separate ranges"));
        assert!(failed("-a always,exit -S all -F uid=5 -F uid=7").contains("exclude every value"));
    }

    #[test]
    fn results_paths_keys() {
        assert_eq!(
            rule("-a always,exit -S all -F success=0"),
            "always result=failure"
        );
        assert_eq!(
            rule("-a always,exit -S all -F success!=0"),
            "always result=success"
        );
        assert_eq!(
            rule("-a always,exit -S all -F exit=-13 -F success=0"),
            "always result=-13"
        );
        assert_eq!(
            rule("-a always,exit -F path=/usr/bin/passwd -F perm=x -F auid>=1000 -F auid!=unset -k privileged"),
            "always perm=x auid=1000-4294967294 path=/usr/bin/passwd key=privileged"
        );
        assert_eq!(
            rule("-a always,exit -F dir=/etc/ -F perm=wa -F key=etc"),
            "always perm=wa dir=/etc/ key=etc"
        );
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S execve -F exe=/usr/bin/sudo -k k1 -k k2"),
            "always syscall=execve abi=x86_64 exe=/usr/bin/sudo key=k1,k2"
        );
        assert_eq!(
            rule("-a never,exit -S all -F exe=/usr/sbin/cron -k x"),
            "never exe=/usr/sbin/cron"
        );
    }

    #[test]
    fn watches() {
        assert_eq!(
            rule("-w /etc/shadow -p wa -k identity"),
            "watch /etc/shadow wa key=identity"
        );
        assert_eq!(rule("-w /etc/sudoers.d/"), "watch /etc/sudoers.d/");
        assert_eq!(
            rule("-w /sbin/insmod -p x -k modules"),
            "watch /sbin/insmod x key=modules"
        );
    }

    #[test]
    fn untranslatable_lines_say_why() {
        assert!(failed("-a always,exclude -F msgtype=CWD").contains("exclude list"));
        assert!(
            failed("-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0").contains("-C")
        );
        assert!(failed("-a always,exit -S all -F subj_type=x").contains("subj_type"));
        assert!(failed("-e 2").contains("-e"));
        assert!(failed("-f 1").contains("failure mode"));
        assert!(failed("-a always,exit -F arch=b64 -S socketcall").contains("no system call"));
        assert!(failed("-a always,exit -F arch=b64 -S nosuchcall").contains("unknown system call"));
        assert!(failed("-a always,exit -S all -F uid=root").contains("not a number"));
        assert!(failed("-a always,exit -F arch=arm -S open").contains("arch=arm"));
        assert!(failed("-a always,exit -S all -F dir=/a -F path=/b").contains("dir= and path="));
    }

    #[test]
    fn settings_are_skipped_and_order_kept() {
        let t = translate(
            "# comment\n-D\n-b 8192\n\n-a always,exit -S all -F uid=1\n-A always,exit -S all -F uid=2\n-A never,exit -S all -F uid=3\n",
        );
        assert!(t.complete());
        // In file order as translated...
        let numbers: Vec<usize> = t.lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, vec![2, 3, 5, 6, 7]);
        // ...and in the order auditctl leaves them: each -A in front.
        let out: Vec<_> = in_load_order(t.lines.into_iter().map(|l| ((), l)).collect())
            .into_iter()
            .map(|(_, l)| (l.number, l.outcome))
            .collect();
        assert!(matches!(out[0], (7, Outcome::Rule(ref r)) if r == "never uid=3"));
        assert!(matches!(out[1], (6, Outcome::Rule(ref r)) if r == "always uid=2"));
        assert!(matches!(out[2], (2, Outcome::Skipped(_))));
        assert!(matches!(out[3], (3, Outcome::Skipped(_))));
        assert!(matches!(out[4], (5, Outcome::Rule(ref r)) if r == "always uid=1"));
    }
}
