//! Kubernetes through `kubectl`: apply or set image, rollout status/undo/restart,
//! scale, env vars as flags. `--context`/`--namespace` go on every call when set.

use std::time::Duration;

use super::{Argv, Call, Change, Failure, Runner, argv, display};
use crate::plan::{Text, Verb};

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
            Verb::Promote { percent, flag } => {
                let flag = flag
                    .as_ref()
                    .ok_or_else(|| Failure::failed("this promote step has no `flag` to set"))?;
                vec![self.cmd(vec![
                    p("set"),
                    p("env"),
                    w.clone(),
                    Text::with_shown(
                        format!("{}={percent}", flag.value()),
                        format!("{}={percent}", flag.shown()),
                    ),
                ])]
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

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        // `--to` from the command line wins over the step's `to`.
        let verb = match (call.verb, &call.to) {
            (Verb::Rollback { .. }, Some(to)) => Verb::Rollback {
                to: Some(Text::plain(to)),
            },
            (verb, _) => verb.clone(),
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
                (None, Some(image)) => image.shown().to_string(),
                (None, None) => "deployed".to_string(),
            }),
            Verb::Rollback { to } => Change::RolledBack(match (to, &call.known.previous) {
                (Some(to), _) => format!("revision {}", to.shown()),
                (None, Some(previous)) => previous.clone(),
                (None, None) => "the previous revision".to_string(),
            }),
            Verb::Promote { percent, .. } => Change::Promoted(*percent),
            _ => Change::None,
        })
    }
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
            percent: 5,
            flag: Some(Text::plain("CANARY_PERCENT")),
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
