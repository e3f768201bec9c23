//! Integer option values read the way libpq's `pqParseIntParam` reads them.
//!
//! libpq hands the text to C's `strtol`: blanks before the number are
//! skipped, a sign is allowed, and the value must fit a C `int`; after the
//! digits only blanks may follow. "Blank" is C's `isspace` in the "C"
//! locale, six ASCII characters, not Rust's Unicode notion of white space:
//! a DSN with a no-break space after the port must be refused here as libpq
//! refuses it.

use super::DsnError;

/// C's `isspace` in the "C" locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Parses `value` as libpq parses an integer option, with libpq's error
/// text naming `keyword`.
pub(crate) fn parse(value: &str, keyword: &str) -> Result<i32, DsnError> {
    parse_c_int(value).ok_or_else(|| {
        DsnError(format!(
            "invalid integer value \"{value}\" for connection option \"{keyword}\""
        ))
    })
}

/// `strtol(value, &end, 10)` checked as libpq checks it.
fn parse_c_int(value: &str) -> Option<i32> {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let negative = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut magnitude: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        // Saturates: anything past i32 is refused below either way.
        magnitude = magnitude
            .saturating_mul(10)
            .saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    if i != b.len() {
        return None;
    }
    let signed = if negative { -magnitude } else { magnitude };
    i32::try_from(signed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_strtol_reads() {
        for (text, want) in [
            ("5432", Some(5432)),
            (" 5432", Some(5432)),
            ("5432 \t\n", Some(5432)),
            ("+7", Some(7)),
            ("-7", Some(-7)),
            ("007", Some(7)),
            ("2147483647", Some(i32::MAX)),
            ("-2147483648", Some(i32::MIN)),
            ("2147483648", None),
            ("-2147483649", None),
            ("99999999999999999999999", None),
            ("", None),
            (" ", None),
            ("-", None),
            ("+ 1", None),
            ("0x10", None),
            ("1e3", None),
            ("12a", None),
            ("1 2", None),
            ("5432\u{a0}", None),
            ("\u{a0}5432", None),
            ("\u{2003}1", None),
        ] {
            assert_eq!(parse_c_int(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_error_names_the_option() {
        assert_eq!(
            parse("2147483648", "connect_timeout")
                .unwrap_err()
                .to_string(),
            "invalid integer value \"2147483648\" for connection option \"connect_timeout\""
        );
    }
}
