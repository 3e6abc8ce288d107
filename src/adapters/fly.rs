//! Fly.io through `fly`: deploys, releases, restarts, scale, secrets as flags.

use serde_json::Value;

use super::{Argv, Call, Change, Failure, Runner, Running, argv, display};
use crate::plan::{Text, Verb};

/// The fly adapter: the binary to run.
pub struct Fly {
    pub bin: String,
}

/// What a rollback without `to` redeploys, as `show` says it.
const PREVIOUS: &str = "<the stable image pinned before the run changed the app>";

impl Fly {
    fn cmd(&self, args: &[&str]) -> Argv {
        let mut out = argv(&[self.bin.as_str()]);
        out.extend(argv(args));
        out
    }

    /// `fly deploy --app A [--config C] [--strategy S] [--image I]`.
    pub fn deploy_argv(&self, verb: &Verb, app: &Text) -> Argv {
        let mut out = self.cmd(&["deploy", "--app"]);
        out.push(app.clone());
        if let Verb::Deploy(d) = verb {
            for (flag, value) in [
                ("--config", &d.config),
                ("--strategy", &d.strategy),
                ("--image", &d.image),
            ] {
                if let Some(value) = value {
                    out.push(Text::plain(flag));
                    out.push(value.clone());
                }
            }
        }
        out
    }

    /// The releases of `app`, as JSON, newest first.
    pub fn releases_argv(&self, app: &Text) -> Argv {
        let mut out = self.cmd(&["releases", "--app"]);
        out.push(app.clone());
        out.push(Text::plain("--json"));
        out
    }

    /// Deploys `image` to `app` again: how fly goes back to an earlier release. With
    /// the `config` the run's deploy used, so a project-root `fly.toml` is not applied
    /// in its place (flyctl `internal/command/deploy`: `--config` picks the file whose
    /// services, env and checks the new machines get).
    pub fn redeploy_argv(&self, app: &Text, image: &Text, config: Option<&str>) -> Argv {
        let mut out = self.cmd(&["deploy", "--app"]);
        out.push(app.clone());
        if let Some(config) = config {
            out.push(Text::plain("--config"));
            out.push(Text::plain(config));
        }
        out.push(Text::plain("--image"));
        out.push(image.clone());
        out
    }

    /// The single command of the verbs that have one.
    pub fn simple_argv(&self, verb: &Verb, app: &Text) -> Option<Argv> {
        let with_app = |mut head: Argv, tail: &[&str]| {
            head.push(Text::plain("--app"));
            head.push(app.clone());
            head.extend(argv(tail));
            head
        };
        Some(match verb {
            Verb::Auth => self.cmd(&["auth", "whoami"]),
            Verb::Deploy(_) => self.deploy_argv(verb, app),
            Verb::Restart => {
                let mut out = self.cmd(&["apps", "restart"]);
                out.push(app.clone());
                out
            }
            Verb::Scale { count } => with_app(
                self.cmd(&["scale", "count", &count.to_string()]),
                &["--yes"],
            ),
            Verb::Promote { .. } => {
                // One `fly secrets set` for every variable: one release, one restart.
                let pairs = verb.promote_pairs();
                if pairs.is_empty() {
                    return None;
                }
                let mut out = self.cmd(&["secrets", "set"]);
                out.extend(pairs);
                with_app(out, &[])
            }
            Verb::Rollback { .. } => return None,
        })
    }

    pub fn describe(&self, verb: &Verb, app: &Text) -> Vec<String> {
        match verb {
            Verb::Rollback { to } => match to.as_ref().filter(|t| !is_version(t.value())) {
                Some(image) => vec![display(&self.redeploy_argv(app, image, None))],
                None => {
                    let image = match to {
                        Some(v) => format!("<image of release {}>", v.shown()),
                        None => PREVIOUS.to_string(),
                    };
                    vec![display(&self.redeploy_argv(app, &Text::plain(image), None))]
                }
            },
            other => self
                .simple_argv(other, app)
                .map(|a| vec![display(&a)])
                .unwrap_or_default(),
        }
    }

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        let app = call.target;
        if let Verb::Rollback { .. } = call.verb {
            return self.rollback(call, runner).await;
        }
        let argv = self
            .simple_argv(call.verb, app)
            .ok_or_else(|| Failure::failed("this promote step has no `flag` or `flags` to set"))?;
        runner.run(&argv).await?;
        if let Verb::Deploy(d) = call.verb
            && let Some(image) = &d.image
        {
            self.observe_version(app, image.value(), runner).await;
        }
        Ok(match call.verb {
            Verb::Deploy(d) => Change::Deployed(match &d.image {
                // Unmasked: the step keeps a secret part as its reference, not `***`.
                Some(image) => image.value().to_string(),
                None => format!(
                    "built from {}",
                    d.config.as_ref().map(|c| c.shown()).unwrap_or("fly.toml")
                ),
            }),
            Verb::Promote { percent, .. } => percent.map_or(Change::None, Change::Promoted),
            _ => Change::None,
        })
    }

    /// SPEC "read stable": the newest release with status `complete` — its image and
    /// version. fly-go's `Release` (api_types.go) has `Version`, `Status`, `ImageRef`;
    /// `fly releases --json` prints them newest first, `null` when there are none.
    pub async fn read_stable(
        &self,
        app: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        let releases = self.releases(app, runner).await?;
        Ok(releases
            .iter()
            .find(|r| r.status.eq_ignore_ascii_case("complete") && !r.image.is_empty())
            .map(|r| Running {
                release: r.image.clone(),
                revision: Some(format!("v{}", r.version)),
            }))
    }

    async fn releases(&self, app: &Text, runner: &Runner<'_>) -> Result<Vec<FlyRelease>, Failure> {
        let listed = runner.run(&self.releases_argv(app)).await?;
        // Parsed unmasked: a secret inside an image reference (a private registry host)
        // must reach `--image` as it is, not as `***`.
        parse_releases(&listed.raw_output)
            .map_err(|e| Failure::failed(format!("cannot read `fly releases` for {app}: {e}")))
    }

    /// SPEC §4.1: back to `--to` (an image, or a release version), else to the stable
    /// image this run pinned, else (`--all` on an app the run did not pin) to the
    /// newest complete release older than the current one with a different image — a
    /// `fly secrets set` is a release of its own carrying the current image
    /// (flyctl `internal/command/secrets/secrets.go` → a new release), so "the one
    /// before" is often the same bad image.
    async fn rollback(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        let app = call.target;
        // A secret part (a private registry host) is kept as `{{secret.NAME}}`: filled
        // in again from this run's secrets.
        let pinned = call
            .stable
            .as_ref()
            .and_then(|s| s.release.as_deref())
            .map(|r| runner.redactor.from_refs(r).value().to_string());
        let image = match (call.to.as_deref(), pinned) {
            (Some(to), _) if !is_version(to) => to.to_string(),
            (Some(version), _) => image_of(&self.releases(app, runner).await?, version)?,
            // A pin masked by an earlier version (`***`), or naming a secret this run
            // did not read: the pinned release version finds the real image again.
            (None, Some(stable))
                if stable.contains(crate::plan::MASK) || stable.contains("{{secret.") =>
            {
                let version = call.stable.as_ref().and_then(|s| s.revision.clone());
                let version = version.ok_or_else(|| {
                    Failure::failed(format!("the stable image of {app} is not known unmasked; name it with `rollout rollback --to IMAGE`"))
                })?;
                image_of(&self.releases(app, runner).await?, &version)?
            }
            (None, Some(stable)) => stable,
            (None, None) if call.stable.is_some() => {
                return Err(Failure::failed(format!(
                    "{app} has no stable release: it ran nothing before this run deployed it (a first deploy); name one with `rollout rollback --to IMAGE`"
                )));
            }
            (None, None) => previous_image(&self.releases(app, runner).await?)?,
        };
        runner
            .run(&self.redeploy_argv(
                app,
                &Text::plain(image.clone()),
                call.known.config.as_deref(),
            ))
            .await?;
        self.observe_version(app, &image, runner).await;
        Ok(Change::RolledBack(image))
    }

    /// SPEC §4.4 "fly adds `version=`": flyctl's deploy does not print the release it
    /// made (internal/command/deploy/machines.go keeps it in `releaseVersion`), so it is
    /// read back from `fly releases --json` — the newest release of `image`. Only what is
    /// seen is said: a listing that fails or lacks it leaves the version out.
    async fn observe_version(&self, app: &Text, image: &str, runner: &Runner<'_>) {
        let Ok(releases) = self.releases(app, runner).await else {
            return;
        };
        if let Some(release) = releases.iter().find(|r| r.image == image) {
            (runner.observe)("version", &format!("v{}", release.version));
        }
    }
}

/// `12` or `v12`: a release number rather than an image.
fn is_version(to: &str) -> bool {
    let digits = to.strip_prefix('v').unwrap_or(to);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// One entry of `fly releases --json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlyRelease {
    pub version: u64,
    pub status: String,
    pub image: String,
}

/// The JSON array `fly releases --json` prints, newest first. Text around it (a
/// warning on stderr) is skipped.
pub fn parse_releases(output: &str) -> Result<Vec<FlyRelease>, String> {
    // flyctl prints `null` for an app with no release (a Go nil slice as JSON).
    if output.lines().any(|l| l.trim() == "null") && !output.contains('[') {
        return Ok(Vec::new());
    }
    let start = output.find('[').ok_or("no JSON array in its output")?;
    let end = output.rfind(']').ok_or("no JSON array in its output")?;
    let json = output
        .get(start..=end)
        .ok_or("no JSON array in its output")?;
    let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = value.as_array().ok_or("the JSON is not an array")?;
    let mut out = Vec::new();
    for item in items {
        let version = item.get("Version").and_then(Value::as_u64);
        let status = item.get("Status").and_then(Value::as_str);
        let image = item.get("ImageRef").and_then(Value::as_str);
        if let (Some(version), Some(status), Some(image)) = (version, status, image) {
            out.push(FlyRelease {
                version,
                status: status.to_string(),
                image: image.to_string(),
            });
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.version));
    Ok(out)
}

/// The image of the newest complete release older than the current (newest) one
/// whose image differs from the current one.
pub fn previous_image(releases: &[FlyRelease]) -> Result<String, Failure> {
    let current = releases.first().ok_or_else(|| {
        Failure::failed("`fly releases` lists no release: there is nothing to roll back to")
    })?;
    releases
        .iter()
        .find(|r| {
            r.version < current.version
                && r.status.eq_ignore_ascii_case("complete")
                && !r.image.is_empty()
                && r.image != current.image
        })
        .map(|r| r.image.clone())
        .ok_or_else(|| {
            Failure::failed(format!(
                "no complete release older than v{} to roll back to; name one with `rollout rollback --to IMAGE` (or a version, v12)",
                current.version
            ))
        })
}

/// The image of release `to` (`12` or `v12`).
fn image_of(releases: &[FlyRelease], to: &str) -> Result<String, Failure> {
    let wanted: u64 = to.trim_start_matches('v').parse().unwrap_or(u64::MAX);
    releases
        .iter()
        .find(|r| r.version == wanted)
        .map(|r| r.image.clone())
        .ok_or_else(|| {
            Failure::failed(format!(
                "`fly releases` has no release {to}; `fly releases --app APP` lists them"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Deploy;

    fn fly() -> Fly {
        Fly { bin: "fly".into() }
    }

    fn shown(a: &Argv) -> Vec<&str> {
        a.iter().map(Text::shown).collect()
    }

    const RELEASES: &str = r#"[
      {"Version": 7, "Status": "complete", "ImageRef": "reg/app:7", "CreatedAt": "2026-01-03T00:00:00Z"},
      {"Version": 6, "Status": "failed", "ImageRef": "reg/app:6", "CreatedAt": "2026-01-02T00:00:00Z"},
      {"Version": 5, "Status": "complete", "ImageRef": "reg/app:5", "CreatedAt": "2026-01-01T00:00:00Z"}
    ]"#;

    #[test]
    fn deploy_passes_only_the_fields_given() {
        let verb = Verb::Deploy(Box::new(Deploy {
            config: Some(Text::plain("fly.staging.toml")),
            strategy: Some(Text::plain("rolling")),
            ..Default::default()
        }));
        let a = fly().deploy_argv(&verb, &Text::plain("web"));
        assert_eq!(
            shown(&a),
            [
                "fly",
                "deploy",
                "--app",
                "web",
                "--config",
                "fly.staging.toml",
                "--strategy",
                "rolling"
            ]
        );
    }

    #[test]
    fn the_simple_verbs_match_the_spec_table() {
        let app = Text::plain("web");
        let f = fly();
        let line = |v: &Verb| shown(&f.simple_argv(v, &app).unwrap()).join(" ");
        assert_eq!(line(&Verb::Auth), "fly auth whoami");
        assert_eq!(line(&Verb::Restart), "fly apps restart web");
        assert_eq!(
            line(&Verb::Scale { count: 0 }),
            "fly scale count 0 --app web --yes"
        );
        let promote = Verb::Promote {
            percent: Some(25),
            flag: Some(Text::plain("CANARY_PERCENT")),
            flags: Vec::new(),
            label: None,
        };
        assert_eq!(
            line(&promote),
            "fly secrets set CANARY_PERCENT=25 --app web"
        );
    }

    #[test]
    fn rollback_picks_the_newest_complete_release_before_the_current() {
        let releases = parse_releases(&format!("warning: old flyctl\n{RELEASES}")).unwrap();
        assert_eq!(releases.len(), 3);
        assert_eq!(previous_image(&releases).unwrap(), "reg/app:5");
        assert_eq!(image_of(&releases, "v6").unwrap(), "reg/app:6");
    }

    #[test]
    fn no_complete_older_release_is_a_clear_error() {
        let only = parse_releases(r#"[{"Version":1,"Status":"complete","ImageRef":"a"}]"#).unwrap();
        let Err(Failure::Failed { message, .. }) = previous_image(&only) else {
            panic!("expected a failure")
        };
        assert!(
            message.contains("no complete release older than v1"),
            "{message}"
        );
        assert!(previous_image(&[]).is_err());
        assert!(parse_releases("Error: not logged in").is_err());
    }

    #[test]
    fn describe_names_the_pinned_stable_image_or_the_one_given() {
        let lines = fly().describe(&Verb::Rollback { to: None }, &Text::plain("web"));
        assert_eq!(
            lines,
            [
                "$ fly deploy --app web --image '<the stable image pinned before the run changed the app>'"
            ]
        );
        let to_image = Verb::Rollback {
            to: Some(Text::plain("reg/app:5")),
        };
        assert_eq!(
            fly().describe(&to_image, &Text::plain("web")),
            ["$ fly deploy --app web --image reg/app:5"]
        );
    }
}
