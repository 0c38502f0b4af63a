//! [`RuleList`] to the kernel's form ([`RuleSet`]): each rule's syscall
//! bitmap from `syscall`, `class`, `abi` and `perm` (intersected), its
//! other conditions in the kernel's field order (cheapest first), strings
//! shared in one table.

use std::collections::HashMap;

use crate::abi::{self, sagafs_rule, sagafs_rule_cond};
use crate::names;
use crate::record::Abi;

use super::classes::{self, Bitmap};
use super::error::RuleError;
use super::parse::{Action, Cond, Field, Rule, RuleList, Val};
use super::set::RuleSet;

#[derive(Default)]
struct Strings {
    bytes: Vec<u8>,
    at: HashMap<Vec<u8>, u32>,
}

impl Strings {
    fn add(&mut self, s: &[u8]) -> u32 {
        if let Some(&off) = self.at.get(s) {
            return off;
        }
        let off = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s);
        self.at.insert(s.to_vec(), off);
        off
    }
}

fn names_map(field: Field, list: &[String]) -> Bitmap {
    let mut m = classes::EMPTY;
    for n in list {
        let part = match field {
            Field::Class => classes::class(n).expect("validated by the parser"),
            Field::Abi => {
                let mut a = classes::EMPTY;
                let abi = Abi::ALL
                    .into_iter()
                    .find(|a| a.as_str() == n)
                    .expect("validated");
                a[abi.index()] = [u64::MAX; abi::BITMAP_WORDS];
                a
            }
            _ => {
                let q = if n.bytes().all(|b| b.is_ascii_digit()) {
                    format!("nr_{n}")
                } else {
                    n.clone()
                };
                let mut a = classes::EMPTY;
                for (abi, slot) in names::lookup(&q).expect("validated by the parser") {
                    classes::set(&mut a, abi.index(), slot);
                }
                a
            }
        };
        m = classes::union(&m, &part);
    }
    m
}

/// The calls a rule applies to.
fn bitmap(rule: &Rule) -> Bitmap {
    let mut m = classes::FULL;
    for c in &rule.conds {
        let part = match (&c.value, c.field) {
            (Val::Names(list), f) => {
                let p = names_map(f, list);
                if c.negated {
                    classes::complement(&p)
                } else {
                    p
                }
            }
            (Val::Perm(mask), _) => classes::perm_slots(*mask),
            _ => continue,
        };
        m = classes::intersect(&m, &part);
    }
    m
}

fn kernel_field(f: Field) -> Option<u16> {
    Some(match f {
        Field::Uid => abi::FIELD_UID,
        Field::Euid => abi::FIELD_EUID,
        Field::Gid => abi::FIELD_GID,
        Field::Auid => abi::FIELD_AUID,
        Field::Pid => abi::FIELD_PID,
        Field::Ppid => abi::FIELD_PPID,
        Field::Result => abi::FIELD_RESULT,
        Field::Pidns => abi::FIELD_PIDNS,
        Field::Perm => abi::FIELD_PERM,
        Field::Comm => abi::FIELD_COMM,
        Field::Cgroup => abi::FIELD_CGROUP,
        Field::Container => abi::FIELD_CONTAINER,
        Field::Exe => abi::FIELD_EXE,
        Field::Path | Field::Dir => abi::FIELD_PATH,
        Field::Syscall | Field::Class | Field::Abi | Field::Key => return None,
    })
}

fn kernel_cond(c: &Cond, strings: &mut Strings) -> Option<sagafs_rule_cond> {
    let field = kernel_field(c.field)?;
    let mut k = sagafs_rule_cond {
        field,
        ..Default::default()
    };
    let not = if c.negated { abi::OP_NOT } else { 0 };
    match &c.value {
        Val::Range(lo, hi) => {
            k.op = abi::OP_RANGE | not;
            (k.lo, k.hi) = (*lo as u64, *hi as u64);
        }
        Val::Result(lo, hi) => {
            k.op = abi::OP_RANGE | not;
            (k.lo, k.hi) = (*lo as u64, *hi as u64);
        }
        Val::Pidns(n) => {
            k.op = abi::OP_RANGE | not;
            (k.lo, k.hi) = (*n as u64, *n as u64);
        }
        Val::Perm(mask) => {
            k.op = abi::OP_MASK;
            k.lo = *mask;
        }
        Val::NoContainer => k.op = abi::OP_EXISTS | if c.negated { 0 } else { abi::OP_NOT },
        Val::Str(bytes, prefix) => {
            let base = if c.field == Field::Dir {
                abi::OP_DIR
            } else if *prefix {
                abi::OP_PREFIX
            } else {
                abi::OP_EQ
            };
            k.op = base | not;
            k.str_off = strings.add(bytes);
            k.str_len = bytes.len() as u32;
        }
        Val::Names(_) | Val::Key(_) => return None,
    }
    Some(k)
}

fn describe(rule: &Rule) -> String {
    let sel: Vec<String> = rule
        .conds
        .iter()
        .filter(|c| {
            matches!(
                c.field,
                Field::Syscall | Field::Class | Field::Abi | Field::Perm
            )
        })
        .map(|c| c.to_string())
        .collect();
    sel.join(" ")
}

fn compile_rule(
    rule: &Rule,
    strings: &mut Strings,
    conds: &mut Vec<sagafs_rule_cond>,
) -> Result<sagafs_rule, RuleError> {
    let syscalls = bitmap(rule);
    if classes::is_empty(&syscalls) {
        return Err(RuleError::new(
            rule.line,
            describe(rule),
            "this rule applies to no system call (is the call missing on that ABI?)",
        ));
    }
    let mut mine: Vec<sagafs_rule_cond> = rule
        .conds
        .iter()
        .filter_map(|c| kernel_cond(c, strings))
        .collect();
    mine.sort_by_key(|c| c.field);
    let mut r = sagafs_rule {
        action: match rule.action {
            Action::Always => abi::RULE_ALWAYS,
            Action::Never => abi::RULE_NEVER,
        },
        nr_conds: mine.len() as u32,
        syscalls,
        ..Default::default()
    };
    if let Some(Cond {
        value: Val::Key(k), ..
    }) = rule.get(Field::Key)
    {
        r.key_off = strings.add(k.as_bytes());
        r.key_len = k.len() as u32;
    }
    conds.extend(mine);
    Ok(r)
}

/// Compiles a parsed list; errors name the rule's line.
pub fn compile(list: &RuleList) -> Result<RuleSet, RuleError> {
    let mut strings = Strings::default();
    let mut set = RuleSet {
        flags: if list.default_never {
            abi::RULES_DEFAULT_NEVER
        } else {
            0
        },
        ..Default::default()
    };
    for (i, rule) in list.rules.iter().enumerate() {
        if i == abi::RULES_MAX {
            return Err(RuleError::new(
                rule.line,
                "",
                format!("more than {} rules", abi::RULES_MAX),
            ));
        }
        let r = compile_rule(rule, &mut strings, &mut set.conds)?;
        set.rules.push(r);
        if strings.bytes.len() > abi::RULES_STRINGS_MAX {
            return Err(RuleError::new(
                rule.line,
                "",
                format!(
                    "the rules' strings exceed {} bytes in all",
                    abi::RULES_STRINGS_MAX
                ),
            ));
        }
    }
    set.strings = strings.bytes;
    debug_assert_eq!(
        set.validate(),
        Ok(()),
        "the compiler made a set the kernel refuses"
    );
    Ok(set)
}

/// Parses and compiles a rule text.
pub fn compile_text(text: &str) -> Result<RuleSet, RuleError> {
    compile(&super::parse::parse(text)?)
}
