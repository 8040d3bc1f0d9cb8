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

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::version::{Version, is_identifier_byte, leading_zero_identifier};

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

    fn check(&self, v: &Version, include_prerelease: bool) -> bool {
        self.groups.iter().any(|group| {
            let include = include_prerelease || group.names_prerelease;
            group.comparisons.iter().all(|c| c.admits(v, include))
        })
    }
}

impl Comparison {
    /// Builds a comparison from an operator, its version text and that text's parts, as Masterminds'
    /// `parseConstraint`; `input` is the whole constraint, for errors.
    fn new(
        op: Op,
        text: &str,
        parts: VersionParts,
        input: &str,
    ) -> Result<Comparison, ConstraintError> {
        let segment = |(start, end): (usize, usize)| &text[start..end];
        let prerelease = parts.prerelease.map_or("", segment);
        if leading_zero_identifier(prerelease).is_some() {
            return Err(ConstraintError::PrereleaseLeadingZero {
                input: input.to_owned(),
                comparison: text.to_owned(),
                prerelease: prerelease.to_owned(),
            });
        }
        let number = |span: (usize, usize)| {
            let digits = segment(span);
            digits
                .bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| digits.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| ConstraintError::BadNumber {
                    input: input.to_owned(),
                    comparison: text.to_owned(),
                    segment: digits.to_owned(),
                })
        };
        let wild = |span: Option<(usize, usize)>| {
            span.is_none_or(|s| matches!(segment(s), "x" | "X" | "*"))
        };
        // Only the parts before the first wildcard are read: Masterminds ignores the rest, so `1.x.5` is `1.x`.
        let (wildcard, major, minor, patch) = if wild(Some(parts.major)) {
            (Wildcard::Major, 0, 0, 0)
        } else if wild(parts.minor) {
            (Wildcard::Minor, number(parts.major)?, 0, 0)
        } else if wild(parts.patch) {
            (
                Wildcard::Patch,
                number(parts.major)?,
                parts.minor.map_or(Ok(0), number)?,
                0,
            )
        } else {
            let minor = parts.minor.map_or(Ok(0), number)?;
            let patch = parts.patch.map_or(Ok(0), number)?;
            (Wildcard::None, number(parts.major)?, minor, patch)
        };
        Ok(Comparison {
            op,
            major,
            minor,
            patch,
            prerelease: prerelease.into(),
            wildcard,
        })
    }

    /// How `v` orders against this comparison's bound.
    fn order_of(&self, v: &Version) -> Ordering {
        v.cmp_parts(self.major, self.minor, self.patch, &self.prerelease)
    }

    /// Masterminds' per-operator check; `include_prerelease` comes from the group (or the caller).
    fn admits(&self, v: &Version, include_prerelease: bool) -> bool {
        if v.is_prerelease() && !include_prerelease {
            return false;
        }
        let minor_wild = self.wildcard == Wildcard::Minor;
        let patch_wild = self.wildcard == Wildcard::Patch;
        match self.op {
            Op::Equal if self.wildcard == Wildcard::None => self.order_of(v) == Ordering::Equal,
            Op::Equal | Op::Tilde => self.tilde(v),
            Op::NotEqual => match self.wildcard {
                Wildcard::None | Wildcard::Major => {
                    // A wild major reaches the exact test only for 0.0.z versions, so `!=*` excludes 0.0.0 alone.
                    v.major() != self.major
                        || v.minor() != self.minor
                        || v.patch() != self.patch
                        || self.order_of(v) != Ordering::Equal
                }
                Wildcard::Minor => v.major() != self.major,
                Wildcard::Patch => {
                    v.major() != self.major
                        || v.minor() != self.minor
                        || v.prerelease() != &*self.prerelease
                }
            },
            Op::Greater => match self.wildcard {
                Wildcard::None => self.order_of(v) == Ordering::Greater,
                _ if v.major() != self.major => v.major() > self.major,
                Wildcard::Minor => false,
                Wildcard::Patch => v.minor() > self.minor,
                Wildcard::Major => self.order_of(v) == Ordering::Greater,
            },
            Op::Less => self.order_of(v) == Ordering::Less,
            Op::GreaterOrEqual => self.order_of(v) != Ordering::Less,
            Op::LessOrEqual => match self.wildcard {
                Wildcard::None => self.order_of(v) != Ordering::Greater,
                _ => {
                    v.major() <= self.major
                        && (v.major() < self.major || minor_wild || v.minor() <= self.minor)
                }
            },
            Op::Caret => {
                if self.order_of(v) == Ordering::Less {
                    false
                } else if self.major > 0 || minor_wild {
                    v.major() == self.major
                } else if v.major() > 0 {
                    false
                } else if self.minor > 0 || patch_wild {
                    v.minor() == self.minor
                } else {
                    v.minor() == 0 && v.patch() == self.patch
                }
            }
        }
    }

    /// `~`: at least the bound, within its major, and within its minor unless the minor is wild; `~0.0.0`
    /// (but not `~0.x` or `~0.0.x`) admits everything from 0.0.0 up.
    fn tilde(&self, v: &Version) -> bool {
        if self.order_of(v) == Ordering::Less {
            return false;
        }
        let minor_wild = self.wildcard == Wildcard::Minor;
        if self.major == 0
            && self.minor == 0
            && self.patch == 0
            && !minor_wild
            && self.wildcard != Wildcard::Patch
        {
            return true;
        }
        v.major() == self.major && (minor_wild || v.minor() == self.minor)
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

/// Masterminds' `\s`: ASCII space, tab, newline, form feed and carriage return (not vertical tab).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// A character of a numeric part in a constraint version; `|` is one because Masterminds' character class
/// `[0-9|x|X|\*]` contains it (which makes `1 - 2||3 - 4` differ from `1 - 2 || 3 - 4`).
fn is_number_byte(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'x' | b'X' | b'*' | b'|')
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while b.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Byte spans of the parts of a constraint version.
#[derive(Clone, Copy, Debug)]
struct VersionParts {
    major: (usize, usize),
    minor: Option<(usize, usize)>,
    patch: Option<(usize, usize)>,
    prerelease: Option<(usize, usize)>,
}

/// Reads the longest constraint version `v?N(.N)?(.N)?(-P)?(+M)?` starting at byte `i`, returning where it
/// ends and its parts. Taking each optional piece whenever it can start is both what a backtracking regex
/// prefers and the longest reading, because each piece is announced by its own first character.
fn scan_version(b: &[u8], i: usize) -> Option<(usize, VersionParts)> {
    let run = |start: usize, class: fn(u8) -> bool| {
        let mut end = start;
        while b.get(end).copied().is_some_and(class) {
            end += 1;
        }
        (end > start).then_some((start, end))
    };
    let starts = |at: usize, lead: u8, class: fn(u8) -> bool| {
        b.get(at) == Some(&lead) && b.get(at + 1).copied().is_some_and(class)
    };
    let identifiers = |mut at: usize| {
        let start = at;
        loop {
            at = run(at, is_identifier_byte).map_or(at, |(_, end)| end);
            if starts(at, b'.', is_identifier_byte) {
                at += 1;
            } else {
                return (start, at);
            }
        }
    };
    let first = i + usize::from(b.get(i) == Some(&b'v'));
    let major = run(first, is_number_byte)?;
    let mut parts = VersionParts {
        major,
        minor: None,
        patch: None,
        prerelease: None,
    };
    let mut end = major.1;
    for slot in [&mut parts.minor, &mut parts.patch] {
        if !starts(end, b'.', is_number_byte) {
            break;
        }
        let span = run(end + 1, is_number_byte)?;
        *slot = Some(span);
        end = span.1;
    }
    if starts(end, b'-', is_identifier_byte) {
        let span = identifiers(end + 1);
        parts.prerelease = Some(span);
        end = span.1;
    }
    if starts(end, b'+', is_identifier_byte) {
        end = identifiers(end + 1).1;
    }
    Some((end, parts))
}

/// Rewrites every hyphen range `A - B` to `>= A, <= B ` as Masterminds' `rewriteRange` does: leftmost
/// matches of `\s*(cv)\s+-\s+(cv)\s*`, each replaced together with the whitespace it matched (so `>1 1 - 2`
/// becomes the unreadable `>1>= 1, <= 2 `, as in Masterminds).
fn rewrite_ranges(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    while pos < b.len() {
        let Some((start, end, low, high)) =
            (pos..b.len()).find_map(|i| range_at(b, i).map(|m| (i, m.0, m.1, m.2)))
        else {
            break;
        };
        out.push_str(&s[copied..start]);
        out.push_str(">= ");
        out.push_str(&s[low.0..low.1]);
        out.push_str(", <= ");
        out.push_str(&s[high.0..high.1]);
        out.push(' ');
        copied = end;
        pos = end;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(s);
    }
    out.push_str(&s[copied..]);
    std::borrow::Cow::Owned(out)
}

type Span = (usize, usize);

/// A hyphen range starting exactly at byte `i`: its end and the spans of its two versions.
fn range_at(b: &[u8], i: usize) -> Option<(usize, Span, Span)> {
    let low_start = skip_spaces(b, i);
    let (low_end, _) = scan_version(b, low_start)?;
    let dash = skip_spaces(b, low_end);
    if dash == low_end || b.get(dash) != Some(&b'-') {
        return None;
    }
    let high_start = skip_spaces(b, dash + 1);
    if high_start == dash + 1 {
        return None;
    }
    let (high_end, _) = scan_version(b, high_start)?;
    Some((
        skip_spaces(b, high_end),
        (low_start, low_end),
        (high_start, high_end),
    ))
}

/// Splits one `||` part into its comparisons, or `None` when Masterminds' validation pattern
/// `^\s*OP\s*CV\s*((\s+|,\s*)OP\s*CV\s*)*$` rejects it.
///
/// A version never contains whitespace, `,` or an operator character and must be followed by one of the
/// first two or the end, so each version is exactly the run up to the next whitespace or comma; and since no
/// version starts with an operator character, the longest operator is always the right one.
fn split_comparisons(part: &str) -> Option<Vec<(Op, &str, VersionParts)>> {
    const OPS: [(&str, Op); 11] = [
        ("!=", Op::NotEqual),
        (">=", Op::GreaterOrEqual),
        ("=>", Op::GreaterOrEqual),
        ("<=", Op::LessOrEqual),
        ("=<", Op::LessOrEqual),
        ("~>", Op::Tilde),
        ("=", Op::Equal),
        (">", Op::Greater),
        ("<", Op::Less),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let b = part.as_bytes();
    let mut items = Vec::new();
    let mut i = skip_spaces(b, 0);
    loop {
        let (op, len) = OPS
            .iter()
            .find(|(text, _)| part[i..].starts_with(text))
            .map_or((Op::Equal, 0), |&(t, op)| (op, t.len()));
        let start = skip_spaces(b, i + len);
        let end = b[start..]
            .iter()
            .position(|&c| is_space(c) || c == b',')
            .map_or(b.len(), |p| start + p);
        let text = &part[start..end];
        match scan_version(text.as_bytes(), 0) {
            Some((version_end, parts)) if version_end == text.len() => {
                items.push((op, text, parts))
            }
            _ => return None,
        }
        i = skip_spaces(b, end);
        if i == b.len() {
            return Some(items);
        }
        if b[i] == b',' {
            i = skip_spaces(b, i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn c(s: &str) -> Constraint {
        Constraint::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn check_rows(rows: &[(&str, &str, bool)], include_prerelease: bool) {
        for &(constraint, version, want) in rows {
            let (parsed, version_parsed) = (c(constraint), v(version));
            let got = if include_prerelease {
                parsed.matches_including_prerelease(&version_parsed)
            } else {
                parsed.matches(&version_parsed)
            };
            assert_eq!(
                got, want,
                "constraint {constraint:?} with version {version:?}"
            );
        }
    }

    /// Masterminds v3.4.0 `TestParseConstraint`: text, operator and bound, or `None` for an error.
    #[test]
    fn single_comparisons_parse_like_masterminds() {
        let cases = [
            (">= 1.2", Some((Op::GreaterOrEqual, "1.2.0"))),
            ("1.0", Some((Op::Equal, "1.0.0"))),
            ("foo", None),
            ("<= 1.2", Some((Op::LessOrEqual, "1.2.0"))),
            ("=< 1.2", Some((Op::LessOrEqual, "1.2.0"))),
            ("=> 1.2", Some((Op::GreaterOrEqual, "1.2.0"))),
            ("v1.2", Some((Op::Equal, "1.2.0"))),
            ("=1.5", Some((Op::Equal, "1.5.0"))),
            ("> 1.3", Some((Op::Greater, "1.3.0"))),
            ("< 1.4.1", Some((Op::Less, "1.4.1"))),
            ("< 40.50.10", Some((Op::Less, "40.50.10"))),
        ];
        for (input, want) in cases {
            let got = Constraint::parse(input).ok().map(|parsed| {
                let first = &parsed.groups[0].comparisons[0];
                (
                    first.op,
                    format!("{}.{}.{}", first.major, first.minor, first.patch),
                )
            });
            assert_eq!(
                got,
                want.map(|(op, bound)| (op, bound.to_owned())),
                "{input}"
            );
        }
    }

    /// Masterminds v3.4.0 `TestNewConstraint`: text, number of `||` alternatives, number of comparisons in the
    /// first, or `None` for an error.
    #[test]
    fn constraints_split_like_masterminds() {
        let cases = [
            (">= 1.1", Some((1, 1))),
            (">40.50.60, < 50.70", Some((1, 2))),
            ("2.0", Some((1, 1))),
            ("v2.3.5-20161202202307-sha.e8fc5e5", Some((1, 1))),
            (">= bar", None),
            ("BAR >= 1.2.3", None),
            (">= 1.2.3 < 2.0", Some((1, 2))),
            (">= 1.2.3 < 2.0 || => 3.0 < 4", Some((2, 2))),
            (">= 1.2.3, < 2.0", Some((1, 2))),
            (">= 1.2.3, < 2.0 || => 3.0, < 4", Some((2, 2))),
            ("3 - 4 || => 3.0, < 4", Some((2, 2))),
            ("12.3.4.1234", None),
            ("12.23.4.1234", None),
            ("12.3.34.1234", None),
            ("12.3.34 ~1.2.3", Some((1, 2))),
            ("12.3.34~ 1.2.3", None),
            ("1.0.0 - 2.0.0, <=2.0.0", Some((1, 3))),
        ];
        for (input, want) in cases {
            let got = Constraint::parse(input)
                .ok()
                .map(|p| (p.groups.len(), p.groups[0].comparisons.len()));
            assert_eq!(got, want, "{input}");
        }
    }

    /// Masterminds v3.4.0 `TestRewriteRange`: hyphen ranges become `>= A, <= B `.
    #[test]
    fn hyphen_ranges_are_rewritten_like_masterminds() {
        let cases = [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
            ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
            ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
            ("1.1-3", "1.1-3"),
        ];
        for (input, want) in cases {
            assert_eq!(rewrite_ranges(input), want, "{input}");
        }
    }

    /// Masterminds v3.4.0 `TestConstraintCheck` (single comparisons; a comparison with a prerelease lets
    /// prereleases through). Its rows for the empty string are in `empty_constraint_matches_everything`.
    #[test]
    fn single_comparisons_check_like_masterminds() {
        check_rows(
            &[
                ("=2.0.0", "1.2.3", false),
                ("=2.0.0", "2.0.0", true),
                ("=2.0", "1.2.3", false),
                ("=2.0", "2.0.0", true),
                ("=2.0", "2.0.1", true),
                ("4.1", "4.1.0", true),
                ("!=4.1.0", "4.1.0", false),
                ("!=4.1.0", "4.1.1", true),
                ("!=4.1", "4.1.0", false),
                ("!=4.1", "4.1.1", false),
                ("!=4.1", "5.1.0-alpha.1", false),
                ("!=4.1.0", "5.1.0-alpha.1", false),
                ("!=4.1-alpha", "4.1.0", true),
                ("!=4.1", "5.1.0", true),
                ("<11", "0.1.0", true),
                ("<11", "11.1.0", false),
                ("<1.1", "0.1.0", true),
                ("<1.1", "1.1.0", false),
                ("<1.1", "1.1.1", false),
                ("<=11", "1.2.3", true),
                ("<=11", "12.2.3", false),
                ("<=11", "11.2.3", true),
                ("<=1.1", "1.2.3", false),
                ("<=1.1", "0.1.0", true),
                ("<=1.1", "1.1.0", true),
                ("<=1.1", "1.1.1", true),
                (">1.1", "4.1.0", true),
                (">1.1", "1.1.0", false),
                (">0", "0", false),
                (">0", "1", true),
                (">0", "0.0.1-alpha", false),
                (">0.0", "0.0.1-alpha", false),
                (">0-0", "0.0.1-alpha", false),
                (">0.0-0", "0.0.1-alpha", false),
                (">0", "0.0.0-alpha", false),
                (">0-0", "0.0.0-alpha", false),
                (">0.0.0-0", "0.0.0-alpha", true),
                (">1.2.3-alpha.1", "1.2.3-alpha.2", true),
                (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
                (">11", "11.1.0", false),
                (">11.1", "11.1.0", false),
                (">11.1", "11.1.1", false),
                (">11.1", "11.2.1", true),
                (">=11", "11.1.2", true),
                (">=11.1", "11.1.2", true),
                (">=11.1", "11.0.2", false),
                (">=1.1", "4.1.0", true),
                (">=1.1", "1.1.0", true),
                (">=1.1", "0.0.9", false),
                (">=0", "0.0.1-alpha", false),
                (">=0.0", "0.0.1-alpha", false),
                (">=0-0", "0.0.1-alpha", true),
                (">=0.0-0", "0.0.1-alpha", true),
                (">=0", "0.0.0-alpha", false),
                (">=0-0", "0.0.0-alpha", true),
                (">=0.0.0-0", "0.0.0-alpha", true),
                (">=0.0.0-0", "1.2.3", true),
                (">=0.0.0-0", "3.4.5-beta.1", true),
                ("<0", "0.0.0-alpha", false),
                ("<0-z", "0.0.0-alpha", true),
                (">=0", "0", true),
                ("=0", "1", false),
                ("*", "1", true),
                ("*", "4.5.6", true),
                ("*", "1.2.3-alpha.1", false),
                ("*-0", "1.2.3-alpha.1", true),
                ("2.*", "1", false),
                ("2.*", "3.4.5", false),
                ("2.*", "2.1.1", true),
                ("2.1.*", "2.1.1", true),
                ("2.1.*", "2.2.1", false),
                ("2", "1", false),
                ("2", "3.4.5", false),
                ("2", "2.1.1", true),
                ("2.1", "2.1.1", true),
                ("2.1", "2.2.1", false),
                ("~1.2.3", "1.2.4", true),
                ("~1.2.3", "1.3.4", false),
                ("~1.2", "1.2.4", true),
                ("~1.2", "1.3.4", false),
                ("~1", "1.2.4", true),
                ("~1", "2.3.4", false),
                ("~0.2.3", "0.2.5", true),
                ("~0.2.3", "0.3.5", false),
                ("~1.2.3-beta.2", "1.2.3-beta.4", true),
                // Unlike npm, a prerelease bound admits prereleases of later patch versions too.
                ("~1.2.3-beta.2", "1.2.4-beta.2", true),
                ("~1.2.3-beta.2", "1.3.4-beta.2", false),
                ("^1.2.3", "1.8.9", true),
                ("^1.2.3", "2.8.9", false),
                ("^1.2.3", "1.2.1", false),
                ("^1.1.0", "2.1.0", false),
                ("^1.2.0", "2.2.1", false),
                ("^1.2.0", "1.2.1-alpha.1", false),
                ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
                ("^1.2.0-alpha.0", "1.2.1-alpha.0", true),
                ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
                ("^1.2", "1.8.9", true),
                ("^1.2", "2.8.9", false),
                ("^1", "1.8.9", true),
                ("^1", "2.8.9", false),
                ("^0.2.3", "0.2.5", true),
                ("^0.2.3", "0.5.6", false),
                ("^0.2", "0.2.5", true),
                ("^0.2", "0.5.6", false),
                ("^0.0.3", "0.0.3", true),
                ("^0.0.3", "0.0.4", false),
                ("^0.0", "0.0.3", true),
                ("^0.0", "0.1.4", false),
                ("^0.0", "1.0.4", false),
                ("^0", "0.2.3", true),
                ("^0", "1.1.4", false),
                ("^0.2.3-beta.2", "0.2.3-beta.4", true),
                ("^0.2.3-beta.2", "0.2.4-beta.2", true),
                ("^0.2.3-beta.2", "0.3.4-beta.2", false),
                ("^0.2.3-beta.2", "0.2.3-beta.2", true),
            ],
            false,
        );
    }

    /// The rows `TestConstraintsCheck` and `TestConstraintsCheckIncludePrerelease` of Masterminds v3.4.0 share:
    /// the answer is the same whether prereleases are included or not.
    const SHARED_ROWS: &[(&str, &str, bool)] = &[
        ("*", "1.2.3", true),
        ("~0.0.0", "1.2.3", true),
        ("0.x.x", "1.2.3", false),
        ("0.0.x", "1.2.3", false),
        ("0.0.0", "1.2.3", false),
        ("*", "1.2.3", true),
        ("^0.0.0", "1.2.3", false),
        ("= 2.0", "1.2.3", false),
        ("= 2.0", "2.0.0", true),
        ("4.1", "4.1.0", true),
        ("4.1.x", "4.1.3", true),
        ("1.x", "1.4", true),
        ("!=4.1", "4.1.0", false),
        ("!=4.1-alpha", "4.1.0-alpha", false),
        ("!=4.1-alpha", "4.1.1-alpha", false),
        ("!=4.1-alpha", "4.1.0", true),
        ("!=4.1", "5.1.0", true),
        ("!=4.x", "5.1.0", true),
        ("!=4.x", "4.1.0", false),
        ("!=4.1.x", "4.2.0", true),
        ("!=4.2.x", "4.2.3", false),
        (">1.1", "4.1.0", true),
        (">1.1", "1.1.0", false),
        ("<1.1", "0.1.0", true),
        ("<1.1", "1.1.0", false),
        ("<1.1", "1.1.1", false),
        ("<1.x", "1.1.1", false),
        ("<1.x", "0.1.1", true),
        ("<1.x", "2.0.0", false),
        ("<1.1.x", "1.2.1", false),
        ("<1.1.x", "1.1.500", false),
        ("<1.1.x", "1.0.500", true),
        ("<1.2.x", "1.1.1", true),
        (">=1.1", "4.1.0", true),
        (">=1.1", "1.1.0", true),
        (">=1.1", "0.0.9", false),
        ("<=1.1", "0.1.0", true),
        ("<=1.1-a", "0.1.0-alpha", true),
        ("<=1.1", "1.1.0", true),
        ("<=1.x", "1.1.0", true),
        ("<=2.x", "3.0.0", false),
        ("<=1.1", "1.1.1", true),
        ("<=1.1.x", "1.2.500", false),
        ("<=4.5", "3.4.0", true),
        ("<=4.5", "3.7.0", true),
        ("<=4.5", "4.6.3", false),
        (">1.1, <2", "1.1.1", false),
        (">1.1, <2", "1.2.1", true),
        (">1.1, <3", "4.3.2", false),
        (">=1.1, <2, !=1.2.3", "1.2.3", false),
        (">1.1 <2", "1.1.1", false),
        (">1.1 <2", "1.2.1", true),
        (">1.1    <3", "4.3.2", false),
        (">=1.1    <2    !=1.2.3", "1.2.3", false),
        (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
        (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
        (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
        (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
        (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
        (">=1.1 <2 !=1.2.3", "1.2.3", false),
        (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
        (">=1.1 <2 !=1.2.3 || > 3", "3.1.2", false),
        (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
        (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", false),
        (">=1.1 <2 !=1.2.3 || > 3", "1.2.3", false),
        ("> 1.1, <     2", "1.1.1", false),
        (">   1.1, <2", "1.2.1", true),
        (">1.1, <  3", "4.3.2", false),
        (">= 1.1, <     2, !=1.2.3", "1.2.3", false),
        ("> 1.1 < 2", "1.1.1", false),
        (">1.1 < 2", "1.2.1", true),
        ("> 1.1    <3", "4.3.2", false),
        (">=1.1    < 2    != 1.2.3", "1.2.3", false),
        (">= 1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
        (">= 1.1, <2, != 1.2.3 || > 3", "3.1.2", false),
        (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
        (">= 1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
        (">= 1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
        (">= 1.1 <2 != 1.2.3", "1.2.3", false),
        (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
        (">= 1.1 <2 != 1.2.3 || > 3", "3.1.2", false),
        (">= 1.1 <2 != 1.2.3 || >= 3", "3.0.0", true),
        (">= 1.1 < 2 !=1.2.3 || > 3", "3.0.0", false),
        (">=1.1 < 2 !=1.2.3 || > 3", "1.2.3", false),
        (">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true),
        (">= 1.0.0  <= 2.0.0-beta", "1.0.1", true),
        (">= 1.0.0  <= 2.0.0-beta", "3.0.0", false),
        (">= 1.0.0  <= 2.0.0-beta || > 3", "1.0.1-beta", true),
        (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
        (
            ">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3",
            "1.0.1-beta",
            true,
        ),
        (
            ">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3",
            "1.0.1-beta",
            false,
        ),
        (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
        ("1.1 - 2", "1.1.1", true),
        ("1.5.0 - 4.5", "3.7.0", true),
        ("1.1-3", "4.3.2", false),
        ("^1.1", "1.1.1", true),
        ("^1.1", "4.3.2", false),
        ("^1.x", "1.1.1", true),
        ("^2.x", "1.1.1", false),
        ("^1.x", "2.1.1", false),
        ("^1.1.2-alpha", "1.2.1-beta1", true),
        ("^1.2.x-alpha", "1.1.1-beta1", false),
        ("^0.0.1", "0.0.1", true),
        ("^0.0.1", "0.3.1", false),
        ("~*", "2.1.1", true),
        ("~1", "2.1.1", false),
        ("~1", "1.3.5", true),
        ("~1", "1.4", true),
        ("~1.x", "2.1.1", false),
        ("~1.x", "1.3.5", true),
        ("~1.x", "1.4", true),
        ("~1.1", "1.1.1", true),
        ("~1.1-alpha", "1.1.1-beta", true),
        ("~1.1.1-beta", "1.1.1-alpha", false),
        ("~1.1.1-beta", "1.1.1", true),
        ("~1.2.3", "1.2.5", true),
        ("~1.2.3", "1.2.2", false),
        ("~1.2.3", "1.3.2", false),
        ("~1.1", "1.2.3", false),
        ("~1.3", "2.4.5", false),
        // Ranges work together with other comparisons joined to them.
        ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
        ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
    ];

    /// Masterminds v3.4.0 `TestConstraintsCheck`.
    #[test]
    fn constraints_check_like_masterminds() {
        check_rows(SHARED_ROWS, false);
        // The rows of `TestConstraintsCheck` that exclude a prerelease version.
        check_rows(
            &[
                (">=1.1", "4.1.0-beta", false),
                ("<=1.1", "0.1.0-alpha", false),
                ("^1.x", "1.1.1-beta1", false),
                ("~1.1", "1.1.1-alpha", false),
            ],
            false,
        );
    }

    /// Masterminds v3.4.0 `TestConstraintsCheckIncludePrerelease`.
    #[test]
    fn constraints_check_including_prereleases_like_masterminds() {
        check_rows(
            &[
                (">=1.1", "4.1.0-beta", true),
                (">1.1", "4.1.0-beta", true),
                ("<=1.1", "0.1.0-alpha", true),
                ("<1.1", "0.1.0-alpha", true),
                ("^1.x", "1.1.1-beta1", true),
                ("~1.1", "1.1.1-alpha", true),
                ("*", "1.2.3-alpha", true),
                ("= 2.0", "2.0.1-beta", true),
            ],
            true,
        );
        check_rows(SHARED_ROWS, true);
    }

    /// Readings where Masterminds' regular expressions give surprising answers; each checked against
    /// Masterminds v3.4.0. `None` means a parse error.
    #[test]
    fn masterminds_quirks_are_reproduced() {
        let cases = [
            (
                "hyphen range after a comparison loses its space",
                ">1 1 - 2",
                "1.5.0",
                None,
            ),
            (
                "two hyphen ranges need spaces around ||",
                "1 - 2||3 - 4",
                "1.5.0",
                None,
            ),
            (
                "two hyphen ranges with spaced ||",
                "1 - 2 || 3 - 4",
                "3.5.0",
                Some(true),
            ),
            ("chained hyphen", "1 - 2 - 3", "1.5.0", None),
            ("hyphen needs spaces on both sides", "1 -2", "1.5.0", None),
            ("newline is whitespace", ">=1.0\n<2", "1.5.0", Some(true)),
            (
                "form feed is whitespace",
                ">=1.0\x0c<2",
                "1.5.0",
                Some(true),
            ),
            (
                "vertical tab is not whitespace",
                ">=1.0\x0b<2",
                "1.5.0",
                None,
            ),
            ("non-ASCII", ">=1.0 é", "1.5.0", None),
            ("wild major ignores the rest", "x.|", "3.5.0", Some(true)),
            ("wild minor ignores the patch", "1.x.|", "1.5.0", Some(true)),
            (
                "wild minor ignores a huge patch",
                "x.99999999999999999999",
                "1.5.0",
                Some(true),
            ),
            ("huge major", "99999999999999999999.x", "1.5.0", None),
            ("mixed wildcard", "1.2x", "1.2.0", None),
            ("caret star is 0.0.0 only", "^*", "0.0.0", Some(true)),
            ("caret star", "^*", "0.0.1", Some(false)),
            ("not-equal star excludes 0.0.0", "!=*", "0.0.0", Some(false)),
            ("not-equal star", "!=*", "0.0.1", Some(true)),
            ("at most star is 0.0.z", "<=*", "0.0.5", Some(true)),
            ("at most star", "<=*", "0.1.0", Some(false)),
            ("more than star excludes 0.0.0", ">*", "0.0.0", Some(false)),
            ("more than star", ">*", "0.0.1", Some(true)),
            ("star with prerelease", "*-0", "0.0.0-a", Some(true)),
            ("v on a wildcard", "vx", "1.5.0", Some(true)),
            ("v after an operator", "=v1", "1.5.0", Some(true)),
            ("leading-zero prerelease", ">=1.0.0-01", "1.5.0", None),
            (
                "leading-zero prerelease on a wildcard",
                ">=x-01",
                "1.5.0",
                None,
            ),
            (
                "leading-zero metadata is fine",
                "1.0.0+01",
                "1.0.0",
                Some(true),
            ),
            (
                "leading zeros in numbers are fine",
                ">=01.02",
                "1.2.0",
                Some(true),
            ),
            ("bare || part", "1.0 ||", "1.0.0", None),
            ("trailing comma", "1.0,", "1.0.0", None),
            ("double comma", "1.0,,2.0", "1.0.0", None),
            ("comma after space", ">=1.0 , <2", "1.5.0", Some(true)),
            // Forms argocd-image-updater users write that Masterminds' tables leave out.
            ("~> is ~", "~>1.2", "1.2.9", Some(true)),
            ("~> stops at the next minor", "~>1.2", "1.3.0", Some(false)),
            ("~> on a full version", "~> 1.2.3", "1.2.2", Some(false)),
            ("upper-case X", "1.X", "1.4.9", Some(true)),
            ("upper-case X keeps the major", "1.X", "2.0.0", Some(false)),
            ("upper-case X in the patch", "1.2.X", "1.2.7", Some(true)),
        ];
        for (name, constraint, version, want) in cases {
            let got = Constraint::parse(constraint)
                .ok()
                .map(|parsed| parsed.matches(&v(version)));
            assert_eq!(got, want, "{name}: {constraint:?} with {version}");
        }
    }

    /// Empty text means `*`, as argocd-image-updater reads it since argocd-image-updater#1758 (before that fix it
    /// applied no check, so prereleases won; Masterminds' own `NewConstraint("")` is an error).
    #[test]
    fn empty_constraint_is_star() {
        for text in ["", " ", "\t\n"] {
            let parsed = c(text);
            assert!(parsed.is_any(), "{text:?}");
            assert_eq!(parsed.as_str(), text, "{text:?}");
            for version in ["1", "4.5.6", "0.0.0"] {
                assert!(parsed.matches(&v(version)), "{text:?} with {version}");
            }
            assert!(
                !parsed.matches(&v("1.2.3-alpha.1")),
                "{text:?} skips prereleases"
            );
            assert!(
                parsed.matches_including_prerelease(&v("1.2.3-alpha.1")),
                "{text:?} with include-prerelease"
            );
        }
        assert!(Constraint::any().is_any());
        assert!(!Constraint::any().matches(&v("0.0.0-0")));
        assert!(!c("*").is_any());
    }

    #[test]
    fn text_is_kept_as_given() {
        for text in [">= 1.2,<2", "1 - 2 || ^3", "~1.x"] {
            let parsed: Constraint = text.parse().unwrap();
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn errors_name_the_input() {
        let cases = [
            (
                ">= bar",
                "invalid constraint '>= bar': cannot read '>= bar'; expected comparisons such as '>=1.2 <2', '~1.4', \
                 '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between alternatives",
            ),
            (
                "^1 || 12.3.4.1234",
                "invalid constraint '^1 || 12.3.4.1234': cannot read ' 12.3.4.1234'; expected comparisons such as \
                 '>=1.2 <2', '~1.4', '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between \
                 alternatives",
            ),
            (
                ">=1.2x",
                "invalid constraint '>=1.2x': '2x' in '1.2x' is neither a number (at most 18446744073709551615) nor \
                 a wildcard (x, X or *)",
            ),
            (
                "<99999999999999999999",
                "invalid constraint '<99999999999999999999': '99999999999999999999' in '99999999999999999999' is \
                 neither a number (at most 18446744073709551615) nor a wildcard (x, X or *)",
            ),
            (
                ">=1.0.0-rc.01",
                "invalid constraint '>=1.0.0-rc.01': prerelease 'rc.01' in '1.0.0-rc.01' has a numeric identifier \
                 starting with 0",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                Constraint::parse(input).unwrap_err().to_string(),
                want,
                "{input}"
            );
        }
    }

    fn constraint_like() -> impl Strategy<Value = String> {
        let item = "(!=|>=|=>|<=|=<|~>|[=><~^])?[ ]?v?[0-9xX*|]{1,2}(\\.[0-9xX*]{1,2}){0,3}(-[0-9a-z.-]{1,4})?(\\+[0-9a-z]{1,2})?";
        let sep = prop_oneof![
            Just(" "),
            Just(","),
            Just(", "),
            Just(" - "),
            Just(" || "),
            Just("||"),
            Just("  ")
        ];
        (
            prop::collection::vec(item, 1..5),
            prop::collection::vec(sep, 4),
        )
            .prop_map(|(items, seps)| {
                items
                    .iter()
                    .zip(seps.iter().chain(std::iter::repeat(&" ")))
                    .fold(String::new(), |mut acc, (i, s)| {
                        if !acc.is_empty() {
                            acc.push_str(s);
                        }
                        acc.push_str(i);
                        acc
                    })
            })
    }

    fn version_like() -> impl Strategy<Value = Version> {
        "[0-3](\\.[0-3]){0,2}(-(alpha|beta|0|1|rc\\.1))?".prop_map(|s| v(&s))
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Constraint::parse(&s);
        }

        #[test]
        fn including_prereleases_only_widens(text in constraint_like(), version in version_like()) {
            if let Ok(parsed) = Constraint::parse(&text) {
                let (plain, wide) = (parsed.matches(&version), parsed.matches_including_prerelease(&version));
                prop_assert!(!plain || wide, "{:?} admits {} only without prereleases", text, version);
                if !version.is_prerelease() {
                    prop_assert_eq!(plain, wide, "{:?} with release {}", text, version);
                }
            }
        }
    }
}
