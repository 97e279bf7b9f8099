//! Faults on the real wire (issue 12, part 2): a real `aws_sdk_dynamodb::Client` (configured
//! with the SDK's standard retries, which `DynamoDbStore` turns off: the manager's
//! `RetryPolicy` resends instead, seeing every attempt) talks to dynalite
//! (`LEASE_DYNALITE_ENDPOINT`; moto, `LEASE_MOTO_ENDPOINT`, for a lease set's transaction)
//! through a fault-injecting TCP proxy on loopback
//! (`common/fault_proxy.rs`). The proxy loses an answer after dynalite applied the request,
//! resets a connection before forwarding, answers past the client's timeout, or blackholes
//! every request; the tests check that each lease operation still ends in a definite answer
//! (or `OutcomeUnknown`, never `Held` by ourselves), and that a guard reports a blackhole as
//! `AtRisk`, then `Lost(Unconfirmed)` by its safe deadline, or `Held` again when it ends in
//! time.
//!
//! The deterministic scenarios of the same fault classes run on lease-memory behind
//! `FaultyStore` (`crates/lease-memory/tests/fault_classes.rs`, `crates/lease/tests/`); these
//! show the SDK store on a real connection. Leases of 4 s with a 200 ms skew bound keep each
//! test to a few seconds; the tests run one at a time (their timing margins are real time).
//!
//! A missing endpoint fails the tests, as the other server tests do: `scripts/test.sh` starts
//! dynalite and sets it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/fault_proxy.rs"]
mod fault_proxy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use fault_proxy::{Exchange, Fault, FaultProxy};
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, GuardOptions, Lease, LeaseConfig, LeaseError, LeaseKey,
    LeaseManager, LeaseStatus, LossReason, ReleaseOutcome, config::RetryPolicy, create_lock_table,
};

/// The lease duration of every test.
const LEASE: Duration = Duration::from_secs(4);
/// The clock-skew bound: the safe deadline is 3.8 s after a request is sent.
const SKEW: Duration = Duration::from_millis(200);
/// The SDK's own bound on one attempt: an answer later than this is retried by the SDK.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The store's bound on one request, SDK retries included, for single operations: room for
/// the SDK's three attempts and backoffs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The store's bound on one request for guards, whose renewals must fail (and be retried)
/// well before the safe deadline when the store does not answer.
const GUARD_REQUEST_TIMEOUT: Duration = Duration::from_millis(600);
/// How late after its safe deadline a guard's loss may be observed by a follower (scheduling on
/// a loaded machine). The loss itself is checked at the deadline, with no slack.
const SLACK: Duration = Duration::from_millis(500);
/// No test runs longer than this.
const BOUND: Duration = Duration::from_secs(30);

/// One test at a time: the guard tests' margins are real time, so they should not compete with
/// another test's SDK retries for two loaded cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// dynalite's endpoint. A missing variable fails the test: a store is never skipped silently.
fn dynalite_endpoint() -> String {
    server_endpoint("LEASE_DYNALITE_ENDPOINT", "dynalite")
}

/// moto's endpoint, for what dynalite does not have (transactions): as [`dynalite_endpoint`].
fn moto_endpoint() -> String {
    server_endpoint("LEASE_MOTO_ENDPOINT", "moto")
}

fn server_endpoint(variable: &str, server: &str) -> String {
    match std::env::var(variable) {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "{variable} is not set: the wire-fault tests need a running {server}. \
             Run scripts/test.sh, which starts dynalite and moto and sets it, \
             or `eval \"$(scripts/servers.sh start)\"` before cargo test."
        ),
    }
}

/// A real SDK client for `endpoint`: test credentials, the SDK's standard retries (its default
/// retry mode: 3 attempts, backoff with jitter from 1 s), and an attempt timeout.
fn client(endpoint: &str) -> Client {
    client_with(endpoint, RetryConfig::standard())
}

/// A real SDK client for `endpoint` with `retry` and the attempt timeout.
fn client_with(endpoint: &str, retry: RetryConfig) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "wire-faults"))
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(ATTEMPT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// The lease item as stored.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    token: String,
    expires_at: i64,
    fence: Option<u64>,
}

/// A fresh lock table on a server (dynalite unless said otherwise), a client straight to it (to
/// make the table and read items), and a fault proxy in front of it for the managers under
/// test.
struct Wire {
    config: LeaseConfig,
    direct: Client,
    proxy: FaultProxy,
}

impl Wire {
    async fn new(case: &str) -> Self {
        Self::on(&dynalite_endpoint(), case).await
    }

    async fn on(endpoint: &str, case: &str) -> Self {
        let table = format!("wire-{case}-{}", uuid::Uuid::new_v4().simple());
        let config = LeaseConfig::builder(table)
            .max_clock_skew(SKEW)
            .build()
            .unwrap();
        let direct = client(endpoint);
        create_lock_table(&direct, &config).await.unwrap();
        let proxy = FaultProxy::start(endpoint);
        Self {
            config,
            direct,
            proxy,
        }
    }

    /// A manager whose store goes through the proxy, each request bounded by `timeout`.
    fn manager(&self, timeout: Duration) -> DynamoDbLeaseManager {
        let store =
            DynamoDbStore::new(client(self.proxy.endpoint())).with_request_timeout(Some(timeout));
        LeaseManager::new(store, self.config.clone())
    }

    /// A manager straight to dynalite (a contender the proxy does not touch).
    fn direct_manager(&self) -> DynamoDbLeaseManager {
        LeaseManager::new(DynamoDbStore::new(self.direct.clone()), self.config.clone())
    }

    /// The lease item at `key`, read consistently from dynalite directly.
    async fn stored(&self, key: &LeaseKey) -> Stored {
        let out = self
            .direct
            .get_item()
            .table_name(self.config.table_name())
            .key(
                self.config.partition_key_attribute(),
                SdkValue::S(key.partition().to_owned()),
            )
            .key(
                self.config.sort_key_attribute(),
                SdkValue::S(key.sort().unwrap_or(self.config.lock_sort_key()).to_owned()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let item = out.item.expect("the lease item exists");
        let number = |name: &str| item.get(name).map(|v| v.as_n().unwrap().parse().unwrap());
        Stored {
            token: item[self.config.token_attribute()]
                .as_s()
                .unwrap()
                .to_owned(),
            expires_at: number(self.config.expires_at_attribute()).unwrap(),
            fence: number(self.config.fence_attribute())
                .map(|fence: i64| u64::try_from(fence).unwrap()),
        }
    }

    /// The logged `UpdateItem` requests from the `from`-th on.
    fn updates_from(&self, from: usize) -> Vec<Exchange> {
        self.proxy
            .log_of("UpdateItem")
            .into_iter()
            .skip(from)
            .collect()
    }
}

/// Runs a test body one at a time and within [`BOUND`].
async fn bounded(name: &str, body: impl Future<Output = ()>) {
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    tokio::time::timeout(BOUND, body)
        .await
        .unwrap_or_else(|_| panic!("{name} ran past its time bound of {BOUND:?}"));
    eprintln!("{name}: {:?}", started.elapsed());
}

/// The item holds `lease`: its token, its expiry and its fencing token.
fn assert_stored_is(stored: &Stored, lease: &Lease) {
    assert_eq!(stored.token, lease.token().expose_secret(), "{stored:?}");
    assert_eq!(stored.expires_at, lease.expires_at_epoch_seconds());
    assert_eq!(stored.fence, Some(lease.fence().get()));
}

/// `exchanges` begin with one request that met `fault` and was answered `status` by dynalite,
/// followed by the retry: the same request (the same table, key, update, condition and bearer
/// token; the store sends each request once and the manager resends it, re-planned at the
/// moment it is sent) passed and answered 200.
fn assert_fault_then_sdk_retry(exchanges: &[Exchange], fault: Fault, status: Option<u16>) {
    assert!(exchanges.len() >= 2, "no retry: {exchanges:#?}");
    let (first, retry) = (&exchanges[0], &exchanges[1]);
    assert_eq!(
        (first.fault, first.status),
        (fault, status),
        "{exchanges:#?}"
    );
    assert_eq!(
        (retry.fault, retry.status),
        (Fault::Pass, Some(200)),
        "{exchanges:#?}"
    );
    let same = |body: &str| {
        let request: serde_json::Value = serde_json::from_str(body).unwrap();
        (
            request["TableName"].clone(),
            request["Key"].clone(),
            request["UpdateExpression"].clone(),
            request["ConditionExpression"].clone(),
            request["ExpressionAttributeValues"][":tok"].clone(),
        )
    };
    assert_eq!(
        same(&retry.body),
        same(&first.body),
        "the retry is not a resend of the same request"
    );
}

/// B02 on the wire: dynalite applies the acquire, its answer is lost (the connection is
/// reset instead). The SDK resends the same request, which dynalite accepts because the item
/// holds our token: the acquire ends with the lease, and the item holds it. The only other
/// acceptable end is `OutcomeUnknown` (then nothing of ours may stay held); never `Held`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_whose_answer_is_lost_is_ours_or_unknown_never_held() {
    bounded(
        "an_acquire_whose_answer_is_lost_is_ours_or_unknown_never_held",
        async {
            let wire = Wire::new("acquire-lost").await;
            let manager = wire.manager(REQUEST_TIMEOUT);
            let key = LeaseKey::lock("WIRE#acquire");
            wire.proxy.once(Fault::DropResponse);

            let started = Instant::now();
            let result = manager.try_acquire("WIRE#acquire", LEASE).await;
            eprintln!(
                "acquire with a lost answer: {:?} after {:?}",
                result.as_ref().map(Lease::fence),
                started.elapsed()
            );

            let updates = wire.updates_from(0);
            assert_eq!(
                (updates[0].fault, updates[0].status),
                (Fault::DropResponse, Some(200)),
                "the first acquire was not applied and lost: {updates:#?}"
            );
            match result {
                Ok(lease) => {
                    assert!(updates[0].body.contains(lease.token().expose_secret()));
                    assert_fault_then_sdk_retry(&updates, Fault::DropResponse, Some(200));
                    assert_stored_is(&wire.stored(&key).await, &lease);
                    assert!(lease.valid_until().unwrap() > Instant::now());
                    // The lease is really ours: a contender is refused, our release works.
                    let contender = wire
                        .direct_manager()
                        .try_acquire("WIRE#acquire", LEASE)
                        .await;
                    assert!(contender.unwrap_err().is_held());
                    assert_eq!(
                        manager.release(&lease).await.unwrap(),
                        ReleaseOutcome::Released
                    );
                }
                Err(LeaseError::OutcomeUnknown { .. }) => {
                    // The manager gave back whatever it may have written: nothing of ours is held.
                    let stored = wire.stored(&key).await;
                    let taken = wire
                        .direct_manager()
                        .try_acquire("WIRE#acquire", LEASE)
                        .await;
                    assert!(taken.is_ok(), "{taken:?}; item {stored:?}");
                }
                Err(e) => panic!("an acquire whose answer was lost ended in {e:?}"),
            }
        },
    )
    .await;
}

/// B02 for a lease set, on moto (dynalite has no transactions): moto applies the set's
/// `TransactWriteItems`, its answer is lost. The manager resends the transaction (the same
/// token; the own-token branch of each key's condition lets it through): the acquire ends with
/// the set, every key's item holding it, or in `OutcomeUnknown` with every key given back;
/// never `HeldKeys` by our own earlier write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_acquire_whose_answer_is_lost_is_ours_or_unknown_never_held() {
    bounded(
        "a_set_acquire_whose_answer_is_lost_is_ours_or_unknown_never_held",
        async {
            let wire = Wire::on(&moto_endpoint(), "set-lost").await;
            let manager = wire.manager(REQUEST_TIMEOUT);
            let keys = ["WIRE#set-a", "WIRE#set-b"];
            wire.proxy.once(Fault::DropResponse);

            let result = manager.try_acquire_set(keys, LEASE).await;
            let sent = wire.proxy.log_of("TransactWriteItems");
            assert_eq!(
                (sent[0].fault, sent[0].status),
                (Fault::DropResponse, Some(200)),
                "the first transaction was not applied and lost: {sent:#?}"
            );
            match result {
                Ok(set) => {
                    assert!(sent.len() >= 2, "no resend: {sent:#?}");
                    assert_eq!(set.len(), 2);
                    for lease in set.leases() {
                        assert_stored_is(&wire.stored(lease.key()).await, lease);
                    }
                    let contender = wire.direct_manager().try_acquire_set(keys, LEASE).await;
                    assert!(
                        matches!(contender, Err(LeaseError::HeldKeys { .. })),
                        "{contender:?}"
                    );
                    assert_eq!(
                        manager.release_set(&set).await.unwrap(),
                        ReleaseOutcome::Released
                    );
                }
                Err(LeaseError::OutcomeUnknown { .. }) => {
                    let taken = wire.direct_manager().try_acquire_set(keys, LEASE).await;
                    assert!(taken.is_ok(), "{taken:?}");
                }
                Err(e) => panic!("a set acquire whose answer was lost ended in {e:?}"),
            }
        },
    )
    .await;
}

/// The same lost answer with no retry anywhere (the SDK's retries disabled, the manager's
/// `RetryPolicy::never()`): the store cannot tell whether the acquire landed, so the answer is
/// `OutcomeUnknown` (a connection reset after the request was sent may have applied it: never
/// "not sent"), and the manager gives back what it may have written: the item, which holds
/// the token of the lost acquire, is released, and a contender gets the lease at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_whose_answer_is_lost_without_retries_is_unknown_and_given_back() {
    bounded(
        "an_acquire_whose_answer_is_lost_without_retries_is_unknown_and_given_back",
        async {
            let wire = Wire::new("acquire-lost-unretried").await;
            let client = client_with(wire.proxy.endpoint(), RetryConfig::disabled());
            let store = DynamoDbStore::new(client).with_request_timeout(Some(REQUEST_TIMEOUT));
            let manager = LeaseManager::new(store, wire.config.clone())
                .with_retry_policy(RetryPolicy::never());
            let key = LeaseKey::lock("WIRE#unknown");
            wire.proxy.once(Fault::DropResponse);

            let err = manager
                .try_acquire("WIRE#unknown", LEASE)
                .await
                .unwrap_err();
            let LeaseError::OutcomeUnknown { source, .. } = &err else {
                panic!("an acquire whose answer was lost ended in {err:?}");
            };
            assert!(source.kind().outcome_may_be_applied(), "{source}");

            // The acquire (applied, its answer lost), then the give-back.
            let updates = wire.updates_from(0);
            assert_eq!(updates.len(), 2, "{updates:#?}");
            assert_eq!(
                (updates[0].fault, updates[0].status),
                (Fault::DropResponse, Some(200))
            );
            assert_eq!(
                (updates[1].fault, updates[1].status),
                (Fault::Pass, Some(200))
            );
            let stored = wire.stored(&key).await;
            assert!(
                updates[0].body.contains(&stored.token) && updates[1].body.contains(&stored.token),
                "the item holds another token than the lost acquire's: {stored:?}"
            );
            assert_eq!(stored.expires_at, 0, "not given back: {stored:?}");
            let next = wire
                .direct_manager()
                .try_acquire("WIRE#unknown", LEASE)
                .await;
            assert!(next.is_ok(), "{next:?}");
        },
    )
    .await;
}

/// A refresh and a release whose answers are lost (applied, then the connection reset) end
/// definitely, on the SDK's resend of the same request: the refresh's condition (our token,
/// not expired) still holds after it landed, and release is idempotent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_and_a_release_whose_answers_are_lost_end_definitely() {
    bounded(
        "a_refresh_and_a_release_whose_answers_are_lost_end_definitely",
        async {
            let wire = Wire::new("refresh-release-lost").await;
            let manager = wire.manager(REQUEST_TIMEOUT);
            let key = LeaseKey::lock("WIRE#refresh");
            let lease = manager.try_acquire("WIRE#refresh", LEASE).await.unwrap();
            // Let the refresh write a later expiry than the acquire did (whole seconds).
            tokio::time::sleep(Duration::from_millis(1100)).await;

            let before = wire.proxy.log_of("UpdateItem").len();
            wire.proxy.once(Fault::DropResponse);
            let refreshed = manager.refresh(&lease, LEASE).await.unwrap();
            assert_fault_then_sdk_retry(&wire.updates_from(before), Fault::DropResponse, Some(200));
            assert_eq!(refreshed.token(), lease.token());
            assert_eq!(refreshed.fence(), lease.fence());
            assert!(refreshed.expires_at_epoch_seconds() > lease.expires_at_epoch_seconds());
            assert!(refreshed.valid_until() > lease.valid_until());
            assert_stored_is(&wire.stored(&key).await, &refreshed);

            let before = wire.proxy.log_of("UpdateItem").len();
            wire.proxy.once(Fault::DropResponse);
            assert_eq!(
                manager.release(&refreshed).await.unwrap(),
                ReleaseOutcome::Released
            );
            assert_fault_then_sdk_retry(&wire.updates_from(before), Fault::DropResponse, Some(200));
            let stored = wire.stored(&key).await;
            assert_eq!(stored.token, lease.token().expose_secret());
            assert_eq!(stored.expires_at, 0, "released: {stored:?}");

            // Released for real: a contender gets the lease at once, with a greater fence.
            let next = wire
                .direct_manager()
                .try_acquire("WIRE#refresh", LEASE)
                .await
                .unwrap();
            assert!(next.fence() > lease.fence());
        },
    )
    .await;
}

/// The connection is reset before the acquire reaches dynalite: nothing was applied, the SDK
/// resends the same request on a new connection, and the acquire succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_whose_connection_is_reset_before_forwarding_succeeds_on_the_sdk_retry() {
    bounded(
        "an_acquire_whose_connection_is_reset_before_forwarding_succeeds_on_the_sdk_retry",
        async {
            let wire = Wire::new("reset").await;
            let manager = wire.manager(REQUEST_TIMEOUT);
            let key = LeaseKey::lock("WIRE#reset");
            wire.proxy.once(Fault::Reset);

            let lease = manager.try_acquire("WIRE#reset", LEASE).await.unwrap();
            let updates = wire.updates_from(0);
            assert_fault_then_sdk_retry(&updates, Fault::Reset, None);
            assert!(updates[0].body.contains(lease.token().expose_secret()));
            assert_stored_is(&wire.stored(&key).await, &lease);
            assert_eq!(
                manager.release(&lease).await.unwrap(),
                ReleaseOutcome::Released
            );
        },
    )
    .await;
}

/// Answers that come after the SDK's attempt timeout (dynalite applied the request; the
/// client gave up on the connection before the answer): the SDK's resend settles the acquire
/// (our token) and the release (idempotent). Never `Held`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_past_the_attempt_timeout_end_definitely() {
    bounded("answers_past_the_attempt_timeout_end_definitely", async {
        let wire = Wire::new("late").await;
        let manager = wire.manager(REQUEST_TIMEOUT);
        let key = LeaseKey::lock("WIRE#late");
        let late = Fault::Delay(ATTEMPT_TIMEOUT + Duration::from_millis(500));
        wire.proxy.once(late);

        let result = manager.try_acquire("WIRE#late", LEASE).await;
        let updates = wire.updates_from(0);
        assert_eq!(
            (updates[0].fault, updates[0].status),
            (late, Some(200)),
            "{updates:#?}"
        );
        let lease = match result {
            Ok(lease) => lease,
            Err(e @ LeaseError::OutcomeUnknown { .. }) => {
                eprintln!("acquire with a late answer: {e}");
                return;
            }
            Err(e) => panic!("an acquire whose answer came late ended in {e:?}"),
        };
        assert_fault_then_sdk_retry(&updates, late, Some(200));
        assert_stored_is(&wire.stored(&key).await, &lease);

        let before = wire.proxy.log_of("UpdateItem").len();
        wire.proxy.once(late);
        assert_eq!(
            manager.release(&lease).await.unwrap(),
            ReleaseOutcome::Released
        );
        assert_fault_then_sdk_retry(&wire.updates_from(before), late, Some(200));
        assert_eq!(wire.stored(&key).await.expires_at, 0);
    })
    .await;
}

/// Guard options for the blackhole tests: renew every 400 ms, retry after 100–300 ms.
fn guard_options() -> GuardOptions {
    GuardOptions::default()
        .renew_every(Duration::from_millis(400))
        .retry_delays(Duration::from_millis(100), Duration::from_millis(300))
}

/// Every status change of a guard, with when it was seen, until the final one.
fn follow(
    guard: &lease_dynamodb_sdk::LeaseGuard<DynamoDbStore>,
) -> tokio::task::JoinHandle<Vec<(Instant, LeaseStatus)>> {
    let mut watch = guard.subscribe();
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(status) = watch.changed().await {
            seen.push((Instant::now(), status));
        }
        seen
    })
}

/// B09 on the wire: after the acquire, the proxy blackholes everything (accepts, reads, never
/// forwards or answers). Renewals time out: the guard reports `AtRisk`, then
/// `Lost(Unconfirmed)` with the last error, at its safe deadline: a reading at the deadline
/// already says lost, and the follower sees it within a little scheduling slack, never
/// before. No renewal reached dynalite; the release after the loss is still sent (the lease
/// may still be ours) and frees the item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackhole_past_the_safe_deadline_is_at_risk_then_lost_by_the_deadline() {
    bounded("a_blackhole_past_the_safe_deadline_is_at_risk_then_lost_by_the_deadline", async {
        let wire = Wire::new("blackhole-long").await;
        let manager = Arc::new(wire.manager(GUARD_REQUEST_TIMEOUT));
        let key = LeaseKey::lock("WIRE#blackhole");
        // The acquire passes; everything after it is blackholed.
        wire.proxy.set(Fault::Blackhole);
        wire.proxy.once(Fault::Pass);
        let guard = manager
            .acquire_guard(key.clone(), LEASE, guard_options())
            .await
            .unwrap();
        let acquired = guard.lease();
        let deadline = acquired.valid_until().expect("a safe deadline");
        let follower = follow(&guard);

        let started = Instant::now();
        tokio::time::sleep_until(deadline.into()).await;
        let at_deadline = guard.status();
        assert!(
            matches!(
                at_deadline,
                LeaseStatus::Lost(LossReason::Unconfirmed { .. })
            ),
            "at its safe deadline the guard says {at_deadline:?}"
        );
        assert!(!guard.is_valid());

        let seen = follower.await.unwrap();
        let (lost_at, lost) = seen.last().expect("the follower saw the loss");
        let LeaseStatus::Lost(LossReason::Unconfirmed {
            last_error: Some(last_error),
        }) = lost
        else {
            panic!("expected Lost(Unconfirmed) with the last error, saw {seen:#?}");
        };
        assert!(
            matches!(**last_error, LeaseError::OutcomeUnknown { .. }),
            "a blackholed renewal is an unknown outcome: {last_error:?}"
        );
        let before_loss = &seen[..seen.len() - 1];
        assert!(
            !before_loss.is_empty() && before_loss.iter().all(|(_, s)| s.is_at_risk()),
            "expected AtRisk before the loss, saw {seen:#?}"
        );
        eprintln!(
            "blackhole: at risk {:?} after the acquire returned, lost {:?} after the safe deadline",
            seen[0].0 - started,
            *lost_at - deadline
        );
        assert!(*lost_at >= deadline, "lost {:?} early", deadline - *lost_at);
        assert!(
            *lost_at <= deadline + SLACK,
            "loss seen {:?} after the safe deadline",
            *lost_at - deadline
        );
        assert!(matches!(guard.lost().await, LossReason::Unconfirmed { .. }));
        let metrics = manager.metrics();
        assert_eq!(metrics.lost, 1, "{metrics:?}");
        assert!(metrics.renew_failures >= 1, "{metrics:?}");

        // Renewals were sent and blackholed; none reached dynalite.
        let updates = wire.updates_from(1);
        assert!(!updates.is_empty());
        assert!(
            updates.iter().all(|u| u.fault == Fault::Blackhole),
            "{updates:#?}"
        );
        assert_stored_is(&wire.stored(&key).await, &acquired);

        // The store answers again: the release after the loss reports the loss, and is sent.
        wire.proxy.set(Fault::Pass);
        let released = guard.release().await;
        assert!(
            matches!(
                released,
                Err(LeaseError::Lost {
                    reason: LossReason::Unconfirmed { .. },
                    ..
                })
            ),
            "{released:?}"
        );
        let stored = wire.stored(&key).await;
        assert_eq!(
            (stored.token.as_str(), stored.expires_at),
            (acquired.token().expose_secret(), 0),
            "the lease was not released after the loss"
        );
    })
    .await;
}

/// A blackhole shorter than the safe deadline: the guard reports `AtRisk` while renewals time
/// out, and `Held` again once the proxy passes traffic, with a later deadline and the same
/// fence; it was never lost, and releases normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_blackhole_is_at_risk_then_held_again() {
    bounded("a_short_blackhole_is_at_risk_then_held_again", async {
        let wire = Wire::new("blackhole-short").await;
        let manager = Arc::new(wire.manager(GUARD_REQUEST_TIMEOUT));
        let key = LeaseKey::lock("WIRE#recover");
        wire.proxy.set(Fault::Blackhole);
        wire.proxy.once(Fault::Pass);
        let guard = manager
            .acquire_guard(key.clone(), LEASE, guard_options())
            .await
            .unwrap();
        let acquired = guard.lease();
        let mut watch = guard.subscribe();

        let started = Instant::now();
        let at_risk = watch.wait_for(LeaseStatus::is_at_risk).await;
        let at_risk_at = Instant::now();
        assert!(
            matches!(at_risk, Some(LeaseStatus::AtRisk { .. })),
            "not at risk first: {at_risk:?}, now {:?}",
            guard.status()
        );
        wire.proxy.set(Fault::Pass);
        let held = watch.wait_for(|s| matches!(s, LeaseStatus::Held)).await;
        assert!(
            matches!(held, Some(LeaseStatus::Held)),
            "not held again: {held:?}, now {:?}",
            guard.status()
        );
        eprintln!(
            "short blackhole: at risk after {:?}, held again {:?} later, {:?} before the safe deadline",
            at_risk_at - started,
            at_risk_at.elapsed(),
            acquired.valid_until().unwrap().saturating_duration_since(Instant::now())
        );

        let renewed = guard.lease();
        assert_eq!(renewed.fence(), acquired.fence());
        assert!(renewed.valid_until() > acquired.valid_until());
        // The recovering renewal was sent at least 400 ms + 3 × 600 ms after the acquire (the
        // renew period, then three attempts that time out): over a second, so its expiry, in
        // whole seconds rounded up, is later.
        assert!(renewed.expires_at_epoch_seconds() > acquired.expires_at_epoch_seconds());
        let stored = wire.stored(&key).await;
        assert_eq!(stored.token, acquired.token().expose_secret());
        assert!(
            stored.expires_at >= renewed.expires_at_epoch_seconds(),
            "{stored:?}"
        );
        let blackholed = wire
            .updates_from(1)
            .iter()
            .filter(|u| u.fault == Fault::Blackhole)
            .count();
        assert!(blackholed >= 1);

        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
        assert_eq!(wire.stored(&key).await.expires_at, 0);
        let metrics = manager.metrics();
        assert_eq!(metrics.lost, 0, "{metrics:?}");
        assert!(metrics.renew_failures >= 1, "{metrics:?}");
    })
    .await;
}

/// Found here, and fixed: dynalite applies the acquire, its answer is lost, and every resend
/// is throttled (HTTP 400 `ProvisionedThroughputExceededException`). The acquire may have been
/// applied, so the contract (README, docs/correctness.md property 5) says `OutcomeUnknown`, with
/// a token-conditioned give-back. It used to end in `LeaseError::Store` with kind `Throttled`
/// ("the request was not applied"), nothing given back, because the store saw only the SDK's
/// last attempt (the applied first attempt was hidden inside the SDK's retries). The store now
/// turns the SDK's retries off, so the manager's exchange sees every attempt and keeps the
/// first one's uncertainty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_acquire_whose_resends_are_throttled_is_not_reported_as_not_applied() {
    bounded(
        "an_applied_acquire_whose_resends_are_throttled_is_not_reported_as_not_applied",
        async {
            let wire = Wire::new("applied-then-throttled").await;
            let manager = wire.manager(REQUEST_TIMEOUT);
            let key = LeaseKey::lock("WIRE#throttled");
            wire.proxy.set(Fault::Throttle);
            wire.proxy.once(Fault::DropResponse);
            // Long enough that the lost acquire's lease is still live when the call returns.
            let duration = Duration::from_secs(30);

            let result = manager.try_acquire("WIRE#throttled", duration).await;
            let updates = wire.updates_from(0);
            assert_eq!(
                (updates[0].fault, updates[0].status),
                (Fault::DropResponse, Some(200)),
                "{updates:#?}"
            );
            assert!(
                updates[1..].iter().all(|u| u.fault == Fault::Throttle),
                "{updates:#?}"
            );
            let stored = wire.stored(&key).await;
            assert!(updates[0].body.contains(&stored.token), "{stored:?}");
            let contender = wire
                .direct_manager()
                .try_acquire("WIRE#throttled", LEASE)
                .await;
            let live = contender.as_ref().is_err_and(LeaseError::is_held);
            assert!(
                matches!(result, Ok(_) | Err(LeaseError::OutcomeUnknown { .. })),
                "an acquire that dynalite applied ended in {result:?} after {} requests; \
                 the item holds its token, expiring at {} (a contender is refused: {live})",
                updates.len(),
                stored.expires_at
            );
        },
    )
    .await;
}
