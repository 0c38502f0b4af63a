//! The compiled form of a rule set, exactly what `SAGAFS_IOC_SET_RULES`
//! takes and `SAGAFS_IOC_GET_RULES` returns: rules, their conditions (the
//! conditions of rule 0, then those of rule 1, ...) and a string table.
//! [`RuleSet::validate`] applies the kernel's checks (kmod/rules.c) one
//! for one, so that the device double accepts and refuses what the module
//! does.

use std::fmt;

use crate::abi::{self, sagafs_rule, sagafs_rule_cond};

/// A rule set in the kernel's form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// `abi::RULES_*` flags.
    pub flags: u32,
    pub rules: Vec<sagafs_rule>,
    pub conds: Vec<sagafs_rule_cond>,
    pub strings: Vec<u8>,
}

/// A rule set as the device holds it, with its counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesInForce {
    /// The set; each rule's `hits` is the number of calls it decided.
    pub set: RuleSet,
    /// Calls the default decided.
    pub default_hits: u64,
    /// Rule sets set since the module loaded.
    pub generation: u64,
}

/// Why a compiled set is refused (the kernel answers EINVAL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operand {
    Num,
    SNum,
    Perm,
    Str,
}

struct FieldInfo {
    operand: Operand,
    /// Bit per allowed `abi::OP_*`.
    ops: u8,
    slash: bool,
    no_slash: bool,
    max_len: usize,
}

const fn op(o: u16) -> u8 {
    1 << o
}

const PATH_OPS: u8 = op(abi::OP_EQ) | op(abi::OP_PREFIX) | op(abi::OP_DIR);

fn field_info(field: u16) -> Option<FieldInfo> {
    let num = |operand| FieldInfo {
        operand,
        ops: op(abi::OP_RANGE),
        slash: false,
        no_slash: false,
        max_len: 0,
    };
    let string = |ops, slash, no_slash, max_len| FieldInfo {
        operand: Operand::Str,
        ops,
        slash,
        no_slash,
        max_len,
    };
    Some(match field {
        abi::FIELD_UID
        | abi::FIELD_EUID
        | abi::FIELD_GID
        | abi::FIELD_AUID
        | abi::FIELD_PID
        | abi::FIELD_PPID
        | abi::FIELD_PIDNS => num(Operand::Num),
        abi::FIELD_RESULT => num(Operand::SNum),
        abi::FIELD_PERM => FieldInfo {
            ops: op(abi::OP_MASK),
            ..num(Operand::Perm)
        },
        abi::FIELD_COMM => string(
            op(abi::OP_EQ) | op(abi::OP_PREFIX),
            false,
            false,
            abi::COMM_LEN - 1,
        ),
        abi::FIELD_CGROUP | abi::FIELD_EXE => string(PATH_OPS, true, false, abi::RULE_STR_MAX),
        abi::FIELD_CONTAINER => string(
            op(abi::OP_EQ) | op(abi::OP_PREFIX) | op(abi::OP_EXISTS),
            false,
            true,
            abi::RULE_STR_MAX,
        ),
        abi::FIELD_PATH => string(PATH_OPS, false, false, abi::RULE_STR_MAX),
        _ => return None,
    })
}

impl RuleSet {
    /// The default decision: true when calls no rule decides are logged.
    pub fn default_logs(&self) -> bool {
        self.flags & abi::RULES_DEFAULT_NEVER == 0
    }

    /// The bytes `off`, `len` name in the string table, if they lie in it.
    pub fn string(&self, off: u32, len: u32) -> Option<&[u8]> {
        let end = off as usize + len as usize;
        self.strings.get(off as usize..end)
    }

    /// The string operand of a condition (empty when out of the table).
    pub fn operand(&self, c: &sagafs_rule_cond) -> &[u8] {
        self.string(c.str_off, c.str_len).unwrap_or(&[])
    }

    /// The key of rule `i` (empty when it has none).
    pub fn key(&self, i: usize) -> &[u8] {
        let r = &self.rules[i];
        self.string(r.key_off, r.key_len).unwrap_or(&[])
    }

    /// Each rule's conditions, in order.
    pub fn rule_conds(&self) -> Vec<&[sagafs_rule_cond]> {
        let mut out = Vec::with_capacity(self.rules.len());
        let mut first = 0usize;
        for r in &self.rules {
            let end = (first + r.nr_conds as usize).min(self.conds.len());
            out.push(&self.conds[first.min(end)..end]);
            first = end;
        }
        out
    }

    /// The kernel's checks of SET_RULES (header, every rule, every
    /// condition, every string), in the kernel's order.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |m: String| Err(Invalid(m));
        if self.flags & !abi::RULES_FLAGS_ALL != 0 {
            return bad(format!("unknown flags {:#x}", self.flags));
        }
        if self.rules.len() > abi::RULES_MAX
            || self.conds.len() > abi::RULES_MAX * abi::RULE_CONDS_MAX
            || self.strings.len() > abi::RULES_STRINGS_MAX
        {
            return bad(format!(
                "{} rules, {} conditions, {} string bytes (at most {}, {} per rule, {})",
                self.rules.len(),
                self.conds.len(),
                self.strings.len(),
                abi::RULES_MAX,
                abi::RULE_CONDS_MAX,
                abi::RULES_STRINGS_MAX
            ));
        }
        let mut first = 0usize;
        for (i, r) in self.rules.iter().enumerate() {
            self.check_rule(r, first)
                .map_err(|m| Invalid(format!("rule {i}: {m}")))?;
            first += r.nr_conds as usize;
        }
        if first != self.conds.len() {
            return bad(format!(
                "{} conditions, the rules use {first}",
                self.conds.len()
            ));
        }
        Ok(())
    }

    fn check_rule(&self, r: &sagafs_rule, first: usize) -> Result<(), String> {
        if r.action != abi::RULE_ALWAYS && r.action != abi::RULE_NEVER {
            return Err(format!("action {}", r.action));
        }
        let n = r.nr_conds as usize;
        if n > abi::RULE_CONDS_MAX || n > self.conds.len() - first {
            return Err(format!("{n} conditions"));
        }
        self.check_key(r)?;
        if r.syscalls.iter().flatten().all(|&w| w == 0) {
            return Err("applies to no system call".to_string());
        }
        let mut prev = 0u16;
        for (j, c) in self.conds[first..first + n].iter().enumerate() {
            self.check_cond(c, prev)
                .map_err(|m| format!("condition {j}: {m}"))?;
            prev = c.field;
        }
        Ok(())
    }

    fn check_key(&self, r: &sagafs_rule) -> Result<(), String> {
        if r.key_len == 0 {
            return if r.key_off != 0 {
                Err("key offset without a key".to_string())
            } else {
                Ok(())
            };
        }
        if r.key_len as usize > abi::KEY_MAX || r.action != abi::RULE_ALWAYS {
            return Err("a key longer than 63 bytes, or on a never rule".to_string());
        }
        match self.string(r.key_off, r.key_len) {
            Some(k) if k.iter().all(|&b| (b'!'..=b'~').contains(&b)) => Ok(()),
            Some(_) => Err("a key byte outside '!'..'~'".to_string()),
            None => Err("key outside the string table".to_string()),
        }
    }

    fn check_cond(&self, c: &sagafs_rule_cond, prev: u16) -> Result<(), String> {
        if c.field <= prev || c.field > abi::FIELD_MAX || c.__pad0 != 0 {
            return Err(format!(
                "field {} after {prev} (strictly increasing, at most {})",
                c.field,
                abi::FIELD_MAX
            ));
        }
        let fi = field_info(c.field).expect("fields 1..=FIELD_MAX are known");
        let o = c.op & !abi::OP_NOT;
        if o >= 8 || fi.ops & (1 << o) == 0 || (o == abi::OP_MASK && c.op & abi::OP_NOT != 0) {
            return Err(format!("field {}: operator {:#x}", c.field, c.op));
        }
        self.check_operand(c, &fi, o)
            .map_err(|m| format!("field {}: {m}", c.field))
    }

    fn check_operand(&self, c: &sagafs_rule_cond, fi: &FieldInfo, o: u16) -> Result<(), String> {
        if o == abi::OP_EXISTS {
            return if c.lo | c.hi != 0 || c.str_off != 0 || c.str_len != 0 {
                Err("an operand on EXISTS".to_string())
            } else {
                Ok(())
            };
        }
        if fi.operand == Operand::Str {
            return self.check_string(c, fi);
        }
        if c.str_off != 0 || c.str_len != 0 {
            return Err("a string on a number".to_string());
        }
        let ok = match fi.operand {
            Operand::Num => c.lo <= c.hi && c.hi <= u32::MAX as u64,
            Operand::SNum => (c.lo as i64) <= (c.hi as i64),
            _ => c.lo != 0 && c.lo & !abi::PERM_ALL == 0 && c.hi == 0,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("bad operand lo {:#x} hi {:#x}", c.lo, c.hi))
        }
    }

    fn check_string(&self, c: &sagafs_rule_cond, fi: &FieldInfo) -> Result<(), String> {
        if c.lo != 0 || c.hi != 0 {
            return Err("a string with numbers".to_string());
        }
        let s = match self.string(c.str_off, c.str_len) {
            Some(s) if !s.is_empty() && s.len() <= fi.max_len => s,
            _ => return Err(format!("string of {} bytes at {}", c.str_len, c.str_off)),
        };
        if s.contains(&0) || (fi.slash && s[0] != b'/') || (fi.no_slash && s.contains(&b'/')) {
            return Err("bad string bytes".to_string());
        }
        Ok(())
    }
}
