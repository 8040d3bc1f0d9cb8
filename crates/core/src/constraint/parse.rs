//! Reading constraint text exactly as Masterminds' regular expressions do: hyphen ranges rewritten, `||` parts
//! split into comparisons, each comparison's version read into its parts and wildcards.

use super::{Comparison, ConstraintError, Op, Wildcard};
use crate::version::{is_identifier_byte, leading_zero_identifier};

impl Comparison {
    /// Builds a comparison from an operator, its version text and that text's parts, as Masterminds'
    /// `parseConstraint`; `input` is the whole constraint, for errors.
    pub(super) fn new(
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
pub(super) struct VersionParts {
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
pub(super) fn rewrite_ranges(s: &str) -> std::borrow::Cow<'_, str> {
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
pub(super) fn split_comparisons(part: &str) -> Option<Vec<(Op, &str, VersionParts)>> {
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
