//! What both editors share: their error, how a new scalar is written (keeping the old one's quoting, plain only
//! when every YAML reader reads it back as the same string), and where text goes in a block or flow collection.

use std::fmt::Write as _;

use saphyr_parser::ScalarStyle;
use thiserror::Error;

use super::yaml::{Doc, Kind, Node};
use crate::manifest::text;
use crate::manifest::{Edit, splice};

/// Why a file could not be edited: the file, and what in it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{file}: {problem}")]
pub struct FileEditError {
    /// The file as the caller named it.
    pub file: String,
    pub problem: EditError,
}

/// What stops an edit. Messages name the key (the values path, or the kustomization entry) and say what to do.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EditError {
    #[error("invalid YAML at line {line}, column {column}: {message}")]
    Yaml {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "cannot find the text at line {line}, column {column}: the parser's position does not match the text; \
         please report this with the file"
    )]
    Position { line: usize, column: usize },
    #[error("the file holds more than one YAML document; it must hold one")]
    Documents,
    #[error("cannot set {path}: the document is {found}, not a mapping")]
    Root { path: String, found: &'static str },
    #[error("cannot set {path}: {at} is {found}, not a mapping")]
    NotMapping {
        path: String,
        at: String,
        found: &'static str,
    },
    #[error("cannot set {path}: {at} is {found}, not a list")]
    NotList {
        path: String,
        at: String,
        found: &'static str,
    },
    #[error("cannot set {path}: {at} has {len} item(s), so there is no item [{index}]")]
    Index {
        path: String,
        at: String,
        index: usize,
        len: usize,
    },
    #[error(
        "cannot set {path}: there is no {at} to take item [{index}] of; list items are never created"
    )]
    NoList {
        path: String,
        at: String,
        index: usize,
    },
    #[error("cannot set {path}: it is {found}, not a plain or quoted value")]
    NotValue { path: String, found: &'static str },
    #[error("cannot set {path}: it has a tag other than !!str, so a string does not belong there")]
    Tagged { path: String },
    #[error(
        "cannot set {path}: {at} is an alias (*{anchor}), so the value is the anchor's; editing it would change \
         every place the anchor is used; write the value out at {at}"
    )]
    Alias {
        path: String,
        at: String,
        anchor: String,
    },
    #[error(
        "cannot set {path}: {at} is anchored (&{anchor}) and used elsewhere through an alias, so editing it would \
         change those places too; write the value out where it is used"
    )]
    Shared {
        path: String,
        at: String,
        anchor: String,
    },
    #[error(
        "cannot set {path}: {at} has a merge key (<<), and {key} may come from it; write {key} out in {at}"
    )]
    Merge {
        path: String,
        at: String,
        key: String,
    },
    #[error(
        "images holds {count} entries named '{name}'; kustomize applies one, so remove the others"
    )]
    DuplicateImage { name: String, count: usize },
    #[error(
        "cannot add {path} after the block scalar that ends the file without a line break: the line break before \
         the new line would become part of that value; end the file with a line break first"
    )]
    BlockScalarAtEnd { path: String },
    /// The edited text does not read back (a bug or a parser's quirk), reported rather than written.
    #[error(
        "the edited file would not read back ({0}); set the value by hand, and please report this with the file"
    )]
    Unreadable(String),
    /// The editor's own edits collide: a bug, reported rather than written.
    #[error("the edits collide ({0}); please report this with the file")]
    Overlap(String),
}

impl EditError {
    /// This error about `file`.
    pub fn in_file(self, file: &str) -> FileEditError {
        FileEditError {
            file: file.to_string(),
            problem: self,
        }
    }
}

/// How a written scalar is quoted when it cannot be plain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quote {
    Double,
    Single,
}

/// `value` as scalar text: in the style of the scalar it replaces (`like`), or for a new one plain when safe and
/// else quoted with `prefer`. A plain scalar only when every reader takes it back as this string.
pub(crate) fn scalar_text(
    value: &str,
    like: Option<ScalarStyle>,
    flow: bool,
    prefer: Quote,
) -> String {
    let quote = match like {
        Some(ScalarStyle::SingleQuoted) => Quote::Single,
        Some(ScalarStyle::DoubleQuoted) => Quote::Double,
        _ if plain_reads_back(value, flow) => return value.to_string(),
        _ => prefer,
    };
    match quote {
        Quote::Single => text::single_quoted(value).unwrap_or_else(|| text::double_quoted(value)),
        Quote::Double => text::double_quoted(value),
    }
}

/// A key as written in a new entry: plain when safe, else double-quoted (or all double-quoted in a JSON file).
pub(crate) fn key_text(key: &str, flow: bool, json: bool) -> String {
    if !json && plain_reads_back(key, flow) {
        key.to_string()
    } else {
        text::double_quoted(key)
    }
}

/// Whether `value` written plain reads back as this same string to YAML 1.2 readers (kustomize) and to YAML 1.1
/// ones (Helm's, through go-yaml v2): not null, a boolean (`yes`, `on` too), a number (`1.20`, `0x1f`, `0X1F`,
/// `1_000`, `1:20`, `.inf`), a date, go-yaml's merge key `<<` and YAML 1.1's value key `=`, and nothing YAML gives
/// a meaning (indicators, `: `, ` #`, flow characters in flow context).
/// `1.2.3`, `v1.2`, `main-4f2a` stay plain.
pub(crate) fn plain_reads_back(value: &str, flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`~".contains(first)
        || value.ends_with([' ', '\t', ':'])
        || value.starts_with([' ', '\t'])
        || value.contains(": ")
        || value.contains(" #")
        || value.contains(":\t")
        || value.contains("\t#")
        || !value
            .chars()
            .all(|c| text::is_plain_printable(c) && c != '\t')
        || (flow && value.contains([',', '[', ']', '{', '}', ':']))
    {
        return false;
    }
    if !text::plain_is_string(value) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~" | "<<" | "="
    ) {
        return false;
    }
    !(go_yaml_v2_number(value) || looks_like_date(value))
}

/// go-yaml v2's (and v3's) numbers: integers as Go's `ParseInt(s, 0, 64)` reads them once every `_` is dropped
/// (base prefixes in either case: `0X1F`, `+0o17`, `0B1_0`), floats of its float pattern, YAML 1.1 sexagesimal.
fn go_yaml_v2_number(value: &str) -> bool {
    let plain: String = value.chars().filter(|&c| c != '_').collect();
    let unsigned = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
    let all = |s: &str, f: fn(char) -> bool| !s.is_empty() && s.chars().all(f);
    let base = |prefix: char| {
        unsigned
            .strip_prefix('0')
            .and_then(|rest| rest.strip_prefix([prefix, prefix.to_ascii_uppercase()]))
    };
    let integer = all(unsigned, |c| c.is_ascii_digit())
        || base('x').is_some_and(|h| all(h, |c| c.is_ascii_hexdigit()))
        || base('o').is_some_and(|o| all(o, |c| ('0'..='7').contains(&c)))
        || base('b').is_some_and(|b| all(b, |c| c == '0' || c == '1'));
    // `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, and `.inf`/`.nan` (already not strings in 1.2).
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => all(frac, |c| c.is_ascii_digit()),
        Some((int, frac)) => {
            all(int, |c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit())
        }
        None => all(mantissa, |c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        all(e.strip_prefix(['-', '+']).unwrap_or(e), |c| {
            c.is_ascii_digit()
        })
    });
    let sexagesimal = unsigned.contains(':')
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.');
    integer || (mantissa_ok && exponent_ok) || sexagesimal
}

/// A YAML 1.1 timestamp's start (`2001-12-14`): some readers turn it into a date.
fn looks_like_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && value[5..].split_once('-').is_some_and(|(month, rest)| {
            month.len() <= 2 && rest.bytes().next().is_some_and(|c| c.is_ascii_digit())
        })
}

/// The line break new lines at `at` use: the one ending its line, else (on the last line) the one before it, else
/// `\n`.
pub(crate) fn line_break(src: &str, at: usize) -> &'static str {
    if src[at..].contains(['\r', '\n']) {
        return text::line_break_at(src, at);
    }
    match src[..at].rfind(['\r', '\n']) {
        Some(n) if src.as_bytes()[n] == b'\r' => "\r",
        Some(n) if n > 0 && src.as_bytes()[n - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The end of the line holding `at` (before its line break): where text goes after a block node and its comment.
pub(crate) fn line_end(src: &str, at: usize) -> usize {
    src[at..].find(['\r', '\n']).map_or(src.len(), |n| at + n)
}

/// The indentation step of a file's block mappings (the first nested mapping's), 2 when it has none.
pub(crate) fn indent_unit(doc: &Doc<'_>) -> usize {
    fn find(src: &str, node: &Node<'_>) -> Option<usize> {
        match &node.kind {
            Kind::Map {
                flow: false,
                entries,
            } => entries.iter().find_map(|(key, value)| match &value.kind {
                Kind::Map { flow: false, .. } => {
                    let step =
                        text::column(src, value.body).checked_sub(text::column(src, key.start))?;
                    (step > 0).then_some(step).or_else(|| find(src, value))
                }
                _ => find(src, value),
            }),
            Kind::Map { flow: true, .. } => None,
            Kind::Seq { items, .. } => items.iter().find_map(|item| find(src, item)),
            _ => None,
        }
    }
    doc.root
        .as_ref()
        .and_then(|root| find(doc.src, root))
        .filter(|&step| step <= 8)
        .unwrap_or(2)
}

/// The quote new values get when they must be quoted: single when the file's quoted scalars are all single-quoted,
/// else double.
pub(crate) fn preferred_quote(doc: &Doc<'_>) -> Quote {
    fn count(node: &Node<'_>, single: &mut usize, double: &mut usize) {
        match &node.kind {
            Kind::Scalar {
                style: ScalarStyle::SingleQuoted,
                ..
            } => *single += 1,
            Kind::Scalar {
                style: ScalarStyle::DoubleQuoted,
                ..
            } => *double += 1,
            Kind::Map { entries, .. } => entries.iter().for_each(|(_, v)| count(v, single, double)),
            Kind::Seq { items, .. } => items.iter().for_each(|i| count(i, single, double)),
            _ => {}
        }
    }
    let (mut single, mut double) = (0, 0);
    if let Some(root) = &doc.root {
        count(root, &mut single, &mut double);
    }
    if single > 0 && double == 0 {
        Quote::Single
    } else {
        Quote::Double
    }
}

/// Whether a flow mapping's keys are written as JSON (double-quoted): new keys follow.
pub(crate) fn json_keys(node: &Node<'_>) -> bool {
    match &node.kind {
        Kind::Map { entries, .. } => entries.first().is_some_and(|(k, _)| {
            matches!(
                k.kind,
                Kind::Scalar {
                    style: ScalarStyle::DoubleQuoted,
                    ..
                }
            )
        }),
        _ => false,
    }
}

/// Lines of a new block mapping `key: value` nested as `path` (`image`, `tag` → `image:\n  tag: v`), each line
/// after a line break, the first at `indent` columns.
pub(crate) fn block_lines(
    keys: &[&str],
    value: &str,
    indent: usize,
    unit: usize,
    brk: &str,
) -> String {
    let mut out = String::new();
    for (depth, key) in keys.iter().enumerate() {
        let _ = write!(
            out,
            "{brk}{:width$}{}:",
            "",
            key_text(key, false, false),
            width = indent + depth * unit
        );
    }
    out.push(' ');
    out.push_str(value);
    out
}

/// A flow mapping `{a: {b: value}}` for keys after the first (which the caller writes), for a flow context.
pub(crate) fn flow_value(keys: &[&str], value: &str, json: bool) -> String {
    let mut out = value.to_string();
    for key in keys.iter().rev() {
        out = format!("{{{}: {out}}}", key_text(key, true, json));
    }
    out
}

/// What goes between a flow collection's last value `node` and a `, next` written after it: a blank when the value
/// is empty just after its `:` (`{a:, b}` would make the `:` part of a plain key for some readers).
pub(crate) fn flow_gap(src: &str, node: &Node<'_>) -> &'static str {
    if node.body == node.end && src[..node.end].ends_with(':') {
        " "
    } else {
        ""
    }
}

/// Where a new item of a flow collection goes, and what separates it from the one before: after the last item
/// `last` (`, `, or ` , ` when the last value is empty), else just inside the opening bracket at `body`.
pub(crate) fn flow_append(
    src: &str,
    last: Option<&Node<'_>>,
    body: usize,
) -> (usize, &'static str) {
    match last {
        Some(last) if flow_gap(src, last).is_empty() => (last.end, ", "),
        Some(last) => (last.end, " , "),
        None => (body + 1, ""),
    }
}

/// Applies `edits`, insertions at one place joined in the order they were made (a value written into an empty
/// `key:` and the keys added after it, say).
pub(crate) fn apply(src: &str, edits: Vec<Edit>) -> Result<String, EditError> {
    let mut edits: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    edits.sort_by_key(|(n, e)| (e.range.start, e.range.end, *n));
    let mut joined: Vec<Edit> = Vec::with_capacity(edits.len());
    for (_, edit) in edits {
        match joined.last_mut() {
            Some(last)
                if last.range.is_empty()
                    && edit.range.is_empty()
                    && last.range.start == edit.range.start =>
            {
                last.text.push_str(&edit.text);
            }
            _ => joined.push(edit),
        }
    }
    let out = splice(src, &joined).map_err(|e| EditError::Overlap(e.to_string()))?;
    // What is written must read back, by this reader too (the next edit starts from it).
    if let Err(e) = super::yaml::parse(&out) {
        return Err(EditError::Unreadable(e.to_string()));
    }
    Ok(out)
}

/// Refuses text inserted at `at` when that is the end of a file without a final line break and the last value is a
/// block scalar that keeps its final line break (`|`, `>`, `|+`): the break before the new text would join it.
pub(crate) fn check_tail(doc: &Doc<'_>, at: usize, path: &str) -> Result<(), EditError> {
    let src = doc.src;
    if at != src.len() || src.ends_with(['\n', '\r']) {
        return Ok(());
    }
    let mut node = match &doc.root {
        Some(root) => root,
        None => return Ok(()),
    };
    loop {
        node = match &node.kind {
            Kind::Map { entries, .. } => match entries.last() {
                Some((_, value)) => value,
                None => return Ok(()),
            },
            Kind::Seq { items, .. } => match items.last() {
                Some(item) => item,
                None => return Ok(()),
            },
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => {
                let header = &src[node.body
                    ..src[node.body..]
                        .find(['\n', '\r'])
                        .map_or(src.len(), |n| node.body + n)];
                let strip = header.split('#').next().unwrap_or_default().contains('-');
                return if strip {
                    Ok(())
                } else {
                    Err(EditError::BlockScalarAtEnd {
                        path: path.to_string(),
                    })
                };
            }
            _ => return Ok(()),
        };
    }
}
