//! The memory the capture program shares with user space, mapped with
//! mmap(2): `BPF_F_MMAPABLE` arrays (per-CPU state, counters, control
//! word) and the per-CPU BPF ring buffers.  Only this file dereferences
//! those mappings, always through atomics or bounded byte copies.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut, MmapOptions};

/// A whole `BPF_F_MMAPABLE` array map, read as 64-bit words (and, for
/// the control word, written).
pub struct ArrayMem {
    map: MmapMut,
    len: usize,
}

impl ArrayMem {
    /// Maps `len` bytes of the array behind `fd` read-write.
    pub fn new(fd: BorrowedFd<'_>, len: usize) -> io::Result<ArrayMem> {
        // SAFETY: a MAP_SHARED mapping of a BPF array the kernel sized to
        // at least `len` bytes (value_size * max_entries, page rounded);
        // the program writes it concurrently, so it is only accessed
        // through atomics (`u64_at`, `u32_at`).
        let map = unsafe { MmapOptions::new().len(len).map_mut(fd.as_raw_fd())? };
        Ok(ArrayMem { map, len })
    }

    fn ptr(&self, off: usize, size: usize) -> *mut u8 {
        assert!(
            off % size == 0 && off + size <= self.len,
            "{off} + {size} > {}",
            self.len
        );
        // SAFETY: in bounds (asserted); a mapping is page aligned, so an
        // offset aligned to `size` is an aligned address.
        unsafe { self.map.as_ptr().cast_mut().add(off) }
    }

    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        // SAFETY: aligned, in bounds, valid while `self` lives.
        unsafe { AtomicU64::from_ptr(self.ptr(off, 8).cast()) }
    }

    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        // SAFETY: aligned, in bounds, valid while `self` lives.
        unsafe { AtomicU32::from_ptr(self.ptr(off, 4).cast()) }
    }

    /// Reads `out.len()` consecutive words at `off` (relaxed: counters).
    pub fn read_u64s(&self, off: usize, out: &mut [u64]) {
        for (i, w) in out.iter_mut().enumerate() {
            *w = self.u64_at(off + 8 * i).load(Ordering::Relaxed);
        }
    }
}

/// One BPF ring buffer: the consumer page (read-write) and the producer
/// page followed by the data area, which the kernel maps twice in a row so
/// that a record that wraps reads as one piece.
pub struct RingbufMem {
    cons: MmapMut,
    prod: Mmap,
    page: usize,
    size: usize,
}

/// Ring buffer record header bits (include/uapi/linux/bpf.h).
pub const BUSY: u32 = 1 << 31;
pub const DISCARD: u32 = 1 << 30;
pub const HDR: usize = 8;

impl RingbufMem {
    pub fn new(fd: BorrowedFd<'_>, size: usize, page: usize) -> io::Result<RingbufMem> {
        // SAFETY: the ring buffer map's consumer page, the one page user
        // space may map writable; accessed through `AtomicU64` only.
        let cons = unsafe { MmapOptions::new().len(page).map_mut(fd.as_raw_fd())? };
        // SAFETY: the producer page and twice the data area, read-only,
        // at the offset the kernel defines (one page); accessed through
        // atomics (positions, headers) and bounded copies.
        let prod = unsafe {
            MmapOptions::new()
                .offset(page as u64)
                .len(page + 2 * size)
                .map(fd.as_raw_fd())?
        };
        Ok(RingbufMem {
            cons,
            prod,
            page,
            size,
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn consumer_pos(&self) -> u64 {
        self.cons_word().load(Ordering::Acquire)
    }

    pub fn set_consumer_pos(&self, pos: u64) {
        self.cons_word().store(pos, Ordering::Release)
    }

    fn cons_word(&self) -> &AtomicU64 {
        // SAFETY: offset 0 of a page-aligned mapping of one page.
        unsafe { AtomicU64::from_ptr(self.cons.as_ptr().cast_mut().cast()) }
    }

    pub fn producer_pos(&self) -> u64 {
        // SAFETY: offset 0 of the page-aligned producer page; the kernel
        // stores it with release semantics.
        unsafe { AtomicU64::from_ptr(self.prod.as_ptr().cast_mut().cast()) }.load(Ordering::Acquire)
    }

    /// The length word of the record header at `pos` (acquire: the
    /// kernel clears BUSY with a release after writing the sample).
    pub fn header(&self, pos: u64) -> u32 {
        let off = self.page + (pos as usize & (self.size - 1));
        // SAFETY: off + 4 lies within the first copy of the data area;
        // headers are 8-aligned.
        unsafe { AtomicU32::from_ptr(self.prod.as_ptr().add(off).cast_mut().cast()) }
            .load(Ordering::Acquire)
    }

    /// Appends a copy of the `len` sample bytes of the record at `pos` to
    /// `out`.
    pub fn copy_sample(&self, pos: u64, len: usize, out: &mut Vec<u8>) {
        assert!(
            len <= self.size,
            "sample of {len} bytes in a ring of {}",
            self.size
        );
        let off = self.page + ((pos as usize + HDR) & (self.size - 1));
        out.reserve(len);
        let at = out.len();
        // SAFETY: [off, off + len) lies in the mapping (the second copy of
        // the data area covers a record that wraps); the record is
        // committed, so the kernel no longer writes it; `out` has room for
        // `len` more bytes, initialised by the copy before `set_len`.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.prod.as_ptr().add(off),
                out.as_mut_ptr().add(at),
                len,
            );
            out.set_len(at + len);
        }
    }
}
