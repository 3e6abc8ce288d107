//! Approvals with roles (SPEC `approval`): `role = "manager"` is answered only by
//! `--approved-by manager=NAME`; two roles need two names; the log names each approver
//! and role; a role no step asks for is a usage error (exit 2).

use crate::support::Bench;

const RUNBOOK: &str = r#"
[[steps]]
kind = "approval"
name = "engineer approval"
role = "engineer"

[[steps]]
kind = "approval"
name = "manager approval"
role = "manager"
from = "the release manager"

[[steps]]
kind = "run"
cmd  = "tool ship"
"#;

#[test]
fn two_roles_take_two_names_and_the_log_names_each() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    bench
        .run(&[
            "promote",
            "app",
            "--approved-by",
            "engineer=sam",
            "--approved-by",
            "manager=dana",
        ])
        .status(0);
    let log = bench.log();
    assert!(
        log.contains("message=\"approved by sam as engineer\""),
        "{log}"
    );
    assert!(
        log.contains("message=\"approved by dana as manager (approval from the release manager)\""),
        "{log}"
    );
    assert_eq!(bench.calls(), vec!["tool [ship]"]);
}

#[test]
fn a_missing_role_a_plain_name_an_unknown_role_or_one_person_twice_is_refused() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    bench
        .run(&["promote", "app", "--approved-by", "engineer=sam"])
        .status(2)
        .stderr_has("an approver's name is needed for `manager approval`");
    bench
        .run(&["promote", "app", "--approved-by", "dana"])
        .status(2)
        .stderr_has("every approval of `app` asks for a role")
        .stderr_has("--approved-by engineer=NAME, --approved-by manager=NAME");
    bench
        .run(&[
            "promote",
            "app",
            "--approved-by",
            "engineer=sam",
            "--approved-by",
            "cto=kim",
        ])
        .status(2)
        .stderr_has("no approval step of `app` asks for the role `cto`");
    bench
        .run(&[
            "promote",
            "app",
            "--approved-by",
            "engineer=dana",
            "--approved-by",
            "manager=dana",
        ])
        .status(2)
        .stderr_has("dana cannot approve both as engineer and as manager");
    assert!(bench.calls().is_empty());
    assert!(!bench.log().contains("RUN STARTED"), "nothing started");
}
