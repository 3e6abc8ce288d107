//! `promote` with `flags`: several variables in one change, values that are not
//! numbers, `{{percent}}` inside them; checked against the simulators.

use crate::fakes;
use crate::support::Bench;

const FLY_FLAGS: &str = r#"
adapter = "fly"
target  = "web"

[[steps]]
kind    = "promote"
label   = "beta"
percent = 10

[steps.flags]
ROLLOUT_STAGE  = "beta"
CANARY_PERCENT = "{{percent}}"
"#;

#[test]
fn fly_flags_are_one_secrets_set_and_one_release() {
    let bench = Bench::new();
    bench.runbook("flags", FLY_FLAGS);
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    bench.run(&["promote", "flags"]).status(0);
    let sets: Vec<String> = bench
        .calls()
        .into_iter()
        .filter(|c| c.contains("[secrets]"))
        .collect();
    assert_eq!(
        sets,
        ["fly [secrets] [set] [ROLLOUT_STAGE=beta] [CANARY_PERCENT=10] [--app] [web]"]
    );
    assert_eq!(
        fakes::fly_secret(&bench, "web", "ROLLOUT_STAGE").as_deref(),
        Some("beta")
    );
    assert_eq!(
        fakes::fly_secret(&bench, "web", "CANARY_PERCENT").as_deref(),
        Some("10")
    );
    // The flags change is one release of its own, carrying the image already running.
    assert_eq!(
        fakes::fly_releases(&bench, "web"),
        ["1 complete reg/web:1", "2 complete reg/web:1"]
    );
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    // The label names the step.
    assert!(bench.log().contains("promote beta"), "{}", bench.log());
}

#[test]
fn kubectl_flags_are_one_set_env_without_a_percent() {
    let bench = Bench::new();
    bench.runbook(
        "flags",
        "adapter = \"kubectl\"\ntarget = \"web\"\n[[steps]]\nkind = \"promote\"\n\
         [steps.flags]\nSTAGE = \"beta\"\nNEW_CHECKOUT = \"on\"\n",
    );
    fakes::kubectl(&bench);
    bench.run(&["promote", "flags"]).status(0);
    let (revision, image, env) = fakes::kubectl_serves(&bench, "deployment/web");
    assert_eq!(
        (revision, image.as_str(), env),
        (
            2,
            "reg/web:1",
            serde_json::json!({ "STAGE": "beta", "NEW_CHECKOUT": "on" })
        )
    );
    let set_env = bench
        .calls()
        .iter()
        .filter(|c| c.contains("[set] [env]"))
        .count();
    assert_eq!(set_env, 1);
}

#[test]
fn a_flag_name_that_is_not_an_environment_name_is_a_validation_error() {
    let bench = Bench::new();
    bench.runbook(
        "bad",
        "adapter = \"fly\"\ntarget = \"web\"\n[[steps]]\nkind = \"promote\"\n\
         [steps.flags]\n\"NEW-CHECKOUT\" = \"on\"\n",
    );
    bench
        .run(&["validate", "bad"])
        .status(2)
        .stderr_has("runbooks/bad.toml:6:1")
        .stderr_has("`NEW-CHECKOUT` is not a valid environment variable name");
}

#[test]
fn a_dropin_dir_systemd_would_not_read_is_a_validation_error() {
    let bench = Bench::new();
    bench.runbook(
        "bad",
        "adapter = \"systemctl\"\ntarget = \"web\"\n[adapters.systemctl]\n\
         dropin_dir = \"/tmp/dropins\"\n[[steps]]\nkind = \"promote\"\npercent = 5\nflag = \"F\"\n",
    );
    bench
        .run(&["validate", "bad"])
        .status(2)
        .stderr_has("runbooks/bad.toml:4:14")
        .stderr_has("systemd would not read drop-ins from `/tmp/dropins`");
}
