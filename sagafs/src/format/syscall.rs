//! System call names as the log shows them: the canonical name of
//! `names`, bare for x86_64 and prefixed with the ABI for the others
//! (`openat`, `i386:open`, `x32:read`); a number outside the table shows
//! as `nr_N` (`i386:nr_5000`).

use std::sync::OnceLock;

use super::Line;
use crate::abi::{NR_SLOTS, SLOT_OTHER};
use crate::names;
use crate::record::Abi;

/// `[abi][slot]` display names.
fn table() -> &'static [Vec<Box<str>>; 3] {
    static T: OnceLock<[Vec<Box<str>>; 3]> = OnceLock::new();
    T.get_or_init(|| {
        Abi::ALL.map(|abi| {
            (0..NR_SLOTS)
                .map(|slot| {
                    let n = names::slot_name(abi, slot);
                    match abi {
                        Abi::X86_64 => n.into(),
                        _ => format!("{abi}:{n}").into(),
                    }
                })
                .collect()
        })
    })
}

/// The display name of a slot (`openat`, `i386:open`). Panics if
/// `slot >= NR_SLOTS`.
pub fn slot_display(abi: Abi, slot: usize) -> &'static str {
    &table()[abi.index()][slot]
}

/// Appends `nr_N` (a number without a name).
fn write_nr(l: &mut Line, nr: i32) {
    l.raw(b"nr_");
    l.i64(nr.into());
}

/// Appends the display form of raw number `nr` (the text log's
/// `syscall=`), without allocating.
pub(crate) fn write_display(l: &mut Line, abi: Abi, nr: i32) {
    match names::slot_of(abi, nr) {
        SLOT_OTHER => {
            if abi != Abi::X86_64 {
                l.raw(abi.as_str().as_bytes());
                l.byte(b':');
            }
            write_nr(l, nr);
        }
        slot => l.raw(slot_display(abi, slot).as_bytes()),
    }
}

/// Appends the name of raw number `nr` without the ABI prefix (JSON's
/// `syscall`), without allocating.
pub(crate) fn write_name(l: &mut Line, abi: Abi, nr: i32) {
    match names::slot_of(abi, nr) {
        SLOT_OTHER => write_nr(l, nr),
        slot => l.raw(names::slot_name(abi, slot).as_bytes()),
    }
}

/// [`write_display`] as a string.
pub fn display(abi: Abi, nr: i32) -> String {
    let mut v = Vec::new();
    write_display(&mut Line::new(&mut v), abi, nr);
    String::from_utf8(v).expect("names are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::X32_SYSCALL_BIT;

    #[test]
    fn display_forms() {
        assert_eq!(display(Abi::X86_64, 257), "openat");
        assert_eq!(display(Abi::I386, 5), "i386:open");
        assert_eq!(display(Abi::X32, X32_SYSCALL_BIT), "x32:read");
        assert_eq!(display(Abi::I386, 5000), "i386:nr_5000");
        assert_eq!(display(Abi::X86_64, -7), "nr_-7");
        assert_eq!(slot_display(Abi::X32, SLOT_OTHER), "x32:other");
        for (abi, nr) in [
            (Abi::X86_64, 0),
            (Abi::I386, 11),
            (Abi::X32, 600),
            (Abi::X86_64, -7),
            (Abi::I386, 1 << 20),
        ] {
            let mut v = Vec::new();
            write_name(&mut Line::new(&mut v), abi, nr);
            let name = String::from_utf8(v).unwrap();
            assert_eq!(name, names::name(abi, nr));
            let prefix = if abi == Abi::X86_64 {
                String::new()
            } else {
                format!("{abi}:")
            };
            assert_eq!(display(abi, nr), format!("{prefix}{name}"));
        }
    }
}
