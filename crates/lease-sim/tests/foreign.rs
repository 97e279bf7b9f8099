//! The TableTheory writer is a careful user: it never uses a lease whose `PutItem` answer came
//! after its careful end (expiry minus a second minus the skew bound). Seed 662965 (skew bound
//! 200 ms): a put applied at 33.8 s with expiry epoch second 37 was answered 4.1 s late (within
//! the client's 4.3 s timeout), at 37.93 s; one of our actors had rightly taken the expired
//! item at 37.81 s, and the writer's empty interval at 37.93 s was judged an S1 overlap.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// An Instant is needed as the clocks' origin; only Instant::now makes one.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use lease_core::{LeaseConfig, Request, StoreResponse};
use lease_sim::Plan;
use lease_sim::checker::{Violation, check};
use lease_sim::clock::{ActorClock, T0};
use lease_sim::foreign::Foreign;
use lease_sim::history::{Deadlines, EndReason, History, Interval, Who};

const SKEW_BOUND: Duration = Duration::from_millis(200);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn wall(at: Duration) -> i128 {
    i128::from(T0) * 1_000_000_000 + at.as_nanos() as i128
}

/// The writer (clocks reading true time, 4 s leases on one key) puts at 3 s, for an expiry of
/// epoch second `T0 + 7` (careful end: 5.8 s), and gets the success at `answer_at`.
fn put_answered_at(origin: Instant, answer_at: Duration) -> (Foreign, History) {
    let config = LeaseConfig::builder("locks").build().unwrap();
    let clock = ActorClock::new(origin, 0, Vec::new(), Vec::new());
    let mut foreign = Foreign::new(clock, config, 1, Duration::from_secs(4), 0);
    let mut history = History::default();
    let put_at = Duration::from_secs(3);
    assert!(foreign.next_wake().unwrap() <= put_at);
    let request = foreign.wake(put_at, false, &mut history);
    assert!(matches!(request, Some(Request::Put(_))), "{request:?}");
    foreign.in_flight = Some(0);
    foreign.answer(
        Ok(StoreResponse::Applied { attributes: None }),
        answer_at,
        SKEW_BOUND,
        &mut history,
    );
    (foreign, history)
}

/// One of our actors holds key 0 from `start` to `end` (let go; deadline later).
fn ours(origin: Instant, start: Duration, end: Duration) -> Interval {
    Interval {
        who: Who::Actor(0),
        key: 0,
        token: "ours".into(),
        fence: Some(1),
        guarded: true,
        start,
        deadlines: Deadlines {
            monotonic: origin + end + ms(1000),
            wall_nanos: wall(end + ms(1000)),
        },
        renewals: Vec::new(),
        ended: Some((end, EndReason::LetGo)),
        foreign_end: None,
        set: None,
    }
}

fn violations(origin: Instant, history: &History) -> Vec<&'static str> {
    let clocks = vec![ActorClock::new(origin, 0, Vec::new(), Vec::new())];
    let config = LeaseConfig::builder("locks").build().unwrap();
    check(history, &clocks, &Plan::of_seed(0), &config)
        .violations
        .iter()
        .map(Violation::property)
        .collect()
}

#[test]
fn a_put_answered_after_its_expiry_gives_the_writer_nothing_to_hold() {
    let origin = Instant::now();
    // Answered at 7.2 s: the item expired at 7 s, and our actor took it at 7.1 s.
    let (mut foreign, mut history) = put_answered_at(origin, ms(7_200));
    history.intervals.push(ours(origin, ms(7_100), ms(9_000)));
    assert_eq!(violations(origin, &history), Vec::<&str>::new());
    assert!(
        history.intervals.iter().all(|i| i.who != Who::Foreign),
        "the writer holds nothing: {:?}",
        history.intervals
    );
    // It still gives the item back (a DeleteItem on its token) when its hold is over.
    let at = foreign.next_wake().unwrap();
    let request = foreign.wake(at, false, &mut history);
    assert!(matches!(request, Some(Request::Delete(_))), "{request:?}");
}

#[test]
fn a_put_answered_in_time_is_held_until_the_careful_end() {
    let origin = Instant::now();
    let (_, mut history) = put_answered_at(origin, ms(3_010));
    let foreign: Vec<&Interval> = history
        .intervals
        .iter()
        .filter(|i| i.who == Who::Foreign)
        .collect();
    assert_eq!(foreign.len(), 1);
    assert_eq!(foreign[0].start, ms(3_010));
    assert_eq!(foreign[0].foreign_end, Some(ms(5_800)));
    // An actor of ours inside it (which the store's condition would not allow) is caught.
    history.intervals.push(ours(origin, ms(5_000), ms(6_000)));
    assert!(violations(origin, &history).contains(&"S1 overlap"));
}
