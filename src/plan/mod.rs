//! A validated, resolved runbook: what `show` prints and the engine runs. Built only by
//! `runbook::load`; nothing downstream ever sees raw TOML.

mod adapter_settings;
mod checks;
mod command;
pub mod late;
pub mod limits;
mod platform;
mod redactor;
mod step;
mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use adapter_settings::{ADAPTERS, AdapterSettings};
pub use checks::{
    ExpectStatus, GitSpec, HealthSpec, MetricsSpec, NoData, NotifySpec, ProbeSpec, PromCheck,
    WatchCheck, WatchSpec, WindowSpec,
};
pub use command::{CommandLine, CommandSpec};
pub use late::LateValues;
pub use platform::{Deploy, PlatformStep, Verb};
pub use redactor::{MASK, Redactor};
pub use step::{BakeSpec, Section, Step, StepKind};
pub use text::Text;

/// A runbook ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The file stem of `runbooks/NAME.toml`.
    pub name: String,
    pub path: PathBuf,
    /// The project root; commands run here unless `cwd` says otherwise.
    pub root: PathBuf,
    pub description: Option<String>,
    pub adapter: Option<String>,
    pub target: Option<Text>,
    pub auto_rollback: bool,
    pub preflight: Vec<Step>,
    pub steps: Vec<Step>,
    pub rollback: Vec<Step>,
    pub emergency: Vec<Step>,
    /// Every secret value the plan resolved, for masking output it did not write.
    pub redactor: Redactor,
    /// `[adapters.NAME]` of the runbook merged over rollout.toml's, by adapter name.
    pub adapters: BTreeMap<String, AdapterSettings>,
    /// The resolved `[vars]` (rollout.toml's and the runbook's), for `show`.
    pub vars: BTreeMap<String, Text>,
}

impl Plan {
    /// The steps of one section, in order.
    pub fn section(&self, section: Section) -> &[Step] {
        match section {
            Section::Preflight => &self.preflight,
            Section::Steps => &self.steps,
            Section::Rollback => &self.rollback,
            Section::Emergency => &self.emergency,
        }
    }

    /// The settings of one adapter; all defaults when neither file configures it.
    pub fn adapter_settings(&self, adapter: &str) -> AdapterSettings {
        self.adapters.get(adapter).cloned().unwrap_or_default()
    }

    /// The runbook file as people read it: relative to the project root.
    pub fn file(&self) -> &std::path::Path {
        self.path.strip_prefix(&self.root).unwrap_or(&self.path)
    }

    /// Index of a main step by name.
    pub fn step_index(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }
}
