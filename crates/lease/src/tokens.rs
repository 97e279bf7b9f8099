//! Lease tokens, injected: [`UuidTokens`], the default [`TokenSource`] of a table shared
//! between processes. (The trait is lease-core's.)

use lease_core::{LeaseToken, TokenSource};

/// UUIDv4 strings from the operating system's CSPRNG (122 random bits), the same format as
/// TableTheory's default token (lower-case, hyphenated). The default token source of every
/// store whose table can be shared between processes (DynamoDB); see
/// [`Store::default_token_source`](crate::store::Store::default_token_source).
///
/// Every token is read from the kernel (one `getrandom` call), never from a user-space
/// generator: a generator's state is copied by `fork` and by a VM snapshot restored more than
/// once, and two processes handing out the same token would both pass the `#tok = :tok`
/// conditions, that is, both hold the lease. docs/performance.md, in the source repository,
/// measures what this costs.
#[derive(Clone, Copy, Debug, Default)]
#[expect(
    clippy::exhaustive_structs,
    reason = "a unit struct: `UuidTokens` is how it is made"
)]
pub struct UuidTokens;

impl TokenSource for UuidTokens {
    fn next_token(&self) -> LeaseToken {
        let mut text = uuid::Uuid::encode_buffer();
        LeaseToken::new(
            uuid::Uuid::new_v4()
                .hyphenated()
                .encode_lower(&mut text)
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_tokens_are_fresh_lower_case_hyphenated_v4_uuids() {
        let a = UuidTokens.next_token();
        let b = UuidTokens.next_token();
        assert_ne!(a, b);
        for token in [&a, &b] {
            let text = token.expose_secret();
            let parsed = uuid::Uuid::parse_str(text).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(text, parsed.hyphenated().to_string(), "canonical text form");
            assert_eq!(text, text.to_lowercase());
        }
    }
}
