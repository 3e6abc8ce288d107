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
    let files = bench.state_files();
    assert!(!files.is_empty());
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET), "{}: {text}", path.display());
    }
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

/// Every step kind that can carry a secret — platform targets, images, flags, `to`,
/// health URLs and headers, soak watches, Prometheus queries, webhooks and their
/// messages — shows it as `***` in `show`, dry runs, live output, JSON events, the log,
/// state and `status`, while the real value reaches the platform and the server.
#[test]
fn a_secret_in_any_step_kind_stays_masked_everywhere() {
    use crate::fakes;
    use crate::http::{Reply, TestServer};

    let server = TestServer::start(|seen, _| {
        if seen.url.contains("/api/v1/query") {
            Reply::ok(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0"]}]}}"#,
            )
        } else {
            Reply::ok("ok")
        }
    });
    let bench = Bench::new();
    fakes::fly(&bench, &["1 complete reg/app:1"]);
    bench.fake("checker").tell("checker", "fail", "exit", "1");
    bench.runbook(
        "app",
        &format!(
            r#"
adapter = "fly"
target  = "app-{{{{secret.TOKEN}}}}"

[[preflight]]
kind = "auth"

[[steps]]
kind  = "deploy"
image = "reg/app:{{{{secret.TOKEN}}}}"

[[steps]]
kind    = "promote"
percent = 5
flag    = "P_{{{{secret.TOKEN}}}}"

[[steps]]
kind    = "notify"
webhook = "{url}/hook/{{{{secret.TOKEN}}}}"
message = "shipped with {{{{secret.TOKEN}}}}"

[[steps]]
kind       = "metrics"
prometheus = "{url}/{{{{secret.TOKEN}}}}"
query      = "up{{k=\"{{{{secret.TOKEN}}}}\"}}"
max        = 1

[[steps]]
kind     = "soak"
duration = "300ms"
watch    = {{ url = "{url}/watch?t={{{{secret.TOKEN}}}}", interval = "100ms" }}

[[steps]]
kind      = "health"
url       = "{url}/health?t={{{{secret.TOKEN}}}}"
headers   = {{ Authorization = "Bearer {{{{secret.TOKEN}}}}" }}
successes = 1

[[steps]]
kind = "run"
name = "fails"
cmd  = "checker fail"

[[rollback]]
kind = "rollback"
to   = "reg/app:{{{{secret.TOKEN}}}}-good"
"#,
            url = server.url("")
        ),
    );
    let env = [("TOKEN", SECRET)];
    let mut outputs = Vec::new();
    let mut record = |run: crate::support::Run| {
        outputs.push(run.stdout());
        outputs.push(run.stderr());
        run
    };
    for args in [
        vec!["show", "app"],
        vec!["show", "app", "--json"],
        vec!["promote", "app", "--dry-run"],
        vec!["promote", "app", "--dry-run", "--json"],
        vec!["rollback", "app", "--emergency", "--dry-run", "--json"],
    ] {
        record(bench.run_with(&args, &env)).status(0);
    }
    // The run fails at the end and rolls back to the secret `to`.
    record(bench.run_with(&["promote", "app", "--verbose"], &env)).status(1);
    for args in [
        vec!["status", "app"],
        vec!["status", "app", "--json"],
        vec!["list", "--json"],
        vec!["log", "--json"],
    ] {
        record(bench.run_with(&args, &env)).status(0);
    }
    record(bench.run_with(&["rollback", "app", "--json"], &env)).status(0);

    // The real value reached the platform CLI and the server...
    let calls = bench.calls().join("\n");
    assert!(
        calls.contains(&format!("[--app] [app-{SECRET}]")),
        "{calls}"
    );
    assert!(
        calls.contains(&format!("[reg/app:{SECRET}-good]")),
        "{calls}"
    );
    let requests = server.requests();
    for path in ["/hook/", "/watch?t=", "/health?t=", "/api/v1/query"] {
        assert!(
            requests
                .iter()
                .any(|r| r.url.contains(path) && r.url.contains(SECRET)),
            "{path}: {requests:?}"
        );
    }
    assert!(requests.iter().any(|r| r.body.contains(SECRET)));
    // ...and nowhere else.
    for text in &outputs {
        assert!(!text.contains(SECRET), "secret leaked into output:\n{text}");
    }
    assert!(outputs.iter().any(|o| o.contains("reg/app:***-good")));
    assert!(!bench.log().contains(SECRET), "{}", bench.log());
    let files = bench.state_files();
    assert!(!files.is_empty());
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET), "{}: {text}", path.display());
    }
}
