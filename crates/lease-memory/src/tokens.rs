//! Lease tokens for an in-memory table: unguessable, without a system call each.

use lease::{token::LeaseToken, token::TokenSource};
use rand::RngExt;

/// The default token source of a [`MemoryStore`](crate::MemoryStore)
/// ([`Store::default_token_source`](crate::store::Store::default_token_source)): UUIDv4 strings in
/// the format of `UuidTokens` (lower-case, hyphenated, 122 random bits), drawn from `rand`'s
/// thread-local CSPRNG (ChaCha12, seeded from the operating system and reseeded from it every
/// 64 KiB of output) instead of a `getrandom` system call per token.
///
/// Tokens stay unguessable, and two are the same with the same probability as two
/// `UuidTokens` (2⁻¹²² per pair). What a user-space generator loses is immunity to copies of
/// its state: a `fork`, or a VM snapshot restored twice, continues the same sequence in two
/// processes. That is why `UuidTokens` stays the default for tables shared between processes
/// (DynamoDB). An in-memory table is never shared: the copy of a process carries its own copy
/// of the table, and each copy's tokens only ever meet its own table.
///
/// Crate-private on purpose: there is no way to put these tokens on a store whose table other
/// processes can reach.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoryTokens;

impl TokenSource for MemoryTokens {
    fn next_token(&self) -> LeaseToken {
        let bits: [u8; 16] = rand::rng().random();
        let mut text = uuid::Uuid::encode_buffer();
        LeaseToken::new(
            &*uuid::Builder::from_random_bytes(bits)
                .into_uuid()
                .hyphenated()
                .encode_lower(&mut text),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use lease::store::Store;

    use super::*;
    use crate::{MemoryStore, fault::FaultyStore};

    #[test]
    fn tokens_are_lower_case_hyphenated_v4_uuids() {
        for _ in 0..100 {
            let token = MemoryTokens.next_token();
            let text = token.expose_secret();
            let parsed = uuid::Uuid::parse_str(text).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(text, parsed.hyphenated().to_string());
        }
    }

    #[test]
    fn tokens_handed_out_concurrently_are_distinct() {
        let all: Vec<LeaseToken> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..5_000)
                            .map(|_| MemoryTokens.next_token())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), 20_000);
    }

    #[test]
    fn a_store_and_its_wrappers_share_one_source() {
        let store = MemoryStore::new();
        let faulty = FaultyStore::new(store.clone());
        let shared = Arc::new(store.clone());
        let source = store.default_token_source().unwrap();
        assert!(Arc::ptr_eq(
            &source,
            &faulty.default_token_source().unwrap()
        ));
        assert!(Arc::ptr_eq(
            &source,
            &shared.default_token_source().unwrap()
        ));
        assert!(Arc::ptr_eq(
            &source,
            &<&MemoryStore as Store>::default_token_source(&&store).unwrap()
        ));
    }
}
