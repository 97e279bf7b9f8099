//! [`FaultyStore`]: a wrapper around any [`Store`] that injects faults deterministically.
//!
//! Every request goes through three steps, in this order, when [`Store::execute`] is called:
//! 1. **Outage**: while an outage is set ([`FaultyStore::set_outage`]), the request fails with
//!    the outage's error kind and is not executed. Rules are not consulted.
//! 2. **Rules**: otherwise the rules ([`FaultRule`]) are consulted in the order they were
//!    pushed; the first one that fires decides the request's [`Fault`]. No rule firing means
//!    the request passes through untouched.
//! 3. **Log**: the request and what was decided are appended to the log
//!    ([`FaultyStore::log`]).
//!
//! The decision is made when `execute` is called; the inner store executes the request when
//! the returned future is polled (after the delay, for [`Fault::Delay`]).

mod log;
mod rule;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lease::{
    store::Request, store::Store, store::StoreError, store::StoreErrorKind, store::StoreResponse,
    token::TokenSource,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

pub use log::{LoggedRequest, RequestOutcome};
pub use rule::{FaultRule, RequestKind};

/// A fault to inject into one request.
///
/// Whether the request is executed by the inner store (applied, if its condition holds) is
/// part of each fault's definition, because that is what makes a failure ambiguous or not.
/// Error kinds are any [`StoreErrorKind`]; the ones each fault is meant for are named below.
///
/// The delays run on tokio's timer ([`tokio::time::sleep`]), so they need a tokio runtime with
/// the time driver enabled, and they follow tokio's paused clock in tests
/// (`#[tokio::test(start_paused = true)]`): a 30-second delay takes no real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// The inner store executes the request (it **is** applied, if its condition holds), but
    /// the caller gets a [`StoreError`] of this kind instead of the answer: the write landed
    /// and the response was lost. Meant for [`StoreErrorKind::Timeout`] and
    /// [`StoreErrorKind::Unavailable`] (a 5xx after the write).
    ApplyThenError(StoreErrorKind),
    /// The request is not executed and the caller gets a [`StoreError`] of this kind: the
    /// request was lost on the way to the store. Meant for [`StoreErrorKind::Timeout`].
    DropBeforeApply(StoreErrorKind),
    /// The request is not executed and the caller gets a [`StoreError`] of this kind: the
    /// store turned it away. Meant for [`StoreErrorKind::Throttled`] and
    /// [`StoreErrorKind::Unavailable`] (a 500 before any write).
    Transient(StoreErrorKind),
    /// Waits for the duration, **then** executes the request and returns its answer: a slow
    /// request. The request is applied after the delay, so other requests sent meanwhile are
    /// applied before it. If the caller drops the future during the delay, the request is
    /// never executed.
    Delay(Duration),
    /// Executes the request at once (it is applied before the delay), then waits for the
    /// duration before returning the answer: a slow response. If the caller drops the future
    /// during the delay, the request stays applied and the answer is lost.
    ApplyThenDelay(Duration),
    /// Executes the request at once (it is applied), then waits for the duration and fails with
    /// [`StoreErrorKind::Timeout`]: the response never came, and the client's request timeout
    /// fired after the duration. The shape of a real lost response (the AWS SDK's timeout,
    /// followed by a retry that meets the write).
    ApplyThenTimeout(Duration),
}

impl Fault {
    /// Whether the inner store executes a request given this fault (for [`Fault::Delay`]: once
    /// the delay has passed, unless the caller dropped the future first).
    #[must_use]
    pub fn forwards(self) -> bool {
        match self {
            Self::ApplyThenError(_)
            | Self::Delay(_)
            | Self::ApplyThenDelay(_)
            | Self::ApplyThenTimeout(_) => true,
            Self::DropBeforeApply(_) | Self::Transient(_) => false,
        }
    }
}

/// What the wrapper does with one request, decided when `execute` is called.
enum Action {
    Pass,
    Fail(StoreError),
    ApplyThenFail(StoreError),
    DelayThenApply(Duration),
    ApplyThenDelay(Duration),
    ApplyThenDelayThenFail(Duration, StoreError),
}

impl Action {
    fn of(fault: Fault) -> Self {
        match fault {
            Fault::ApplyThenError(kind) => Self::ApplyThenFail(StoreError::new(
                kind,
                "injected fault: the request was applied, then its response was lost",
            )),
            Fault::DropBeforeApply(kind) => Self::Fail(StoreError::new(
                kind,
                "injected fault: the request was lost before reaching the store",
            )),
            Fault::Transient(kind) => Self::Fail(StoreError::new(
                kind,
                "injected fault: the store turned the request away",
            )),
            Fault::Delay(d) => Self::DelayThenApply(d),
            Fault::ApplyThenDelay(d) => Self::ApplyThenDelay(d),
            Fault::ApplyThenTimeout(d) => Self::ApplyThenDelayThenFail(
                d,
                StoreError::new(
                    StoreErrorKind::Timeout,
                    "injected fault: the request was applied, then no response came before the timeout",
                ),
            ),
        }
    }
}

/// A [`Store`] that wraps another one (usually a [`MemoryStore`](crate::MemoryStore)) and
/// injects [`Fault`]s into chosen requests, deterministically.
///
/// Faults are chosen by
/// - **rules** ([`push_rule`](Self::push_rule)): a fault for the requests a [`FaultRule`]
///   matches, scripted with [`skip`](FaultRule::skip) and [`times`](FaultRule::times), or
///   random with a [probability](FaultRule::with_probability) drawn from a generator seeded at
///   construction ([`seeded`](Self::seeded)), so a seed always gives the same faults for the
///   same sequence of requests;
/// - an **outage** ([`set_outage`](Self::set_outage)): every request fails, not executed,
///   until it is cleared.
///
/// Every request is logged ([`log`](Self::log)) with what happened to it, so a test can assert
/// on the requests a lease manager sent, such as "no write to K after release returned".
///
/// Clones share the rules, the outage, the generator and the log (the state is behind an
/// [`Arc`]), so a test keeps one clone to steer the faults while a
/// [`LeaseManager`](crate::LeaseManager) uses another. The state is behind one lock, never held
/// across an `.await`.
///
/// `Debug` shows the number of rules, the outage and the number of requests seen, never a
/// request or an item (requests carry bearer lease tokens).
///
/// ```
/// use lease_memory::{fault::Fault, fault::FaultRule, fault::FaultyStore, MemoryStore, fault::RequestKind, store::StoreErrorKind};
///
/// let faulty = FaultyStore::new(MemoryStore::new());
/// // The third `PutItem` lands, but its caller sees a timeout.
/// faulty.push_rule(
///     FaultRule::new(Fault::ApplyThenError(StoreErrorKind::Timeout))
///         .matching(RequestKind::Put)
///         .skip(2)
///         .times(1),
/// );
/// // Every request fails (and is not executed) until the outage is cleared.
/// faulty.set_outage(Some(StoreErrorKind::Unavailable));
/// faulty.set_outage(None);
/// ```
pub struct FaultyStore<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    inner: S,
    state: Mutex<State>,
}

struct State {
    rules: Vec<FaultRule>,
    outage: Option<StoreErrorKind>,
    rng: Xoshiro256PlusPlus,
    log: Vec<LoggedRequest>,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner` with no rules and no outage: every request passes through until faults
    /// are added. The same as [`seeded`](Self::seeded) with seed 0.
    #[must_use]
    pub fn new(inner: S) -> Self {
        Self::seeded(inner, 0)
    }

    /// Wraps `inner` with no rules and no outage, and seeds the generator that decides the
    /// rules with a [probability](FaultRule::with_probability).
    ///
    /// The same seed, rules and sequence of requests give the same faults, on every run and
    /// platform (the generator is xoshiro256++, a fixed algorithm). Only rules with a
    /// probability below 1 draw from the generator, one draw per request they could fault.
    #[must_use]
    pub fn seeded(inner: S, seed: u64) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                state: Mutex::new(State {
                    rules: Vec::new(),
                    outage: None,
                    rng: Xoshiro256PlusPlus::seed_from_u64(seed),
                    log: Vec::new(),
                }),
            }),
        }
    }
}

impl<S> FaultyStore<S> {
    /// The wrapped store, to read or seed it directly (what it holds is never faulted).
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.shared.inner
    }

    /// Adds `rule` after the existing rules. Rules are consulted in the order they were
    /// pushed, and the first that fires decides a request's fault (see [`FaultRule`] for how
    /// rules count requests).
    pub fn push_rule(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Removes every rule. The outage, the log and the generator are unchanged.
    pub fn clear_rules(&self) {
        self.lock().rules.clear();
    }

    /// Starts an outage (`Some(kind)`): from now on every request fails with a [`StoreError`]
    /// of `kind` and is not executed, whatever the rules (which do not see these requests).
    /// `None` ends the outage. For scenarios such as "the store is down from t=3 to
    /// t=30"; [`StoreErrorKind::Unavailable`] or [`StoreErrorKind::Timeout`] are the usual
    /// kinds.
    pub fn set_outage(&self, outage: Option<StoreErrorKind>) {
        self.lock().outage = outage;
    }

    /// The current outage's error kind, `None` if there is none.
    #[must_use]
    pub fn outage(&self) -> Option<StoreErrorKind> {
        self.lock().outage
    }

    /// Every request the wrapper (or a clone) was asked to execute, in the order `execute` was
    /// called, with what was decided for it. The requests are clones, tokens included: do not
    /// print them.
    #[must_use]
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// How many requests the wrapper (and its clones) was asked to execute: the log's length.
    #[must_use]
    pub fn requests_seen(&self) -> usize {
        self.lock().log.len()
    }

    /// Decides what happens to `request` and logs it.
    fn decide(&self, request: &Request) -> Action {
        let mut state = self.lock();
        let state = &mut *state;
        let (outcome, action) = if let Some(kind) = state.outage {
            let error = StoreError::new(kind, "injected outage: the store fails every request");
            (RequestOutcome::Outage(kind), Action::Fail(error))
        } else {
            let mut chosen = None;
            for rule in &mut state.rules {
                if let Some(fault) = rule.consider(request, chosen.is_some(), &mut state.rng) {
                    chosen = Some(fault);
                }
            }
            match chosen {
                Some(fault) => (RequestOutcome::Faulted(fault), Action::of(fault)),
                None => (RequestOutcome::Passed, Action::Pass),
            }
        };
        state.log.push(LoggedRequest::new(request.clone(), outcome));
        action
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; the state stays consistent if something did.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S> Clone for FaultyStore<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Decides (and logs) the request's fault when called; the returned future then executes it on
/// the inner store, or not, as the fault says.
impl<S: Store> Store for FaultyStore<S> {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        let action = self.decide(request);
        let inner = &self.shared.inner;
        async move {
            match action {
                Action::Pass => inner.execute(request).await,
                Action::Fail(error) => Err(error),
                Action::ApplyThenFail(error) => {
                    // The answer is the one that gets lost.
                    let _lost = inner.execute(request).await;
                    Err(error)
                }
                Action::DelayThenApply(delay) => {
                    tokio::time::sleep(delay).await;
                    inner.execute(request).await
                }
                Action::ApplyThenDelay(delay) => {
                    let answer = inner.execute(request).await;
                    tokio::time::sleep(delay).await;
                    answer
                }
                Action::ApplyThenDelayThenFail(delay, error) => {
                    let _lost = inner.execute(request).await;
                    tokio::time::sleep(delay).await;
                    Err(error)
                }
            }
        }
    }

    /// The inner store's: a fault wrapper changes no token.
    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        self.shared.inner.default_token_source()
    }
}

impl<S> fmt::Debug for FaultyStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("FaultyStore")
            .field("rules", &state.rules.len())
            .field("outage", &state.outage)
            .field("requests_seen", &state.log.len())
            .finish_non_exhaustive()
    }
}
