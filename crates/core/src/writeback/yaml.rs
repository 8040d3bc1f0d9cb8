//! A whole small YAML document (a kustomization, a values file) as a tree with byte positions: where each node's
//! text starts and ends, so that an editor can change one value or insert one entry and leave every other byte.
//!
//! The rendered stream's scanner keeps a pruned tree of what images need; these files are small and any part of
//! them may be edited, so this tree is whole. Positions follow the scanner's rules (`manifest::text`): the
//! parser's character markers mapped to bytes, a scalar's end found from its start and style, a block scalar's
//! from its indicator; and what the parser places oddly is placed here from the text (an empty value just after its
//! `:` or `-`, a block sequence at its first `-`, a flow collection's end just past its bracket).

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::edit::EditError;
use crate::manifest::text::{self, CharCursor};

/// One parsed document.
#[derive(Debug)]
pub(crate) struct Doc<'a> {
    pub(crate) src: &'a str,
    /// `None` when the text holds no document (empty, or only comments).
    pub(crate) root: Option<Node<'a>>,
    /// The anchors some alias refers to (by the parser's id): text under them is shared with other places.
    pub(crate) referenced: HashSet<usize>,
}

#[derive(Debug)]
pub(crate) struct Node<'a> {
    /// The first byte, its anchor and tag included.
    pub(crate) start: usize,
    /// The first byte after anchor and tag: a scalar's text, a flow collection's bracket, a block mapping's first
    /// key, a block sequence's first `-`. For an empty value, where it would be (just after its `:` or `-`).
    pub(crate) body: usize,
    /// Just past the last byte (for a block collection, past its last item's text).
    pub(crate) end: usize,
    /// Its anchor's id (0: none).
    pub(crate) anchor: usize,
    /// Whether it has a tag, and whether that tag is `!!str` (or the non-specific `!`).
    pub(crate) tag: Tag,
    pub(crate) kind: Kind<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    None,
    Str,
    Other,
}

#[derive(Debug)]
pub(crate) enum Kind<'a> {
    Scalar {
        value: Cow<'a, str>,
        style: ScalarStyle,
    },
    Map {
        flow: bool,
        entries: Vec<(Node<'a>, Node<'a>)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node<'a>>,
    },
    Alias,
}

impl<'a> Node<'a> {
    /// A plain scalar that reads as null (`~`, `null`, or nothing), without tag.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain } if text::is_core_null(value))
            && self.tag == Tag::None
    }

    /// A value written as nothing at all (`key:`), without anchor or tag.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain } if value.is_empty())
            && self.tag == Tag::None
            && self.anchor == 0
    }

    /// The scalar's value, when it is a plain or quoted scalar (a key, a tag).
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, style }
                if !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) =>
            {
                Some(value)
            }
            _ => None,
        }
    }

    /// The value of `key` in this mapping, with its key: the last of duplicate keys, as Go's decoders keep.
    pub(crate) fn entry(&self, key: &str) -> Option<&(Node<'a>, Node<'a>)> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().rev().find(|(k, _)| k.text() == Some(key)),
            _ => None,
        }
    }

    /// Whether this mapping has a merge key (`<<`), which may bring in keys it does not write.
    pub(crate) fn has_merge_key(&self) -> bool {
        matches!(&self.kind, Kind::Map { entries, .. } if entries.iter().any(|(k, _)| {
            k.text() == Some("<<") && matches!(k.kind, Kind::Scalar { style: ScalarStyle::Plain, .. })
        }))
    }

    /// What the node is, for messages.
    pub(crate) fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } if self.is_null() => "null",
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => "a block scalar",
            Kind::Scalar { .. } => "a scalar",
            Kind::Map { .. } => "a mapping",
            Kind::Seq { .. } => "a list",
            Kind::Alias => "an alias",
        }
    }
}

/// A collection being built.
enum Frame<'a> {
    Map {
        start: usize,
        body: Option<usize>,
        anchor: usize,
        tag: Tag,
        flow: bool,
        entries: Vec<(Node<'a>, Node<'a>)>,
        key: Option<Node<'a>>,
    },
    Seq {
        start: usize,
        body: Option<usize>,
        anchor: usize,
        tag: Tag,
        flow: bool,
        items: Vec<Node<'a>>,
    },
}

/// Parses `src`, which must hold at most one document.
pub(crate) fn parse(src: &str) -> Result<Doc<'_>, EditError> {
    let mut parser = Parser::new_from_str(src);
    let mut cursor = CharCursor::within(src, 0..src.len());
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut root = None;
    let mut referenced = HashSet::new();
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| EditError::Yaml {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        let mut byte = |span: &Span| {
            cursor
                .byte_of(span.start.index())
                .ok_or(EditError::Position {
                    line: span.start.line(),
                    column: span.start.col() + 1,
                })
        };
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(EditError::Documents);
                }
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                stack.push(open(
                    src,
                    true,
                    byte(&span)?,
                    anchor,
                    tag_kind(tag.as_deref()),
                ));
                continue;
            }
            Event::SequenceStart(anchor, tag) => {
                stack.push(open(
                    src,
                    false,
                    byte(&span)?,
                    anchor,
                    tag_kind(tag.as_deref()),
                ));
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let at = byte(&span)?;
                let frame = stack.pop().ok_or(EditError::Position {
                    line: span.start.line(),
                    column: span.start.col() + 1,
                })?;
                close(src, frame, at).ok_or(EditError::Position {
                    line: span.start.line(),
                    column: span.start.col() + 1,
                })?
            }
            Event::Alias(id) => {
                referenced.insert(id);
                let body = byte(&span)?;
                Node {
                    start: body,
                    body,
                    end: body + 1 + text::anchor_name(src, body).len(),
                    anchor: 0,
                    tag: Tag::None,
                    kind: Kind::Alias,
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let start = byte(&span)?;
                let tag = tag_kind(tag.as_deref());
                scalar(src, stack.last(), start, value, style, anchor, tag).ok_or(
                    EditError::Position {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                    },
                )?
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Map {
                body, entries, key, ..
            }) => match key.take() {
                None => {
                    body.get_or_insert(node.start);
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
            Some(Frame::Seq { items, .. }) => items.push(node),
        }
    }
    Ok(Doc {
        src,
        root,
        referenced,
    })
}

/// A collection opened at `start` (its properties, or its first token).
fn open<'a>(src: &str, is_map: bool, start: usize, anchor: usize, tag: Tag) -> Frame<'a> {
    let after = if anchor > 0 || tag != Tag::None {
        text::skip_properties(src, start)
    } else {
        start
    };
    let flow = src.as_bytes().get(after) == Some(if is_map { &b'{' } else { &b'[' });
    let body = flow.then_some(after);
    if is_map {
        Frame::Map {
            start,
            body,
            anchor,
            tag,
            flow,
            entries: Vec::new(),
            key: None,
        }
    } else {
        Frame::Seq {
            start,
            body,
            anchor,
            tag,
            flow,
            items: Vec::new(),
        }
    }
}

fn tag_kind(tag: Option<&saphyr_parser::Tag>) -> Tag {
    match tag {
        None => Tag::None,
        Some(t)
            if (t.handle == "tag:yaml.org,2002:" && t.suffix == "str")
                || (t.handle.is_empty()
                    && matches!(t.suffix.as_str(), "tag:yaml.org,2002:str" | "!")) =>
        {
            Tag::Str
        }
        Some(_) => Tag::Other,
    }
}

/// A collection complete: its end (a flow collection's bracket is at `at`, where the parser's end marker is).
fn close<'a>(src: &str, frame: Frame<'a>, at: usize) -> Option<Node<'a>> {
    let (start, body, anchor, tag, flow, last_end, kind) = match frame {
        Frame::Map {
            start,
            body,
            anchor,
            tag,
            flow,
            entries,
            ..
        } => {
            let last_end = entries.last().map(|(_, v)| v.end);
            (
                start,
                body,
                anchor,
                tag,
                flow,
                last_end,
                Kind::Map { flow, entries },
            )
        }
        Frame::Seq {
            start,
            body,
            anchor,
            tag,
            flow,
            items,
        } => {
            let body = match body {
                Some(body) => Some(body),
                None => items
                    .first()
                    .and_then(|first| dash_before(src, first.start)),
            };
            let last_end = items.last().map(|i| i.end);
            (
                start,
                body,
                anchor,
                tag,
                flow,
                last_end,
                Kind::Seq { flow, items },
            )
        }
    };
    let end = if flow {
        matches!(src.as_bytes().get(at), Some(b'}' | b']')).then_some(at + 1)?
    } else {
        last_end?
    };
    Some(Node {
        start,
        body: body?,
        end,
        anchor,
        tag,
        kind,
    })
}

/// The `-` of the block sequence item whose content starts at `at` (on the same line, or on a line before).
pub(crate) fn dash_before(src: &str, at: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = at;
    while i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
        i -= 1;
    }
    (i > 0 && b[i - 1] == b'-').then(|| i - 1)
}

/// A scalar node, placed by its parent: an empty value just after its `:` or `-`, a block scalar from its
/// indicator to its last line.
fn scalar<'a>(
    src: &str,
    parent: Option<&Frame<'a>>,
    start: usize,
    value: Cow<'a, str>,
    style: ScalarStyle,
    anchor: usize,
    tag: Tag,
) -> Option<Node<'a>> {
    let props = anchor > 0 || tag != Tag::None;
    let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    // Where the value's text would start in block context (after the key's `:`, or after the item's `-`), and
    // the indentation a block scalar's lines must exceed.
    let (after_indicator, parent_indent) = match parent {
        Some(Frame::Map {
            flow: false,
            key: Some(key),
            body,
            ..
        }) => (
            colon_after(src, key.end),
            body.map_or(0, |b| text::column(src, b)),
        ),
        Some(Frame::Seq { flow: false, .. }) => {
            // A block scalar's marker is its first content line: its `-` is on the header line before.
            let dash = if block {
                header_dash(src, start)
            } else {
                dash_before(src, start)
            };
            (
                dash.map(|d| d + 1),
                dash.map_or(0, |d| text::column(src, d)),
            )
        }
        _ => (None, 0),
    };
    let (start, body, end) = if block {
        let indicator = text::value_start(src, after_indicator?);
        (
            indicator,
            indicator,
            text::block_end(src, indicator, parent_indent),
        )
    } else if style == ScalarStyle::Plain && value.is_empty() && !props {
        let at = after_indicator.unwrap_or(start);
        (at, at, at)
    } else {
        let body = if props {
            text::skip_properties(src, start)
        } else {
            start
        };
        let end = match style {
            ScalarStyle::Plain => text::plain_end(src, body, &value)?,
            ScalarStyle::SingleQuoted => text::quoted_end(src, body, b'\'')?,
            _ => text::quoted_end(src, body, b'"')?,
        };
        (start, body, end)
    };
    Some(Node {
        start,
        body,
        end,
        anchor,
        tag,
        kind: Kind::Scalar { value, style },
    })
}

/// Just past the `:` after a block mapping key ending at `key_end` (on the same line, or after an explicit `? key`).
fn colon_after(src: &str, key_end: usize) -> Option<usize> {
    text::after_colon(src, key_end).or_else(|| {
        let at = text::skip_separation(src, key_end);
        (src.as_bytes().get(at) == Some(&b':')).then_some(at + 1)
    })
}

/// The last `-` before a block scalar's indicator, on its header line: the non-blank line before the first
/// content line at `content`.
fn header_dash(src: &str, content: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = text::line_start(src, content);
    while i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
        i -= 1;
    }
    let mut at = text::line_start(src, i);
    let mut dash = None;
    loop {
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
        if b.get(at) == Some(&b'-') && matches!(b.get(at + 1), Some(b' ' | b'\t')) {
            dash = Some(at);
            at += 1;
        } else {
            return dash;
        }
    }
}
