//! `rollout preflight RUNBOOK`: only the `[[preflight]]` checks, concurrently, with a
//! report for people (human), programs (json) or CI (junit), and GitHub annotations.

use std::path::Path;

use serde_json::json;

use crate::app::Context;
use crate::cli::ReportFormat;
use crate::engine::preflight::{PreflightReport, run_preflight};
use crate::engine::session::new_run_id;
use crate::error::{Error, ExitCode};
use crate::plan::Plan;
use crate::runbook::Strictness;
use crate::ui::human_duration;
use crate::ui::plan_view::DryRun;

use super::dry_run;
use super::launch::{load_plan, session, writable_log};
use super::output::print_stdout;

pub async fn run(
    cx: &Context,
    name: &str,
    jobs: Option<usize>,
    format: ReportFormat,
    report_file: Option<&Path>,
) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let run_id = new_run_id();
    let strictness = if cx.global.dry_run {
        Strictness::DryRun
    } else {
        Strictness::Run
    };
    let plan = load_plan(cx, &project, name, &run_id, strictness)?;
    let format = if cx.global.json {
        ReportFormat::Json
    } else {
        format
    };
    if cx.global.dry_run {
        return dry_run::print(
            cx,
            &DryRun {
                plan: &plan,
                what: "preflight",
                preflight: true,
                sections: Vec::new(),
                note: Some(match jobs {
                    Some(jobs) => format!("at most {jobs} at once"),
                    None => "all at once".to_string(),
                }),
            },
        );
    }
    let log = writable_log(cx, &project)?.with_mirror(project.backend()?.log_mirror());
    // The live display goes to stderr; stdout is kept for the report itself.
    let mut output = cx.output(&project);
    output.json = false;
    let session = session(cx, plan, run_id, log, &output, false);
    let report = run_preflight(
        &session,
        jobs.unwrap_or(crate::engine::preflight::ALL_AT_ONCE),
    )
    .await;
    if report.interrupted {
        return Ok(ExitCode::Interrupted);
    }
    let plan = &session.plan;
    let text = match format {
        ReportFormat::Human => human(plan, &report),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&json_report(plan, &report)).unwrap_or_default()
        }
        ReportFormat::Junit => junit(plan, &report)?,
    };
    if let Some(path) = report_file {
        std::fs::write(path, format!("{}\n", text.trim_end())).map_err(|e| {
            Error::failed(format!("cannot write the report {}: {e}", path.display()))
        })?;
    }
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        let lines = annotations(&report);
        if matches!(format, ReportFormat::Human) {
            if !lines.is_empty() {
                print_stdout(&lines.join("\n"))?;
            }
        } else {
            // stdout holds one JSON or JUnit document that CI parses; the runner reads
            // workflow commands from stderr as well.
            for line in &lines {
                crate::ui::stderr_line(line);
            }
        }
    }
    print_stdout(&text)?;
    Ok(if report.ok() {
        ExitCode::Ok
    } else {
        ExitCode::Failed
    })
}

fn human(plan: &Plan, report: &PreflightReport) -> String {
    let mut out = Vec::new();
    for check in &report.checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        let mut line = format!(
            "{mark}  {} ({})",
            check.name,
            human_duration(check.duration)
        );
        if let Some(error) = &check.error {
            line.push_str(&format!(": {error}"));
        }
        out.push(line);
        if !check.ok {
            out.extend(
                check
                    .tail
                    .iter()
                    .map(|l| format!("      | {}", crate::ui::clean_line(l))),
            );
        }
    }
    let failed = report.failed();
    out.push(if failed.is_empty() {
        format!(
            "preflight of {} passed: {} check(s) in {}",
            plan.name,
            report.checks.len(),
            human_duration(report.duration)
        )
    } else {
        format!(
            "preflight of {} FAILED: {} of {} check(s) failed",
            plan.name,
            failed.len(),
            report.checks.len()
        )
    });
    out.join("\n")
}

fn json_report(plan: &Plan, report: &PreflightReport) -> serde_json::Value {
    json!({
        "runbook": plan.name,
        "ok": report.ok(),
        "duration_ms": report.duration.as_millis() as u64,
        "checks": report.checks.iter().map(|c| json!({
            "name": c.name,
            "kind": c.kind,
            "ok": c.ok,
            "duration_ms": c.duration.as_millis() as u64,
            "error": c.error,
            "output_tail": c.tail,
            "location": c.location,
        })).collect::<Vec<_>>(),
    })
}

fn junit(plan: &Plan, report: &PreflightReport) -> Result<String, Error> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("rollout preflight {}", plan.name));
    for check in &report.checks {
        let status = if check.ok {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(check.error.clone().unwrap_or_else(|| "failed".into()));
            status.set_type(check.kind.clone());
            status.set_description(check.tail.join("\n"));
            status
        };
        let mut case = TestCase::new(check.name.clone(), status);
        case.set_classname(format!("{}.{}", plan.name, check.kind));
        case.set_time(check.duration);
        suite.add_test_case(case);
    }
    let mut junit = Report::new("rollout");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .map_err(|e| Error::failed(format!("cannot render the JUnit report: {e}")))
}

/// `::error file=…,line=…,title=…::message` for each failed check (GitHub Actions).
fn annotations(report: &PreflightReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| {
            let (file, line) = split_location(&c.location);
            format!(
                "::error file={},line={},title={}::{}",
                escape_property(file),
                line,
                escape_property(&format!("preflight: {}", c.name)),
                escape_data(c.error.as_deref().unwrap_or("failed"))
            )
        })
        .collect()
}

/// `runbooks/x.toml:12:1` → (`runbooks/x.toml`, 12).
fn split_location(location: &str) -> (&str, usize) {
    let mut parts = location.rsplitn(3, ':');
    let _col = parts.next();
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(1);
    let file = parts.next().unwrap_or(location);
    (file, line)
}

/// Workflow-command escaping, as GitHub documents it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_into_file_and_line() {
        assert_eq!(
            split_location("runbooks/canary.toml:12:3"),
            ("runbooks/canary.toml", 12)
        );
    }

    #[test]
    fn annotation_text_is_escaped() {
        assert_eq!(escape_data("50% down\nnow"), "50%25 down%0Anow");
        assert_eq!(escape_property("preflight: a,b"), "preflight%3A a%2Cb");
    }
}
