//! Loading whole runbooks through the public door: every rule, with its position.

mod checks;
mod fuzz;
mod platform;
mod templating;
mod validation;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::plan::{CommandSpec, StepKind};
use crate::project::Project;

use super::*;

/// A temp project with one runbook `rb` (and optionally rollout.toml).
pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    env: HashMap<String, String>,
    sets: Vec<(String, String)>,
}

impl Fixture {
    pub(super) fn new(runbook: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("runbooks")).expect("mkdir");
        std::fs::write(dir.path().join("runbooks/rb.toml"), runbook).expect("write");
        Fixture {
            dir,
            env: HashMap::new(),
            sets: Vec::new(),
        }
    }

    pub(super) fn settings(self, text: &str) -> Self {
        std::fs::write(self.dir.path().join("rollout.toml"), text).expect("write");
        self
    }

    pub(super) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    pub(super) fn set(mut self, k: &str, v: &str) -> Self {
        self.sets.push((k.into(), v.into()));
        self
    }

    pub(super) fn project(&self) -> Project {
        Project::discover_from(Some(self.dir.path()), Path::new("/"), None).expect("project")
    }

    pub(super) fn context(&self, strictness: Strictness) -> Context<'_> {
        Context {
            sets: &self.sets,
            run_id: "r-1",
            user: "alice",
            host: "ops-1",
            strictness,
        }
    }

    pub(super) fn check_as(&self, strictness: Strictness) -> Result<Loaded, Vec<Diagnostic>> {
        let env = |k: &str| self.env.get(k).cloned();
        check_with_env(&self.project(), "rb", &self.context(strictness), &env)
    }

    pub(super) fn ok(&self) -> Loaded {
        match self.check_as(Strictness::Run) {
            Ok(loaded) => loaded,
            Err(d) => panic!("expected a valid runbook:\n{}", render_all(&d)),
        }
    }

    pub(super) fn errors(&self) -> Vec<Diagnostic> {
        match self.check_as(Strictness::Run) {
            Ok(_) => panic!("expected diagnostics"),
            Err(d) => d,
        }
    }

    pub(super) fn error(&self) -> Diagnostic {
        let d = self.errors();
        assert_eq!(d.len(), 1, "{}", render_all(&d));
        d.into_iter().next().expect("one")
    }
}

pub(super) fn spec(kind: &StepKind) -> &CommandSpec {
    match kind {
        StepKind::Run(s) | StepKind::Smoke(s) => s,
        other => panic!("not a command: {other:?}"),
    }
}

pub(super) fn argv(kind: &StepKind) -> Vec<String> {
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
    assert_eq!(spec(&pre.kind).cwd, None);

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
    assert_eq!(s.cwd, Some(f.dir.path().join("sub")));
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
