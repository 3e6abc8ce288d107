//! The example runbooks in `runbooks/`, run end to end against the platform fakes
//! (long waits shortened, host paths moved into the bench).

use crate::fakes;
use crate::support::Bench;

const CANARY: &str = include_str!("../../runbooks/canary.toml");
const K8S: &str = include_str!("../../runbooks/k8s-canary.toml");
const FLAGS: &str = include_str!("../../runbooks/flags.toml");

#[test]
fn canary_goes_staging_to_production_and_rolls_back_to_the_previous_image() {
    let bench = Bench::new();
    bench.runbook("canary", &CANARY.replace("\"30m\"", "\"1s\""));
    bench.fake("cargo");
    bench.executable("scripts/smoke.sh", "#!/bin/sh\necho smoke ok \"$1\"\n");
    fakes::fly(&bench, &["1 complete reg/agent:1"]);
    bench
        .run(&["promote", "canary"])
        .status(0)
        .stderr_has("paused at `manager approval`");
    bench.run(&["promote", "canary", "--yes"]).status(0);
    let calls = bench.calls();
    assert!(
        calls.contains(&"fly [auth] [whoami]".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"fly [deploy] [--app] [hotdash-agent-service] [--config] [fly.production.toml] [--strategy] [rolling]".to_string()), "{calls:?}");
    bench.run(&["rollback", "--emergency"]).status(0);
    assert!(
        bench
            .calls()
            .last()
            .unwrap()
            .starts_with("fly [deploy] [--app] [hotdash-agent-service] [--image]")
    );
}

#[test]
fn k8s_canary_promotes_through_its_stages_and_undoes() {
    let bench = Bench::new();
    bench.runbook("k8s-canary", K8S).fake("kubectl");
    bench.executable("scripts/smoke.sh", "#!/bin/sh\nexit 0\n");
    bench
        .run(&["promote", "k8s-canary", "--full", "--yes"])
        .status(0);
    let sets: Vec<String> = bench
        .calls()
        .into_iter()
        .filter(|c| c.contains("[env]"))
        .collect();
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert!(sets[3].contains("[CANARY_PERCENT=100]"));
    assert_eq!(bench.state("k8s-canary")["releases"]["web"]["percent"], 100);
    bench.run(&["rollback", "k8s-canary", "--yes"]).status(0);
    let calls = bench.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("kubectl [rollout] [undo] [deployment/web]")),
        "{calls:?}"
    );
}

#[test]
fn flags_goes_10_to_100_and_rollback_turns_the_flag_off() {
    let bench = Bench::new();
    let root = bench.root().display().to_string();
    bench.runbook(
        "flags",
        &FLAGS
            .replace("/srv/checkout", &format!("{root}/srv"))
            .replace(
                "/etc/systemd/system/checkout.service.d",
                &format!("{root}/dropins"),
            ),
    );
    bench.fake("systemctl").fake("curl");
    fakes::sudo(&bench);
    bench.tell("systemctl", "show", "out", "LoadState=loaded\n");
    std::fs::create_dir_all(bench.path("srv/releases/2026.11.2")).unwrap();
    bench.run(&["promote", "flags", "--full"]).status(0);
    let dropin = bench.path("dropins/rollout-NEW_CHECKOUT_PERCENT.conf");
    assert!(
        std::fs::read_to_string(&dropin)
            .unwrap()
            .contains("NEW_CHECKOUT_PERCENT=100")
    );
    bench.run(&["rollback", "flags"]).status(0);
    assert!(
        std::fs::read_to_string(&dropin)
            .unwrap()
            .contains("NEW_CHECKOUT_PERCENT=0")
    );
    assert_eq!(
        bench.calls().last().unwrap(),
        "systemctl [restart] [checkout.service]"
    );
}
