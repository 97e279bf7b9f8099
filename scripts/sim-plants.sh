#!/usr/bin/env bash
# Shows that the simulator catches bugs: plants one bug at a time in the library (a small edit
# of lease-core's source, or of lease-memory's store for a transaction applied in part), runs the scripted schedules and SEEDS seeded runs (default 3000),
# reports what the checker found, and puts the source back. Ends with one line per plant and
# exits non-zero if one was not caught.
#
#   scripts/sim-plants.sh [SEEDS] [LABEL]   only the plants whose label contains LABEL
#
# Each plant rebuilds lease-core and the simulator in release mode: about a minute each on two
# cores. Not part of scripts/test.sh (the checker's own tests, crates/lease-sim/tests/checker.rs,
# are); docs/correctness.md lists the figures of the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-3000}"
only="${2:-}"
bin="${CARGO_TARGET_DIR:-target}/release/lease-sim"
backup="$(mktemp)"
planted=""
restore() {
  if [ -n "$planted" ]; then
    cp "$backup" "$planted"
    planted=""
  fi
}
trap 'restore; rm -f "$backup"' EXIT INT TERM

if ! git diff --quiet -- crates/lease-core crates/lease-memory; then
  echo "crates/lease-core or crates/lease-memory has uncommitted changes: commit or stash them first" >&2
  exit 1
fi

summary=()
missed=0

# The unplanted library first: a plant is caught when the scripted schedules fail or the seeded
# runs find more violations than this baseline (which should be 0; see docs/correctness.md).
cargo build --locked -q --release -p lease-sim
baseline="$("$bin" --seeds "$seeds" 2>&1 | tail -n 1 | sed -E 's/.* ([0-9]+) violations$/\1/')" || true
baseline="${baseline:-0}"
echo "== unplanted: $seeds seeds, $baseline violations"

# plant FILE LABEL OLD NEW: replaces OLD by NEW in FILE; the simulator must find the bug.
plant() {
  local file="$1" label="$2" old="$3" new="$4"
  if [ -n "$only" ] && [[ "$label" != *"$only"* ]]; then
    return
  fi
  cp "$file" "$backup"
  planted="$file"
  python3 - "$file" "$old" "$new" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
if old not in text:
    sys.exit("plant does not apply (the source changed): " + old.splitlines()[0])
open(path, "w").write(text.replace(old, new, 1))
PY
  echo "== planted: $label"
  local scripted runs found
  if ! cargo build --locked -q --release -p lease-sim 2>/dev/null; then
    restore
    echo "   does not build"
    summary+=("NO BUILD  $label")
    missed=1
    return
  fi
  scripted="$("$bin" --scripted | tail -n 1)" || true
  runs="$("$bin" --seeds "$seeds" 2>&1 | grep -E '^  [A-Za-z]|seeds,')" || true
  restore
  echo "   scripted: $scripted"
  echo "$runs" | sed 's/^ */   /'
  found="$(echo "$runs" | tail -n 1 | sed -E 's/.* ([0-9]+) violations$/\1/')"
  if echo "$scripted" | grep -Eq ' [1-9][0-9]* failed$' || [ "${found:-0}" -gt "$baseline" ]; then
    summary+=("caught    $label: $(echo "$runs" | tail -n 1); $scripted")
  else
    summary+=("MISSED    $label")
    missed=1
  fi
}

K=crates/lease-core/src/lifecycle/keeper.rs
A=crates/lease-core/src/lifecycle/acquire_op.rs
W=crates/lease-core/src/lifecycle/wait_op.rs
O=crates/lease-core/src/lifecycle/ops.rs
P=crates/lease-core/src/planner.rs
Q=crates/lease-core/src/acquire.rs
R=crates/lease-core/src/release.rs

plant $K "the keeper never notices its deadline" \
"        if self.lease.is_valid_at(now) {
            return;
        }" \
"        if self.lease.is_valid_at(now) || true {
            return;
        }"

plant $K "the keeper takes a late renewal without checking its deadline first" \
"        self.check_deadline(now);
        let done = match &mut self.phase {" \
"        let done = match &mut self.phase {"

plant $K "renewals come twice as late as configured" \
"        deadline.sent.0.checked_add(self.renew_every)" \
"        deadline.sent.0.checked_add(self.renew_every * 2)"

plant $A "an acquire answered past its deadline is a success" \
"            Ok(lease) if lease.is_valid_at(now) => self.finish(Ok(lease))," \
"            Ok(lease) if true => self.finish(Ok(lease)),"

plant $A "a resent acquire keeps the first send's fencing floor" \
"    fn replan_resend(&mut self, now: Now) {
        let State::Acquiring" \
"    fn replan_resend(&mut self, now: Now) {
        return;
        #[allow(unreachable_code)]
        let State::Acquiring"

plant $W "a waiting acquire's attempts reuse request ids" \
"            self.next_id,
        )?" \
"            0,
        )?"

plant $O "a refresh answered after the held lease's deadline is a success" \
"        let lapsed_before = self.1.is_some_and(|previous| !previous.is_valid_at(now));" \
"        let lapsed_before = false;"

plant $P "the safe deadline forgets the clock skew bound" \
"        let window = duration.saturating_sub(skew);" \
"        let window = duration;"

plant $P "the fencing floor is not read from the clock (a deleted item restarts at 1)" \
"            floor: fence_floor(now.wall)," \
"            floor: 0,"

plant $Q "a takeover does not increase the fencing token" \
"                        \"one\",
                        AttributeValue::number(1)," \
"                        \"one\",
                        AttributeValue::number(0),"

plant $R "a release is not conditioned on the token" \
"        let condition = Condition::compare(
            planner.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        );" \
"        let condition = Condition::compare(
            planner.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        )
        .or(Condition::exists(planner.pk_attr()));"

plant $Q "an acquire does not recognise its own token" \
"            .or(Condition::compare(
                planner.token_attr(),
                Comparator::Eq,
                Planner::token_value(&token),
            ));" \
"            ;"

L=crates/lease-core/src/lifecycle/wait_queue.rs

plant $L "a release in the process tells no waiter (no in-process handover)" \
"            .map(|(_, waiter)| (waiter.clone(), Turn::Attempt))" \
"            .filter(|_| false)
            .map(|(_, waiter)| (waiter.clone(), Turn::Attempt))"

plant $W "a waiter told to attempt while asleep waits for its poll" \
"                State::Sleeping { .. } | State::Parked => self.state = self.attempt_or_finish(now)," \
"                State::Parked => self.state = self.attempt_or_finish(now),
                State::Sleeping { .. } => {}"

plant $W "a release that lands while the first waiter's attempt is out is forgotten" \
"                State::Attempting { sent: true, .. } => self.woken = true," \
"                State::Attempting { sent: true, .. } => {}"

OB=crates/lease-core/src/lifecycle/observer.rs

plant $OB "an election observer never re-judges the leader's expiry" \
"        let leader = leader.filter(|leader| leader.is_current_at(now.wall));" \
"        let leader = leader.filter(|leader| true || leader.is_current_at(now.wall));"

plant $OB "an election observer is not woken at the leader's expiry" \
"            (Some(leader), Some(at)) => leader" \
"            (Some(leader), Some(at)) if false => leader"

plant $A "a resent campaign acquire forgets its value" \
"            .and_then(|plan| match &self.value {
                Some(value) => plan.proclaiming(value),
                None => Ok(plan),
            });" \
"            ;"

S=crates/lease-core/src/lease_set.rs

plant $S "a lease set's acquire proposes fencing tokens without the #fence < :fence clause" \
"        update.condition = Some(free.and(fence_below).or(Condition::compare(" \
"        let _ = fence_below;
        update.condition = Some(free.or(Condition::compare("

SO=crates/lease-core/src/lifecycle/set_ops.rs

plant $SO "a lease set's refresh answered after the set's deadline is a success" \
"            .is_some_and(|previous| !previous.is_valid_at(now));" \
"            .is_some_and(|previous| !previous.is_valid_at(now))
            && false;"

M=crates/lease-memory/src/transact.rs

plant $M "a lease set's transaction is applied in part (the items whose conditions hold are written)" \
"    if reasons.iter().any(|r| *r != CancellationReason::None) {
        return Ok(StoreResponse::TransactionCanceled { reasons });
    }" \
"    if reasons.iter().any(|r| *r != CancellationReason::None) {
        for (p, computed) in prepared.into_iter().zip(changes) {
            if let (Op::Update { key, .. }, Some(computed)) = (p.op, computed) {
                let table = request_table(tables, p.table)?;
                match table.get_mut(p.key.borrowed()) {
                    Some(current) => update::apply(computed, current),
                    None => {
                        let mut item = key.clone();
                        update::apply(computed, &mut item);
                        table.insert(p.key, item);
                    }
                }
            }
        }
        return Ok(StoreResponse::TransactionCanceled { reasons });
    }"

SEM=crates/lease-core/src/semaphore.rs

plant $SEM "a semaphore admits N + 1 holders (choose_slot offers slot N, which it never reads as held)" \
"        let free: Vec<u32> = (0..permits)
            .filter(|i| {
                !usize::try_from(*i)
                    .ok()
                    .and_then(|i| held.get(i))
                    .copied()
                    .unwrap_or(true)" \
"        let free: Vec<u32> = (0..=permits)
            .filter(|i| {
                !usize::try_from(*i)
                    .ok()
                    .and_then(|i| held.get(i))
                    .copied()
                    .unwrap_or(false)"

plant $SEM "a semaphore's acquire reads live slots as free (the slot's condition refuses them)" \
"                Ok(info) if info.expires_at > now => {
                    *slot = true;" \
"                Ok(info) if info.expires_at > now => {
                    *slot = false;"

echo
echo "unplanted: $seeds seeds, $baseline violations"
if [ "${#summary[@]}" = 0 ]; then
  echo "no plant's label contains \"$only\"" >&2
  exit 1
fi
for line in "${summary[@]}"; do
  echo "$line"
done
exit "$missed"
