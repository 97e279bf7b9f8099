//! Cost of the core per lease operation, as a store sees it: plan the operation, render its
//! request (`request().render()`, what the SDK store does before sending), and interpret an
//! `Applied` answer. Target: at most 2 µs per operation.
//!
//! Run with `cargo bench -p lease-core --bench core`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lease_core::{
    AttributeValue, Item, Lease, LeaseConfig, LeaseKey, LeaseToken, Planner, StoreResponse,
};
use time::OffsetDateTime;

/// A realistic key (FaceTheory's ISR cache key shape) and a UUIDv4-sized token.
const PARTITION: &str = "CACHE#default::/news/{slug}?slug=launch";
const TOKEN: &str = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";

/// The answer to a refresh or release.
fn applied() -> Result<StoreResponse, lease_core::StoreError> {
    Ok(StoreResponse::Applied { attributes: None })
}

/// The answer to an acquire (`ReturnValues UPDATED_NEW`): the attributes it set, with the
/// fencing token.
fn applied_new(item: &Item) -> Result<StoreResponse, lease_core::StoreError> {
    Ok(StoreResponse::Applied {
        attributes: Some(item.clone()),
    })
}

fn bench(c: &mut Criterion) {
    let Ok(config) = LeaseConfig::builder("locks").build() else {
        panic!("the default configuration is valid");
    };
    let planner = Planner::new(config);
    let now = OffsetDateTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let d = Duration::from_secs(30);
    let key = planner.lock_key(PARTITION);
    let lease = Lease::new(key.clone(), LeaseToken::new(TOKEN), now + d);
    let updated = Item::from([
        ("lease_token".to_owned(), AttributeValue::string(TOKEN)),
        (
            "lease_expires_at".to_owned(),
            AttributeValue::number(1_700_000_031),
        ),
        (
            "lease_fence".to_owned(),
            AttributeValue::number(1_700_000_000_124),
        ),
        ("ttl".to_owned(), AttributeValue::number(1_700_003_631)),
    ]);

    // The measured paths must be the successful ones.
    let Ok(plan) = planner.acquire(key.clone(), d, now, LeaseToken::new(TOKEN)) else {
        panic!("valid input");
    };
    assert!(plan.interpret(applied_new(&updated)).is_ok(), "acquire");
    let Ok(plan) = planner.refresh(&lease, d, now) else {
        panic!("valid input");
    };
    assert!(plan.interpret(applied()).is_ok(), "refresh");
    let Ok(plan) = planner.release(&lease, now) else {
        panic!("valid input");
    };
    assert!(plan.interpret(applied()).is_ok(), "release");

    let mut group = c.benchmark_group("lease_core");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    group.bench_function("acquire: plan + render + interpret", |b| {
        b.iter(|| {
            let key = LeaseKey::clone(black_box(&key));
            let token = LeaseToken::new(black_box(TOKEN));
            let Ok(plan) = planner.acquire(key, d, black_box(now), token) else {
                panic!("valid input");
            };
            black_box(plan.request().render());
            let answer = applied_new(black_box(&updated));
            black_box(plan.interpret(answer).is_ok())
        });
    });

    group.bench_function("refresh: plan + render + interpret", |b| {
        b.iter(|| {
            let Ok(plan) = planner.refresh(black_box(&lease), d, black_box(now)) else {
                panic!("valid input");
            };
            black_box(plan.request().render());
            black_box(plan.interpret(applied()).is_ok())
        });
    });

    group.bench_function("release: plan + render + interpret", |b| {
        b.iter(|| {
            let Ok(plan) = planner.release(black_box(&lease), black_box(now)) else {
                panic!("valid input");
            };
            black_box(plan.request().render());
            black_box(plan.interpret(applied()).is_ok())
        });
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
