//! The compose project a runbook's `compose` steps act on: which files compose reads,
//! its project name, and the services in it — read at validation, so a file that does
//! not parse or a service that is not in it is an error before anything runs.
//!
//! Compose's own rules, from compose-go (`cli/options.go`, used by docker/compose v2's
//! `cmd/compose/compose.go` and mirrored by v1's `compose/config/config.py`): without
//! `-f`, the first of `compose.yaml`, `compose.yml`, `docker-compose.yml`,
//! `docker-compose.yaml` in the working directory, plus its override file
//! (`compose.override.yaml`, …) when there is one; the project name is `-p`, else
//! `COMPOSE_PROJECT_NAME`, else the file's top-level `name:`, else the folder's name,
//! lowercased, keeping only `a-z`, `0-9`, `-` and `_`.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::diagnostic::Diagnostic;
use crate::plan::AdapterSettings;

const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// v1 (`compose/config/config.py` SUPPORTED_FILENAMES) prefers the older names.
const DEFAULT_FILES_V1: [&str; 4] = [
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
];
const OVERRIDE_FILES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// A compose project as rollout acts on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ComposeProject {
    pub files: Vec<PathBuf>,
    pub name: String,
    pub services: Vec<String>,
}

/// Reads the project `settings` describe (files relative to `root`).
pub(crate) fn resolve(
    settings: &AdapterSettings,
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeProject, Vec<Diagnostic>> {
    let files = match &settings.files {
        Some(files) => files.clone(),
        None => default_files(root, is_v1(settings))?,
    };
    let mut services = Vec::new();
    let mut declared_name = None;
    let mut problems = Vec::new();
    for file in &files {
        let shown = shown_path(file, root);
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                problems.push(Diagnostic::file(
                    &shown,
                    format!("compose file cannot be read: {e}"),
                ));
                continue;
            }
        };
        match YamlLoader::load_from_str(&text) {
            Ok(docs) => {
                let doc = docs.into_iter().next().unwrap_or(Yaml::Null);
                if let Some(name) = doc["name"].as_str() {
                    declared_name = Some(name.to_string());
                }
                if let Some(table) = doc["services"].as_hash() {
                    for key in table.keys().filter_map(Yaml::as_str) {
                        if !services.iter().any(|s| s == key) {
                            services.push(key.to_string());
                        }
                    }
                }
            }
            Err(e) => {
                let at = e.marker();
                problems.push(Diagnostic {
                    file: shown.clone(),
                    line: at.line().max(1),
                    col: at.col() + 1,
                    message: format!("compose file does not parse: {}", e.info()),
                    help: None,
                    source_line: text
                        .lines()
                        .nth(at.line().saturating_sub(1))
                        .map(str::to_string),
                    width: 1,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let folder = files
        .first()
        .and_then(|f| f.parent())
        .unwrap_or(root)
        .to_path_buf();
    let name = settings
        .project
        .clone()
        .or_else(|| env("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()))
        .or(declared_name)
        .unwrap_or_else(|| folder_name(&folder, root));
    Ok(ComposeProject {
        files,
        name: normalize(&name),
        services,
    })
}

/// `bin = "docker-compose"`: the v1 tool.
fn is_v1(settings: &AdapterSettings) -> bool {
    settings
        .bin
        .as_deref()
        .and_then(|b| Path::new(b).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("docker-compose"))
}

/// The first default file in `root` (rollout does not search parent folders, as compose
/// does: it always passes the file it validated with `-f`).
fn default_files(root: &Path, v1: bool) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let names = if v1 { DEFAULT_FILES_V1 } else { DEFAULT_FILES };
    let Some(main) = names.iter().map(|f| root.join(f)).find(|p| p.is_file()) else {
        return Err(vec![Diagnostic::file(
            "compose.yaml",
            format!(
                "no compose file in {}: compose looks for {}; name yours with `[adapters.compose] file = \"…\"`",
                root.display(),
                names.join(", ")
            ),
        )]);
    };
    let mut files = vec![main];
    if let Some(extra) = OVERRIDE_FILES
        .iter()
        .map(|f| root.join(f))
        .find(|p| p.is_file())
    {
        files.push(extra);
    }
    Ok(files)
}

/// compose-go `NormalizeProjectName`: lowercase, only `a-z0-9_-`.
fn normalize(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
        .collect()
}

fn folder_name(folder: &Path, root: &Path) -> String {
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    folder
        .file_name()
        .or_else(|| root.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "default".to_string())
}

fn shown_path(file: &Path, root: &Path) -> PathBuf {
    file.strip_prefix(root).unwrap_or(file).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn finds_compose_s_default_file_and_its_override_and_reads_services() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("My Shop");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("docker-compose.yml"),
            "services:\n  web:\n    image: a\n  redis:\n    image: r\n",
        )
        .unwrap();
        std::fs::write(
            root.join("docker-compose.override.yml"),
            "services:\n  worker:\n    image: w\n",
        )
        .unwrap();
        std::fs::write(
            root.join("compose.yaml"),
            "services:\n  api:\n    image: a\n",
        )
        .unwrap();
        let v1 = AdapterSettings {
            bin: Some("docker-compose".into()),
            ..Default::default()
        };
        let p = resolve(&v1, &root, &no_env).unwrap();
        assert!(p.files[0].ends_with("docker-compose.yml"), "{:?}", p.files);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.services, ["web", "redis", "worker"]);
        assert_eq!(p.name, "myshop");
        let v2 = resolve(&AdapterSettings::default(), &root, &no_env).unwrap();
        assert!(v2.files[0].ends_with("compose.yaml"), "{:?}", v2.files);
    }

    #[test]
    fn the_project_name_follows_compose_s_precedence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "name: Shop_1\nservices: {}\n",
        )
        .unwrap();
        let env = |k: &str| (k == "COMPOSE_PROJECT_NAME").then(|| "from-env".to_string());
        let settings = AdapterSettings::default();
        assert_eq!(
            resolve(&settings, dir.path(), &env).unwrap().name,
            "from-env"
        );
        assert_eq!(
            resolve(&settings, dir.path(), &no_env).unwrap().name,
            "shop_1"
        );
        let named = AdapterSettings {
            project: Some("Own".into()),
            ..Default::default()
        };
        assert_eq!(resolve(&named, dir.path(), &env).unwrap().name, "own");
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  web:\n    image: [a\n",
        )
        .unwrap();
        let d = resolve(&AdapterSettings::default(), dir.path(), &no_env).unwrap_err();
        assert_eq!(d[0].file, PathBuf::from("compose.yaml"));
        assert!(
            d[0].message.starts_with("compose file does not parse"),
            "{}",
            d[0].message
        );
        assert!(d[0].line >= 3, "{d:?}");
        let none = tempfile::tempdir().unwrap();
        let d = resolve(&AdapterSettings::default(), none.path(), &no_env).unwrap_err();
        assert!(d[0].message.contains("no compose file"), "{}", d[0].message);
    }
}
