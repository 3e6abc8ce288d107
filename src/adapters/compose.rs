//! Docker Compose services: one service of a compose project is the target. The image
//! and flags are set through an override file rollout writes under `.rollout/compose/`
//! (always pinning the image the service runs), and every change is `up -d --no-deps
//! SERVICE`, so no other service of the project is ever recreated.
//!
//! Both tools are spoken: compose v2 (`docker compose …`, the default) and v1
//! (`docker-compose …`, the Python tool, which has no `up --wait`: rollout polls the
//! containers' state and health instead). What the engine runs is read with the docker
//! CLI by the labels both versions put on their containers
//! (`com.docker.compose.project` / `com.docker.compose.service`: v1
//! `compose/const.py` LABEL_PROJECT / LABEL_SERVICE; v2 `pkg/api/labels.go`
//! ProjectLabel / ServiceLabel in docker/compose).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Argv, Call, Change, Failure, Runner, Running, argv, display};
use crate::plan::{AdapterSettings, Text, Verb};

/// The files compose v2 looks for, in its order (compose-spec/compose-go
/// `cli/options.go` DefaultFileNames / DefaultOverrideFileNames).
const V2_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const V2_OVERRIDES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];
/// The files compose v1 looks for, in its order (docker/compose 1.29
/// `compose/config/config.py` SUPPORTED_FILENAMES / DEFAULT_OVERRIDE_FILENAMES).
const V1_FILES: [&str; 4] = [
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
];
const V1_OVERRIDES: [&str; 4] = [
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
    "compose.override.yml",
    "compose.override.yaml",
];

/// The label both compose versions put on a service's containers.
const LABEL_PROJECT: &str = "com.docker.compose.project";
const LABEL_SERVICE: &str = "com.docker.compose.service";

/// How often v1's missing `--wait` is made up for by asking the engine.
const POLL: Duration = Duration::from_millis(500);

/// The compose adapter and its settings.
pub struct Compose {
    /// `docker` (v2, `docker compose …`), or `docker-compose` (v1), or a path to either.
    pub bin: String,
    /// The docker CLI that reads the engine: `bin` itself for v2, `docker` for v1.
    pub docker: String,
    /// `[adapters.compose] file`; `None`: what compose itself finds.
    pub files: Option<Vec<PathBuf>>,
    pub project: Option<String>,
    /// The v1 tool (`docker-compose`).
    pub v1: bool,
    env: Option<String>,
    project_env: Option<String>,
}

impl Compose {
    pub fn new(
        bin: String,
        settings: &AdapterSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Compose {
        let v1 = Path::new(&bin)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("docker-compose"));
        let docker = if v1 {
            "docker".to_string()
        } else {
            bin.clone()
        };
        Compose {
            bin,
            docker,
            files: settings.file.clone(),
            project: settings.project.clone(),
            v1,
            env: env("DOCKER_HOST").filter(|h| !h.trim().is_empty()),
            project_env: env("COMPOSE_PROJECT_NAME").filter(|p| !p.trim().is_empty()),
        }
    }

    /// The engine's socket as people name it: `DOCKER_HOST`, else the default.
    pub fn socket(&self) -> String {
        self.env
            .clone()
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
    }

    /// The compose files, in order: the configured ones, else the first of compose's
    /// own names found in `root` or a folder above it, with its `.override` companion
    /// (the same search compose does, `config.py` get_default_config_files in v1,
    /// compose-go `cli/options.go` WithDefaultConfigPath in v2).
    pub fn compose_files(&self, root: &Path) -> Result<Vec<PathBuf>, Failure> {
        if let Some(files) = &self.files {
            for file in files {
                if !file.is_file() {
                    return Err(Failure::failed(format!(
                        "the compose file {} does not exist; fix `[adapters.compose] file`",
                        file.display()
                    )));
                }
            }
            return Ok(files.clone());
        }
        let (names, overrides) = if self.v1 {
            (V1_FILES, V1_OVERRIDES)
        } else {
            (V2_FILES, V2_OVERRIDES)
        };
        for dir in root.ancestors() {
            if let Some(found) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
                let mut out = vec![found];
                out.extend(overrides.iter().map(|n| dir.join(n)).find(|p| p.is_file()));
                return Ok(out);
            }
        }
        Err(Failure::failed(format!(
            "no compose file in {} or a folder above it ({}); set `[adapters.compose] file = \"path/to/compose.yaml\"`",
            root.display(),
            names.join(", ")
        )))
    }

    /// The override file rollout writes for `service`, relative to the project root.
    pub fn override_path(&self, service: &str) -> PathBuf {
        let name = match &self.project {
            Some(project) => format!("{project}.{service}.yml"),
            None => format!("{service}.yml"),
        };
        Path::new(".rollout/compose").join(name)
    }

    /// `docker compose [-p P] -f F… [-f OVERRIDE] ARGS…` (or `docker-compose …`).
    fn cmd(&self, files: &[String], with_override: Option<&Path>, args: Vec<Text>) -> Argv {
        let mut out = vec![Text::plain(&self.bin)];
        if !self.v1 {
            out.push(Text::plain("compose"));
        }
        if let Some(project) = &self.project {
            out.extend(argv(&["-p", project]));
        }
        for file in files {
            out.extend(argv(&["-f", file]));
        }
        if let Some(path) = with_override {
            out.extend(argv(&["-f", &path.to_string_lossy()]));
        }
        out.extend(args);
        out
    }

    /// `up -d --no-deps [--wait] [--build] [--scale S=N] SERVICE`: `--wait` only where
    /// compose has it (v2, `cmd/compose/up.go` "wait"; v1's `up` has no such flag).
    fn up_args(&self, service: &Text, build: bool, scale: Option<u32>) -> Vec<Text> {
        let mut args = argv(&["up", "-d", "--no-deps"]);
        if !self.v1 && scale != Some(0) {
            args.push(Text::plain("--wait"));
        }
        if build {
            args.push(Text::plain("--build"));
        }
        if let Some(n) = scale {
            args.push(Text::plain("--scale"));
            args.push(Text::plain(format!("{}={n}", service.value())));
        }
        args.push(service.clone());
        args
    }

    fn engine_argv(&self) -> Argv {
        argv(&[&self.docker, "info", "--format", "{{.ServerVersion}}"])
    }

    pub fn describe(&self, verb: &Verb, service: &Text) -> Vec<String> {
        let files: Vec<String> = match &self.files {
            Some(files) => files.iter().map(|f| f.display().to_string()).collect(),
            None => vec![if self.v1 {
                "<docker-compose.yml, as compose finds it>".to_string()
            } else {
                "<compose.yaml, as compose finds it>".to_string()
            }],
        };
        let over = self.override_path(service.value());
        let up = |build: bool, scale: Option<u32>| {
            let mut lines = vec![display(&self.cmd(
                &files,
                Some(&over),
                self.up_args(service, build, scale),
            ))];
            if self.v1 && scale != Some(0) {
                lines.push(format!(
                    "poll `{} inspect` of {service}'s containers until they run (and are healthy, where they have a healthcheck)",
                    self.docker
                ));
            }
            lines
        };
        let write = |what: String| format!("write {}: {what}", over.display());
        let mut lines = Vec::new();
        match verb {
            Verb::Auth => {
                lines.push(display(&self.engine_argv()));
                lines.push(format!(
                    "{} (the files parse and list {service})",
                    display(&self.cmd(&files, None, argv(&["config", "--services"])))
                ));
            }
            Verb::Deploy(d) => match (&d.image, d.build) {
                (Some(image), _) => {
                    lines.push(write(format!(
                        "services.{service}.image = {}",
                        image.shown()
                    )));
                    lines.extend(up(false, None));
                }
                (None, _) => {
                    lines.push(write(format!(
                        "services.{service} without an image pin (compose builds and tags it)"
                    )));
                    lines.extend(up(true, None));
                }
            },
            Verb::Rollback { to } => {
                let image = to
                    .as_ref()
                    .map(Text::shown)
                    .unwrap_or("<the stable image, pinned before the run changed the service>");
                lines.push(write(format!("services.{service}.image = {image}")));
                lines.extend(up(false, None));
            }
            Verb::Restart => {
                lines.push(display(&self.cmd(
                    &files,
                    Some(&over),
                    vec![Text::plain("restart"), service.clone()],
                )));
            }
            Verb::Scale { count } => lines.extend(up(false, Some(*count))),
            Verb::Promote { .. } => {
                let shown: Vec<String> = verb
                    .promote_pairs()
                    .iter()
                    .map(|p| p.shown().to_string())
                    .collect();
                lines.push(write(format!(
                    "services.{service}.environment {} (the image pinned to the one it runs)",
                    shown.join(" ")
                )));
                lines.extend(up(false, None));
            }
        }
        lines
    }

    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        let service = call.target;
        let files = self.file_args(runner.root)?;
        let over = self.override_path(service.value());
        let over_abs = runner.root.join(&over);
        let existing = over_abs.is_file().then_some(over.as_path());
        match call.verb {
            Verb::Auth => {
                self.check(service, runner).await?;
                Ok(Change::None)
            }
            Verb::Deploy(d) => {
                let image = d.image.as_ref().map(|i| i.value().to_string());
                let mut doc = read_override(&over_abs)?;
                set_service(
                    &mut doc,
                    service.value(),
                    "image",
                    image.clone().map(Value::String),
                );
                write_override(&over_abs, &doc)?;
                self.up(&files, &over, service, d.build, None, runner)
                    .await?;
                let release = match image {
                    Some(image) => image,
                    // Built: the reference compose tagged it with, as the engine has it.
                    None => self
                        .read_running(service, runner)
                        .await?
                        .map(|r| r.release)
                        .ok_or_else(|| {
                            Failure::failed(format!(
                                "compose built and started {service}, but the engine runs no container of it"
                            ))
                        })?,
                };
                Ok(Change::Deployed(release))
            }
            Verb::Rollback { to } => {
                let named = call
                    .to
                    .clone()
                    .or_else(|| to.as_ref().map(|t| t.value().to_string()));
                let (image, pinned_id) = match named {
                    Some(to) => (to, None),
                    None => {
                        let stable = call.stable.as_ref();
                        let image = stable.and_then(|s| s.release.clone()).ok_or_else(|| {
                            Failure::failed(format!(
                                "{service} has no stable image: it ran nothing before this run (a first deploy); name one with `rollout rollback --to IMAGE`"
                            ))
                        })?;
                        (image, stable.and_then(|s| s.revision.clone()))
                    }
                };
                let run_image = match pinned_id {
                    Some(id) => self.same_image(&image, &id, runner).await,
                    None => image.clone(),
                };
                let mut doc = read_override(&over_abs)?;
                set_service(
                    &mut doc,
                    service.value(),
                    "image",
                    Some(Value::String(run_image)),
                );
                write_override(&over_abs, &doc)?;
                self.up(&files, &over, service, false, None, runner).await?;
                Ok(Change::RolledBack(image))
            }
            Verb::Restart => {
                runner
                    .run(&self.cmd(
                        &files,
                        existing,
                        vec![Text::plain("restart"), service.clone()],
                    ))
                    .await?;
                Ok(Change::None)
            }
            Verb::Scale { count } => {
                match existing {
                    Some(over) => {
                        self.up(&files, over, service, false, Some(*count), runner)
                            .await?
                    }
                    None => {
                        let argv =
                            self.cmd(&files, None, self.up_args(service, false, Some(*count)));
                        runner.run(&argv).await?;
                        if self.v1 && *count > 0 {
                            self.wait_v1(service, runner).await?;
                        }
                    }
                }
                Ok(Change::None)
            }
            Verb::Promote { percent, .. } => {
                let pairs = call.verb.promote_pairs();
                if pairs.is_empty() {
                    return Err(Failure::failed(
                        "this promote step has no `flag` or `flags` to set",
                    ));
                }
                let mut doc = read_override(&over_abs)?;
                // The image stays the one the service runs: a flags change is one change.
                if service_field(&doc, service.value(), "image").is_none()
                    && let Some(running) = self.read_running(service, runner).await?
                {
                    set_service(
                        &mut doc,
                        service.value(),
                        "image",
                        Some(Value::String(running.release)),
                    );
                }
                let mut env = match service_field(&doc, service.value(), "environment") {
                    Some(Value::Object(map)) => map.clone(),
                    _ => Map::new(),
                };
                for pair in &pairs {
                    if let Some((name, value)) = pair.value().split_once('=') {
                        env.insert(name.to_string(), Value::String(value.to_string()));
                    }
                }
                set_service(
                    &mut doc,
                    service.value(),
                    "environment",
                    Some(Value::Object(env)),
                );
                write_override(&over_abs, &doc)?;
                self.up(&files, &over, service, false, None, runner).await?;
                Ok(percent.map_or(Change::None, Change::Promoted))
            }
        }
    }

    fn file_args(&self, root: &Path) -> Result<Vec<String>, Failure> {
        Ok(self
            .compose_files(root)?
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect())
    }

    /// The stable image to set back: its reference, unless the tag has been moved since
    /// it was pinned (`app:latest` pushed again, or retagged by the very deploy being
    /// undone); then the image id the service ran, which the engine still has.
    async fn same_image(&self, image: &str, id: &str, runner: &Runner<'_>) -> String {
        if !id.starts_with("sha256:") {
            return image.to_string();
        }
        let now = runner
            .spawn(&argv(&[
                &self.docker,
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                image,
            ]))
            .await;
        let moved = match &now {
            Ok(f) => f.raw_output.lines().all(|l| l.trim() != id),
            Err(_) => false,
        };
        if moved {
            (runner.on_line)(&format!(
                "{image} names another image now; returning to the image the service ran before, {id}"
            ));
            id.to_string()
        } else {
            image.to_string()
        }
    }

    /// `up` with the override, then (v1) the wait `--wait` would have done.
    async fn up(
        &self,
        files: &[String],
        over: &Path,
        service: &Text,
        build: bool,
        scale: Option<u32>,
        runner: &Runner<'_>,
    ) -> Result<(), Failure> {
        runner
            .run(&self.cmd(files, Some(over), self.up_args(service, build, scale)))
            .await?;
        if self.v1 && scale != Some(0) {
            self.wait_v1(service, runner).await?;
        }
        Ok(())
    }

    /// The engine answers and `service` is in the project's (parsed) compose files:
    /// SPEC compose, checked before a run's first change to the service.
    pub async fn check(&self, service: &Text, runner: &Runner<'_>) -> Result<(), Failure> {
        let files = self.file_args(runner.root)?;
        let engine = runner
            .spawn(&self.engine_argv())
            .await
            .map_err(|f| match f {
                Failure::Failed { message, tail } => Failure::Failed {
                    message: format!(
                        "the docker CLI `{}`, which reads the engine for the compose adapter, cannot run ({message}); install the Docker client",
                        self.docker
                    ),
                    tail,
                },
                other => other,
            })?;
        if !matches!(engine.ending, crate::process::Ending::Exited(0)) {
            return Err(Failure::Failed {
                message: format!(
                    "the Docker engine at {} does not answer (`{} info` failed); start dockerd, or point DOCKER_HOST at its socket",
                    self.socket(),
                    self.docker
                ),
                tail: engine.tail,
            });
        }
        let over = self.override_path(service.value());
        let existing = runner.root.join(&over).is_file().then_some(over.as_path());
        let config = runner
            .spawn(&self.cmd(&files, existing, argv(&["config", "--services"])))
            .await?;
        let named = files.join(", ");
        if !matches!(config.ending, crate::process::Ending::Exited(0)) {
            return Err(Failure::Failed {
                message: format!(
                    "compose cannot read {named}: {}",
                    config
                        .tail
                        .last()
                        .map(String::as_str)
                        .unwrap_or("`config` failed")
                ),
                tail: config.tail,
            });
        }
        let services: Vec<&str> = config
            .raw_output
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains(' '))
            .collect();
        if !services.contains(&service.value()) {
            return Err(Failure::failed(format!(
                "service `{service}` is not in {named}; its services: {}",
                services.join(", ")
            )));
        }
        Ok(())
    }

    /// SPEC "read stable": the engine is checked, the service found in the files, then
    /// the image its running container was created from (and the image id).
    pub async fn read_stable(
        &self,
        service: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        self.check(service, runner).await?;
        self.read_running(service, runner).await
    }

    /// The project name compose uses: `project`, else `COMPOSE_PROJECT_NAME`, else the
    /// first compose file's folder, normalized (v1 `cli/command.py` normalize_name:
    /// lower case, only `[-_a-z0-9]`; compose-go `types/project.go` NormalizeProjectName
    /// does the same and also drops leading `-`/`_`).
    pub fn project_name(&self, root: &Path) -> Result<String, Failure> {
        if let Some(p) = self.project.clone().or_else(|| self.project_env.clone()) {
            return Ok(p);
        }
        let files = self.compose_files(root)?;
        let dir = files[0]
            .parent()
            .map(|d| if d.as_os_str().is_empty() { root } else { d })
            .unwrap_or(root);
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let mut name: String = base
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
            .collect();
        if !self.v1 {
            name = name.trim_start_matches(['-', '_']).to_string();
        }
        Ok(name)
    }

    /// The service's containers in the engine, by the compose labels: id, state,
    /// health, image reference and image id.
    async fn containers(
        &self,
        service: &Text,
        runner: &Runner<'_>,
    ) -> Result<Vec<Container>, Failure> {
        let project = self.project_name(runner.root)?;
        let ps = runner
            .run(&argv(&[
                &self.docker,
                "ps",
                "-a",
                "-q",
                "--no-trunc",
                "--filter",
                &format!("label={LABEL_PROJECT}={project}"),
                "--filter",
                &format!("label={LABEL_SERVICE}={}", service.value()),
            ]))
            .await?;
        let ids: Vec<&str> = ps
            .raw_output
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_hexdigit()))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![self.docker.as_str(), "inspect", "--type", "container"];
        args.extend(ids.iter().copied());
        let inspect = runner.run(&argv(&args)).await?;
        Container::parse_all(&inspect.raw_output).ok_or_else(|| Failure::Failed {
            message: format!("`{} inspect` did not answer with JSON", self.docker),
            tail: inspect.tail,
        })
    }

    /// What the service's running container was created from; `None` when none runs.
    pub async fn read_running(
        &self,
        service: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        let containers = self.containers(service, runner).await?;
        Ok(containers
            .into_iter()
            .find(|c| c.status == "running")
            .map(|c| Running {
                release: c.image,
                revision: Some(c.image_id),
            }))
    }

    /// v1 has no `up --wait`: ask the engine until every container of the service runs
    /// (and is healthy where it has a healthcheck), like v2's `--wait` does
    /// (docker/compose `pkg/compose/convergence.go` waitDependencies: running, or
    /// healthy with a healthcheck; exited or unhealthy fails).
    async fn wait_v1(&self, service: &Text, runner: &Runner<'_>) -> Result<(), Failure> {
        loop {
            if runner.interrupt.is_set() {
                return Err(Failure::Interrupted);
            }
            let containers = self.containers(service, runner).await?;
            if let Some(bad) = containers
                .iter()
                .find(|c| matches!(c.status.as_str(), "exited" | "dead") || c.health == "unhealthy")
            {
                return Err(Failure::failed(format!(
                    "{service}'s container {} is {} after `up` ({})",
                    &bad.id[..bad.id.len().min(12)],
                    if bad.health == "unhealthy" {
                        "unhealthy"
                    } else {
                        bad.status.as_str()
                    },
                    bad.image
                )));
            }
            let ready = !containers.is_empty()
                && containers
                    .iter()
                    .filter(|c| c.status != "created")
                    .all(|c| {
                        c.status == "running" && matches!(c.health.as_str(), "none" | "healthy")
                    });
            if ready {
                return Ok(());
            }
            if runner.remaining() <= POLL {
                return Err(Failure::TimedOut { tail: Vec::new() });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// One line of `docker inspect` as [`Compose::containers`] formats it.
#[derive(Debug, PartialEq, Eq)]
struct Container {
    id: String,
    status: String,
    health: String,
    image_id: String,
    image: String,
}

impl Container {
    /// `docker inspect`'s JSON array; `None` when it is not one. Stderr lines the
    /// process runner mixed in come before or after the array, so the array is cut out.
    fn parse_all(output: &str) -> Option<Vec<Container>> {
        let start = output.find('[')?;
        let end = output.rfind(']')?;
        let items: Vec<Value> = serde_json::from_str(output.get(start..=end)?).ok()?;
        let text = |v: &Value, path: &[&str]| {
            path.iter()
                .try_fold(v, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Some(
            items
                .iter()
                .map(|c| Container {
                    id: text(c, &["Id"]).unwrap_or_default(),
                    status: text(c, &["State", "Status"]).unwrap_or_default(),
                    health: text(c, &["State", "Health", "Status"])
                        .unwrap_or_else(|| "none".to_string()),
                    image_id: text(c, &["Image"]).unwrap_or_default(),
                    image: text(c, &["Config", "Image"]).unwrap_or_default(),
                })
                .collect(),
        )
    }
}

/// The override as rollout last wrote it (JSON, which compose reads as YAML), or an
/// empty one.
fn read_override(path: &Path) -> Result<Value, Failure> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Failure::failed(format!(
                "rollout's compose override {} is not what rollout wrote ({e}); delete it and deploy again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({ "services": {} })),
        Err(e) => Err(Failure::failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes the override atomically (a temporary file renamed over it).
fn write_override(path: &Path, doc: &Value) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::failed(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("yml.tmp");
    let text = serde_json::to_string_pretty(doc).unwrap_or_default() + "\n";
    fs::write(&tmp, text).map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

fn service_field<'a>(doc: &'a Value, service: &str, key: &str) -> Option<&'a Value> {
    doc.get("services")?.get(service)?.get(key)
}

/// Sets (or, with `None`, removes) `services.SERVICE.KEY`.
fn set_service(doc: &mut Value, service: &str, key: &str, value: Option<Value>) {
    if !doc.is_object() {
        *doc = json!({});
    }
    let services = doc
        .as_object_mut()
        .map(|o| o.entry("services").or_insert_with(|| json!({})))
        .filter(|s| s.is_object());
    let Some(Value::Object(services)) = services else {
        return;
    };
    let entry = services
        .entry(service.to_string())
        .or_insert_with(|| json!({}));
    if let Value::Object(fields) = entry {
        match value {
            Some(v) => {
                fields.insert(key.to_string(), v);
            }
            None => {
                fields.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Deploy;

    fn compose(bin: &str, files: Option<Vec<PathBuf>>, project: Option<&str>) -> Compose {
        let settings = AdapterSettings {
            file: files,
            project: project.map(str::to_string),
            ..Default::default()
        };
        Compose::new(bin.to_string(), &settings, &|_| None)
    }

    fn deploy(image: &str) -> Verb {
        Verb::Deploy(Box::new(Deploy {
            image: Some(Text::plain(image)),
            ..Default::default()
        }))
    }

    #[test]
    fn v2_runs_docker_compose_up_with_wait_and_only_the_service() {
        let c = compose(
            "docker",
            Some(vec!["deploy/compose.yaml".into()]),
            Some("shop"),
        );
        assert!(!c.v1);
        assert_eq!(
            c.describe(&deploy("reg/app:2"), &Text::plain("web")),
            [
                "write .rollout/compose/shop.web.yml: services.web.image = reg/app:2",
                "$ docker compose -p shop -f deploy/compose.yaml -f .rollout/compose/shop.web.yml up -d --no-deps --wait web",
            ]
        );
        assert_eq!(
            c.describe(&Verb::Scale { count: 0 }, &Text::plain("web")),
            [
                "$ docker compose -p shop -f deploy/compose.yaml -f .rollout/compose/shop.web.yml up -d --no-deps --scale web=0 web"
            ]
        );
        assert_eq!(
            c.describe(&Verb::Auth, &Text::plain("web")),
            [
                "$ docker info --format {{.ServerVersion}}",
                "$ docker compose -p shop -f deploy/compose.yaml config --services (the files parse and list web)",
            ]
        );
    }

    #[test]
    fn v1_has_no_wait_and_polls_the_engine_instead() {
        let c = compose("/usr/bin/docker-compose", None, None);
        assert!(c.v1);
        assert_eq!(c.docker, "docker");
        let lines = c.describe(&deploy("reg/app:2"), &Text::plain("web"));
        assert_eq!(
            lines[1],
            "$ /usr/bin/docker-compose -f '<docker-compose.yml, as compose finds it>' -f .rollout/compose/web.yml up -d --no-deps web"
        );
        assert!(lines[2].starts_with("poll `docker inspect`"), "{lines:?}");
        let build = Verb::Deploy(Box::new(Deploy {
            build: true,
            ..Default::default()
        }));
        assert!(
            c.describe(&build, &Text::plain("web"))[1].ends_with("up -d --no-deps --build web")
        );
    }

    #[test]
    fn default_files_are_found_as_each_version_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir_all(&sub).unwrap();
        for name in [
            "compose.yaml",
            "docker-compose.yml",
            "docker-compose.override.yml",
        ] {
            fs::write(dir.path().join(name), "services: {}\n").unwrap();
        }
        let v2 = compose("docker", None, None).compose_files(&sub).unwrap();
        assert_eq!(
            v2,
            [
                dir.path().join("compose.yaml"),
                dir.path().join("docker-compose.override.yml")
            ]
        );
        let v1 = compose("docker-compose", None, None)
            .compose_files(&sub)
            .unwrap();
        assert_eq!(v1[0], dir.path().join("docker-compose.yml"));
        let missing = compose("docker", Some(vec![dir.path().join("nope.yaml")]), None)
            .compose_files(dir.path())
            .unwrap_err();
        assert!(
            matches!(&missing, Failure::Failed { message, .. } if message.contains("nope.yaml does not exist")),
            "{missing:?}"
        );
    }

    #[test]
    fn the_project_name_is_the_folder_normalized() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("_My.Shop-1");
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("compose.yaml"), "services: {}\n").unwrap();
        assert_eq!(
            compose("docker", None, None).project_name(&folder).unwrap(),
            "myshop-1"
        );
        assert_eq!(
            compose("docker-compose", None, None)
                .project_name(&folder)
                .unwrap(),
            "_myshop-1"
        );
        assert_eq!(
            compose("docker", None, Some("shop"))
                .project_name(&folder)
                .unwrap(),
            "shop"
        );
    }

    #[test]
    fn the_override_keeps_other_fields_when_one_is_set() {
        let mut doc = json!({ "services": {} });
        set_service(&mut doc, "web", "image", Some(json!("app:1")));
        set_service(&mut doc, "web", "environment", Some(json!({ "A": "1" })));
        set_service(&mut doc, "web", "image", Some(json!("app:2")));
        assert_eq!(
            doc,
            json!({ "services": { "web": { "image": "app:2", "environment": { "A": "1" } } } })
        );
        set_service(&mut doc, "web", "image", None);
        assert_eq!(service_field(&doc, "web", "image"), None);
    }

    #[test]
    fn inspect_json_is_read_with_or_without_a_health_state() {
        let out = r#"WARNING: something on stderr
[{"Id": "abc", "Image": "sha256:1", "State": {"Status": "running", "Health": {"Status": "starting"}}, "Config": {"Image": "app:1"}},
 {"Id": "def", "Image": "sha256:2", "State": {"Status": "exited"}, "Config": {"Image": "app:2"}}]"#;
        let all = Container::parse_all(out).unwrap();
        assert_eq!(all[0].health, "starting");
        assert_eq!(all[1].health, "none");
        assert_eq!(all[1].image, "app:2");
        assert!(Container::parse_all("Error: no such container").is_none());
    }
}
