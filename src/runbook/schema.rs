//! The JSON Schema of the runbook format (`rollout schema`, `schema/runbook.json`), for
//! editors such as Taplo / Even Better TOML.
//!
//! Which keys exist comes from the very tables the loader checks runbooks against
//! (`TOP_KEYS`, `COMMON_FIELDS`, `KINDS`, `WATCH_FIELDS`, the adapters' keys), so the
//! schema cannot list a key the loader rejects or miss one it accepts. What each key
//! holds is said once below ([`FIELD_TYPES`]); a unit test fails when a key of those
//! tables has no type here.

use serde_json::{Map, Value, json};

use super::adapters;
use super::document::TOP_KEYS;
use super::kinds::{COMMON_FIELDS, KINDS};
use super::watch_fields::ALL_FIELDS as WATCH_FIELDS;
use crate::plan::ADAPTERS;

/// The shape of a value, as JSON Schema says it.
#[derive(Clone, Copy)]
enum Shape {
    Text,
    /// A humantime duration (`30s`, `1h 30m`), or a template.
    Duration,
    Bool,
    /// A whole number, or a template that gives one.
    Count,
    Number,
    /// A string split like a shell would, or an argv array.
    Cmd,
    /// A table of strings.
    Strings,
    /// One string or a list of them.
    TextOrList,
    /// One integer or a list of them.
    IntOrList,
    List,
    Watch,
    Days,
    Adapter,
    Method,
    /// What an empty Prometheus answer means.
    NoData,
}

/// What each key holds: `(kind, key)` where the meaning depends on the kind, else
/// `("", key)`. The description is what an editor shows on hover.
const FIELD_TYPES: &[(&str, &str, Shape, &str)] = &[
    // Top level.
    (
        "",
        "description",
        Shape::Text,
        "What this runbook does, shown by `rollout list`",
    ),
    (
        "",
        "adapter",
        Shape::Adapter,
        "Default adapter for platform steps",
    ),
    (
        "",
        "target",
        Shape::Text,
        "What the adapter acts on: fly app, k8s workload, systemd unit; {{target}} in templates",
    ),
    (
        "",
        "auto_rollback",
        Shape::Bool,
        "A failed step after a change runs [[rollback]] (default true)",
    ),
    // Every step.
    ("", "kind", Shape::Text, "The step kind"),
    (
        "",
        "name",
        Shape::Text,
        "Shown in output, state and log; unique in the runbook",
    ),
    (
        "",
        "timeout",
        Shape::Duration,
        "The whole step, retries included (default 10m)",
    ),
    (
        "",
        "retries",
        Shape::Count,
        "Tries after the first failure (default 0)",
    ),
    (
        "",
        "retry_delay",
        Shape::Duration,
        "Wait between tries (default 5s)",
    ),
    (
        "",
        "confirm",
        Shape::Bool,
        "Ask `Proceed with <step> on <target>?` first (--yes answers)",
    ),
    (
        "",
        "continue_on_error",
        Shape::Bool,
        "A failure warns and the run goes on",
    ),
    // Commands.
    (
        "",
        "cmd",
        Shape::Cmd,
        "The command: a string split like a shell would, or an argv array; never through a shell unless shell = true",
    ),
    (
        "",
        "shell",
        Shape::Bool,
        "Run cmd through sh -c (values are shell-quoted as inserted)",
    ),
    (
        "",
        "env",
        Shape::Strings,
        "Environment variables for the command",
    ),
    (
        "",
        "cwd",
        Shape::Text,
        "Working directory, relative to the project root",
    ),
    (
        "",
        "expect_exit",
        Shape::IntOrList,
        "Exit codes that count as success (default 0)",
    ),
    (
        "",
        "expect_output",
        Shape::Text,
        "A regex stdout+stderr must match",
    ),
    // Waits and gates.
    ("", "duration", Shape::Duration, "How long to wait"),
    (
        "",
        "watch",
        Shape::Watch,
        "HTTP (url) or Prometheus (query) checks beside the wait: one table or a list",
    ),
    ("", "reason", Shape::Text, "Why the run stops here"),
    ("", "message", Shape::Text, "The text (templates allowed)"),
    // Platform steps.
    (
        "",
        "config",
        Shape::Text,
        "fly: the fly.toml to deploy with",
    ),
    (
        "",
        "strategy",
        Shape::Text,
        "fly: deploy strategy (rolling, canary, bluegreen, immediate)",
    ),
    ("", "image", Shape::Text, "The image to deploy"),
    (
        "",
        "manifest",
        Shape::Text,
        "kubectl: a manifest file or folder to apply",
    ),
    (
        "",
        "container",
        Shape::Text,
        "kubectl: the container whose image is set",
    ),
    (
        "",
        "release",
        Shape::Text,
        "systemctl: the release directory to make current; exec: what the deploy ships",
    ),
    (
        "rollback",
        "to",
        Shape::Text,
        "The release to return to (an image, a revision, a directory)",
    ),
    (
        "scale",
        "count",
        Shape::Count,
        "Instance count (0 stops the target)",
    ),
    ("", "percent", Shape::Count, "Traffic percentage, 0-100"),
    (
        "",
        "flag",
        Shape::Text,
        "The variable carrying the percent, e.g. CANARY_PERCENT",
    ),
    (
        "",
        "flags",
        Shape::Strings,
        "Variables set together in one change (values may use {{percent}}), e.g. { ROLLOUT_STAGE = \"beta\" }",
    ),
    (
        "",
        "label",
        Shape::Text,
        "A stage name such as \"beta\", shown, logged and kept in state",
    ),
    // Checks.
    ("", "url", Shape::TextOrList, "URL(s) to poll, concurrently"),
    ("", "method", Shape::Method, "HTTP method (default GET)"),
    (
        "",
        "headers",
        Shape::Strings,
        "HTTP headers (values may be {{secret.X}})",
    ),
    (
        "",
        "expect_status",
        Shape::IntOrList,
        "Status codes that pass (default any 2xx)",
    ),
    (
        "",
        "expect_body",
        Shape::Text,
        "A regex the body must match",
    ),
    ("", "interval", Shape::Duration, "Time between checks"),
    (
        "",
        "request_timeout",
        Shape::Duration,
        "Each request's timeout (default 5s)",
    ),
    (
        "",
        "successes",
        Shape::Count,
        "Passing rounds in a row needed (default 3)",
    ),
    ("", "within", Shape::Duration, "Deadline (default 2m)"),
    (
        "",
        "latency_p95",
        Shape::Duration,
        "Budget for the 95th percentile latency",
    ),
    (
        "",
        "failures",
        Shape::Count,
        "Failed checks in a row that fail the watch (default 3)",
    ),
    ("", "prometheus", Shape::Text, "Prometheus base URL"),
    ("", "query", Shape::Text, "PromQL instant query"),
    ("", "max", Shape::Number, "Fail above this value"),
    ("", "min", Shape::Number, "Fail below this value"),
    (
        "",
        "no_data",
        Shape::NoData,
        "What an empty result means: \"fail\" (default) or \"pass\"",
    ),
    (
        "metrics",
        "count",
        Shape::Count,
        "Samples to take (default 1)",
    ),
    (
        "",
        "failure_limit",
        Shape::Count,
        "Failed samples tolerated (default 0)",
    ),
    (
        "",
        "days",
        Shape::Days,
        "Weekdays the window is open (default every day)",
    ),
    (
        "window",
        "from",
        Shape::Text,
        "Opening time, \"10:00\" (default 00:00)",
    ),
    (
        "window",
        "to",
        Shape::Text,
        "Closing time, \"14:00\" (default 24:00)",
    ),
    (
        "",
        "tz",
        Shape::Text,
        "IANA time zone, e.g. America/Chicago",
    ),
    (
        "",
        "freeze",
        Shape::List,
        "Frozen date ranges, \"YYYY-MM-DD..YYYY-MM-DD\"",
    ),
    ("approval", "from", Shape::Text, "A hint of who may approve"),
    (
        "approval",
        "role",
        Shape::Text,
        "Who must approve, e.g. \"manager\": answered by --approved-by manager=NAME",
    ),
    (
        "bake",
        "interval",
        Shape::Duration,
        "How often `promote --wait` checks the watches (default 1m)",
    ),
    ("", "clean", Shape::Bool, "The working tree has no changes"),
    ("", "branch", Shape::Text, "HEAD is this branch"),
    (
        "",
        "tag_pattern",
        Shape::Text,
        "A tag on HEAD matches this glob",
    ),
    ("", "webhook", Shape::Text, "Webhook URL (Slack-compatible)"),
    // [adapters.NAME]
    (
        "",
        "bin",
        Shape::Text,
        "The adapter's binary (default: ROLLOUT_<NAME>_BIN, else on PATH)",
    ),
    ("", "context", Shape::Text, "kubectl --context"),
    ("", "namespace", Shape::Text, "kubectl --namespace"),
    ("", "user", Shape::Bool, "systemctl --user"),
    ("", "sudo", Shape::Bool, "Prefix systemctl with sudo -n"),
    (
        "",
        "current",
        Shape::Text,
        "The symlink the unit runs its release from",
    ),
    (
        "",
        "dropin_dir",
        Shape::Text,
        "Where flag drop-ins are written",
    ),
    (
        "",
        "file",
        Shape::TextOrList,
        "compose: the compose file(s), -f (default: as compose finds them)",
    ),
    (
        "",
        "project",
        Shape::Text,
        "compose: the project name, -p (default: as compose derives it)",
    ),
    (
        "deploy",
        "build",
        Shape::Bool,
        "compose: build the service's image from its build: section",
    ),
    (
        "",
        "current_cmd",
        Shape::Cmd,
        "exec: a command whose last output line is the release a target runs ({{target}} is the target)",
    ),
];

/// The type row of `key` in a step of `kind` (or at the top level for `""`).
fn field_type(kind: &str, key: &str) -> Option<(Shape, &'static str)> {
    FIELD_TYPES
        .iter()
        .find(|(k, f, _, _)| *k == kind && *f == key)
        .or_else(|| {
            FIELD_TYPES
                .iter()
                .find(|(k, f, _, _)| k.is_empty() && *f == key)
        })
        .map(|(_, _, shape, about)| (*shape, *about))
}

/// Fields a kind cannot do without (the loader says so too).
const REQUIRED: &[(&str, &[&str])] = &[
    ("run", &["cmd"]),
    ("smoke", &["cmd"]),
    ("soak", &["duration"]),
    ("bake", &["duration"]),
    ("log", &["message"]),
    ("health", &["url"]),
    ("metrics", &["prometheus", "query"]),
    ("window", &["tz"]),
    ("notify", &["webhook", "message"]),
];

fn shape_schema(shape: Shape) -> Value {
    let strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    match shape {
        Shape::Text | Shape::Duration => json!({"type": "string"}),
        Shape::Bool => json!({"type": "boolean"}),
        Shape::Count => json!({"type": ["integer", "string"]}),
        Shape::Number => json!({"type": ["number", "string"]}),
        Shape::Cmd | Shape::TextOrList => {
            json!({"type": ["string", "array"], "items": {"type": "string"}})
        }
        Shape::Strings => strings,
        Shape::IntOrList => json!({"type": ["integer", "array"], "items": {"type": "integer"}}),
        Shape::List => json!({"type": "array", "items": {"type": "string"}}),
        Shape::Watch => {
            let watch = json!({"$ref": "#/definitions/watch"});
            json!({"anyOf": [watch, {"type": "array", "items": watch}]})
        }
        Shape::Days => json!({
            "type": "array",
            "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
        }),
        Shape::Adapter => json!({"enum": ADAPTERS}),
        Shape::Method => {
            json!({"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]})
        }
        Shape::NoData => json!({"enum": ["fail", "pass"]}),
    }
}

/// `{ key: schema }` for `keys` in a step of `kind`.
fn properties(kind: &str, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .map(|key| {
            let schema = match field_type(kind, key) {
                Some((shape, about)) => {
                    let mut s = shape_schema(shape);
                    s["description"] = json!(about);
                    s
                }
                // A key this table does not type yet: any value, never a false error.
                None => json!({}),
            };
            (key.to_string(), schema)
        })
        .collect()
}

fn step_schema(kind: &str, own: &[&str]) -> Value {
    let mut props = properties(kind, COMMON_FIELDS);
    props.extend(properties(kind, own));
    props.insert(
        "kind".into(),
        json!({"const": kind, "description": format!("A `{kind}` step")}),
    );
    let mut required = vec!["kind"];
    if let Some((_, fields)) = REQUIRED.iter().find(|(k, _)| *k == kind) {
        required.extend(fields.iter().copied());
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// The runbook format as a JSON Schema (draft-07).
pub fn json_schema() -> Value {
    let mut definitions = Map::new();
    for (kind, own) in KINDS {
        definitions.insert(format!("step.{kind}"), step_schema(kind, own));
    }
    let one_of: Vec<Value> = KINDS
        .iter()
        .map(|(kind, _)| json!({"$ref": format!("#/definitions/step.{kind}")}))
        .collect();
    let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    definitions.insert(
        "step".into(),
        json!({
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": kinds}},
            "oneOf": one_of,
        }),
    );
    definitions.insert(
        "watch".into(),
        json!({
            "type": "object",
            "properties": properties("watch", WATCH_FIELDS),
            "additionalProperties": false,
        }),
    );
    let adapter_tables: Map<String, Value> = ADAPTERS
        .iter()
        .map(|name| {
            let schema = json!({
                "type": "object",
                "properties": properties("", adapters::keys(name)),
                "additionalProperties": false,
            });
            (name.to_string(), schema)
        })
        .collect();
    let steps = json!({"type": "array", "items": {"$ref": "#/definitions/step"}});
    let mut top = properties("", TOP_KEYS);
    top.insert(
        "vars".into(),
        json!({
            "type": "object",
            "description": "Variables for {{name}} templates; --set NAME=VALUE wins",
            "additionalProperties": {"type": "string"},
        }),
    );
    top.insert(
        "adapters".into(),
        json!({
            "type": "object",
            "description": "Adapter settings, [adapters.NAME]",
            "properties": adapter_tables,
            "additionalProperties": false,
        }),
    );
    for (section, about) in [
        (
            "preflight",
            "Checks run concurrently before anything changes",
        ),
        ("steps", "The main sequence, in order"),
        ("rollback", "Run by `rollout rollback` and by auto-rollback"),
        (
            "emergency",
            "Tried in order when an emergency rollback fails",
        ),
    ] {
        let mut s = steps.clone();
        s["description"] = json!(about);
        top.insert(section.into(), s);
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "rollout runbook",
        "description": "A deployment runbook for rollout (runbooks/NAME.toml)",
        "type": "object",
        "properties": top,
        "additionalProperties": false,
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the loader accepts has a type here: a new field without one fails this
    /// test (add a row to FIELD_TYPES) instead of shipping as "any value".
    #[test]
    fn every_key_the_loader_knows_has_a_type() {
        let mut untyped = Vec::new();
        let mut check = |kind: &str, keys: &[&str]| {
            for key in keys {
                if field_type(kind, key).is_none() && !["vars", "adapters"].contains(key) {
                    let section = ["preflight", "steps", "rollback", "emergency"];
                    if !section.contains(key) {
                        untyped.push(format!("{kind}.{key}"));
                    }
                }
            }
        };
        check("", TOP_KEYS);
        check("", COMMON_FIELDS);
        check("watch", WATCH_FIELDS);
        for (kind, own) in KINDS {
            check(kind, own);
        }
        for adapter in ADAPTERS {
            check("adapters", adapters::keys(adapter));
        }
        assert!(untyped.is_empty(), "add to FIELD_TYPES: {untyped:?}");
    }

    #[test]
    fn a_step_kind_lists_exactly_the_loaders_fields() {
        let schema = json_schema();
        let soak = &schema["definitions"]["step.soak"];
        let mut keys: Vec<&String> = soak["properties"].as_object().unwrap().keys().collect();
        keys.sort();
        let mut expected: Vec<&str> = COMMON_FIELDS.to_vec();
        expected.extend(["duration", "watch"]);
        expected.sort();
        assert_eq!(keys, expected);
        assert_eq!(soak["additionalProperties"], false);
        assert_eq!(soak["required"], json!(["kind", "duration"]));
        assert_eq!(
            schema["definitions"]["step.window"]["properties"]["to"]["description"],
            "Closing time, \"14:00\" (default 24:00)"
        );
        assert_eq!(
            schema["definitions"]["step.rollback"]["properties"]["to"]["type"],
            "string"
        );
    }
}
