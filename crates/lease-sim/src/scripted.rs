//! Fault-class scenarios as fixed schedules: the written-out lifecycle scenarios of
//! `fault-classes.md` and `fault-classes-2.md` (and issue 15's inputs), each a scripted
//! [`Plan`] run through the same world and checker as the random ones, with an expectation of
//! its own on top.

use std::time::Duration;

use lease_core::{ExpiryUnit, RetryPolicy};

use crate::history::Who;
use crate::options::{ActorOptions, ClockFaultCounts, FaultRates, Mode, Options, Turn};
use crate::plan::{AimedFault, ClockFault, ClockFaultKind, Plan, StoreFault};
use crate::world::{Outcome, run};

/// A scripted schedule.
#[derive(Debug)]
pub struct Scripted {
    /// Its name (the fault class it stands for).
    pub name: &'static str,
    /// The plan.
    pub plan: Plan,
    /// What must hold besides the checker's properties.
    pub expect: fn(&Outcome) -> Result<(), String>,
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn turn(at: Duration, work: Duration) -> Turn {
    Turn {
        at,
        key: 0,
        work,
        drop: false,
    }
}

/// Options for a scripted run: one key, skew bound `skew`, no random faults, fast network.
fn options(skew: Duration, actors: Vec<ActorOptions>) -> Options {
    Options {
        seed: 0,
        skew_bound: skew,
        expiry_unit: ExpiryUnit::Seconds,
        ttl_buffer: None,
        keys: 1,
        actors,
        foreign_writer: false,
        no_old_item: false,
        stale_answers: true,
        elections: false,
        observers: Vec::new(),
        sets: false,
        semaphore: false,
        horizon: s(60),
        latency: (ms(1), ms(5)),
        request_timeout: s(2),
        faults: FaultRates {
            drop: 0.0,
            apply_then_error: 0.0,
            answer_lost: 0.0,
            slow: 0.0,
            duplicate: 0.0,
            throttle_per_key: None,
        },
        clock_faults: ClockFaultCounts {
            pauses: 0,
            suspends: 0,
            steps: 0,
            crashes: 0,
        },
    }
}

/// A guard actor (L, H) on a script.
fn guard(mode: Mode, duration: Duration, every: Duration, turns: Vec<Turn>) -> ActorOptions {
    ActorOptions::scripted(mode, duration, every, turns)
}

fn aimed(actor: usize, kind: &'static str, nth: usize, fault: StoreFault) -> AimedFault {
    AimedFault {
        actor,
        kind,
        nth,
        fault,
    }
}

fn fault(at: Duration, actor: usize, kind: ClockFaultKind) -> ClockFault {
    ClockFault { at, actor, kind }
}

/// The intervals (start, end as the holder saw it) `who` held, in order.
fn held(outcome: &Outcome, who: Who) -> Vec<(Duration, Option<Duration>, Option<u64>)> {
    outcome
        .history
        .intervals
        .iter()
        .filter(|i| i.who == who)
        .map(|i| (i.start, i.ended.as_ref().map(|(at, _)| *at), i.fence))
        .collect()
}

fn a(i: usize) -> Who {
    Who::Actor(i)
}

/// Every scripted schedule.
#[must_use]
pub fn all() -> Vec<Scripted> {
    vec![
        Scripted {
            name: "issue15-input1: the acquire's answer arrives 12 s late; a contender with a fast clock takes the key at 9 s",
            plan: Plan::scripted(
                {
                    let mut fast = guard(Mode::GuardOnce, s(10), s(3), vec![turn(s(9), s(20))]);
                    fast.skew_nanos = 1_000_000_000;
                    let mut options = options(
                        s(2),
                        vec![
                            guard(
                                Mode::GuardOnce,
                                s(10),
                                s(3),
                                vec![turn(Duration::ZERO, s(20))],
                            ),
                            fast,
                        ],
                    );
                    // The client waits for the answer (no timeout and retry before it).
                    options.request_timeout = s(30);
                    options
                },
                Vec::new(),
                vec![aimed(0, "acquire", 0, StoreFault::SlowAnswer(s(12)))],
            ),
            expect: |o| {
                if !held(o, a(0)).is_empty() {
                    return Err("the late acquire was reported held".into());
                }
                match held(o, a(1)).first() {
                    Some((start, _, _)) if *start < s(10) => Ok(()),
                    other => Err(format!(
                        "the contender did not get the key at 9 s: {other:?}"
                    )),
                }
            },
        },
        Scripted {
            name: "issue15-input2: paused 14 s right after the acquire; a waiter takes over",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(5))]),
                    ],
                ),
                vec![fault(ms(200), 0, ClockFaultKind::Pause(s(14)))],
                Vec::new(),
            ),
            expect: |o| match (held(o, a(0)).first(), held(o, a(1)).first()) {
                (Some((_, Some(end), _)), Some((start, _, _)))
                    if *end <= s(15) && *start >= s(9) =>
                {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            },
        },
        Scripted {
            name: "fault-classes-2 suspend: the machine sleeps 14 s (monotonic clock stopped)",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(5))]),
                    ],
                ),
                vec![fault(s(1), 0, ClockFaultKind::Suspend(s(14)))],
                Vec::new(),
            ),
            expect: |o| {
                if held(o, a(1)).is_empty() {
                    Err("the waiter never got the key".into())
                } else {
                    Ok(())
                }
            },
        },
        Scripted {
            name: "B02: the acquire lands, its answer is lost; the retry finds its own token",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![guard(
                        Mode::GuardOnce,
                        s(10),
                        s(3),
                        vec![turn(Duration::ZERO, s(2))],
                    )],
                ),
                Vec::new(),
                vec![aimed(
                    0,
                    "acquire",
                    0,
                    StoreFault::ApplyThenError(lease_core::StoreErrorKind::Timeout),
                )],
            ),
            expect: |o| {
                if held(o, a(0)).len() == 1 {
                    Ok(())
                } else {
                    Err("the retried acquire did not hold".into())
                }
            },
        },
        Scripted {
            name: "B03: a crashed holder's lease is taken over by a later one-shot try",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(5),
                            s(1),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(
                            Mode::GuardOnce,
                            s(5),
                            s(1),
                            (2..=20).map(|t| turn(s(t), ms(100))).collect(),
                        ),
                    ],
                ),
                vec![fault(s(1), 0, ClockFaultKind::Crash)],
                Vec::new(),
            ),
            expect: |o| match held(o, a(1)).first() {
                Some((start, _, _)) if *start <= s(8) => Ok(()),
                other => Err(format!("not taken over by t=8: {other:?}")),
            },
        },
        Scripted {
            name: "B08: a renewal in flight when the holder releases; nothing renews after the release",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, ms(3_050))],
                        ),
                        guard(Mode::GuardOnce, s(10), s(3), vec![turn(s(4), s(10))]),
                    ],
                ),
                Vec::new(),
                vec![aimed(0, "refresh", 0, StoreFault::SlowAnswer(ms(500)))],
            ),
            expect: |o| {
                if held(o, a(1)).is_empty() {
                    Err("B did not get the key".into())
                } else {
                    Ok(())
                }
            },
        },
        Scripted {
            name: "B09: renewals fail longer than the lease; the holder is told before a waiter takes over",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(2))]),
                    ],
                ),
                Vec::new(),
                (0..200)
                    .map(|n| aimed(0, "refresh", n, StoreFault::Drop))
                    .collect(),
            ),
            expect: |o| match (held(o, a(0)).first(), held(o, a(1)).first()) {
                (Some((_, Some(lost), _)), Some((taken, _, _))) if lost <= taken => Ok(()),
                other => Err(format!("{other:?}")),
            },
        },
        Scripted {
            name: "B11: two waiters race for a released lease; the loser keeps waiting",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(5),
                            s(1),
                            vec![turn(Duration::ZERO, s(2))],
                        ),
                        guard(Mode::GuardWaiting, s(5), s(1), vec![turn(s(3), s(3))]),
                        guard(Mode::GuardWaiting, s(5), s(1), vec![turn(s(3), s(3))]),
                    ],
                ),
                Vec::new(),
                Vec::new(),
            ),
            expect: |o| {
                if held(o, a(1)).len() == 1 && held(o, a(2)).len() == 1 {
                    Ok(())
                } else {
                    Err("a waiter gave up".into())
                }
            },
        },
        Scripted {
            name: "B12: a dropped guard stops renewing and releases; a waiter gets the key at once",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![Turn {
                                at: Duration::ZERO,
                                key: 0,
                                work: s(1),
                                drop: true,
                            }],
                        ),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(ms(1_500), s(1))]),
                    ],
                ),
                Vec::new(),
                Vec::new(),
            ),
            expect: |o| match held(o, a(1)).first() {
                Some((start, _, _)) if *start < s(3) => Ok(()),
                other => Err(format!("{other:?}")),
            },
        },
        Scripted {
            name: "B22: a holder paused 15 s is fenced: fences grow, the zombie writes nothing after",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(3))]),
                        guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(2), s(3))]),
                    ],
                ),
                vec![fault(ms(500), 0, ClockFaultKind::Pause(s(15)))],
                Vec::new(),
            ),
            expect: |o| {
                // In the order the three held the key.
                let mut held: Vec<(Duration, u64)> = [0, 1, 2]
                    .iter()
                    .filter_map(|i| held(o, a(*i)).first().and_then(|h| h.2.map(|f| (h.0, f))))
                    .collect();
                held.sort_unstable();
                let fences: Vec<u64> = held.iter().map(|(_, f)| *f).collect();
                let zombie_first = held.first().is_some_and(|(start, _)| *start < s(1));
                if fences.len() == 3 && zombie_first && fences.windows(2).all(|w| w[0] < w[1]) {
                    Ok(())
                } else {
                    Err(format!("fences {held:?}"))
                }
            },
        },
        Scripted {
            name: "B28: a release whose answer is lost, then the same process acquires again",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(1)), turn(ms(1_200), s(1))],
                        ),
                        guard(Mode::GuardOnce, s(10), s(3), vec![turn(s(2), s(1))]),
                    ],
                ),
                Vec::new(),
                vec![aimed(
                    0,
                    "release",
                    0,
                    StoreFault::ApplyThenError(lease_core::StoreErrorKind::Timeout),
                )],
            ),
            expect: |o| {
                if held(o, a(0)).len() == 2 && held(o, a(1)).is_empty() {
                    Ok(())
                } else {
                    Err(format!("{:?} / {:?}", held(o, a(0)), held(o, a(1))))
                }
            },
        },
        Scripted {
            name: "B37: a herd of twelve waiters meets a crashed holder and a throttled key",
            plan: {
                let mut actors = vec![guard(
                    Mode::GuardOnce,
                    s(10),
                    s(3),
                    vec![turn(Duration::ZERO, s(30))],
                )];
                for _ in 0..12 {
                    let mut waiter = guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(4))]);
                    waiter.wait = lease_core::WaitPolicy::with_timeout(s(120));
                    actors.push(waiter);
                }
                let mut options = options(s(1), actors);
                options.faults.throttle_per_key = Some(10);
                Plan::scripted(
                    options,
                    vec![fault(s(5), 0, ClockFaultKind::Crash)],
                    Vec::new(),
                )
            },
            expect: |o| {
                let winners = (1..=12).filter(|i| !held(o, a(*i)).is_empty()).count();
                if winners == 12 {
                    Ok(())
                } else {
                    Err(format!("{winners} of 12 waiters got the key"))
                }
            },
        },
        Scripted {
            name: "B40: TTL deletes a crashed holder's item; the next fencing token still grows",
            plan: {
                let mut options = options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(3),
                            s(1),
                            vec![turn(Duration::ZERO, s(30))],
                        ),
                        guard(Mode::Plain, s(3), s(1), vec![turn(s(16), s(1))]),
                    ],
                );
                // Just above the shortest buffer accepted (three skew bounds).
                options.ttl_buffer = Some(s(4));
                Plan::scripted(
                    options,
                    vec![fault(s(1), 0, ClockFaultKind::Crash)],
                    Vec::new(),
                )
            },
            expect: |o| match (held(o, a(0)).first(), held(o, a(1)).first()) {
                (Some((_, _, Some(f0))), Some((_, _, Some(f1)))) if f1 > f0 => Ok(()),
                other => Err(format!("{other:?}")),
            },
        },
        Scripted {
            name: "B40 + pause: an acquire is dropped, its sender paused 30 s; meanwhile another holder comes and goes and TTL deletes the item; the resend's fence still grows",
            plan: {
                let mut options = options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(60),
                            s(10),
                            vec![turn(Duration::ZERO, s(2))],
                        ),
                        guard(Mode::GuardOnce, s(3), s(1), vec![turn(s(3), s(1))]),
                    ],
                );
                options.ttl_buffer = Some(s(4));
                Plan::scripted(
                    options,
                    vec![fault(ms(500), 0, ClockFaultKind::Pause(s(30)))],
                    vec![aimed(0, "acquire", 0, StoreFault::Drop)],
                )
            },
            expect: |o| match (held(o, a(0)).first(), held(o, a(1)).first()) {
                (Some((t0, _, Some(f0))), Some((_, _, Some(f1)))) if f0 > f1 && *t0 > s(30) => {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            },
        },
        Scripted {
            name: "B14: a wait whose holder never lets go ends at its timeout",
            plan: Plan::scripted(
                options(
                    s(1),
                    vec![
                        guard(
                            Mode::GuardOnce,
                            s(10),
                            s(3),
                            vec![turn(Duration::ZERO, s(40))],
                        ),
                        {
                            let mut waiter =
                                guard(Mode::GuardWaiting, s(10), s(3), vec![turn(s(1), s(1))]);
                            waiter.wait = lease_core::WaitPolicy::with_timeout(s(5));
                            waiter.retry = RetryPolicy::never();
                            waiter
                        },
                    ],
                ),
                Vec::new(),
                Vec::new(),
            ),
            expect: |o| {
                if held(o, a(1)).is_empty() {
                    Ok(())
                } else {
                    Err("the waiter got a held lease".into())
                }
            },
        },
    ]
}

/// Runs every scripted schedule; the names of those that failed, with why.
#[must_use]
pub fn failures() -> Vec<(&'static str, String)> {
    all()
        .into_iter()
        .filter_map(|scripted| {
            let outcome = run(&scripted.plan, false);
            let violations = &outcome.report.violations;
            // The first few violations say what went wrong; the rest are usually its echoes.
            let mut problems: Vec<String> = violations
                .iter()
                .take(3)
                .map(|v| format!("{v:?}"))
                .collect();
            if violations.len() > 3 {
                problems.push(format!("{} more violations", violations.len() - 3));
            }
            if let Err(e) = (scripted.expect)(&outcome) {
                problems.insert(0, format!("expected: {e}"));
            }
            (!problems.is_empty()).then(|| (scripted.name, problems.join("; ")))
        })
        .collect()
}
