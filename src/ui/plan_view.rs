//! A plan as people and programs read it: `rollout show` and every `--dry-run`.
//! Only masked text reaches here.

use serde_json::{Value, json};

use crate::plan::{Plan, Section, Step};
use crate::steps;

/// One step as `show` lists it: `  2. deploy staging  [run]  $ fly deploy …  (timeout 10m)`.
pub fn step_line(plan: &Plan, number: usize, step: &Step) -> String {
    // A bake parks the run between invocations: no process waits out a timeout for it.
    let mut extras = if matches!(step.kind, crate::plan::StepKind::Bake(_)) {
        Vec::new()
    } else {
        vec![format!(
            "timeout {}",
            humantime::format_duration(step.timeout)
        )]
    };
    if step.retries > 0 {
        extras.push(format!(
            "retries {} every {}",
            step.retries,
            humantime::format_duration(step.retry_delay)
        ));
    }
    if step.confirm {
        extras.push("asks first".to_string());
    }
    if step.continue_on_error {
        extras.push("continue_on_error".to_string());
    }
    if let Some(target) = &step.target
        && Some(target) != plan.target.as_ref()
    {
        extras.push(format!("target {target}"));
    }
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!("  ({})", extras.join(", "))
    };
    format!(
        "  {number:>2}. {}  [{}]  {}{extras}",
        step.name,
        step.kind.name(),
        steps::describe(step),
    )
}

/// The header and every section of a plan.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&plan.name);
    if let Some(description) = &plan.description {
        out.push_str(&format!(" — {description}"));
    }
    out.push('\n');
    out.push_str(&format!("  file: {}\n", plan.file().display()));
    if let Some(adapter) = &plan.adapter {
        out.push_str(&format!("  adapter: {adapter}\n"));
    }
    if let Some(target) = &plan.target {
        out.push_str(&format!("  target: {target}\n"));
    }
    out.push_str(&format!(
        "  auto_rollback: {}\n",
        if plan.auto_rollback { "on" } else { "off" }
    ));
    for (section, title) in [
        (
            Section::Preflight,
            "preflight (concurrently, before anything changes)",
        ),
        (Section::Steps, "steps"),
        (Section::Rollback, "rollback"),
        (
            Section::Emergency,
            "emergency (when a rollback under --emergency fails)",
        ),
    ] {
        let steps = plan.section(section);
        out.push_str(&format!("\n{title}:\n"));
        if steps.is_empty() {
            out.push_str("  (none)\n");
        }
        for (i, step) in steps.iter().enumerate() {
            out.push_str(&step_line(plan, i + 1, step));
            out.push('\n');
        }
    }
    out
}

/// One step as `show --json` prints it.
pub fn step_json(step: &Step) -> Value {
    json!({
        "name": step.name,
        "section": step.section,
        "kind": step.kind.name(),
        "detail": steps::describe(step),
        "target": step.target.as_ref().map(|t| t.shown().to_string()),
        "timeout_ms": step.timeout.as_millis() as u64,
        "retries": step.retries,
        "retry_delay_ms": step.retry_delay.as_millis() as u64,
        "confirm": step.confirm,
        "continue_on_error": step.continue_on_error,
        "location": step.location,
    })
}

/// The whole plan as `show --json` prints it.
pub fn plan_json(plan: &Plan) -> Value {
    let section = |s: Section| -> Vec<Value> { plan.section(s).iter().map(step_json).collect() };
    json!({
        "runbook": plan.name,
        "path": plan.file(),
        "description": plan.description,
        "adapter": plan.adapter,
        "target": plan.target.as_ref().map(|t| t.shown().to_string()),
        "auto_rollback": plan.auto_rollback,
        "preflight": section(Section::Preflight),
        "steps": section(Section::Steps),
        "rollback": section(Section::Rollback),
        "emergency": section(Section::Emergency),
    })
}

/// What a dry run would do, in order.
pub struct DryRun<'a> {
    pub plan: &'a Plan,
    pub what: &'a str,
    pub preflight: bool,
    pub sections: Vec<(&'a str, &'a [Step])>,
    /// Said after the steps, e.g. where the run would stop.
    pub note: Option<String>,
}

impl DryRun<'_> {
    /// The dry run for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "dry run of `{} {}`: nothing is run, written, logged or locked\n",
            self.what, self.plan.name
        );
        if self.preflight && !self.plan.preflight.is_empty() {
            out.push_str("\nwould check first (concurrently):\n");
            for (i, step) in self.plan.preflight.iter().enumerate() {
                out.push_str(&step_line(self.plan, i + 1, step));
                out.push('\n');
            }
        }
        for (title, steps) in &self.sections {
            out.push_str(&format!("\nwould run {title}:\n"));
            if steps.is_empty() {
                out.push_str("  (nothing)\n");
            }
            for (i, step) in steps.iter().enumerate() {
                out.push_str(&step_line(self.plan, i + 1, step));
                out.push('\n');
            }
        }
        if let Some(note) = &self.note {
            out.push_str(&format!("\n{note}\n"));
        }
        out
    }

    /// The dry run for programs (`--json`).
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "dry_run": true,
            "command": self.what,
            "runbook": self.plan.name,
            "preflight": if self.preflight { self.plan.preflight.iter().map(step_json).collect::<Vec<_>>() } else { Vec::new() },
            "note": self.note,
        });
        for (title, steps) in &self.sections {
            doc[*title] = Value::Array(steps.iter().map(step_json).collect());
        }
        doc
    }
}
