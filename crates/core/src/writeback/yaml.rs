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
use crate::manifest::ScanError;
use crate::manifest::scan::check_printable;
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
    /// An empty value whose key has no `:` (`{a, b: 1}`, `? a`): placed just after its key, and a value written
    /// there needs the `:` too.
    pub(crate) colon_missing: bool,
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
    // As the scanner: no character YAML forbids, nor one readers take for a line break or not (NEL, U+2028).
    if let Err(ScanError::Yaml {
        line,
        column,
        message,
        ..
    }) = check_printable(src)
    {
        return Err(EditError::Yaml {
            line,
            column,
            message,
        });
    }
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
            Event::MappingStart(anchor, ref tag) | Event::SequenceStart(anchor, ref tag) => {
                let map = matches!(event, Event::MappingStart(..));
                stack.push(open(
                    src,
                    map,
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
                    colon_missing: false,
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
                start,
                body,
                entries,
                key,
                ..
            }) => match key.take() {
                None => {
                    // A block mapping starts at its first key, or at the `?` of an explicit one (its own: not
                    // the `?` of the mapping it is the key of).
                    let question = explicit_key(src, node.start).filter(|q| q >= start);
                    body.get_or_insert(question.unwrap_or(node.start));
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

/// The `?` before a key starting at `at` (`? key`), if it is one.
fn explicit_key(src: &str, at: usize) -> Option<usize> {
    let before = src[..at].trim_end_matches([' ', '\t', '\n', '\r']);
    let question = before.strip_suffix('?')?;
    (before.len() < at && (question.is_empty() || question.ends_with([' ', '\t', '\n', '\r'])))
        .then_some(question.len())
}

/// A collection opened at `start` (its properties, or its first token).
fn open<'a>(src: &str, is_map: bool, start: usize, anchor: usize, tag: Tag) -> Frame<'a> {
    let after = if anchor > 0 || tag != Tag::None {
        text::skip_properties(src, start)
    } else {
        start
    };
    let flow = src.as_bytes().get(after) == Some(if is_map { &b'{' } else { &b'[' });
    // The parser's marker of a block mapping without properties is its first key, or the `?` of an explicit one;
    // with properties, the first key says.
    let body = (flow || (is_map && after == start)).then_some(after);
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
            // Without properties, a block sequence starts at its first `-` (the parser's marker is past it).
            let start = match body {
                Some(dash) if !flow && anchor == 0 && tag == Tag::None => dash,
                _ => start,
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
        colon_missing: false,
        kind,
    })
}

/// The `-` of the block sequence item whose content starts at `at` (on the same line, or on a line before, past
/// blank lines and comments).
pub(crate) fn dash_before(src: &str, at: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = at;
    loop {
        // This line up to `i`, without a comment.
        let line_start = text::line_start(src, i);
        let line = &src[line_start..i];
        if let Some((n, _)) = line
            .char_indices()
            .find(|&(n, c)| c == '#' && (n == 0 || line[..n].ends_with([' ', '\t'])))
        {
            i = line_start + n;
        }
        while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        match i.checked_sub(1).map(|p| b[p]) {
            Some(b'-') if i == 1 || matches!(b[i - 2], b' ' | b'\t' | b'\n' | b'\r') => {
                return Some(i - 1);
            }
            Some(b'\n' | b'\r') => i -= 1,
            _ => return None,
        }
    }
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
    // The key of a mapping value, and whether its `:` is there.
    let (key_end, colon) = match parent {
        Some(Frame::Map { key: Some(key), .. }) => (Some(key.end), colon_after(src, key.end)),
        _ => (None, None),
    };
    let (after_indicator, parent_indent) = match parent {
        Some(Frame::Map {
            flow: false,
            key: Some(_),
            body,
            ..
        }) => (colon, body.map_or(0, |b| text::column(src, b))),
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
        Some(Frame::Map { flow: true, .. }) => (colon, 0),
        _ => (None, 0),
    };
    let empty = style == ScalarStyle::Plain && value.is_empty() && !props;
    let colon_missing = empty && key_end.is_some() && colon.is_none();
    let after_indicator = if colon_missing {
        key_end
    } else {
        after_indicator
    };
    let (start, body, end) = if block {
        let indicator = text::value_start(src, after_indicator?);
        let end = block_scalar_end(src, indicator, parent_indent);
        (indicator, indicator, end)
    } else if empty {
        let at = after_indicator.unwrap_or_else(|| {
            // An empty key (`? # comment`): the parser marks the next token; it is where the text before ends.
            if matches!(parent, Some(Frame::Map { key: None, .. })) {
                src[..start].trim_end_matches([' ', '\t', '\n', '\r']).len()
            } else {
                start
            }
        });
        (at, at, at)
    } else if style == ScalarStyle::Plain && value.is_empty() {
        // Properties and nothing else (`key: &anchor`): the value is empty, just after them.
        let at = properties_end(src, start);
        (start, at, at)
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
        colon_missing,
        kind: Kind::Scalar { value, style },
    })
}

/// Just past the anchor and tag starting at `at` (`&a !!str`, possibly on lines of their own), not past the white
/// space or comments after them.
fn properties_end(src: &str, mut at: usize) -> usize {
    let b = src.as_bytes();
    let mut end = at;
    loop {
        at = text::skip_separation(src, at);
        if !matches!(b.get(at), Some(b'&' | b'!')) {
            return end;
        }
        if src[at..].starts_with("!<") {
            at = src[at..].find('>').map_or(b.len(), |n| at + n + 1);
        }
        while at < b.len()
            && !matches!(
                b[at],
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}'
            )
        {
            at += 1;
        }
        end = at;
    }
}

/// The end of a block scalar whose indicator is at `indicator`: its last content line, which may hold only spaces
/// when they are more than its indentation (`text::block_end` stops before those), and with keep chomping (`|+`)
/// the blank lines after it too.
fn block_scalar_end(src: &str, indicator: usize, parent_indent: usize) -> usize {
    let mut end = text::block_end(src, indicator, parent_indent);
    let next_line = |at: usize| {
        src[at..]
            .strip_prefix("\r\n")
            .or_else(|| src[at..].strip_prefix(['\n', '\r']))
            .map(|rest| src.len() - rest.len())
    };
    let line_end = |at: usize| src[at..].find(['\n', '\r']).map_or(src.len(), |n| at + n);
    let header = src[indicator..line_end(indicator)]
        .split('#')
        .next()
        .unwrap_or_default();
    let keep = header.contains('+');
    let content_indent = match header.bytes().find(u8::is_ascii_digit) {
        Some(d) => Some(parent_indent + usize::from(d - b'0')),
        None => {
            let mut at = next_line(line_end(indicator));
            let mut found = None;
            while let Some(line) = at {
                let text = &src[line..line_end(line)];
                if !text.bytes().all(|b| b == b' ') {
                    found = Some(text.bytes().take_while(|&b| b == b' ').count());
                    break;
                }
                at = next_line(line_end(line));
            }
            found
        }
    };
    // From the line after its last content line, or after its header when it has none.
    let mut at = next_line(line_end(end));
    // (The text after a final line break is no line.)
    while let Some(line) = at.filter(|&line| line < src.len()) {
        let line_stop = line_end(line);
        let text = &src[line..line_stop];
        if !text.bytes().all(|b| b == b' ') {
            break;
        }
        if keep || content_indent.is_some_and(|indent| text.len() > indent) {
            end = line_stop;
        }
        at = next_line(line_stop);
    }
    end
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
