//! Times as the vault stores them: milliseconds since the Unix epoch (UTC).

use chrono::{DateTime, TimeZone, Utc};

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time; one out of chrono's range reads as the epoch.
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A length of time as people read it: `45s`, `3m 20s`, `2h 5m`, `3d 4h`.
pub fn span_text(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// A length of time as people write it: whole seconds (`3600`), or a
/// number with `s`, `m`, `h` or `d` (`90s`, `30m`, `12h`, `2d`). `None` for
/// anything else, a negative number, or more than a year.
pub fn parse_span(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    let seconds = n.checked_mul(match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    })?;
    (seconds <= 366 * 86_400).then(|| chrono::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_span;

    #[test]
    fn spans_read_as_people_write_them() {
        let s = |t: &str| parse_span(t).map(|d| d.num_seconds());
        assert_eq!(s("3600"), Some(3600));
        assert_eq!(s("0"), Some(0));
        assert_eq!(s("90s"), Some(90));
        assert_eq!(s("30m"), Some(1800));
        assert_eq!(s("12h"), Some(43_200));
        assert_eq!(s("2d"), Some(172_800));
        for bad in ["", "h", "-5", "1.5h", "3w", "1h30m", "99999d", "ten"] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }
}
