//! A small stack buffer in front of the output `Vec` for the hot path:
//! fields are written into it with constant-size copies and flushed to the
//! output in one copy, instead of one variable-length copy per field.
//! Also the integer, hex and timestamp writers all renderings share.

const CAP: usize = 256;

/// Pairs of decimal digits, "00" to "99".
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

const HEX: &[u8; 16] = b"0123456789abcdef";

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

    #[inline]
    pub(crate) fn u64(&mut self, v: u64) {
        let n = v.checked_ilog10().map_or(1, |l| l as usize + 1);
        self.room(20);
        Self::digits_at(&mut self.buf, self.len + n, v, n);
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
        self.buf[self.len] = b'0';
        self.buf[self.len + 1] = b'x';
        let mut x = v;
        for i in (self.len + 2..self.len + 2 + n).rev() {
            self.buf[i] = HEX[(x & 15) as usize];
            x >>= 4;
        }
        self.len += 2 + n;
    }

    /// UTC ISO 8601, `2026-11-21T22:30:01.123456789Z`, or to the second
    /// without `fraction`.
    pub(crate) fn time(&mut self, ns: u64, fraction: bool) {
        let secs = ns / 1_000_000_000;
        let (y, mo, d) = super::civil_from_days(secs / 86_400);
        let sod = secs % 86_400;
        self.room(30);
        let b = &mut self.buf[self.len..self.len + 30];
        b.copy_from_slice(b"0000-00-00T00:00:00.000000000Z");
        // Years stay below 10000 for any u64.
        Self::digits_at(b, 4, y, 4);
        Self::digits_at(b, 7, mo.into(), 2);
        Self::digits_at(b, 10, d.into(), 2);
        Self::digits_at(b, 13, sod / 3600, 2);
        Self::digits_at(b, 16, sod / 60 % 60, 2);
        Self::digits_at(b, 19, sod % 60, 2);
        if fraction {
            Self::digits_at(b, 29, ns % 1_000_000_000, 9);
            self.len += 30;
        } else {
            b[19] = b'Z';
            self.len += 20;
        }
    }
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
