//! Platform steps: fields checked against the adapter, percentages, `{{percent}}`.

use super::{Fixture, argv};
use crate::plan::{StepKind, Verb};

fn platform(kind: &StepKind) -> &crate::plan::PlatformStep {
    match kind {
        StepKind::Platform(p) => p,
        other => panic!("not a platform step: {other:?}"),
    }
}

#[test]
fn percentages_outside_0_to_100_are_errors_at_the_value() {
    let d = Fixture::new(
        "adapter = \"kubectl\"\ntarget = \"web\"\n[[steps]]\nkind = \"promote\"\npercent = 150\nflag = \"F\"\n",
    )
    .error();
    assert_eq!((d.line, d.col), (5, 11));
    assert_eq!(d.message, "`percent` must be between 0 and 100, not 150");
}

#[test]
fn a_field_of_another_adapter_is_named_with_what_this_one_takes() {
    let d = Fixture::new(
        "adapter = \"fly\"\ntarget = \"web\"\n[[steps]]\nkind = \"deploy\"\nrelease = \"/srv/x\"\n",
    )
    .error();
    assert_eq!(d.line, 5);
    assert_eq!(
        d.message,
        "`release` is not a deploy field of the fly adapter"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("the fly adapter's deploy takes config, strategy, image")
    );
}

#[test]
fn kubectl_deploys_need_a_manifest_or_an_image_with_its_container() {
    let d = Fixture::new(
        "adapter = \"kubectl\"\ntarget = \"web\"\n[[steps]]\nkind = \"deploy\"\nimage = \"r/w:2\"\n",
    )
    .error();
    assert!(d.message.contains("needs `container`"), "{}", d.message);
}

#[test]
fn exec_and_no_adapter_need_a_cmd() {
    let d = Fixture::new("adapter = \"exec\"\n[[steps]]\nkind = \"restart\"\n").error();
    assert!(d.message.contains("give a `cmd`"), "{}", d.message);
    let d = Fixture::new("[[steps]]\nkind = \"scale\"\ncount = 0\n").error();
    assert!(d.message.contains("needs an adapter"), "{}", d.message);
}

#[test]
fn percent_is_a_variable_inside_a_promote_cmd_only() {
    let loaded = Fixture::new(
        "adapter = \"exec\"\n[[steps]]\nkind = \"promote\"\npercent = 25\ncmd = \"flagctl set beta {{percent}}\"\n",
    )
    .ok();
    let step = &loaded.plan.steps[0];
    assert_eq!(step.name, "promote flagctl set beta 25");
    assert_eq!(
        argv(&StepKind::Run(
            platform(&step.kind).cmd.clone().expect("a cmd")
        )),
        ["flagctl", "set", "beta", "25"]
    );
    let d = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = \"echo {{percent}}\"\n").error();
    assert_eq!(d.message, "unknown variable `percent`");
}

#[test]
fn settings_of_the_steps_adapter_travel_with_the_step() {
    let loaded = Fixture::new(
        "adapter = \"kubectl\"\ntarget = \"web\"\n[adapters.kubectl]\nnamespace = \"shop\"\n\
         [[rollback]]\nkind = \"rollback\"\nto = \"3\"\n",
    )
    .ok();
    let p = platform(&loaded.plan.rollback[0].kind);
    assert_eq!(p.settings.namespace.as_deref(), Some("shop"));
    assert!(matches!(&p.verb, Verb::Rollback { to: Some(t) } if t.value() == "3"));
    assert!(loaded.plan.rollback[0].kind.changes_things());
}
