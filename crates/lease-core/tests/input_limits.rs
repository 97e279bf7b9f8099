//! Input checks at their boundaries: key sizes in UTF-8 bytes, the duration cap, and times near
//! the end of the representable range. Each check must hold for acquire, refresh and release
//! (where it applies).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    ConfigError, InvalidInput, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseToken,
    MAX_LEASE_DURATION, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, Operation, Planner, Request,
};
use std::time::SystemTime;

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

/// A planner whose clock skew bound (100 ms) admits sub-second leases.
fn planner_sub_second() -> Planner {
    Planner::new(
        LeaseConfig::builder("tbl")
            .max_clock_skew(Duration::from_millis(100))
            .build()
            .unwrap(),
    )
}

/// A planner without a clock skew bound: any lease above zero can be used.
fn planner_without_skew() -> Planner {
    Planner::new(
        LeaseConfig::builder("tbl")
            .max_clock_skew(Duration::ZERO)
            .build()
            .unwrap(),
    )
}

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

const THIRTY: Duration = Duration::from_secs(30);

/// The reason each of acquire, refresh and release gives for `key` (`None`: it was planned).
fn reasons(planner: &Planner, key: &LeaseKey) -> [Option<InvalidInput>; 3] {
    fn reason(
        op: Operation,
        key: &LeaseKey,
        result: Result<(), LeaseError>,
    ) -> Option<InvalidInput> {
        match result {
            Ok(()) => None,
            Err(LeaseError::InvalidInput {
                operation,
                key: err_key,
                reason,
            }) => {
                assert_eq!(operation, op);
                assert_eq!(&err_key, key, "the error names the key");
                Some(reason)
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    let lease = Lease::new(
        key.clone(),
        LeaseToken::new("tok"),
        lease_core::FencingToken::new(1),
        at(1000),
    );
    [
        reason(
            Operation::Acquire,
            key,
            planner
                .acquire(key.clone(), THIRTY, at(1000), LeaseToken::new("tok"))
                .map(drop),
        ),
        reason(
            Operation::Refresh,
            key,
            planner.refresh(&lease, THIRTY, at(1000)).map(drop),
        ),
        reason(
            Operation::Release,
            key,
            planner.release(&lease, at(1000)).map(drop),
        ),
    ]
}

fn all(reason: Option<InvalidInput>) -> [Option<InvalidInput>; 3] {
    [reason.clone(), reason.clone(), reason]
}

#[test]
fn limits_are_dynamodbs() {
    assert_eq!(MAX_PARTITION_KEY_BYTES, 2048);
    assert_eq!(MAX_SORT_KEY_BYTES, 1024);
}

#[test]
fn partition_key_limit_is_exactly_2048_bytes() {
    let p = planner();
    let at_limit = LeaseKey::new("p".repeat(2048), "LOCK");
    assert_eq!(reasons(&p, &at_limit), all(None));
    let over = LeaseKey::new("p".repeat(2049), "LOCK");
    assert_eq!(
        reasons(&p, &over),
        all(Some(InvalidInput::PartitionKeyTooLong { len: 2049 }))
    );
}

#[test]
fn sort_key_limit_is_exactly_1024_bytes() {
    let p = planner();
    let at_limit = LeaseKey::new("CACHE#A", "s".repeat(1024));
    assert_eq!(reasons(&p, &at_limit), all(None));
    let over = LeaseKey::new("CACHE#A", "s".repeat(1025));
    assert_eq!(
        reasons(&p, &over),
        all(Some(InvalidInput::SortKeyTooLong { len: 1025 }))
    );
}

#[test]
fn key_limits_count_utf8_bytes_not_chars() {
    let p = planner();
    // 'é' is 2 bytes: 1024 of them are exactly 2048 bytes (but only 1024 chars).
    assert_eq!(
        reasons(&p, &LeaseKey::new("é".repeat(1024), "LOCK")),
        all(None)
    );
    let over = format!("{}a", "é".repeat(1024));
    assert_eq!(
        reasons(&p, &LeaseKey::new(over, "LOCK")),
        all(Some(InvalidInput::PartitionKeyTooLong { len: 2049 }))
    );
    // 1025 chars that would pass a char count: 1024 × 'é' + 'a' is 2049 bytes, rejected above;
    // a 4-byte char straddling the limit is rejected too.
    let straddle = format!("{}🔒", "p".repeat(2045));
    assert_eq!(
        reasons(&p, &LeaseKey::new(straddle, "LOCK")),
        all(Some(InvalidInput::PartitionKeyTooLong { len: 2049 }))
    );

    // '€' is 3 bytes: 341 of them plus 'a' is exactly 1024 bytes; 342 are 1026.
    let at_limit = format!("{}a", "€".repeat(341));
    assert_eq!(reasons(&p, &LeaseKey::new("CACHE#A", at_limit)), all(None));
    assert_eq!(
        reasons(&p, &LeaseKey::new("CACHE#A", "€".repeat(342))),
        all(Some(InvalidInput::SortKeyTooLong { len: 1026 }))
    );
}

#[test]
fn empty_keys_are_rejected() {
    let strict = planner();
    assert_eq!(
        reasons(&strict, &LeaseKey::new("", "LOCK")),
        all(Some(InvalidInput::EmptyPartitionKey))
    );
    assert_eq!(
        reasons(&strict, &LeaseKey::new("CACHE#A", "")),
        all(Some(InvalidInput::EmptySortKey))
    );
    // TableTheory checks zero length only: whitespace passes.
    assert_eq!(reasons(&strict, &LeaseKey::new(" ", " ")), all(None));
}

fn duration_reason(p: &Planner, duration: Duration) -> [Option<InvalidInput>; 2] {
    duration_reason_at(p, duration, at(1000))
}

#[test]
fn duration_cap_is_enforced() {
    let over = MAX_LEASE_DURATION + Duration::from_nanos(1);
    let p = planner();
    assert_eq!(duration_reason(&p, MAX_LEASE_DURATION), [None, None]);
    let too_long = Some(InvalidInput::DurationTooLong { duration: over });
    assert_eq!(duration_reason(&p, over), [too_long.clone(), too_long]);
    let huge = Some(InvalidInput::DurationTooLong {
        duration: Duration::MAX,
    });
    assert_eq!(duration_reason(&p, Duration::MAX), [huge.clone(), huge]);
}

#[test]
fn the_longest_lease_is_planned_with_exact_arithmetic() {
    let p = planner();
    let plan = p
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            MAX_LEASE_DURATION,
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let max_secs = i64::try_from(MAX_LEASE_DURATION.as_secs()).unwrap();
    assert_eq!(plan.lease().expires_at_epoch_seconds(), 1000 + max_secs);
    let Request::Update(_) = plan.request() else {
        panic!("expected an update: {:?}", plan.request())
    };
    let rendered = plan.request().render();
    assert_eq!(
        rendered.values.get(":exp").and_then(|v| v.as_n()),
        Some((1000 + max_secs).to_string().as_str())
    );
    assert_eq!(
        rendered.values.get(":ttl").and_then(|v| v.as_n()),
        Some((1000 + max_secs + 3600).to_string().as_str())
    );
}

/// The last whole second a lease can expire at: its TTL (the expiry plus the 3600 s buffer,
/// in whole epoch seconds) must fit an `i64`.
fn last_second() -> i64 {
    i64::MAX - 3600
}

/// The last instant a `SystemTime` can hold.
fn end_of_time() -> SystemTime {
    std::time::UNIX_EPOCH
        .checked_add(Duration::new(i64::MAX.unsigned_abs(), 999_999_999))
        .unwrap()
}

#[test]
fn expiry_past_the_end_of_time_is_time_out_of_range() {
    let p = planner();
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let last = last_second();

    // Exactly at the last representable second: planned.
    let plan = p
        .acquire(key, THIRTY, at(last - 30), LeaseToken::new("tok"))
        .unwrap();
    assert_eq!(plan.lease().expires_at_epoch_seconds(), last);

    // One second further: rejected, for acquire and refresh.
    let past = Duration::from_secs(31);
    assert_eq!(
        duration_reason_at(&p, past, at(last - 30)),
        [
            Some(InvalidInput::TimeOutOfRange),
            Some(InvalidInput::TimeOutOfRange)
        ]
    );

    // The sum is representable (last + 0.9 s) but rounding it up to whole seconds is not.
    let now = at(last) + Duration::from_millis(500);
    assert_eq!(
        duration_reason_at(&planner_sub_second(), Duration::from_millis(400), now),
        [
            Some(InvalidInput::TimeOutOfRange),
            Some(InvalidInput::TimeOutOfRange)
        ]
    );

    // A 1 ns lease ending at the very last instant (no skew bound): rounding up overflows too.
    let end = end_of_time() - Duration::from_nanos(1);
    assert_eq!(
        duration_reason_at(&planner_without_skew(), Duration::from_nanos(1), end),
        [
            Some(InvalidInput::TimeOutOfRange),
            Some(InvalidInput::TimeOutOfRange)
        ]
    );
}

fn duration_reason_at(
    p: &Planner,
    duration: Duration,
    now: SystemTime,
) -> [Option<InvalidInput>; 2] {
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let lease = Lease::new(
        key.clone(),
        LeaseToken::new("tok"),
        lease_core::FencingToken::new(1),
        now,
    );
    let reason = |r: Result<(), LeaseError>| match r {
        Ok(()) => None,
        Err(LeaseError::InvalidInput { reason, .. }) => Some(reason),
        Err(other) => panic!("unexpected error {other:?}"),
    };
    [
        reason(
            p.acquire(key, duration, now, LeaseToken::new("tok"))
                .map(drop),
        ),
        reason(p.refresh(&lease, duration, now).map(drop)),
    ]
}

#[test]
fn empty_token_is_rejected() {
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let strict = planner();
    let err = strict
        .acquire(key.clone(), THIRTY, at(1000), LeaseToken::new(""))
        .unwrap_err();
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            reason: InvalidInput::EmptyToken,
            ..
        }
    ));
    let lease = Lease::new(
        key,
        LeaseToken::new(""),
        lease_core::FencingToken::new(1),
        at(1000),
    );
    assert!(matches!(
        strict.refresh(&lease, THIRTY, at(1000)).unwrap_err(),
        LeaseError::InvalidInput {
            operation: Operation::Refresh,
            reason: InvalidInput::EmptyToken,
            ..
        }
    ));
}

#[test]
fn invalid_input_messages_name_the_key_and_the_reason() {
    let p = planner();
    let err = p
        .acquire(
            LeaseKey::new("CACHE#A", "s".repeat(1025)),
            THIRTY,
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap_err();
    let text = err.report().to_string();
    assert!(text.contains("acquire"), "{text}");
    assert!(text.contains("CACHE#A/"), "{text}");
    assert!(text.contains("1025"), "{text}");
    assert!(text.contains("1024"), "{text}");
}

#[test]
fn times_before_the_epoch_round_the_same_way() {
    // now = -0.5 s (1969-12-31T23:59:59.5Z): `:now` floors to -1, a 1 ns lease rounds up to 0.
    let now = lease_core::wire_time::from_epoch_nanos(-500_000_000).unwrap();
    let planner = planner_without_skew();
    let plan = planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            Duration::from_nanos(1),
            now,
            LeaseToken::new("tok"),
        )
        .unwrap();
    assert_eq!(plan.lease().expires_at_epoch_seconds(), 0);
    let rendered = plan.request().render();
    assert_eq!(
        rendered.values.get(":now"),
        Some(&lease_core::AttributeValue::number(-1))
    );
    // The fencing floor (epoch milliseconds) does not go below zero.
    assert_eq!(
        rendered.values.get(":floor"),
        Some(&lease_core::AttributeValue::number(0))
    );
}

/// A lock sort key over DynamoDB's 1024-byte sort key limit is a configuration error, not a
/// configuration whose every `acquire(pk)` fails with `InvalidInput::SortKeyTooLong`.
#[test]
fn a_lock_sort_key_over_the_limit_is_a_config_error() {
    let at_limit = LeaseConfig::builder("tbl").lock_sort_key("s".repeat(1024));
    assert!(at_limit.build().is_ok());
    let over = LeaseConfig::builder("tbl").lock_sort_key("€".repeat(342));
    assert!(over.build().is_err(), "1026 bytes accepted");
}

/// Bad table options are a `ConfigError` from `build`, before any planner, manager or store
/// exists: table names at DynamoDB's limits (3 to 255 characters of `a-z A-Z 0-9 _ - .`), every
/// attribute role empty, roles sharing a name, and the lock sort key.
#[test]
fn bad_table_options_are_config_errors_at_the_limits() {
    let table = |name: &str| LeaseConfig::builder(name).build().map(drop);
    for name in ["abc", "a.b", "A_-9", &"t".repeat(255)] {
        assert_eq!(table(name), Ok(()), "{name}");
    }
    for name in [
        "",
        "ab",
        &"t".repeat(256),
        "a b",
        "tbl#1",
        "a/b",
        "täble",
        "tbl\n",
    ] {
        assert_eq!(
            table(name),
            Err(ConfigError::InvalidTableName { name: name.into() }),
            "{name:?}"
        );
    }

    let build = |b: lease_core::LeaseConfigBuilder| b.build().map(drop);
    let builder = || LeaseConfig::builder("tbl");
    assert_eq!(
        build(builder().key_attribute_names("pk", "")),
        Err(ConfigError::EmptyAttributeName { role: "sort key" })
    );
    for (token, expires, ttl, role) in [
        ("", "e", "t", "token"),
        ("k", "", "t", "expires-at"),
        ("k", "e", "", "ttl"),
    ] {
        assert_eq!(
            build(builder().lease_attribute_names(token, expires, ttl)),
            Err(ConfigError::EmptyAttributeName { role }),
            "{role}"
        );
    }
    // Collisions between any two roles, named in the order the roles are checked.
    assert_eq!(
        build(builder().key_attribute_names("id", "id")),
        Err(ConfigError::DuplicateAttributeName {
            name: "id".into(),
            first: "partition key",
            second: "sort key",
        })
    );
    assert_eq!(
        build(builder().lease_attribute_names("lease_token", "sk", "ttl")),
        Err(ConfigError::DuplicateAttributeName {
            name: "sk".into(),
            first: "sort key",
            second: "expires-at",
        })
    );
    assert_eq!(
        build(builder().lease_attribute_names("t", "t2", "t2")),
        Err(ConfigError::DuplicateAttributeName {
            name: "t2".into(),
            first: "expires-at",
            second: "ttl",
        })
    );
    // Names are compared exactly: a different case is a different attribute, as in DynamoDB.
    assert_eq!(build(builder().key_attribute_names("PK", "pk")), Ok(()));
    assert_eq!(
        build(builder().key_attribute_names("pk", "s".repeat(256))),
        Err(ConfigError::AttributeNameTooLong {
            role: "sort key",
            len: 256
        })
    );

    assert_eq!(
        build(builder().lock_sort_key("")),
        Err(ConfigError::EmptyLockSortKey)
    );
    // A lock and an election of the same name must never share an item.
    assert_eq!(
        build(builder().lock_sort_key(lease_core::ELECTION_SORT_KEY)),
        Err(ConfigError::ReservedLockSortKey)
    );
    assert_eq!(
        build(builder().lock_sort_key("€".repeat(342))),
        Err(ConfigError::LockSortKeyTooLong { len: 1026 })
    );
}

/// A token over 1024 UTF-8 bytes is refused before planning (it is a mistake DynamoDB would
/// reject only after the fact, near its 400 KB item limit); 1024 bytes is accepted.
#[test]
fn a_token_over_the_limit_is_rejected() {
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let at_limit = LeaseToken::new("t".repeat(lease_core::MAX_TOKEN_BYTES));
    let over = LeaseToken::new(format!("{}é", "t".repeat(lease_core::MAX_TOKEN_BYTES - 1)));
    let planner = planner();
    assert!(
        planner
            .acquire(key.clone(), THIRTY, at(1000), at_limit)
            .is_ok()
    );
    let err = planner
        .acquire(key.clone(), THIRTY, at(1000), over.clone())
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                reason: InvalidInput::TokenTooLong { len: 1025 },
                ..
            }
        ),
        "{err:?}"
    );
    let lease = Lease::new(key, over, lease_core::FencingToken::new(1), at(1000));
    for err in [
        planner.refresh(&lease, THIRTY, at(1000)).unwrap_err(),
        planner.release(&lease, at(1000)).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                LeaseError::InvalidInput {
                    reason: InvalidInput::TokenTooLong { len: 1025 },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("ttt"),
            "the token is not shown: {err}"
        );
    }
}
