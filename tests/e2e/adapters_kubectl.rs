//! The kubectl adapter end to end against the recording fake; and its argv through the
//! real kubectl, where installed, against a cluster that is not there.

use std::process::Command;
use std::time::Duration;

use rollout::adapters::kubectl::Kubectl;
use rollout::plan::{Deploy, Text, Verb};

use crate::fakes;
use crate::support::{Bench, alive};

const APP: &str = r#"
adapter = "kubectl"
target  = "web"

[adapters.kubectl]
context   = "prod"
namespace = "shop"

[[steps]]
kind      = "deploy"
name      = "set image"
image     = "reg/web:2"
container = "app"
timeout   = "5m"

[[steps]]
kind    = "promote"
name    = "canary 5"
percent = 5
flag    = "CANARY_PERCENT"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
name = "undo"

[[emergency]]
kind = "restart"
name = "restart"

[[emergency]]
kind  = "scale"
name  = "scale to zero"
count = 0
"#;

const CTX: &str = "[--context] [prod] [--namespace] [shop]";

fn bench() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", APP).fake("checker");
    fakes::kubectl(&bench);
    bench
}

/// The calls with the `--timeout=…s` of `rollout status` blanked (it counts down).
fn calls(bench: &Bench) -> Vec<String> {
    let re = regex::Regex::new(r"--timeout=\d+s").unwrap();
    bench
        .calls()
        .iter()
        .map(|c| re.replace(c, "--timeout=Ns").into_owned())
        .collect()
}

#[test]
fn a_failed_check_after_image_and_flag_undoes_to_the_stable_revision() {
    let bench = bench();
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(
        calls(&bench),
        [
            // SPEC §4.1: the stable revision is read just before the first change.
            format!("kubectl [get] [deployment/web] [-o] [json] {CTX}"),
            format!("kubectl [set] [image] [deployment/web] [app=reg/web:2] {CTX}"),
            format!("kubectl [rollout] [status] [deployment/web] [--timeout=Ns] {CTX}"),
            format!("kubectl [set] [env] [deployment/web] [CANARY_PERCENT=5] {CTX}"),
            "checker".to_string(),
            format!("kubectl [rollout] [undo] [deployment/web] [--to-revision=1] {CTX}"),
            format!("kubectl [rollout] [status] [deployment/web] [--timeout=Ns] {CTX}"),
        ]
    );
    // What the cluster serves: the image *and* the env of before the run. A plain
    // `rollout undo` would have gone to the second-newest revision — the new image
    // with the canary flag off, since `set env` made a revision of its own.
    let (_, image, env) = fakes::kubectl_serves(&bench, "deployment/web");
    assert_eq!(image, "reg/web:1");
    assert_eq!(env, serde_json::json!({}));
    // The wait gets what is left of the step's 5m, never more.
    let status = bench.calls()[2].clone();
    let secs: u64 = regex::Regex::new(r"--timeout=(\d+)s")
        .unwrap()
        .captures(&status)
        .unwrap()[1]
        .parse()
        .unwrap();
    assert!((290..=300).contains(&secs), "{status}");
    let web = &bench.state("app")["releases"]["deployment/web"];
    let web = if web.is_null() {
        &bench.state("app")["releases"]["web"]
    } else {
        web
    };
    assert_eq!(web["percent"], 5);
}

#[test]
fn emergency_rollback_uses_the_last_run_and_to_picks_the_revision() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "--emergency", "--to", "3"])
        .status(0);
    assert!(
        calls(&bench).contains(&format!(
            "kubectl [rollout] [undo] [deployment/web] [--to-revision=3] {CTX}"
        )),
        "{:?}",
        bench.calls()
    );
}

#[test]
fn a_failed_undo_climbs_the_ladder_and_its_last_rung_decides() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    let before = bench.calls().len();
    // Every `kubectl rollout …` fails: undo, then the restart's own rollout too; the
    // last rung (scale to zero) works, so the emergency is over (SPEC §4.2).
    bench.tell("kubectl", "rollout", "exit", "1");
    bench.run(&["rollback", "--emergency"]).status(0);
    assert_eq!(
        calls(&bench)[before..],
        [
            format!("kubectl [rollout] [undo] [deployment/web] [--to-revision=1] {CTX}"),
            format!("kubectl [rollout] [restart] [deployment/web] {CTX}"),
            format!("kubectl [scale] [deployment/web] [--replicas=0] {CTX}"),
        ]
    );
    let events = bench.log_events();
    assert_eq!(events.last().unwrap(), "EMERGENCY ROLLBACK COMPLETE");
    // When the last rung fails too, a person must act.
    bench.tell("kubectl", "scale", "exit", "1");
    bench.run(&["rollback", "--emergency"]).status(4);
    assert_eq!(
        bench.log_events().last().unwrap(),
        "EMERGENCY ROLLBACK FAILED"
    );
}

#[test]
fn a_hung_kubectl_is_killed_at_the_step_timeout() {
    let bench = bench();
    bench.runbook(
        "app",
        "adapter = \"kubectl\"\ntarget = \"web\"\n[[steps]]\nkind = \"restart\"\ntimeout = \"1s\"\n",
    );
    bench.tell("kubectl", "rollout", "hang", "");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("timed out after 1s");
    std::thread::sleep(Duration::from_millis(100));
    let pids = fakes::hung_pids(&bench, "kubectl");
    assert!(
        !pids.is_empty() && pids.iter().all(|p| !alive(*p)),
        "{pids:?}"
    );
}

#[test]
fn dry_run_calls_nothing() {
    let bench = Bench::new();
    bench.runbook("app", APP);
    bench
        .run(&["promote", "app", "--dry-run"])
        .status(0)
        .stdout_has("$ kubectl set image deployment/web app=reg/web:2 --context prod --namespace shop, then $ kubectl rollout status deployment/web --timeout=300s");
    bench
        .run(&["rollback", "app", "--dry-run"])
        .status(0)
        .stdout_has("$ kubectl rollout undo deployment/web --context prod --namespace shop");
    assert!(bench.calls().is_empty());
}

/// Every argv the adapter builds, run through the real kubectl at a cluster on a
/// closed port: each must fail to connect, never on a flag or command kubectl lacks.
#[test]
fn the_real_kubectl_accepts_every_command_line() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("skipped: kubectl is not installed on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(
        &config,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: prod\n  context:\n    cluster: gone\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n\
         current-context: prod\n",
    )
    .unwrap();
    let manifest = dir.path().join("web.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: app\n        image: reg/web:1\n",
    )
    .unwrap();
    let k = Kubectl {
        bin: "kubectl".into(),
        context: Some("prod".into()),
        namespace: Some("shop".into()),
    };
    let t = |s: &str| Some(Text::plain(s));
    let verbs = [
        Verb::Auth,
        Verb::Deploy(Box::new(Deploy {
            image: t("reg/web:2"),
            container: t("app"),
            ..Default::default()
        })),
        Verb::Deploy(Box::new(Deploy {
            manifest: t(manifest.to_str().unwrap()),
            ..Default::default()
        })),
        Verb::Rollback { to: t("3") },
        Verb::Restart,
        Verb::Scale { count: 0 },
        Verb::Promote {
            percent: Some(5),
            flag: t("CANARY_PERCENT"),
            flags: vec![("STAGE".into(), Text::plain("beta"))],
            label: None,
        },
    ];
    for verb in &verbs {
        let commands = k
            .commands(verb, &Text::plain("web"), Duration::from_secs(2))
            .unwrap();
        for argv in commands {
            let args: Vec<&str> = argv.iter().map(|a| a.value()).collect();
            let out = Command::new(args[0])
                .args(&args[1..])
                .env("KUBECONFIG", &config)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
            assert!(
                !out.status.success(),
                "{args:?} succeeded against no cluster"
            );
            for bad in [
                "unknown flag",
                "unknown command",
                "unknown shorthand",
                "invalid argument",
                "usage:",
            ] {
                assert!(!stderr.contains(bad), "{args:?}: {stderr}");
            }
            assert!(
                [
                    "connection refused",
                    "unable to connect",
                    "dial tcp",
                    "couldn't get current server",
                    "timed out",
                    "timeout"
                ]
                .iter()
                .any(|c| stderr.contains(c)),
                "{args:?} did not fail on the connection: {stderr}"
            );
        }
    }
}
