//! Image platforms (`os/arch[/variant]`): parsing, display, and choosing an index entry for a wanted list.
//!
//! Pure: the `platforms` policy option and the registry client's index selection both use it.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A platform as OCI indexes and image configs describe it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// Why a platform string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("platform '{0}' is not os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)")]
    Malformed(String),
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Self {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// argocd-image-updater's default when no platform is asked for.
    pub fn linux_amd64() -> Self {
        Self::new("linux", "amd64", None)
    }

    /// Whether an image built for `candidate` satisfies this wanted platform: same OS and architecture (common
    /// aliases folded: `x86_64` = `amd64`, `aarch64` = `arm64`), and the same variant when one is wanted, where
    /// `arm64` without a variant means `v8`.
    pub fn accepts(&self, candidate: &Platform) -> bool {
        if !self.os.eq_ignore_ascii_case(&candidate.os) {
            return false;
        }
        let arch = normalise_arch(&self.architecture);
        if arch != normalise_arch(&candidate.architecture) {
            return false;
        }
        match self.variant.as_deref().filter(|v| !v.is_empty()) {
            None => true,
            Some(wanted) => {
                let have = candidate.variant.as_deref().filter(|v| !v.is_empty());
                let have = have.or(if arch == "arm64" { Some("v8") } else { None });
                have.is_some_and(|h| h.eq_ignore_ascii_case(wanted))
            }
        }
    }
}

fn normalise_arch(arch: &str) -> String {
    match arch.to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    }
}

/// `linux/amd64`, `linux/arm/v7`.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = self.variant.as_deref().filter(|v| !v.is_empty()) {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Parses `os/arch` or `os/arch/variant`.
///
/// ```
/// use argocd_image_resolver_core::platform::Platform;
/// let p: Platform = "linux/arm/v7".parse().unwrap();
/// assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()), ("linux", "arm", Some("v7")));
/// ```
impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let ok = |s: &&str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
                Ok(Platform::new(os, arch, Some(variant)))
            }
            _ => Err(PlatformError::Malformed(text.to_string())),
        }
    }
}

impl Platform {
    /// Reads a comma-separated list (`linux/amd64, linux/arm64`), the `platforms` option's form; empty entries
    /// are skipped.
    pub fn parse_list(value: &str) -> Result<Vec<Platform>, PlatformError> {
        value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

/// The first wanted platform (in the caller's order of preference) that some candidate satisfies, with the index
/// of the first such candidate; `None` when no candidate fits any wanted platform.
pub fn select<'a>(
    candidates: impl IntoIterator<Item = Option<&'a Platform>> + Clone,
    wanted: &[Platform],
) -> Option<usize> {
    wanted.iter().find_map(|want| {
        candidates
            .clone()
            .into_iter()
            .position(|candidate| candidate.is_some_and(|c| want.accepts(c)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Platform {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        for (name, text, want) in [
            (
                "two parts",
                "linux/amd64",
                Ok(Platform::new("linux", "amd64", None)),
            ),
            (
                "three parts",
                "linux/arm/v7",
                Ok(Platform::new("linux", "arm", Some("v7"))),
            ),
            (
                "windows",
                "windows/amd64",
                Ok(Platform::new("windows", "amd64", None)),
            ),
            (
                "one part",
                "linux",
                Err(PlatformError::Malformed("linux".into())),
            ),
            (
                "four parts",
                "a/b/c/d",
                Err(PlatformError::Malformed("a/b/c/d".into())),
            ),
            (
                "empty arch",
                "linux/",
                Err(PlatformError::Malformed("linux/".into())),
            ),
            (
                "space inside",
                "linux/am d64",
                Err(PlatformError::Malformed("linux/am d64".into())),
            ),
        ] {
            assert_eq!(text.parse::<Platform>(), want, "{name}");
        }
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(
            "x".parse::<Platform>().unwrap_err().to_string(),
            "platform 'x' is not os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)"
        );
    }

    #[test]
    fn acceptance() {
        for (name, wanted, candidate, want) in [
            ("exact", "linux/amd64", "linux/amd64", true),
            ("other arch", "linux/amd64", "linux/arm64", false),
            ("other os", "linux/amd64", "windows/amd64", false),
            (
                "any variant when none wanted",
                "linux/arm",
                "linux/arm/v6",
                true,
            ),
            ("variant must match", "linux/arm/v7", "linux/arm/v6", false),
            ("variant matches", "linux/arm/v7", "linux/arm/v7", true),
            (
                "wanted variant, candidate has none",
                "linux/arm/v7",
                "linux/arm",
                false,
            ),
            (
                "arm64 without variant is v8",
                "linux/arm64/v8",
                "linux/arm64",
                true,
            ),
            ("alias x86_64", "linux/amd64", "linux/x86_64", true),
            ("alias aarch64", "linux/arm64", "linux/aarch64", true),
            ("case", "Linux/AMD64", "linux/amd64", true),
        ] {
            assert_eq!(p(wanted).accepts(&p(candidate)), want, "{name}");
        }
    }

    #[test]
    fn selection_follows_wanted_order() {
        let index = [
            Some(p("linux/arm64")),
            None,
            Some(p("linux/amd64")),
            Some(p("linux/arm/v7")),
        ];
        let candidates = index.iter().map(Option::as_ref);
        for (name, wanted, want) in [
            ("first wanted present", vec![p("linux/amd64")], Some(2)),
            (
                "preference order",
                vec![p("linux/arm/v7"), p("linux/arm64")],
                Some(3),
            ),
            (
                "falls to second wanted",
                vec![p("linux/s390x"), p("linux/arm64")],
                Some(0),
            ),
            ("none", vec![p("windows/amd64")], None),
            ("empty wanted", vec![], None),
        ] {
            assert_eq!(select(candidates.clone(), &wanted), want, "{name}");
        }
    }

    #[test]
    fn parses_lists_and_names_the_bad_entry() {
        assert_eq!(
            Platform::parse_list("linux/amd64, linux/arm64,").unwrap(),
            [p("linux/amd64"), p("linux/arm64")]
        );
        assert_eq!(
            Platform::parse_list("linux/amd64,windows")
                .unwrap_err()
                .to_string(),
            "platform 'windows' is not os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)"
        );
    }
}
