//! Lease tokens for an in-memory table: unique in their store, without a system call each.

use std::sync::atomic::{AtomicU64, Ordering};

use lease::{LeaseToken, TokenSource};

/// The token source of a [`LeaseManager`](lease::LeaseManager) on a
/// [`MemoryStore`](crate::MemoryStore), unless the manager is given another
/// ([`MemoryStore`](crate::MemoryStore)'s [`Store::default_token_source`](lease::Store::default_token_source)).
///
/// Tokens have the format of the default `UuidTokens` (lower-case, hyphenated UUIDv4 strings)
/// and are **unique among the tokens of one store**: the store draws 122 random bits from the
/// operating system once, when it is created, and the n-th token is that number plus n times
/// a fixed odd constant, modulo 2¹²², laid out as a UUIDv4. That is one-to-one in n, so no two
/// tokens of one store are the same until 2⁶⁴ tokens have been handed out; tokens of two
/// stores collide with probability about 2⁻¹²² per pair.
///
/// Why not a kernel read per token, as `UuidTokens` does for a shared table: an in-memory
/// table lives in one process, so the only tokens that ever meet in it are this store's own.
/// A `fork` or a restored VM snapshot copies the store together with its table, and each copy
/// keeps handing out tokens only to its own copy of the table. Within one process the tokens
/// are not secret from other code anyway (it can read the table), so predictability does not
/// weaken anything; what matters, uniqueness, is guaranteed by construction.
#[derive(Debug)]
pub struct MemoryTokens {
    base: u128,
    next: AtomicU64,
}

/// 2¹²² − 1: the bits of a UUIDv4 that are not its version and variant.
const MASK: u128 = (1 << 122) - 1;

/// An odd constant (the 128-bit golden ratio): multiplying by it is one-to-one modulo 2¹²².
const STEP: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835;

impl MemoryTokens {
    /// A source whose 122 random bits come from the operating system's CSPRNG (one
    /// `getrandom` call).
    #[must_use]
    pub fn new() -> Self {
        Self::from_seed(uuid::Uuid::new_v4().as_u128())
    }

    /// A source starting from `seed` (only its low 122 bits are used): two sources with the
    /// same seed hand out the same tokens, so use this only for reproducible tests.
    #[must_use]
    pub fn from_seed(seed: u128) -> Self {
        Self {
            base: seed & MASK,
            next: AtomicU64::new(0),
        }
    }

    /// The `n`-th token's 128 bits: 122 bits of `base + n · STEP`, with the version (`4`) and
    /// variant (`10`) bits of a UUIDv4 put in between.
    fn bits(&self, n: u64) -> u128 {
        let x = self.base.wrapping_add(u128::from(n).wrapping_mul(STEP)) & MASK;
        let high = x >> 74; // 48 bits: time_low and time_mid
        let middle = (x >> 62) & 0xfff; // 12 bits after the version nibble
        let low = x & ((1 << 62) - 1); // 62 bits after the variant
        (high << 80) | (0x4 << 76) | (middle << 64) | (0b10 << 62) | low
    }
}

impl Default for MemoryTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenSource for MemoryTokens {
    fn next_token(&self) -> LeaseToken {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = uuid::Uuid::encode_buffer();
        LeaseToken::new(
            &*uuid::Uuid::from_u128(self.bits(n))
                .hyphenated()
                .encode_lower(&mut text),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_are_lower_case_hyphenated_v4_uuids() {
        let tokens = MemoryTokens::new();
        for _ in 0..100 {
            let token = tokens.next_token();
            let text = token.expose_secret();
            let parsed = uuid::Uuid::parse_str(text).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(text, parsed.hyphenated().to_string());
        }
    }

    #[test]
    fn tokens_of_one_source_are_distinct_even_from_an_all_ones_seed() {
        for seed in [0, u128::MAX, 1 << 121] {
            let tokens = MemoryTokens::from_seed(seed);
            let seen: HashSet<_> = (0..10_000).map(|_| tokens.next_token()).collect();
            assert_eq!(seen.len(), 10_000, "seed {seed:#x}");
        }
    }

    #[test]
    fn the_layout_is_one_to_one_on_the_122_bits() {
        // Every bit of x lands in a distinct position: x ↦ bits is injective.
        let tokens = MemoryTokens::from_seed(0);
        let layout = |x: u128| {
            let t = MemoryTokens {
                base: x,
                next: AtomicU64::new(0),
            };
            t.bits(0)
        };
        let mut positions = 0u128;
        for bit in 0..122 {
            let placed = layout(1 << bit) ^ layout(0);
            assert_eq!(placed.count_ones(), 1, "bit {bit}");
            assert_eq!(positions & placed, 0, "bit {bit} collides");
            positions |= placed;
        }
        assert_eq!(positions.count_ones(), 122);
        assert_eq!(tokens.bits(0), layout(0));
    }

    #[test]
    fn tokens_handed_out_concurrently_are_distinct() {
        let tokens = MemoryTokens::new();
        let all: Vec<LeaseToken> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| (0..5_000).map(|_| tokens.next_token()).collect::<Vec<_>>())
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
        use lease::Store;
        let store = crate::MemoryStore::new();
        let faulty = crate::FaultyStore::new(store.clone());
        let shared = std::sync::Arc::new(store.clone());
        let source = store.default_token_source();
        assert!(std::sync::Arc::ptr_eq(
            &source,
            &faulty.default_token_source()
        ));
        assert!(std::sync::Arc::ptr_eq(
            &source,
            &shared.default_token_source()
        ));
        assert!(!std::sync::Arc::ptr_eq(
            &source,
            &crate::MemoryStore::new().default_token_source()
        ));
    }

    #[test]
    fn two_stores_draw_different_seeds() {
        assert_ne!(MemoryTokens::new().base, MemoryTokens::new().base);
    }
}
