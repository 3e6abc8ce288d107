//! Secrets never reach stdout, stderr, the log or state; values stay one argument.

use crate::support::Bench;

const SECRET: &str = "s3cr3t-t0ken-value";

#[test]
fn a_secret_never_appears_in_output_log_or_state() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[vars]
auth = "Bearer {{secret.API_TOKEN}}"

[[steps]]
kind = "run"
name = "deploy"
cmd  = ["deployer", "deploy", "--token", "{{secret.API_TOKEN}}", "--header", "{{auth}}"]
env  = { TOKEN = "{{secret.API_TOKEN}}" }

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "deployer smoke {{secret.API_TOKEN}}"

[[steps]]
kind = "log"
message = "deployed with {{auth}}"
"#,
    );
    // The fake echoes its argv, as careless tools do, and then fails.
    bench.tell(
        "deployer",
        "smoke",
        "out",
        &format!("using token {SECRET}\n"),
    );
    bench.tell("deployer", "smoke", "exit", "1");
    let env = [("API_TOKEN", SECRET)];

    let mut outputs = Vec::new();
    for args in [
        vec!["show", "app"],
        vec!["promote", "app", "--dry-run"],
        vec!["promote", "app", "--verbose"],
        vec!["status", "app", "--json"],
        vec!["log", "--json"],
    ] {
        let run = bench.run_with(&args, &env);
        outputs.push(run.stdout());
        outputs.push(run.stderr());
    }
    let run = bench.run_with(&["rollback", "app", "--json"], &env);
    outputs.push(run.stdout());
    outputs.push(run.stderr());

    // The real value did reach the child process...
    assert!(bench.calls()[0].contains(SECRET), "{:?}", bench.calls());
    // ...and nowhere else.
    for text in &outputs {
        assert!(!text.contains(SECRET), "secret leaked into output:\n{text}");
    }
    assert!(
        outputs.iter().any(|o| o.contains("***")),
        "masked form shown"
    );
    assert!(!bench.log().contains(SECRET), "{}", bench.log());
    assert!(
        bench.log().contains("using token ***"),
        "smoke tail masked: {}",
        bench.log()
    );
    let state = std::fs::read_to_string(bench.path(".rollout/state/app.json")).unwrap();
    assert!(!state.contains(SECRET), "{state}");
}

#[test]
fn a_missing_secret_is_an_error_naming_it_before_any_step_runs() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer deploy {{secret.API_TOKEN}}"
"#,
    );
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has("API_TOKEN");
    assert!(bench.calls().is_empty());
}

#[test]
fn a_set_value_with_spaces_and_semicolons_stays_one_argument() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer say {{msg}}"
"#,
    );
    bench
        .run(&[
            "promote",
            "app",
            "--set",
            "msg=hello world; rm -rf / && echo $HOME",
        ])
        .status(0);
    assert_eq!(
        bench.calls(),
        vec!["deployer [say] [hello world; rm -rf / && echo $HOME]"]
    );
}
