//! The lifecycle machines (`Keeper`, `AcquireOp`, `RefreshOp`, `ReleaseOp`, `InspectOp`,
//! `WaitOp`) driven by a fuzzed sequence of events: answers of any kind to any request in
//! flight (the answer each request hopes for, a failed condition with a holder, any answer
//! at all, errors of every kind, stale and duplicate answers), both clocks advancing, the
//! wall clock stepped backwards or forwards alone (a suspend, an NTP step), readings without
//! a monotonic clock, timers fired early, late or not at all, and the holder's commands.
//!
//! Properties:
//! - nothing panics;
//! - "a lapsed lease reported as held" (docs/correctness.md) never happens: after every input
//!   at a reading `now`, a keeper whose status is `Held` or `AtRisk` has a lease valid at
//!   `now` (`Lease::is_valid_at`), and a machine that gives a lease gives one valid at the
//!   reading of the input that produced it;
//! - a keeper's status, once `Lost` or `Released`, is never held again; its lease keeps its
//!   key, token and fencing token, and its stored expiry never goes back; it finishes once;
//! - an acquire's lease has the key and token asked for and the fencing token of the answer
//!   that gave it;
//! - a machine gives its result once, and sends nothing after it;
//! - every machine comes to its end (a keeper: finished after `release`) when the store
//!   answers what each request hopes for and time runs to each timer it asks for.

#![no_main]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arbitrary::{Result, Unstructured};
use lease_core::expr::{Operand, UpdateAction, UpdateValue};
use lease_core::lifecycle::{
    AcquireOp, InspectOp, Keeper, KeeperEvent, Machine, RefreshOp, ReleaseOp, RequestId, WaitOp,
};
use lease_core::wire_time::{self, ExpiryUnit};
use lease_core::{
    AttributeValue, FencingToken, Item, Lease, LeaseConfig, LeaseKey, LeaseStatus, LeaseToken, Now,
    Planner, RenewPolicy, Request, RetryPolicy, StoreError, StoreResponse, Text, TokenSource,
    WaitPolicy,
};
use libfuzzer_sys::fuzz_target;

type Answer = std::result::Result<StoreResponse, StoreError>;

const MAX_EVENTS: usize = 96;
/// Steps the end of a run may take before a machine counts as stuck.
const MAX_END_STEPS: usize = 200;

/// Prints the run's inputs when `FUZZ_TRACE` is set (to read a crash's story).
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// The holder's clocks: the monotonic one as an offset from [`origin`], the wall clock in
/// nanoseconds since the epoch; `monotonic` off for a reading without it.
#[derive(Clone, Copy, Debug)]
struct Clocks {
    mono: Duration,
    wall: i128,
    monotonic: bool,
}

impl Clocks {
    fn now(&self) -> Now {
        let wall = wire_time::from_epoch_nanos(self.wall).unwrap_or(SystemTime::UNIX_EPOCH);
        if self.monotonic {
            Now::new(wall, origin() + self.mono)
        } else {
            Now::from(wall)
        }
    }

    fn advance(&mut self, by: Duration) {
        self.mono = self.mono.saturating_add(by);
        self.wall = self.wall.saturating_add(by.as_nanos() as i128);
    }

    /// Both clocks to the monotonic instant `at`, if it is ahead.
    fn advance_to(&mut self, at: Instant) {
        let by = at.saturating_duration_since(origin() + self.mono);
        self.advance(by);
    }
}

/// What the store answers.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// What the request hopes for: an acquire's token and a fencing token; an applied
    /// refresh, release or transaction; no item for a read.
    Good,
    /// A failed condition, with another holder's item expiring `in_ms` from the wall clock
    /// (or no item).
    Held { in_ms: Option<i64> },
    /// A read that finds another holder's item.
    Found { in_ms: i64 },
    /// Any answer at all.
    Any,
    /// A store error of any kind.
    Error,
}

#[derive(Debug)]
struct Run {
    config: LeaseConfig,
    clocks: Clocks,
    /// Requests sent and not answered, oldest first.
    outstanding: Vec<(RequestId, Request)>,
    /// Ids answered, for stale answers.
    answered: Vec<RequestId>,
    /// The fencing token a good answer to an acquire carries next.
    next_fence: u64,
}

impl Run {
    fn reply(&mut self, u: &mut Unstructured<'_>) -> Result<Reply> {
        Ok(match u.int_in_range(0..=9)? {
            0..=3 => Reply::Good,
            4 => Reply::Held {
                in_ms: if u.arbitrary()? {
                    Some(u.int_in_range(-5_000..=60_000)?)
                } else {
                    None
                },
            },
            5 => Reply::Found {
                in_ms: u.int_in_range(-5_000..=60_000)?,
            },
            6 => Reply::Any,
            _ => Reply::Error,
        })
    }

    /// The answer `reply` makes for `request`; for a good answer to an acquire, its fencing
    /// token.
    fn answer(
        &mut self,
        u: &mut Unstructured<'_>,
        request: &Request,
        reply: Reply,
    ) -> Result<(Answer, Option<u64>)> {
        let config = &self.config;
        let wall = self.clocks.now().wall;
        Ok(match reply {
            Reply::Good => match request {
                Request::Update(update) if is_acquire(update) => {
                    let fence = self.next_fence;
                    self.next_fence = self.next_fence.saturating_add(1);
                    let mut item = Item::from([(
                        Text::from(config.fence_attribute()),
                        AttributeValue::N(Text::from(fence.to_string())),
                    )]);
                    if let Some(token) = token_of(update) {
                        item.insert(
                            Text::from(config.token_attribute()),
                            AttributeValue::S(token),
                        );
                    }
                    (
                        Ok(StoreResponse::Applied {
                            attributes: Some(item),
                        }),
                        Some(fence),
                    )
                }
                Request::Get(_) => (Ok(StoreResponse::Item(None)), None),
                _ => (Ok(StoreResponse::Applied { attributes: None }), None),
            },
            Reply::Held { in_ms } => {
                let old_item = in_ms.map(|ms| holder_item(config, wall, ms));
                (Ok(StoreResponse::ConditionFailed { old_item }), None)
            }
            Reply::Found { in_ms } => (
                Ok(StoreResponse::Item(Some(holder_item(config, wall, in_ms)))),
                None,
            ),
            Reply::Any => (lease_fuzz::answer(u, config, wall)?, None),
            Reply::Error => (Err(lease_fuzz::store_error(u)?), None),
        })
    }
}

/// Another holder's lease item, expiring `in_ms` from `wall`.
fn holder_item(config: &LeaseConfig, wall: SystemTime, in_ms: i64) -> Item {
    let unit = config.expiry_unit();
    let expires = unit.ceil(wall).unwrap_or(0).saturating_add(match unit {
        ExpiryUnit::Milliseconds => in_ms,
        _ => in_ms / 1000,
    });
    Item::from([
        (
            Text::from(config.partition_key_attribute()),
            AttributeValue::string("CACHE#A"),
        ),
        (
            Text::from(config.sort_key_attribute()),
            AttributeValue::string(config.lock_sort_key()),
        ),
        (
            Text::from(config.token_attribute()),
            AttributeValue::string("another-holder"),
        ),
        (
            Text::from(config.expires_at_attribute()),
            AttributeValue::number(expires),
        ),
        (
            Text::from(config.fence_attribute()),
            AttributeValue::number(3),
        ),
    ])
}

fn is_acquire(update: &lease_core::UpdateRequest) -> bool {
    update
        .update
        .iter()
        .any(|action| matches!(action, UpdateAction::Set(attr, _) if attr.label == "fence"))
}

/// The token an acquire sets (`SET #tok = :tok`).
fn token_of(update: &lease_core::UpdateRequest) -> Option<Text> {
    update.update.iter().find_map(|action| match action {
        UpdateAction::Set(attr, UpdateValue::Operand(Operand::Value(value)))
            if attr.label == "tok" =>
        {
            value.value.as_s().map(Text::from)
        }
        _ => None,
    })
}

/// One input to a machine.
#[derive(Debug)]
enum Event {
    /// Both clocks advance.
    Advance(Duration),
    /// The wall clock alone steps (back when negative): NTP.
    StepWall(i64),
    /// The wall clock alone advances: a suspended machine.
    Suspend(Duration),
    /// The next reading has no monotonic clock.
    NoMonotonic,
    /// Send what is due.
    Transmit,
    /// Answer the `n`th outstanding request (counted from the newest).
    Answer(usize, Reply),
    /// Answer an id already answered, or one never sent.
    Stale(Reply),
    /// Fire the timers at the current reading.
    Timeout,
    /// Both clocks to the machine's next timer, then fire it.
    ToTimer,
    /// The holder's command (keeper only): 0 release, 1 drop, 2 shutdown, 3 status read.
    Command(u8),
}

fn event(u: &mut Unstructured<'_>, run: &mut Run) -> Result<Event> {
    Ok(match u.int_in_range(0..=15)? {
        0 | 1 => Event::Advance(Duration::from_millis(match u.int_in_range(0..=3)? {
            0 => u.int_in_range(0..=50)?,
            1 => u.int_in_range(0..=2_000)?,
            2 => u.int_in_range(0..=20_000)?,
            _ => u.int_in_range(0..=600_000)?,
        })),
        2 => Event::StepWall(u.int_in_range(-3_600_000..=3_600_000)?),
        3 => Event::Suspend(Duration::from_millis(u.int_in_range(0..=120_000)?)),
        4 => Event::NoMonotonic,
        5..=7 => Event::Transmit,
        8..=10 => Event::Answer(u.int_in_range(0..=2)?, run.reply(u)?),
        11 => Event::Stale(run.reply(u)?),
        12 => Event::Timeout,
        13 | 14 => Event::ToTimer,
        _ => Event::Command(u.int_in_range(0..=3)?),
    })
}

fn retry_policy(u: &mut Unstructured<'_>) -> Result<RetryPolicy> {
    Ok(match u.int_in_range(0..=2)? {
        0 => RetryPolicy::never(),
        1 => RetryPolicy::default(),
        _ => RetryPolicy::default()
            .max_attempts(u.int_in_range(0..=6)?)
            .backoff(
                Duration::from_millis(u.int_in_range(0..=5_000)?),
                Duration::from_millis(u.int_in_range(0..=20_000)?),
            ),
    })
}

fn config(u: &mut Unstructured<'_>) -> Result<LeaseConfig> {
    let mut builder = LeaseConfig::builder("locks");
    if u.arbitrary()? {
        builder = builder.expiry_unit(ExpiryUnit::Milliseconds);
    }
    if u.arbitrary()? {
        builder = builder.max_clock_skew(Duration::from_millis(u.int_in_range(0..=5_000)?));
    }
    Ok(builder
        .build()
        .unwrap_or_else(|error| panic!("a valid configuration: {error}")))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = fuzz(&mut u);
});

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let config = config(u)?;
    let planner = Arc::new(Planner::new(config.clone()));
    let duration = Duration::from_millis(match u.int_in_range(0..=3)? {
        0 => u.int_in_range(1..=2_000)?,
        _ => u.int_in_range(1..=60_000)?,
    });
    let clocks = Clocks {
        mono: Duration::from_secs(1),
        wall: i128::from(lease_fuzz::T0) * 1_000_000_000
            + i128::from(u.int_in_range(0..=999_999_999u32)?),
        monotonic: true,
    };
    let retry = retry_policy(u)?;
    let mut run = Run {
        config,
        clocks,
        outstanding: Vec::new(),
        answered: Vec::new(),
        next_fence: u.int_in_range(1..=u64::MAX - 1_000_000)?,
    };
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let token = LeaseToken::new("tok-a");
    let now = run.clocks.now();
    // A lease acquired at the start (for the keeper, refresh and release), with its deadline.
    let acquired = planner
        .acquire(key.clone(), duration, now, token.clone())
        .ok()
        .map(|plan| {
            let item = Item::from([(
                Text::from(run.config.fence_attribute()),
                AttributeValue::number(7),
            )]);
            match plan.interpret(Ok(StoreResponse::Applied {
                attributes: Some(item),
            })) {
                Ok(lease) => lease,
                Err(error) => {
                    panic!("an acquire answered with its fencing token failed: {error:?}")
                }
            }
        });
    let lease = if u.int_in_range(0..=7)? == 0 {
        Some(Lease::new(
            key.clone(),
            token.clone(),
            FencingToken::new(u.int_in_range(0..=u64::MAX)?),
            now.wall,
        ))
    } else {
        acquired
    };
    // The machine starts a little later, sometimes.
    if u.arbitrary()? {
        run.clocks
            .advance(Duration::from_millis(u.int_in_range(0..=5_000)?));
    }
    let now = run.clocks.now();
    match u.int_in_range(0..=5)? {
        0 => {
            let Some(lease) = lease else { return Ok(()) };
            let mut policy = RenewPolicy::default();
            if u.arbitrary()? {
                policy = policy.renew_every(Duration::from_millis(u.int_in_range(0..=60_000)?));
            }
            if u.arbitrary()? {
                policy = policy.retry_delays(
                    Duration::from_millis(u.int_in_range(0..=5_000)?),
                    Duration::from_millis(u.int_in_range(0..=20_000)?),
                );
            }
            if u.arbitrary()? {
                // Any f64, NaN and out-of-range values included: the keeper must refuse those.
                policy = policy.jitter(u.arbitrary()?);
            }
            let seed: u64 = u.arbitrary()?;
            let Ok(keeper) = Keeper::new(
                Arc::clone(&planner),
                lease,
                duration,
                policy,
                retry,
                seed,
                now,
            ) else {
                return Ok(());
            };
            drive_keeper(u, &mut run, keeper)
        }
        1 => {
            let Ok(op) = AcquireOp::new(
                Arc::clone(&planner),
                key.clone(),
                duration,
                now,
                token.clone(),
                retry,
            ) else {
                return Ok(());
            };
            let op = if u.arbitrary()? {
                op.reading_holder()
            } else {
                op
            };
            let expect = Expect::Lease {
                key,
                token: Some(token),
                fenced: true,
            };
            drive_op(u, &mut run, op, expect)
        }
        2 => {
            let Some(lease) = lease else { return Ok(()) };
            let Ok(op) = RefreshOp::new(Arc::clone(&planner), &lease, duration, now, retry) else {
                return Ok(());
            };
            let expect = Expect::Lease {
                key,
                token: Some(token),
                fenced: true,
            };
            drive_op(u, &mut run, op, expect)
        }
        3 => {
            let Some(lease) = lease else { return Ok(()) };
            let Ok(op) = ReleaseOp::new(Arc::clone(&planner), &lease, now, retry) else {
                return Ok(());
            };
            drive_op(u, &mut run, op, Expect::Other)
        }
        4 => {
            let Ok(op) = InspectOp::new(Arc::clone(&planner), key, retry) else {
                return Ok(());
            };
            drive_op(u, &mut run, op, Expect::Other)
        }
        _ => {
            let mut policy = match u.arbitrary::<Option<u32>>()? {
                Some(ms) => WaitPolicy::with_timeout(Duration::from_millis(ms.into())),
                None => WaitPolicy::without_timeout(),
            };
            if u.arbitrary()? {
                policy = policy
                    .initial_delay(Duration::from_millis(u.int_in_range(0..=10_000)?))
                    .max_delay(Duration::from_millis(u.int_in_range(0..=30_000)?))
                    .jitter(u.arbitrary()?)
                    .jitter_seed(u.arbitrary()?);
            }
            let counter = AtomicU64::new(0);
            let tokens: Arc<dyn TokenSource> = Arc::new(move || {
                LeaseToken::new(format!("w-{}", counter.fetch_add(1, Ordering::Relaxed)))
            });
            let Ok(op) = WaitOp::new(
                Arc::clone(&planner),
                key.clone(),
                duration,
                policy,
                retry,
                tokens,
                u.arbitrary()?,
                now,
            ) else {
                return Ok(());
            };
            drive_op(
                u,
                &mut run,
                op,
                Expect::Lease {
                    key,
                    token: None,
                    fenced: true,
                },
            )
        }
    }
}

/// What a machine's result must be.
enum Expect {
    /// A lease for `key` (with `token`, when known), valid at the reading of the input that
    /// produced it.
    Lease {
        key: LeaseKey,
        token: Option<LeaseToken>,
        /// Whether the lease has a fencing token (not one made from parts and refreshed).
        fenced: bool,
    },
    /// Anything.
    Other,
}

/// The outputs the targets check: a lease, or anything else.
trait Output {
    fn lease(&self) -> Option<&Lease>;
}

impl Output for std::result::Result<Lease, lease_core::LeaseError> {
    fn lease(&self) -> Option<&Lease> {
        self.as_ref().ok()
    }
}

impl Output for std::result::Result<lease_core::ReleaseOutcome, lease_core::LeaseError> {
    fn lease(&self) -> Option<&Lease> {
        None
    }
}

impl Output for std::result::Result<lease_core::LeaseSnapshot, lease_core::LeaseError> {
    fn lease(&self) -> Option<&Lease> {
        None
    }
}

struct OpState<'e> {
    expect: &'e Expect,
    done: bool,
}

impl OpState<'_> {
    /// Takes the machine's result, if it has one, and checks it against `expect` at `now`;
    /// `fence` is the fencing token of the answer just given, if it gave one.
    fn check<M: Machine>(&mut self, m: &mut M, now: Now, fence: Option<u64>)
    where
        M::Output: Output,
    {
        let Some(output) = m.poll_output() else {
            return;
        };
        assert!(!self.done, "a machine gave a second result");
        self.done = true;
        assert!(m.poll_output().is_none(), "a result given twice");
        if let (Some(lease), Expect::Lease { key, token, fenced }) = (output.lease(), self.expect) {
            assert!(
                lease.is_valid_at(now),
                "a lease past its safe deadline was given at {now:?}: {lease:?}"
            );
            assert_eq!(lease.key(), key);
            if let Some(token) = token {
                assert_eq!(lease.token(), token);
            }
            if let Some(fence) = fence {
                assert_eq!(
                    lease.fence(),
                    FencingToken::new(fence),
                    "the answer's fencing token"
                );
            }
            // Every lease has a fencing token, by type.
            assert!(*fenced, "a lease's fencing token");
        }
    }
}

fn drive_op<M: Machine>(
    u: &mut Unstructured<'_>,
    run: &mut Run,
    mut m: M,
    expect: Expect,
) -> Result<()>
where
    M::Output: Output,
{
    let mut state = OpState {
        expect: &expect,
        done: false,
    };
    for _ in 0..u.int_in_range(0..=MAX_EVENTS)? {
        let e = event(u, run)?;
        let now = step_clocks(run, &e);
        trace!("{e:?} at {now:?}");
        match e {
            Event::Transmit => {
                if let Some(t) = m.poll_transmit(now) {
                    assert!(!state.done, "a machine sent a request after its result");
                    run.outstanding.push((t.id, t.request.clone()));
                }
                state.check(&mut m, now, None);
            }
            Event::Answer(n, reply) => {
                if run.outstanding.is_empty() {
                    continue;
                }
                let index = run.outstanding.len() - 1 - n.min(run.outstanding.len() - 1);
                let (id, request) = run.outstanding.remove(index);
                run.answered.push(id);
                let (answer, fence) = run.answer(u, &request, reply)?;
                m.handle_response(id, answer, now);
                state.check(&mut m, now, fence);
            }
            Event::Stale(reply) => {
                let id = stale_id(u, run)?;
                if let Some(id) = id {
                    let request = Request::Get(lease_core::GetRequest {
                        table_name: Arc::from("locks"),
                        key: Item::new(),
                        consistent_read: true,
                    });
                    let (answer, _) = run.answer(u, &request, reply)?;
                    m.handle_response(id, answer, now);
                    state.check(&mut m, now, None);
                }
            }
            Event::Timeout | Event::Command(_) => {
                m.handle_timeout(now);
                state.check(&mut m, now, None);
            }
            Event::ToTimer => {
                if let Some(at) = m.poll_timeout() {
                    run.clocks.advance_to(at);
                    let now = run.clocks.now();
                    m.handle_timeout(now);
                    state.check(&mut m, now, None);
                }
            }
            Event::Advance(_) | Event::StepWall(_) | Event::Suspend(_) | Event::NoMonotonic => {}
        }
        while m.poll_event().is_some() {}
    }

    // The end: the store answers what each request hopes for, time runs to each timer.
    run.clocks.monotonic = true;
    for _ in 0..MAX_END_STEPS {
        if state.done {
            assert!(
                m.poll_transmit(run.clocks.now()).is_none(),
                "a request after the result"
            );
            return Ok(());
        }
        let now = run.clocks.now();
        if let Some((id, request)) = run.outstanding.pop() {
            let (answer, fence) = run.answer(u, &request, Reply::Good)?;
            m.handle_response(id, answer, now);
            state.check(&mut m, now, fence);
        } else if let Some(t) = m.poll_transmit(now) {
            run.outstanding.push((t.id, t.request.clone()));
        } else if let Some(at) = m.poll_timeout() {
            run.clocks.advance_to(at);
            let now = run.clocks.now();
            m.handle_timeout(now);
            state.check(&mut m, now, None);
        } else {
            state.check(&mut m, now, None);
            assert!(
                state.done,
                "a machine has nothing to send, no timer and no result"
            );
        }
        while m.poll_event().is_some() {}
    }
    panic!("a machine did not finish in {MAX_END_STEPS} steps of good answers");
}

/// The clocks after `e`, and the reading it is handled at.
fn step_clocks(run: &mut Run, e: &Event) -> Now {
    run.clocks.monotonic = true;
    match *e {
        Event::Advance(by) => run.clocks.advance(by),
        Event::StepWall(ms) => {
            run.clocks.wall = run.clocks.wall.saturating_add(i128::from(ms) * 1_000_000)
        }
        Event::Suspend(by) => {
            run.clocks.wall = run.clocks.wall.saturating_add(by.as_nanos() as i128)
        }
        Event::NoMonotonic => {}
        _ => {}
    }
    let mut clocks = run.clocks;
    if matches!(e, Event::NoMonotonic) {
        clocks.monotonic = false;
    }
    clocks.now()
}

/// An id already answered, or one never sent.
fn stale_id(u: &mut Unstructured<'_>, run: &Run) -> Result<Option<RequestId>> {
    if run.answered.is_empty() || u.arbitrary()? {
        // RequestId has no public constructor: only ids a machine made exist.
        return Ok(None);
    }
    Ok(Some(*u.choose(&run.answered)?))
}

struct KeeperState {
    key: LeaseKey,
    token: LeaseToken,
    fence: FencingToken,
    expires_at: SystemTime,
    ended: bool,
    finished: usize,
}

impl KeeperState {
    /// The keeper's properties after an input at `now`.
    fn check(&mut self, keeper: &mut Keeper, now: Now) {
        while let Some(event) = keeper.poll_event() {
            trace!("  event {event:?}");
            if let KeeperEvent::Finished(_) = event {
                self.finished += 1;
                assert_eq!(self.finished, 1, "a keeper finished twice");
            }
        }
        let status = keeper.status().clone();
        if status.is_held() {
            assert!(!self.ended, "a keeper's lease is held again after {status}");
            assert!(
                keeper.lease().is_valid_at(now),
                "a lapsed lease reported as held ({status}) at {now:?}: {:?}",
                keeper.lease()
            );
        } else {
            assert!(
                matches!(status, LeaseStatus::Lost(_) | LeaseStatus::Released),
                "{status:?}"
            );
            self.ended = true;
        }
        let lease = keeper.lease();
        assert_eq!(lease.key(), &self.key);
        assert_eq!(lease.token(), &self.token);
        assert_eq!(lease.fence(), self.fence);
        assert!(
            lease.expires_at() >= self.expires_at,
            "a renewal moved the stored expiry back: {:?} after {:?}",
            lease.expires_at(),
            self.expires_at
        );
        self.expires_at = lease.expires_at();
        assert_eq!(keeper.is_finished(), self.finished == 1);
    }
}

fn drive_keeper(u: &mut Unstructured<'_>, run: &mut Run, mut keeper: Keeper) -> Result<()> {
    let lease = keeper.lease().clone();
    let mut state = KeeperState {
        key: lease.key().clone(),
        token: lease.token().clone(),
        fence: lease.fence(),
        expires_at: lease.expires_at(),
        ended: false,
        finished: 0,
    };
    state.check(&mut keeper, run.clocks.now());
    for _ in 0..u.int_in_range(0..=MAX_EVENTS)? {
        let e = event(u, run)?;
        let now = step_clocks(run, &e);
        trace!("{e:?} at {now:?}: {:?}", keeper.status());
        match e {
            Event::Transmit => {
                let finished = keeper.is_finished();
                let sent = keeper.poll_transmit(now).map(|t| (t.id, t.request.clone()));
                if let Some((id, request)) = sent {
                    assert!(!finished, "a finished keeper sent a request");
                    assert!(
                        keeper.is_awaiting(id),
                        "a keeper does not await what it sent"
                    );
                    run.outstanding.push((id, request));
                }
            }
            Event::Answer(n, reply) => {
                if run.outstanding.is_empty() {
                    continue;
                }
                let index = run.outstanding.len() - 1 - n.min(run.outstanding.len() - 1);
                let (id, request) = run.outstanding.remove(index);
                run.answered.push(id);
                let (answer, _) = run.answer(u, &request, reply)?;
                trace!("  answer {id:?} to {request:?}: {answer:?}");
                keeper.handle_response(id, answer, now);
            }
            Event::Stale(reply) => {
                let Some(id) = stale_id(u, run)? else {
                    continue;
                };
                let request = Request::Get(lease_core::GetRequest {
                    table_name: Arc::from("locks"),
                    key: Item::new(),
                    consistent_read: true,
                });
                let (answer, _) = run.answer(u, &request, reply)?;
                keeper.handle_response(id, answer, now);
            }
            Event::Timeout => keeper.handle_timeout(now),
            Event::ToTimer => {
                if let Some(at) = keeper.poll_timeout() {
                    run.clocks.advance_to(at);
                    let now = run.clocks.now();
                    keeper.handle_timeout(now);
                    state.check(&mut keeper, now);
                }
            }
            Event::Command(0) => keeper.release(now),
            Event::Command(1) => keeper.drop_guard(now),
            Event::Command(2) => keeper.shutdown(now),
            Event::Command(_) => {
                let status = keeper.status_at(now).clone();
                assert!(!status.is_held() || keeper.lease().is_valid_at(now));
            }
            Event::Advance(_) | Event::StepWall(_) | Event::Suspend(_) | Event::NoMonotonic => {
                // No input: the status is as of the last one. A read at this reading checks
                // the deadline first.
                continue;
            }
        }
        state.check(&mut keeper, now);
    }

    // The end: the holder lets go; the store answers what each request hopes for.
    run.clocks.monotonic = true;
    keeper.release(run.clocks.now());
    state.check(&mut keeper, run.clocks.now());
    for _ in 0..MAX_END_STEPS {
        if keeper.is_finished() {
            assert!(keeper.poll_transmit(run.clocks.now()).is_none());
            return Ok(());
        }
        let now = run.clocks.now();
        if let Some((id, request)) = run.outstanding.pop() {
            let (answer, _) = run.answer(u, &request, Reply::Good)?;
            keeper.handle_response(id, answer, now);
        } else if let Some(t) = keeper.poll_transmit(now) {
            run.outstanding.push((t.id, t.request.clone()));
        } else if let Some(at) = keeper.poll_timeout() {
            run.clocks.advance_to(at);
            keeper.handle_timeout(run.clocks.now());
        } else {
            panic!("a keeper that was let go has nothing to send, no timer, and is not finished");
        }
        state.check(&mut keeper, run.clocks.now());
    }
    panic!("a keeper did not finish in {MAX_END_STEPS} steps of good answers");
}
