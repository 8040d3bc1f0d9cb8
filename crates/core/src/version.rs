//! Versions as Masterminds/semver v3 reads them (lenient and strict), ordered by SemVer 2.0 precedence.
//!
//! argocd-image-updater reads every tag with Masterminds' `NewVersion` ([`Version::parse`]): an optional `v`,
//! one to three numeric parts with leading zeros allowed (`2024.01.05` is CalVer that must keep working), then an
//! optional prerelease and build metadata. [`Version::parse_strict`] is Masterminds' `StrictNewVersion` (SemVer
//! 2.0 exactly) and [`Version::parse_three_part`] is the rule Flux applies to tags in a semver policy.
//!
//! The parsers are hand-written and allocate once (the copy of the input) because `resolve` parses every tag
//! of a repository, and there may be a hundred thousand of them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// A version tag: `MAJOR.MINOR.PATCH`, an optional prerelease and optional build metadata.
///
/// Equality, hashing and ordering follow SemVer 2.0 precedence exactly as Masterminds' `Compare` does: build
/// metadata is ignored (so `1.2.3+a == 1.2.3+b`), a prerelease sorts before its release, and prerelease
/// identifiers compare numerically when both are numbers, otherwise by ASCII. [`Version::original`] keeps the
/// text as given, so the tag can be written back exactly (`v1.2` stays `v1.2`, not `1.2.0`).
#[derive(Clone, Debug)]
pub struct Version {
    original: String,
    major: u64,
    minor: u64,
    patch: u64,
    // The prerelease is `original[pre_start..pre_end]` and the metadata `original[meta_start..]`, so parsing
    // copies nothing beyond the original text and comparisons read the identifiers in place.
    pre_start: usize,
    pre_end: usize,
    meta_start: usize,
}

/// Why a string is not a version.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// The input was the empty string.
    #[error("invalid version '': the string is empty")]
    Empty,
    /// The numeric part is not `[v]MAJOR[.MINOR[.PATCH]]`, or other text follows it.
    #[error(
        "invalid version '{input}': expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with numeric parts, \
         e.g. 'v1.2.3' or '1.2'"
    )]
    Malformed {
        /// The rejected text.
        input: String,
    },
    /// Strict parsing wants exactly `MAJOR.MINOR.PATCH`, without a `v` prefix.
    #[error(
        "invalid version '{input}': expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a 'v' prefix, \
         e.g. '1.2.3'"
    )]
    NotStrict {
        /// The rejected text.
        input: String,
    },
    /// A policy version needs all three numeric parts.
    #[error(
        "invalid version '{input}': expected exactly three numeric parts, [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], \
         e.g. 'v1.2.3'"
    )]
    NotThreePart {
        /// The rejected text.
        input: String,
    },
    /// Strict parsing rejects `01` in `MAJOR.MINOR.PATCH` (lenient parsing reads it as `1`).
    #[error(
        "invalid version '{input}': '{number}' must not start with 0 in a strict semantic version"
    )]
    LeadingZero {
        /// The rejected text.
        input: String,
        /// The offending numeric part.
        number: String,
    },
    /// A numeric part does not fit in 64 bits.
    #[error("invalid version '{input}': '{number}' is larger than 18446744073709551615")]
    NumberTooLarge {
        /// The rejected text.
        input: String,
        /// The offending numeric part.
        number: String,
    },
    /// The prerelease has an empty identifier or a character outside `[0-9A-Za-z-]`.
    #[error(
        "invalid version '{input}': prerelease '{prerelease}' must be non-empty identifiers of [0-9A-Za-z-] \
         separated by dots"
    )]
    Prerelease {
        /// The rejected text.
        input: String,
        /// The prerelease, without its leading `-`.
        prerelease: String,
    },
    /// SemVer forbids numeric prerelease identifiers such as `01`; Masterminds rejects them in every mode.
    #[error(
        "invalid version '{input}': numeric prerelease identifier '{identifier}' must not start with 0"
    )]
    PrereleaseLeadingZero {
        /// The rejected text.
        input: String,
        /// The offending identifier.
        identifier: String,
    },
    /// The build metadata has an empty identifier or a character outside `[0-9A-Za-z-]`.
    #[error(
        "invalid version '{input}': build metadata '{metadata}' must be non-empty identifiers of [0-9A-Za-z-] \
         separated by dots"
    )]
    Metadata {
        /// The rejected text.
        input: String,
        /// The build metadata, without its leading `+`.
        metadata: String,
    },
}

impl Version {
    /// Parses a version the way argocd-image-updater reads tags (Masterminds' lenient `NewVersion`).
    ///
    /// Accepts an optional leading `v`, one to three numeric parts (missing ones are 0, leading zeros are
    /// read as decimal), an optional `-prerelease` and an optional `+metadata`. Rejects a fourth numeric part,
    /// letters in the numeric parts, and numeric prerelease identifiers with a leading zero.
    ///
    /// ```
    /// use argocd_image_resolver_core::version::Version;
    ///
    /// let v = Version::parse("v1.2-rc.1").unwrap();
    /// assert_eq!((v.major(), v.minor(), v.patch(), v.prerelease()), (1, 2, 0, "rc.1"));
    /// assert_eq!(v.to_string(), "1.2.0-rc.1");
    /// assert_eq!(v.original(), "v1.2-rc.1");
    /// assert!(Version::parse("1.2.3.4").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        parse_lenient(s).map(|(version, _)| version)
    }

    /// Parses a version as Masterminds' `StrictNewVersion` does: SemVer 2.0 exactly, so no `v` prefix, all
    /// three numeric parts, and no leading zeros.
    pub fn parse_strict(s: &str) -> Result<Version, VersionError> {
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        let b = s.as_bytes();
        let mut numbers = [0u64; 3];
        let mut i = 0;
        for (k, slot) in numbers.iter_mut().enumerate() {
            if k > 0 {
                if b.get(i) != Some(&b'.') {
                    return Err(VersionError::NotStrict {
                        input: s.to_owned(),
                    });
                }
                i += 1;
            }
            let start = i;
            i = skip_digits(b, i);
            let digits = &s[start..i];
            if digits.is_empty() {
                return Err(VersionError::NotStrict {
                    input: s.to_owned(),
                });
            }
            if digits.len() > 1 && digits.starts_with('0') {
                return Err(VersionError::LeadingZero {
                    input: s.to_owned(),
                    number: digits.to_owned(),
                });
            }
            *slot = parse_number(s, digits)?;
        }
        let (pre_start, pre_end, meta_start) = parse_suffix(s, i, || VersionError::NotStrict {
            input: s.to_owned(),
        })?;
        Ok(Version::from_parts(
            s, numbers, pre_start, pre_end, meta_start,
        ))
    }

    /// Parses a tag under the rule Flux applies to semver policies: all three numeric parts are required,
    /// otherwise as [`Version::parse`] (an optional `v`, leading zeros read as decimal so CalVer tags such as
    /// `v2025.02.03` work).
    pub fn parse_three_part(s: &str) -> Result<Version, VersionError> {
        let (version, parts) = parse_lenient(s)?;
        if parts == 3 {
            Ok(version)
        } else {
            Err(VersionError::NotThreePart {
                input: s.to_owned(),
            })
        }
    }

    /// The first numeric part.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The second numeric part (0 when the text had only one part).
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The third numeric part (0 when the text had fewer than three parts).
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease without its leading `-`, or `""`.
    pub fn prerelease(&self) -> &str {
        &self.original[self.pre_start..self.pre_end]
    }

    /// The build metadata without its leading `+`, or `""`.
    pub fn metadata(&self) -> &str {
        &self.original[self.meta_start..]
    }

    /// Whether the version has a prerelease (constraints skip these unless asked to include them).
    pub fn is_prerelease(&self) -> bool {
        self.pre_end > self.pre_start
    }

    /// The text exactly as it was parsed, e.g. `v1.2` for the version displayed as `1.2.0`.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Orders `self` against a version given by parts, by SemVer precedence; constraints use this to compare
    /// tags with their bounds without building a [`Version`].
    pub(crate) fn cmp_parts(
        &self,
        major: u64,
        minor: u64,
        patch: u64,
        prerelease: &str,
    ) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(major, minor, patch))
            .then_with(|| compare_prerelease(self.prerelease(), prerelease))
    }

    fn from_parts(
        s: &str,
        numbers: [u64; 3],
        pre_start: usize,
        pre_end: usize,
        meta_start: usize,
    ) -> Version {
        Version {
            original: s.to_owned(),
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre_start,
            pre_end,
            meta_start,
        }
    }
}

/// Lenient parsing; also returns how many numeric parts the text had, for [`Version::parse_three_part`].
fn parse_lenient(s: &str) -> Result<(Version, usize), VersionError> {
    if s.is_empty() {
        return Err(VersionError::Empty);
    }
    let b = s.as_bytes();
    let malformed = || VersionError::Malformed {
        input: s.to_owned(),
    };
    let mut i = usize::from(b[0] == b'v');
    let mut spans = [(0usize, 0usize); 3];
    let mut parts = 0;
    loop {
        let start = i;
        i = skip_digits(b, i);
        if i == start {
            return Err(malformed());
        }
        spans[parts] = (start, i);
        parts += 1;
        if parts < 3 && b.get(i) == Some(&b'.') {
            i += 1;
        } else {
            break;
        }
    }
    // Check the whole shape before the numbers, so that "99999999999999999999.x" is reported as malformed.
    let (pre_start, pre_end, meta_start) = parse_suffix(s, i, malformed)?;
    let mut numbers = [0u64; 3];
    for (slot, &(start, end)) in numbers.iter_mut().zip(&spans[..parts]) {
        *slot = parse_number(s, &s[start..end])?;
    }
    Ok((
        Version::from_parts(s, numbers, pre_start, pre_end, meta_start),
        parts,
    ))
}

/// Reads the optional `-prerelease` and `+metadata` that start at byte `i`; returns the prerelease range and
/// where the metadata starts (`s.len()` when there is none). Any other text at `i` is an error made by `other`.
fn parse_suffix(
    s: &str,
    mut i: usize,
    other: impl FnOnce() -> VersionError,
) -> Result<(usize, usize, usize), VersionError> {
    let b = s.as_bytes();
    let (mut pre_start, mut pre_end) = (i, i);
    if b.get(i) == Some(&b'-') {
        pre_start = i + 1;
        pre_end = b[pre_start..]
            .iter()
            .position(|&c| c == b'+')
            .map_or(b.len(), |p| pre_start + p);
        validate_prerelease(s, &s[pre_start..pre_end])?;
        i = pre_end;
    }
    match b.get(i) {
        None => Ok((pre_start, pre_end, b.len())),
        Some(b'+') => {
            let metadata = &s[i + 1..];
            if identifiers_are_valid(metadata) {
                Ok((pre_start, pre_end, i + 1))
            } else {
                Err(VersionError::Metadata {
                    input: s.to_owned(),
                    metadata: metadata.to_owned(),
                })
            }
        }
        Some(_) => Err(other()),
    }
}

fn validate_prerelease(s: &str, prerelease: &str) -> Result<(), VersionError> {
    if !identifiers_are_valid(prerelease) {
        return Err(VersionError::Prerelease {
            input: s.to_owned(),
            prerelease: prerelease.to_owned(),
        });
    }
    match leading_zero_identifier(prerelease) {
        Some(identifier) => Err(VersionError::PrereleaseLeadingZero {
            input: s.to_owned(),
            identifier: identifier.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether `s` is one or more dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
fn identifiers_are_valid(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_identifier_byte))
}

/// The first numeric prerelease identifier with a leading zero (`01`), which every Masterminds parser rejects.
pub(crate) fn leading_zero_identifier(prerelease: &str) -> Option<&str> {
    prerelease
        .split('.')
        .find(|id| id.len() > 1 && id.starts_with('0') && is_all_digits(id))
}

pub(crate) fn is_identifier_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

fn parse_number(input: &str, digits: &str) -> Result<u64, VersionError> {
    digits.parse().map_err(|_| VersionError::NumberTooLarge {
        input: input.to_owned(),
        number: digits.to_owned(),
    })
}

/// Orders two prereleases (without their `-`) by SemVer precedence, `""` meaning a release.
///
/// An identifier counts as numeric only when it is all digits and fits in 64 bits; a longer run of digits
/// compares as text, as in Masterminds.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let (mut xs, mut ys) = (a.split('.'), b.split('.'));
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => match compare_identifier(x, y) {
                        Ordering::Equal => {}
                        other => return other,
                    },
                }
            }
        }
    }
}

fn compare_identifier(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    let number = |s: &str| {
        if is_all_digits(s) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (number(x), number(y)) {
        (Some(m), Some(n)) => m.cmp(&n),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => x.as_bytes().cmp(y.as_bytes()),
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    // Precedence equality is equality of the numbers and the prerelease text (valid prereleases have no
    // numeric identifiers with leading zeros), so hashing those agrees with `Eq`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch, self.prerelease()).hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_parts(other.major, other.minor, other.patch, other.prerelease())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Lenient parsing, as [`Version::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    /// The canonical form `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, without any `v` prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if self.is_prerelease() {
            write!(f, "-{}", self.prerelease())?;
        }
        if !self.metadata().is_empty() {
            write!(f, "+{}", self.metadata())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Masterminds v3.4.0 `TestNewVersion` ("With loose NewVersion"): input, whether parsing fails.
    #[test]
    fn lenient_accepts_and_rejects_like_masterminds() {
        let cases = [
            ("1.2.3", false),
            ("1.2.3-alpha.01", true),
            ("1.2.3+test.01", false),
            ("1.2.3-alpha.-1", false),
            ("v1.2.3", false),
            ("1.0", false),
            ("v1.0", false),
            ("1", false),
            ("v1", false),
            ("1.2.beta", true),
            ("v1.2.beta", true),
            ("foo", true),
            ("1.2-5", false),
            ("v1.2-5", false),
            ("1.2-beta.5", false),
            ("v1.2-beta.5", false),
            ("\n1.2", true),
            ("\nv1.2", true),
            ("1.2.0-x.Y.0+metadata", false),
            ("v1.2.0-x.Y.0+metadata", false),
            ("1.2.0-x.Y.0+metadata-width-hypen", false),
            ("v1.2.0-x.Y.0+metadata-width-hypen", false),
            ("1.2.3-rc1-with-hypen", false),
            ("v1.2.3-rc1-with-hypen", false),
            ("1.2.3.4", true),
            ("v1.2.3.4", true),
            ("1.2.2147483648", false),
            ("1.2147483648.3", false),
            ("2147483648.3.0", false),
            ("12.3.4.1234", true),
            ("12.23.4.1234", true),
            ("12.3.34.1234", true),
            ("20221209-update-renovatejson-v4", false),
            ("1.1.2+.123", true),
            ("1.0.0-alpha_beta", true),
            ("1.0.0-alpha..", true),
            ("1.0.0-alpha..1", true),
            ("9.8.7+meta+meta", true),
            ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
            ("01.1.1", false),
            ("1.01.1", false),
            ("1.1.01", false),
        ];
        for (input, fails) in cases {
            assert_eq!(
                Version::parse(input).is_err(),
                fails,
                "{input:?}: {:?}",
                Version::parse(input)
            );
        }
    }

    /// Masterminds v3.4.0 `TestStrictNewVersion`: input, whether parsing fails.
    #[test]
    fn strict_accepts_and_rejects_like_masterminds() {
        let cases = [
            ("1.2.3", false),
            ("1.2.3-alpha.01", true),
            ("1.2.3+test.01", false),
            ("1.2.3-alpha.-1", false),
            ("v1.2.3", true),
            ("1.0", true),
            ("v1.0", true),
            ("1", true),
            ("v1", true),
            ("1.2", true),
            ("1.2.beta", true),
            ("v1.2.beta", true),
            ("foo", true),
            ("1.2-5", true),
            ("v1.2-5", true),
            ("1.2-beta.5", true),
            ("v1.2-beta.5", true),
            ("\n1.2", true),
            ("\nv1.2", true),
            ("1.2.0-x.Y.0+metadata", false),
            ("v1.2.0-x.Y.0+metadata", true),
            ("1.2.0-x.Y.0+metadata-width-hypen", false),
            ("v1.2.0-x.Y.0+metadata-width-hypen", true),
            ("1.2.3-rc1-with-hypen", false),
            ("v1.2.3-rc1-with-hypen", true),
            ("1.2.3.4", true),
            ("v1.2.3.4", true),
            ("1.2.2147483648", false),
            ("1.2147483648.3", false),
            ("2147483648.3.0", false),
            ("20221209-update-renovatejson-v4", true),
            ("1.1.2+.123", true),
            ("1.0.0-alpha_beta", true),
            ("1.0.0-alpha..", true),
            ("1.0.0-alpha..1", true),
            ("01.1.1", true),
            ("1.01.1", true),
            ("1.1.01", true),
            ("9.8.7+meta+meta", true),
            ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
            ("1.2.3-0123", true),
            ("1.2.3-0123.0123", true),
            ("+invalid", true),
            ("-invalid", true),
            ("-invalid.01", true),
            ("alpha+beta", true),
            ("1.2.3-alpha_beta+foo", true),
            // Beyond Masterminds' table: empty prerelease or metadata, checked against Masterminds v3.4.0.
            ("1.2.3-", true),
            ("1.2.3+", true),
            ("1.2.3-+b", true),
            ("0.0.0", false),
        ];
        for (input, fails) in cases {
            assert_eq!(
                Version::parse_strict(input).is_err(),
                fails,
                "{input:?}: {:?}",
                Version::parse_strict(input)
            );
        }
    }

    /// The Flux policy rule: three numeric parts, an optional `v`, leading zeros read as decimal.
    #[test]
    fn three_part_requires_major_minor_patch() {
        let cases = [
            ("plain", "1.2.3", Some("1.2.3")),
            ("v prefix", "v1.2.3", Some("1.2.3")),
            (
                "prerelease and metadata",
                "v1.2.3-rc.1+build.5",
                Some("1.2.3-rc.1+build.5"),
            ),
            ("calver with leading zeros", "v2025.02.03", Some("2025.2.3")),
            ("two parts", "1.2", None),
            ("two parts with prerelease", "1.2-rc.1", None),
            ("one part", "v1", None),
            ("four parts", "1.2.3.4", None),
            ("capital V", "V1.2.3", None),
            ("empty", "", None),
        ];
        for (name, input, want) in cases {
            let got = Version::parse_three_part(input).ok().map(|v| v.to_string());
            assert_eq!(got.as_deref(), want, "{name}: {input:?}");
        }
    }

    /// Masterminds `TestCoerceString` and `TestOriginal`: the canonical form, and the text kept as given.
    #[test]
    fn display_is_canonical_and_original_is_kept() {
        let cases = [
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            ("1.0", "1.0.0"),
            ("v1.0", "1.0.0"),
            ("1", "1.0.0"),
            ("v1", "1.0.0"),
            ("1.2-5", "1.2.0-5"),
            ("v1.2-5", "1.2.0-5"),
            ("1.2-beta.5", "1.2.0-beta.5"),
            ("v1.2-beta.5", "1.2.0-beta.5"),
            ("1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            ("v1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            (
                "1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            (
                "v1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            ("1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
            ("v1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
            ("2024.01.05", "2024.1.5"),
            ("1.2+build", "1.2.0+build"),
        ];
        for (input, canonical) in cases {
            let version = v(input);
            assert_eq!(version.to_string(), canonical, "{input}");
            assert_eq!(version.original(), input, "{input}");
            assert_eq!(
                input.parse::<Version>().map(|p| p.to_string()).as_deref(),
                Ok(canonical),
                "{input}"
            );
        }
    }

    /// Masterminds `TestParts`, plus the parts of partial versions.
    #[test]
    fn parts_are_exposed() {
        let cases = [
            (
                "1.2.3-beta.1+build.123",
                (1, 2, 3, "beta.1", "build.123", true),
            ),
            ("v4", (4, 0, 0, "", "", false)),
            ("0.7+linux", (0, 7, 0, "", "linux", false)),
            (
                "18446744073709551615.0.1-0",
                (u64::MAX, 0, 1, "0", "", true),
            ),
        ];
        for (input, (major, minor, patch, pre, meta, is_pre)) in cases {
            let version = v(input);
            assert_eq!(
                (
                    version.major(),
                    version.minor(),
                    version.patch(),
                    version.prerelease(),
                    version.metadata()
                ),
                (major, minor, patch, pre, meta),
                "{input}"
            );
            assert_eq!(version.is_prerelease(), is_pre, "{input}");
        }
    }

    /// Masterminds `TestCompare` and `TestGreaterThan`: -1, 0 or 1 for `a` against `b`.
    #[test]
    fn ordering_follows_semver_precedence() {
        let cases = [
            ("1.2.3", "1.5.1", -1),
            ("2.2.3", "1.5.1", 1),
            ("2.2.3", "2.2.2", 1),
            ("3.2-beta", "3.2-beta", 0),
            ("1.3", "1.1.4", 1),
            ("4.2", "4.2-beta", 1),
            ("4.2-beta", "4.2", -1),
            ("4.2-alpha", "4.2-beta", -1),
            ("4.2-alpha", "4.2-alpha", 0),
            ("4.2-beta.2", "4.2-beta.1", 1),
            ("4.2-beta2", "4.2-beta1", 1),
            ("4.2-beta", "4.2-beta.2", -1),
            ("4.2-beta", "4.2-beta.foo", -1),
            ("4.2-beta.2", "4.2-beta", 1),
            ("4.2-beta.foo", "4.2-beta", 1),
            ("1.2+bar", "1.2+baz", 0),
            ("1.0.0-beta.4", "1.0.0-beta.-2", -1),
            ("1.0.0-beta.-2", "1.0.0-beta.-3", -1),
            ("1.0.0-beta.-3", "1.0.0-beta.5", 1),
            ("3.2.0-beta.1", "3.2.0-beta.5", -1),
            ("3.2-beta.4", "3.2-beta.2", 1),
            ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.103", -1),
            ("7.43.0-SNAPSHOT.FOO", "7.43.0-SNAPSHOT.103", 1),
            ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.BAR", -1),
            ("v1.0", "1.0.0", 0),
            ("01.1.1", "1.1.1", 0),
            // Digits beyond 64 bits compare as text, as in Masterminds (checked against v3.4.0).
            (
                "1.0.0-100000000000000000000",
                "1.0.0-99999999999999999999",
                -1,
            ),
            ("1.0.0-99999999999999999999", "1.0.0-5", 1),
        ];
        for (a, b, want) in cases {
            let got = v(a).cmp(&v(b)) as i8;
            assert_eq!(got, want, "{a} vs {b}");
            assert_eq!(v(b).cmp(&v(a)) as i8, -want, "{b} vs {a}");
            assert_eq!(v(a) == v(b), want == 0, "{a} == {b}");
        }
    }

    #[test]
    fn errors_name_the_input() {
        type Parser = fn(&str) -> Result<Version, VersionError>;
        let cases: [(&str, Parser, &str); 11] = [
            (
                "empty",
                Version::parse,
                "invalid version '': the string is empty",
            ),
            (
                "1.2.3.4",
                Version::parse,
                "invalid version '1.2.3.4': expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with numeric \
                 parts, e.g. 'v1.2.3' or '1.2'",
            ),
            (
                "1.2.3-alpha.01",
                Version::parse,
                "invalid version '1.2.3-alpha.01': numeric prerelease identifier '01' must not start with 0",
            ),
            (
                "1.0.0-alpha_beta",
                Version::parse,
                "invalid version '1.0.0-alpha_beta': prerelease 'alpha_beta' must be non-empty identifiers of \
                 [0-9A-Za-z-] separated by dots",
            ),
            (
                "1.1.2+.123",
                Version::parse,
                "invalid version '1.1.2+.123': build metadata '.123' must be non-empty identifiers of [0-9A-Za-z-] \
                 separated by dots",
            ),
            (
                "1.99999999999999999999",
                Version::parse,
                "invalid version '1.99999999999999999999': '99999999999999999999' is larger than \
                 18446744073709551615",
            ),
            (
                "v1.2.3",
                Version::parse_strict,
                "invalid version 'v1.2.3': expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a 'v' prefix, \
                 e.g. '1.2.3'",
            ),
            (
                "1.02.3",
                Version::parse_strict,
                "invalid version '1.02.3': '02' must not start with 0 in a strict semantic version",
            ),
            (
                "1.2.3-",
                Version::parse_strict,
                "invalid version '1.2.3-': prerelease '' must be non-empty identifiers of [0-9A-Za-z-] separated by \
                 dots",
            ),
            (
                "1.2",
                Version::parse_three_part,
                "invalid version '1.2': expected exactly three numeric parts, \
                 [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 'v1.2.3'",
            ),
            (
                "1.2.x",
                Version::parse_three_part,
                "invalid version '1.2.x': expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with numeric \
                 parts, e.g. 'v1.2.3' or '1.2'",
            ),
        ];
        for (input, parse, want) in cases {
            let text = if input == "empty" { "" } else { input };
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{input}");
        }
    }

    fn hash_of(version: &Version) -> u64 {
        let mut hasher = DefaultHasher::new();
        version.hash(&mut hasher);
        hasher.finish()
    }

    /// Versions built from small parts, so that equal and near-equal versions are common.
    fn version_strategy() -> impl Strategy<Value = Version> {
        let number = prop_oneof![
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("2".to_owned()),
            "[0-9]{1,3}"
        ];
        let identifier = prop_oneof![
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("10".to_owned()),
            Just("alpha".to_owned()),
            Just("beta".to_owned()),
            Just("-1".to_owned()),
            Just("99999999999999999999".to_owned()),
            "[1-9][0-9]{0,2}",
            "[a-zA-Z-][0-9a-zA-Z-]{0,3}",
        ];
        let prerelease = prop::collection::vec(identifier, 0..3).prop_map(|ids| ids.join("."));
        let metadata = prop_oneof![Just(String::new()), "[0-9a-z]{1,3}"];
        (
            prop::bool::ANY,
            prop::collection::vec(number, 1..=3),
            prerelease,
            metadata,
        )
            .prop_map(|(v, numbers, pre, meta)| {
                let mut text = format!("{}{}", if v { "v" } else { "" }, numbers.join("."));
                if !pre.is_empty() {
                    text = format!("{text}-{pre}");
                }
                if !meta.is_empty() {
                    text = format!("{text}+{meta}");
                }
                Version::parse(&text).unwrap_or_else(|e| panic!("generated {text}: {e}"))
            })
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}|[v0-9.+x-]{0,20}") {
            let _ = Version::parse(&s);
            let _ = Version::parse_strict(&s);
            let _ = Version::parse_three_part(&s);
        }

        #[test]
        fn strict_versions_are_lenient_versions(s in "[v0-9.+a-z-]{0,16}") {
            if let Ok(strict) = Version::parse_strict(&s) {
                let lenient = Version::parse(&s).expect("strict implies lenient");
                prop_assert_eq!(strict.to_string(), lenient.to_string());
            }
        }

        #[test]
        fn order_is_total_and_agrees_with_eq_and_hash(
            a in version_strategy(), b in version_strategy(), c in version_strategy()
        ) {
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
            prop_assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)));
            if a == b {
                prop_assert_eq!(hash_of(&a), hash_of(&b));
            }
            if a <= b && b <= c {
                prop_assert!(a <= c, "{} <= {} <= {} but not {} <= {}", a, b, c, a, c);
            }
        }

        #[test]
        fn display_parses_back_to_an_equal_version(a in version_strategy()) {
            let again = Version::parse(&a.to_string()).expect("canonical form parses");
            prop_assert_eq!(&again, &a);
            prop_assert_eq!(again.metadata(), a.metadata());
        }
    }
}
