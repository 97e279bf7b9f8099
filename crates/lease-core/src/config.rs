//! Lease configuration: table, attribute names, lock sort key, TTL.

use std::time::Duration;

use crate::error::ConfigError;
use crate::key::LeaseKey;
use crate::text::Text;
use crate::wire_time::ExpiryUnit;

/// Defaults, identical to TableTheory's `lease` package so that Go, TypeScript, Python and Rust
/// services can share one lock table.
pub mod defaults {
    use std::time::Duration;

    /// Partition key attribute name: `pk`.
    pub const PARTITION_KEY_ATTRIBUTE: &str = "pk";
    /// Sort key attribute name: `sk`.
    pub const SORT_KEY_ATTRIBUTE: &str = "sk";
    /// Token attribute name: `lease_token` (DynamoDB `S`).
    pub const TOKEN_ATTRIBUTE: &str = "lease_token";
    /// Expiry attribute name: `lease_expires_at` (DynamoDB `N`, whole epoch seconds).
    pub const EXPIRES_AT_ATTRIBUTE: &str = "lease_expires_at";
    /// TTL attribute name: `ttl` (DynamoDB `N`, whole epoch seconds).
    pub const TTL_ATTRIBUTE: &str = "ttl";
    /// Sort key value used when a lease is taken by partition key only: `LOCK`.
    pub const LOCK_SORT_KEY: &str = "LOCK";
    /// Time added to a lease's expiry to get its TTL attribute: one hour.
    pub const TTL_BUFFER: Duration = Duration::from_secs(3600);
    /// Fencing token attribute name: `lease_fence` (DynamoDB `N`). Not part of TableTheory's
    /// format; its code ignores the attribute.
    pub const FENCE_ATTRIBUTE: &str = "lease_fence";
    /// Attribute name of the value a lease's holder proclaims (leader election: the leader's
    /// name or address): `lease_value` (DynamoDB `S`). Written only by campaigns; not part of
    /// TableTheory's format, whose code ignores it.
    pub const VALUE_ATTRIBUTE: &str = "lease_value";
    /// The largest clock difference assumed between any two hosts using a table: one second.
    ///
    /// Hosts synchronised by NTP or chrony (or the Amazon Time Sync Service) agree within
    /// milliseconds; one second also covers a badly synchronised host while keeping the usual
    /// 5 to 60 second leases usable. A holder stops work this long before its lease expires
    /// ([`Lease::valid_until`](crate::Lease::valid_until)), and a lease must be longer than it.
    pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(1);
}

/// The longest attribute name accepted, in UTF-8 bytes: DynamoDB's limit for key attributes,
/// applied to every lease attribute for simplicity.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 255;

/// The largest clock skew bound accepted: one hour.
pub const MAX_CLOCK_SKEW_BOUND: Duration = Duration::from_secs(3600);

/// The largest TTL buffer accepted: 10 years. The TTL attribute is only for garbage collection;
/// a longer buffer is almost certainly a unit mistake (milliseconds passed as seconds).
pub const MAX_TTL_BUFFER: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// The shortest TTL buffer accepted, in multiples of the clock skew bound: 3.
///
/// After DynamoDB's TTL deletes an item, the next acquisition restarts its fencing token from
/// the acquirer's clock (epoch milliseconds). That token is above every earlier one if the
/// deletion comes more than the clock differences involved after the last acquisition: the
/// clocks of the last acquirer, of the writer of the TTL attribute (the last refresh or the
/// release) and of the next acquirer, each within the skew bound of DynamoDB's, plus the time a
/// request can be in flight (docs/correctness.md in the source repository, "Fencing restart"). The TTL attribute is the
/// expiry (or the release time) plus the buffer, so the buffer must cover three skew bounds; the
/// flight is the deployment's to add (the default buffer, one hour, covers any).
pub const TTL_BUFFER_SKEW_FACTOR: u32 = 3;

/// A validated lease configuration. Build one with [`LeaseConfig::builder`].
///
/// Every option of TableTheory's Go `lease.NewManager` has a counterpart here but
/// `WithValidateInput(false)`: input is always checked, so an empty key or token, or a lease
/// too short to be used, is refused before any request instead of being written. The clock and
/// the token generator are not part of the configuration (the core takes time and tokens as
/// parameters; the manager in the `lease` crate injects them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    table_name: String,
    partition_key_attribute: String,
    sort_key_attribute: String,
    token_attribute: String,
    expires_at_attribute: String,
    ttl_attribute: String,
    fence_attribute: String,
    value_attribute: String,
    lock_sort_key: String,
    ttl_buffer: Duration,
    include_ttl: bool,
    expiry_unit: ExpiryUnit,
    max_clock_skew: Duration,
}

impl LeaseConfig {
    /// A builder for the given table, with every other option at its default (see [`defaults`]).
    pub fn builder(table_name: impl Into<String>) -> LeaseConfigBuilder {
        LeaseConfigBuilder {
            config: Self {
                table_name: table_name.into(),
                partition_key_attribute: defaults::PARTITION_KEY_ATTRIBUTE.into(),
                sort_key_attribute: defaults::SORT_KEY_ATTRIBUTE.into(),
                token_attribute: defaults::TOKEN_ATTRIBUTE.into(),
                expires_at_attribute: defaults::EXPIRES_AT_ATTRIBUTE.into(),
                ttl_attribute: defaults::TTL_ATTRIBUTE.into(),
                fence_attribute: defaults::FENCE_ATTRIBUTE.into(),
                value_attribute: defaults::VALUE_ATTRIBUTE.into(),
                lock_sort_key: defaults::LOCK_SORT_KEY.into(),
                ttl_buffer: defaults::TTL_BUFFER,
                include_ttl: true,
                expiry_unit: ExpiryUnit::Seconds,
                max_clock_skew: defaults::MAX_CLOCK_SKEW,
            },
        }
    }

    /// The table name.
    #[must_use]
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// The partition key attribute name (default `pk`).
    #[must_use]
    pub fn partition_key_attribute(&self) -> &str {
        &self.partition_key_attribute
    }

    /// The sort key attribute name (default `sk`).
    #[must_use]
    pub fn sort_key_attribute(&self) -> &str {
        &self.sort_key_attribute
    }

    /// The token attribute name (default `lease_token`).
    #[must_use]
    pub fn token_attribute(&self) -> &str {
        &self.token_attribute
    }

    /// The expiry attribute name (default `lease_expires_at`).
    #[must_use]
    pub fn expires_at_attribute(&self) -> &str {
        &self.expires_at_attribute
    }

    /// The TTL attribute name (default `ttl`).
    #[must_use]
    pub fn ttl_attribute(&self) -> &str {
        &self.ttl_attribute
    }

    /// The fencing token attribute name (default `lease_fence`).
    #[must_use]
    pub fn fence_attribute(&self) -> &str {
        &self.fence_attribute
    }

    /// The attribute name of the value a holder proclaims (default `lease_value`; leader
    /// election).
    #[must_use]
    pub fn value_attribute(&self) -> &str {
        &self.value_attribute
    }

    /// The unit of the stored expiry (default whole epoch seconds, TableTheory's).
    #[must_use]
    pub fn expiry_unit(&self) -> ExpiryUnit {
        self.expiry_unit
    }

    /// The largest clock difference assumed between hosts (default one second, see
    /// [`defaults::MAX_CLOCK_SKEW`]).
    #[must_use]
    pub fn max_clock_skew(&self) -> Duration {
        self.max_clock_skew
    }

    /// The sort key value for leases taken by partition key only (default `LOCK`).
    #[must_use]
    pub fn lock_sort_key(&self) -> &str {
        &self.lock_sort_key
    }

    /// `key` as a lease and every error name it: with this configuration's
    /// [lock sort key](Self::lock_sort_key) filled in if it has no sort key of its own
    /// ([`LeaseKey::lock`], or a partition key given as `"CACHE#A"`). Every operation does
    /// this to the key it is given; call it to compare a key of yours with one the library
    /// hands back (see [`LeaseKey`], "Equality"), or to name the key as the library will.
    ///
    /// ```
    /// # use lease_core::{LeaseConfig, LeaseKey};
    /// let config = LeaseConfig::builder("locks").lock_sort_key("MUTEX").build()?;
    /// assert_eq!(config.resolve_key("job"), LeaseKey::new("job", "MUTEX"));
    /// assert_eq!(config.resolve_key(LeaseKey::new("job", "S")), LeaseKey::new("job", "S"));
    /// # Ok::<(), lease_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn resolve_key(&self, key: impl Into<LeaseKey>) -> LeaseKey {
        key.into()
            .resolved(&Text::from(self.lock_sort_key.as_str()))
    }

    /// Time added to the expiry to get the TTL attribute (default one hour). Stored rounded up to
    /// whole seconds. Never zero; unused when the configuration [writes no TTL](Self::writes_ttl).
    #[must_use]
    pub fn ttl_buffer(&self) -> Duration {
        self.ttl_buffer
    }

    /// Whether acquire, refresh and release write the TTL attribute (default `true`; off with
    /// [`LeaseConfigBuilder::include_ttl`]`(false)`, when every write removes it instead).
    #[must_use]
    pub fn writes_ttl(&self) -> bool {
        self.include_ttl
    }
}

/// Builder for [`LeaseConfig`]. Setters take and return the builder; [`build`](Self::build)
/// checks everything at once.
#[derive(Clone, Debug)]
#[must_use]
pub struct LeaseConfigBuilder {
    config: LeaseConfig,
}

impl LeaseConfigBuilder {
    /// Renames the key attributes (default `pk` and `sk`). Compatible with TableTheory's
    /// `WithKeyAttributeNames`, except that an empty name is an error instead of being ignored.
    pub fn key_attribute_names(
        mut self,
        partition: impl Into<String>,
        sort: impl Into<String>,
    ) -> Self {
        self.config.partition_key_attribute = partition.into();
        self.config.sort_key_attribute = sort.into();
        self
    }

    /// Renames the lease attributes (default `lease_token`, `lease_expires_at`, `ttl`).
    /// Compatible with TableTheory's `WithLeaseAttributeNames`, except that an empty name is an
    /// error instead of being ignored. To stop writing TTL, use [`include_ttl`](Self::include_ttl)`(false)`.
    pub fn lease_attribute_names(
        mut self,
        token: impl Into<String>,
        expires_at: impl Into<String>,
        ttl: impl Into<String>,
    ) -> Self {
        self.config.token_attribute = token.into();
        self.config.expires_at_attribute = expires_at.into();
        self.config.ttl_attribute = ttl.into();
        self
    }

    /// Renames the fencing token attribute (default `lease_fence`).
    pub fn fence_attribute_name(mut self, name: impl Into<String>) -> Self {
        self.config.fence_attribute = name.into();
        self
    }

    /// Renames the attribute of the value a holder proclaims (default `lease_value`: a
    /// leader's name or address, written by campaigns).
    pub fn value_attribute_name(mut self, name: impl Into<String>) -> Self {
        self.config.value_attribute = name.into();
        self
    }

    /// The unit of the stored expiry (default [`ExpiryUnit::Seconds`], TableTheory's).
    /// [`ExpiryUnit::Milliseconds`] allows sub-second leases but is not readable by
    /// TableTheory's code.
    pub fn expiry_unit(mut self, unit: ExpiryUnit) -> Self {
        self.config.expiry_unit = unit;
        self
    }

    /// The largest clock difference assumed between any two hosts using the table (default
    /// one second). Leases must be longer than it; holders stop work this long before expiry.
    /// More than [`MAX_CLOCK_SKEW_BOUND`] is an error.
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.config.max_clock_skew = skew;
        self
    }

    /// The sort key value for leases taken by partition key only (default `LOCK`).
    pub fn lock_sort_key(mut self, sort: impl Into<String>) -> Self {
        self.config.lock_sort_key = sort.into();
        self
    }

    /// Time added to the expiry for the TTL attribute (default one hour), rounded up to whole
    /// seconds when written. Zero is an error ([`ConfigError::ZeroTtlBuffer`]): TTL is turned
    /// off one way, with [`include_ttl`](Self::include_ttl)`(false)` (TableTheory's
    /// `WithTTLBuffer(0)` turns it off too). More than [`MAX_TTL_BUFFER`], or less than
    /// [`TTL_BUFFER_SKEW_FACTOR`] times the clock skew bound (when TTL is written), is an error
    /// as well.
    pub fn ttl_buffer(mut self, buffer: Duration) -> Self {
        self.config.ttl_buffer = buffer;
        self
    }

    /// Whether to write the TTL attribute at all (default `true`). Off, acquire, refresh and
    /// release remove the attribute, so that a TTL another writer left cannot delete a live
    /// lease; this is the one way to turn TTL off (a zero [`ttl_buffer`](Self::ttl_buffer) is
    /// refused).
    pub fn include_ttl(mut self, include: bool) -> Self {
        self.config.include_ttl = include;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`ConfigError`] if the table name is not a valid DynamoDB table name (3 to 255 characters
    /// of `a-z A-Z 0-9 _ - .`), an attribute name is empty or over 255 bytes, two attributes
    /// share a name, the lock sort key is empty or over 1024 bytes, the clock skew bound
    /// exceeds [`MAX_CLOCK_SKEW_BOUND`], the TTL buffer is zero or exceeds [`MAX_TTL_BUFFER`],
    /// or TTL is written with a buffer (rounded up to whole seconds) below
    /// [`TTL_BUFFER_SKEW_FACTOR`] times the clock skew bound.
    pub fn build(self) -> Result<LeaseConfig, ConfigError> {
        let c = self.config;
        check_table_name(&c.table_name)?;
        let attributes = [
            ("partition key", &c.partition_key_attribute),
            ("sort key", &c.sort_key_attribute),
            ("token", &c.token_attribute),
            ("expires-at", &c.expires_at_attribute),
            ("ttl", &c.ttl_attribute),
            ("fence", &c.fence_attribute),
            ("value", &c.value_attribute),
        ];
        for (i, (role, name)) in attributes.iter().enumerate() {
            if name.is_empty() {
                return Err(ConfigError::EmptyAttributeName { role });
            }
            if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
                return Err(ConfigError::AttributeNameTooLong {
                    role,
                    len: name.len(),
                });
            }
            for (other_role, other) in &attributes[..i] {
                if other == name {
                    return Err(ConfigError::DuplicateAttributeName {
                        name: (*name).clone(),
                        first: other_role,
                        second: role,
                    });
                }
            }
        }
        if c.lock_sort_key.is_empty() {
            return Err(ConfigError::EmptyLockSortKey);
        }
        if c.lock_sort_key == crate::election::ELECTION_SORT_KEY {
            return Err(ConfigError::ReservedLockSortKey);
        }
        if c.lock_sort_key.len() > crate::validate::MAX_SORT_KEY_BYTES {
            return Err(ConfigError::LockSortKeyTooLong {
                len: c.lock_sort_key.len(),
            });
        }
        if c.max_clock_skew > MAX_CLOCK_SKEW_BOUND {
            return Err(ConfigError::ClockSkewTooLarge {
                skew: c.max_clock_skew,
            });
        }
        if c.ttl_buffer.is_zero() {
            return Err(ConfigError::ZeroTtlBuffer);
        }
        if c.ttl_buffer > MAX_TTL_BUFFER {
            return Err(ConfigError::TtlBufferTooLong {
                buffer: c.ttl_buffer,
            });
        }
        let minimum = c.max_clock_skew * TTL_BUFFER_SKEW_FACTOR;
        let written = Duration::from_secs(crate::wire_time::seconds_ceil(c.ttl_buffer));
        if c.writes_ttl() && written < minimum {
            return Err(ConfigError::TtlBufferTooShort {
                buffer: c.ttl_buffer,
                minimum,
            });
        }
        Ok(c)
    }
}

fn check_table_name(name: &str) -> Result<(), ConfigError> {
    let valid_chars = name
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'));
    if (3..=255).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(ConfigError::InvalidTableName { name: name.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_tabletheory() {
        let c = LeaseConfig::builder("tbl").build().unwrap();
        assert_eq!(c.partition_key_attribute(), "pk");
        assert_eq!(c.sort_key_attribute(), "sk");
        assert_eq!(c.token_attribute(), "lease_token");
        assert_eq!(c.expires_at_attribute(), "lease_expires_at");
        assert_eq!(c.ttl_attribute(), "ttl");
        assert_eq!(c.lock_sort_key(), "LOCK");
        assert_eq!(c.ttl_buffer(), Duration::from_secs(3600));
        assert!(c.writes_ttl());
        // Not TableTheory's (it has none), but its code ignores the attribute.
        assert_eq!(c.fence_attribute(), "lease_fence");
        assert_eq!(c.expiry_unit(), ExpiryUnit::Seconds);
        assert_eq!(c.max_clock_skew(), Duration::from_secs(1));
    }

    #[test]
    fn the_fence_attribute_is_checked_like_the_others() {
        let err = |b: LeaseConfigBuilder| b.build().unwrap_err();
        assert_eq!(
            err(LeaseConfig::builder("tbl").fence_attribute_name("")),
            ConfigError::EmptyAttributeName { role: "fence" }
        );
        assert_eq!(
            err(LeaseConfig::builder("tbl").fence_attribute_name("lease_token")),
            ConfigError::DuplicateAttributeName {
                name: "lease_token".into(),
                first: "token",
                second: "fence",
            }
        );
        assert_eq!(
            err(LeaseConfig::builder("tbl").fence_attribute_name("ttl")),
            ConfigError::DuplicateAttributeName {
                name: "ttl".into(),
                first: "ttl",
                second: "fence",
            }
        );
        assert_eq!(
            err(LeaseConfig::builder("tbl").fence_attribute_name("f".repeat(256))),
            ConfigError::AttributeNameTooLong {
                role: "fence",
                len: 256
            }
        );
        let renamed = LeaseConfig::builder("tbl")
            .fence_attribute_name("f".repeat(255))
            .build()
            .unwrap();
        assert_eq!(renamed.fence_attribute(), "f".repeat(255));
    }

    #[test]
    fn the_clock_skew_bound_is_at_most_one_hour() {
        // (A one-hour bound needs a TTL buffer of three hours, or TTL off.)
        let at_bound = LeaseConfig::builder("tbl")
            .max_clock_skew(MAX_CLOCK_SKEW_BOUND)
            .ttl_buffer(MAX_CLOCK_SKEW_BOUND * 3)
            .build()
            .unwrap();
        assert_eq!(at_bound.max_clock_skew(), Duration::from_secs(3600));
        let over = MAX_CLOCK_SKEW_BOUND + Duration::from_nanos(1);
        assert_eq!(
            LeaseConfig::builder("tbl")
                .max_clock_skew(over)
                .build()
                .unwrap_err(),
            ConfigError::ClockSkewTooLarge { skew: over }
        );
        let zero = LeaseConfig::builder("tbl")
            .max_clock_skew(Duration::ZERO)
            .build()
            .unwrap();
        assert_eq!(zero.max_clock_skew(), Duration::ZERO);
    }

    #[test]
    fn bad_configurations_are_rejected_with_the_reason() {
        let err = |b: LeaseConfigBuilder| b.build().unwrap_err();
        assert!(matches!(
            err(LeaseConfig::builder("")),
            ConfigError::InvalidTableName { .. }
        ));
        assert!(matches!(
            err(LeaseConfig::builder("a b c")),
            ConfigError::InvalidTableName { .. }
        ));
        assert!(matches!(
            err(LeaseConfig::builder("tbl").key_attribute_names("", "sk")),
            ConfigError::EmptyAttributeName {
                role: "partition key"
            }
        ));
        assert!(matches!(
            err(LeaseConfig::builder("tbl").lease_attribute_names("pk", "e", "t")),
            ConfigError::DuplicateAttributeName {
                first: "partition key",
                second: "token",
                ..
            }
        ));
        assert!(matches!(
            err(LeaseConfig::builder("tbl").lease_attribute_names("x".repeat(256), "e", "t")),
            ConfigError::AttributeNameTooLong {
                role: "token",
                len: 256
            }
        ));
        assert!(matches!(
            err(LeaseConfig::builder("tbl").lock_sort_key("")),
            ConfigError::EmptyLockSortKey
        ));
        assert!(matches!(
            err(LeaseConfig::builder("tbl").ttl_buffer(MAX_TTL_BUFFER + Duration::from_secs(1))),
            ConfigError::TtlBufferTooLong { .. }
        ));
    }

    /// A TTL buffer below three skew bounds (as written: rounded up to whole seconds) could let
    /// a fencing token go down after a TTL deletion; off (zero, or TTL not written) is fine.
    #[test]
    fn a_ttl_buffer_below_three_skew_bounds_is_rejected() {
        let skew = |ms: u64| Duration::from_millis(ms);
        let build = |buffer: Duration, skew: Duration| {
            LeaseConfig::builder("tbl")
                .ttl_buffer(buffer)
                .max_clock_skew(skew)
                .build()
        };
        assert_eq!(
            build(skew(2_999), skew(1_000)).map(|c| c.ttl_buffer()),
            Ok(skew(2_999)),
            "2.999 s is written as 3 s"
        );
        assert_eq!(
            build(skew(2_000), skew(1_000)).unwrap_err(),
            ConfigError::TtlBufferTooShort {
                buffer: skew(2_000),
                minimum: skew(3_000)
            }
        );
        assert!(build(skew(1_000), skew(333)).is_ok());
        assert!(build(skew(1_000), skew(334)).is_err());
        assert!(
            LeaseConfig::builder("tbl")
                .ttl_buffer(skew(1))
                .include_ttl(false)
                .build()
                .is_ok(),
            "TTL not written"
        );
    }

    /// TTL is turned off one way: `include_ttl(false)`. A zero buffer is refused, with a
    /// message that names the way, with TTL written or not.
    #[test]
    fn ttl_is_off_with_the_flag_and_a_zero_buffer_is_refused() {
        assert!(
            !LeaseConfig::builder("tbl")
                .include_ttl(false)
                .build()
                .unwrap()
                .writes_ttl()
        );
        for include in [true, false] {
            let err = LeaseConfig::builder("tbl")
                .ttl_buffer(Duration::ZERO)
                .include_ttl(include)
                .build()
                .unwrap_err();
            assert_eq!(err, ConfigError::ZeroTtlBuffer);
            assert!(err.to_string().contains("include_ttl(false)"), "{err}");
        }
        let smallest = LeaseConfig::builder("tbl")
            .max_clock_skew(Duration::ZERO)
            .ttl_buffer(Duration::from_nanos(1))
            .build()
            .unwrap();
        assert!(smallest.writes_ttl());
    }
}
