//! rollout's clock for windows, bakes and `status` (SPEC §4.3): now, or `ROLLOUT_NOW`
//! (an RFC 3339 time) for rehearsals and tests. Read here and nowhere else.

use chrono::{DateTime, Utc};

/// The testing and rehearsal hook.
pub const NOW_VAR: &str = "ROLLOUT_NOW";

/// Now, or the instant `ROLLOUT_NOW` names; an unreadable `ROLLOUT_NOW` is said so.
pub fn now() -> Result<DateTime<Utc>, String> {
    match std::env::var(NOW_VAR) {
        Ok(text) => DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{NOW_VAR}=`{text}` is not an RFC 3339 time ({e})")),
        Err(_) => Ok(Utc::now()),
    }
}

/// Now for displays, where a bad `ROLLOUT_NOW` falls back to the real clock.
pub fn now_or_real() -> DateTime<Utc> {
    now().unwrap_or_else(|_| Utc::now())
}

/// "1d 22h", "4m", "35s": a span in the two largest units a person needs.
pub fn span_in_words(span: chrono::Duration) -> String {
    // Rounded to the nearest second: 47h 59m 59.98s is "2d", not "1d 23h".
    let secs = ((span.num_milliseconds() + 500) / 1000).max(0);
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_two_units() {
        let w = |s: i64| span_in_words(chrono::Duration::seconds(s));
        assert_eq!(w(0), "0s");
        assert_eq!(w(35), "35s");
        assert_eq!(w(4 * 60 + 2), "4m 2s");
        assert_eq!(w(86_400 + 22 * 3600 + 59), "1d 22h");
        assert_eq!(w(2 * 86_400 + 30), "2d");
        assert_eq!(w(-5), "0s");
    }
}
