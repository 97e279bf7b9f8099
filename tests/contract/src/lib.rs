//! # One contract suite for every lease store
//!
//! The same cases run against every [`Backend`]: the in-memory store always, and the
//! DynamoDB SDK store against real DynamoDB-compatible servers (dynalite and moto) whose
//! endpoints `scripts/test.sh` starts and passes in `LEASE_DYNALITE_ENDPOINT` and
//! `LEASE_MOTO_ENDPOINT`. This is what proves that `lease-memory` behaves like the real thing.
//!
//! A store that lacks a capability (dynalite returns no old item on a failed condition) is not
//! skipped: the case states the capability ([`Capabilities`]) and checks the documented fallback.
//!
//! Each test binary under `tests/` instantiates every case with [`contract_tests!`], inside a
//! module named after the store, so a test run lists `memory::…`, `dynalite::…` and `moto::…`.

// A test-only crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend;
pub mod cases;
mod harness;
mod memory;
mod server;

pub use backend::{Backend, Capabilities};
pub use harness::{CountingStore, Env, TIME_BASE};
pub use memory::MemoryBackend;
pub use server::ServerBackend;

/// Instantiates every contract case as a `#[tokio::test]` for one backend expression.
#[macro_export]
macro_rules! contract_tests {
    ($backend:expr) => {
        $crate::contract_tests!(@cases $backend;
            acquire_free_key,
            acquire_by_partition_key_uses_lock_sort_key,
            acquire_held_key_is_held,
            held_error_reports_the_holder_or_says_unknown,
            try_acquire_always_reports_the_holder,
            expired_lease_is_taken_over,
            lease_is_held_until_its_last_second,
            reacquire_by_the_holder_is_held,
            refresh_extends_the_lease,
            refresh_after_expiry_is_not_owned,
            refresh_after_takeover_is_not_owned,
            refresh_can_shorten,
            release_marks_released_and_frees_the_key,
            release_by_non_owner_writes_nothing,
            release_after_takeover_keeps_the_new_holder,
            release_is_idempotent,
            updated_new_returns_only_the_set_attributes,
            updated_new_on_a_new_item_returns_the_set_attributes,
            all_new_returns_the_whole_item_after,
            all_old_returns_the_whole_item_before,
            none_returns_no_attributes,
            acquire_answer_is_the_set_lease_attributes,
            custom_attribute_names,
            hostile_attribute_name_is_only_a_name,
            ttl_on_writes_expiry_plus_buffer,
            ttl_off_writes_no_ttl,
            item_format_is_tabletheory_compatible,
            tabletheory_written_lease_is_respected,
            sub_second_duration_is_rounded_up,
            millisecond_expiry_unit,
            fencing_tokens_only_grow,
            inspect_reports_every_state,
            resent_acquire_is_recognised,
            resent_refresh_and_release_are_idempotent,
            malformed_item_is_reported,
            acquire_keeps_foreign_attributes,
            safe_deadline_accounts_for_clock_skew,
            guarded_commit_lands_only_while_held,
            invalid_input_sends_no_request,
            concurrent_acquire_has_one_winner,
            election_value_is_stored_and_read_back,
            election_value_attribute_can_be_renamed,
            lease_sets_are_all_or_nothing,
            lease_set_input_is_checked_before_any_request,
            a_semaphore_admits_at_most_n_holders,
            semaphore_input_is_checked_before_any_request,
        );
    };
    (@cases $backend:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::cases::$case(&$backend).await;
            }
        )+
    };
}
