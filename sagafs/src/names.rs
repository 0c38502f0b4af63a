//! System call names and numbers per ABI, and errno names.
//!
//! Names come from the `syscalls` crate's x86_64 and x86 tables. Every
//! `[abi][slot]` position has one canonical name:
//!
//! - a slot the table knows: its name (`openat`); x32 uses the x86_64
//!   name of the slot (the number without the x32 bit);
//! - x32 slots 512..=547 (x32-only entry points): `x32_nr_N`;
//! - any other slot below `SLOT_OTHER`: `nr_N`;
//! - `SLOT_OTHER` (numbers outside the table): `other`.
//!
//! How the log shows them (`i386:open`) is `format::syscall`'s business.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::abi::{NR_SLOTS, SLOT_OTHER};
use crate::record::Abi;

/// The bit the x32 ABI sets in its system call numbers.
pub const X32_SYSCALL_BIT: i32 = 0x4000_0000;

/// x32-only entry points (the x32 table's 512..=547).
const X32_SPECIAL: std::ops::RangeInclusive<usize> = 512..=547;

struct Tables {
    /// `[abi][slot]` canonical names.
    names: [Vec<Box<str>>; 3],
    /// canonical name -> every (abi, slot) that carries it.
    by_name: HashMap<Box<str>, Vec<(Abi, usize)>>,
}

fn table_name(abi: Abi, slot: usize) -> Option<&'static str> {
    match abi {
        Abi::X86_64 => syscalls::x86_64::Sysno::new(slot).map(|s| s.name()),
        Abi::I386 => syscalls::x86::Sysno::new(slot).map(|s| s.name()),
        Abi::X32 if slot < *X32_SPECIAL.start() => {
            syscalls::x86_64::Sysno::new(slot).map(|s| s.name())
        }
        Abi::X32 => None,
    }
}

fn canonical(abi: Abi, slot: usize) -> String {
    if slot == SLOT_OTHER {
        return "other".to_string();
    }
    if let Some(n) = table_name(abi, slot) {
        return n.to_string();
    }
    if abi == Abi::X32 && X32_SPECIAL.contains(&slot) {
        format!("x32_nr_{slot}")
    } else {
        format!("nr_{slot}")
    }
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut names: [Vec<Box<str>>; 3] = Default::default();
        let mut by_name: HashMap<Box<str>, Vec<(Abi, usize)>> = HashMap::new();
        for abi in Abi::ALL {
            for slot in 0..NR_SLOTS {
                let n = canonical(abi, slot);
                by_name
                    .entry(n.as_str().into())
                    .or_default()
                    .push((abi, slot));
                names[abi.index()].push(n.into());
            }
        }
        Tables { names, by_name }
    })
}

/// The slot a raw number of `abi` is counted and filtered in (`SLOT_OTHER`
/// for numbers outside the table); x32 numbers lose their x32 bit.
pub fn slot_of(abi: Abi, nr: i32) -> usize {
    let nr = if abi == Abi::X32 {
        nr & !X32_SYSCALL_BIT
    } else {
        nr
    };
    match usize::try_from(nr) {
        Ok(s) if s < SLOT_OTHER => s,
        _ => SLOT_OTHER,
    }
}

/// The canonical name of a slot (`openat`, `nr_999`, `x32_nr_512`,
/// `other`). Panics if `slot >= NR_SLOTS`.
pub fn slot_name(abi: Abi, slot: usize) -> &'static str {
    &tables().names[abi.index()][slot]
}

/// The name of raw system call number `nr` under `abi`: `openat`, or
/// `nr_N` for numbers without a name (including negative ones and those
/// counted in `SLOT_OTHER`).
pub fn name(abi: Abi, nr: i32) -> Cow<'static, str> {
    let slot = slot_of(abi, nr);
    if slot == SLOT_OTHER {
        Cow::Owned(format!("nr_{nr}"))
    } else {
        Cow::Borrowed(slot_name(abi, slot))
    }
}

/// A name `lookup()` does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub name: String,
    /// The closest known name, if one is close enough to be a typo.
    pub suggestion: Option<String>,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown system call '{}'", self.name)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean '{s}'?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

fn parse_abi(s: &str) -> Option<Abi> {
    Abi::ALL.into_iter().find(|a| a.as_str() == s)
}

/// `nr_N` with N a slot number below `SLOT_OTHER`.
fn parse_nr(s: &str) -> Option<usize> {
    let digits = s.strip_prefix("nr_")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
        return None;
    }
    let n: usize = digits.parse().ok()?;
    (n < SLOT_OTHER).then_some(n)
}

/// The `[abi][slot]` positions a name selects.
///
/// - a bare name selects every ABI that has it: `open` is x86_64 2,
///   i386 5 and x32 2;
/// - `abi:name` (`i386:open`, `x86_64:read`, `x32:x32_nr_512`) selects
///   only that ABI;
/// - besides the canonical names, `nr_N` selects slot N whatever its name
///   (bare: on every ABI).
pub fn lookup(name: &str) -> Result<Vec<(Abi, usize)>, UnknownName> {
    let t = tables();
    let (abi, bare) = match name.split_once(':') {
        Some((a, n)) => match parse_abi(a) {
            Some(abi) => (Some(abi), n),
            None => return Err(unknown(name)),
        },
        None => (None, name),
    };
    let mut hits: Vec<(Abi, usize)> = match t.by_name.get(bare) {
        Some(v) => v.clone(),
        None => match parse_nr(bare) {
            Some(slot) => Abi::ALL.iter().map(|&a| (a, slot)).collect(),
            None => Vec::new(),
        },
    };
    if let Some(abi) = abi {
        hits.retain(|&(a, _)| a == abi);
    }
    if hits.is_empty() {
        return Err(unknown(name));
    }
    Ok(hits)
}

/// Every (abi, slot) carrying the canonical name `name` (bare, no ABI).
pub(crate) fn canonical_slots(name: &str) -> &'static [(Abi, usize)] {
    tables().by_name.get(name).map_or(&[], |v| v.as_slice())
}

fn unknown(name: &str) -> UnknownName {
    let bare = name.rsplit(':').next().unwrap_or(name);
    let mut best: Option<(usize, &str)> = None;
    for cand in tables().by_name.keys() {
        let d = strsim::levenshtein(bare, cand);
        if best.map_or(true, |(bd, bn)| d < bd || (d == bd && &**cand < bn)) {
            best = Some((d, cand));
        }
    }
    let limit = (bare.len() / 3).clamp(1, 3);
    UnknownName {
        name: name.to_string(),
        suggestion: best
            .filter(|&(d, _)| d <= limit)
            .map(|(_, n)| n.to_string()),
    }
}

/// Kernel-internal error numbers a system call exit can show (restart
/// requests seen when a signal interrupts a call); libc does not name them.
const KERNEL_ERRNOS: [(i32, &str); 5] = [
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (516, "ERESTART_RESTARTBLOCK"),
];

/// The largest value `ret` takes as a negated error number.
pub const MAX_ERRNO: i64 = 4095;

fn errno_table() -> &'static [Box<str>] {
    static T: OnceLock<Vec<Box<str>>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=MAX_ERRNO as i32)
            .map(|e| {
                if let Some(&(_, n)) = KERNEL_ERRNOS.iter().find(|(k, _)| *k == e) {
                    return n.into();
                }
                match nix::errno::Errno::from_raw(e) {
                    nix::errno::Errno::UnknownErrno => format!("E{e}").into(),
                    known => format!("{known:?}").into(),
                }
            })
            .collect()
    })
}

/// The symbolic name of error number `e` (`ENOENT`), `E123` when it has
/// none; `e` must be in 1..=4095, others give `None`.
pub fn errno_name(e: i64) -> Option<&'static str> {
    if (1..=MAX_ERRNO).contains(&e) {
        Some(&errno_table()[e as usize])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_abi() {
        assert_eq!(name(Abi::X86_64, 257), "openat");
        assert_eq!(name(Abi::X86_64, 2), "open");
        assert_eq!(name(Abi::I386, 5), "open");
        assert_eq!(name(Abi::I386, 2), "fork");
        assert_eq!(name(Abi::X32, 0), "read");
        assert_eq!(name(Abi::X32, X32_SYSCALL_BIT), "read");
        assert_eq!(name(Abi::X32, X32_SYSCALL_BIT | 512), "x32_nr_512");
        assert_eq!(name(Abi::X86_64, 999), "nr_999");
        assert_eq!(name(Abi::X86_64, 5000), "nr_5000");
        assert_eq!(name(Abi::X86_64, -1), "nr_-1");
    }

    #[test]
    fn lookup_bare_and_prefixed() {
        let mut open = lookup("open").unwrap();
        open.sort();
        assert_eq!(open, vec![(Abi::X86_64, 2), (Abi::I386, 5), (Abi::X32, 2)]);
        assert_eq!(lookup("i386:open").unwrap(), vec![(Abi::I386, 5)]);
        assert_eq!(lookup("x86_64:open").unwrap(), vec![(Abi::X86_64, 2)]);
        // socketcall exists only on i386.
        assert_eq!(lookup("socketcall").unwrap(), vec![(Abi::I386, 102)]);
        assert!(lookup("x86_64:socketcall").is_err());
        assert_eq!(lookup("x32:x32_nr_512").unwrap(), vec![(Abi::X32, 512)]);
        assert_eq!(lookup("nr_2").unwrap().len(), 3);
        assert_eq!(lookup("i386:nr_2").unwrap(), vec![(Abi::I386, 2)]);
        assert_eq!(lookup("other").unwrap().len(), 3);
        assert!(lookup("nr_1023").is_err());
        assert!(lookup("nr_").is_err());
        assert!(lookup("nr_+1").is_err());
        assert!(lookup("").is_err());
        assert!(lookup("arm:open").is_err());
    }

    #[test]
    fn unknown_names_suggest() {
        let e = lookup("opneat").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("openat"));
        assert!(e.to_string().contains("did you mean 'openat'"));
        let e = lookup("zzzzzzzzzzzzzzzzzz").unwrap_err();
        assert_eq!(e.suggestion, None);
    }

    #[test]
    fn every_canonical_name_looks_up_to_itself() {
        for abi in Abi::ALL {
            for slot in 0..NR_SLOTS {
                let n = slot_name(abi, slot);
                let hits = lookup(&format!("{abi}:{n}")).unwrap();
                assert_eq!(hits, vec![(abi, slot)], "{abi}:{n}");
                assert!(canonical_slots(n).contains(&(abi, slot)));
            }
        }
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(11), Some("EAGAIN"));
        assert_eq!(errno_name(512), Some("ERESTARTSYS"));
        assert_eq!(errno_name(4000), Some("E4000"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(4096), None);
    }
}
