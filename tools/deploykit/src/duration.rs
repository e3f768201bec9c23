//! Human durations (`500ms`, `1.5s`, `30s`, `2m`, `1h30m`) for every flag
//! that takes one.
//!
//! One grammar in every tool, so a value that works for one tool's flag works
//! for every other's: one or more `NUMBER UNIT` parts, added up (`1h30m`,
//! `1m 30s`); a NUMBER is decimal and may have a fraction (`1.5s`, `.5s`);
//! a bare number is seconds, as `sleep` and `timeout` read it (`5`, `1.5`).
//! The units: `ms` (`msec`, `millis`, `millisecond(s)`), `s` (`sec`,
//! `secs`, `second(s)`), `m` (`min`, `mins`, `minute(s)`), `h` (`hr`,
//! `hrs`, `hour(s)`) and `d` (`day(s)`), in lower case. Months and years are
//! refused: their length depends on the calendar (and `M` is not `m`).
//!
//! A deadline or a budget of zero can never be met, so a flag that bounds a
//! wait parses with [`parse_budget`], which refuses zero as a usage error
//! (exit 2) rather than letting the run fail later as if the remote had
//! been slow. [`parse`] accepts zero for the flags where it means something
//! (an age of zero: everything is old enough).

use std::time::Duration;

/// The accepted forms, for error messages.
const EXAMPLES: &str = "e.g. 500ms, 1.5s, 30s, 2m, 1h30m; a bare number is seconds";

/// Parses a human duration (see the module documentation for the grammar).
///
/// Used as a clap `value_parser`, so the error text is what the user sees.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration ({EXAMPLES})"));
    }
    let invalid = |why: &str| format!("invalid duration {trimmed:?}: {why} ({EXAMPLES})");
    let mut rest = trimmed;
    let mut total: u128 = 0;
    let mut parts = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() {
            return Err(invalid("expected a number"));
        }
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "" if parts == 0 && after.trim().is_empty() => 1_000_000_000,
            "" => return Err(invalid("every number after the first needs a unit")),
            "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            other => return Err(invalid(&format!("unknown unit {other:?}"))),
        };
        total = total
            .checked_add(scaled(number, nanos_per_unit).ok_or_else(|| invalid("not a number"))?)
            .ok_or_else(|| invalid("too long"))?;
        parts += 1;
        rest = after.trim_start();
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| invalid("too long"))?;
    #[allow(clippy::cast_possible_truncation)] // below 10^9
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// `number` (digits with at most one `.`) times `unit` nanoseconds, exactly
/// (a fraction finer than a nanosecond is dropped); `None` when `number` is
/// not one, or the product is absurdly large.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty())
        || fraction.contains('.')
        || whole.len() > 20
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(unit)?;
    let mut scale = unit;
    for digit in fraction.bytes().take(30) {
        scale /= 10;
        value = value.checked_add(u128::from(digit - b'0') * scale)?;
    }
    Some(value)
}

/// [`parse`] for a deadline, a timeout or a budget: zero is refused, since
/// nothing can be done within it.
pub fn parse_budget(text: &str) -> Result<Duration, String> {
    let d = parse(text)?;
    if d.is_zero() {
        return Err(format!(
            "{:?} is a zero duration: nothing can finish within it (give at least 1ms)",
            text.trim()
        ));
    }
    Ok(d)
}

/// Formats a duration compactly for progress lines: `850ms`, `2.4s`, `1m05s`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let secs = d.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_forms() {
        for (text, want) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m", Duration::from_secs(5400)),
            ("7", Duration::from_secs(7)),
            ("1.5", Duration::from_millis(1500)),
            ("1.5s", Duration::from_millis(1500)),
            (".5s", Duration::from_millis(500)),
            ("2.", Duration::from_secs(2)),
            ("0.25m", Duration::from_secs(15)),
            ("1.5ms", Duration::from_micros(1500)),
            ("2 minutes", Duration::from_secs(120)),
            ("1d", Duration::from_secs(86_400)),
            (" 3s ", Duration::from_secs(3)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_junk() {
        for bad in [
            "",
            " ",
            "soon",
            "-1s",
            "1.2.3s",
            ".",
            "s",
            "5 5",
            "1x",
            "3M",
            "1y",
            "1w",
            "1s5",
            "1e3s",
            "10SEC",
            "99999999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_budget_of_zero_is_refused_in_any_spelling() {
        for zero in ["0", "0s", "0ms", "0.0", "0h0m", "0.0000000001s"] {
            let err = parse_budget(zero).unwrap_err();
            assert!(err.contains("zero"), "{zero}: {err}");
        }
        assert_eq!(parse_budget("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_millis(850)), "850ms");
        assert_eq!(format(Duration::from_millis(2400)), "2.4s");
        assert_eq!(format(Duration::from_secs(65)), "1m05s");
    }
}
