//! A small stack buffer in front of the output `Vec` for the hot path:
//! fields are written into it with constant-size copies and flushed to the
//! output in one copy, instead of one variable-length copy per field.
//! Also the integer, hex and timestamp writers all renderings share.

use std::cell::Cell;

const CAP: usize = 256;
/// Strings up to this long are checked and copied into the buffer.
const SHORT: usize = 128;

/// Pairs of decimal digits, "00" to "99".
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends to `out` through a stack buffer; flushes when full and when
/// dropped.
pub(crate) struct Line<'a> {
    out: &'a mut Vec<u8>,
    buf: [u8; CAP],
    len: usize,
}

impl<'a> Line<'a> {
    #[inline]
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Line<'a> {
        Line {
            out,
            buf: [0; CAP],
            len: 0,
        }
    }

    /// Makes room for `n` more bytes (`n <= CAP`).
    #[inline]
    fn room(&mut self, n: usize) {
        if self.len + n > CAP {
            self.flush();
        }
    }

    pub(crate) fn flush(&mut self) {
        self.out.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }

    /// The output, everything buffered so far flushed to it.
    #[inline]
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        self.flush();
        self.out
    }

    #[inline]
    pub(crate) fn raw(&mut self, s: &[u8]) {
        if s.len() > CAP {
            self.out().extend_from_slice(s);
            return;
        }
        self.room(s.len());
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// `escape::escape_into()` through the buffer: short plain text is
    /// copied in place, anything else goes the general way.
    #[inline]
    pub(crate) fn escaped(&mut self, s: &[u8]) {
        if s.len() <= SHORT && super::escape::is_plain(s) {
            self.raw(s);
        } else {
            super::escape::escape_into(self.out(), s);
        }
    }

    /// `json::write_str()` through the buffer, as `escaped()`.
    #[inline]
    pub(crate) fn json_str(&mut self, s: &[u8]) {
        if s.len() <= SHORT && super::json::is_plain(s) {
            self.byte(b'"');
            self.raw(s);
            self.byte(b'"');
        } else {
            super::json::write_str(self.out(), s);
        }
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        self.room(1);
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// Writes `v` right-aligned in `width` digits ending at `end`.
    #[inline]
    fn digits_at(buf: &mut [u8], end: usize, mut v: u64, width: usize) {
        let mut i = end;
        let start = end - width;
        while i >= start + 2 {
            let r = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
        }
        if i > start {
            buf[start] = b'0' + (v % 10) as u8;
        }
    }

    #[inline(always)]
    pub(crate) fn u64(&mut self, v: u64) {
        self.room(20);
        if v < 10 {
            self.buf[self.len] = b'0' + v as u8;
            self.len += 1;
            return;
        }
        // Digits in place, two at a time from the end (fixed-size copies
        // only: no call to memcpy per number).
        let n = v.ilog10() as usize + 1;
        let mut i = self.len + n;
        let mut v = v;
        while v >= 100 {
            let r = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            self.buf[i] = PAIRS[r];
            self.buf[i + 1] = PAIRS[r + 1];
        }
        let v = v as usize;
        if v >= 10 {
            self.buf[i - 2] = PAIRS[v * 2];
            self.buf[i - 1] = PAIRS[v * 2 + 1];
        } else {
            self.buf[i - 1] = b'0' + v as u8;
        }
        self.len += n;
    }

    #[inline]
    pub(crate) fn i64(&mut self, v: i64) {
        if v < 0 {
            self.byte(b'-');
        }
        self.u64(v.unsigned_abs());
    }

    /// `0x` and lower-case hex without leading zeros.
    #[inline]
    pub(crate) fn hex(&mut self, v: u64) {
        let n = (v.checked_ilog2().unwrap_or(0) / 4 + 1) as usize;
        self.room(18);
        // All 16 digits of `v` shifted so that the first significant one
        // leads, written with one fixed-size copy; only `n` are kept.
        // The digits come from all nibbles at once (SWAR): each nibble
        // spread to a byte of its own, then 0-9 and a-f made ASCII.
        let x = u128::from(v << ((16 - n) * 4));
        let x = (x | (x << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
        let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
        let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
        let x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f;
        const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
        let letters = ((x + 6 * ONES) >> 4) & ONES;
        let ascii = x + b'0' as u128 * ONES + letters * (b'a' - b'0' - 10) as u128;
        self.buf[self.len..self.len + 2].copy_from_slice(b"0x");
        self.buf[self.len + 2..self.len + 18].copy_from_slice(&ascii.to_be_bytes());
        self.len += 2 + n;
    }

    /// UTC ISO 8601, `2026-11-21T22:30:01.123456789Z`, or to the second
    /// without `fraction`.
    pub(crate) fn time(&mut self, ns: u64, fraction: bool) {
        let secs = ns / 1_000_000_000;
        self.room(30);
        let b = &mut self.buf[self.len..self.len + 30];
        // Consecutive records mostly fall in the same second: the date
        // and time of day are kept from the last call on this thread.
        let (last, prefix) = LAST_SECOND.get();
        if last == secs {
            b[..19].copy_from_slice(&prefix);
        } else {
            let (y, mo, d) = super::civil_from_days(secs / 86_400);
            let sod = secs % 86_400;
            b[..19].copy_from_slice(b"0000-00-00T00:00:00");
            // Years stay below 10000 for any u64.
            Self::digits_at(b, 4, y, 4);
            Self::digits_at(b, 7, mo.into(), 2);
            Self::digits_at(b, 10, d.into(), 2);
            Self::digits_at(b, 13, sod / 3600, 2);
            Self::digits_at(b, 16, sod / 60 % 60, 2);
            Self::digits_at(b, 19, sod % 60, 2);
            let mut p = [0u8; 19];
            p.copy_from_slice(&b[..19]);
            LAST_SECOND.set((secs, p));
        }
        if fraction {
            b[19] = b'.';
            Self::digits_at(b, 29, ns % 1_000_000_000, 9);
            b[29] = b'Z';
            self.len += 30;
        } else {
            b[19] = b'Z';
            self.len += 20;
        }
    }
}

thread_local! {
    /// The second last formatted by `Line::time` and its first 19 bytes.
    static LAST_SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_at_every_width() {
        for shift in 0..64 {
            for v in [
                1u64 << shift,
                (1u64 << shift) - 1,
                (0xa9u64 << shift) | 0x5f,
                u64::MAX >> shift,
                0x0123_4567_89ab_cdef >> shift,
                10u64.saturating_pow(shift / 3) - 1,
                10u64.saturating_pow(shift / 3),
            ] {
                let mut out = Vec::new();
                {
                    let mut l = Line::new(&mut out);
                    l.hex(v);
                    l.byte(b' ');
                    l.u64(v);
                }
                assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#x} {v}"));
            }
        }
    }

    #[test]
    fn flushes_across_the_buffer_end() {
        let mut out = Vec::new();
        let mut expect = String::new();
        {
            let mut l = Line::new(&mut out);
            for i in 0..200u64 {
                let v = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 64);
                l.u64(v);
                l.byte(b' ');
                l.hex(v);
                l.raw(b",");
                l.i64(-(v as i64));
                expect.push_str(&format!("{v} {v:#x},{}", -(v as i64)));
            }
            let long = [b'z'; CAP + 1];
            l.raw(&long);
            expect.push_str(std::str::from_utf8(&long).unwrap());
            l.out().push(b'!');
            l.raw(b"end");
            expect.push_str("!end");
        }
        assert_eq!(String::from_utf8(out).unwrap(), expect);
    }
}
