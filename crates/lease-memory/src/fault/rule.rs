//! [`FaultRule`]: which requests get a fault, and how many.

use std::fmt;
use std::sync::Arc;

use lease::transaction::TransactItem;
use lease::{store::AttributeValue, store::Item, store::Request, store::Text};
use rand::RngExt;
use rand::distr::Bernoulli;
use rand::rngs::Xoshiro256PlusPlus;

use super::Fault;

/// The kinds of request a [`FaultRule`] applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// Every request. The default.
    #[default]
    Any,
    /// Every write: `PutItem`, `UpdateItem`, `DeleteItem` and `TransactWriteItems`.
    Write,
    /// `PutItem`.
    Put,
    /// `UpdateItem`.
    Update,
    /// `DeleteItem`.
    Delete,
    /// `GetItem`.
    Get,
    /// `TransactWriteItems`.
    Transact,
    /// `Query`.
    Query,
}

impl RequestKind {
    /// Whether `request` is of this kind. A kind of request added to [`Request`] later
    /// matches only [`Any`](Self::Any).
    #[must_use]
    pub fn matches(self, request: &Request) -> bool {
        matches!(
            (self, request),
            (Self::Any, _)
                | (
                    Self::Write,
                    Request::Put(_)
                        | Request::Update(_)
                        | Request::Delete(_)
                        | Request::Transact(_)
                )
                | (Self::Put, Request::Put(_))
                | (Self::Update, Request::Update(_))
                | (Self::Delete, Request::Delete(_))
                | (Self::Get, Request::Get(_))
                | (Self::Transact, Request::Transact(_))
                | (Self::Query, Request::Query(_))
        )
    }
}

type Predicate = Arc<dyn Fn(&Request) -> bool + Send + Sync>;

/// A rule of a [`FaultyStore`](super::FaultyStore): inject `fault` into some of the requests
/// it matches.
///
/// - **Matching**: a request matches if it is of the rule's [kind](Self::matching) (any, by
///   default) and every [predicate](Self::when) holds for it.
/// - **Counting**: the rule counts every matching request the store sees, in the order
///   `execute` is called, whether or not this rule faults it. The first
///   [`skip`](Self::skip) of them pass (as far as this rule is concerned); from then on the
///   rule faults matching requests until it has injected [`times`](Self::times) faults, or
///   forever with [`always`](Self::always) (the default).
/// - **Probability**: with [`with_probability`](Self::with_probability), each request the
///   rule could fault is faulted with that probability, drawn from the store's seeded
///   generator; `times` then bounds the faults actually injected.
/// - **Order**: the store consults its rules in order and the first that fires wins. Later
///   rules still count the request (for their `skip`) but neither fire nor draw for it.
///
/// So `FaultRule::new(f).matching(RequestKind::Put).skip(2).times(1)` faults the third
/// `PutItem`, unless an earlier rule faults that one, in which case it faults the next
/// `PutItem` no earlier rule faults.
///
/// `Debug` shows the settings and counters, and how many predicates there are.
#[derive(Clone)]
pub struct FaultRule {
    fault: Fault,
    kind: RequestKind,
    predicates: Vec<Predicate>,
    skip: u64,
    /// `None`: always.
    times: Option<u64>,
    probability: Option<(f64, Bernoulli)>,
    /// Matching requests counted so far.
    seen: u64,
    /// Faults injected so far.
    fired: u64,
}

impl FaultRule {
    /// A rule injecting `fault` into every request, until narrowed by the other methods.
    #[must_use]
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            kind: RequestKind::Any,
            predicates: Vec::new(),
            skip: 0,
            times: None,
            probability: None,
            seen: 0,
            fired: 0,
        }
    }

    /// Applies the rule only to requests of `kind`.
    #[must_use]
    pub fn matching(mut self, kind: RequestKind) -> Self {
        self.kind = kind;
        self
    }

    /// Applies the rule only to requests for which `predicate` returns `true`. Each call adds a
    /// predicate; all of them must hold. The predicate runs under the store's lock: keep it to
    /// a look at the request.
    #[must_use]
    pub fn when(mut self, predicate: impl Fn(&Request) -> bool + Send + Sync + 'static) -> Self {
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Applies the rule only to requests whose key attribute `name` is `value` (for example
    /// the partition key of one lease): the key of a `GetItem`, `UpdateItem` or `DeleteItem`,
    /// the item of a `PutItem`, and for a `TransactWriteItems` the key or item of any of its
    /// items. A predicate like those of [`when`](Self::when).
    #[must_use]
    pub fn on_key_attribute(self, name: impl Into<Text>, value: AttributeValue) -> Self {
        let name = name.into();
        self.when(move |request| {
            keys_or_items(request)
                .iter()
                .any(|i| i.get(&name) == Some(&value))
        })
    }

    /// Lets the first `n` matching requests pass before the rule starts faulting.
    #[must_use]
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Injects at most `n` faults, into the first `n` requests the rule could fault (with a
    /// probability: the first `n` that the draw selects). `times(0)` never fires.
    #[must_use]
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Injects faults with no limit (the default).
    #[must_use]
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    /// Faults each request the rule could fault with probability `p` (0 = never, 1 = always),
    /// drawn from the store's seeded generator (see
    /// [`FaultyStore::seeded`](super::FaultyStore::seeded)).
    ///
    /// # Panics
    /// If `p` is not within `0.0..=1.0` (NaN included): a mistake in the test, not data.
    #[must_use]
    pub fn with_probability(mut self, p: f64) -> Self {
        match Bernoulli::new(p) {
            Ok(draw) => self.probability = Some((p, draw)),
            Err(_) => panic!("fault probability {p} is outside 0.0..=1.0"),
        }
        self
    }

    /// The fault this rule injects.
    #[must_use]
    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// Counts `request` if it matches, and returns the fault if the rule fires for it.
    /// `taken`: an earlier rule fired for this request already.
    pub(super) fn consider(
        &mut self,
        request: &Request,
        taken: bool,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Option<Fault> {
        if !self.kind.matches(request) || !self.predicates.iter().all(|p| p(request)) {
            return None;
        }
        self.seen = self.seen.saturating_add(1);
        let spent = self.times.is_some_and(|n| self.fired >= n);
        if taken || self.seen <= self.skip || spent {
            return None;
        }
        if let Some((_, draw)) = self.probability
            && !rng.sample(draw)
        {
            return None;
        }
        self.fired += 1;
        Some(self.fault)
    }
}

impl fmt::Debug for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultRule")
            .field("fault", &self.fault)
            .field("kind", &self.kind)
            .field("predicates", &self.predicates.len())
            .field("skip", &self.skip)
            .field("times", &self.times)
            .field("probability", &self.probability.map(|(p, _)| p))
            .field("seen", &self.seen)
            .field("fired", &self.fired)
            .finish()
    }
}

/// The attributes that identify the request's items: the `PutItem`'s item, or the key; each
/// item's for a transaction.
fn keys_or_items(request: &Request) -> Vec<&Item> {
    match request {
        Request::Put(r) => vec![&r.item],
        Request::Update(r) => vec![&r.key],
        Request::Delete(r) => vec![&r.key],
        Request::Get(r) => vec![&r.key],
        Request::Transact(r) => r
            .items
            .iter()
            .filter_map(|item| match item {
                TransactItem::ConditionCheck(c) => Some(&c.key),
                TransactItem::Put(p) => Some(&p.item),
                TransactItem::Update(u) => Some(&u.key),
                TransactItem::Delete(d) => Some(&d.key),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
