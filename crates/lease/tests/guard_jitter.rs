//! The guards' renewal jitter (issue 14): guards acquired together renew apart, never later
//! than the renew period; a fixed seed gives the same renewal instants every run; a jitter out
//! of range is refused before any request. lease-memory, tokio's paused clock; each request's
//! instant is recorded by a store wrapper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{World, ms, secs};
use lease_memory::{
    GuardOptions, LeaseError, LeaseManager, MemoryStore, ReleaseOutcome,
    error::InvalidInput,
    store::{AttributeValue, Request, Store, StoreError, StoreResponse},
    token::TokenSource,
};

/// Records when (virtual time since `start`) each request for each partition key arrives.
#[derive(Clone)]
struct Timed {
    inner: MemoryStore,
    start: tokio::time::Instant,
    sent: Arc<Mutex<BTreeMap<String, Vec<Duration>>>>,
}

impl Timed {
    fn new(w: &World) -> Self {
        Self {
            inner: w.memory.clone(),
            start: w.instant(Duration::ZERO),
            sent: Arc::default(),
        }
    }

    /// The instants of each key's requests after its acquire (renewals, then the release if
    /// any).
    fn after_acquire(&self) -> BTreeMap<String, Vec<Duration>> {
        let sent = self.sent.lock().unwrap();
        sent.iter()
            .map(|(key, times)| (key.clone(), times[1..].to_vec()))
            .collect()
    }
}

impl Store for Timed {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        if let Request::Update(update) = request
            && let Some(AttributeValue::S(pk)) = update.key.get("pk")
        {
            let at = self.start.elapsed();
            self.sent
                .lock()
                .unwrap()
                .entry(pk.to_string())
                .or_default()
                .push(at);
        }
        self.inner.execute(request)
    }

    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        self.inner.default_token_source()
    }
}

fn manager(w: &World, store: &Timed) -> LeaseManager<Timed> {
    LeaseManager::new(store.clone(), w.config.clone()).with_clock(w.clock.clone())
}

/// L = 10 s: renewals every 3.33 s at the latest (a third), by default no earlier than
/// 2.67 s (a fifth of that brought forward). tokio's timer fires on whole milliseconds, up to
/// 1 ms after the instant the keeper asked for.
const PERIOD: Duration = Duration::from_nanos(3_333_333_333);
const TIMER: Duration = Duration::from_millis(1);

/// `count` guards acquired at t=0 with `options`, held for `hold`; the instants of their
/// renewals, per key.
async fn renewals_of_guards_acquired_together(
    count: usize,
    options: &GuardOptions,
    hold: Duration,
) -> Vec<Vec<Duration>> {
    let w = World::new();
    let store = Timed::new(&w);
    let m = manager(&w, &store);
    let mut guards = Vec::new();
    for i in 0..count {
        let key = w.key_of(&format!("CACHE#{i}"));
        guards.push(
            m.acquire_guard(key, secs(10), options.clone())
                .await
                .unwrap(),
        );
    }
    w.sleep_until(hold).await;
    assert!(guards.iter().all(lease_memory::LeaseGuard::is_valid));
    let renewals = store.after_acquire().into_values().collect();
    m.shutdown().await;
    renewals
}

/// Most of `times` in any window of `width`.
fn busiest(times: &mut [Duration], width: Duration) -> usize {
    times.sort();
    let mut most = 0;
    let mut first = 0;
    for last in 0..times.len() {
        while times[last] - times[first] >= width {
            first += 1;
        }
        most = most.max(last - first + 1);
    }
    most
}

/// 200 guards acquired at the same instant with the default options: every renewal goes out
/// 0.8 to 1 period after the last (never later than the period), and the guards do not renew
/// in step: their first renewals spread over the whole window, and later ones further.
/// With the jitter off, all 200 renew at the same instant, every period.
#[tokio::test(start_paused = true)]
async fn guards_acquired_together_renew_apart_and_never_late() {
    let hold = secs(60);
    let renewals = renewals_of_guards_acquired_together(200, &GuardOptions::default(), hold).await;
    assert_eq!(renewals.len(), 200);
    for times in &renewals {
        let mut previous = Duration::ZERO;
        for t in times {
            let gap = *t - previous;
            assert!(
                gap <= PERIOD + TIMER && gap >= PERIOD.mul_f64(0.8),
                "a renewal {gap:?} after the last"
            );
            previous = *t;
        }
        assert!(hold - previous <= PERIOD + TIMER, "a gap at the end");
    }
    let mut firsts: Vec<Duration> = renewals.iter().map(|t| t[0]).collect();
    let mut fifths: Vec<Duration> = renewals.iter().map(|t| t[4]).collect();
    // 200 uniform draws in a 0.67 s window: about 30 per 0.1 s.
    let first_burst = busiest(&mut firsts, ms(100));
    assert!(first_burst < 70, "{first_burst} first renewals in 0.1 s");
    assert!(firsts[0] < ms(2_800) && firsts[199] > ms(3_200));
    let fifth_burst = busiest(&mut fifths, ms(100));
    assert!(fifth_burst < 50, "{fifth_burst} fifth renewals in 0.1 s");

    let off = GuardOptions::default().renew_jitter(0.0);
    let in_step = renewals_of_guards_acquired_together(200, &off, hold).await;
    let mut all: Vec<Duration> = in_step.iter().flatten().copied().collect();
    assert_eq!(busiest(&mut all, ms(1)), 200, "without jitter, in step");
}

/// The instants of one guard's renewals over 60 s, with `options`.
async fn schedule(options: GuardOptions) -> Vec<Duration> {
    let mut renewals = renewals_of_guards_acquired_together(1, &options, secs(60)).await;
    renewals.pop().unwrap()
}

/// A guard with a fixed jitter seed renews at the same instants every run; another seed gives
/// other instants; the instants are jittered (not every period).
#[tokio::test(start_paused = true)]
async fn a_fixed_jitter_seed_gives_the_same_renewal_times() {
    let seeded = |seed| GuardOptions::default().renew_jitter_seed(seed);
    let first = schedule(seeded(7)).await;
    assert_eq!(first, schedule(seeded(7)).await);
    assert_ne!(first, schedule(seeded(8)).await);
    let unjittered = schedule(seeded(7).renew_jitter(0.0)).await;
    assert_ne!(first, unjittered);
    assert_eq!(unjittered[0], ms(3_334), "a third of 10 s, on the ms timer");
}

/// A renew jitter that is NaN, infinite, negative or above 0.5 is refused before any request,
/// by `acquire_guard` and by `with_lease` (whose work never runs); 0 and 0.5 are accepted.
#[tokio::test(start_paused = true)]
async fn a_renew_jitter_out_of_range_is_rejected_before_any_request() {
    let w = World::new();
    let store = Timed::new(&w);
    let m = manager(&w, &store);
    for fraction in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.01, 0.51, 1.0] {
        let options = GuardOptions::default().renew_jitter(fraction);
        let err = m
            .acquire_guard(w.key(), secs(10), options.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                LeaseError::InvalidInput {
                    reason: InvalidInput::InvalidRenewJitter,
                    ..
                }
            ),
            "{fraction}: {err:?}"
        );
        let called = std::cell::Cell::new(false);
        let scoped = m
            .with_lease(w.key(), secs(10), options, |_| async {
                called.set(true);
                Ok::<(), ()>(())
            })
            .await;
        assert!(scoped.unwrap_err().is_invalid_input(), "{fraction}");
        assert!(!called.get(), "the work ran without a lease");
    }
    assert!(store.sent.lock().unwrap().is_empty(), "a request was sent");
    for fraction in [0.0, 0.5] {
        let guard = m
            .acquire_guard(
                w.key(),
                secs(10),
                GuardOptions::default().renew_jitter(fraction),
            )
            .await
            .unwrap();
        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    }
}
