//! What input may cost (SPEC §4.5), in one place: the bounds the loader enforces, and
//! the arithmetic on durations that can never overflow at run time.

use std::time::Duration;

/// The longest duration a runbook may write: 366 days.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The most bytes one variable's expansion may grow to.
pub const MAX_EXPANSION: usize = 1024 * 1024;

/// The longest chain of variables referring to variables.
pub const MAX_DEPTH: usize = 64;

/// Far enough to mean "never" for any deadline, yet addable to any `Instant` without
/// overflow (100 years).
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `d`, capped so that `Instant::now() + capped(d)` and sums of a few of them never
/// overflow: durations are validated to [`MAX_DURATION`], but arithmetic at run time
/// must not panic even on a value that slipped past (a template substituted late).
pub fn capped(d: Duration) -> Duration {
    d.min(FAR)
}

/// `a + b`, saturating instead of panicking.
pub fn sum(a: Duration, b: Duration) -> Duration {
    a.saturating_add(b)
}

/// Why `d` is too long for a runbook, if it is.
pub fn check_duration(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        Err(format!(
            "{} is longer than the 366 days a runbook may wait",
            humantime::format_duration(d)
        ))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn huge_durations_never_overflow_and_are_refused() {
        let huge = Duration::MAX;
        let _ = Instant::now() + capped(huge) + capped(huge);
        assert_eq!(sum(huge, huge), Duration::MAX);
        assert!(check_duration(huge).unwrap_err().contains("366 days"));
        assert!(check_duration(MAX_DURATION).is_ok());
        assert!(check_duration(MAX_DURATION + Duration::from_secs(1)).is_err());
    }
}
