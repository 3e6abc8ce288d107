//! Per-adapter settings from `[adapters.NAME]`: the runbook's, merged over rollout.toml's.

use std::path::PathBuf;

/// The adapters a runbook may name, in the order messages list them.
pub const ADAPTERS: [&str; 5] = ["fly", "kubectl", "systemctl", "compose", "exec"];

/// One `[adapters.NAME]` table. Every field is optional so a runbook can override a
/// single setting of rollout.toml and keep the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdapterSettings {
    /// The binary: `~/` expanded; a relative path with a `/` is relative to the project
    /// root; a bare name is looked up on PATH by the adapter.
    pub bin: Option<String>,
    /// kubectl `--context`.
    pub context: Option<String>,
    /// kubectl `--namespace`.
    pub namespace: Option<String>,
    /// systemctl `--user`.
    pub user: Option<bool>,
    /// systemctl behind `sudo -n`.
    pub sudo: Option<bool>,
    /// systemctl: the `current` symlink that points at the live release.
    pub current: Option<PathBuf>,
    /// systemctl: where feature-flag drop-ins are written.
    pub dropin_dir: Option<PathBuf>,
    /// exec: a command (argv; `{{target}}` in an argument is the target) whose last
    /// output line names the release a target runs (SPEC §2 adapters, [v2]).
    pub current_cmd: Option<Vec<String>>,
    /// compose: the compose files (`-f`), relative paths already joined to the project
    /// root; the loader fills in compose's own defaults when none are named.
    pub files: Option<Vec<PathBuf>>,
    /// compose: the project name (`-p`); the loader fills in compose's own default.
    pub project: Option<String>,
}

impl AdapterSettings {
    /// These settings, with every unset field taken from `base`.
    pub fn over(self, base: &AdapterSettings) -> AdapterSettings {
        AdapterSettings {
            bin: self.bin.or_else(|| base.bin.clone()),
            context: self.context.or_else(|| base.context.clone()),
            namespace: self.namespace.or_else(|| base.namespace.clone()),
            user: self.user.or(base.user),
            sudo: self.sudo.or(base.sudo),
            current: self.current.or_else(|| base.current.clone()),
            dropin_dir: self.dropin_dir.or_else(|| base.dropin_dir.clone()),
            current_cmd: self.current_cmd.or_else(|| base.current_cmd.clone()),
            files: self.files.or_else(|| base.files.clone()),
            project: self.project.or_else(|| base.project.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runbook_wins_field_by_field() {
        let project = AdapterSettings {
            bin: Some("/opt/kubectl".into()),
            namespace: Some("prod".into()),
            ..Default::default()
        };
        let runbook = AdapterSettings {
            namespace: Some("staging".into()),
            ..Default::default()
        };
        let merged = runbook.over(&project);
        assert_eq!(merged.bin.as_deref(), Some("/opt/kubectl"));
        assert_eq!(merged.namespace.as_deref(), Some("staging"));
    }
}
