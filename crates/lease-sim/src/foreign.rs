//! [`Foreign`]: a TableTheory service sharing the keys, with that package's exact requests
//! (seed spec): acquire is a `PutItem` of the whole item (`pk`, `sk`, `lease_token`,
//! `lease_expires_at` in whole epoch seconds, floored, and `ttl`) under
//! `attribute_not_exists(pk) OR lease_expires_at <= :now`; release is a `DeleteItem` under
//! `lease_token = :tok`. It has no fencing token, no renewal and no local deadline: it is a
//! careful user that stops well before its expiry minus the skew bound, and so never uses a
//! lease whose answer came after that point (with no local deadline, nothing in TableTheory
//! rejects such a late success: its caller has to compare the expiry with its own clock).

use std::time::Duration;

use lease_core::expr::{Attr, Comparator, Condition, Value};
use lease_core::{
    AttributeValue, Item, LeaseConfig, OnConditionFailure, Request, StoreError, StoreResponse,
};
use lease_core::{DeleteRequest, PutRequest};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::clock::ActorClock;
use crate::history::{Deadlines, EndReason, History, Interval, Who};

/// What the writer is doing.
#[derive(Debug)]
enum State {
    Resting {
        until: Duration,
    },
    Putting {
        key: usize,
        token: String,
        expires: i64,
    },
    Holding {
        key: usize,
        token: String,
        /// Its interval, if the lease was still usable when the answer came.
        interval: Option<usize>,
        until: Duration,
    },
    Deleting {
        token: String,
    },
    Done,
}

/// The TableTheory writer.
#[derive(Debug)]
pub struct Foreign {
    /// Its clocks.
    pub clock: ActorClock,
    config: LeaseConfig,
    keys: usize,
    duration: Duration,
    rng: Xoshiro256PlusPlus,
    state: State,
    tokens: u64,
    /// The ordinal of its request in flight.
    pub in_flight: Option<u64>,
}

impl Foreign {
    /// A writer with these clocks on `config`'s table, holding leases of `duration`.
    pub fn new(
        clock: ActorClock,
        config: LeaseConfig,
        keys: usize,
        duration: Duration,
        seed: u64,
    ) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let first = Duration::from_millis(rng.random_range(0..=3_000));
        Self {
            clock,
            config,
            keys,
            duration,
            rng,
            state: State::Resting { until: first },
            tokens: 0,
            in_flight: None,
        }
    }

    /// Whether it is done.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// When it next acts by itself.
    #[must_use]
    pub fn next_wake(&self) -> Option<Duration> {
        match &self.state {
            State::Resting { until } | State::Holding { until, .. } => Some(*until),
            _ => None,
        }
    }

    fn pk(&self, key: usize) -> Item {
        Item::from([
            (
                self.config.partition_key_attribute().into(),
                AttributeValue::string(format!("K{key}")),
            ),
            (
                self.config.sort_key_attribute().into(),
                AttributeValue::string(self.config.lock_sort_key()),
            ),
        ])
    }

    /// Acts at `t`: the request to send, if any.
    pub fn wake(&mut self, t: Duration, finishing: bool, history: &mut History) -> Option<Request> {
        if self.in_flight.is_some() {
            return None;
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Resting { until } if finishing => {
                let _ = until;
                self.state = State::Done;
                None
            }
            State::Resting { until } if t >= until => {
                let key = self.rng.random_range(0..self.keys);
                self.tokens += 1;
                let token = format!("tt-{}", self.tokens);
                let wall_secs =
                    i64::try_from(self.clock.wall_nanos(t).div_euclid(1_000_000_000)).unwrap_or(0);
                // TableTheory's Go port floors now + duration to whole seconds.
                let expires = wall_secs + i64::try_from(self.duration.as_secs()).unwrap_or(0);
                let mut item = self.pk(key);
                item.insert(
                    self.config.token_attribute().into(),
                    AttributeValue::string(token.as_str()),
                );
                item.insert(
                    self.config.expires_at_attribute().into(),
                    AttributeValue::number(expires),
                );
                if self.config.writes_ttl() {
                    let buffer = i64::try_from(self.config.ttl_buffer().as_secs()).unwrap_or(0);
                    item.insert(
                        self.config.ttl_attribute().into(),
                        AttributeValue::number(expires + buffer),
                    );
                }
                let condition =
                    Condition::not_exists(Attr::new("pk", self.config.partition_key_attribute()))
                        .or(Condition::compare(
                            Attr::new("exp", self.config.expires_at_attribute()),
                            Comparator::Le,
                            Value::new("now", AttributeValue::number(wall_secs)),
                        ));
                history.note(t, || format!("tt puts K{key} as {token} until {expires}"));
                self.state = State::Putting {
                    key,
                    token,
                    expires,
                };
                Some(Request::Put(PutRequest {
                    table_name: self.config.table_name().into(),
                    item,
                    condition: Some(condition),
                    on_condition_failure: OnConditionFailure::ReturnNothing,
                }))
            }
            State::Holding {
                key,
                token,
                interval,
                until,
            } if t >= until || finishing => {
                if let Some(interval) = interval.and_then(|i| history.intervals.get_mut(i))
                    && interval.ended.is_none()
                {
                    interval.ended = Some((t, EndReason::LetGo));
                }
                history.let_go.insert(token.clone(), t);
                history.note(t, || format!("tt deletes K{key} ({token})"));
                self.state = State::Deleting {
                    token: token.clone(),
                };
                Some(Request::Delete(DeleteRequest {
                    table_name: self.config.table_name().into(),
                    key: self.pk(key),
                    condition: Some(Condition::compare(
                        Attr::new("tok", self.config.token_attribute()),
                        Comparator::Eq,
                        Value::new("tok", AttributeValue::string(token.as_str())),
                    )),
                    on_condition_failure: OnConditionFailure::ReturnNothing,
                }))
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    /// The answer to its request in flight (or its timeout, as an error), at `t`.
    pub fn answer(
        &mut self,
        answer: Result<StoreResponse, StoreError>,
        t: Duration,
        skew_bound: Duration,
        history: &mut History,
    ) {
        self.in_flight = None;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Putting {
                key,
                token,
                expires,
            } => {
                if let Ok(StoreResponse::Applied { .. }) = answer {
                    // Careful: it stops a second before its expiry minus the skew bound.
                    let end_nanos =
                        (i128::from(expires) - 1) * 1_000_000_000 - skew_bound.as_nanos() as i128;
                    let end = self.clock.when_wall(t, end_nanos).unwrap_or(t);
                    // An answer that came at or after that end (a slow answer, within the
                    // client's timeout) gives a lease it cannot use: it holds nothing, and no
                    // interval starts (it still deletes the item when its hold is over).
                    let interval = (end > t).then(|| {
                        history.intervals.push(Interval {
                            who: Who::Foreign,
                            key,
                            token: token.clone(),
                            fence: None,
                            guarded: false,
                            start: t,
                            deadlines: Deadlines {
                                monotonic: self.clock.monotonic(end),
                                wall_nanos: end_nanos,
                            },
                            renewals: Vec::new(),
                            ended: None,
                            foreign_end: Some(end),
                            set: None,
                        });
                        history.intervals.len() - 1
                    });
                    history.key_disturbed.entry(key).or_default().push(t);
                    // It holds at least the skew bound and a second: the acquisition after its
                    // DeleteItem restarts the fencing token from the clock, which stays
                    // monotonic only if that much time has passed (docs/correctness.md).
                    let least = skew_bound + Duration::from_secs(1);
                    let most = end.saturating_sub(t).max(least);
                    let hold = least + (most - least).mul_f64(self.rng.random_range(0.0..=1.0));
                    history.note(t, || match interval {
                        Some(interval) => format!(
                            "tt holds K{key} (interval {interval}) until {:.3}",
                            (t + hold).as_secs_f64()
                        ),
                        None => format!(
                            "tt got K{key} too late to use it (expiry {expires}); deletes it at {:.3}",
                            (t + hold).as_secs_f64()
                        ),
                    });
                    self.state = State::Holding {
                        key,
                        token,
                        interval,
                        until: t + hold,
                    };
                } else {
                    history.note(t, || format!("tt did not get K{key}: {answer:?}"));
                    self.rest(t);
                }
            }
            State::Deleting { token } => {
                history.released.insert(token, t);
                history.note(t, || {
                    format!(
                        "tt deleted: {}",
                        if answer.is_ok() { "ok" } else { "failed" }
                    )
                });
                self.rest(t);
            }
            other => self.state = other,
        }
    }

    fn rest(&mut self, t: Duration) {
        let rest = Duration::from_millis(self.rng.random_range(500..=5_000));
        self.state = State::Resting { until: t + rest };
    }
}
