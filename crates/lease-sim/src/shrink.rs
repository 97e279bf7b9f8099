//! [`shrink`]: the smallest set of faults (found greedily) under which a failing run still
//! fails the same way.

use crate::plan::Plan;
use crate::world::run;

/// Whether `plan` still fails with `property`.
fn fails_with(plan: &Plan, property: &str) -> bool {
    run(plan, false)
        .report
        .violations
        .iter()
        .any(|violation| violation.property() == property)
}

/// Drops faults one by one (clock and process faults, then store faults by request ordinal)
/// while the run still fails with `property`; returns the plan that is left. Deterministic:
/// the same failing plan shrinks to the same plan.
#[must_use]
pub fn shrink(plan: &Plan, property: &str) -> Plan {
    let mut plan = plan.clone();
    let mut i = 0;
    while i < plan.clock_faults.len() {
        let mut candidate = plan.clone();
        candidate.clock_faults.remove(i);
        if fails_with(&candidate, property) {
            plan = candidate;
        } else {
            i += 1;
        }
    }
    let requests = run(&plan, false).requests;
    for ordinal in plan.active_store_faults(requests) {
        let mut candidate = plan.clone();
        candidate.disabled_requests.insert(ordinal);
        if fails_with(&candidate, property) {
            plan = candidate;
        }
    }
    plan
}
