//! Differential property test: lease-memory answers DynamoDB requests exactly like dynalite
//! (at `LEASE_DYNALITE_ENDPOINT`), whose own test suite is run against live DynamoDB.
//!
//! Each generated case ([`differential::case`]) starts from the same item (or none) at a fresh
//! key in a `MemoryStore` and on dynalite, sends both the same 1–4 requests, and checks after
//! every request that both gave the same outcome (both applied with the same returned
//! attributes, both condition-failed, both the same item read, or both rejected with the same
//! error kind: messages differ) and that the item is the same in both (read back with a
//! consistent `GetItem`). Where dynalite lacks a capability (no old item on a failed
//! condition, [`Capabilities`]), lease-memory is checked against DynamoDB's documented answer
//! instead. The generators' docs list what is generated and what is left out, and why.
//!
//! 128 cases by default (`PROPTEST_CASES` overrides). A failing case is shrunk, printed as the
//! requests DynamoDB receives, and saved to `tests/contract/proptest-regressions/
//! differential_dynalite.txt`, whose cases are replayed first on later runs.
//!
//! A missing endpoint fails the test (see `ServerBackend`): `scripts/test.sh` sets it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod differential;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use differential::{Case, describe, on_condition_failure};
use lease::store::OnConditionFailure;
use lease::{
    LeaseConfig, store::Item, store::Request, store::Store, store::StoreError,
    store::StoreErrorKind, store::StoreResponse,
};
use lease_contract_tests::{Backend, Capabilities, ServerBackend};
use lease_dynamodb_sdk::DynamoDbStore;
use lease_memory::MemoryStore;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// Cases per run unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 128;

/// Both stores on one table each, and what dynalite can do.
struct Stores {
    memory: MemoryStore,
    dynalite: DynamoDbStore,
    table: Arc<str>,
    capabilities: Capabilities,
    /// Numbers the fresh partition key of each run.
    runs: AtomicU64,
    /// How many requests of each kind ended how (both stores agreed), for the summary.
    tally: Mutex<BTreeMap<String, u32>>,
}

type Answer = Result<StoreResponse, StoreError>;

#[test]
fn memory_answers_like_dynalite() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = ServerBackend::dynalite();
    let table = format!("differential-{}", uuid::Uuid::new_v4().simple());
    let config = LeaseConfig::builder(table.clone()).build().unwrap();
    let stores = Stores {
        memory: MemoryStore::for_config(&config),
        dynalite: runtime.block_on(backend.open(&config)),
        table: table.into(),
        capabilities: backend.capabilities(),
        runs: AtomicU64::new(0),
        tally: Mutex::default(),
    };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/differential_dynalite.txt"
        )))),
        ..Config::default()
    });
    let result = runner.run(&differential::case(), |case| {
        runtime.block_on(run(&stores, &case))
    });
    println!("outcomes (request kind, outcome: count):");
    for (outcome, count) in stores.tally.lock().unwrap().iter() {
        println!("  {outcome}: {count}");
    }
    match result {
        Ok(()) => {
            if cases >= DEFAULT_CASES {
                check_coverage(&stores.tally.lock().unwrap());
            }
        }
        Err(TestError::Fail(why, case)) => {
            panic!("lease-memory and dynalite differ: {why}\nminimal case:\n{case:?}")
        }
        Err(e) => panic!("{e}"),
    }
}

/// Runs one case on both stores at a fresh key.
async fn run(stores: &Stores, case: &Case) -> Result<(), TestCaseError> {
    let n = stores.runs.fetch_add(1, Ordering::Relaxed);
    let partition = format!("K{n}");
    if let Some(attributes) = &case.initial {
        let put = addressed(
            &differential::put_unconditionally(attributes),
            stores,
            &partition,
        );
        for answer in [
            stores.memory.execute(&put).await,
            stores.dynalite.execute(&put).await,
        ] {
            if !matches!(answer, Ok(StoreResponse::Applied { .. })) {
                return Err(TestCaseError::fail(format!(
                    "the initial {} was not applied: {}",
                    describe(&put),
                    show(&answer)
                )));
            }
        }
    }
    let mut before = read(stores, &partition)
        .await
        .map_err(|why| TestCaseError::fail(format!("after the initial item: {why}")))?;
    for (i, step) in case.steps.iter().enumerate() {
        let request = addressed(step, stores, &partition);
        let memory = stores.memory.execute(&request).await;
        let dynalite = stores.dynalite.execute(&request).await;
        let context = || {
            format!(
                "request {} of the case, {}\nitem before: {before:?}\nlease-memory: {}\ndynalite:     {}",
                i + 1,
                describe(&request),
                show(&memory),
                show(&dynalite)
            )
        };
        if let Err(why) = same_outcome(
            &request,
            before.as_ref(),
            &memory,
            &dynalite,
            stores.capabilities,
        ) {
            return Err(TestCaseError::fail(format!("{why}\n{}", context())));
        }
        *stores
            .tally
            .lock()
            .unwrap()
            .entry(outcome_kind(&request, &memory))
            .or_default() += 1;
        let after = read(stores, &partition)
            .await
            .map_err(|why| TestCaseError::fail(format!("{why}\n{}", context())))?;
        if !matches!(memory, Ok(StoreResponse::Applied { .. })) && after != before {
            return Err(TestCaseError::fail(format!(
                "a request that was not applied changed the item to {after:?}\n{}",
                context()
            )));
        }
        before = after;
    }
    Ok(())
}

/// Whether both stores answered the same, as far as dynalite's capabilities let us compare.
fn same_outcome(
    request: &Request,
    before: Option<&Item>,
    memory: &Answer,
    dynalite: &Answer,
    capabilities: Capabilities,
) -> Result<(), String> {
    match (memory, dynalite) {
        (
            Ok(StoreResponse::Applied { attributes: m }),
            Ok(StoreResponse::Applied { attributes: d }),
        ) => {
            if m == d {
                Ok(())
            } else {
                Err("both applied, but returned different attributes".into())
            }
        }
        (
            Ok(StoreResponse::ConditionFailed { old_item: m }),
            Ok(StoreResponse::ConditionFailed { old_item: d }),
        ) => {
            // DynamoDB returns the item as it was when ALL_OLD is asked for (none if there is
            // no item), and nothing otherwise.
            let documented = match on_condition_failure(request) {
                Some(OnConditionFailure::ReturnOldItem) => before.cloned(),
                _ => None,
            };
            if *m != documented {
                Err(format!(
                    "both condition-failed, but lease-memory's old item is not DynamoDB's documented answer {documented:?}"
                ))
            } else if capabilities.returns_old_item_on_condition_failure {
                if m == d {
                    Ok(())
                } else {
                    Err("both condition-failed, with different old items".into())
                }
            } else if d.is_some() {
                Err(
                    "dynalite returned an old item, which its capabilities say it never does"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
        (Ok(StoreResponse::Item(m)), Ok(StoreResponse::Item(d))) => {
            if m == d {
                Ok(())
            } else {
                Err("both read, different items".into())
            }
        }
        (Err(m), Err(d)) if m.kind() == d.kind() && m.kind() == StoreErrorKind::Validation => {
            Ok(())
        }
        (Err(_), Err(_)) => Err("both failed, with different or unexpected error kinds".into()),
        _ => Err("different outcomes".into()),
    }
}

/// The item at the key in both stores (consistent reads), or why they differ.
async fn read(stores: &Stores, partition: &str) -> Result<Option<Item>, String> {
    let get = addressed(&differential::consistent_get(), stores, partition);
    let memory = stores.memory.execute(&get).await;
    let dynalite = stores.dynalite.execute(&get).await;
    match (memory, dynalite) {
        (Ok(StoreResponse::Item(m)), Ok(StoreResponse::Item(d))) if m == d => Ok(m),
        (m, d) => Err(format!(
            "the stored items differ: lease-memory has {}, dynalite has {}",
            show(&m),
            show(&d)
        )),
    }
}

/// `request` at the test's table and the run's partition key.
fn addressed(request: &Request, stores: &Stores, partition: &str) -> Request {
    differential::addressed(request, &stores.table, partition)
}

/// An answer for a message: the response, or the error's kind and message.
fn show(answer: &Answer) -> String {
    match answer {
        Ok(response) => format!("{response:?}"),
        Err(e) => format!("Err({:?}: {})", e.kind(), e.message()),
    }
}

/// A request's kind and outcome, for the summary (`UpdateItem UpdatedNew: applied, 2
/// attributes returned`).
fn outcome_kind(request: &Request, answer: &Answer) -> String {
    let kind = match request {
        Request::Put(_) => "PutItem".to_owned(),
        Request::Update(r) => format!("UpdateItem {:?}", r.return_values),
        Request::Delete(_) => "DeleteItem".to_owned(),
        Request::Get(_) => "GetItem".to_owned(),
        _ => "other".to_owned(),
    };
    let outcome = match answer {
        Ok(StoreResponse::Applied { attributes: None }) => "applied".to_owned(),
        Ok(StoreResponse::Applied {
            attributes: Some(a),
        }) => format!("applied, {} attributes returned", a.len()),
        Ok(StoreResponse::ConditionFailed { .. }) => "condition failed".to_owned(),
        Ok(StoreResponse::Item(Some(_))) => "item".to_owned(),
        Ok(StoreResponse::Item(None)) => "no item".to_owned(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("{:?}", e.kind()),
    };
    format!("{kind}: {outcome}")
}

/// Fails if a full run never saw a request applied, condition-failed, or rejected as invalid:
/// the generators would have drifted away from what the test is for.
fn check_coverage(tally: &BTreeMap<String, u32>) {
    for outcome in ["applied", "condition failed", "Validation"] {
        assert!(
            tally
                .keys()
                .any(|kind| kind.ends_with(&format!(": {outcome}"))
                    || kind.contains(&format!(": {outcome},"))),
            "no request ended {outcome:?} in a full run: the generators no longer cover it; outcomes: {tally:#?}"
        );
    }
}
