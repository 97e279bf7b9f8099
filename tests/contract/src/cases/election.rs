//! Leader election: the proclaimed value is stored in the value attribute of the election's
//! item (sort key `LEADER`), read back by every reader, kept by the release, and named as
//! configured.

use lease::{GuardOptions, ReleaseOutcome, election::election_key, store::AttributeValue};

use super::secs;
use crate::backend::Backend;
use crate::harness::Env;

/// A campaign stores its value; another candidate is refused while it leads; every reader
/// sees the value and the fencing token; resigning leaves no leader and keeps the item's
/// fencing token.
pub async fn election_value_is_stored_and_read_back<B: Backend>(backend: &B) {
    let name = backend.name();
    let env = Env::new(backend, "election_value", |c| c).await;
    let (a, b) = (env.manager("a"), env.manager("b"));
    let leadership = a
        .campaign("jobs", "host-a:7000", secs(30), GuardOptions::default())
        .await
        .unwrap();
    let key = election_key("jobs");
    let item = env.raw_item(&key).await.unwrap();
    assert_eq!(
        item.get("lease_value"),
        Some(&AttributeValue::string("host-a:7000")),
        "{name}: {item:?}"
    );
    assert_eq!(
        item.get("sk"),
        Some(&AttributeValue::string("LEADER")),
        "{name}"
    );

    let err = b
        .campaign("jobs", "host-b:7000", secs(30), GuardOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_held(), "{name}: {err:?}");
    let leader = b.leader("jobs").await.unwrap().unwrap();
    assert_eq!(leader.value.as_deref(), Some("host-a:7000"), "{name}");
    assert_eq!(leader.fence, Some(leadership.fence()), "{name}");
    assert_eq!(
        b.inspect(key.clone()).await.unwrap().value.as_deref(),
        Some("host-a:7000"),
        "{name}"
    );

    assert_eq!(leadership.resign().await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(b.leader("jobs").await.unwrap(), None, "{name}");
    let next = b
        .campaign("jobs", "host-b:7000", secs(30), GuardOptions::default())
        .await
        .unwrap();
    assert!(next.fence() > leader.fence.unwrap(), "{name}");
    assert_eq!(
        b.leader("jobs").await.unwrap().unwrap().value.as_deref(),
        Some("host-b:7000"),
        "{name}"
    );
    drop(next);
}

/// The value attribute can be renamed, like every lease attribute.
pub async fn election_value_attribute_can_be_renamed<B: Backend>(backend: &B) {
    let name = backend.name();
    let env = Env::new(backend, "election_renamed", |c| {
        c.value_attribute_name("leader_addr")
    })
    .await;
    let leadership = env
        .manager("a")
        .campaign("jobs", "10.0.0.7", secs(30), GuardOptions::default())
        .await
        .unwrap();
    let item = env.raw_item(&election_key("jobs")).await.unwrap();
    assert_eq!(
        item.get("leader_addr"),
        Some(&AttributeValue::string("10.0.0.7")),
        "{name}: {item:?}"
    );
    assert!(!item.contains_key("lease_value"), "{name}");
    assert_eq!(
        env.manager("b")
            .leader("jobs")
            .await
            .unwrap()
            .unwrap()
            .value
            .as_deref(),
        Some("10.0.0.7"),
        "{name}"
    );
    assert_eq!(leadership.resign().await.unwrap(), ReleaseOutcome::Released);
}
