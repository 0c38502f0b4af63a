//! Escaping of untrusted bytes (comm, paths) for the text log and the
//! config file, and its exact inverse.
//!
//! The escaped form never holds a byte that could end a line or a field:
//! `\` becomes `\\`; space, `"`, `=`, `,`, every byte below 0x20, 0x7f,
//! every byte that is not part of valid UTF-8, and the valid UTF-8
//! characters that can fool a terminal or a reader (C1 controls
//! U+0080..U+009F, U+200E, U+200F, U+2028..U+202E, U+2066..U+2069) become
//! `\xHH` (lower-case hex), one per byte. Everything else passes through.
//! `"` is escaped as `\x22`, so the escaped text can be put between double
//! quotes as is.

use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether an ASCII byte must be escaped.
#[inline]
fn ascii_needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f || matches!(b, b' ' | b'"' | b'=' | b',' | b'\\')
}

/// Whether a valid non-ASCII character can fool a terminal or a reader.
#[inline]
fn char_needs_escape(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

#[inline]
fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}

/// Whether `s` is its own escaped form (plain ASCII needing nothing).
#[inline]
pub(crate) fn is_plain(s: &[u8]) -> bool {
    s.iter().all(|&b| b < 0x80 && !ascii_needs_escape(b))
}

/// Appends the escaped form of `s` to `out`.
pub fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    let mut i = 0;
    while i < s.len() {
        // Fast path: a run of ASCII that needs nothing.
        let start = i;
        while i < s.len() && s[i] < 0x80 && !ascii_needs_escape(s[i]) {
            i += 1;
        }
        out.extend_from_slice(&s[start..i]);
        if i == s.len() {
            break;
        }
        let b = s[i];
        if b < 0x80 {
            if b == b'\\' {
                out.extend_from_slice(b"\\\\");
            } else {
                push_hex(out, b);
            }
            i += 1;
            continue;
        }
        // Non-ASCII: take the valid UTF-8 characters from here on, up to
        // the next ASCII byte or invalid sequence.
        let chunk = s[i..].utf8_chunks().next().expect("non-empty input");
        let valid = chunk.valid();
        let mut consumed = 0;
        for c in valid.chars() {
            if c.is_ascii() {
                break;
            }
            let len = c.len_utf8();
            let bytes = &valid.as_bytes()[consumed..consumed + len];
            if char_needs_escape(c) {
                for &b in bytes {
                    push_hex(out, b);
                }
            } else {
                out.extend_from_slice(bytes);
            }
            consumed += len;
        }
        if consumed == 0 {
            // Not valid UTF-8 here: escape the invalid bytes.
            for &b in chunk.invalid() {
                push_hex(out, b);
            }
            consumed = chunk.invalid().len();
        }
        i += consumed;
    }
}

/// The escaped form of `s` as a new string.
pub fn escape(s: &[u8]) -> String {
    let mut v = Vec::with_capacity(s.len());
    escape_into(&mut v, s);
    String::from_utf8(v).expect("escaped text is UTF-8")
}

/// Why a string is not a valid escaped form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnescapeError {
    /// Byte offset of the offending backslash.
    pub offset: usize,
}

impl fmt::Display for UnescapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad escape at byte {}: only \\\\, \\\" and \\xHH are allowed",
            self.offset
        )
    }
}

impl std::error::Error for UnescapeError {}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The inverse of `escape()`: `\\` gives `\`, `\xHH` the byte HH, and
/// `\"` (accepted for hand-written text) gives `"`; any other backslash
/// sequence is an error. Other bytes are taken as they are.
pub fn unescape(s: &[u8]) -> Result<Vec<u8>, UnescapeError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        match s.get(i + 1) {
            Some(&c @ (b'\\' | b'"')) => {
                out.push(c);
                i += 2;
            }
            Some(b'x') => {
                let hi = s.get(i + 2).copied().and_then(hex_val);
                let lo = s.get(i + 3).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(UnescapeError { offset: i }),
                }
                i += 4;
            }
            _ => return Err(UnescapeError { offset: i }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_forms() {
        assert_eq!(escape(b"cat"), "cat");
        assert_eq!(escape(b""), "");
        assert_eq!(escape(b"a b"), "a\\x20b");
        assert_eq!(escape(b"x=1,y"), "x\\x3d1\\x2cy");
        assert_eq!(escape(b"\"q\""), "\\x22q\\x22");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
        assert_eq!(escape(b"nl\n\r\t\x00\x7f"), "nl\\x0a\\x0d\\x09\\x00\\x7f");
        assert_eq!(
            escape("caf\u{e9} \u{65e5}\u{672c}".as_bytes()),
            "caf\u{e9}\\x20\u{65e5}\u{672c}"
        );
        assert_eq!(escape(b"\xff\xfeok"), "\\xff\\xfeok");
        // A truncated multi-byte sequence at the end.
        assert_eq!(escape(b"a\xe6\x97"), "a\\xe6\\x97");
        // C1 control U+0085 (NEL), LINE SEPARATOR, RLO, LRI, LRM.
        assert_eq!(escape("\u{85}".as_bytes()), "\\xc2\\x85");
        assert_eq!(escape("\u{2028}".as_bytes()), "\\xe2\\x80\\xa8");
        assert_eq!(escape("a\u{202e}b".as_bytes()), "a\\xe2\\x80\\xaeb");
        assert_eq!(escape("\u{2066}".as_bytes()), "\\xe2\\x81\\xa6");
        assert_eq!(escape("\u{200e}".as_bytes()), "\\xe2\\x80\\x8e");
        // U+00A0 and U+2030 are ordinary.
        assert_eq!(escape("\u{a0}\u{2030}".as_bytes()), "\u{a0}\u{2030}");
        // Valid text right after an invalid byte.
        assert_eq!(
            escape("\u{80}\u{e9}".as_bytes()[1..].as_ref()),
            "\\x80\u{e9}"
        );
    }

    #[test]
    fn unescape_rejects_bad_sequences() {
        assert_eq!(unescape(b"\\").unwrap_err().offset, 0);
        assert_eq!(unescape(b"ab\\n").unwrap_err().offset, 2);
        assert!(unescape(b"\\x4").is_err());
        assert!(unescape(b"\\xg0").is_err());
        assert_eq!(unescape(b"\\X41\\x41").unwrap_err().offset, 0);
        assert_eq!(unescape(b"\\x41\\\\\\xFF").unwrap(), b"A\\\xff");
        assert_eq!(unescape(br#"a\"b"#).unwrap(), b"a\"b");
    }

    fn check(s: &[u8]) -> Result<(), TestCaseError> {
        let e = escape(s);
        for bad in [
            '\n', '\r', ' ', '"', '=', ',', '\u{7f}', '\u{85}', '\u{2028}', '\u{202e}',
        ] {
            prop_assert!(!e.contains(bad), "{:?} in {:?}", bad, e);
        }
        prop_assert!(!e.bytes().any(|b| b < 0x20));
        prop_assert_eq!(unescape(e.as_bytes()).unwrap(), s);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn any_bytes_round_trip(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            check(&s)?;
        }

        #[test]
        fn any_text_round_trips(s in "\\PC*|[\\u{80}-\\u{a0}\\u{2000}-\\u{2070} =,\"\\\\]*") {
            check(s.as_bytes())?;
        }
    }
}
