//! The fields of health, soak's watch, metrics, window, approval, git and notify:
//! defaults, and each rejection at its place.

use std::time::Duration;

use super::Fixture;
use crate::plan::{ExpectStatus, NoData, StepKind};
use crate::runbook::Strictness;

fn first(f: &Fixture) -> StepKind {
    f.ok().plan.steps[0].kind.clone()
}

#[test]
fn health_has_the_documented_defaults() {
    let f =
        Fixture::new("[[steps]]\nkind = \"health\"\nurl = \"https://app.example.com/health\"\n");
    let plan = f.ok().plan;
    let step = &plan.steps[0];
    assert_eq!(step.name, "health https://app.example.com/health");
    assert_eq!(step.timeout, Duration::from_secs(120));
    let StepKind::Health(spec) = &step.kind else {
        panic!("{:?}", step.kind)
    };
    assert_eq!(spec.successes, 3);
    assert_eq!(spec.interval, Duration::from_secs(5));
    let probe = &spec.probes[0];
    assert_eq!(
        (probe.method.as_str(), probe.request_timeout),
        ("GET", Duration::from_secs(5))
    );
    assert_eq!(probe.expect_status, ExpectStatus::Success);
}

#[test]
fn expect_body_matches_template_values_literally() {
    let f = Fixture::new(
        "[vars]\nversion = \"1.4.2\"\n[[steps]]\nkind = \"health\"\nurl = \"http://a/h\"\nexpect_body = '\"v\": \"{{version}}\"'\n",
    );
    let StepKind::Health(spec) = first(&f) else {
        panic!()
    };
    let re = spec.probes[0].expect_body.clone().unwrap();
    assert_eq!(re.as_str(), "\"v\": \"1\\.4\\.2\"");
    assert!(re.is_match("{\"v\": \"1.4.2\"}"));
    assert!(!re.is_match("{\"v\": \"1x4x2\"}"));
}

#[test]
fn urls_that_do_not_parse_are_errors_at_the_value() {
    let d = Fixture::new("[[steps]]\nkind = \"health\"\nurl = [\"http://a/h\", \"app/health\"]\n")
        .error();
    assert_eq!((d.line, d.col), (3, 22));
    assert!(
        d.message
            .starts_with("`url` is not a URL rollout can use: `app/health`"),
        "{}",
        d.message
    );
    let d =
        Fixture::new("[[steps]]\nkind = \"notify\"\nwebhook = \"ftp://x/y\"\nmessage = \"m\"\n")
            .error();
    assert!(
        d.message.contains("`ftp:` is not http or https"),
        "{}",
        d.message
    );
}

#[test]
fn a_webhook_from_an_unset_secret_still_validates_for_show() {
    let f = Fixture::new(
        "[[steps]]\nkind = \"notify\"\nwebhook = \"{{secret.HOOK}}\"\nmessage = \"m\"\n",
    );
    let loaded = f.check_as(Strictness::Describe).expect("valid for show");
    let step = &loaded.plan.steps[0];
    assert!(step.continue_on_error, "notify fails softly by default");
    assert!(crate::steps::describe(step).starts_with("POST *** "));
}

#[test]
fn statuses_counts_and_methods_are_checked() {
    let base = "[[steps]]\nkind = \"health\"\nurl = \"http://a/h\"\n";
    let d = Fixture::new(&format!("{base}expect_status = [200, 700]\n")).error();
    assert_eq!(
        d.message,
        "`expect_status` must be an HTTP status (100 to 599) or a list of them"
    );
    let d = Fixture::new(&format!("{base}successes = 0\n")).error();
    assert_eq!(d.message, "`successes` must be 1 or more, not 0");
    let d = Fixture::new(&format!("{base}method = \"FETCH\"\n")).error();
    assert!(
        d.message.starts_with("`method` must be one of GET"),
        "{}",
        d.message
    );
    let d = Fixture::new(&format!("{base}expect_body = \"(\"\n")).error();
    assert!(
        d.message.starts_with("`expect_body` is not a valid regex"),
        "{}",
        d.message
    );
}

#[test]
fn a_watch_is_a_table_with_known_keys() {
    let d = Fixture::new(
        "[[steps]]\nkind = \"soak\"\nduration = \"5m\"\nwatch = { url = \"http://a/h\", intervl = \"5s\" }\n",
    )
    .error();
    assert_eq!(d.help.as_deref(), Some("did you mean `interval`?"));
    let f = Fixture::new(
        "[[steps]]\nkind = \"soak\"\nduration = \"5m\"\nwatch = { url = \"http://a/h\" }\n",
    );
    let StepKind::Soak { watches, .. } = first(&f) else {
        panic!()
    };
    let w = &watches[0];
    assert_eq!((w.failures, w.interval), (3, Duration::from_secs(15)));
}

#[test]
fn metrics_need_a_bound_and_a_failure_limit_below_count() {
    let base = "[[steps]]\nkind = \"metrics\"\nprometheus = \"http://prom:9090\"\nquery = \"up\"\n";
    let d = Fixture::new(base).error();
    assert!(
        d.message.contains("has neither `max` nor `min`"),
        "{}",
        d.message
    );
    let d = Fixture::new(&format!("{base}max = 1\nmin = 2\n")).error();
    assert!(
        d.message.contains("`min` (2) is above `max` (1)"),
        "{}",
        d.message
    );
    let d = Fixture::new(&format!("{base}max = 1\ncount = 2\nfailure_limit = 2\n")).error();
    assert!(
        d.message.contains("must be less than `count` (2)"),
        "{}",
        d.message
    );
    let f = Fixture::new(&format!("{base}max = 0.01\ncount = 10\n"));
    let plan = f.ok().plan;
    assert_eq!(plan.steps[0].timeout, Duration::from_secs(9 * 60 + 60));
}

#[test]
fn metrics_take_headers_and_no_data() {
    let base = "[[steps]]\nkind = \"metrics\"\nprometheus = \"http://prom:9090\"\nquery = \"up\"\nmax = 1\n";
    let StepKind::Metrics(spec) = first(&Fixture::new(base)) else {
        panic!()
    };
    assert_eq!(spec.check.no_data, NoData::Fail);
    assert!(spec.check.headers.is_empty());
    let f = Fixture::new(&format!(
        "{base}no_data = \"pass\"\nheaders = {{ Authorization = \"Bearer t0k\" }}\n"
    ));
    let StepKind::Metrics(spec) = first(&f) else {
        panic!()
    };
    assert_eq!(spec.check.no_data, NoData::Pass);
    assert_eq!(spec.check.headers[0].0, "Authorization");
    assert_eq!(spec.check.headers[0].1.value(), "Bearer t0k");
    let d = Fixture::new(&format!("{base}no_data = \"skip\"\n")).error();
    assert!(
        d.message
            .contains("`no_data` must be \"fail\" or \"pass\", not \"skip\""),
        "{}",
        d.message
    );
    let d = Fixture::new(&format!("{base}no_data = true\n")).error();
    assert!(d.message.contains("no_data"), "{}", d.message);
    let d = Fixture::new(&format!("{base}headers = {{ \"Bad Name\" = \"x\" }}\n")).error();
    assert!(
        d.message.contains("not a valid HTTP header name"),
        "{}",
        d.message
    );
}

#[test]
fn windows_reject_unknown_weekdays_zones_and_bad_ranges() {
    let base = "[[steps]]\nkind = \"window\"\n";
    let d = Fixture::new(&format!(
        "{base}days = [\"tue\", \"thurs\"]\ntz = \"UTC\"\n"
    ))
    .error();
    assert_eq!((d.line, d.col), (3, 16));
    assert_eq!(d.message, "`thurs` is not a weekday");
    assert_eq!(d.help.as_deref(), Some("did you mean `thu`?"));
    let d = Fixture::new(&format!("{base}tz = \"America/Chicgo\"\n")).error();
    assert_eq!(d.message, "`America/Chicgo` is not an IANA time zone");
    assert_eq!(d.help.as_deref(), Some("did you mean `America/Chicago`?"));
    let d = Fixture::new(&format!(
        "{base}tz = \"UTC\"\nfrom = \"14:00\"\nto = \"10:00\"\n"
    ))
    .error();
    assert_eq!(d.message, "`to` (10:00) must be later than `from` (14:00)");
    let d = Fixture::new(&format!(
        "{base}tz = \"UTC\"\nfreeze = [\"2026-12-20..2026-12-01\"]\n"
    ))
    .error();
    assert_eq!(
        d.message,
        "the freeze `2026-12-20..2026-12-01` ends before it starts"
    );
    let d = Fixture::new(&format!("{base}tz = \"UTC\"\nfrom = \"9am\"\n")).error();
    assert!(d.message.contains("like \"10:00\""), "{}", d.message);
    let d = Fixture::new(&format!("{base}days = [\"mon\"]\n")).error();
    assert!(d.message.contains("has no `tz`"), "{}", d.message);
}

#[test]
fn git_must_check_something_and_approval_takes_a_hint() {
    let d = Fixture::new("[[steps]]\nkind = \"git\"\n").error();
    assert!(d.message.contains("checks nothing"), "{}", d.message);
    let f = Fixture::new("[[steps]]\nkind = \"approval\"\nfrom = \"release managers\"\n");
    let StepKind::Approval { from, .. } = first(&f) else {
        panic!()
    };
    assert_eq!(from.unwrap().shown(), "release managers");
}
