//! What every part of one run shares: the plan, the run id, who to tell, and the
//! interrupt. Cheap to clone, so concurrent preflight checks can each hold one.

use std::sync::Arc;

use chrono::Utc;

use crate::event::{Event, EventKind, Reporter};
use crate::plan::Plan;
use crate::releases::Ledger;
use crate::signal::Interrupt;
use crate::steps::RunFlags;

/// The shared context of one run; see the module docs.
#[derive(Clone)]
pub struct Session {
    pub plan: Arc<Plan>,
    pub run_id: String,
    pub reporter: Arc<dyn Reporter>,
    pub interrupt: Interrupt,
    pub flags: RunFlags,
    /// Release tracking, written by platform steps, saved with the state.
    pub releases: Ledger,
}

impl Session {
    pub fn new(
        plan: Arc<Plan>,
        run_id: String,
        reporter: Arc<dyn Reporter>,
        interrupt: Interrupt,
        flags: RunFlags,
    ) -> Self {
        Session {
            plan,
            run_id,
            reporter,
            interrupt,
            flags,
            releases: Ledger::default(),
        }
    }

    /// Stamps and sends an event to every reporter.
    pub fn emit(&self, kind: EventKind) {
        self.reporter.report(&Event {
            ts: Utc::now(),
            runbook: self.plan.name.clone(),
            run_id: self.run_id.clone(),
            kind,
        });
    }
}

/// A new run id: `r-YYYYMMDD-HHMMSS-xxxx`, sortable and unique enough across hosts.
pub fn new_run_id() -> String {
    let now = Utc::now();
    // Four hex digits from the clock's nanoseconds and our pid: no RNG crate needed
    // for a label that only has to differ between runs started in the same second.
    let salt = (now.timestamp_subsec_nanos() ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("r-{}-{salt:04x}", now.format("%Y%m%d-%H%M%S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_have_the_documented_shape() {
        let id = new_run_id();
        let re = regex::Regex::new(r"^r-\d{8}-\d{6}-[0-9a-f]{4}$").unwrap();
        assert!(re.is_match(&id), "{id}");
    }
}
