//! Go durations (`time.ParseDuration`), as registries.conf's `credsexpire` and the `--budget` flag write them.

use std::time::Duration;

use thiserror::Error;

/// A duration that does not parse, with why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "invalid duration '{input}' for credsexpire: {problem}; use a Go duration such as 30m or 1h30m"
)]
pub struct DurationError {
    pub input: String,
    pub problem: &'static str,
}

/// Parses a Go duration (`time.ParseDuration`): `1h30m`, `90s`, `1.5h`, `250ms`, or `0`; negative ones are refused.
///
/// ```
/// use std::time::Duration;
/// use argocd_image_resolver_core::duration::parse_go_duration;
///
/// assert_eq!(parse_go_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// ```
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let invalid = |problem| DurationError {
        input: input.to_string(),
        problem,
    };
    let rest = input.strip_prefix('+').unwrap_or(input);
    if rest.starts_with('-') {
        return Err(invalid("negative durations are not allowed"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut total: u128 = 0;
    let mut rest = rest;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(after) => {
                let frac_len = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                after.split_at(frac_len)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(invalid("a number lacks its unit (ns, us, ms, s, m or h)")),
            _ => return Err(invalid("unknown unit; use ns, us, ms, s, m or h")),
        };
        let too_long = || invalid("it is too long");
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_long())?
        };
        let mut value = int.checked_mul(nanos_per_unit).ok_or_else(too_long)?;
        // Fractions beyond nanosecond precision cannot change the result, so extra digits are ignored.
        let mut scale = nanos_per_unit;
        for digit in frac_part.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            value += u128::from(digit - b'0') * scale;
        }
        total = total.checked_add(value).ok_or_else(too_long)?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| invalid("it is too long"))?;
    // The remainder is below 10^9, so it fits.
    let nanos = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("zero", "0", Duration::ZERO),
            ("zero seconds", "0s", Duration::ZERO),
            ("hours and minutes", "1h30m", Duration::from_secs(5400)),
            ("plus sign", "+5m", Duration::from_secs(300)),
            ("fraction", "1.5h", Duration::from_secs(5400)),
            ("leading dot", ".5s", Duration::from_millis(500)),
            ("trailing dot", "2.s", Duration::from_secs(2)),
            ("milliseconds", "250ms", Duration::from_millis(250)),
            ("micro sign", "3µs", Duration::from_micros(3)),
            ("greek mu", "3μs", Duration::from_micros(3)),
            ("ascii micro", "3us", Duration::from_micros(3)),
            ("nanoseconds", "7ns", Duration::from_nanos(7)),
            (
                "all units",
                "1h1m1s1ms1us1ns",
                Duration::new(3661, 1_001_001),
            ),
            (
                "sub-nanosecond fraction ignored",
                "1.0000000009s",
                Duration::from_secs(1),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(
                parse_go_duration(input).unwrap_or_else(|e| panic!("{name}: {e}")),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_bad_go_durations() {
        let cases = [
            ("empty", "", "it is empty"),
            ("negative", "-1h", "negative durations are not allowed"),
            (
                "no unit",
                "30",
                "a number lacks its unit (ns, us, ms, s, m or h)",
            ),
            (
                "no unit after a part",
                "1h30",
                "a number lacks its unit (ns, us, ms, s, m or h)",
            ),
            (
                "unknown unit",
                "2d",
                "unknown unit; use ns, us, ms, s, m or h",
            ),
            ("unit without number", "h", "expected a number"),
            ("lone dot", ".s", "expected a number"),
            ("space", "1h 30m", "unknown unit; use ns, us, ms, s, m or h"),
            (
                "overflow",
                "99999999999999999999999999999999999999999h",
                "it is too long",
            ),
            (
                "seconds overflow",
                "9999999999999999999999h",
                "it is too long",
            ),
        ];
        for (name, input, problem) in cases {
            let err = parse_go_duration(input).expect_err(name);
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid duration '{input}' for credsexpire: {problem}; use a Go duration such as 30m or 1h30m"
                ),
                "{name}"
            );
        }
    }
}
