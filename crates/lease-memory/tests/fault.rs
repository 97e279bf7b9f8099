//! `FaultyStore`: each fault at the store level, rule scripting (kind, predicates, skip, times,
//! order), seeded draws, outages, the log, and a fault seen through the `LeaseManager`.
//!
//! Time-dependent tests run on tokio's paused clock: delays take no real time, and elapsed
//! times are virtual.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lease_memory::store::expr::{Attr, UpdateAction, Value};
use lease_memory::{
    LeaseConfig, LeaseManager, MemoryStore, ReleaseOutcome, fault::Fault, fault::FaultRule,
    fault::FaultyStore, fault::LoggedRequest, fault::RequestKind, fault::RequestOutcome,
    store::AttributeValue, store::Item, store::Request, store::Store, store::StoreError,
    store::StoreErrorKind, store::StoreResponse, token::LeaseToken,
};
use lease_memory::{
    store::DeleteRequest, store::GetRequest, store::PutRequest, store::UpdateRequest,
};
use tokio::time::Instant;

const TABLE: &str = "locks";

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn key(pk: &str) -> Item {
    [("pk".into(), s(pk)), ("sk".into(), s("LOCK"))].into()
}

fn with_token(pk: &str, token: &str) -> Item {
    let mut item = key(pk);
    item.insert("tok".into(), s(token));
    item
}

fn put(pk: &str, token: &str) -> Request {
    Request::Put(PutRequest::new(TABLE, with_token(pk, token)))
}

fn update(pk: &str, token: &str) -> Request {
    Request::Update(UpdateRequest::new(
        TABLE,
        key(pk),
        vec![UpdateAction::set(
            Attr::new("tok", "tok"),
            Value::new("tok", s(token)),
        )],
    ))
}

fn delete(pk: &str) -> Request {
    Request::Delete(DeleteRequest::new(TABLE, key(pk)))
}

fn get(pk: &str) -> Request {
    Request::Get(GetRequest {
        table_name: TABLE.into(),
        key: key(pk),
        consistent_read: true,
    })
}

fn config() -> LeaseConfig {
    LeaseConfig::builder(TABLE).build().unwrap()
}

fn faulty() -> FaultyStore<MemoryStore> {
    FaultyStore::new(MemoryStore::for_config(&config()))
}

/// The item at `pk`, read with a `GetItem` through the inner store (never faulted, not logged).
async fn stored(store: &FaultyStore<MemoryStore>, pk: &str) -> Option<Item> {
    match store.inner().execute(&get(pk)).await {
        Ok(StoreResponse::Item(item)) => item,
        other => panic!("expected an item, got {other:?}"),
    }
}

fn kind_of(answer: &Result<StoreResponse, StoreError>) -> StoreErrorKind {
    match answer {
        Err(e) => e.kind(),
        Ok(response) => panic!("expected an error, got {response:?}"),
    }
}

fn outcomes(store: &FaultyStore<MemoryStore>) -> Vec<RequestOutcome> {
    store.log().iter().map(|l| l.outcome()).collect()
}

/// The three writes (what acquire, refresh and release send) on an item holding token `old`,
/// with the item each leaves when applied.
fn writes() -> [(Request, Option<Item>); 3] {
    [
        (put("K", "new"), Some(with_token("K", "new"))),
        (update("K", "new"), Some(with_token("K", "new"))),
        (delete("K"), None),
    ]
}

/// A store holding `K` with token `old`, faulting the next request with `fault`.
fn seeded_with(fault: Fault) -> FaultyStore<MemoryStore> {
    let store = faulty();
    store
        .inner()
        .put_item_unconditionally(TABLE, with_token("K", "old"))
        .unwrap();
    store.push_rule(FaultRule::new(fault).times(1));
    store
}

#[tokio::test]
async fn apply_then_error_applies_every_write_and_reports_the_error() {
    for kind in [StoreErrorKind::Timeout, StoreErrorKind::Unavailable] {
        for (request, applied) in writes() {
            let store = seeded_with(Fault::ApplyThenError(kind));
            let answer = store.execute(&request).await;
            assert_eq!(kind_of(&answer), kind, "{request:?}");
            assert!(answer.unwrap_err().message().contains("injected"));
            assert_eq!(stored(&store, "K").await, applied, "the write landed");
            assert_eq!(
                outcomes(&store),
                [RequestOutcome::Faulted(Fault::ApplyThenError(kind))]
            );
            assert!(store.log()[0].outcome().forwards());
        }
    }
}

#[tokio::test]
async fn drop_before_apply_and_transient_apply_nothing() {
    use StoreErrorKind::{Throttled, Timeout, Unavailable};
    let faults = [
        (Fault::DropBeforeApply(Timeout), Timeout),
        (Fault::Transient(Throttled), Throttled),
        (Fault::Transient(Unavailable), Unavailable),
    ];
    for (fault, kind) in faults {
        for (request, applied) in writes() {
            let store = seeded_with(fault);
            assert_eq!(kind_of(&store.execute(&request).await), kind);
            assert_eq!(
                store.inner().requests_executed(),
                0,
                "never reached the store"
            );
            assert_eq!(stored(&store, "K").await, Some(with_token("K", "old")));
            assert!(!store.log()[0].outcome().forwards());
            // `times(1)`: the next request passes and applies.
            store.execute(&request).await.unwrap();
            assert_eq!(stored(&store, "K").await, applied);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn delay_applies_the_request_after_the_delay() {
    let store = faulty();
    store.push_rule(
        FaultRule::new(Fault::Delay(Duration::from_secs(5)))
            .matching(RequestKind::Put)
            .times(1),
    );
    let start = Instant::now();
    let slow = tokio::spawn({
        let store = store.clone();
        async move { store.execute(&put("K", "slow")).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stored(&store, "K").await,
        None,
        "not applied during the delay"
    );
    // A request sent meanwhile is applied first; the delayed one then overwrites it.
    store.execute(&put("K", "fast")).await.unwrap();
    assert_eq!(stored(&store, "K").await, Some(with_token("K", "fast")));

    let answer = slow.await.unwrap();
    assert!(matches!(answer, Ok(StoreResponse::Applied { .. })));
    assert!(start.elapsed() >= Duration::from_secs(5));
    assert_eq!(stored(&store, "K").await, Some(with_token("K", "slow")));
}

#[tokio::test(start_paused = true)]
async fn apply_then_delay_applies_at_once_and_answers_after_the_delay() {
    let store = faulty();
    store.push_rule(FaultRule::new(Fault::ApplyThenDelay(Duration::from_secs(5))).times(1));
    let start = Instant::now();
    let slow = tokio::spawn({
        let store = store.clone();
        async move { store.execute(&put("K", "a")).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&store, "K").await, Some(with_token("K", "a")));
    assert!(!slow.is_finished(), "the answer is still on its way");

    assert!(matches!(
        slow.await.unwrap(),
        Ok(StoreResponse::Applied { .. })
    ));
    assert!(start.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_caller_giving_up_during_a_delay_loses_the_request_or_only_the_answer() {
    let store = faulty();
    let one_second = Duration::from_secs(1);
    store.push_rule(FaultRule::new(Fault::Delay(Duration::from_secs(5))).times(1));
    let gave_up = tokio::time::timeout(one_second, store.execute(&put("K", "a"))).await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(stored(&store, "K").await, None, "Delay: never applied");

    store.push_rule(FaultRule::new(Fault::ApplyThenDelay(Duration::from_secs(5))).times(1));
    let gave_up = tokio::time::timeout(one_second, store.execute(&put("J", "b"))).await;
    assert!(gave_up.is_err());
    assert_eq!(
        stored(&store, "J").await,
        Some(with_token("J", "b")),
        "ApplyThenDelay: applied, answer lost"
    );
}

#[tokio::test]
async fn skip_and_times_count_matching_requests_only() {
    let store = faulty();
    let throttled = Fault::Transient(StoreErrorKind::Throttled);
    store.push_rule(
        FaultRule::new(throttled)
            .matching(RequestKind::Put)
            .skip(2)
            .times(2),
    );
    let requests = [
        get("K"),
        put("K", "1"),
        get("K"),
        put("K", "2"),
        delete("K"),
        put("K", "3"),
        put("K", "4"),
        put("K", "5"),
    ];
    for request in &requests {
        let _ = store.execute(request).await;
    }
    use RequestOutcome::{Faulted, Passed};
    let faulted = Faulted(throttled);
    assert_eq!(
        outcomes(&store),
        [
            Passed, Passed, Passed, Passed, Passed, faulted, faulted, Passed
        ]
    );
    assert_eq!(store.requests_seen(), requests.len());
}

#[tokio::test]
async fn always_never_stops_and_times_zero_never_fires() {
    let store = faulty();
    let timeout = Fault::DropBeforeApply(StoreErrorKind::Timeout);
    store.push_rule(FaultRule::new(timeout).matching(RequestKind::Get).times(0));
    store.push_rule(
        FaultRule::new(timeout)
            .matching(RequestKind::Write)
            .times(1)
            .always(),
    );
    for request in [
        put("K", "a"),
        get("K"),
        update("K", "b"),
        delete("K"),
        get("K"),
    ] {
        let _ = store.execute(&request).await;
    }
    use RequestOutcome::{Faulted, Passed};
    let faulted = Faulted(timeout);
    assert_eq!(
        outcomes(&store),
        [faulted, Passed, faulted, faulted, Passed]
    );
}

#[tokio::test]
async fn the_first_rule_that_fires_wins_and_later_rules_still_count() {
    let store = faulty();
    let throttled = Fault::Transient(StoreErrorKind::Throttled);
    let unavailable = Fault::Transient(StoreErrorKind::Unavailable);
    store.push_rule(
        FaultRule::new(throttled)
            .matching(RequestKind::Put)
            .times(1),
    );
    // Would fault the second request of any kind: the first one, faulted by the rule above,
    // still counts as skipped.
    store.push_rule(FaultRule::new(unavailable).skip(1).times(1));
    for request in [put("K", "a"), put("K", "b"), get("K")] {
        let _ = store.execute(&request).await;
    }
    assert_eq!(
        outcomes(&store),
        [
            RequestOutcome::Faulted(throttled),
            RequestOutcome::Faulted(unavailable),
            RequestOutcome::Passed
        ]
    );
}

#[tokio::test]
async fn predicates_select_requests_and_must_all_hold() {
    let store = faulty();
    let timeout = Fault::ApplyThenError(StoreErrorKind::Timeout);
    store.push_rule(
        FaultRule::new(timeout)
            .on_key_attribute("pk", s("K"))
            .when(|r| matches!(r, Request::Put(p) if p.item.get("tok") == Some(&s("b")))),
    );
    for request in [
        put("K", "a"),
        put("J", "b"),
        put("K", "b"),
        delete("K"),
        put("K", "b"),
    ] {
        let _ = store.execute(&request).await;
    }
    use RequestOutcome::{Faulted, Passed};
    assert_eq!(
        outcomes(&store),
        [Passed, Passed, Faulted(timeout), Passed, Faulted(timeout)]
    );

    // The key attribute is found in the key of the other requests.
    let store = faulty();
    store.push_rule(FaultRule::new(timeout).on_key_attribute("pk", s("K")));
    for request in [get("K"), update("J", "x"), delete("K")] {
        let _ = store.execute(&request).await;
    }
    assert_eq!(
        outcomes(&store),
        [Faulted(timeout), Passed, Faulted(timeout)]
    );
}

/// Which of 64 `GetItem`s a rule with probability 1/2 faults, on a store seeded with `seed`.
async fn draws(seed: u64) -> Vec<bool> {
    let store = FaultyStore::seeded(MemoryStore::for_config(&config()), seed);
    store.push_rule(
        FaultRule::new(Fault::Transient(StoreErrorKind::Throttled)).with_probability(0.5),
    );
    for _ in 0..64 {
        let _ = store.execute(&get("K")).await;
    }
    store
        .log()
        .iter()
        .map(|l| l.outcome().fault().is_some())
        .collect()
}

#[tokio::test]
async fn seeded_draws_are_reproducible_and_depend_on_the_seed() {
    let first = draws(7).await;
    assert_eq!(first, draws(7).await);
    assert_ne!(first, draws(8).await);
    assert!(first.contains(&true) && first.contains(&false));
}

#[tokio::test]
async fn probabilities_zero_and_one_and_times_bound_the_draws() {
    let store = FaultyStore::seeded(MemoryStore::for_config(&config()), 1);
    let never = Fault::Transient(StoreErrorKind::Other);
    let three = Fault::Transient(StoreErrorKind::Throttled);
    store.push_rule(FaultRule::new(never).with_probability(0.0));
    store.push_rule(
        FaultRule::new(three)
            .matching(RequestKind::Get)
            .with_probability(0.5)
            .times(3),
    );
    store.push_rule(
        FaultRule::new(Fault::DropBeforeApply(StoreErrorKind::Timeout))
            .matching(RequestKind::Put)
            .with_probability(1.0),
    );
    for _ in 0..64 {
        let _ = store.execute(&get("K")).await;
        let _ = store.execute(&put("K", "a")).await;
    }
    let log = store.log();
    assert!(log.iter().all(|l| l.outcome().fault() != Some(never)));
    let faulted_gets = log
        .iter()
        .filter(|l| l.outcome().fault() == Some(three))
        .count();
    assert_eq!(faulted_gets, 3);
    assert!(
        log.iter()
            .filter(|l| RequestKind::Put.matches(l.request()))
            .all(|l| !l.outcome().forwards())
    );
    assert_eq!(stored(&store, "K").await, None);
}

#[test]
#[should_panic(expected = "outside 0.0..=1.0")]
fn a_probability_outside_zero_to_one_is_a_test_bug() {
    let _ = FaultRule::new(Fault::Transient(StoreErrorKind::Throttled)).with_probability(1.5);
}

#[tokio::test]
async fn an_outage_fails_everything_unapplied_until_cleared_and_rules_wait() {
    let store = faulty();
    let throttled = Fault::Transient(StoreErrorKind::Throttled);
    store.push_rule(FaultRule::new(throttled).times(1));
    let unavailable = StoreErrorKind::Unavailable;
    store.set_outage(Some(unavailable));
    assert_eq!(store.outage(), Some(unavailable));
    for request in [put("K", "a"), get("K"), update("K", "b"), delete("K")] {
        assert_eq!(kind_of(&store.execute(&request).await), unavailable);
    }
    assert_eq!(store.inner().requests_executed(), 0);
    assert_eq!(stored(&store, "K").await, None);

    store.set_outage(None);
    assert_eq!(store.outage(), None);
    let after = [put("K", "a"), put("K", "b")];
    assert_eq!(
        kind_of(&store.execute(&after[0]).await),
        StoreErrorKind::Throttled,
        "the rule did not count requests during the outage"
    );
    store.execute(&after[1]).await.unwrap();
    assert_eq!(stored(&store, "K").await, Some(with_token("K", "b")));
    let outage = RequestOutcome::Outage(unavailable);
    assert_eq!(
        outcomes(&store),
        [
            outage,
            outage,
            outage,
            outage,
            RequestOutcome::Faulted(throttled),
            RequestOutcome::Passed
        ]
    );
}

#[tokio::test]
async fn clones_share_rules_outage_and_log() {
    let store = faulty();
    let clone = store.clone();
    clone.push_rule(FaultRule::new(Fault::Transient(StoreErrorKind::Throttled)).times(1));
    assert!(store.execute(&get("K")).await.is_err());
    clone.set_outage(Some(StoreErrorKind::Timeout));
    assert_eq!(store.outage(), Some(StoreErrorKind::Timeout));
    clone.set_outage(None);
    clone.clear_rules();
    store.execute(&put("K", "a")).await.unwrap();
    assert_eq!(clone.requests_seen(), 2);
    assert_eq!(clone.log(), store.log());
    assert_eq!(clone.log()[1].request(), &put("K", "a"));
    assert_eq!(stored(&clone, "K").await, Some(with_token("K", "a")));
}

#[tokio::test]
async fn debug_never_shows_keys_or_tokens() {
    let store = faulty();
    let rule = FaultRule::new(Fault::ApplyThenError(StoreErrorKind::Timeout))
        .on_key_attribute("pk", s("KEY-VALUE"))
        .times(1);
    assert!(!format!("{rule:?}").contains("KEY-VALUE"));
    store.push_rule(rule);
    let _ = store.execute(&put("KEY-VALUE", "SECRET-TOKEN")).await;
    let shown = format!("{store:?} {:?}", store.log());
    assert!(shown.contains("PutItem") && shown.contains("ApplyThenError"));
    assert!(!shown.contains("SECRET-TOKEN") && !shown.contains("KEY-VALUE"));
}

fn manager(store: &FaultyStore<MemoryStore>) -> LeaseManager<FaultyStore<MemoryStore>> {
    LeaseManager::new(store.clone(), config()).with_token_source(|| LeaseToken::new("tok-a"))
}

#[tokio::test(start_paused = true)]
async fn acquire_apply_then_timeout_is_recovered_by_the_resend() {
    let store = faulty();
    store.push_rule(
        FaultRule::new(Fault::ApplyThenError(StoreErrorKind::Timeout))
            .matching(RequestKind::Write)
            .times(1),
    );
    let lease = manager(&store)
        .try_acquire("K", Duration::from_secs(30))
        .await
        .expect("the re-sent acquire recognises its own token");
    assert_eq!(lease.token().expose_secret(), "tok-a");
    let item = stored(&store, "K")
        .await
        .expect("the lease item is written");
    assert_eq!(item.get("lease_token"), Some(&s("tok-a")));
    let outcomes: Vec<_> = store.log().iter().map(|r| r.outcome()).collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(matches!(outcomes[0], RequestOutcome::Faulted(_)));
    assert!(matches!(outcomes[1], RequestOutcome::Passed));
}

/// Whether `request` writes the item at partition key `pk`.
fn is_write_to(request: &Request, pk: &str) -> bool {
    let target = match request {
        Request::Put(p) => &p.item,
        Request::Update(u) => &u.key,
        Request::Delete(d) => &d.key,
        _ => return false,
    };
    target.get("pk") == Some(&s(pk))
}

#[tokio::test]
async fn the_log_shows_what_the_manager_sent_and_nothing_after_release() {
    let store = faulty();
    let manager = manager(&store);
    let lease = manager
        .try_acquire("K", Duration::from_secs(30))
        .await
        .unwrap();
    let lease = manager
        .refresh(&lease, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
    let released_at = store.requests_seen();
    manager
        .try_acquire("J", Duration::from_secs(30))
        .await
        .unwrap();

    let log = store.log();
    assert!(log.iter().all(|l| l.outcome() == RequestOutcome::Passed));
    let writes_to_k =
        |log: &[LoggedRequest]| log.iter().filter(|l| is_write_to(l.request(), "K")).count();
    assert_eq!(
        writes_to_k(&log[..released_at]),
        3,
        "acquire, refresh, release"
    );
    assert_eq!(writes_to_k(&log[released_at..]), 0, "nothing after release");
    assert!(
        log[released_at..]
            .iter()
            .any(|l| is_write_to(l.request(), "J"))
    );
}
