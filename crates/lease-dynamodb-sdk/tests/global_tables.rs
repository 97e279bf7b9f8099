//! `check_table` on global tables, through a real `aws_sdk_dynamodb::Client` over canned
//! `DescribeTable` answers (no server: neither dynalite nor moto has global tables): a table
//! whose replicas are eventually consistent across Regions is refused with a typed verdict
//! that says what to do; a strongly consistent one passes and says so.

// Test code: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Canned;
use lease_dynamodb_sdk::table::ReplicationCheck;
use lease_dynamodb_sdk::{
    LeaseConfig, check_table, dynamodb::TableCheckFailure, table::TableCheckError, table::TtlCheck,
};

fn config() -> LeaseConfig {
    LeaseConfig::builder("locks")
        .include_ttl(false)
        .build()
        .unwrap()
}

/// A `DescribeTable` answer for the lock table with `extra` fields after the key schema.
macro_rules! described {
    ($extra:literal) => {
        concat!(
            r#"{"Table":{"TableName":"locks","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}]"#,
            $extra,
            "}}"
        )
    };
}

const SINGLE_REGION: &str = described!("");
/// A global table that states no consistency mode: DynamoDB's default, eventual.
const GLOBAL_DEFAULT: &str = described!(
    r#","GlobalTableVersion":"2019.11.21","Replicas":[{"RegionName":"eu-west-1","ReplicaStatus":"ACTIVE"},{"RegionName":"us-east-1","ReplicaStatus":"ACTIVE"}]"#
);
const GLOBAL_EVENTUAL: &str = described!(
    r#","GlobalTableVersion":"2019.11.21","MultiRegionConsistency":"EVENTUAL","Replicas":[{"RegionName":"eu-west-1","ReplicaStatus":"ACTIVE"},{"RegionName":"us-east-1","ReplicaStatus":"ACTIVE"}]"#
);
const GLOBAL_STRONG: &str = described!(
    r#","GlobalTableVersion":"2019.11.21","MultiRegionConsistency":"STRONG","Replicas":[{"RegionName":"us-east-1","ReplicaStatus":"ACTIVE"},{"RegionName":"us-east-2","ReplicaStatus":"ACTIVE"},{"RegionName":"us-west-2","ReplicaStatus":"ACTIVE"}]"#
);
/// A mode this SDK version does not know.
const GLOBAL_UNKNOWN: &str = described!(
    r#","GlobalTableVersion":"2019.11.21","MultiRegionConsistency":"SOMEDAY","Replicas":[{"RegionName":"eu-west-1","ReplicaStatus":"ACTIVE"}]"#
);
/// A replica still being created: the table is already global.
const GLOBAL_CREATING_REPLICA: &str =
    described!(r#","Replicas":[{"RegionName":"ap-south-1","ReplicaStatus":"CREATING"}]"#);
/// A global table version without a replica list.
const GLOBAL_VERSION_ONLY: &str = described!(r#","GlobalTableVersion":"2019.11.21""#);

async fn check_answer(
    answer: &'static str,
) -> Result<lease_dynamodb_sdk::table::TableCheck, TableCheckFailure> {
    check_table(&Canned::new(&[(200, answer)]).client(), &config()).await
}

fn regions(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

#[tokio::test]
async fn a_single_region_table_and_a_strongly_consistent_global_table_pass() {
    let check = check_answer(SINGLE_REGION).await.unwrap();
    assert_eq!(check.replication, ReplicationCheck::SingleRegion);
    assert_eq!(check.ttl, TtlCheck::NotNeeded);

    let check = check_answer(GLOBAL_STRONG).await.unwrap();
    assert_eq!(
        check.replication,
        ReplicationCheck::StronglyConsistentGlobal
    );
}

#[tokio::test]
async fn an_eventually_consistent_global_table_is_refused_with_what_to_do() {
    for (answer, expected_regions) in [
        (GLOBAL_DEFAULT, regions(&["eu-west-1", "us-east-1"])),
        (GLOBAL_EVENTUAL, regions(&["eu-west-1", "us-east-1"])),
        (GLOBAL_CREATING_REPLICA, regions(&["ap-south-1"])),
        (GLOBAL_VERSION_ONLY, regions(&[])),
    ] {
        let err = check_answer(answer).await.unwrap_err();
        let TableCheckFailure::Mismatch { table, error } = &err else {
            panic!("not a mismatch: {err:?}");
        };
        assert_eq!(table, "locks");
        assert_eq!(
            error,
            &TableCheckError::EventuallyConsistentGlobalTable {
                regions: expected_regions
            }
        );
        // The failure names the table; its source says why and what to do.
        let message = std::error::Error::source(&err).unwrap().to_string();
        for part in [
            "multi-Region eventual consistency",
            "both acquire the same lease",
            "single-Region table",
            "multi-Region strong consistency",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
    }
}

#[tokio::test]
async fn an_unknown_consistency_mode_is_judged_unsafe() {
    let err = check_answer(GLOBAL_UNKNOWN).await.unwrap_err();
    let TableCheckFailure::Mismatch { error, .. } = &err else {
        panic!("not a mismatch: {err:?}");
    };
    assert_eq!(
        error,
        &TableCheckError::UnknownGlobalTableConsistency {
            consistency: "SOMEDAY".into(),
            regions: regions(&["eu-west-1"]),
        }
    );
    let why = std::error::Error::source(&err).unwrap().to_string();
    assert!(why.contains("\"SOMEDAY\""), "{why}");
}

/// Replication is judged before anything else: a replicated table with the wrong keys is
/// reported for its replication, the one mismatch no lease request would ever reveal.
#[tokio::test]
async fn replication_is_judged_first() {
    let config = LeaseConfig::builder("locks")
        .key_attribute_names("id", "sk")
        .include_ttl(false)
        .build()
        .unwrap();
    let http = Canned::new(&[(200, GLOBAL_EVENTUAL)]);
    let err = check_table(&http.client(), &config).await.unwrap_err();
    assert!(
        matches!(
            err,
            TableCheckFailure::Mismatch {
                error: TableCheckError::EventuallyConsistentGlobalTable { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(http.sent().len(), 1);
}
