//! A pruned tree of one YAML document: only the nodes some pattern can reach, each with its byte position.
//!
//! Kubernetes streams are mostly text no image lives in (a CRD's schema is most of an Argo CD install), so the
//! builder follows a trie of the paths that matter and skips every other subtree without storing it. That keeps
//! the tree small and shallow (dropping it never recurses deeper than the longest pattern).

use std::borrow::Cow;

use saphyr_parser::{Event, ScalarStyle as ParserStyle, Span, Tag};

use super::text::CharCursor;

/// One step of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    AnyKey,
    Index(usize),
    AnyIndex,
}

/// The trie of every path to keep; node 0 is a document's root.
#[derive(Debug)]
pub(crate) struct Patterns {
    nodes: Vec<PatternNode>,
}

#[derive(Debug, Default)]
struct PatternNode {
    keys: Vec<(String, usize)>,
    any_key: Option<usize>,
    indices: Vec<(usize, usize)>,
    any_index: Option<usize>,
}

impl Patterns {
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![PatternNode::default()],
        }
    }

    /// Keeps every node on `steps` (from the root) and the node it ends at.
    pub(crate) fn add(&mut self, steps: &[Step]) {
        let mut at = 0;
        for step in steps {
            let found = match step {
                Step::Key(k) => self.nodes[at]
                    .keys
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|&(_, n)| n),
                Step::AnyKey => self.nodes[at].any_key,
                Step::Index(i) => self.nodes[at]
                    .indices
                    .iter()
                    .find(|(idx, _)| idx == i)
                    .map(|&(_, n)| n),
                Step::AnyIndex => self.nodes[at].any_index,
            };
            at = match found {
                Some(n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(PatternNode::default());
                    let node = &mut self.nodes[at];
                    match step {
                        Step::Key(k) => node.keys.push((k.clone(), n)),
                        Step::AnyKey => node.any_key = Some(n),
                        Step::Index(i) => node.indices.push((*i, n)),
                        Step::AnyIndex => node.any_index = Some(n),
                    }
                    n
                }
            };
        }
    }

    fn under_key(&self, active: &[usize], key: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for &a in active {
            let node = &self.nodes[a];
            out.extend(node.keys.iter().filter(|(k, _)| k == key).map(|&(_, n)| n));
            out.extend(node.any_key);
        }
        out
    }

    fn under_index(&self, active: &[usize], index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for &a in active {
            let node = &self.nodes[a];
            out.extend(
                node.indices
                    .iter()
                    .filter(|(i, _)| *i == index)
                    .map(|&(_, n)| n),
            );
            out.extend(node.any_index);
        }
        out
    }
}

/// Where a node is: its first byte (anchor and tag included) and the parser's line (1-based) and column
/// (0-based, characters).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pos {
    pub(crate) byte: usize,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// What a scalar's tag says about it being a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagKind {
    None,
    /// `!!str` or the non-specific `!`: a string whatever it looks like.
    Str,
    /// Any other tag (`!!int`, a local tag): not a string for our purposes.
    Other,
}

#[derive(Debug)]
pub(crate) struct Scalar<'a> {
    pub(crate) value: Cow<'a, str>,
    pub(crate) style: ParserStyle,
    /// Whether an anchor or tag precedes the text.
    pub(crate) props: bool,
    pub(crate) tag: TagKind,
    pub(crate) pos: Pos,
}

impl Scalar<'_> {
    /// Whether the value is a string (not null, bool or number), as Kubernetes would decode it.
    pub(crate) fn is_string(&self) -> bool {
        match self.tag {
            TagKind::Str => true,
            TagKind::Other => false,
            TagKind::None => {
                self.style != ParserStyle::Plain || super::text::plain_is_string(&self.value)
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct Map<'a> {
    pub(crate) flow: bool,
    /// `{` for a flow mapping; the first key for a block mapping.
    pub(crate) pos: Pos,
    /// Where the first key starts, kept or not.
    pub(crate) first_key: Option<Pos>,
    /// Number of entries, kept or not.
    pub(crate) len: usize,
    /// The kept entries, in order; keys are scalars (entries with other keys are never kept).
    pub(crate) entries: Vec<(Scalar<'a>, Node<'a>)>,
}

impl<'a> Map<'a> {
    /// The value of `key` (the last of duplicate keys, as Go's JSON decoding keeps).
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entry(key).map(|(_, v)| v)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<&(Scalar<'a>, Node<'a>)> {
        self.entries.iter().rev().find(|(k, _)| k.value == key)
    }

    /// The value of `key` when it is a string scalar.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Node::Scalar(s) if s.is_string() => Some(&s.value),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Seq<'a> {
    /// The kept items with their indices.
    pub(crate) items: Vec<(usize, Node<'a>)>,
}

#[derive(Debug)]
pub(crate) enum Node<'a> {
    Scalar(Scalar<'a>),
    Map(Map<'a>),
    Seq(Seq<'a>),
    Alias,
}

impl Node<'_> {
    /// What the node is, for messages ("a sequence").
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Node::Scalar(s)
                if s.style != ParserStyle::Plain || !super::text::is_core_null(&s.value) =>
            {
                "a scalar"
            }
            Node::Scalar(_) => "null",
            Node::Map(_) => "a mapping",
            Node::Seq(_) => "a sequence",
            Node::Alias => "an alias",
        }
    }
}

enum Frame<'a> {
    Map {
        map: Map<'a>,
        active: Vec<usize>,
        key: KeyState<'a>,
    },
    Seq {
        seq: Seq<'a>,
        active: Vec<usize>,
        next: usize,
    },
}

enum KeyState<'a> {
    /// The next node is a key.
    Expect,
    /// The next node is the value of this key, kept under these pattern nodes.
    Keep(Scalar<'a>, Vec<usize>),
    /// The next node is a value nobody needs.
    Skip,
}

/// The character offset the parser's marker could not be mapped to (past the end of the text).
#[derive(Debug)]
pub(crate) struct BadMarker {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// Builds the pruned tree of one document from its events.
pub(crate) struct Builder<'a, 'p> {
    patterns: &'p Patterns,
    stack: Vec<Frame<'a>>,
    /// Depth inside a skipped subtree; 0 when building.
    skipping: usize,
    root: Option<Node<'a>>,
}

impl<'a, 'p> Builder<'a, 'p> {
    pub(crate) fn new(patterns: &'p Patterns) -> Self {
        Self {
            patterns,
            stack: Vec::new(),
            skipping: 0,
            root: None,
        }
    }

    /// The document's root once its events are all in; resets the builder for the next document.
    pub(crate) fn take_root(&mut self) -> Option<Node<'a>> {
        self.stack.clear();
        self.skipping = 0;
        self.root.take()
    }

    /// Feeds one event between `DocumentStart` and `DocumentEnd`.
    pub(crate) fn event(
        &mut self,
        event: Event<'a>,
        span: Span,
        cursor: &mut CharCursor<'_>,
    ) -> Result<(), BadMarker> {
        if self.skipping > 0 {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skipping += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    self.skipping -= 1;
                    if self.skipping == 0 {
                        self.finish(None);
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        let mut pos = || {
            let byte = cursor.byte_of(span.start.index()).ok_or(BadMarker {
                line: span.start.line(),
                col: span.start.col(),
            })?;
            Ok::<Pos, BadMarker>(Pos {
                byte,
                line: span.start.line(),
                col: span.start.col(),
            })
        };
        match event {
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Map { map, .. }) => Node::Map(map),
                    Some(Frame::Seq { seq, .. }) => Node::Seq(seq),
                    None => return Ok(()),
                };
                self.finish(Some(node));
            }
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {
                let active = match self.stack.last_mut() {
                    None => Some(vec![0]),
                    Some(Frame::Map {
                        map,
                        key: KeyState::Expect,
                        ..
                    }) => {
                        let p = pos()?;
                        map.len += 1;
                        map.first_key.get_or_insert(p);
                        // Keys are built when they are scalars (their text decides what to keep), never otherwise.
                        matches!(event, Event::Scalar(..)).then(Vec::new)
                    }
                    Some(Frame::Map {
                        key: KeyState::Keep(_, active),
                        ..
                    }) => Some(std::mem::take(active)),
                    Some(Frame::Map {
                        key: KeyState::Skip,
                        ..
                    }) => None,
                    Some(Frame::Seq { active, next, .. }) => {
                        Some(self.patterns.under_index(active, *next)).filter(|a| !a.is_empty())
                    }
                };
                let Some(active) = active else {
                    match event {
                        Event::MappingStart(..) | Event::SequenceStart(..) => self.skipping = 1,
                        _ => self.finish(None),
                    }
                    return Ok(());
                };
                match event {
                    Event::Scalar(value, style, anchor, tag) => {
                        let tag = match tag.as_deref() {
                            None => TagKind::None,
                            Some(t) if is_str_tag(t) => TagKind::Str,
                            Some(_) => TagKind::Other,
                        };
                        let props = anchor > 0 || tag != TagKind::None;
                        let node = Node::Scalar(Scalar {
                            value,
                            style,
                            props,
                            tag,
                            pos: pos()?,
                        });
                        self.finish(Some(node));
                    }
                    Event::Alias(_) => self.finish(Some(Node::Alias)),
                    Event::MappingStart(anchor, tag) => {
                        let p = after_properties(pos()?, anchor > 0 || tag.is_some(), cursor.src());
                        let flow = cursor.src().as_bytes().get(p.byte) == Some(&b'{');
                        let map = Map {
                            flow,
                            pos: p,
                            first_key: None,
                            len: 0,
                            entries: Vec::new(),
                        };
                        self.stack.push(Frame::Map {
                            map,
                            active,
                            key: KeyState::Expect,
                        });
                    }
                    Event::SequenceStart(..) => {
                        self.stack.push(Frame::Seq {
                            seq: Seq { items: Vec::new() },
                            active,
                            next: 0,
                        });
                    }
                    _ => unreachable!("matched above"),
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
        Ok(())
    }

    /// A node is complete (`None`: skipped); hand it to its parent.
    fn finish(&mut self, node: Option<Node<'a>>) {
        match self.stack.last_mut() {
            None => self.root = node,
            Some(Frame::Map { key, active, .. }) if matches!(key, KeyState::Expect) => {
                *key = match node {
                    Some(Node::Scalar(k)) => {
                        let under = self.patterns.under_key(active, &k.value);
                        if under.is_empty() {
                            KeyState::Skip
                        } else {
                            KeyState::Keep(k, under)
                        }
                    }
                    _ => KeyState::Skip,
                };
            }
            Some(Frame::Map { map, key, .. }) => {
                if let (KeyState::Keep(k, _), Some(v)) =
                    (std::mem::replace(key, KeyState::Expect), node)
                {
                    map.entries.push((k, v));
                }
            }
            Some(Frame::Seq { seq, next, .. }) => {
                if let Some(v) = node {
                    seq.items.push((*next, v));
                }
                *next += 1;
            }
        }
    }
}

fn is_str_tag(tag: &Tag) -> bool {
    // `!!str` arrives as handle + suffix, a verbatim `!<tag:yaml.org,2002:str>` as a bare suffix, `!` as suffix "!".
    (tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str")
        || (tag.handle.is_empty() && matches!(tag.suffix.as_str(), "tag:yaml.org,2002:str" | "!"))
}

/// A collection's position past its anchor and tag, so that a flow collection's points at its bracket.
fn after_properties(pos: Pos, props: bool, src: &str) -> Pos {
    if props {
        Pos {
            byte: super::text::skip_properties(src, pos.byte),
            ..pos
        }
    } else {
        pos
    }
}
