//! Release tracking: per target, the release that is current, the one before it, and
//! the promote percentage. Steps and adapters write it through a [`Ledger`]; the engine
//! carries it from run to run in the state file and saves it after every step.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What is known of one target's releases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    pub updated_at: DateTime<Utc>,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            current: None,
            previous: None,
            percent: None,
            updated_at: Utc::now(),
        }
    }
}

impl Release {
    /// `current 2.0.0, previous 1.0.0, at 100%`, for people.
    pub fn describe(&self) -> String {
        format!(
            "current {}, previous {}{}",
            self.current.as_deref().unwrap_or("not recorded"),
            self.previous.as_deref().unwrap_or("not recorded"),
            self.percent
                .map(|p| format!(", at {p}%"))
                .unwrap_or_default()
        )
    }
}

/// Releases by target (its shown, masked form).
pub type Releases = BTreeMap<String, Release>;

/// The releases of one session, shared by its steps. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Ledger(Arc<Mutex<Releases>>);

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Releases> {
        // A step that panicked mid-update leaves plain data behind; still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts from what an earlier run knew.
    pub fn adopt(&self, releases: &Releases) {
        *self.lock() = releases.clone();
    }

    /// Every target and its release, as saved with the state.
    pub fn snapshot(&self) -> Releases {
        self.lock().clone()
    }

    /// What is known of `target`; empty if nothing.
    pub fn get(&self, target: &str) -> Release {
        self.lock().get(target).cloned().unwrap_or_default()
    }

    /// A deploy made `release` current; the one it replaced becomes previous.
    pub fn deployed(&self, target: &str, release: &str) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        if entry.current.as_deref() != Some(release) {
            entry.previous = entry.current.take();
            entry.current = Some(release.to_string());
        }
        entry.updated_at = Utc::now();
    }

    /// A rollback returned the target to `release`. What came before it is no longer
    /// known, so a second rollback must name its release (`--to`) or ask the platform.
    pub fn rolled_back(&self, target: &str, release: &str) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        entry.current = Some(release.to_string());
        entry.previous = None;
        entry.updated_at = Utc::now();
    }

    /// Records that `target`'s new release now takes `percent` of traffic.
    pub fn promoted(&self, target: &str, percent: u8) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        entry.percent = Some(percent);
        entry.updated_at = Utc::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_moves_current_to_previous_and_a_rollback_forgets_it() {
        let ledger = Ledger::default();
        ledger.deployed("web", "v1");
        ledger.deployed("web", "v2");
        ledger.deployed("web", "v2");
        let web = ledger.get("web");
        assert_eq!(
            (web.current.as_deref(), web.previous.as_deref()),
            (Some("v2"), Some("v1"))
        );
        ledger.rolled_back("web", "v1");
        ledger.promoted("web", 25);
        let web = ledger.get("web");
        assert_eq!((web.current.as_deref(), web.previous), (Some("v1"), None));
        assert_eq!(web.percent, Some(25));
    }
}
