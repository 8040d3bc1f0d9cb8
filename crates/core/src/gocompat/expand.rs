//! Go's `Regexp.Expand` (<https://pkg.go.dev/regexp#Regexp.Expand>): a [`Template`] of `$name`, `${name}`, `$1`,
//! `${1}` references parsed once against a pattern's groups, then expanded for each match.

use std::sync::LazyLock;

use regex::Regex;

/// A `Regexp.Expand` template, parsed for one pattern's groups.
///
/// Go's rules: `$name`, `${name}`, `$1`, `${1}`; `$$` is a `$`; the longest run of letters, digits and `_` is the
/// name, so `$1x` means the group named `1x` (write `${1}x`); a number with a leading zero is a name; an unknown
/// group expands to nothing; a `$` not followed by a valid reference stays as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    text: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `template` for a pattern whose capture names by group index are `names` (index 0 the whole match, as
    /// [`GoRegex::subexp_names`](super::regexp::GoRegex::subexp_names) gives them).
    ///
    /// ```
    /// use argocd_image_resolver_core::gocompat::expand::Template;
    /// use argocd_image_resolver_core::gocompat::regexp::GoRegex;
    ///
    /// let re = GoRegex::new(r"(?P<major>\d+)\.(\d+)").unwrap();
    /// let template = Template::parse("${major}x$2$nope", re.subexp_names());
    /// let captures = re.captures("v1.25").unwrap();
    /// assert_eq!(template.expand(|i| captures.get(i).map(|m| m.as_str())), "1x25");
    /// ```
    pub fn parse(template: &str, names: &[Option<String>]) -> Template {
        Template {
            text: template.to_string(),
            pieces: parse_template(template, names),
        }
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether every match expands to the same text: the template refers to no group the pattern has.
    pub fn is_constant(&self) -> bool {
        self.pieces
            .iter()
            .all(|piece| matches!(piece, Piece::Literal(_)))
    }

    /// The expansion for one match, where `group(i)` is the text of group `i`, or `None` when it did not take part
    /// in the match (Go's `match []int`).
    pub fn expand<'h>(&self, group: impl Fn(usize) -> Option<&'h str>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            let text = match piece {
                Piece::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Group(index) => group(*index),
                Piece::Named(indices) => indices.iter().find_map(|&index| group(index)),
            };
            if let Some(text) = text {
                out.push_str(text);
            }
        }
        out
    }
}

/// A parsed piece of an expansion template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
    /// The groups with a referenced name, in order; the first that took part in the match is used.
    Named(Vec<usize>),
}

/// A reference name after `$`: Unicode letters and decimal digits and `_`, as Go's `extract` reads them.
static REFERENCE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A[\p{L}\p{Nd}_]+").expect("a constant pattern compiles"));

/// Go's `Regexp.expand` with the template parsed ahead of matching; references to groups that do not exist are
/// dropped here, since they always expand to nothing.
fn parse_template(template: &str, names: &[Option<String>]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        literal.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            literal.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            literal.push('$');
            continue;
        };
        rest = after;
        let piece = match reference_number(name) {
            Some(index) if index < names.len() => Piece::Group(index),
            Some(_) => continue,
            None => {
                let indices: Vec<usize> = (1..names.len())
                    .filter(|&i| names[i].as_deref() == Some(name))
                    .collect();
                if indices.is_empty() {
                    continue;
                }
                Piece::Named(indices)
            }
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// The first reference in `template` to a group that `names` (the pattern's, index 0 the whole match) lacks.
pub fn unknown_reference<'t>(template: &'t str, names: &[Option<String>]) -> Option<&'t str> {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            continue;
        };
        rest = after;
        let known = match reference_number(name) {
            Some(index) => index < names.len(),
            None => names.iter().skip(1).any(|n| n.as_deref() == Some(name)),
        };
        if !known {
            return Some(name);
        }
    }
    None
}

/// Go's `extract`: the name of a `name` or `{name}` reference at the start of `s`, and the text after it.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let name = REFERENCE_NAME.find(body)?.as_str();
    let after = &body[name.len()..];
    let after = if braced {
        after.strip_prefix('}')?
    } else {
        after
    };
    Some((name, after))
}

/// The group number a reference name denotes, if it is one: ASCII digits, no leading zero, below Go's 1e8 cap.
fn reference_number(name: &str) -> Option<usize> {
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    let mut number: usize = 0;
    for b in name.bytes() {
        if !b.is_ascii_digit() || number >= 100_000_000 {
            return None;
        }
        number = number * 10 + usize::from(b - b'0');
    }
    Some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as `GoRegex::subexp_names` gives them for `(\d)(?P<ts>\d)(?P<1a>x)`.
    fn names() -> Vec<Option<String>> {
        vec![None, None, Some("ts".to_string()), Some("1a".to_string())]
    }

    #[test]
    fn finds_references_to_missing_groups() {
        let cases = [
            ("known number", "$1", None),
            ("whole match", "${0}", None),
            ("known name", "$ts", None),
            ("name with a leading digit", "$1a", None),
            ("number past the last group", "$4", Some("4")),
            ("unknown name", "x$nope", Some("nope")),
            ("longest name", "$1x", Some("1x")),
            ("leading zero is a name", "$01", Some("01")),
            ("first of two", "$9${zz}", Some("9")),
            ("dollar dollar", "$$nope", None),
            ("no reference", "a$-${", None),
        ];
        for (name, template, want) in cases {
            assert_eq!(unknown_reference(template, &names()), want, "{name}");
        }
    }

    #[test]
    fn constant_templates_refer_to_no_existing_group() {
        let cases = [
            ("literal", "fixed", true),
            ("empty", "", true),
            ("missing group", "v$9", true),
            ("dollar dollar", "$$1", true),
            ("number", "v$1", false),
            ("name", "${ts}", false),
        ];
        for (name, template, want) in cases {
            assert_eq!(
                Template::parse(template, &names()).is_constant(),
                want,
                "{name}"
            );
        }
    }
}
