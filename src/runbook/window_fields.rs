//! The fields of `window` steps: `days`, `from`, `to`, `tz` and `freeze`. Unknown
//! weekdays and time zones are errors, with a suggestion.

use chrono::{NaiveDate, NaiveTime, Weekday};
use toml::de::DeValue;

use crate::plan::WindowSpec;

use super::build::Build;
use super::suggest;
use super::table::{Str, Table, article};

pub(crate) const FIELDS: &[&str] = &["days", "from", "to", "tz", "freeze"];

const DAYS: &[(&str, Weekday)] = &[
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

pub(crate) fn parse(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<WindowSpec> {
    let tz = tz(t, b);
    let days = strings(t, "days", b).and_then(|items| {
        let mut out = Vec::new();
        for s in items {
            match weekday(s.text) {
                Some(day) if !out.contains(&day) => out.push(day),
                Some(_) => {}
                None => {
                    let names = DAYS.iter().map(|(n, _)| *n);
                    b.diagnostics.push(
                        t.error(s.span.clone(), format!("`{}` is not a weekday", s.text))
                            .with_help(
                                suggest::did_you_mean(&s.text.to_ascii_lowercase(), names).or_else(
                                    || Some("write mon, tue, wed, thu, fri, sat or sun".into()),
                                ),
                            ),
                    );
                    return None;
                }
            }
        }
        out.sort_by_key(|d| d.num_days_from_monday());
        Some(out)
    });
    let from = time(t, "from", b);
    let to = time(t, "to", b);
    let freeze = strings(t, "freeze", b).and_then(|items| {
        let mut out = Vec::new();
        for s in items {
            out.push(freeze_range(t, &s, b)?);
        }
        Some(out)
    });
    let (days, from, to) = (days?, from?, to?);
    if let (Some(Some(from)), Some(Some(to))) = (from, to)
        && to <= from
    {
        let span = t.get("to").map(|v| v.span()).unwrap_or(t.span());
        b.diagnostics.push(
            t.error(
                span,
                format!(
                    "`to` ({}) must be later than `from` ({})",
                    to.format("%H:%M"),
                    from.format("%H:%M")
                ),
            )
            .with_help(Some(
                "a window that crosses midnight is not supported: end it at \"24:00\"".into(),
            )),
        );
        return None;
    }
    Some(WindowSpec {
        days,
        from: from.flatten().unwrap_or(NaiveTime::MIN),
        to: to.flatten(),
        tz: tz?,
        freeze: freeze?,
    })
}

fn weekday(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(short, day)| lower == *short || lower == day_name(*day))
        .map(|(_, day)| *day)
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

fn tz(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<chrono_tz::Tz> {
    let s = t.required_string("tz", "\"America/Chicago\"", &mut b.diagnostics)?;
    if let Ok(tz) = s.text.trim().parse::<chrono_tz::Tz>() {
        return Some(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    b.diagnostics.push(
        t.error(
            s.span.clone(),
            format!("`{}` is not an IANA time zone", s.text),
        )
        .with_help(suggest::did_you_mean(s.text, names).or_else(|| {
            Some("use a name like \"America/Chicago\", \"Europe/Berlin\" or \"UTC\"".into())
        })),
    );
    None
}

/// `Some(None)` when absent; `"24:00"` is the end of the day (`Some(Some(None))` is
/// folded into `None` for `to`).
fn time(t: &Table<'_, '_>, key: &str, b: &mut Build<'_>) -> Option<Option<Option<NaiveTime>>> {
    let Some(s) = t.string(key, &mut b.diagnostics) else {
        return (!t.contains(key)).then_some(None);
    };
    let text = s.text.trim();
    if text == "24:00" && key == "to" {
        return Some(Some(None));
    }
    match NaiveTime::parse_from_str(text, "%H:%M") {
        Ok(time) => Some(Some(Some(time))),
        Err(_) => {
            b.diagnostics.push(t.error(
                s.span.clone(),
                format!(
                    "`{key}` must be a time of day like \"10:00\" (24-hour HH:MM), not `{}`",
                    s.text
                ),
            ));
            None
        }
    }
}

/// `"2026-12-20..2027-01-03"`, or one day `"2026-12-25"`.
fn freeze_range(
    t: &Table<'_, '_>,
    s: &Str<'_>,
    b: &mut Build<'_>,
) -> Option<(NaiveDate, NaiveDate)> {
    let (a, z) = s.text.split_once("..").unwrap_or((s.text, s.text));
    let date = |x: &str| NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d").ok();
    match (date(a), date(z)) {
        (Some(a), Some(z)) if a <= z => Some((a, z)),
        (Some(_), Some(_)) => {
            b.diagnostics.push(t.error(
                s.span.clone(),
                format!("the freeze `{}` ends before it starts", s.text),
            ));
            None
        }
        _ => {
            b.diagnostics.push(t.error(
                s.span.clone(),
                format!("a freeze must be \"YYYY-MM-DD..YYYY-MM-DD\" (or one day \"YYYY-MM-DD\"), not `{}`", s.text),
            ));
            None
        }
    }
}

/// A list of strings; an empty list when absent.
fn strings<'a>(t: &Table<'a, '_>, key: &str, b: &mut Build<'_>) -> Option<Vec<Str<'a>>> {
    let Some(value) = t.get(key) else {
        return Some(Vec::new());
    };
    let DeValue::Array(items) = value.get_ref() else {
        b.diagnostics
            .push(t.wrong_type(key, value, "a list of strings"));
        return None;
    };
    let mut out = Vec::new();
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(text) => out.push(Str {
                text: text.as_ref(),
                span: item.span(),
            }),
            other => {
                b.diagnostics.push(t.error(
                    item.span(),
                    format!(
                        "`{key}` items must be strings, not {}",
                        article(other.type_str())
                    ),
                ));
                return None;
            }
        }
    }
    Some(out)
}
