//! Every rejection of SPEC §2: exit 2, naming the file and the line.

use crate::support::Bench;

/// Validates `toml` as runbook `bad` and checks exit 2, `runbooks/bad.toml:LINE:` and
/// the message.
#[track_caller]
fn rejects(toml: &str, line: usize, message: &str) {
    let bench = Bench::new();
    bench.runbook("bad", toml);
    let run = bench.run(&["validate", "bad"]);
    run.status(2)
        .stderr_has(&format!("runbooks/bad.toml:{line}:"))
        .stderr_has(message);
    // Every command that loads the runbook refuses it the same way.
    bench
        .run(&["promote", "bad"])
        .status(2)
        .stderr_has(&format!("runbooks/bad.toml:{line}:"));
}

#[test]
fn a_toml_syntax_error() {
    rejects("[[steps]]\nkind = \"run\nname = 1\n", 2, "invalid TOML");
}

#[test]
fn an_unknown_key_with_a_suggestion() {
    rejects(
        "[[steps]]\nkind = \"run\"\ncmd = \"true\"\ntiemout = \"5m\"\n",
        4,
        "did you mean `timeout`",
    );
}

#[test]
fn an_unknown_top_level_key() {
    rejects("descripton = \"x\"\n", 1, "did you mean `description`");
}

#[test]
fn an_unknown_kind_with_a_suggestion() {
    rejects(
        "[[steps]]\nkind = \"smok\"\ncmd = \"true\"\n",
        2,
        "did you mean `smoke`",
    );
}

#[test]
fn a_missing_kind() {
    rejects("[[steps]]\nname = \"x\"\n", 1, "kind");
}

#[test]
fn an_empty_command() {
    rejects("[[steps]]\nkind = \"run\"\ncmd = \"\"\n", 3, "empty");
}

#[test]
fn an_empty_command_array() {
    rejects("[[steps]]\nkind = \"run\"\ncmd = []\n", 3, "empty");
}

#[test]
fn a_zero_wait() {
    rejects(
        "[[steps]]\nkind = \"soak\"\nduration = \"0s\"\n",
        3,
        "duration",
    );
}

#[test]
fn a_duration_that_does_not_parse() {
    rejects(
        "[[steps]]\nkind = \"soak\"\nduration = \"ten minutes\"\n",
        3,
        "duration",
    );
}

#[test]
fn a_negative_retry_count() {
    rejects(
        "[[steps]]\nkind = \"run\"\ncmd = \"true\"\nretries = -1\n",
        4,
        "retries",
    );
}

#[test]
fn duplicate_step_names() {
    rejects(
        "[[steps]]\nkind = \"run\"\nname = \"a\"\ncmd = \"true\"\n[[rollback]]\nkind = \"run\"\nname = \"a\"\ncmd = \"true\"\n",
        7,
        "`a`",
    );
}

#[test]
fn an_unknown_variable() {
    rejects(
        "[[steps]]\nkind = \"run\"\ncmd = \"deploy {{imgae}}\"\n[vars]\nimage = \"x\"\n",
        3,
        "imgae",
    );
}

#[test]
fn variables_in_a_loop() {
    rejects("[vars]\na = \"{{b}}\"\nb = \"{{a}}\"\n", 2, "loop");
}

#[test]
fn an_unknown_adapter() {
    rejects("adapter = \"docker\"\n", 1, "docker");
}

#[test]
fn a_bad_regex() {
    rejects(
        "[[steps]]\nkind = \"run\"\ncmd = \"true\"\nexpect_output = \"(\"\n",
        4,
        "regex",
    );
}

#[test]
fn an_unbalanced_quote() {
    rejects(
        "[[steps]]\nkind = \"run\"\ncmd = \"echo 'oops\"\n",
        3,
        "quote",
    );
}

#[test]
fn a_section_as_a_single_table() {
    rejects("[steps]\nkind = \"run\"\n", 1, "[[steps]]");
}

#[test]
fn validate_lists_every_runbook_and_passes_good_ones() {
    let bench = Bench::new();
    bench
        .runbook("good", "[[steps]]\nkind = \"log\"\nmessage = \"hi\"\n")
        .runbook("bad", "[[steps]]\nkind = \"lgo\"\n");
    let run = bench.run(&["validate"]);
    run.status(2)
        .stdout_has("ok    runbooks/good.toml")
        .stdout_has("FAIL  bad");
    bench.run(&["validate", "good"]).status(0);
}

#[test]
fn a_corrupt_state_file_is_exit_2_and_left_untouched() {
    let bench = Bench::new();
    bench.runbook("app", "[[steps]]\nkind = \"log\"\nmessage = \"hi\"\n");
    bench.file(".rollout/state/app.json", "{ this is not json");
    for args in [
        vec!["promote", "app"],
        vec!["resume", "app"],
        vec!["status", "app"],
        vec!["rollback", "app"],
        vec!["promote", "app", "--dry-run"],
        vec!["resume", "app", "--dry-run"],
        vec!["rollback", "app", "--dry-run"],
    ] {
        bench
            .run(&args)
            .status(2)
            .stderr_has(".rollout/state/app.json");
    }
    assert_eq!(
        std::fs::read_to_string(bench.path(".rollout/state/app.json")).unwrap(),
        "{ this is not json"
    );
}

#[test]
fn a_percentage_outside_0_to_100() {
    rejects(
        "adapter = \"fly\"\ntarget = \"web\"\n[[steps]]\nkind = \"promote\"\npercent = 101\nflag = \"P\"\n",
        5,
        "between 0 and 100",
    );
}

#[test]
fn a_url_that_does_not_parse() {
    rejects(
        "[[steps]]\nkind = \"health\"\nurl = [\"http://127.0.0.1/ok\", \"not a url\"]\n",
        3,
        "not a URL",
    );
    rejects(
        "[[steps]]\nkind = \"notify\"\nmessage = \"x\"\nwebhook = \"hooks.example.com\"\n",
        4,
        "not a URL",
    );
}

#[test]
fn an_unknown_weekday() {
    rejects(
        "[[steps]]\nkind = \"window\"\ndays = [\"tue\", \"funday\"]\nfrom = \"10:00\"\nto = \"14:00\"\ntz = \"UTC\"\n",
        3,
        "`funday` is not a weekday",
    );
}

#[test]
fn an_unknown_time_zone() {
    rejects(
        "[[steps]]\nkind = \"window\"\ndays = [\"tue\"]\nfrom = \"10:00\"\nto = \"14:00\"\ntz = \"Mars/Olympus\"\n",
        6,
        "time zone",
    );
}

#[test]
fn a_negative_duration() {
    rejects(
        "[[steps]]\nkind = \"health\"\nurl = \"http://127.0.0.1/\"\nwithin = \"-5s\"\n",
        4,
        "within",
    );
}

/// 10,000 steps: every derived name unique, and a duplicate near the end reported at
/// its own line (what a line index and per-name suffix counters must keep right; how
/// long it takes is for bench/).
#[test]
fn a_runbook_of_ten_thousand_steps() {
    let bench = Bench::new();
    let mut toml = String::new();
    for _ in 0..10_000 {
        toml.push_str("[[steps]]\nkind = \"run\"\ncmd = \"true\"\n\n");
    }
    bench.runbook("big", &toml);
    bench
        .run(&["validate", "big"])
        .status(0)
        .stdout_has("(10000 steps)");
    let show = bench.run(&["show", "big", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&show.status(0).stdout()).expect("json");
    let last = &plan["steps"][9999];
    assert_eq!(last["name"], "run true #10000");
    assert_eq!(last["location"], "runbooks/big.toml:39997:1");

    toml.push_str("[[steps]]\nname = \"x\"\nkind = \"run\"\ncmd = \"true\"\n\n");
    toml.push_str("[[steps]]\nname = \"x\"\nkind = \"run\"\ncmd = \"true\"\n");
    bench.runbook("big", &toml);
    bench
        .run(&["validate", "big"])
        .status(2)
        .stderr_has("runbooks/big.toml:40007:8")
        .stderr_has("the step at line 40002 has it already");
}
