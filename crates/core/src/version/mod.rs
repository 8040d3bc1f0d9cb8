//! Versions as Masterminds/semver v3 reads them (lenient and strict), ordered by SemVer 2.0 precedence.
//!
//! argocd-image-updater reads every tag with Masterminds' `NewVersion` ([`Version::parse`]): an optional `v`,
//! one to three numeric parts with leading zeros allowed (`2024.01.05` is CalVer that must keep working), then an
//! optional prerelease and build metadata. [`Version::parse_strict`] is Masterminds' `StrictNewVersion` (SemVer
//! 2.0 exactly) and [`Version::parse_three_part`] is the rule Flux applies to tags in a semver policy.
//!
//! The parsers are hand-written and allocate once (the copy of the input) because `resolve` parses every tag
//! of a repository, and there may be a hundred thousand of them.
//!
//! [`Version`] and its accessors live here; `parse` holds the three parsers, `order` SemVer precedence.

mod order;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub(crate) use parse::{is_identifier_byte, leading_zero_identifier};

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
