//! Where annotations go in one object: the places of its mapping, its `metadata` and its `annotations`, and of
//! each existing annotation's value. The scanner records a [`Site`] per object; `annotate` writes into it.

use std::ops::Range;

use saphyr_parser::ScalarStyle as ParserStyle;

use super::text;
use super::tree::{Map, Node, Scalar, scalar_span};

/// Where annotations go in one object, recorded while scanning so that no text is needed later.
#[derive(Debug)]
pub(crate) struct Site {
    /// The object's line break, as its first line ends (`\r\n` in CRLF text, `\r` in CR-only text).
    pub(super) nl: &'static str,
    /// Indentation step of nested block mappings.
    pub(super) step: usize,
    pub(super) root: Slot,
    pub(super) metadata: Slot,
    /// Meaningful only when `metadata` is a mapping.
    pub(super) annotations: Slot,
    /// Existing annotations (in order) and where their values are.
    pub(super) values: Vec<(String, Spot)>,
    /// The anchor that shares the object, its metadata or its annotations with other places, for the message.
    pub(super) shared: Option<String>,
}

#[derive(Debug)]
pub(super) enum Slot {
    Missing,
    Map(MapAt),
    /// `key:`, `key: null`, `key: ~`.
    Null(Spot),
    Unusable(Problem),
}

/// A value's place: replace these bytes, or insert after this `:`.
#[derive(Debug)]
pub(super) enum Spot {
    Replace(Range<usize>),
    AfterColon(usize),
    Unusable(Problem),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Problem {
    /// The value is something else ("a sequence").
    Is(&'static str),
    /// The text does not hold what the parser reported.
    NotFound,
}

#[derive(Debug)]
pub(super) struct MapAt {
    pub(super) flow: bool,
    /// The `{` of a flow mapping.
    pub(super) open: usize,
    pub(super) first: Option<FirstKey>,
}

#[derive(Debug)]
pub(super) struct FirstKey {
    /// Where to insert before the first entry (its `?` when it has one).
    pub(super) at: usize,
    /// Its column, in characters.
    pub(super) col: usize,
    /// In a flow mapping: the white space before it when it starts its own line (pretty-printed JSON).
    pub(super) indent: Option<String>,
}

impl Site {
    /// `shared`: the anchor that shares the object, its metadata or its annotations with other places, as
    /// messages name it.
    pub(crate) fn new(src: &str, root: &Map<'_>, shared: Option<String>) -> Self {
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
            shared,
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
        // (A byte order mark before it on the first line is no text.)
        if let Some(rest) = trimmed.strip_suffix('?')
            && (rest.trim_start_matches('\u{feff}').is_empty() || rest.ends_with([' ', '-']))
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
