//! Version constraints with the exact semantics of Masterminds/semver v3 (`^`, `~`, wildcards, ranges, `||`).
//!
//! Masterminds decides what a constraint means with a few regular expressions; this module reads the text by
//! hand but accepts, rejects and evaluates exactly what those expressions and the checks behind them do
//! (v3.4.0), quirks included:
//!
//! - `A - B` (whitespace on both sides of `-`) is first rewritten to `>= A, <= B`; `1.1-3` is the version
//!   `1.1` with prerelease `3`, not a range.
//! - The text is split on `||`; each part is a list of comparisons separated by `,` and/or whitespace, each
//!   an operator (`=`, none, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^`), optional whitespace
//!   and a version that may have a `v`, wildcards (`x`, `X`, `*`) or missing parts, a prerelease and metadata.
//! - A prerelease version satisfies a part only when one of the part's comparisons names a prerelease (then
//!   anywhere in its range, e.g. `>=1.0.0-0` admits `1.5.0-rc.1`) or when prereleases are included
//!   explicitly ([`Constraint::matches_including_prerelease`]).
//! - Wildcard and partial versions widen the comparison: `>1.1` excludes every 1.1.x, `<=1.1` admits every
//!   1.1.x, `!=4.x` excludes every 4.y.z, `^0.2.3` is `>=0.2.3 <0.3.0` and `^0.0.3` is `=0.0.3`.
//!
//! An empty or whitespace-only constraint means "no constraint" as in argocd-image-updater: every version
//! matches, prereleases included.
//!
//! [`Constraint`] and its representation live here; `parse` reads the text as Masterminds' expressions do,
//! `check` is Masterminds' per-operator check of a version.

mod check;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use crate::version::Version;
use parse::{rewrite_ranges, split_comparisons};

/// A parsed constraint: alternatives joined by `||`, each a list of comparisons that must all hold.
///
/// Checking a version allocates nothing.
#[derive(Clone, Debug)]
pub struct Constraint {
    text: String,
    /// Empty for the "any version" constraint.
    groups: Vec<Group>,
}

/// Why a string is not a constraint.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ConstraintError {
    /// Part of the text (between `||`s, after hyphen ranges were rewritten) is not a list of comparisons.
    #[error(
        "invalid constraint '{input}': cannot read '{part}'; expected comparisons such as '>=1.2 <2', '~1.4', \
         '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between alternatives"
    )]
    Malformed {
        /// The whole constraint text.
        input: String,
        /// The `||`-separated part that could not be read.
        part: String,
    },
    /// A numeric part of a comparison's version is neither a number that fits in 64 bits nor a wildcard.
    #[error(
        "invalid constraint '{input}': '{segment}' in '{comparison}' is neither a number (at most \
         18446744073709551615) nor a wildcard (x, X or *)"
    )]
    BadNumber {
        /// The whole constraint text.
        input: String,
        /// The comparison, e.g. `>=1.2x`.
        comparison: String,
        /// The offending part, e.g. `2x`.
        segment: String,
    },
    /// A comparison's prerelease has a numeric identifier with a leading zero, which no version can have.
    #[error(
        "invalid constraint '{input}': prerelease '{prerelease}' in '{comparison}' has a numeric identifier \
         starting with 0"
    )]
    PrereleaseLeadingZero {
        /// The whole constraint text.
        input: String,
        /// The comparison, e.g. `>=1.0.0-01`.
        comparison: String,
        /// The prerelease, without its `-`.
        prerelease: String,
    },
}

#[derive(Clone, Debug)]
struct Group {
    comparisons: Vec<Comparison>,
    /// Whether a comparison here names a prerelease, which lets prerelease versions through the whole group.
    names_prerelease: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `=` or no operator: equality, or a tilde range when the version has a wildcard or missing part.
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Tilde,
    Caret,
}

/// Which part of a comparison's version is the first wildcard or missing part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wildcard {
    /// `1.2.3`: nothing is wild.
    None,
    /// `1.2`, `1.2.x`: the patch is wild.
    Patch,
    /// `1`, `1.x`, `1.x.5`: the minor (and so everything after it) is wild.
    Minor,
    /// `*`, `x.1.2`: everything is wild; the bound is 0.0.0 with the comparison's prerelease.
    Major,
}

#[derive(Clone, Debug)]
struct Comparison {
    op: Op,
    major: u64,
    minor: u64,
    patch: u64,
    prerelease: Box<str>,
    wildcard: Wildcard,
}

impl Constraint {
    /// Parses a constraint as Masterminds' `NewConstraint` does, except that empty or whitespace-only text means
    /// `*`: any release, prereleases only with include-prerelease. That is argocd-image-updater's rule since its
    /// fix for prereleases winning when no constraint was set (argocd-image-updater#1758).
    ///
    /// ```
    /// use argocd_image_resolver_core::constraint::Constraint;
    /// use argocd_image_resolver_core::version::Version;
    ///
    /// let c = Constraint::parse(">=1.2, <2 || ^3.1").unwrap();
    /// let v = |s| Version::parse(s).unwrap();
    /// assert!(c.matches(&v("1.9.0")) && c.matches(&v("3.4.5")));
    /// assert!(!c.matches(&v("2.0.0")) && !c.matches(&v("1.9.1-rc.1")));
    /// assert!(c.matches_including_prerelease(&v("1.9.1-rc.1")));
    /// assert!(Constraint::parse(">= banana").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Constraint, ConstraintError> {
        if s.trim().is_empty() {
            return Ok(Constraint::unconstrained(s));
        }
        let rewritten = rewrite_ranges(s);
        let mut groups = Vec::new();
        for part in rewritten.split("||") {
            let items = split_comparisons(part).ok_or_else(|| ConstraintError::Malformed {
                input: s.to_owned(),
                part: part.to_owned(),
            })?;
            let comparisons = items
                .into_iter()
                .map(|(op, text, parts)| Comparison::new(op, text, parts, s))
                .collect::<Result<Vec<_>, _>>()?;
            let names_prerelease = comparisons.iter().any(|c| !c.prerelease.is_empty());
            groups.push(Group {
                comparisons,
                names_prerelease,
            });
        }
        Ok(Constraint {
            text: s.to_owned(),
            groups,
        })
    }

    /// No constraint given: every release matches (as `*`), prereleases only with include-prerelease.
    pub fn any() -> Constraint {
        Constraint::unconstrained("")
    }

    /// Whether no constraint was given (empty text), as opposed to a written one such as `*`.
    pub fn is_any(&self) -> bool {
        self.text.trim().is_empty()
    }

    fn unconstrained(text: &str) -> Constraint {
        let star = Constraint::parse("*").expect("'*' is a valid constraint");
        Constraint {
            text: text.to_owned(),
            groups: star.groups,
        }
    }

    /// Whether `v` satisfies the constraint (Masterminds' `Check`): prerelease versions only where an
    /// alternative names a prerelease itself.
    pub fn matches(&self, v: &Version) -> bool {
        self.check(v, false)
    }

    /// Whether `v` satisfies the constraint with prereleases treated like releases (Masterminds'
    /// `IncludePrerelease`).
    pub fn matches_including_prerelease(&self, v: &Version) -> bool {
        self.check(v, true)
    }

    /// The constraint text exactly as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Constraint::parse(s)
    }
}

impl fmt::Display for Constraint {
    /// The constraint text exactly as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
