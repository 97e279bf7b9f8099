//! `Planner::check_table`: every mismatch it reports, in order (replication, then keys, then
//! TTL), with a message that says what to fix; how the TTL setting is judged (checked only
//! when TTL is written; unsupported is a warning, not an error); and which global tables are
//! safe for leases (strongly consistent ones) and which are refused.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lease_core::{
    KeyAttribute, KeyRole, LeaseConfig, MultiRegionConsistency, Planner, Replication,
    ReplicationCheck, ScalarType, TableCheckError, TableDescription, TtlCheck, TtlStatus,
};

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("locks").build().unwrap())
}

fn key(name: &str, role: KeyRole, scalar_type: ScalarType) -> KeyAttribute {
    KeyAttribute::new(name, role, scalar_type)
}

fn table(key_schema: Vec<KeyAttribute>, ttl: TtlStatus) -> TableDescription {
    TableDescription {
        key_schema,
        replication: Replication::SingleRegion,
        ttl,
    }
}

fn global(consistency: MultiRegionConsistency) -> Replication {
    Replication::Global {
        regions: vec!["eu-west-1".into(), "us-east-1".into()],
        consistency,
    }
}

fn lock_keys() -> Vec<KeyAttribute> {
    vec![
        key("pk", KeyRole::Hash, ScalarType::S),
        key("sk", KeyRole::Range, ScalarType::S),
    ]
}

fn ttl_on(attribute: &str) -> TtlStatus {
    TtlStatus::Enabled {
        attribute: attribute.into(),
    }
}

#[test]
fn a_fitting_table_passes_and_says_how_far_ttl_was_verified() {
    let check = planner()
        .check_table(&table(lock_keys(), ttl_on("ttl")))
        .unwrap();
    assert_eq!(check.ttl, TtlCheck::Enabled);
    assert!(check.is_fully_verified());

    // Key order in the description does not matter.
    let mut reversed = lock_keys();
    reversed.reverse();
    assert!(
        planner()
            .check_table(&table(reversed, ttl_on("ttl")))
            .is_ok()
    );

    // A store without TTL (dynalite, lease-memory): a warning, not an error.
    let check = planner()
        .check_table(&table(lock_keys(), TtlStatus::Unsupported))
        .unwrap();
    assert_eq!(check.ttl, TtlCheck::Unverified);
    assert!(!check.is_fully_verified());
}

#[test]
fn ttl_is_not_checked_when_the_configuration_writes_none() {
    let planner = Planner::new(
        LeaseConfig::builder("locks")
            .include_ttl(false)
            .build()
            .unwrap(),
    );
    for ttl in [
        TtlStatus::Disabled,
        ttl_on("elsewhere"),
        TtlStatus::Unsupported,
    ] {
        let check = planner.check_table(&table(lock_keys(), ttl)).unwrap();
        assert_eq!(check.ttl, TtlCheck::NotNeeded);
        assert!(check.is_fully_verified());
    }
}

#[test]
fn the_configured_names_are_the_expected_ones() {
    let planner = Planner::new(
        LeaseConfig::builder("locks")
            .key_attribute_names("id", "kind")
            .lease_attribute_names("holder", "until", "expire_at")
            .build()
            .unwrap(),
    );
    let keys = vec![
        key("id", KeyRole::Hash, ScalarType::S),
        key("kind", KeyRole::Range, ScalarType::S),
    ];
    assert!(
        planner
            .check_table(&table(keys.clone(), ttl_on("expire_at")))
            .is_ok()
    );
    assert_eq!(
        planner
            .check_table(&table(keys, ttl_on("ttl")))
            .unwrap_err(),
        TableCheckError::TtlOnOtherAttribute {
            expected: "expire_at".into(),
            found: "ttl".into()
        }
    );
}

/// Each mismatch, the error it gives, and words its message must contain (the fix).
#[test]
fn every_mismatch_is_reported_with_its_fix() {
    let cases: Vec<(TableDescription, TableCheckError, &[&str])> = vec![
        (
            table(
                vec![key("sk", KeyRole::Range, ScalarType::S)],
                ttl_on("ttl"),
            ),
            TableCheckError::MissingPartitionKey {
                expected: "pk".into(),
            },
            &["no partition (HASH) key", "\"pk\"", "type S"],
        ),
        (
            table(
                vec![
                    key("id", KeyRole::Hash, ScalarType::S),
                    key("sk", KeyRole::Range, ScalarType::S),
                ],
                ttl_on("ttl"),
            ),
            TableCheckError::WrongPartitionKey {
                expected: "pk".into(),
                found: "id".into(),
            },
            &["\"id\"", "\"pk\"", "key_attribute_names"],
        ),
        (
            table(
                vec![
                    key("pk", KeyRole::Hash, ScalarType::N),
                    key("sk", KeyRole::Range, ScalarType::S),
                ],
                ttl_on("ttl"),
            ),
            TableCheckError::WrongKeyType {
                attribute: "pk".into(),
                found: ScalarType::N,
            },
            &["\"pk\"", "type N", "of type S"],
        ),
        (
            table(vec![key("pk", KeyRole::Hash, ScalarType::S)], ttl_on("ttl")),
            TableCheckError::MissingSortKey {
                expected: "sk".into(),
            },
            &["no sort (RANGE) key", "\"sk\"", "create_lock_table"],
        ),
        (
            table(
                vec![
                    key("pk", KeyRole::Hash, ScalarType::S),
                    key("rk", KeyRole::Range, ScalarType::S),
                ],
                ttl_on("ttl"),
            ),
            TableCheckError::WrongSortKey {
                expected: "sk".into(),
                found: "rk".into(),
            },
            &["\"rk\"", "\"sk\"", "key_attribute_names"],
        ),
        (
            table(
                vec![
                    key("pk", KeyRole::Hash, ScalarType::S),
                    key("sk", KeyRole::Range, ScalarType::B),
                ],
                ttl_on("ttl"),
            ),
            TableCheckError::WrongKeyType {
                attribute: "sk".into(),
                found: ScalarType::B,
            },
            &["\"sk\"", "type B"],
        ),
        (
            table(lock_keys(), TtlStatus::Disabled),
            TableCheckError::TtlNotEnabled {
                attribute: "ttl".into(),
            },
            &["not enabled", "enable_ttl", "include_ttl(false)"],
        ),
        (
            table(lock_keys(), ttl_on("lease_expires_at")),
            TableCheckError::TtlOnOtherAttribute {
                expected: "ttl".into(),
                found: "lease_expires_at".into(),
            },
            &["\"lease_expires_at\"", "\"ttl\"", "lease_attribute_names"],
        ),
    ];
    for (description, expected, words) in cases {
        let err = planner().check_table(&description).unwrap_err();
        assert_eq!(err, expected);
        let message = err.to_string();
        for word in words {
            assert!(message.contains(word), "{word:?} not in {message:?}");
        }
    }
}

#[test]
fn keys_are_checked_before_ttl() {
    let err = planner()
        .check_table(&table(
            vec![key("pk", KeyRole::Hash, ScalarType::S)],
            TtlStatus::Disabled,
        ))
        .unwrap_err();
    assert!(
        matches!(err, TableCheckError::MissingSortKey { .. }),
        "{err:?}"
    );
}

#[test]
fn a_strongly_consistent_global_table_is_safe_for_leases() {
    let single = planner()
        .check_table(&table(lock_keys(), ttl_on("ttl")))
        .unwrap();
    assert_eq!(single.replication, ReplicationCheck::SingleRegion);
    assert_eq!(Replication::default(), Replication::SingleRegion);

    let mut strong = table(lock_keys(), ttl_on("ttl"));
    strong.replication = global(MultiRegionConsistency::Strong);
    let check = planner().check_table(&strong).unwrap();
    assert_eq!(
        check.replication,
        ReplicationCheck::StronglyConsistentGlobal
    );
    assert_eq!(check.ttl, TtlCheck::Enabled);
    assert!(check.is_fully_verified());
}

#[test]
fn an_eventually_consistent_or_unknown_global_table_is_refused_before_anything_else() {
    let regions = vec!["eu-west-1".to_owned(), "us-east-1".to_owned()];
    let cases = [
        (
            MultiRegionConsistency::Eventual,
            TableCheckError::EventuallyConsistentGlobalTable {
                regions: regions.clone(),
            },
            "multi-Region eventual consistency",
        ),
        (
            MultiRegionConsistency::Other("SOMEDAY".into()),
            TableCheckError::UnknownGlobalTableConsistency {
                consistency: "SOMEDAY".into(),
                regions,
            },
            "\"SOMEDAY\"",
        ),
    ];
    for (consistency, expected, names) in cases {
        // Every other part fits: refused for its replication alone.
        let mut fitting = table(lock_keys(), ttl_on("ttl"));
        fitting.replication = global(consistency.clone());
        assert_eq!(planner().check_table(&fitting).unwrap_err(), expected);
        // Keys and TTL wrong too: replication is still what is reported.
        let mut wrong = table(
            vec![key("id", KeyRole::Hash, ScalarType::N)],
            TtlStatus::Disabled,
        );
        wrong.replication = global(consistency);
        let err = planner().check_table(&wrong).unwrap_err();
        assert_eq!(err, expected);
        let message = err.to_string();
        for part in [
            names,
            "eu-west-1",
            "single-Region table",
            "strong consistency",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
    }
    assert_eq!(MultiRegionConsistency::Eventual.to_string(), "EVENTUAL");
    assert_eq!(MultiRegionConsistency::Strong.to_string(), "STRONG");
    assert_eq!(
        MultiRegionConsistency::Other("SOMEDAY".into()).to_string(),
        "SOMEDAY"
    );
}
