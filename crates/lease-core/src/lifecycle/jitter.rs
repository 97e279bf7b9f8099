//! [`Jitter`]: the random fractions that spread waiters out, from a seed.

/// A deterministic source of fractions in `[0, 1)`, from a 64-bit seed: SplitMix64 (Steele,
/// Lea and Flood, 2014), whose every seed gives a well-spread sequence. lease-core draws no
/// randomness: the seed comes from the caller (the `lease` crate draws it from the operating
/// system unless the wait policy fixes one), so a seed always gives the same delays.
///
/// It spreads poll times; it is not for secrets (tokens never come from here).
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    /// The sequence of `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next fraction in `[0, 1)`, with 53 random bits.
    pub(crate) fn fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, scaled to [0, 1): exact in an f64.
        #[expect(
            clippy::cast_precision_loss,
            reason = "53 bits fit an f64's mantissa exactly"
        )]
        let top = (z >> 11) as f64;
        top * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64's reference outputs (Vigna's test vectors: seed 1234567 gives
    /// 6457827717110365317, 3203168211198807973, 9817491932198370423; seed 0 gives
    /// 0xE220A8397B1DCDAF), as fractions of their top 53 bits.
    #[test]
    fn the_sequence_is_splitmix64() {
        #[expect(clippy::cast_precision_loss, reason = "53 bits fit exactly")]
        let fraction = |x: u64| (x >> 11) as f64 / (1u64 << 53) as f64;
        let mut j = Jitter::new(1_234_567);
        for expected in [
            6_457_827_717_110_365_317_u64,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
        ] {
            assert_eq!(j.fraction().to_bits(), fraction(expected).to_bits());
        }
        assert_eq!(
            Jitter::new(0).fraction().to_bits(),
            fraction(0xE220_A839_7B1D_CDAF).to_bits()
        );
    }

    #[test]
    fn fractions_are_in_range_spread_and_reproducible() {
        let mut a = Jitter::new(7);
        let mut b = Jitter::new(7);
        let draws: Vec<f64> = (0..10_000).map(|_| a.fraction()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        let below_tenth = draws.iter().filter(|f| **f < 0.1).count();
        assert!(
            (800..1200).contains(&below_tenth),
            "{below_tenth} below 0.1"
        );
        assert!(
            draws.iter().all(|f| *f == b.fraction()),
            "same seed, same sequence"
        );
        assert_ne!(Jitter::new(8).fraction(), Jitter::new(7).fraction());
    }
}
