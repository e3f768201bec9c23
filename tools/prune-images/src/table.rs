//! The human table both reports print.
//!
//! One row per image or manifest, columns padded to their widest cell so
//! the table reads down, the last column (the reason) left free because it
//! is long and varies. Ages are rounded down to days or hours once past
//! two of them, so the age column stays short.

use std::fmt::Write as _;
use std::time::Duration;

/// The lines of a table: every cell but the last padded to its column's
/// width plus two spaces, trailing blanks trimmed.
pub fn lines<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i + 1 < N {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
                } else {
                    line.push_str(cell);
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

/// How old something created at `created` is at `now` (Unix seconds):
/// `3d`, `5h`, or a short duration below two hours.
pub fn age(now: i64, created: i64) -> String {
    let secs = u64::try_from(now.saturating_sub(created)).unwrap_or(0);
    if secs >= 2 * 86_400 {
        format!("{}d", secs / 86_400)
    } else if secs >= 2 * 3600 {
        format!("{}h", secs / 3600)
    } else {
        deploykit::duration::format(Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_all_but_the_last_column() {
        let rows = [
            ["A".to_owned(), "BB".to_owned(), "free text".to_owned()],
            ["ccc".to_owned(), String::new(), String::new()],
        ];
        assert_eq!(lines(&rows), vec!["A    BB  free text", "ccc"]);
    }

    #[test]
    fn ages() {
        assert_eq!(age(100, 100), deploykit::duration::format(Duration::ZERO));
        assert_eq!(age(3 * 3600, 0), "3h");
        assert_eq!(age(3 * 86_400, 0), "3d");
        assert_eq!(age(0, 50), age(0, 0), "a future time counts as new");
    }
}
