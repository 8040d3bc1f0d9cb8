//! Where things are in a lock file's text: the file's first document as a small tree of nodes with byte
//! positions, read with the span-aware parser the manifest scan uses (its markers count characters, and its
//! scalar ends are recomputed from the text: see `manifest::text`). What the edits need to splice only the
//! bytes they change; the values themselves are [`super::parse`]'s to read.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::manifest::text::{self, CharCursor};

#[derive(Debug)]
pub(super) struct Scalar {
    pub(super) value: String,
    pub(super) style: ScalarStyle,
    /// Where the node starts: its anchor or tag when it has one, else its text.
    pub(super) start: usize,
    /// The text as written, anchor and tag excluded; an empty value (`key:`) is placed just after its `:`.
    pub(super) span: Range<usize>,
    /// Whether `span` is exact: not for a block scalar (`|`, `>`), which the edits never replace, and whose end
    /// they need only as the end of what holds it (its last line more indented than its key).
    pub(super) exact: bool,
    /// An anchor on it: other places may share its value.
    pub(super) anchored: bool,
}

#[derive(Debug)]
pub(super) struct Map {
    pub(super) flow: bool,
    /// The `{` of a flow mapping, the first key of a block one.
    pub(super) start: usize,
    /// Past the `}` of a flow mapping, past the last value of a block one.
    pub(super) end: usize,
    pub(super) items: Vec<(Node, Node)>,
    pub(super) anchored: bool,
}

#[derive(Debug)]
pub(super) struct Seq {
    pub(super) flow: bool,
    /// The `[` of a flow sequence, the first `-` of a block one.
    pub(super) start: usize,
    /// Past the `]` of a flow sequence, past the last item of a block one.
    pub(super) end: usize,
    pub(super) items: Vec<Node>,
    pub(super) anchored: bool,
}

#[derive(Debug)]
pub(super) enum Node {
    Scalar(Scalar),
    Map(Map),
    Seq(Seq),
    Alias(Range<usize>),
}

impl Node {
    pub(super) fn start(&self) -> usize {
        match self {
            Node::Scalar(s) => s.start,
            Node::Map(m) => m.start,
            Node::Seq(s) => s.start,
            Node::Alias(r) => r.start,
        }
    }

    pub(super) fn end(&self) -> usize {
        match self {
            Node::Scalar(s) => s.span.end,
            Node::Map(m) => m.end,
            Node::Seq(s) => s.end,
            Node::Alias(r) => r.end,
        }
    }

    /// Whether the node is a null the edits can replace: an empty plain scalar, `~` or `null`, written plainly
    /// (no anchor, no tag leaving its place unsure).
    pub(super) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s) if s.style == ScalarStyle::Plain && text::is_core_null(&s.value)
            && s.exact && !s.anchored)
    }
}

/// Why the text has no layout: the parser's message. [`super::parse`] refuses such a text first, so this is
/// only seen when the two parsers disagree.
#[derive(Debug)]
pub(super) struct Unreadable(pub(super) String);

enum Frame {
    Map { map: Map, key: Option<Node> },
    Seq(Seq),
}

/// The first document's root node, `None` when the text holds none.
pub(super) fn read(src: &str) -> Result<Option<Node>, Unreadable> {
    // Past a byte order mark, which the parser would count as a character; positions stay the whole text's.
    let from = if src.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut parser = Parser::new_from_str(&src[from..]);
    let mut cursor = CharCursor::within(src, from..src.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| Unreadable(e.info().to_owned()))?;
        let mut at = |index: usize| {
            cursor
                .byte_of(index)
                .ok_or_else(|| Unreadable(format!("a position past the end of the text ({index})")))
        };
        let node = match event {
            Event::DocumentEnd if root.is_some() => break,
            Event::Scalar(value, style, anchor, tag) => {
                let marker = at(span.start.index())?;
                let props = anchor > 0 || tag.is_some();
                let start = if props {
                    text::skip_properties(src, marker)
                } else {
                    marker
                };
                let mut scalar = scalar(
                    src,
                    &stack,
                    value.into_owned(),
                    style,
                    start,
                    (anchor > 0, props),
                )?;
                if props {
                    scalar.start = marker;
                }
                Some(Node::Scalar(scalar))
            }
            Event::Alias(_) => {
                let start = at(span.start.index())?;
                let end = start + 1 + text::anchor_name(src, start).len();
                Some(Node::Alias(start..end))
            }
            Event::MappingStart(anchor, tag) => {
                let start = at(span.start.index())?;
                let start = if anchor > 0 || tag.is_some() {
                    text::skip_properties(src, start)
                } else {
                    start
                };
                let flow = src.as_bytes().get(start) == Some(&b'{');
                stack.push(Frame::Map {
                    map: Map {
                        flow,
                        start,
                        end: start,
                        items: Vec::new(),
                        anchored: anchor > 0,
                    },
                    key: None,
                });
                None
            }
            Event::SequenceStart(anchor, tag) => {
                let start = at(span.start.index())?;
                let start = if anchor > 0 || tag.is_some() {
                    text::skip_properties(src, start)
                } else {
                    start
                };
                let flow = src.as_bytes().get(start) == Some(&b'[');
                stack.push(Frame::Seq(Seq {
                    flow,
                    start,
                    end: start,
                    items: Vec::new(),
                    anchored: anchor > 0,
                }));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let marker = at(span.start.index())?;
                // A flow collection's end marker is on its bracket, or on a trailing `,` before it.
                let closing = |bracket: u8| {
                    let mut at = marker;
                    loop {
                        at = text::skip_separation(src, at);
                        match src.as_bytes().get(at) {
                            Some(b',') => at += 1,
                            Some(&b) if b == bracket => return Ok(at),
                            _ => {
                                return Err(Unreadable(format!(
                                    "no `{}` where a collection ends",
                                    bracket as char
                                )));
                            }
                        }
                    }
                };
                match stack.pop() {
                    Some(Frame::Map { mut map, .. }) => {
                        map.end = if map.flow {
                            closing(b'}')? + 1
                        } else {
                            map.items.last().map_or(map.start, |(_, v)| v.end())
                        };
                        Some(Node::Map(map))
                    }
                    Some(Frame::Seq(mut seq)) => {
                        seq.end = if seq.flow {
                            closing(b']')? + 1
                        } else {
                            seq.items.last().map_or(seq.start, Node::end)
                        };
                        Some(Node::Seq(seq))
                    }
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(node) = node {
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Map { map, key }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => map.items.push((k, node)),
                },
                Some(Frame::Seq(seq)) => seq.items.push(node),
            }
        }
    }
    Ok(root)
}

/// A scalar starting at `start` (properties skipped), its end found from its style. An empty value (`key:`)
/// is placed just after its key's `:`, unless it has properties (`key: !!str`), which leave its place unsure;
/// a block scalar's end is its last line more indented than its key.
fn scalar(
    src: &str,
    stack: &[Frame],
    value: String,
    style: ScalarStyle,
    start: usize,
    (anchored, props): (bool, bool),
) -> Result<Scalar, Unreadable> {
    let lost = || Unreadable(format!("cannot find the scalar '{value}' in the text"));
    // The key this scalar is the value of, in a block mapping.
    let key_end = match stack.last() {
        Some(Frame::Map {
            map,
            key: Some(key),
        }) if !map.flow => Some((key.end(), key.start())),
        _ => None,
    };
    let (span, exact) = match style {
        ScalarStyle::Plain if value.is_empty() && props => (start..start, false),
        ScalarStyle::Plain if value.is_empty() => {
            let at = key_end
                .and_then(|(end, _)| text::after_colon(src, end))
                .unwrap_or(start);
            (at..at, true)
        }
        ScalarStyle::Plain => (
            start..text::plain_end(src, start, &value).ok_or_else(lost)?,
            true,
        ),
        ScalarStyle::SingleQuoted => (
            start..text::quoted_end(src, start, b'\'').ok_or_else(lost)?,
            true,
        ),
        ScalarStyle::DoubleQuoted => (
            start..text::quoted_end(src, start, b'"').ok_or_else(lost)?,
            true,
        ),
        ScalarStyle::Literal | ScalarStyle::Folded => match key_end {
            Some((end, key_start)) => {
                let colon = text::after_colon(src, end).ok_or_else(lost)?;
                let indicator = text::value_start(src, colon);
                let indent = text::column(src, key_start);
                (indicator..text::block_end(src, indicator, indent), false)
            }
            None => (start..start, false),
        },
    };
    Ok(Scalar {
        value,
        style,
        start: span.start,
        span,
        exact,
        anchored,
    })
}
