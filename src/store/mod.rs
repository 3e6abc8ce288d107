//! Where runs are kept: an append-only journal per run, behind one small trait, so the
//! engine does not know whether its journal is a file or a table.
//!
//! A run's state is a JSON document. Each save appends one [`Record`]: the difference
//! from the document saved before it, as an RFC 7386 merge patch, plus items appended to
//! arrays that only grow (the steps), or a whole snapshot when a run starts or a change
//! cannot be said as a patch. Reading folds the records in order. The store knows
//! nothing of the document's fields: any field a newer version adds is carried the same
//! way.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

pub mod backend;
pub mod fields;
pub mod file;
pub mod postgres;

pub use backend::Backend;
pub use file::FileStore;

/// One entry of a run's journal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The whole document: what came before is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Value>,
    /// An RFC 7386 merge patch over the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
    /// Items appended to top-level arrays, after the patch.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub append: Map<String, Value>,
}

impl Record {
    /// Applies this record to `doc`.
    pub fn apply(&self, doc: &mut Value) {
        if let Some(snapshot) = &self.snapshot {
            *doc = snapshot.clone();
        }
        if let Some(patch) = &self.patch {
            merge_patch(doc, patch);
        }
        if self.append.is_empty() {
            return;
        }
        if !doc.is_object() {
            *doc = Value::Object(Map::new());
        }
        if let Value::Object(map) = doc {
            for (key, items) in &self.append {
                let items = items.as_array().cloned().unwrap_or_default();
                match map.get_mut(key) {
                    Some(Value::Array(existing)) => existing.extend(items),
                    _ => {
                        map.insert(key.clone(), Value::Array(items));
                    }
                }
            }
        }
    }
}

/// RFC 7386: objects merge key by key, `null` removes a key, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The merge patch that turns `old` into `new`: `Ok(None)` when they are equal, `Err(())`
/// when a merge patch cannot say it (a `null` that must stay a value, since a patch's
/// `null` means "remove").
#[allow(clippy::result_unit_err)]
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Result<Option<Value>, ()> {
    let mut patch = Map::new();
    for (key, value) in new {
        match (old.get(key), value) {
            (Some(before), after) if before == after => {}
            (Some(Value::Object(before)), Value::Object(after)) => {
                if let Some(inner) = diff(before, after)? {
                    patch.insert(key.clone(), inner);
                }
            }
            (_, after) if after.is_null() || has_null_member(after) => return Err(()),
            (_, after) => {
                patch.insert(key.clone(), after.clone());
            }
        }
    }
    for key in old.keys() {
        if !new.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    Ok((!patch.is_empty()).then_some(Value::Object(patch)))
}

/// Whether an object holds a `null` member at any depth reached through objects (arrays
/// are replaced whole by a patch, so a `null` inside one survives).
fn has_null_member(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().any(|v| v.is_null() || has_null_member(v)),
        _ => false,
    }
}

/// A run's document as its journal folds it, and where it lives (for messages).
#[derive(Clone, Debug, PartialEq)]
pub struct Folded {
    pub run_id: String,
    pub document: Value,
    /// The file (or row) it was read from, as messages name it.
    pub location: String,
}

/// Keeps runs: on local files ([`FileStore`]) or in the team's database
/// ([`postgres::PostgresStore`]).
pub trait RunStore: std::fmt::Debug + Send + Sync {
    /// The latest run of `runbook`, folded; `None` when it has never run.
    fn latest(&self, runbook: &str) -> Result<Option<Folded>, Error>;

    /// Every kept run of `runbook`, folded, in no particular order.
    fn runs(&self, runbook: &str) -> Result<Vec<Folded>, Error>;

    /// The runbooks that have runs.
    fn runbooks(&self) -> Result<Vec<String>, Error>;

    /// Appends `record` to the journal of run `run_id` of `runbook`. With `durable`, it is
    /// on disk (synced) before this returns; without, it survives the process being
    /// killed but not the machine losing power, until the next durable record. The first
    /// record of a run makes it the runbook's latest.
    fn append(
        &self,
        runbook: &str,
        run_id: &str,
        record: &Record,
        durable: bool,
    ) -> Result<(), Error>;

    /// Where the latest run of `runbook` is kept, as messages name it.
    fn location(&self, runbook: &str) -> std::path::PathBuf;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_diff_applied_as_a_patch_gives_the_new_document() {
        let old = json!({"a": 1, "b": {"c": 2, "d": [1, null]}, "gone": "x", "same": true});
        let new = json!({"a": 2, "b": {"c": 2, "d": [1, null, 3], "e": {"f": 1}}, "same": true});
        let patch = diff(&object(old.clone()), &object(new.clone()))
            .expect("expressible")
            .expect("different");
        assert_eq!(
            patch,
            json!({"a": 2, "b": {"d": [1, null, 3], "e": {"f": 1}}, "gone": null})
        );
        let mut folded = old;
        merge_patch(&mut folded, &patch);
        assert_eq!(folded, new);
        assert_eq!(diff(&object(new.clone()), &object(new)), Ok(None));
    }

    #[test]
    fn a_null_that_must_stay_cannot_be_a_patch() {
        let old = json!({"r": {"ok": true}});
        assert_eq!(
            diff(&object(old.clone()), &object(json!({"r": {"ok": null}}))),
            Err(())
        );
        assert_eq!(diff(&object(old), &object(json!({"r": null}))), Err(()));
        assert_eq!(
            diff(
                &object(json!({})),
                &object(json!({"r": {"a": {"ok": null}}}))
            ),
            Err(())
        );
    }

    #[test]
    fn records_fold_in_order() {
        let records = [
            Record {
                snapshot: Some(json!({"n": 0, "steps": [], "x": {"ok": null}})),
                ..Record::default()
            },
            Record {
                patch: Some(json!({"n": 1})),
                append: Map::from_iter([("steps".to_string(), json!(["a"]))]),
                ..Record::default()
            },
            Record {
                append: Map::from_iter([("steps".to_string(), json!(["b", "c"]))]),
                ..Record::default()
            },
        ];
        let mut doc = Value::Null;
        for record in &records {
            let line = serde_json::to_string(record).expect("json");
            let back: Record = serde_json::from_str(&line).expect("parse");
            assert_eq!(&back, record);
            back.apply(&mut doc);
        }
        assert_eq!(
            doc,
            json!({"n": 1, "steps": ["a", "b", "c"], "x": {"ok": null}})
        );
    }
}
