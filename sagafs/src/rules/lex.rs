//! Splitting a rule line into words, and decoding a value.
//!
//! Words are separated by blanks. A value may be written in double
//! quotes, in whole or in part, to hold blanks or any byte: inside quotes
//! `\"`, `\\` and `\xHH` are escapes. Outside quotes, a `*` at the very
//! end of a value means "prefix"; a quoted `*` is a plain byte.

/// A value as written, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub bytes: Vec<u8>,
    /// It ended in an unquoted `*` (removed from `bytes`).
    pub star: bool,
    /// Some part of it was quoted.
    pub quoted: bool,
}

/// The words of a line: `Err` with a message for an unterminated quote.
pub fn words(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escape = false;
    for (i, ch) in line.char_indices() {
        if quoted {
            if escape {
                escape = false;
            } else if ch == '\\' {
                escape = true;
            } else if ch == '"' {
                quoted = false;
            }
            continue;
        }
        if ch.is_ascii_whitespace() {
            if let Some(s) = start.take() {
                out.push(&line[s..i]);
            }
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        if ch == '"' {
            quoted = true;
        }
    }
    if quoted {
        return Err("a quote is not closed".to_string());
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decodes a value (quotes, escapes, a final unquoted `*`).
pub fn value(raw: &str) -> Result<Value, String> {
    let b = raw.as_bytes();
    let mut out = Value {
        bytes: Vec::with_capacity(b.len()),
        star: false,
        quoted: false,
    };
    let mut i = 0;
    let mut in_quote = false;
    while i < b.len() {
        let c = b[i];
        if in_quote {
            match c {
                b'"' => in_quote = false,
                b'\\' => {
                    let e = *b.get(i + 1).ok_or("a '\\' ends the value")?;
                    match e {
                        b'"' | b'\\' => out.bytes.push(e),
                        b'x' => {
                            let v = b
                                .get(i + 2..i + 4)
                                .and_then(|h| Some(hex(h[0])? * 16 + hex(h[1])?))
                                .ok_or("'\\x' needs two hex digits")?;
                            out.bytes.push(v);
                            i += 2;
                        }
                        _ => return Err(format!("unknown escape '\\{}'", e as char)),
                    }
                    i += 1;
                }
                _ => out.bytes.push(c),
            }
        } else {
            match c {
                b'"' => {
                    in_quote = true;
                    out.quoted = true;
                }
                b'*' if i + 1 == b.len() => out.star = true,
                b'*' => return Err(
                    "'*' only ends a value (meaning: any continuation); quote it to mean itself"
                        .to_string(),
                ),
                _ => out.bytes.push(c),
            }
        }
        i += 1;
    }
    if in_quote {
        return Err("a quote is not closed".to_string());
    }
    Ok(out)
}

/// Writes `bytes` as a value `value()` reads back: bare when it is plain,
/// quoted (with escapes) otherwise; `star` appends an unquoted `*`.
pub fn quote(bytes: &[u8], star: bool) -> String {
    let plain = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\\' && c != b'*' && c != b'#');
    let mut s = String::new();
    if plain {
        s.push_str(std::str::from_utf8(bytes).expect("ASCII"));
    } else {
        s.push('"');
        for &c in bytes {
            match c {
                b'"' => s.push_str("\\\""),
                b'\\' => s.push_str("\\\\"),
                0x20..=0x7e => s.push(c as char),
                _ => s.push_str(&format!("\\x{c:02x}")),
            }
        }
        s.push('"');
    }
    if star {
        s.push('*');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_blanks_outside_quotes() {
        assert_eq!(
            words("  always  path=\"/a b\"  key=x ").unwrap(),
            vec!["always", "path=\"/a b\"", "key=x"]
        );
        assert_eq!(
            words("a \"x\\\" y\" b").unwrap(),
            vec!["a", "\"x\\\" y\"", "b"]
        );
        assert!(words("path=\"/a").is_err());
        assert!(words("").unwrap().is_empty());
    }

    #[test]
    fn decodes_values() {
        let v = value("/usr/bin/*").unwrap();
        assert_eq!((v.bytes.as_slice(), v.star), (&b"/usr/bin/"[..], true));
        let v = value("\"/tmp/a*\"").unwrap();
        assert_eq!((v.bytes.as_slice(), v.star), (&b"/tmp/a*"[..], false));
        let v = value("\"/x\\x00\\\\\\\"\"").unwrap();
        assert_eq!(v.bytes, b"/x\0\\\"");
        assert!(value("/a*b").is_err());
        assert!(value("\"\\q\"").is_err());
        assert!(value("\"\\x4\"").is_err());
    }

    #[test]
    fn quote_round_trips() {
        for (b, star) in [
            (&b"/etc"[..], false),
            (b"/a b", true),
            (b"x\"y\\z", false),
            (b"\xff\x01*", false),
            (b"#", false),
        ] {
            let q = quote(b, star);
            let v = value(&q).unwrap();
            assert_eq!((v.bytes.as_slice(), v.star), (b, star), "{q}");
            assert_eq!(words(&q).unwrap().len(), 1, "{q}");
        }
    }
}
