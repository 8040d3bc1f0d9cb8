//! Byte sizes as operators write them in flags and environment variables: `64Mi`, `512KiB`, `10MB`, `1048576`.
//!
//! Kubernetes quantities (`Ki`, `Mi`, `Gi` binary; `k`, `M`, `G` decimal) and the `B`-suffixed forms people also
//! write, so a limit reads the same here as in a Pod's `sizeLimit`.

use std::fmt;
use std::str::FromStr;

/// A number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Why a size did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a size such as 64Mi, 512Ki, 10MB or 1048576")]
pub struct SizeError {
    pub input: String,
}

impl ByteSize {
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size as a `usize` (saturating on 32-bit targets), for buffer limits.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

const UNITS: [(&str, u64); 16] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("B", 1),
];

/// ```
/// use argocd_image_resolver_core::size::ByteSize;
/// assert_eq!("64Mi".parse::<ByteSize>().unwrap(), ByteSize(64 << 20));
/// ```
impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || SizeError {
            input: input.to_owned(),
        };
        let text = input.trim();
        let (number, factor) = UNITS
            .iter()
            .find_map(|(suffix, factor)| Some((text.strip_suffix(suffix)?, *factor)))
            .unwrap_or((text, 1));
        let number = number.trim_end();
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(ByteSize)
            .ok_or_else(error)
    }
}

/// The largest binary unit that divides the size exactly: `64Mi`, `1536Ki`, `100`.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (suffix, factor) in [
            ("Ti", 1u64 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ] {
            if self.0 >= factor && self.0.is_multiple_of(factor) {
                return write!(f, "{}{suffix}", self.0 / factor);
            }
        }
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quantities() {
        for (name, input, want) in [
            ("plain bytes", "1048576", Some(1 << 20)),
            ("binary", "64Mi", Some(64 << 20)),
            ("binary with B", "512KiB", Some(512 << 10)),
            ("decimal", "10MB", Some(10_000_000)),
            ("kubernetes decimal", "2G", Some(2_000_000_000)),
            ("bytes suffix", "100B", Some(100)),
            ("space before unit", "8 Mi", Some(8 << 20)),
            ("zero", "0", Some(0)),
            ("empty", "", None),
            ("unit only", "Mi", None),
            ("negative", "-1Mi", None),
            ("fraction", "1.5Mi", None),
            ("unknown unit", "3 furlongs", None),
            ("overflow", "18446744073709551615Ki", None),
        ] {
            assert_eq!(
                input.parse::<ByteSize>().ok().map(ByteSize::bytes),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn displays_in_the_largest_exact_unit_and_parses_back() {
        for (bytes, want) in [
            (64 << 20, "64Mi"),
            (1536 << 10, "1536Ki"),
            (100, "100"),
            (0, "0"),
        ] {
            let shown = ByteSize(bytes).to_string();
            assert_eq!(shown, want);
            assert_eq!(shown.parse::<ByteSize>().unwrap(), ByteSize(bytes));
        }
    }
}
