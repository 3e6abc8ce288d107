//! Loading whole runbooks through the public door: every rule, with its position.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::plan::{CommandLine, CommandSpec, StepKind};
use crate::project::Project;

use super::*;

/// A temp project with one runbook `rb` (and optionally rollout.toml).
struct Fixture {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    sets: Vec<(String, String)>,
}

impl Fixture {
    fn new(runbook: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("runbooks")).expect("mkdir");
        std::fs::write(dir.path().join("runbooks/rb.toml"), runbook).expect("write");
        Fixture {
            dir,
            env: HashMap::new(),
            sets: Vec::new(),
        }
    }

    fn settings(self, text: &str) -> Self {
        std::fs::write(self.dir.path().join("rollout.toml"), text).expect("write");
        self
    }

    fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    fn set(mut self, k: &str, v: &str) -> Self {
        self.sets.push((k.into(), v.into()));
        self
    }

    fn project(&self) -> Project {
        Project::discover_from(Some(self.dir.path()), Path::new("/"), None).expect("project")
    }

    fn context(&self, strictness: Strictness) -> Context<'_> {
        Context {
            sets: &self.sets,
            run_id: "r-1",
            user: "alice",
            host: "ops-1",
            strictness,
        }
    }

    fn check_as(&self, strictness: Strictness) -> Result<Loaded, Vec<Diagnostic>> {
        let env = |k: &str| self.env.get(k).cloned();
        check_with_env(&self.project(), "rb", &self.context(strictness), &env)
    }

    fn ok(&self) -> Loaded {
        match self.check_as(Strictness::Run) {
            Ok(loaded) => loaded,
            Err(d) => panic!("expected a valid runbook:\n{}", render_all(&d)),
        }
    }

    fn errors(&self) -> Vec<Diagnostic> {
        match self.check_as(Strictness::Run) {
            Ok(_) => panic!("expected diagnostics"),
            Err(d) => d,
        }
    }

    fn error(&self) -> Diagnostic {
        let d = self.errors();
        assert_eq!(d.len(), 1, "{}", render_all(&d));
        d.into_iter().next().expect("one")
    }
}

fn spec(kind: &StepKind) -> &CommandSpec {
    match kind {
        StepKind::Run(s) | StepKind::Smoke(s) => s,
        other => panic!("not a command: {other:?}"),
    }
}

fn argv(kind: &StepKind) -> Vec<String> {
    spec(kind).argv()
}

const FULL: &str = r#"description = "demo"
adapter = "exec"
target = "app"

[vars]
staging = "{{target}}-staging"

[[preflight]]
kind = "run"
cmd = "cargo test --quiet"

[[steps]]
kind = "smoke"
name = "smoke staging"
cmd = ["curl", "-fsS", "https://{{staging}}.example/health"]
expect_exit = [0, 22]
expect_output = "ok|healthy"
env = { REGION = "{{ runbook }}-{{user}}" }
cwd = "sub"
retries = 2
retry_delay = "1s"
timeout = "90s"
confirm = true

[[steps]]
kind = "soak"
duration = "1h 30m"

[[steps]]
kind = "pause"
reason = "approval for {{target}}"

[[rollback]]
kind = "log"
message = "rolled back {{staging}} on {{host}}"
continue_on_error = true
"#;

#[test]
fn a_full_runbook_loads_with_defaults_and_derived_names() {
    let f = Fixture::new(FULL);
    let loaded = f.ok();
    let plan = &loaded.plan;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(plan.description.as_deref(), Some("demo"));
    assert_eq!(plan.target.as_ref().map(|t| t.value()), Some("app"));
    assert!(plan.auto_rollback);
    assert_eq!(plan.vars["staging"].value(), "app-staging");

    let pre = &plan.preflight[0];
    assert_eq!(pre.name, "run cargo test --quiet");
    assert_eq!(pre.timeout, Duration::from_secs(600));
    assert_eq!(pre.retry_delay, Duration::from_secs(5));
    assert_eq!(
        (pre.retries, pre.confirm, pre.continue_on_error),
        (0, false, false)
    );
    assert_eq!(pre.adapter.as_deref(), Some("exec"));
    assert_eq!(pre.location, "runbooks/rb.toml:8:1");
    assert_eq!(spec(&pre.kind).cwd, f.dir.path());

    let smoke = &plan.steps[0];
    assert_eq!(smoke.name, "smoke staging");
    assert_eq!(argv(&smoke.kind)[2], "https://app-staging.example/health");
    let s = spec(&smoke.kind);
    assert_eq!(s.expect_exit, vec![0, 22]);
    assert!(
        s.expect_output
            .as_ref()
            .is_some_and(|r| r.is_match("healthy"))
    );
    assert_eq!(
        s.env_values(),
        vec![("REGION".to_string(), "rb-alice".to_string())]
    );
    assert_eq!(s.cwd, f.dir.path().join("sub"));
    assert_eq!((smoke.retries, smoke.confirm), (2, true));
    assert_eq!(smoke.timeout, Duration::from_secs(90));
    assert_eq!(smoke.retry_delay, Duration::from_secs(1));

    assert_eq!(plan.steps[1].name, "soak 1h 30m");
    assert_eq!(plan.steps[1].timeout, Duration::from_secs(5400 + 60));
    assert_eq!(plan.steps[2].name, "pause");
    match &plan.steps[2].kind {
        StepKind::Pause { reason } => {
            assert_eq!(reason.as_ref().map(|r| r.value()), Some("approval for app"))
        }
        other => panic!("{other:?}"),
    }
    let log = &plan.rollback[0];
    assert_eq!(log.name, "log");
    assert!(log.continue_on_error);
    match &log.kind {
        StepKind::Log { message } => {
            assert_eq!(message.value(), "rolled back app-staging on ops-1")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_step_key_points_at_it_with_a_suggestion() {
    let f = Fixture::new(
        "[[steps]]\nkind = \"log\"\nmessage = \"a\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"b\"\n\n\
         [[steps]]\nkind = \"run\"\nname = \"deploy staging\"\ncmd = \"true\"\ntiemout = \"5m\"\n",
    );
    let d = f.error();
    assert_eq!((d.line, d.col, d.width), (13, 1, 7));
    assert_eq!(
        d.message,
        "unknown key `tiemout` in [[steps]] #3 (\"deploy staging\")"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `timeout`?"));
    assert_eq!(d.source_line.as_deref(), Some("tiemout = \"5m\""));
}

#[test]
fn a_field_of_another_kind_says_whose_it_is() {
    let d = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = \"true\"\nduration = \"5m\"\n").error();
    assert_eq!(d.message, "unknown key `duration` in [[steps]] #1");
    assert_eq!(
        d.help.as_deref(),
        Some("`duration` is a field of soak steps")
    );
}

#[test]
fn unknown_and_missing_kinds() {
    let d = Fixture::new("[[steps]]\nkind = \"smok\"\ncmd = \"x\"\n").error();
    assert_eq!((d.line, d.col), (2, 8));
    assert_eq!(
        d.message,
        "unknown step kind `smok`; this build knows run, smoke, soak, pause, log"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `smoke`?"));

    let d = Fixture::new("\n[[rollback]]\nname = \"undo\"\n").error();
    assert_eq!((d.line, d.col), (2, 1));
    assert_eq!(
        d.message,
        "[[rollback]] #1 (\"undo\") has no `kind`: add e.g. kind = \"run\""
    );
}

#[test]
fn toml_syntax_errors_have_a_position() {
    let d = Fixture::new("description = \"x\"\n[[steps]]\nkind = run\n").error();
    assert_eq!((d.line, d.col), (3, 8));
    assert!(d.message.starts_with("invalid TOML: "), "{}", d.message);
}

#[test]
fn a_section_written_as_a_single_table_asks_for_double_brackets() {
    let d = Fixture::new("[steps]\nkind = \"log\"\nmessage = \"x\"\n").error();
    assert_eq!((d.line, d.col), (1, 1));
    assert!(
        d.message.contains("[[steps]] (double brackets)"),
        "{}",
        d.message
    );
}

#[test]
fn top_level_mistakes_are_reported_all_at_once() {
    let d = Fixture::new(
        "descripton = \"x\"\nadapter = \"flyio\"\nauto_rollback = \"yes\"\nlog = \"x\"\n[vars]\nn = 1\n",
    )
    .errors();
    let messages: Vec<(usize, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        messages,
        vec![
            (1, "unknown key `descripton` in the top level"),
            (
                2,
                "unknown adapter `flyio`; use one of fly, kubectl, systemctl, exec"
            ),
            (
                3,
                "`auto_rollback` in the top level must be true or false, not a string"
            ),
            (4, "unknown key `log` in the top level"),
            (6, "[vars] values must be strings, and `n` is an integer"),
        ]
    );
    assert_eq!(d[0].help.as_deref(), Some("did you mean `description`?"));
    assert_eq!(d[1].help.as_deref(), Some("did you mean `fly`?"));
    assert_eq!(
        d[3].help.as_deref(),
        Some("`log` is a project setting: put it in rollout.toml")
    );
}

#[test]
fn variables_in_a_loop_are_named_in_order() {
    let d = Fixture::new("[vars]\na = \"x{{b}}\"\nb = \"{{ a }}y\"\n[[steps]]\nkind = \"log\"\nmessage = \"{{a}}\"\n")
        .error();
    assert_eq!((d.line, d.col), (2, 5));
    assert_eq!(
        d.message,
        "variables refer to each other in a loop: a → b → a"
    );
}

#[test]
fn a_target_that_refers_back_to_itself_is_a_loop_too() {
    let d = Fixture::new("target = \"{{staging}}\"\n[vars]\nstaging = \"{{target}}-s\"\n").error();
    // Found from `staging` (vars resolve first), so the loop is named from there.
    assert_eq!(
        d.message,
        "variables refer to each other in a loop: staging → target → staging"
    );
    assert_eq!((d.line, d.col), (3, 11));
}

#[test]
fn unknown_variables_point_inside_the_string() {
    let d = Fixture::new(
        "[vars]\nimage = \"app:1\"\n[[steps]]\nkind = \"run\"\ncmd = \"deploy --image {{ imag }}\"\n",
    )
    .error();
    assert_eq!((d.line, d.col), (5, 23));
    assert_eq!(d.message, "unknown variable `imag`");
    assert_eq!(d.help.as_deref(), Some("did you mean `image`?"));

    let d = Fixture::new("[[steps]]\nkind = \"log\"\nmessage = \"{{nothing_like_it}}\"\n").error();
    assert_eq!(
        d.help.as_deref(),
        Some("define it under [vars], or pass --set nothing_like_it=VALUE")
    );
    let d = Fixture::new("[[steps]]\nkind = \"log\"\nmessage = \"{{target}}\"\n").error();
    assert_eq!(
        d.message,
        "`{{target}}` is used but the runbook has no `target`"
    );
}

#[test]
fn set_wins_over_vars_which_win_over_rollout_toml_and_builtins() {
    let f = Fixture::new(
        "[vars]\ntag = \"runbook\"\nuser = \"from-vars\"\n[[steps]]\nkind = \"log\"\nmessage = \"{{tag}} {{region}} {{user}} {{who}}\"\n",
    )
    .settings("[vars]\ntag = \"project\"\nregion = \"ams\"\nwho = \"{{tag}}\"\n");
    let message = |loaded: &Loaded| match &loaded.plan.steps[0].kind {
        StepKind::Log { message } => message.value().to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(message(&f.ok()), "runbook ams from-vars runbook");
    let f = f.set("tag", "cli").set("tag", "cli2");
    assert_eq!(message(&f.ok()), "cli2 ams from-vars cli2");
}

#[test]
fn a_set_value_with_spaces_and_semicolons_stays_one_argument() {
    let f = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = \"echo {{ msg }} '{{msg}}!'\"\n")
        .set("msg", "a b; rm -rf /");
    let loaded = f.ok();
    let step = &loaded.plan.steps[0];
    assert_eq!(
        argv(&step.kind),
        vec!["echo", "a b; rm -rf /", "a b; rm -rf /!"]
    );
    assert_eq!(step.name, "run echo 'a b; rm -rf /' 'a b; rm -rf /!'");
}

#[test]
fn shell_scripts_get_values_quoted_and_need_a_string() {
    let f =
        Fixture::new("[[steps]]\nkind = \"run\"\nshell = true\ncmd = \"echo {{msg}} | wc -c\"\n")
            .set("msg", "a; rm -rf /");
    match &f.ok().plan.steps[0].kind {
        StepKind::Run(CommandSpec {
            line: CommandLine::Shell(script),
            ..
        }) => assert_eq!(script.value(), "echo 'a; rm -rf /' | wc -c"),
        other => panic!("{other:?}"),
    }
    let d =
        Fixture::new("[[steps]]\nkind = \"run\"\nshell = true\ncmd = [\"echo\", \"x\"]\n").error();
    assert_eq!((d.line, d.col), (4, 7));
    assert!(
        d.message
            .starts_with("with shell = true, `cmd` must be a string")
    );
}

#[test]
fn secrets_are_masked_everywhere_and_collected_for_the_redactor() {
    let f = Fixture::new(
        "[vars]\nauth = \"Bearer {{ secret.TOKEN }}\"\n[[steps]]\nkind = \"run\"\n\
         cmd = [\"curl\", \"-H\", \"Authorization: {{auth}}\"]\nenv = { T = \"{{secret.TOKEN}}\" }\n",
    )
    .env("TOKEN", "s3cr3t-value");
    let loaded = f.ok();
    let plan = &loaded.plan;
    let step = &plan.steps[0];
    let s = spec(&step.kind);
    assert_eq!(s.argv()[2], "Authorization: Bearer s3cr3t-value");
    assert_eq!(s.display(), "curl -H 'Authorization: Bearer ***'");
    assert_eq!(s.env[0].1.shown(), "***");
    assert_eq!(plan.vars["auth"].shown(), "Bearer ***");
    assert!(!step.name.contains("s3cr3t"), "{}", step.name);
    assert_eq!(plan.redactor.redact("leak s3cr3t-value"), "leak ***");
}

#[test]
fn missing_secrets_and_env_vars_fail_a_run_and_are_only_described_otherwise() {
    let text = "[[steps]]\nkind = \"run\"\ncmd = \"deploy --token {{secret.API_TOKEN}} --region {{env.REGION}}\"\n\
                [[steps]]\nkind = \"log\"\nmessage = \"{{secret.API_TOKEN}}\"\n";
    let f = Fixture::new(text);
    let d = f.errors();
    assert_eq!(d.len(), 2, "each missing name once: {}", render_all(&d));
    assert_eq!((d[0].line, d[0].col), (3, 23));
    assert_eq!(
        d[0].message,
        "secret `API_TOKEN` is not set: export the environment variable API_TOKEN before running"
    );
    assert_eq!(
        d[1].message,
        "environment variable `REGION` is not set: export REGION before running"
    );

    let loaded = f.check_as(Strictness::Describe).expect("describes");
    let s = spec(&loaded.plan.steps[0].kind);
    assert_eq!(
        s.display(),
        "deploy --token '***' --region '<unset env.REGION>'"
    );
    assert_eq!(
        loaded.warnings,
        vec![
            "runbooks/rb.toml:3:53: environment variable `REGION` is not set; shown as <unset env.REGION>"
        ]
    );
}

#[test]
fn a_missing_secret_in_an_unused_variable_is_no_error() {
    let f = Fixture::new("[[steps]]\nkind = \"log\"\nmessage = \"hi\"\n")
        .settings("[vars]\ntoken = \"{{secret.UNUSED_TOKEN}}\"\n");
    f.ok();
}

#[test]
fn derived_names_are_unique_and_explicit_duplicates_are_errors() {
    let f = Fixture::new(
        "[[steps]]\nkind = \"pause\"\n[[steps]]\nkind = \"pause\"\nname = \"pause #2\"\n\
         [[steps]]\nkind = \"pause\"\n[[rollback]]\nkind = \"pause\"\n",
    );
    let loaded = f.ok();
    let names: Vec<&str> = loaded
        .plan
        .steps
        .iter()
        .chain(&loaded.plan.rollback)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, vec!["pause", "pause #2", "pause #3", "pause #4"]);

    let d = Fixture::new(
        "[[steps]]\nkind = \"log\"\nname = \"ship\"\nmessage = \"a\"\n\
         [[rollback]]\nkind = \"log\"\nname = \"ship\"\nmessage = \"b\"\n",
    )
    .error();
    assert_eq!((d.line, d.col), (7, 8));
    assert_eq!(
        d.message,
        "duplicate step name `ship`: the step at line 3 has it already"
    );
}

#[test]
fn long_commands_make_truncated_names() {
    let f = Fixture::new(&format!(
        "[[steps]]\nkind = \"run\"\ncmd = \"echo {}\"\n",
        "x".repeat(80)
    ));
    let name = f.ok().plan.steps[0].name.clone();
    assert_eq!(name.chars().count(), "run ".len() + 48 + 1);
    assert!(name.ends_with('…'));
}

#[test]
fn command_mistakes_are_diagnostics() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "cmd = \"echo 'oops\"",
            (3, 7),
            "`cmd` has an unbalanced quote",
        ),
        ("cmd = \"  \"", (3, 7), "`cmd` in [[steps]] #1 is empty"),
        ("cmd = []", (3, 7), "`cmd` in [[steps]] #1 is empty"),
        (
            "cmd = [\"a\", 1]",
            (3, 13),
            "`cmd` items must be strings, not an integer",
        ),
        (
            "cmd = \"x\"\nexpect_output = \"(\"",
            (4, 17),
            "`expect_output` is not a valid regex",
        ),
        (
            "cmd = \"x\"\nexpect_exit = []",
            (4, 15),
            "`expect_exit` is empty",
        ),
        (
            "cmd = \"x\"\nexpect_exit = 300",
            (4, 15),
            "exit codes are 0 to 255",
        ),
        (
            "cmd = \"x\"\nexpect_exit = \"0\"",
            (4, 15),
            "`expect_exit` must be an exit code",
        ),
        ("cmd = \"x {{\"", (3, 10), "`{{` is never closed"),
        (
            "shell = \"yes\"\ncmd = \"x\"",
            (3, 9),
            "`shell` in [[steps]] #1 must be true or false",
        ),
        (
            "cmd = \"x\"\nenv = { A = 1 }",
            (4, 13),
            "`A` in `env` of [[steps]] #1 must be a string",
        ),
        ("name = \"x\"", (1, 1), "[[steps]] #1 (\"x\") has no `cmd`"),
    ];
    for (fields, (line, col), message) in cases {
        let d = Fixture::new(&format!("[[steps]]\nkind = \"run\"\n{fields}\n")).error();
        assert_eq!((d.line, d.col), (*line, *col), "{fields}: {d}");
        assert!(d.message.starts_with(message), "{fields}: {}", d.message);
    }
}

#[test]
fn wrong_common_fields_are_diagnostics() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("retries = -1", (4, 11), "`retries` must be 0 or more"),
        (
            "retries = 1.5",
            (4, 11),
            "`retries` in [[steps]] #1 must be an integer, not a float",
        ),
        (
            "timeout = \"0s\"",
            (4, 11),
            "`timeout` must be more than zero",
        ),
        (
            "timeout = \"soon\"",
            (4, 11),
            "`timeout` must be a duration like",
        ),
        (
            "timeout = 30",
            (4, 11),
            "`timeout` in [[steps]] #1 must be a duration string",
        ),
        (
            "retry_delay = \"-1s\"",
            (4, 15),
            "`retry_delay` must be a duration like",
        ),
        (
            "adapter = \"kubectll\"",
            (4, 11),
            "unknown adapter `kubectll`",
        ),
        (
            "confirm = \"yes\"",
            (4, 11),
            "`confirm` in [[steps]] #1 must be true or false",
        ),
        (
            "name = \"\"",
            (4, 8),
            "`name` must be a visible, one-line name",
        ),
    ];
    for (field, (line, col), message) in cases {
        let d = Fixture::new(&format!(
            "[[steps]]\nkind = \"log\"\nmessage = \"m\"\n{field}\n"
        ))
        .error();
        assert_eq!((d.line, d.col), (*line, *col), "{field}: {d}");
        assert!(d.message.starts_with(message), "{field}: {}", d.message);
    }
}

#[test]
fn soak_needs_a_positive_duration_and_log_a_message() {
    let d = Fixture::new("[[steps]]\nkind = \"soak\"\nduration = \"0s\"\n").error();
    assert_eq!((d.line, d.col), (3, 12));
    assert_eq!(d.message, "`duration` must be more than zero");
    let d = Fixture::new("[[steps]]\nkind = \"soak\"\n").error();
    assert_eq!(
        d.message,
        "[[steps]] #1 has no `duration`: add e.g. duration = \"30m\""
    );
    let d = Fixture::new("[[steps]]\nkind = \"log\"\n").error();
    assert!(
        d.message.starts_with("[[steps]] #1 has no `message`"),
        "{}",
        d.message
    );
}

#[test]
fn adapter_settings_merge_and_defaults_come_from_rollout_toml() {
    let f = Fixture::new(
        "[adapters.kubectl]\nnamespace = \"staging\"\n[[steps]]\nkind = \"log\"\nmessage = \"m\"\nadapter = \"fly\"\n[[steps]]\nkind = \"pause\"\n",
    )
    .settings("adapter = \"kubectl\"\nauto_rollback = false\n[adapters.kubectl]\nbin = \"/opt/kubectl\"\ncontext = \"prod\"\n");
    let plan = f.ok().plan;
    assert_eq!(plan.adapter.as_deref(), Some("kubectl"));
    assert!(!plan.auto_rollback);
    let k = plan.adapter_settings("kubectl");
    assert_eq!(k.bin.as_deref(), Some("/opt/kubectl"));
    assert_eq!(k.context.as_deref(), Some("prod"));
    assert_eq!(k.namespace.as_deref(), Some("staging"));
    assert_eq!(plan.steps[0].adapter.as_deref(), Some("fly"));
    assert_eq!(plan.steps[1].adapter.as_deref(), Some("kubectl"));
    assert_eq!(plan.adapter_settings("fly"), Default::default());
}

#[test]
fn step_targets_are_templated_and_default_to_the_runbooks() {
    let f = Fixture::new(
        "target = \"web-{{env.STAGE}}\"\n[[steps]]\nkind = \"pause\"\n[[steps]]\nkind = \"pause\"\ntarget = \"{{target}}-canary\"\n",
    )
    .env("STAGE", "prod");
    let plan = f.ok().plan;
    assert_eq!(
        plan.steps[0].target.as_ref().map(|t| t.value()),
        Some("web-prod")
    );
    assert_eq!(
        plan.steps[1].target.as_ref().map(|t| t.value()),
        Some("web-prod-canary")
    );
}

#[test]
fn an_unused_set_is_a_warning_with_a_suggestion() {
    let f =
        Fixture::new("[vars]\nimage = \"a\"\n[[steps]]\nkind = \"log\"\nmessage = \"{{image}}\"\n")
            .set("imgae", "b");
    assert_eq!(
        f.ok().warnings,
        vec!["--set imgae=… is not used by this runbook (did you mean `image`?)"]
    );
}

#[test]
fn load_turns_diagnostics_into_one_exit_2_error() {
    let f = Fixture::new("[[steps]]\nkind = \"lgo\"\n[[steps]]\nkind = \"pause\"\nreasn = \"x\"\n");
    let env = |_: &str| None;
    let err = load_with_env(&f.project(), "rb", &f.context(Strictness::Run), &env).unwrap_err();
    assert_eq!(err.code.code(), 2);
    assert_eq!(err.headline, "runbooks/rb.toml: 2 errors");
    let detail = err.detail.expect("detail");
    assert!(
        detail.starts_with("runbooks/rb.toml:2:8: error: unknown step kind `lgo`"),
        "{detail}"
    );
    assert!(
        detail.contains("\n\nrunbooks/rb.toml:5:1: error: unknown key `reasn`"),
        "{detail}"
    );
}

#[test]
fn an_unknown_runbook_name_suggests_a_close_one() {
    let f = Fixture::new("");
    let env = |_: &str| None;
    let err = load_with_env(&f.project(), "rbb", &f.context(Strictness::Run), &env).unwrap_err();
    assert_eq!(err.code.code(), 2);
    assert!(
        err.headline.starts_with("no runbook `rbb` in "),
        "{}",
        err.headline
    );
    assert_eq!(err.detail.as_deref(), Some("did you mean `rb`?"));
    assert_eq!(
        err.hint.as_deref(),
        Some("`rollout list` shows the runbooks there")
    );
    let err = load_with_env(
        &f.project(),
        "runbooks/rb.toml",
        &f.context(Strictness::Run),
        &env,
    )
    .unwrap_err();
    assert_eq!(err.detail.as_deref(), Some("did you mean `rb`?"));

    let d = f.check_as(Strictness::Run);
    assert!(d.is_ok(), "an empty runbook is valid");
}

#[test]
fn describe_reads_the_description_even_of_a_broken_runbook() {
    let f = Fixture::new("description = \"Fly staging then prod\"\n[[steps]]\nkind = \"nope\"\n");
    assert_eq!(
        describe(&f.project(), "rb").as_deref(),
        Some("Fly staging then prod")
    );
    assert_eq!(describe(&f.project(), "missing"), None);
}

#[test]
fn inline_step_tables_work_and_are_located() {
    let f = Fixture::new("steps = [\n  { kind = \"log\", message = \"a\" },\n]\n");
    let plan = f.ok().plan;
    assert_eq!(plan.steps[0].location, "runbooks/rb.toml:2:3");
}
