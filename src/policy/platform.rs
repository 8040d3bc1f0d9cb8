//! Image platforms (`os/arch[/variant]`), as the `platforms` policy option names them.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// One platform of a multi-arch image, e.g. `linux/amd64` or `linux/arm/v7`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "invalid platform '{0}': expected os/arch or os/arch/variant, such as linux/amd64 or linux/arm/v7"
)]
pub struct PlatformError(pub String);

impl Platform {
    /// The platform assumed when a policy names none: what most clusters run.
    pub fn default_platform() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// Reads a comma-separated list (`linux/amd64, linux/arm64`), the `platforms` option's form.
    pub fn parse_list(value: &str) -> Result<Vec<Platform>, PlatformError> {
        value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }

    /// Whether an image built for `other` serves this platform: os and architecture equal, and the variant equal
    /// when this platform names one.
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        let parts: Vec<&str> = s.trim().split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| part_ok(p)) {
            return Err(PlatformError(s.to_string()));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_platforms() {
        for (name, input, want) in [
            ("os/arch", "linux/amd64", Ok("linux/amd64")),
            ("variant", "linux/arm/v7", Ok("linux/arm/v7")),
            ("spaces trimmed", " linux/arm64 ", Ok("linux/arm64")),
            ("one part", "linux", Err(())),
            ("four parts", "linux/arm/v7/x", Err(())),
            ("empty part", "linux//v7", Err(())),
            ("upper case", "Linux/amd64", Err(())),
        ] {
            let got = input
                .parse::<Platform>()
                .map(|p| p.to_string())
                .map_err(|_| ());
            assert_eq!(got, want.map(String::from), "{name}");
        }
    }

    #[test]
    fn parses_lists_and_names_the_bad_entry() {
        let list = Platform::parse_list("linux/amd64, linux/arm64,").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            Platform::parse_list("linux/amd64,windows")
                .unwrap_err()
                .to_string(),
            "invalid platform 'windows': expected os/arch or os/arch/variant, such as linux/amd64 or linux/arm/v7"
        );
    }

    #[test]
    fn variant_is_optional_when_wanted() {
        let arm: Platform = "linux/arm".parse().unwrap();
        let arm7: Platform = "linux/arm/v7".parse().unwrap();
        let arm6: Platform = "linux/arm/v6".parse().unwrap();
        assert!(arm.accepts(&arm7));
        assert!(arm7.accepts(&arm7));
        assert!(!arm7.accepts(&arm6));
        assert!(!arm7.accepts(&arm));
    }
}
