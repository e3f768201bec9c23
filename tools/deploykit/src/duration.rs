//! Human durations (`500ms`, `30s`, `2m`, `1h30m`) for every flag that takes one.

use std::time::Duration;

/// Parses a human duration; a bare number is read as seconds, as `sleep` does.
///
/// Used as a clap `value_parser`, so the error text is what the user sees.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| format!("invalid duration '{text}': {e}"));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration '{text}': {e} (examples: 500ms, 30s, 2m)"))
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
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("7"), Ok(Duration::from_secs(7)));
    }

    #[test]
    fn rejects_junk() {
        assert!(parse("").is_err());
        assert!(parse("soon").is_err());
        assert!(parse("-1s").is_err());
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_millis(850)), "850ms");
        assert_eq!(format(Duration::from_millis(2400)), "2.4s");
        assert_eq!(format(Duration::from_secs(65)), "1m05s");
    }
}
