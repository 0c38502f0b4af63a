//! Sizes, one grammar for the `retain=` mount option and the `retain`
//! config key: decimal digits, then optionally `K`, `M` or `G` (binary
//! multiples, either case), then optionally `B` or, after a multiple,
//! `iB`: `4096`, `64M`, `64m`, `64MB`, `64MiB`, `1G`.  Zero and sizes
//! that do not fit in 64 bits are refused.  [`format`] gives the largest
//! exact multiple (`64M`), which [`parse`] reads back.

use std::fmt;

/// The multiples, largest first.
const UNITS: [(char, u32); 3] = [('G', 30), ('M', 20), ('K', 10)];

/// Why a size was refused; `Display` is one line saying what to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    /// Not digits with an optional multiple.
    Malformed,
    /// Zero bytes.
    Zero,
    /// More than 64 bits hold.
    TooLarge,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeError::Malformed => "bad size, use e.g. 64M",
            SizeError::Zero => "size must be more than 0, use e.g. 64M",
            SizeError::TooLarge => "size too large",
        })
    }
}

impl std::error::Error for SizeError {}

/// Parses a size (see the module documentation) into bytes.
pub fn parse(v: &str) -> Result<u64, SizeError> {
    let (number, shift) = split_unit(v).ok_or(SizeError::Malformed)?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SizeError::Malformed);
    }
    let n: u64 = number.parse().map_err(|_| SizeError::TooLarge)?;
    let bytes = n.checked_mul(1 << shift).ok_or(SizeError::TooLarge)?;
    if bytes == 0 {
        return Err(SizeError::Zero);
    }
    Ok(bytes)
}

/// Splits `v` into its number and the shift of its multiple; `None` when
/// what follows the number is not a multiple or a byte suffix.
fn split_unit(v: &str) -> Option<(&str, u32)> {
    let (s, multiple_needed) = match v.strip_suffix("iB") {
        Some(s) => (s, true),
        None => (v.strip_suffix('B').unwrap_or(v), false),
    };
    match s.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let up = c.to_ascii_uppercase();
            let (_, shift) = UNITS.iter().find(|(u, _)| *u == up)?;
            Some((&s[..s.len() - 1], *shift))
        }
        _ if multiple_needed => None,
        _ => Some((s, 0)),
    }
}

/// Renders a byte count with the largest exact multiple (`64M`, `1536K`,
/// `1025`).
pub fn format(bytes: u64) -> String {
    for (suffix, shift) in UNITS {
        let unit = 1u64 << shift;
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted_forms() {
        for (s, n) in [
            ("4096", 4096),
            ("1k", 1 << 10),
            ("1K", 1 << 10),
            ("2048K", 2 << 20),
            ("64M", 64 << 20),
            ("64m", 64 << 20),
            ("64MB", 64 << 20),
            ("64MiB", 64 << 20),
            ("3GB", 3 << 30),
            ("2G", 2 << 30),
            ("1024B", 1024),
        ] {
            assert_eq!(parse(s), Ok(n), "{s}");
        }
    }

    #[test]
    fn refused_forms() {
        for s in [
            "", "M", "-1", "+5", "1.5M", "1 M", "0x10", "12Q", "64iB", "iB", "B", "64mb", "64Mib",
            "1MM",
        ] {
            assert_eq!(parse(s), Err(SizeError::Malformed), "{s:?}");
        }
        assert_eq!(parse("0"), Err(SizeError::Zero));
        assert_eq!(parse("0K"), Err(SizeError::Zero));
        assert_eq!(parse("99999999999999999999"), Err(SizeError::TooLarge));
        assert_eq!(parse("17179869184G"), Err(SizeError::TooLarge));
        assert_eq!(SizeError::Malformed.to_string(), "bad size, use e.g. 64M");
    }

    #[test]
    fn format_is_exact() {
        assert_eq!(format(64 << 20), "64M");
        assert_eq!(format(1536), "1536");
        assert_eq!(format(3 << 30), "3G");
        assert_eq!(format(1025), "1025");
        assert_eq!(format(1_048_577), "1048577");
        assert_eq!(format((1 << 20) + 1024), "1025K");
    }

    proptest! {
        #[test]
        fn sizes_round_trip(n in 1u64..(1u64 << 40)) {
            prop_assert_eq!(parse(&format(n)), Ok(n));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = parse(&s);
        }
    }
}
