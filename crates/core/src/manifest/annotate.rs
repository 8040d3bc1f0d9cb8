//! Add or replace annotations of an object by inserting text that matches its layout (block, flow, JSON).

use std::ops::Range;

use saphyr_parser::ScalarStyle as ParserStyle;

use super::scan::{AnchorName, Object, scalar_span};
use super::splice::Edit;
use super::text;
use super::tree::{Map, Node, Scalar};

/// Why an annotation cannot be set; the messages name the object and what is in the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotateError {
    #[error("cannot annotate {object}: its {field} is {found}, not a mapping; make it a mapping")]
    NotAMapping {
        object: String,
        field: &'static str,
        found: &'static str,
    },
    #[error(
        "cannot set annotation '{key}' on {object}: its current value is {found}, not a string; make it a string"
    )]
    NotAString {
        object: String,
        key: String,
        found: &'static str,
    },
    #[error(
        "cannot annotate {object}: the place of its {field} in the text was not found; please report this with the input"
    )]
    NotFound { object: String, field: String },
    #[error(
        "cannot annotate {object}: {anchor} shares its metadata with other places, which would be annotated too; \
         write the metadata out instead of sharing it through the anchor"
    )]
    Shared { object: String, anchor: String },
}

/// Where annotations go in one object, recorded while scanning so that no text is needed later.
#[derive(Debug)]
pub(crate) struct Site {
    /// The object's line break, as its first line ends (`\r\n` in CRLF text, `\r` in CR-only text).
    nl: &'static str,
    /// Indentation step of nested block mappings.
    step: usize,
    root: Slot,
    metadata: Slot,
    /// Meaningful only when `metadata` is a mapping.
    annotations: Slot,
    /// Existing annotations (in order) and where their values are.
    values: Vec<(String, Spot)>,
    /// The anchor that shares the object, its metadata or its annotations with other places, for the message.
    shared: Option<String>,
}

#[derive(Debug)]
enum Slot {
    Missing,
    Map(MapAt),
    /// `key:`, `key: null`, `key: ~`.
    Null(Spot),
    Unusable(Problem),
}

/// A value's place: replace these bytes, or insert after this `:`.
#[derive(Debug)]
enum Spot {
    Replace(Range<usize>),
    AfterColon(usize),
    Unusable(Problem),
}

#[derive(Clone, Copy, Debug)]
enum Problem {
    /// The value is something else ("a sequence").
    Is(&'static str),
    /// The text does not hold what the parser reported.
    NotFound,
}

#[derive(Debug)]
struct MapAt {
    flow: bool,
    /// The `{` of a flow mapping.
    open: usize,
    first: Option<FirstKey>,
}

#[derive(Debug)]
struct FirstKey {
    /// Where to insert before the first entry (its `?` when it has one).
    at: usize,
    /// Its column, in characters.
    col: usize,
    /// In a flow mapping: the white space before it when it starts its own line (pretty-printed JSON).
    indent: Option<String>,
}

impl Site {
    pub(crate) fn new(src: &str, root: &Map<'_>, shared: Option<AnchorName>) -> Self {
        let nl = text::line_break_at(src, root.pos.byte);
        let metadata_entry = root.entry("metadata");
        let metadata = slot(src, metadata_entry);
        let (annotations, values, step) = match metadata_entry.map(|(k, v)| (k, v.peel())) {
            Some((key, Node::Map(meta))) => {
                let step = match &metadata {
                    Slot::Map(MapAt {
                        flow: false,
                        first: Some(first),
                        ..
                    }) if first.col > key.pos.col => first.col - key.pos.col,
                    _ => 2,
                };
                let entry = meta.entry("annotations");
                let values = match entry.map(|(_, v)| v.peel()) {
                    Some(Node::Map(a)) => a
                        .entries
                        .iter()
                        .map(|(k, v)| (k.value.to_string(), spot(src, k, v)))
                        .collect(),
                    _ => Vec::new(),
                };
                (slot(src, entry), values, step)
            }
            _ => (Slot::Missing, Vec::new(), 2),
        };
        Self {
            nl,
            step,
            root: map_at(src, root),
            metadata,
            annotations,
            values,
            shared: shared.map(|a| a.to_string()),
        }
    }
}

fn slot(src: &str, entry: Option<&(Scalar<'_>, Node<'_>)>) -> Slot {
    match entry.map(|(k, v)| (k, v.peel())) {
        None => Slot::Missing,
        Some((_, Node::Map(m))) => map_at(src, m),
        Some((key, value @ Node::Scalar(s)))
            if s.style == ParserStyle::Plain && !s.props && text::is_core_null(&s.value) =>
        {
            Slot::Null(spot(src, key, value))
        }
        Some((_, value)) => Slot::Unusable(Problem::Is(value.describe())),
    }
}

fn map_at(src: &str, map: &Map<'_>) -> Slot {
    let open = map.pos.byte;
    let Some(first) = map.first_key else {
        // Only a flow mapping can be empty.
        return if map.flow {
            Slot::Map(MapAt {
                flow: true,
                open,
                first: None,
            })
        } else {
            Slot::Unusable(Problem::NotFound)
        };
    };
    let mut at = first.byte;
    if at > src.len() {
        return Slot::Unusable(Problem::NotFound);
    }
    let line_start = text::line_start(src, at);
    let before = &src[line_start..at];
    let indent = if map.flow {
        let own_line =
            src[open..at].contains(['\n', '\r']) && before.chars().all(char::is_whitespace);
        own_line.then(|| before.to_owned())
    } else {
        // An explicit key (`? key`) is inserted before at its `?`.
        let trimmed = before.trim_end_matches(' ');
        if let Some(rest) = trimmed.strip_suffix('?')
            && (rest.is_empty() || rest.ends_with([' ', '-']))
        {
            at = line_start + rest.len();
        }
        None
    };
    let col = text::column(src, at);
    Slot::Map(MapAt {
        flow: map.flow,
        open,
        first: Some(FirstKey { at, col, indent }),
    })
}

/// Where the value of `key` is, to replace it (or, when empty, to insert after the `:`).
fn spot(src: &str, key: &Scalar<'_>, value: &Node<'_>) -> Spot {
    let Node::Scalar(s) = value.peel() else {
        return Spot::Unusable(Problem::Is(value.describe()));
    };
    let not_found = Spot::Unusable(Problem::NotFound);
    let after_colon = || text::after_colon(src, scalar_span(src, key)?.end);
    match s.style {
        ParserStyle::Plain if s.value.is_empty() => {
            after_colon().map_or(not_found, Spot::AfterColon)
        }
        ParserStyle::Literal | ParserStyle::Folded => {
            // The parser's marker points at the first content line, so find the indicator from the key.
            let Some(colon) = after_colon() else {
                return not_found;
            };
            let start = text::value_start(src, colon);
            if !matches!(src.as_bytes().get(start), Some(b'|' | b'>')) {
                return not_found;
            }
            Spot::Replace(start..text::block_end(src, start, key.pos.col))
        }
        _ => scalar_span(src, s).map_or(not_found, Spot::Replace),
    }
}

/// A value to write: a (quoted) scalar, or a mapping of them.
enum Val {
    Leaf(String),
    Map(Vec<(String, Val)>),
}

fn render_block(entries: &[(String, Val)], col: usize, step: usize, nl: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| {
            let mut s = text::key_text(k, false);
            s.push(':');
            match v {
                Val::Leaf(t) => {
                    s.push(' ');
                    s.push_str(t);
                }
                Val::Map(children) => {
                    s.push_str(nl);
                    s.push_str(&" ".repeat(col + step));
                    s.push_str(&render_block(children, col + step, step, nl));
                }
            }
            s
        })
        .collect();
    parts.join(&format!("{nl}{}", " ".repeat(col)))
}

/// JSON-compatible flow text: every key and value double-quoted.
fn render_flow(entries: &[(String, Val)], separator: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| match v {
            Val::Leaf(t) => format!("{}: {t}", text::key_text(k, true)),
            Val::Map(children) => format!(
                "{}: {{{}}}",
                text::key_text(k, true),
                render_flow(children, ", ")
            ),
        })
        .collect();
    parts.join(separator)
}

impl Site {
    /// The edit adding `entries` to the mapping at `map`, laid out like its existing entries.
    fn insert(&self, map: &MapAt, entries: &[(String, Val)]) -> Option<Edit> {
        let nl = self.nl;
        let (at, text) = match (&map.first, map.flow) {
            (Some(first), false) => {
                let pad = " ".repeat(first.col);
                (
                    first.at,
                    format!(
                        "{}{nl}{pad}",
                        render_block(entries, first.col, self.step, nl)
                    ),
                )
            }
            (None, false) => return None,
            (None, true) => (map.open + 1, render_flow(entries, ", ")),
            (
                Some(FirstKey {
                    indent: Some(indent),
                    ..
                }),
                true,
            ) => (
                map.open + 1,
                format!(
                    "{nl}{indent}{},",
                    render_flow(entries, &format!(",{nl}{indent}"))
                ),
            ),
            (Some(_), true) => (map.open + 1, format!("{}, ", render_flow(entries, ", "))),
        };
        Some(Edit {
            range: at..at,
            text,
        })
    }
}

/// The edit writing the mapping `entries` where a null value is.
fn fill_null(spot: &Spot, entries: &[(String, Val)]) -> Result<Edit, Problem> {
    let text = format!("{{{}}}", render_flow(entries, ", "));
    match spot {
        Spot::Replace(range) => Ok(Edit {
            range: range.clone(),
            text,
        }),
        Spot::AfterColon(at) => Ok(Edit {
            range: *at..*at,
            text: format!(" {text}"),
        }),
        Spot::Unusable(problem) => Err(*problem),
    }
}

impl Object {
    /// The edit that sets one annotation: see [`Object::set_annotations`].
    ///
    /// # Errors
    ///
    /// As [`Object::set_annotations`].
    pub fn set_annotation(&self, key: &str, value: &str) -> Result<Edit, AnnotateError> {
        let mut edits = self.set_annotations(&[(key, value)])?;
        Ok(edits.remove(0))
    }

    /// The edits that set these annotations (a key given twice: the last value), each value double-quoted.
    ///
    /// An existing annotation's value is replaced in place (the last one if the key is repeated). New ones go
    /// before the first existing annotation, at its indentation; without `metadata.annotations`, the mapping is
    /// created under `metadata` (and `metadata` under the object when missing), in block style in block
    /// mappings and in JSON-compatible flow style in flow mappings and in place of a null (`annotations:`), so
    /// a JSON document stays JSON. At most one edit per existing key plus one insertion.
    ///
    /// # Errors
    ///
    /// When `metadata` or `metadata.annotations` is not a mapping (a sequence, a string, an alias), or an existing
    /// value of one of the keys is a mapping, sequence or alias.
    pub fn set_annotations(&self, pairs: &[(&str, &str)]) -> Result<Vec<Edit>, AnnotateError> {
        let site = &self.site;
        let object = || self.to_string();
        if let Some(anchor) = &site.shared {
            return Err(AnnotateError::Shared {
                object: object(),
                anchor: anchor.clone(),
            });
        }
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        for &(k, v) in pairs {
            match wanted.iter_mut().find(|(wk, _)| *wk == k) {
                Some(w) => w.1 = v,
                None => wanted.push((k, v)),
            }
        }
        let mut edits = Vec::new();
        let mut new = Vec::new();
        for (key, value) in wanted {
            let quoted = text::double_quoted(value);
            match site
                .values
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, s)| s)
            {
                None => new.push((key.to_owned(), Val::Leaf(quoted))),
                Some(Spot::Replace(range)) => edits.push(Edit {
                    range: range.clone(),
                    text: quoted,
                }),
                Some(Spot::AfterColon(at)) => edits.push(Edit {
                    range: *at..*at,
                    text: format!(" {quoted}"),
                }),
                Some(Spot::Unusable(Problem::Is(found))) => {
                    return Err(AnnotateError::NotAString {
                        object: object(),
                        key: key.to_owned(),
                        found,
                    });
                }
                Some(Spot::Unusable(Problem::NotFound)) => {
                    return Err(AnnotateError::NotFound {
                        object: object(),
                        field: format!("annotation '{key}'"),
                    });
                }
            }
        }
        if new.is_empty() {
            return Ok(edits);
        }
        let problem = |field: &'static str, problem: Problem| match problem {
            Problem::Is(found) => AnnotateError::NotAMapping {
                object: object(),
                field,
                found,
            },
            Problem::NotFound => AnnotateError::NotFound {
                object: object(),
                field: field.to_owned(),
            },
        };
        let in_map = |field: &'static str, map: &MapAt, entries: &[(String, Val)]| {
            site.insert(map, entries)
                .ok_or_else(|| problem(field, Problem::NotFound))
        };
        let edit = match (&site.metadata, &site.annotations) {
            (Slot::Map(_), Slot::Map(annotations)) => {
                in_map("metadata.annotations", annotations, &new)?
            }
            (Slot::Map(_), Slot::Null(spot)) => {
                fill_null(spot, &new).map_err(|p| problem("metadata.annotations", p))?
            }
            (Slot::Map(_), Slot::Unusable(p)) => return Err(problem("metadata.annotations", *p)),
            (Slot::Map(metadata), Slot::Missing) => in_map(
                "metadata",
                metadata,
                &[("annotations".to_owned(), Val::Map(new))],
            )?,
            (Slot::Null(spot), _) => fill_null(spot, &[("annotations".to_owned(), Val::Map(new))])
                .map_err(|p| problem("metadata", p))?,
            (Slot::Unusable(p), _) => return Err(problem("metadata", *p)),
            (Slot::Missing, _) => {
                let metadata = Val::Map(vec![("annotations".to_owned(), Val::Map(new))]);
                match &site.root {
                    Slot::Map(root) => in_map("root", root, &[("metadata".to_owned(), metadata)])?,
                    _ => return Err(problem("root", Problem::NotFound)),
                }
            }
        };
        edits.push(edit);
        Ok(edits)
    }
}
