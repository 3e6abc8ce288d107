//! Docker Compose services through `docker compose` (v2) or `docker-compose` (v1): a
//! release is the image a service's containers were created from. rollout sets images
//! and flags in an override file of its own (`.rollout/compose/PROJECT.override.yml`,
//! the last `-f`), then recreates only that service (`up -d --no-deps SERVICE`): other
//! services of the project are never touched.
//!
//! From docker/compose's source: `up --no-deps` starts no linked service and `--wait`
//! waits for running|healthy (cmd/compose/up.go); a service is recreated when its
//! configuration hash changes — a new image or environment (pkg/compose/convergence.go,
//! pkg/compose/hash.go); containers carry the labels `com.docker.compose.project`,
//! `…service` and `…oneoff` (pkg/api/labels.go), which v1 sets the same way
//! (compose/const.py), so the engine says what a service runs whichever tool made it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Argv, Call, Change, Failure, Runner, Running, argv, display};
use crate::plan::{AdapterSettings, Text, Verb};

/// The compose adapter and its project.
pub struct Compose {
    /// `docker` (v2: `docker compose …`) or a `docker-compose` (v1).
    pub bin: String,
    pub files: Vec<PathBuf>,
    pub project: String,
}

impl Compose {
    pub fn new(bin: String, settings: &AdapterSettings) -> Compose {
        Compose {
            bin,
            files: settings.files.clone().unwrap_or_default(),
            project: settings
                .project
                .clone()
                .unwrap_or_else(|| "default".to_string()),
        }
    }

    /// v1, the Python `docker-compose`: no `compose` subcommand and no `--wait`.
    pub fn is_v1(&self) -> bool {
        Path::new(&self.bin)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("docker-compose"))
    }

    /// The engine's CLI: the same `docker` for v2; `docker` on PATH beside v1.
    fn docker(&self) -> &str {
        if self.is_v1() { "docker" } else { &self.bin }
    }

    /// rollout's own override file, the last `-f` of every call once it exists.
    pub fn override_path(&self, root: &Path) -> PathBuf {
        root.join(".rollout")
            .join("compose")
            .join(format!("{}.override.yml", self.project))
    }

    /// `docker compose -p P -f F… [-f OWN]`: the project as validated, and rollout's own
    /// override when given.
    fn base(&self, own: Option<PathBuf>) -> Argv {
        let mut out = argv(&[self.bin.as_str()]);
        if !self.is_v1() {
            out.push(Text::plain("compose"));
        }
        out.extend(argv(&["-p", &self.project]));
        for file in self.files.iter().cloned().chain(own) {
            out.push(Text::plain("-f"));
            out.push(Text::plain(file.display().to_string()));
        }
        out
    }

    /// The override to pass: the file under `root` once it exists; for `show` (no root),
    /// its name as it will be.
    fn own_file(&self, root: Option<&Path>) -> Option<PathBuf> {
        match root {
            Some(root) => Some(self.override_path(root)).filter(|p| p.is_file()),
            None => Some(PathBuf::from(format!(
                ".rollout/compose/{}.override.yml",
                self.project
            ))),
        }
    }

    /// `docker compose -p P -f F… [-f OVERRIDE] ARGS… SERVICE`.
    fn cmd(&self, root: Option<&Path>, args: &[&str], service: &Text) -> Argv {
        let mut out = self.base(self.own_file(root));
        out.extend(argv(args));
        out.push(service.clone());
        out
    }

    /// `up -d --no-deps [--wait] SERVICE` (v1 waits by polling the engine instead).
    fn up(&self, root: Option<&Path>, service: &Text, extra: &[&str]) -> Argv {
        let mut args = vec!["up", "-d", "--no-deps"];
        args.extend_from_slice(extra);
        if !self.is_v1() {
            args.push("--wait");
        }
        self.cmd(root, &args, service)
    }

    fn engine(&self, args: &[&str]) -> Argv {
        let mut out = argv(&[self.docker()]);
        out.extend(argv(args));
        out
    }

    /// `docker ps -q` of the service's containers (not one-off `compose run` ones).
    fn containers_argv(&self, service: &Text) -> Argv {
        let mut out = self.engine(&[
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
        ]);
        out.push(Text::with_shown(
            format!("label=com.docker.compose.service={}", service.value()),
            format!("label=com.docker.compose.service={}", service.shown()),
        ));
        out.extend(argv(&["--filter", "label=com.docker.compose.oneoff=False"]));
        out
    }

    /// The lines `show` and `--dry-run` print.
    pub fn describe(&self, verb: &Verb, service: &Text) -> Vec<String> {
        let own = format!(".rollout/compose/{}.override.yml", self.project);
        let up = |what: String, extra: &[&str]| {
            let mut lines = vec![what, display(&self.up(None, service, extra))];
            if self.is_v1() {
                lines.push(format!(
                    "wait until {service}'s containers run (and are healthy): $ docker inspect …"
                ));
            }
            lines
        };
        match verb {
            Verb::Auth => vec![
                display(&self.config_argv()),
                display(&self.engine(&["info", "--format", "{{.ServerVersion}}"])),
            ],
            Verb::Deploy(d) if d.build => vec![display(&self.up(None, service, &["--build"]))],
            Verb::Deploy(d) => up(
                format!(
                    "write {own}: services.{service}.image = {}",
                    d.image.as_ref().map(Text::shown).unwrap_or("<image>")
                ),
                &[],
            ),
            Verb::Rollback { to } => up(
                format!(
                    "write {own}: services.{service}.image = {}",
                    to.as_ref()
                        .map(Text::shown)
                        .unwrap_or("<the image the service ran before the run changed it>")
                ),
                &[],
            ),
            Verb::Restart => vec![display(&self.cmd(None, &["restart"], service))],
            Verb::Scale { count } => {
                let scale = format!("--scale={}={count}", service.shown());
                vec![display(&self.cmd(
                    None,
                    &["up", "-d", "--no-deps", &scale],
                    service,
                ))]
            }
            Verb::Promote { .. } => {
                let pairs: Vec<String> = verb
                    .promote_pairs()
                    .iter()
                    .map(|p| p.shown().to_string())
                    .collect();
                up(
                    format!(
                        "write {own}: services.{service}.environment {}",
                        pairs.join(" ")
                    ),
                    &[],
                )
            }
        }
    }

    /// `config --quiet` reads the compose files only: rollout's override may not exist.
    fn config_argv(&self) -> Argv {
        let mut out = self.base(None);
        out.extend(argv(&["config", "--quiet"]));
        out
    }

    /// SPEC "read stable": the image the service's running container was created from
    /// (`Config.Image`, as written in its compose file or override) and the image ID
    /// it resolved to; `None` when no container runs it (a first deploy).
    pub async fn read_stable(
        &self,
        service: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        let Some(id) = self
            .container_ids(service, runner)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let out = runner
            .run(&self.engine(&["inspect", "--format", "{{.Config.Image}} {{.Image}}", &id]))
            .await?;
        let line = out
            .raw_output
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty());
        Ok(line.and_then(|l| {
            let (name, image_id) = l.split_once(' ').unwrap_or((l, ""));
            (!name.is_empty()).then(|| Running {
                release: name.to_string(),
                revision: Some(image_id.to_string()).filter(|i| !i.is_empty()),
            })
        }))
    }

    async fn container_ids(
        &self,
        service: &Text,
        runner: &Runner<'_>,
    ) -> Result<Vec<String>, Failure> {
        let out = runner.run(&self.containers_argv(service)).await?;
        Ok(out
            .raw_output
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        let service = call.target;
        let root = runner.root;
        match call.verb {
            Verb::Auth => {
                runner.run(&self.config_argv()).await?;
                runner
                    .run(&self.engine(&["info", "--format", "{{.ServerVersion}}"]))
                    .await?;
                Ok(Change::None)
            }
            Verb::Deploy(d) if d.build => {
                runner
                    .run(&self.up(Some(root), service, &["--build"]))
                    .await?;
                self.wait_v1(service, runner).await?;
                // A build names no image of its own: what runs now is read back, so state
                // says the image compose built (and its ID), not a guess.
                let built = self.read_stable(service, runner).await?;
                Ok(Change::Deployed(match built {
                    Some(running) => running.release,
                    None => {
                        return Err(Failure::failed(format!(
                            "no container of {service} runs after `up --build`"
                        )));
                    }
                }))
            }
            Verb::Deploy(d) => {
                let image = d
                    .image
                    .as_ref()
                    .ok_or_else(|| Failure::failed("a compose deploy needs `image`"))?;
                self.set_override(root, service, |s| {
                    s.insert("image".into(), json!(image.value()));
                })?;
                runner.run(&self.up(Some(root), service, &[])).await?;
                self.wait_v1(service, runner).await?;
                Ok(Change::Deployed(image.value().to_string()))
            }
            Verb::Rollback { to } => {
                let image = self.rollback_image(call, to.as_ref(), runner).await?;
                self.set_override(root, service, |s| {
                    s.insert("image".into(), json!(image));
                })?;
                runner.run(&self.up(Some(root), service, &[])).await?;
                self.wait_v1(service, runner).await?;
                Ok(Change::RolledBack(image))
            }
            Verb::Restart => {
                runner
                    .run(&self.cmd(Some(root), &["restart"], service))
                    .await?;
                Ok(Change::None)
            }
            Verb::Scale { count } => {
                let scale = format!("--scale={}={count}", service.value());
                runner
                    .run(&self.cmd(Some(root), &["up", "-d", "--no-deps", &scale], service))
                    .await?;
                Ok(Change::None)
            }
            Verb::Promote { percent, .. } => {
                let pairs = call.verb.promote_pairs();
                if pairs.is_empty() {
                    return Err(Failure::failed(
                        "this promote step has no `flag` or `flags` to set",
                    ));
                }
                // One change: every variable in the override, one recreate.
                self.set_override(root, service, |s| {
                    let env = s
                        .entry("environment")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(env) = env {
                        for pair in &pairs {
                            if let Some((k, v)) = pair.value().split_once('=') {
                                env.insert(k.to_string(), json!(v));
                            }
                        }
                    }
                })?;
                runner.run(&self.up(Some(root), service, &[])).await?;
                self.wait_v1(service, runner).await?;
                Ok(percent.map_or(Change::None, Change::Promoted))
            }
        }
    }

    /// `--to`, else the step's `to`, else the pin: its image name while that name still
    /// means the pinned image, else the pinned image ID (a rebuild or a moved tag must
    /// not send the rollback to the new image); else (`--all`, no pin) the release
    /// recorded before the current one.
    async fn rollback_image(
        &self,
        call: &Call<'_>,
        to: Option<&Text>,
        runner: &Runner<'_>,
    ) -> Result<String, Failure> {
        if let Some(to) = call
            .to
            .clone()
            .or_else(|| to.map(|t| t.value().to_string()))
        {
            return Ok(to);
        }
        let service = call.target;
        match &call.stable {
            Some(stable) => {
                let Some(name) = stable.release.as_deref() else {
                    return Err(Failure::failed(format!(
                        "{service} has no stable release: no container ran it before this run (a first deploy); name an image with `rollout rollback --to IMAGE`"
                    )));
                };
                let name = runner.redactor.from_refs(name).value().to_string();
                let Some(pinned_id) = &stable.revision else {
                    return Ok(name);
                };
                let now = runner
                    .spawn(&self.engine(&["image", "inspect", "--format", "{{.Id}}", &name]))
                    .await?;
                Ok(if now.raw_output.trim() == pinned_id { name } else { pinned_id.clone() })
            }
            None => call.known.previous.clone().ok_or_else(|| {
                Failure::failed(format!(
                    "no release of {service} before the current one is known; name an image with `rollout rollback --to IMAGE`"
                ))
            }),
        }
    }

    /// Sets the service's part of rollout's override file (valid JSON is valid YAML,
    /// so the file is written as JSON), atomically.
    fn set_override(
        &self,
        root: &Path,
        service: &Text,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), Failure> {
        let path = self.override_path(root);
        let mut doc: Value = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Failure::failed(format!(
                    "rollout's compose override {} is not the JSON rollout writes ({e}); remove it and deploy again",
                    path.display()
                ))
            })?,
            Err(_) => json!({"services": {}}),
        };
        let services = doc
            .as_object_mut()
            .and_then(|d| {
                d.entry("services")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
            .ok_or_else(|| Failure::failed(format!("{} has no services table", path.display())))?;
        let entry = services
            .entry(service.value().to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(s) = entry {
            change(s);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir)
            .and_then(|_| {
                let tmp = dir.join(format!(".{}.tmp", self.project));
                std::fs::write(&tmp, text + "\n")?;
                std::fs::rename(&tmp, &path)
            })
            .map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))
    }

    /// v1 has no `--wait`: poll the service's containers until each runs (and is
    /// healthy, where it has a healthcheck), before the step's deadline.
    async fn wait_v1(&self, service: &Text, runner: &Runner<'_>) -> Result<(), Failure> {
        if !self.is_v1() {
            return Ok(());
        }
        loop {
            let ids = self.container_ids(service, runner).await?;
            let mut states = Vec::new();
            for id in &ids {
                let out = runner
                    .spawn(&self.engine(&[
                        "inspect",
                        "--format",
                        "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                        id,
                    ]))
                    .await?;
                states.push(out.raw_output.trim().to_string());
            }
            let ready = !ids.is_empty()
                && states
                    .iter()
                    .all(|s| s == "running" || s == "running healthy");
            if ready {
                return Ok(());
            }
            if let Some(bad) = states.iter().find(|s| {
                s.starts_with("exited") || s.starts_with("dead") || s.ends_with("unhealthy")
            }) {
                return Err(Failure::failed(format!(
                    "{service}'s container is {bad} after `up`"
                )));
            }
            if runner.remaining() < Duration::from_millis(600) {
                return Err(Failure::failed(format!(
                    "{service}'s containers were not running (and healthy) before the step's timeout: {}",
                    states.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compose(bin: &str) -> Compose {
        Compose::new(
            bin.to_string(),
            &AdapterSettings {
                files: Some(vec![PathBuf::from("compose.yaml")]),
                project: Some("shop".into()),
                ..Default::default()
            },
        )
    }

    #[test]
    fn v2_waits_with_up_and_v1_is_its_own_binary() {
        let web = Text::plain("web");
        let v2 = compose("docker");
        assert_eq!(
            display(&v2.up(None, &web, &[])),
            "$ docker compose -p shop -f compose.yaml -f .rollout/compose/shop.override.yml up -d --no-deps --wait web"
        );
        let v1 = compose("/usr/bin/docker-compose");
        assert!(v1.is_v1());
        assert_eq!(
            display(&v1.up(None, &web, &["--build"])),
            "$ /usr/bin/docker-compose -p shop -f compose.yaml -f .rollout/compose/shop.override.yml up -d --no-deps --build web"
        );
        assert_eq!(
            display(&v1.containers_argv(&web)),
            "$ docker ps -q --no-trunc --filter label=com.docker.compose.project=shop --filter label=com.docker.compose.service=web --filter label=com.docker.compose.oneoff=False"
        );
        assert_eq!(
            display(&v2.config_argv()),
            "$ docker compose -p shop -f compose.yaml config --quiet"
        );
    }

    #[test]
    fn the_override_keeps_every_service_and_flag_rollout_set() {
        let dir = tempfile::tempdir().unwrap();
        let c = compose("docker");
        let web = Text::plain("web");
        c.set_override(dir.path(), &web, |s| {
            s.insert("image".into(), json!("reg/web:2"));
        })
        .unwrap();
        c.set_override(dir.path(), &Text::plain("worker"), |s| {
            s.insert("image".into(), json!("reg/worker:2"));
        })
        .unwrap();
        c.set_override(dir.path(), &web, |s| {
            s.insert("environment".into(), json!({"FLAG": "10"}));
        })
        .unwrap();
        let text = std::fs::read_to_string(c.override_path(dir.path())).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["services"]["web"]["image"], "reg/web:2");
        assert_eq!(doc["services"]["web"]["environment"]["FLAG"], "10");
        assert_eq!(doc["services"]["worker"]["image"], "reg/worker:2");
        // Valid YAML too: what compose reads.
        let yaml = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        assert_eq!(
            yaml[0]["services"]["web"]["image"].as_str(),
            Some("reg/web:2")
        );
    }
}
