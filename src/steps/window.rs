//! `window`: passes only on the listed weekdays, between `from` and `to` in the
//! window's time zone, and outside every freeze. Outside, it says when the next window
//! opens. `--emergency` skips it. The clock is a parameter of [`check`], so the rule is
//! tested at any instant without waiting for Tuesday.

use chrono::{DateTime, Datelike, Duration as Span, NaiveDate, TimeZone, Utc};

use super::{Effect, StepEnv, StepError};
use crate::plan::WindowSpec;

/// How far ahead the next opening is looked for (a year of freezes is plenty).
const LOOKAHEAD_DAYS: i64 = 400;

pub fn execute(env: &StepEnv<'_>, spec: &WindowSpec) -> Result<Effect, StepError> {
    if env.flags.emergency {
        env.say("skipped: --emergency ignores deployment windows".to_string());
        return Ok(Effect::Continue);
    }
    let now = clock().map_err(|message| StepError::Failed {
        message,
        tail: Vec::new(),
    })?;
    match check(spec, now) {
        Ok(inside) => {
            env.say(inside);
            Ok(Effect::Continue)
        }
        Err(message) => Err(StepError::Failed {
            message,
            tail: Vec::new(),
        }),
    }
}

pub fn describe(spec: &WindowSpec) -> String {
    let mut text = format!("only {}", hours(spec));
    if !spec.freeze.is_empty() {
        let ranges: Vec<String> = spec
            .freeze
            .iter()
            .map(|(a, b)| format!("{a}..{b}"))
            .collect();
        text.push_str(&format!(", not during {}", ranges.join(", ")));
    }
    text
}

/// `Ok("inside the window: …")`, or why not and when the next window opens.
pub fn check(spec: &WindowSpec, now: DateTime<Utc>) -> Result<String, String> {
    let local = now.with_timezone(&spec.tz);
    let date = local.date_naive();
    let here = format!("it is {} in {}", local.format("%a %Y-%m-%d %H:%M"), spec.tz);
    let why = if let Some((a, b)) = frozen(spec, date) {
        format!("inside the freeze {a}..{b}")
    } else if !day_ok(spec, date)
        || local.time() < spec.from
        || spec.to.is_some_and(|to| local.time() >= to)
    {
        format!("outside the deployment window ({})", hours(spec))
    } else {
        return Ok(format!(
            "inside the deployment window ({}); {here}",
            hours(spec)
        ));
    };
    let next = match next_opening(spec, now) {
        Some(open) => {
            let wait = (open - local).num_minutes().max(1);
            format!(
                "the next window opens {} ({})",
                open.format("%a %Y-%m-%d %H:%M %Z"),
                in_words(wait)
            )
        }
        None => format!("no window opens in the next {LOOKAHEAD_DAYS} days"),
    };
    Err(format!("{why}: {here}; {next}"))
}

/// When the window next opens after `now`.
fn next_opening(spec: &WindowSpec, now: DateTime<Utc>) -> Option<DateTime<chrono_tz::Tz>> {
    let today = now.with_timezone(&spec.tz).date_naive();
    (0..=LOOKAHEAD_DAYS)
        .filter_map(|offset| today.checked_add_signed(Span::days(offset)))
        .filter(|date| day_ok(spec, *date) && frozen(spec, *date).is_none())
        .filter_map(|date| {
            let local = date.and_time(spec.from);
            // A start inside a DST gap opens at the first real instant after it.
            spec.tz.from_local_datetime(&local).earliest().or_else(|| {
                spec.tz
                    .from_local_datetime(&(local + Span::hours(1)))
                    .earliest()
            })
        })
        .find(|open| *open > now)
}

fn day_ok(spec: &WindowSpec, date: NaiveDate) -> bool {
    spec.days.is_empty() || spec.days.contains(&date.weekday())
}

fn frozen(spec: &WindowSpec, date: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    spec.freeze
        .iter()
        .copied()
        .find(|(a, b)| *a <= date && date <= *b)
}

/// "Tue, Wed, Thu 10:00–14:00 America/Chicago".
fn hours(spec: &WindowSpec) -> String {
    let days = if spec.days.is_empty() {
        "every day".to_string()
    } else {
        spec.days
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let to = spec
        .to
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_else(|| "24:00".to_string());
    format!("{days} {}–{to} {}", spec.from.format("%H:%M"), spec.tz)
}

/// "in 2d 3h 5m".
fn in_words(minutes: i64) -> String {
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}m"));
    }
    format!("in {}", parts.join(" "))
}

/// The time windows judge: now, or `ROLLOUT_NOW` when a test set it.
fn clock() -> Result<DateTime<Utc>, String> {
    crate::clock::now()
}

/// Whether the window is open at `now`.
pub fn is_open(spec: &WindowSpec, now: DateTime<Utc>) -> bool {
    check(spec, now).is_ok()
}

/// When the window next opens after `now` (UTC), if within the look-ahead.
pub fn next_open(spec: &WindowSpec, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_opening(spec, now).map(|t| t.with_timezone(&Utc))
}

/// "Tue 2026-12-08 10:00 America/Chicago, in 1d 22h": an opening, absolute in its time
/// zone and relative to `now` (SPEC §4.3).
pub fn opening_in_words(open: DateTime<Utc>, tz: &str, now: DateTime<Utc>) -> String {
    let local = match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => open
            .with_timezone(&zone)
            .format("%a %Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => open.format("%a %Y-%m-%d %H:%M UTC").to_string(),
    };
    let wait = (open - now).num_minutes().max(1);
    format!("{local} {tz}, {}", in_words(wait))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};

    fn spec() -> WindowSpec {
        WindowSpec {
            days: vec![Weekday::Tue, Weekday::Wed, Weekday::Thu],
            from: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            to: NaiveTime::from_hms_opt(14, 0, 0),
            tz: chrono_tz::America::Chicago,
            freeze: vec![(
                NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            )],
        }
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().into()
    }

    #[test]
    fn inside_the_hours_on_a_listed_day() {
        // Tue 2026-11-24 10:30 in Chicago (CST, UTC-6).
        let ok = check(&spec(), at("2026-11-24T16:30:00Z")).unwrap();
        assert!(
            ok.contains("it is Tue 2026-11-24 10:30 in America/Chicago"),
            "{ok}"
        );
    }

    #[test]
    fn outside_says_when_the_next_window_opens() {
        // Mon 09:12 Chicago: Tuesday 10:00 is next.
        let err = check(&spec(), at("2026-11-23T15:12:00Z")).unwrap_err();
        assert_eq!(
            err,
            "outside the deployment window (Tue, Wed, Thu 10:00–14:00 America/Chicago): \
             it is Mon 2026-11-23 09:12 in America/Chicago; \
             the next window opens Tue 2026-11-24 10:00 CST (in 1d 48m)"
        );
        // Tue 14:00 sharp is already closed.
        assert!(check(&spec(), at("2026-11-24T20:00:00Z")).is_err());
    }

    #[test]
    fn a_freeze_closes_the_window_and_is_skipped_when_looking_ahead() {
        // Wed 2026-11-25 11:00 Chicago is frozen; Thu too; next is Tue 2026-12-01.
        let err = check(&spec(), at("2026-11-25T17:00:00Z")).unwrap_err();
        assert!(
            err.starts_with("inside the freeze 2026-11-25..2026-11-27"),
            "{err}"
        );
        assert!(err.contains("opens Tue 2026-12-01 10:00 CST"), "{err}");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(in_words(1), "in 1m");
        assert_eq!(in_words(60), "in 1h");
        assert_eq!(in_words(1440 + 61), "in 1d 1h 1m");
    }
}
