//! [`Items`]: a run of log items in order, records in the kernel's
//! layout and counts of dropped records, kept in one byte buffer and one
//! list.  The ring consumer fills one per drain, retention keeps its
//! entries in chunks of them, readers render them through [`ItemRef`].
//!
//! A record enters only validated ([`Items::push_record`], or the
//! consumer's copy checked with `decode_ref`); reading it back is a view
//! of its bytes, not a second validation.

use super::{decode_ref, peek_header, view_valid, DecodeError, RecordRef};

/// Where an item lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A record at `bytes[off..off + len]`, made on `cpu`.
    Record { off: usize, len: u32, cpu: u32 },
    /// See [`ItemRef::Dropped`].
    Dropped { cpu: u32, count: u64, time_ns: u64 },
}

/// One item, borrowed from an [`Items`].
// A transient view made while iterating: boxing the record would allocate
// per item, which is what this type exists to avoid.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemRef<'a> {
    Record(RecordRef<'a>),
    /// `count` records passed the filters on `cpu` but the kernel dropped
    /// them (the ring was full, or its consumer position bogus), or the
    /// consumer could not read them; seen at `time_ns` (CLOCK_REALTIME).
    Dropped {
        cpu: u32,
        count: u64,
        time_ns: u64,
    },
}

impl ItemRef<'_> {
    /// The CPU whose ring the item comes from.
    pub fn cpu(&self) -> u32 {
        match self {
            ItemRef::Record(r) => r.cpu,
            ItemRef::Dropped { cpu, .. } => *cpu,
        }
    }

    /// The records the item stands for: 1, or the drop count.
    pub fn weight(&self) -> u64 {
        match self {
            ItemRef::Record(_) => 1,
            ItemRef::Dropped { count, .. } => *count,
        }
    }

    /// The record's time, or when the drop was seen.
    pub fn time_ns(&self) -> u64 {
        match self {
            ItemRef::Record(r) => r.time_ns,
            ItemRef::Dropped { time_ns, .. } => *time_ns,
        }
    }
}

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Items {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl Items {
    pub fn new() -> Items {
        Items::default()
    }

    /// Room for `items` items holding `bytes` record bytes.
    pub fn with_capacity(items: usize, bytes: usize) -> Items {
        Items {
            bytes: Vec::with_capacity(bytes),
            slots: Vec::with_capacity(items),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Empties it, keeping the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }

    /// Validates the record at the start of `b` and appends a copy of it
    /// (its own size; `b` may extend past it).
    pub fn push_record(&mut self, b: &[u8]) -> Result<(), DecodeError> {
        let cpu = decode_ref(b)?.cpu;
        let (len, _) = peek_header(b).expect("a validated record");
        let off = self.bytes.len();
        self.bytes.extend_from_slice(&b[..len]);
        self.slots.push(Slot::Record {
            off,
            len: len as u32,
            cpu,
        });
        Ok(())
    }

    /// Appends a drop count (see [`ItemRef::Dropped`]).
    pub fn push_dropped(&mut self, cpu: u32, count: u64, time_ns: u64) {
        self.slots.push(Slot::Dropped {
            cpu,
            count,
            time_ns,
        });
    }

    /// Item `i`. Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> ItemRef<'_> {
        match self.slots[i] {
            Slot::Record { off, len, .. } => {
                ItemRef::Record(view_valid(&self.bytes[off..off + len as usize]))
            }
            Slot::Dropped {
                cpu,
                count,
                time_ns,
            } => ItemRef::Dropped {
                cpu,
                count,
                time_ns,
            },
        }
    }

    /// Every item, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ItemRef<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The records, in order (drops left out).
    pub fn records(&self) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        self.iter().filter_map(|i| match i {
            ItemRef::Record(r) => Some(r),
            ItemRef::Dropped { .. } => None,
        })
    }

    /// Records the drops stand for, summed.
    pub fn dropped(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Dropped { count, .. } => *count,
                Slot::Record { .. } => 0,
            })
            .sum()
    }

    /// Items `range`, in order.
    pub fn range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = ItemRef<'_>> + '_ {
        range.map(|i| self.get(i))
    }

    /// The encoded records, for tests.
    #[cfg(test)]
    pub(crate) fn of(rs: impl IntoIterator<Item = super::Builder>) -> Items {
        let mut it = Items::new();
        for r in rs {
            it.push_record(&r.encode()).expect("a valid record");
        }
        it
    }

    pub(crate) fn slot(&self, i: usize) -> Slot {
        self.slots[i]
    }

    /// The bytes of item `i` if it is a record: exactly the kernel's
    /// record, validated when it entered.
    pub fn record_bytes(&self, i: usize) -> Option<&[u8]> {
        match self.slots[i] {
            Slot::Record { off, len, .. } => Some(&self.bytes[off..off + len as usize]),
            Slot::Dropped { .. } => None,
        }
    }

    /// (cpu, records) item `i` stands for, without reading the record.
    pub(crate) fn weight(&self, i: usize) -> (u32, u64) {
        match self.slots[i] {
            Slot::Record { cpu, .. } => (cpu, 1),
            Slot::Dropped { cpu, count, .. } => (cpu, count),
        }
    }

    /// Appends a copy of item `i` of `other`.
    pub(crate) fn push_from(&mut self, other: &Items, i: usize) {
        let slot = match other.slots[i] {
            Slot::Record { off, len, cpu } => {
                let at = self.bytes.len();
                self.bytes
                    .extend_from_slice(&other.bytes[off..off + len as usize]);
                Slot::Record { off: at, len, cpu }
            }
            dropped => dropped,
        };
        self.slots.push(slot);
    }

    /// The byte buffer, for the ring consumer to copy records into; a
    /// record copied there enters the list through [`Items::push_slot`]
    /// once `decode_ref` accepted the copy.
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Appends a slot whose record bytes (if any) are in the buffer and
    /// were validated.
    pub(crate) fn push_slot(&mut self, slot: Slot) {
        debug_assert!(match slot {
            Slot::Record { off, len, .. } =>
                decode_ref(&self.bytes[off..off + len as usize]).is_ok(),
            Slot::Dropped { .. } => true,
        });
        self.slots.push(slot);
    }

    /// Removes the first `n` items and their bytes.
    pub(crate) fn drain_front(&mut self, n: usize) {
        let cut = self.slots[n..]
            .iter()
            .find_map(|s| match s {
                Slot::Record { off, .. } => Some(*off),
                Slot::Dropped { .. } => None,
            })
            .unwrap_or(self.bytes.len());
        self.bytes.drain(..cut);
        self.slots.drain(..n);
        for s in &mut self.slots {
            if let Slot::Record { off, .. } = s {
                *off -= cut;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Builder;

    fn rec(seq: u64) -> Vec<u8> {
        Builder {
            seq,
            ..Builder::new(0, 100 + seq)
        }
        .encode()
    }

    #[test]
    fn records_and_drops_in_order() {
        let mut it = Items::new();
        it.push_record(&rec(0)).unwrap();
        it.push_dropped(0, 5, 77);
        let mut long = rec(6);
        long.extend_from_slice(b"trailing bytes are not taken");
        it.push_record(&long).unwrap();
        assert_eq!(it.len(), 3);
        let got: Vec<String> = it
            .iter()
            .map(|i| match i {
                ItemRef::Record(r) => format!("r{}@{}", r.seq, r.time_ns),
                ItemRef::Dropped { count, time_ns, .. } => format!("d{count}@{time_ns}"),
            })
            .collect();
        assert_eq!(got, ["r0@100", "d5@77", "r6@106"]);
        assert_eq!(it.iter().map(|i| i.weight()).sum::<u64>(), 7);
        assert_eq!(it.bytes.len(), 2 * rec(0).len());
        // Bad bytes are refused and change nothing.
        let mut bad = rec(7);
        bad[0] = 3;
        assert!(it.push_record(&bad).is_err());
        assert!(it.push_record(&rec(7)[..20]).is_err());
        assert_eq!(it.len(), 3);
        assert_eq!(it.bytes.len(), 2 * rec(0).len());
    }

    #[test]
    fn copies_and_trims_keep_every_view_intact() {
        let mut a = Items::new();
        for s in 0..5 {
            a.push_record(&rec(s)).unwrap();
            a.push_dropped(1, s + 1, s);
        }
        let mut b = Items::with_capacity(10, 4096);
        for i in 0..a.len() {
            b.push_from(&a, i);
        }
        assert_eq!(a, b);
        b.drain_front(3);
        assert_eq!(b.len(), 7);
        assert_eq!(
            b.iter().collect::<Vec<_>>(),
            a.range(3..10).collect::<Vec<_>>()
        );
        b.drain_front(7);
        assert!(b.is_empty() && b.bytes.is_empty());
        let (cpu, n) = a.weight(1);
        assert_eq!((cpu, n), (1, 1));
        a.clear();
        assert!(a.is_empty());
    }
}
