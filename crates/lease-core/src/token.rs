//! The bearer token that proves ownership of a lease.

use std::fmt;

use crate::text::Text;

/// The random owner token written into a lease item (`lease_token`, DynamoDB `S`).
///
/// Whoever knows a lease's token can refresh and release it, so the token is a secret: `Debug`
/// and `Display` never print it, only a short [fingerprint](Self::fingerprint). The core never
/// makes tokens (it has no randomness); the manager generates them (a UUIDv4 string by default,
/// as TableTheory's Go, TypeScript and Python ports do).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken(Text);

impl LeaseToken {
    /// Wraps a token string. An empty token is rejected when a request is planned
    /// ([`InvalidInput::EmptyToken`](crate::InvalidInput::EmptyToken)).
    #[must_use]
    pub fn new(token: impl Into<Text>) -> Self {
        Self(token.into())
    }

    /// The token itself: the secret that is written to and compared with the item.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The token's text as a [`Text`], for a request's value.
    pub(crate) fn value(&self) -> &Text {
        &self.0
    }

    /// A short, stable, non-secret fingerprint of the token for logs and diagnostics: the first
    /// 8 hex digits of its 64-bit FNV-1a hash. Equal tokens have equal fingerprints; the token
    /// cannot be recovered from it.
    #[must_use]
    pub fn fingerprint(&self) -> TokenFingerprint {
        TokenFingerprint::of(&self.0)
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseToken({})", self.fingerprint())
    }
}

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fingerprint(), f)
    }
}

/// A non-secret fingerprint of a [`LeaseToken`]: 32 bits of the token's FNV-1a hash, shown as 8
/// hex digits prefixed with `tok:`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenFingerprint(u32);

impl TokenFingerprint {
    /// The fingerprint of a token string as stored in an item.
    #[must_use]
    pub fn of(token: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in token.as_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self((hash >> 32) as u32)
    }
}

impl fmt::Debug for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tok:{:08x}", self.0)
    }
}

/// A source of fresh lease tokens. Every acquire (every attempt of a waiting acquire) asks for
/// one.
///
/// A token is the holder's identity and a bearer secret: it must never be handed out twice
/// for a table, and, where the table is shared with other processes, it must be unguessable.
/// lease-core only declares the source; the `lease` crate's `UuidTokens` reads the operating
/// system's CSPRNG, and a store may offer a cheaper one for a table that never leaves its
/// process. Tests use fixed or counted tokens: any `Fn() -> LeaseToken` is a source.
pub trait TokenSource: Send + Sync {
    /// A fresh token.
    fn next_token(&self) -> LeaseToken;
}

/// Shows nothing of the source (it may hold secrets).
impl fmt::Debug for dyn TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSource")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_token() {
        let token = LeaseToken::new("super-secret-token-value");
        let shown = format!("{token:?} {token} {:?}", Some(&token));
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("tok:"), "{shown}");
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_tokens() {
        assert_eq!(
            LeaseToken::new("a").fingerprint(),
            LeaseToken::new("a").fingerprint()
        );
        assert_ne!(
            LeaseToken::new("a").fingerprint(),
            LeaseToken::new("b").fingerprint()
        );
    }
}
