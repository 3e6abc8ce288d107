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
    /// What the platform ran just before a run first changed the target (SPEC §4.1):
    /// every rollback of that run returns the target to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<Stable>,
    /// The `config` the last deploy used (fly), which its rollback uses again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// `current` is what a change that failed half-way was shipping: the platform may
    /// or may not run it, and rollout has not read or set it since (SPEC §4.1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
    pub updated_at: DateTime<Utc>,
}

/// A target's stable release, as read from the platform and pinned by a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stable {
    /// What a person names: an image, a release directory, an exec release. `None`:
    /// the platform ran nothing rollout could name (a first deploy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The platform's own number for it, where it has one (fly release version,
    /// kubectl revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The run that pinned it: a later run pins again.
    pub run_id: String,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            current: None,
            previous: None,
            percent: None,
            stable: None,
            config: None,
            unconfirmed: false,
            updated_at: Utc::now(),
        }
    }
}

impl Release {
    /// `current 2.0.0, previous 1.0.0, at 100%`, for people.
    pub fn describe(&self) -> String {
        format!(
            "{}current {}{}, previous {}{}",
            self.stable
                .as_ref()
                .map(|s| format!("stable {}, ", s.release.as_deref().unwrap_or("none")))
                .unwrap_or_default(),
            self.current.as_deref().unwrap_or("not recorded"),
            if self.unconfirmed && self.current.is_some() {
                " (unconfirmed: a change to it failed half-way)"
            } else {
                ""
            },
            self.previous.as_deref().unwrap_or("not recorded"),
            self.percent
                .map(|p| format!(", at {p}%"))
                .unwrap_or_default()
        )
    }
}

/// Releases by target (its shown, masked form).
pub type Releases = BTreeMap<String, Release>;

/// The releases of one session, shared by its steps, and the targets whose change has
/// started in it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Ledger(Arc<Mutex<Releases>>, Arc<Mutex<Vec<String>>>);

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Releases> {
        // A step that panicked mid-update leaves plain data behind; still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `run_id` already read `target`'s stable release (found or not).
    pub fn is_pinned_by(&self, target: &str, run_id: &str) -> bool {
        self.lock()
            .get(target)
            .and_then(|r| r.stable.as_ref())
            .is_some_and(|s| s.run_id == run_id)
    }

    /// Pins `target`'s stable release for `run_id` (SPEC §4.1). `None`: the platform
    /// runs nothing rollout can name (a first deploy); a rollback then needs `--to`.
    pub fn pin(&self, target: &str, run_id: &str, stable: Option<(String, Option<String>)>) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        let (release, revision) = match stable {
            Some((release, revision)) => (Some(release), revision),
            None => (None, None),
        };
        entry.stable = Some(Stable {
            release,
            revision,
            run_id: run_id.to_string(),
        });
        entry.updated_at = Utc::now();
    }

    /// Remembers the `config` a deploy of `target` used, for its rollback.
    pub fn used_config(&self, target: &str, config: Option<String>) {
        let mut all = self.lock();
        all.entry(target.to_string()).or_default().config = config;
    }

    /// A changing command on `target` has started (SPEC §4: the target counts as
    /// changed from now on, whatever the step's outcome).
    pub fn change_started(&self, target: &str) {
        let mut started = self.1.lock().unwrap_or_else(|e| e.into_inner());
        if !started.iter().any(|t| t == target) {
            started.push(target.to_string());
        }
    }

    /// Whether a change of `target` started since the last [`Ledger::take_started`].
    pub fn started(&self, target: &str) -> bool {
        self.1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|t| t == target)
    }

    /// The targets whose change started since the last call, emptied.
    pub fn take_started(&self) -> Vec<String> {
        std::mem::take(&mut *self.1.lock().unwrap_or_else(|e| e.into_inner()))
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
            if !entry.unconfirmed {
                entry.previous = entry.current.take();
            }
            entry.current = Some(release.to_string());
        }
        entry.unconfirmed = false;
        entry.updated_at = Utc::now();
    }

    /// A deploy of `release` started changing `target` and then failed: the platform
    /// may run it now, or not. Shown as unconfirmed until rollout reads or sets it.
    pub fn attempted(&self, target: &str, release: &str) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        if entry.current.as_deref() != Some(release) {
            if !entry.unconfirmed {
                entry.previous = entry.current.take();
            }
            entry.current = Some(release.to_string());
        }
        entry.unconfirmed = true;
        entry.updated_at = Utc::now();
    }

    /// A rollback returned the target to `release`. What came before it is no longer
    /// known, so a second rollback must name its release (`--to`) or ask the platform.
    pub fn rolled_back(&self, target: &str, release: &str) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        entry.current = Some(release.to_string());
        entry.previous = None;
        entry.unconfirmed = false;
        entry.updated_at = Utc::now();
    }

    /// A rollback ran a command of the runbook's own: what `target` runs now is not
    /// known until rollout reads or sets it again.
    pub fn forget_current(&self, target: &str) {
        let mut all = self.lock();
        let entry = all.entry(target.to_string()).or_default();
        entry.current = None;
        entry.previous = None;
        entry.unconfirmed = false;
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

    #[test]
    fn a_deploy_that_failed_half_way_is_current_but_unconfirmed_until_set_again() {
        let ledger = Ledger::default();
        ledger.deployed("web", "v1");
        ledger.attempted("web", "v2");
        ledger.attempted("web", "v3");
        let web = ledger.get("web");
        assert_eq!(
            (
                web.current.as_deref(),
                web.previous.as_deref(),
                web.unconfirmed
            ),
            (Some("v3"), Some("v1"), true)
        );
        assert!(
            web.describe().contains("current v3 (unconfirmed"),
            "{}",
            web.describe()
        );
        ledger.rolled_back("web", "v1");
        assert!(!ledger.get("web").unconfirmed);
        assert!(!ledger.get("web").describe().contains("unconfirmed"));
    }
}
