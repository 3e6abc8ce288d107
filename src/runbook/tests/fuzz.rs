//! Property tests (issue 11's fuzzing) over the loader and validator, the template
//! engine and substitution: no panic on any input, bounded, and a value never changes
//! the number of arguments. `PROPTEST_CASES` sets how many cases run (RELIABILITY.md).

use proptest::prelude::*;

use super::super::template;
use super::*;

const KINDS: &[&str] = &[
    "run", "smoke", "soak", "pause", "log", "auth", "deploy", "rollback", "restart", "scale",
    "promote", "health", "metrics", "window", "approval", "git", "notify", "nope",
];
const KEYS: &[&str] = &[
    "name",
    "cmd",
    "duration",
    "timeout",
    "retries",
    "retry_delay",
    "percent",
    "count",
    "url",
    "within",
    "interval",
    "message",
    "reason",
    "days",
    "tz",
    "from",
    "to",
    "flag",
    "confirm",
    "continue_on_error",
    "expect_exit",
    "expect_output",
    "shell",
    "env",
];

/// A TOML value that is often right and often wrong in interesting ways.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,25}",
        "-[0-9]{1,5}",
        Just("\"18446744073709551615s\"".to_string()),
        Just("\"367days\"".to_string()),
        "\"[0-9]{1,4}(ms|s|m|h|days)\"",
        "\"[a-z {}.]{0,30}\"",
        "\"\\{\\{ ?[a-z.]{0,8} ?\\}\\}[a-z ]{0,5}\"",
        Just("true".to_string()),
        Just("[\"mon\", \"xyz\"]".to_string()),
        Just("{ A = \"{{secret.S}}\" }".to_string()),
        "\"[\\PC]{0,20}\"",
    ]
}

/// A runbook built from sections, steps, keys and values in any combination.
fn runbook() -> impl Strategy<Value = String> {
    let step = (
        prop::sample::select(&["steps", "preflight", "rollback", "emergency"][..]),
        prop::sample::select(KINDS),
        prop::collection::vec((prop::sample::select(KEYS), value()), 0..5),
    )
        .prop_map(|(section, kind, fields)| {
            let mut s = format!("[[{section}]]\nkind = \"{kind}\"\n");
            let mut seen = std::collections::BTreeSet::new();
            for (k, v) in fields {
                if seen.insert(k) {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s
        });
    (
        prop::collection::vec(("[a-c]", value()), 0..4),
        prop::option::of(prop::sample::select(
            &["fly", "kubectl", "systemctl", "exec", "x"][..],
        )),
        prop::collection::vec(step, 0..6),
    )
        .prop_map(|(vars, adapter, steps)| {
            let mut s = String::from("target = \"app\"\n");
            if let Some(adapter) = adapter {
                s.push_str(&format!("adapter = \"{adapter}\"\n"));
            }
            s.push_str("[vars]\n");
            let mut seen = std::collections::BTreeSet::new();
            for (k, v) in vars {
                if seen.insert(k.clone()) {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s.push('\n');
            s.extend(steps);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_loads_or_is_rejected_without_panic(text in "[\\PC\\n\\[\\]{}=\"'.]{0,300}") {
        let _ = Fixture::new(&text).env("S", "x").check_as(Strictness::Run);
    }

    #[test]
    fn any_structured_runbook_loads_or_is_rejected_with_positions(text in runbook()) {
        if let Err(diagnostics) = Fixture::new(&text).env("S", "x").check_as(Strictness::Run) {
            prop_assert!(!diagnostics.is_empty());
            for d in diagnostics {
                prop_assert!(d.line > 0, "no position: {}", d);
            }
        }
    }

    #[test]
    fn templates_parse_or_fail_without_panic(text in "[\\PC{} '\"\\\\]{0,120}") {
        let _ = template::parse(&text);
        let _ = template::split_args(&text);
    }

    /// A value with spaces, quotes, `;` or braces stays inside its argument.
    #[test]
    fn substitution_never_changes_the_number_of_arguments(
        words in prop::collection::vec(
            prop_oneof!["[a-z]{1,6}", Just("{{v}}".to_string()), Just("x{{v}}y".to_string())],
            1..6,
        ),
        value in "[\\PC]{0,40}",
    ) {
        let cmd = words.join(" ");
        let expected = template::split_args(&cmd).expect("splits").len();
        let runbook = format!("[[steps]]\nkind = \"run\"\ncmd = '{cmd}'\n");
        let loaded = Fixture::new(&runbook).set("v", &value).ok();
        prop_assert_eq!(argv(&loaded.plan.steps[0].kind).len(), expected);
    }
}
