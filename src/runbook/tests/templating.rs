//! Variables, `--set`, env vars and secrets, as a loaded plan shows them.

use crate::plan::{CommandLine, CommandSpec, StepKind};

use super::super::*;
use super::{Fixture, argv, spec};

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
    assert_eq!(f.ok().plan.steps[0].name, "run echo 'a; rm -rf /' | wc -c");
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
    assert_eq!(s.display(), "T='***' curl -H 'Authorization: Bearer ***'");
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
fn set_target_overrides_the_runbooks_target_everywhere() {
    let f = Fixture::new("target = \"web\"\n[[steps]]\nkind = \"log\"\nmessage = \"{{target}}\"\n")
        .set("target", "web-pr-42");
    let loaded = f.ok();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let plan = loaded.plan;
    assert_eq!(plan.target.as_ref().map(|t| t.value()), Some("web-pr-42"));
    assert_eq!(
        plan.steps[0].target.as_ref().map(|t| t.value()),
        Some("web-pr-42")
    );
    match &plan.steps[0].kind {
        StepKind::Log { message } => assert_eq!(message.value(), "web-pr-42"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_array_cmd_is_substituted_element_by_element_without_splitting() {
    let f = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = [\"printf\", \"%s\", \"{{ msg }}\"]\n")
        .set("msg", "two words; 'and quotes'");
    assert_eq!(
        argv(&f.ok().plan.steps[0].kind),
        vec!["printf", "%s", "two words; 'and quotes'"]
    );
}
