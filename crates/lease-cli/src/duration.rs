//! Durations on the command line and in output: `30s`, `1m30s`, `500ms` (humantime).

use std::time::Duration;

/// Parses a duration with a unit: `30s`, `1m30s`, `500ms`, `2h`.
///
/// # Errors
/// A message naming the value and giving examples, for clap to print.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} in {text:?} (examples: 30s, 1m30s, 500ms)"))
}

/// Parses a duration that must be above zero (a timeout that could never be met).
///
/// # Errors
/// As [`parse_duration`], and a message naming the value when it is zero.
pub(crate) fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(format!(
            "{text:?} is zero: give a positive duration (examples: 10s, 500ms)"
        ));
    }
    Ok(duration)
}

/// A duration for people, rounded to whole seconds above 10 s, milliseconds below: `25s`,
/// `1m 5s`, `1s 500ms`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let rounded = if duration >= Duration::from_secs(10) {
        Duration::from_secs(duration.as_secs())
    } else {
        Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    };
    humantime::format_duration(rounded).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 2h "), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn a_positive_duration_is_above_zero() {
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
        for zero in ["0s", "0ms", "0ns"] {
            let error = parse_positive_duration(zero).unwrap_err();
            assert!(error.contains("is zero"), "{error}");
        }
    }

    #[test]
    fn rejects_numbers_without_unit_with_examples() {
        let error = parse_duration("30").unwrap_err();
        assert!(error.contains("30s, 1m30s, 500ms"), "{error}");
        assert!(parse_duration("5parsecs").is_err());
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_duration(Duration::from_millis(65_400)), "1m 5s");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1s 500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
