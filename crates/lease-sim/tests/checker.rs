//! The checker catches what it is for: each property fails on a history that breaks it. The
//! histories are made by hand; the clocks read true time (no skew, step or suspend).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// An Instant is needed as the clocks' origin; only Instant::now makes one.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use lease_core::LeaseConfig;
use lease_sim::Plan;
use lease_sim::checker::{Violation, check};
use lease_sim::clock::{ActorClock, T0};
use lease_sim::history::{
    Applied, Deadlines, EndReason, History, Interval, LocalRelease, Probe, StoreStep, Wait, Who,
    Write,
};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn wall(at: Duration) -> i128 {
    i128::from(T0) * 1_000_000_000 + at.as_nanos() as i128
}

struct Setup {
    origin: Instant,
    clocks: Vec<ActorClock>,
    plan: Plan,
}

fn setup() -> Setup {
    let origin = Instant::now();
    let clocks = (0..3)
        .map(|_| ActorClock::new(origin, 0, Vec::new(), Vec::new()))
        .collect();
    Setup {
        origin,
        clocks,
        plan: Plan::of_seed(0),
    }
}

impl Setup {
    /// A guarded interval of actor `who` on key 0 from `start`, whose lease's deadline is
    /// `deadline` after the origin, ended by letting go at `end` (if given).
    fn interval(
        &self,
        who: usize,
        start: Duration,
        deadline: Duration,
        end: Option<Duration>,
        fence: u64,
    ) -> Interval {
        Interval {
            who: Who::Actor(who),
            key: 0,
            token: format!("a{who}-{fence}"),
            fence: Some(fence),
            guarded: true,
            start,
            deadlines: Deadlines {
                monotonic: self.origin + deadline,
                wall_nanos: wall(deadline),
            },
            renewals: Vec::new(),
            ended: end.map(|at| (at, EndReason::LetGo)),
            foreign_end: None,
            set: None,
        }
    }

    fn deadlines(&self, at: Duration) -> Deadlines {
        Deadlines {
            monotonic: self.origin + at,
            wall_nanos: wall(at),
        }
    }

    fn check(&self, history: &History) -> Vec<&'static str> {
        let config = LeaseConfig::builder("locks").build().unwrap();
        check(history, &self.clocks, &self.plan, &config)
            .violations
            .iter()
            .map(Violation::property)
            .collect()
    }
}

#[test]
fn a_clean_history_passes() {
    let w = setup();
    let history = History {
        intervals: vec![
            w.interval(0, s(0), s(9), Some(s(5)), 1),
            w.interval(1, s(6), s(15), Some(s(8)), 2),
        ],
        writes: vec![
            Write {
                interval: 0,
                at: s(4),
                accepted: true,
            },
            Write {
                interval: 1,
                at: s(7),
                accepted: true,
            },
        ],
        ..History::default()
    };
    assert_eq!(w.check(&history), Vec::<&str>::new());
}

#[test]
fn overlapping_intervals_break_s1() {
    let w = setup();
    let history = History {
        intervals: vec![
            w.interval(0, s(0), s(9), None, 1),
            w.interval(1, s(5), s(15), Some(s(8)), 2),
        ],
        ..History::default()
    };
    assert!(w.check(&history).contains(&"S1 overlap"));
}

#[test]
fn an_interval_ends_at_its_deadline_whatever_the_holder_said() {
    let w = setup();
    // The holder let go only at 20 s, but its deadline passed at 9 s: a takeover at 10 s is
    // fine, and a write at 12 s is outside its interval.
    let history = History {
        intervals: vec![
            w.interval(0, s(0), s(9), Some(s(20)), 1),
            w.interval(1, s(10), s(19), Some(s(11)), 2),
        ],
        writes: vec![Write {
            interval: 0,
            at: s(12),
            accepted: false,
        }],
        ..History::default()
    };
    let found = w.check(&history);
    assert!(!found.contains(&"S1 overlap"), "{found:?}");
    assert!(
        found.contains(&"S2 write outside the interval"),
        "{found:?}"
    );
    assert!(found.contains(&"S4 late loss"), "{found:?}");
}

#[test]
fn a_renewal_extends_the_interval_only_if_it_came_in_time() {
    let w = setup();
    let mut on_time = w.interval(0, s(0), s(9), Some(s(14)), 1);
    on_time.renewals.push((s(3), w.deadlines(s(12))));
    let mut late = w.interval(1, s(20), s(29), Some(s(34)), 2);
    late.renewals.push((s(30), w.deadlines(s(39))));
    let history = History {
        intervals: vec![on_time, late],
        writes: vec![
            Write {
                interval: 0,
                at: s(11),
                accepted: true,
            },
            Write {
                interval: 1,
                at: s(31),
                accepted: true,
            },
        ],
        ..History::default()
    };
    let found = w.check(&history);
    let outside = found
        .iter()
        .filter(|p| **p == "S2 write outside the interval")
        .count();
    assert_eq!(
        outside, 1,
        "only the write after the late renewal: {found:?}"
    );
}

#[test]
fn fences_that_do_not_grow_break_s2() {
    let w = setup();
    let history = History {
        intervals: vec![
            w.interval(0, s(0), s(9), Some(s(1)), 5),
            w.interval(1, s(2), s(11), Some(s(3)), 5),
        ],
        ..History::default()
    };
    assert!(w.check(&history).contains(&"S2 fence order"));
}

#[test]
fn a_refused_write_inside_the_interval_is_reported() {
    let w = setup();
    let history = History {
        intervals: vec![w.interval(0, s(0), s(9), Some(s(5)), 1)],
        writes: vec![Write {
            interval: 0,
            at: s(2),
            accepted: false,
        }],
        ..History::default()
    };
    assert!(w.check(&history).contains(&"S2 write outside the interval"));
}

#[test]
fn a_renewal_applied_after_the_release_returned_breaks_s3() {
    let w = setup();
    let mut history = History {
        intervals: vec![w.interval(0, s(0), s(9), Some(s(3)), 1)],
        ..History::default()
    };
    history.released.insert("a0-1".into(), s(4));
    history.applied.push(Applied {
        at: s(5),
        kind: "refresh",
        token: "a0-1".into(),
    });
    history.applied.push(Applied {
        at: s(6),
        kind: "release",
        token: "a0-1".into(),
    });
    assert_eq!(w.check(&history), ["S3 write after release"]);
}

/// The store's state after a step: the token at keys 0, 1 and 2.
fn step(at: Duration, tokens: [Option<&str>; 3]) -> StoreStep {
    StoreStep {
        at,
        by: Some((0, "acquire")),
        tokens: tokens.iter().map(|t| t.map(str::to_owned)).collect(),
    }
}

#[test]
fn a_set_given_to_some_of_its_keys_only_breaks_s5() {
    let w = setup();
    let set_keys = [("set".to_owned(), vec![0, 2])].into_iter().collect();
    // Whole: both keys get the set's token in one step; then they lose it one at a time (a
    // takeover after expiry, a TTL deletion), and a single holder's token comes and goes.
    let whole = History {
        set_keys: [("set".to_owned(), vec![0, 2])].into_iter().collect(),
        store_steps: vec![
            step(s(1), [None, Some("single"), None]),
            step(s(2), [Some("set"), Some("single"), Some("set")]),
            step(s(9), [Some("other"), Some("single"), Some("set")]),
            step(s(12), [Some("other"), None, None]),
        ],
        ..History::default()
    };
    assert_eq!(w.check(&whole), Vec::<&str>::new());
    // In part: key 0 gets the set's token while key 2 keeps another's, even if key 2 gets
    // it later.
    let partial = History {
        set_keys,
        store_steps: vec![
            step(s(2), [Some("set"), None, Some("other")]),
            step(s(3), [Some("set"), None, Some("set")]),
        ],
        ..History::default()
    };
    assert_eq!(w.check(&partial), vec!["S5 lease set held in part"]);
}

/// Permits (semaphore runs): actor `who` holds slot `slot`, asked for with `n` permits, over
/// `[start, end)`.
fn permit(w: &Setup, who: usize, slot: usize, start: u64, end: u64, fence: u64) -> Interval {
    Interval {
        key: slot,
        ..w.interval(who, s(start), s(end + 5), Some(s(end)), fence)
    }
}

#[test]
fn permits_within_n_pass_and_a_slot_at_or_above_n_breaks_s6() {
    let w = setup();
    // Two holders of N = 2, on slots 0 and 1; then a third on slot 0 once the first let go.
    let mut history = History {
        intervals: vec![
            permit(&w, 0, 0, 0, 5, 1),
            permit(&w, 1, 1, 1, 9, 2),
            permit(&w, 2, 0, 6, 9, 3),
        ],
        permits: [(0, 2), (1, 2), (2, 2)].into(),
        ..History::default()
    };
    assert_eq!(w.check(&history), Vec::<&str>::new());
    // The third takes slot 2 while two are held: slot 2 is not below N = 2, and three
    // holders of N = 2 hold permits at once from 6 s.
    history.intervals[2].key = 2;
    history.intervals[0].ended = Some((s(8), EndReason::LetGo));
    let found = w.check(&history);
    assert!(found.contains(&"S6 permit beyond N"), "{found:?}");
    assert!(found.contains(&"S6 more holders than permits"), "{found:?}");
    // A holder that asked for N = 3 makes three holders at once allowed (the semaphore
    // grew under the others); its slot 2 is below its N.
    history.permits.insert(2, 3);
    assert_eq!(w.check(&history), Vec::<&str>::new());
}

#[test]
fn a_permit_on_a_slot_beyond_the_runs_keys_breaks_s6() {
    let w = setup();
    let history = History {
        stray_permits: vec![(s(1), 7, 3)],
        ..History::default()
    };
    assert_eq!(w.check(&history), vec!["S6 permit beyond N"]);
}

#[test]
fn a_permit_acquire_that_asks_for_a_slot_its_query_showed_held_breaks_l4() {
    let w = setup();
    let history = History {
        held_slot_asks: vec![(s(2), Who::Actor(1), 0)],
        ..History::default()
    };
    assert_eq!(
        w.check(&history),
        vec!["L4 permit acquire asked for a held slot"]
    );
}

#[test]
fn a_loss_reported_after_the_deadline_breaks_s4_unless_the_process_was_paused() {
    let w = setup();
    let mut history = History {
        intervals: vec![w.interval(0, s(0), s(9), Some(s(11)), 1)],
        ..History::default()
    };
    assert!(w.check(&history).contains(&"S4 late loss"));
    history
        .pauses
        .insert(Who::Actor(0), vec![(s(5), s(10)), (s(8), s(11))]);
    assert!(
        !w.check(&history).contains(&"S4 late loss"),
        "paused until 11 s"
    );
}

#[test]
fn a_probe_that_waits_too_long_breaks_l1() {
    let w = setup();
    let history = History {
        probes: vec![
            Probe {
                key: 0,
                start: s(100),
                acquired: Some(s(101)),
                bound: s(5),
            },
            Probe {
                key: 1,
                start: s(100),
                acquired: Some(s(106)),
                bound: s(5),
            },
            Probe {
                key: 2,
                start: s(100),
                acquired: None,
                bound: s(5),
            },
        ],
        ..History::default()
    };
    assert_eq!(w.check(&history), ["L1 liveness", "L1 liveness"]);
}

#[test]
fn an_undisturbed_loss_breaks_l2_and_a_disturbed_one_does_not() {
    let mut w = setup();
    // A generous renew period for actor 0, so the property applies.
    w.plan.options.actors[0].duration = s(10);
    w.plan.options.actors[0].renew = w.plan.options.actors[0].renew.renew_every(s(3));
    w.plan.options.latency = (Duration::from_millis(1), Duration::from_millis(5));
    let mut lost = w.interval(0, s(20), s(29), None, 1);
    lost.ended = Some((s(25), EndReason::Lost("could not confirm".into())));
    let mut history = History {
        intervals: vec![lost],
        ..History::default()
    };
    assert_eq!(w.check(&history), ["L2 spurious loss"]);
    history.disturb(Who::Actor(0), s(24));
    assert_eq!(w.check(&history), Vec::<&str>::new());
}

#[test]
fn a_machine_that_never_finished_is_reported() {
    let w = setup();
    let history = History {
        stuck: vec![(Who::Actor(2), "acquiring".into())],
        ..History::default()
    };
    assert_eq!(w.check(&history), ["machine never finished"]);
}

#[test]
fn a_run_cut_by_a_spinning_event_is_reported() {
    let w = setup();
    let history = History {
        spun: Some((Duration::from_secs(7), "Wake { who: Actor(1) }".into())),
        ..History::default()
    };
    assert_eq!(w.check(&history), ["event loop spun"]);
}

#[test]
fn a_release_not_handed_to_a_waiter_in_line_breaks_l3_in_a_run_without_faults() {
    let mut w = setup();
    w.plan.options.faults = lease_sim::options::FaultRates {
        drop: 0.0,
        apply_then_error: 0.0,
        answer_lost: 0.0,
        slow: 0.0,
        duplicate: 0.0,
        throttle_per_key: None,
    };
    w.plan.clock_faults.clear();
    w.plan.options.latency = (Duration::from_millis(1), Duration::from_millis(5));
    // Actor 0 lets go at 5 s; actor 1 of the same process waits in line from 2 s to 9 s.
    let mut history = History {
        intervals: vec![w.interval(0, s(0), s(9), Some(s(5)), 1)],
        waits: vec![Wait {
            who: Who::Actor(1),
            process: 0,
            key: 0,
            start: s(2),
            end: Some(s(9)),
        }],
        local_releases: vec![LocalRelease {
            process: 0,
            key: 0,
            at: s(5),
        }],
        ..History::default()
    };
    assert_eq!(w.check(&history), ["L3 slow in-process handover"]);
    // Handed on within the bound (ten latencies and 20 ms): no violation.
    history
        .intervals
        .push(w.interval(1, s(5) + Duration::from_millis(60), s(14), Some(s(9)), 2));
    assert_eq!(w.check(&history), Vec::<&str>::new());
    // A waiter of another process, or one that joined after the release, is not owed it.
    history.intervals.pop();
    history.waits[0].process = 1;
    assert_eq!(w.check(&history), Vec::<&str>::new());
    history.waits[0].process = 0;
    history.waits[0].start = s(6);
    assert_eq!(w.check(&history), Vec::<&str>::new());
    // With faults in the run the property does not apply.
    history.waits[0].start = s(2);
    w.plan.options.faults.drop = 0.01;
    assert_eq!(w.check(&history), Vec::<&str>::new());
}
