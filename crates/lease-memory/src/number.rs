//! DynamoDB numbers (`N`): validation, canonical form, exact comparison and addition.
//!
//! DynamoDB numbers are decimals of at most 38 significant digits, with a magnitude between
//! 1E-130 and 9.99…E+125 (or zero). They compare and add exactly, never through floating point:
//! `"2" = "2.00"`, and two 38-digit values that differ in the last digit are different. DynamoDB
//! stores numbers in a canonical form (no exponent, no leading zeros, no trailing fractional
//! zeros), so `"1.50"` is read back as `"1.5"`; dynalite does the same.
//!
//! Plain integers that fit an `i64` (every number the lease protocol writes) take a fast path
//! with no allocation; anything else goes through [`BigDecimal`].

use std::borrow::Cow;
use std::cmp::Ordering;
use std::str::FromStr;

use bigdecimal::{BigDecimal, Zero};
use lease_core::Text;

/// Most significant digits in a DynamoDB number.
const MAX_DIGITS: u64 = 38;
/// Largest decimal exponent of the most significant digit.
const MAX_EXPONENT: i128 = 125;
/// Smallest decimal exponent of the most significant digit.
const MIN_EXPONENT: i128 = -130;

/// Why a string is not a DynamoDB number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NumberError {
    /// Not decimal number syntax.
    #[error("the value cannot be converted to a numeric value")]
    NotANumber,
    /// Magnitude above 9.99…E+125.
    #[error("number overflow: magnitude larger than the supported range")]
    Overflow,
    /// Non-zero magnitude below 1E-130.
    #[error("number underflow: magnitude smaller than the supported range")]
    Underflow,
    /// More than 38 significant digits.
    #[error("more than 38 significant digits in a number")]
    TooManyDigits,
}

/// Parses `s` as a DynamoDB number: optional sign, digits with an optional decimal point, an
/// optional exponent; within DynamoDB's precision and range.
pub(crate) fn parse(s: &str) -> Result<BigDecimal, NumberError> {
    if !is_number_syntax(s) {
        return Err(NumberError::NotANumber);
    }
    let value = BigDecimal::from_str(s).map_err(|_| NumberError::NotANumber)?;
    check_range(&value)?;
    Ok(value)
}

/// Checks that `s` is a number DynamoDB accepts, without allocating for plain integers.
pub(crate) fn check(s: &str) -> Result<(), NumberError> {
    if s.parse::<i64>().is_ok() {
        return Ok(());
    }
    parse(s).map(drop)
}

/// The canonical form of the number `s`, as DynamoDB stores it. Borrowed when `s` already is
/// canonical (every plain integer without leading zeros).
///
/// # Errors
/// [`NumberError`] if `s` is not a number DynamoDB accepts.
pub(crate) fn canonical(s: &str) -> Result<Cow<'_, str>, NumberError> {
    if is_canonical_integer(s) {
        return Ok(Cow::Borrowed(s));
    }
    parse(s).map(|value| Cow::Owned(to_canonical_string(&value)))
}

/// Compares two numbers exactly. `None` if either is not a valid number (possible only for
/// items seeded with `put_item_unconditionally`).
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
        return Some(x.cmp(&y));
    }
    let (x, y) = (parse(a).ok()?, parse(b).ok()?);
    Some(x.cmp(&y))
}

/// `a + b`, exactly, in canonical form.
///
/// # Errors
/// [`NumberError`] if an operand is not a number or the sum is out of DynamoDB's range or
/// precision.
pub(crate) fn add(a: &str, b: &str) -> Result<Text, NumberError> {
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>())
        && let Some(sum) = x.checked_add(y)
    {
        // Inline (an i64 has at most 20 characters): no allocation.
        return Ok(Text::new(itoa::Buffer::new().format(sum)));
    }
    let sum = parse(a)? + parse(b)?;
    check_range(&sum)?;
    Ok(to_canonical_string(&sum).into())
}

fn check_range(value: &BigDecimal) -> Result<(), NumberError> {
    if value.is_zero() {
        return Ok(());
    }
    // The exponent of the most significant digit (`BigDecimal::order_of_magnitude`, computed
    // without its i64 overflow on extreme exponents such as `1e9223372036854775807`).
    let magnitude = i128::from(value.digits()) - i128::from(value.fractional_digit_count()) - 1;
    if magnitude > MAX_EXPONENT {
        Err(NumberError::Overflow)
    } else if magnitude < MIN_EXPONENT {
        Err(NumberError::Underflow)
    } else if value.normalized().digits() > MAX_DIGITS {
        Err(NumberError::TooManyDigits)
    } else {
        Ok(())
    }
}

/// Plain notation without trailing fractional zeros. Only called on range-checked values, so
/// the string is at most a few hundred characters.
fn to_canonical_string(value: &BigDecimal) -> String {
    if value.is_zero() {
        "0".to_owned()
    } else {
        value.normalized().to_plain_string()
    }
}

/// `-?[1-9][0-9]*` of at most 38 digits, or `0`.
fn is_canonical_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s).as_bytes();
    if digits == b"0" {
        return digits.len() == s.len();
    }
    matches!(digits.first(), Some(b'1'..=b'9'))
        && digits.len() <= MAX_DIGITS as usize
        && digits.iter().all(u8::is_ascii_digit)
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`
fn is_number_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let int_end = digits_from(i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_in_different_notations_compare_equal() {
        for (a, b) in [
            ("2", "2.00"),
            ("2", "2."),
            ("0.5", ".5"),
            ("100", "1E2"),
            ("100", "1e+2"),
            ("0.01", "1e-2"),
            ("-0", "0"),
            ("007", "7"),
            ("+7", "7"),
        ] {
            assert_eq!(compare(a, b), Some(Ordering::Equal), "{a} vs {b}");
        }
    }

    #[test]
    fn thirty_eight_digit_values_compare_exactly() {
        let a = "12345678901234567890123456789012345678";
        let b = "12345678901234567890123456789012345679";
        assert_eq!(compare(a, b), Some(Ordering::Less));
        assert_eq!(compare(b, a), Some(Ordering::Greater));
        assert_eq!(compare(a, a), Some(Ordering::Equal));
        // 2^53 + 1 is where f64 stops being exact.
        assert_eq!(
            compare("9007199254740993", "9007199254740992"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare("-1.5", "-1.49"), Some(Ordering::Less));
    }

    #[test]
    fn invalid_numbers_do_not_compare() {
        assert_eq!(compare("abc", "1"), None);
        assert_eq!(compare("1", ""), None);
    }

    #[test]
    fn syntax_follows_decimal_notation() {
        for ok in ["0", "-1", "+1", "1.", ".1", "1.5e10", "1E-5", "-.5e+3"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1_000", "1.2.3", " 1", "1 ", "NaN", "inf", "0x10",
        ] {
            assert_eq!(parse(bad), Err(NumberError::NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn range_and_precision_are_dynamodb_s() {
        assert!(parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(parse("1E+126"), Err(NumberError::Overflow));
        assert!(parse("1E-130").is_ok());
        assert_eq!(parse("1E-131"), Err(NumberError::Underflow));
        assert!(parse("0E-500").is_ok());
        assert_eq!(parse("1e9223372036854775807"), Err(NumberError::Overflow));
        assert_eq!(parse("1e-9223372036854775807"), Err(NumberError::Underflow));
        assert_eq!(
            parse("1e99999999999999999999999"),
            Err(NumberError::NotANumber)
        );
        assert!(parse("1234567890123456789012345678901234567800000").is_ok());
        assert_eq!(
            parse("123456789012345678901234567890123456789"),
            Err(NumberError::TooManyDigits)
        );
    }

    #[test]
    fn canonical_form_drops_exponent_and_insignificant_zeros() {
        for (input, expected) in [
            ("1030", "1030"),
            ("-5", "-5"),
            ("0", "0"),
            ("-0", "0"),
            ("007", "7"),
            ("+7", "7"),
            ("1.50", "1.5"),
            ("2.00", "2"),
            ("1E2", "100"),
            ("1.5e-3", "0.0015"),
            ("-0.000", "0"),
        ] {
            assert_eq!(canonical(input).unwrap(), expected, "{input}");
        }
        assert!(matches!(canonical("1030"), Ok(Cow::Borrowed(_))));
        assert_eq!(canonical("x"), Err(NumberError::NotANumber));
    }

    #[test]
    fn addition_is_exact() {
        assert_eq!(add("1", "2").unwrap(), "3");
        assert_eq!(add("0.1", "0.2").unwrap(), "0.3");
        assert_eq!(add("1.50", "1").unwrap(), "2.5");
        assert_eq!(
            add("9223372036854775807", "1").unwrap(),
            "9223372036854775808"
        );
        assert_eq!(
            add("12345678901234567890123456789012345678", "1").unwrap(),
            "12345678901234567890123456789012345679"
        );
        assert_eq!(
            add("99999999999999999999999999999999999999", "1").unwrap(),
            "100000000000000000000000000000000000000"
        );
        assert_eq!(add("1E+30", "1E-10"), Err(NumberError::TooManyDigits));
        assert_eq!(
            add("9.9999999999999999999999999999999999999E+125", "1E+125"),
            Err(NumberError::Overflow)
        );
        assert_eq!(add("x", "1"), Err(NumberError::NotANumber));
    }
}
