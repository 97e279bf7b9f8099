//! The library's names that a shell user cannot use: no message of `lease` may contain one.
//! Shared by the binary's unit tests (`src/exit.rs`) and the integration tests.

#![allow(unreachable_pub)]

/// Names of the library's items (and AWS operations) that a shell user cannot use.
pub const LIBRARY_NAMES: &[&str] = &[
    "lease_dynamodb_sdk",
    "::",
    "LeaseConfigBuilder",
    "include_ttl",
    "enable_ttl",
    "create_lock_table",
    "check_table",
    "with_request_timeout",
    "UpdateTimeToLive",
];

/// Fails if `message` names one of the [`LIBRARY_NAMES`].
pub fn assert_names_no_library_item(message: &str) {
    for library in LIBRARY_NAMES {
        assert!(!message.contains(library), "{library:?} in: {message}");
    }
}
