//! Byte sizes on the command line and in reports, one grammar for every
//! flag that takes one.
//!
//! `--target-free 20G`: a number, with a fraction if need be (`1.5G`), and
//! a unit: `K`/`M`/`G`/`T` and `KiB`…`TiB` are powers of 1024 (as `df -h`
//! counts), `kB`/`MB`/`GB`/`TB` powers of 1000 (as the engines print), a
//! bare number is bytes. Reports print binary units with the `i`
//! so no one has to guess.

/// Parses `20G`, `512MiB`, `1.5GB`, `1048576`.
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(format!(
            "invalid size {text:?}: expected a number with an optional unit, e.g. 20G"
        ));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {text:?}: {num:?} is not a number"))?;
    let factor: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {unit:?} (use K, M, G, T, KiB…TiB or kB…TB)"
            ));
        }
    };
    let bytes = (value * factor).round();
    if !bytes.is_finite() || !(0.0..=1.8e19).contains(&bytes) {
        return Err(format!("invalid size {text:?}: out of range"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes as u64)
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn format(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("1048576").unwrap(), 1_048_576);
        assert_eq!(parse("20G").unwrap(), 20 << 30);
        assert_eq!(parse("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse("1.5GB").unwrap(), 1_500_000_000);
        assert_eq!(parse("2 kB").unwrap(), 2000);
        for bad in ["", "G", "12X", "1.2.3G", "-1G"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format(512), "512 B");
        assert_eq!(format(1536), "1.5 KiB");
        assert_eq!(format(20 << 30), "20.0 GiB");
    }
}
