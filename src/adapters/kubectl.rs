//! Kubernetes through `kubectl`: apply or set image, rollout status/undo/restart,
//! scale, env vars as flags. `--context`/`--namespace` go on every call when set.

use std::time::Duration;

use super::{Argv, Call, Change, Failure, Runner, Running, argv, display};
use crate::plan::{Text, Verb};
use crate::process::Ending;

/// The kubectl adapter: binary, and the cluster and namespace to address.
pub struct Kubectl {
    pub bin: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// `web` means `deployment/web`; `statefulset/db` stays as it is.
pub fn workload(target: &Text) -> Text {
    if target.value().contains('/') {
        target.clone()
    } else {
        Text::with_shown(
            format!("deployment/{}", target.value()),
            format!("deployment/{}", target.shown()),
        )
    }
}

impl Kubectl {
    /// `kubectl ARGS… [--context C] [--namespace N]`.
    fn cmd(&self, args: Vec<Text>) -> Argv {
        let mut out = argv(&[self.bin.as_str()]);
        out.extend(args);
        if let Some(context) = &self.context {
            out.extend(argv(&["--context", context]));
        }
        if let Some(namespace) = &self.namespace {
            out.extend(argv(&["--namespace", namespace]));
        }
        out
    }

    /// The commands of `verb`, in order; the last waits for the rollout where the verb
    /// changes pods. `wait` is the `--timeout` of `rollout status`.
    pub fn commands(
        &self,
        verb: &Verb,
        target: &Text,
        wait: Duration,
    ) -> Result<Vec<Argv>, Failure> {
        let w = workload(target);
        let p = |s: &str| Text::plain(s);
        let status = || {
            self.cmd(vec![
                p("rollout"),
                p("status"),
                w.clone(),
                p(&format!("--timeout={}s", wait.as_secs().max(1))),
            ])
        };
        Ok(match verb {
            Verb::Auth => vec![self.cmd(vec![p("auth"), p("can-i"), p("patch"), w.clone()])],
            Verb::Deploy(d) => {
                let change = match (&d.manifest, &d.image, &d.container) {
                    (Some(m), _, _) => vec![p("apply"), p("-f"), m.clone()],
                    (None, Some(image), Some(container)) => vec![
                        p("set"),
                        p("image"),
                        w.clone(),
                        Text::with_shown(
                            format!("{}={}", container.value(), image.value()),
                            format!("{}={}", container.shown(), image.shown()),
                        ),
                    ],
                    _ => {
                        return Err(Failure::failed(
                            "a kubectl deploy needs `manifest`, or `image` with `container`",
                        ));
                    }
                };
                vec![self.cmd(change), status()]
            }
            Verb::Rollback { to } => {
                let mut undo = vec![p("rollout"), p("undo"), w.clone()];
                if let Some(to) = to {
                    undo.push(p(&format!("--to-revision={}", revision(to.value())?)));
                }
                vec![self.cmd(undo), status()]
            }
            Verb::Restart => vec![
                self.cmd(vec![p("rollout"), p("restart"), w.clone()]),
                status(),
            ],
            Verb::Scale { count } => vec![self.cmd(vec![
                p("scale"),
                w.clone(),
                p(&format!("--replicas={count}")),
            ])],
            Verb::Promote { .. } => {
                // One `set env` for every variable: one new revision.
                let pairs = verb.promote_pairs();
                if pairs.is_empty() {
                    return Err(Failure::failed(
                        "this promote step has no `flag` or `flags` to set",
                    ));
                }
                let mut out = vec![p("set"), p("env"), w.clone()];
                out.extend(pairs);
                vec![self.cmd(out)]
            }
        })
    }

    pub fn describe(&self, verb: &Verb, target: &Text, timeout: Duration) -> Vec<String> {
        match self.commands(verb, target, timeout) {
            Ok(all) => all.iter().map(|a| display(a)).collect(),
            Err(Failure::Failed { message, .. }) => vec![format!("error: {message}")],
            Err(_) => Vec::new(),
        }
    }

    /// SPEC "read stable": `kubectl get <workload> -o json` — the revision in the
    /// `deployment.kubernetes.io/revision` annotation (kubectl
    /// `pkg/polymorphichelpers/rollback.go` undoes to it with `--to-revision`; every
    /// pod-template change — `set image`, `set env`, `rollout restart` — makes one) and
    /// the containers' images.
    pub async fn read_stable(
        &self,
        target: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        let mut get = vec![Text::plain("get"), workload(target)];
        get.extend([Text::plain("-o"), Text::plain("json")]);
        let out = runner.spawn(&self.cmd(get)).await?;
        match out.ending {
            Ending::Exited(0) => {}
            // No such workload yet: a first deploy has nothing to return to.
            Ending::Exited(_) if out.raw_output.contains("NotFound") => return Ok(None),
            _ => {
                return Err(Failure::Failed {
                    message: format!("cannot read what {target} runs (`kubectl get -o json`)"),
                    tail: out.tail,
                });
            }
        }
        parse_running(&out.raw_output).map_err(|e| {
            Failure::failed(format!("cannot read `kubectl get {target} -o json`: {e}"))
        })
    }

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        // `--to` from the command line wins over the step's `to`; then the stable
        // revision this run pinned (SPEC §4.1); a plain `rollout undo` (the
        // second-newest revision) only for a workload this run did not pin.
        let verb = match (call.verb, &call.to, &call.stable) {
            (Verb::Rollback { .. }, Some(to), _) => Verb::Rollback {
                to: Some(Text::plain(to)),
            },
            (Verb::Rollback { to: None }, None, Some(stable)) => match &stable.revision {
                Some(revision) => Verb::Rollback {
                    to: Some(Text::plain(revision)),
                },
                None => {
                    return Err(Failure::failed(format!(
                        "{} has no stable revision: it did not exist before this run (a first deploy); name one with `rollout rollback --to REVISION`",
                        call.target
                    )));
                }
            },
            (verb, _, _) => verb.clone(),
        };
        // The wait gets what is left of the step when it starts, so it is counted late.
        let commands = self.commands(&verb, call.target, runner.remaining())?;
        let last = commands.len().saturating_sub(1);
        for (i, argv) in commands.iter().enumerate() {
            let argv = if i == last && is_status(argv) {
                self.commands(&verb, call.target, runner.remaining())?
                    .pop()
                    .unwrap_or_else(|| argv.clone())
            } else {
                argv.clone()
            };
            runner.run(&argv).await?;
        }
        Ok(match &verb {
            Verb::Deploy(d) => Change::Deployed(match (&d.manifest, &d.image) {
                (Some(m), _) => format!("manifest {}", m.shown()),
                // Unmasked: the step keeps a secret part as its reference, not `***`.
                (None, Some(image)) => image.value().to_string(),
                (None, None) => "deployed".to_string(),
            }),
            Verb::Rollback { to } => Change::RolledBack(match (to, &call.stable) {
                (Some(to), Some(stable))
                    if stable.revision.as_deref() == Some(to.value()) && call.to.is_none() =>
                {
                    format!(
                        "revision {} ({})",
                        to.shown(),
                        stable.release.as_deref().unwrap_or("")
                    )
                }
                (Some(to), _) => format!("revision {}", to.shown()),
                (None, _) => "the previous revision".to_string(),
            }),
            Verb::Promote { percent, .. } => percent.map_or(Change::None, Change::Promoted),
            _ => Change::None,
        })
    }
}

/// The revision and images of `kubectl get <workload> -o json`.
fn parse_running(json: &str) -> Result<Option<Running>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let revision = value["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .map(str::to_string);
    let images: Vec<&str> = value["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["image"].as_str()).collect())
        .unwrap_or_default();
    if revision.is_none() && images.is_empty() {
        return Ok(None);
    }
    Ok(Some(Running {
        release: images.join(","),
        revision,
    }))
}

fn is_status(argv: &Argv) -> bool {
    argv.get(1).map(Text::value) == Some("rollout")
        && argv.get(2).map(Text::value) == Some("status")
}

/// `3` or `v3` → 3.
fn revision(to: &str) -> Result<u64, Failure> {
    to.trim_start_matches('v').parse().map_err(|_| {
        Failure::failed(format!(
            "kubectl rolls back to a revision number, not `{to}`; `kubectl rollout history` lists them"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Deploy;

    fn lines(k: &Kubectl, verb: &Verb) -> Vec<String> {
        k.describe(verb, &Text::plain("web"), Duration::from_secs(600))
    }

    #[test]
    fn bare_targets_are_deployments_and_context_and_namespace_go_everywhere() {
        let k = Kubectl {
            bin: "kubectl".into(),
            context: Some("prod".into()),
            namespace: Some("shop".into()),
        };
        let deploy = Verb::Deploy(Box::new(Deploy {
            image: Some(Text::plain("reg/web:2")),
            container: Some(Text::plain("app")),
            ..Default::default()
        }));
        assert_eq!(
            lines(&k, &deploy),
            [
                "$ kubectl set image deployment/web app=reg/web:2 --context prod --namespace shop",
                "$ kubectl rollout status deployment/web --timeout=600s --context prod --namespace shop",
            ]
        );
        assert_eq!(
            workload(&Text::plain("statefulset/db")).value(),
            "statefulset/db"
        );
    }

    #[test]
    fn each_verb_matches_the_spec_table() {
        let k = Kubectl {
            bin: "kubectl".into(),
            context: None,
            namespace: None,
        };
        assert_eq!(
            lines(&k, &Verb::Auth),
            ["$ kubectl auth can-i patch deployment/web"]
        );
        assert_eq!(
            lines(
                &k,
                &Verb::Rollback {
                    to: Some(Text::plain("v3"))
                }
            )[0],
            "$ kubectl rollout undo deployment/web --to-revision=3"
        );
        assert_eq!(
            lines(&k, &Verb::Restart)[0],
            "$ kubectl rollout restart deployment/web"
        );
        assert_eq!(
            lines(&k, &Verb::Scale { count: 0 }),
            ["$ kubectl scale deployment/web --replicas=0"]
        );
        let promote = Verb::Promote {
            percent: Some(5),
            flag: Some(Text::plain("CANARY_PERCENT")),
            flags: Vec::new(),
            label: None,
        };
        assert_eq!(
            lines(&k, &promote),
            ["$ kubectl set env deployment/web CANARY_PERCENT=5"]
        );
        let manifest = Verb::Deploy(Box::new(Deploy {
            manifest: Some(Text::plain("k8s/")),
            ..Default::default()
        }));
        assert_eq!(lines(&k, &manifest)[0], "$ kubectl apply -f k8s/");
        assert!(revision("latest").is_err());
    }
}
