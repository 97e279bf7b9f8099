//! Lease tokens, injected.

use lease_core::LeaseToken;

/// A source of fresh lease tokens. Every acquire asks for one.
///
/// A token is a bearer secret: it must be unguessable and never reused.
pub trait TokenSource: Send + Sync {
    /// A fresh token.
    fn next_token(&self) -> LeaseToken;
}

/// UUIDv4 strings from the operating system's CSPRNG (122 random bits), the same format as
/// TableTheory's default token. The default token source.
#[derive(Clone, Copy, Debug, Default)]
pub struct UuidTokens;

impl TokenSource for UuidTokens {
    fn next_token(&self) -> LeaseToken {
        LeaseToken::new(uuid::Uuid::new_v4().to_string())
    }
}

/// Any `Fn() -> LeaseToken` is a token source (for tests: fixed or sequential tokens).
impl<F> TokenSource for F
where
    F: Fn() -> LeaseToken + Send + Sync,
{
    fn next_token(&self) -> LeaseToken {
        self()
    }
}
