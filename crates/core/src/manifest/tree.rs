//! A pruned tree of one YAML document: only the nodes some pattern can reach, each with its byte position.
//!
//! Kubernetes streams are mostly text no image lives in (a CRD's schema is most of an Argo CD install), so the
//! builder follows a trie of the paths that matter and skips every other subtree without storing it. That keeps
//! the tree small and shallow (dropping it never recurses deeper than the longest pattern).
//!
//! Anchors are the exception: an alias may bring an anchored node to any place, so every anchored node is kept
//! whole (wherever it is), in the document's anchor table, and every alias is recorded with where it is. That is
//! what lets the scanner resolve aliases and merge keys (`<<`), and count the places an anchored text gives its
//! value to.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

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

/// The pattern "everything below": what an anchored node is built with.
pub(crate) const KEEP_ALL: usize = usize::MAX;

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
        if active.contains(&KEEP_ALL) {
            return vec![KEEP_ALL];
        }
        let mut out = Vec::new();
        for &a in active {
            let node = &self.nodes[a];
            out.extend(node.keys.iter().filter(|(k, _)| k == key).map(|&(_, n)| n));
            out.extend(node.any_key);
        }
        out
    }

    fn under_index(&self, active: &[usize], index: usize) -> Vec<usize> {
        if active.contains(&KEEP_ALL) {
            return vec![KEEP_ALL];
        }
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
    /// Its own anchor id (0: none).
    pub(crate) anchor: usize,
    /// The innermost anchored collection it is written in (0: none).
    pub(crate) enclosing: usize,
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
    /// Its own anchor id, and the innermost anchored collection it is written in (0: none).
    pub(crate) anchor: usize,
    pub(crate) enclosing: usize,
}

impl<'a> Map<'a> {
    /// The value of `key` (the last of duplicate keys, as Go's JSON decoding keeps), written in this mapping:
    /// see [`Document::lookup`] for merge keys.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entry(key).map(|(_, v)| v)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<&(Scalar<'a>, Node<'a>)> {
        self.entries.iter().rev().find(|(k, _)| k.value == key)
    }

    /// The value of the last merge key (`<<`), if any.
    fn merge(&self) -> Option<&Node<'a>> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| is_merge_key(k))
            .map(|(_, v)| v)
    }
}

/// Whether a key is YAML 1.1's merge key, as Kubernetes' YAML decoder reads it: a plain, untagged `<<`.
fn is_merge_key(key: &Scalar<'_>) -> bool {
    key.value == "<<" && key.style == ParserStyle::Plain && key.tag == TagKind::None
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
    Alias(AliasAt),
    /// An anchored node where it is defined; the anchor table holds it too.
    Anchored(Rc<Node<'a>>),
}

/// An alias as written: the anchor id it names, where its `*` is, and the innermost anchored collection it is in
/// (0: none).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AliasAt {
    pub(crate) id: usize,
    pub(crate) pos: Pos,
    pub(crate) enclosing: usize,
}

/// An anchored node: where its properties start, and the innermost anchored collection it is in (0: none).
#[derive(Debug)]
pub(crate) struct Anchor<'a> {
    pub(crate) node: Rc<Node<'a>>,
    pub(crate) pos: Pos,
    pub(crate) enclosing: usize,
}

/// One document's pruned tree with its anchors and every alias, kept or not.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) root: Node<'a>,
    pub(crate) anchors: HashMap<usize, Anchor<'a>>,
    pub(crate) aliases: Vec<AliasAt>,
}

/// How deep merge keys are followed (`<<: *a` where `a` merges `b`…); YAML allows cycles, and real merges are shallow.
const MERGE_DEPTH: usize = 16;

impl<'a> Document<'a> {
    /// What `node` means: an alias's anchored node, an anchored node itself.
    pub(crate) fn resolve<'n>(&'n self, node: &'n Node<'a>) -> &'n Node<'a> {
        match node {
            Node::Alias(at) => self.anchors.get(&at.id).map_or(node, |a| a.node.as_ref()),
            node => node.peel(),
        }
    }

    /// The value of `key` in `map`, or else in what its merge key (`<<`) brings in: a mapping or a sequence of
    /// them, earlier ones first (YAML 1.1's merge, which Kubernetes' decoder applies).
    pub(crate) fn lookup<'n>(&'n self, map: &'n Map<'a>, key: &str) -> Option<&'n Node<'a>> {
        self.lookup_in(map, key, 0)
    }

    fn lookup_in<'n>(&'n self, map: &'n Map<'a>, key: &str, depth: usize) -> Option<&'n Node<'a>> {
        if let Some(value) = map.get(key) {
            return Some(value);
        }
        if depth >= MERGE_DEPTH {
            return None;
        }
        match self.resolve(map.merge()?) {
            Node::Map(merged) => self.lookup_in(merged, key, depth + 1),
            Node::Seq(seq) => seq
                .items
                .iter()
                .find_map(|(_, item)| match self.resolve(item) {
                    Node::Map(merged) => self.lookup_in(merged, key, depth + 1),
                    _ => None,
                }),
            _ => None,
        }
    }

    /// [`Document::lookup`] of a string scalar.
    pub(crate) fn lookup_str<'n>(&'n self, map: &'n Map<'a>, key: &str) -> Option<&'n str> {
        match self.resolve(self.lookup(map, key)?) {
            Node::Scalar(s) if s.is_string() => Some(&s.value),
            _ => None,
        }
    }
}

impl<'a> Node<'a> {
    /// The node an anchor is on (the node itself when it has none).
    pub(crate) fn peel(&self) -> &Node<'a> {
        match self {
            Node::Anchored(node) => node,
            node => node,
        }
    }

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
            Node::Alias(_) => "an alias",
            Node::Anchored(node) => node.describe(),
        }
    }
}

enum Frame<'a> {
    Map {
        map: Map<'a>,
        active: Vec<usize>,
        key: KeyState<'a>,
        anchor: Opened,
    },
    Seq {
        seq: Seq<'a>,
        active: Vec<usize>,
        next: usize,
        /// The items of a merge key's sequence are at the level of the mapping holding the key.
        merge: bool,
        anchor: Opened,
    },
    /// A subtree nobody needs, this many collections deep.
    Skip(usize),
}

/// A collection's own anchor (id 0: none), where its properties start, and the anchored collection around it.
#[derive(Clone, Copy)]
struct Opened {
    id: usize,
    pos: Pos,
    enclosing: usize,
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
    root: Option<Node<'a>>,
    anchors: HashMap<usize, Anchor<'a>>,
    aliases: Vec<AliasAt>,
}

impl<'a, 'p> Builder<'a, 'p> {
    pub(crate) fn new(patterns: &'p Patterns) -> Self {
        Self {
            patterns,
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            aliases: Vec::new(),
        }
    }

    /// The document once its events are all in; resets the builder for the next document.
    pub(crate) fn take_document(&mut self) -> Option<Document<'a>> {
        self.stack.clear();
        let anchors = std::mem::take(&mut self.anchors);
        let aliases = std::mem::take(&mut self.aliases);
        Some(Document {
            root: self.root.take()?,
            anchors,
            aliases,
        })
    }

    /// The innermost anchored collection being built (0: none).
    fn enclosing(&self) -> usize {
        self.stack
            .iter()
            .rev()
            .find_map(|frame| match frame {
                Frame::Map { anchor, .. } | Frame::Seq { anchor, .. } if anchor.id > 0 => {
                    Some(anchor.id)
                }
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Puts an anchored node in the anchor table and returns what stands in its place.
    fn anchored(&mut self, id: usize, pos: Pos, enclosing: usize, node: Node<'a>) -> Node<'a> {
        let node = Rc::new(node);
        self.anchors.insert(
            id,
            Anchor {
                node: Rc::clone(&node),
                pos,
                enclosing,
            },
        );
        Node::Anchored(node)
    }

    /// Feeds one event between `DocumentStart` and `DocumentEnd`.
    pub(crate) fn event(
        &mut self,
        event: Event<'a>,
        span: Span,
        cursor: &mut CharCursor<'_>,
    ) -> Result<(), BadMarker> {
        // Inside a skipped subtree only anchored nodes and aliases matter.
        if let Some(Frame::Skip(depth)) = self.stack.last_mut() {
            match &event {
                Event::MappingStart(0, _) | Event::SequenceStart(0, _) => {
                    *depth += 1;
                    return Ok(());
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    *depth -= 1;
                    if *depth == 0 {
                        self.stack.pop();
                        self.finish(None);
                    }
                    return Ok(());
                }
                Event::Scalar(_, _, 0, _) => return Ok(()),
                _ => {}
            }
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
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Map { map, anchor, .. }) => (Node::Map(map), anchor),
                    Some(Frame::Seq { seq, anchor, .. }) => (Node::Seq(seq), anchor),
                    Some(Frame::Skip(_)) | None => return Ok(()),
                };
                let node = if anchor.id > 0 {
                    self.anchored(anchor.id, anchor.pos, anchor.enclosing, node)
                } else {
                    node
                };
                self.finish(Some(node));
            }
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {
                let anchor_id = match &event {
                    Event::Scalar(_, _, id, _)
                    | Event::MappingStart(id, _)
                    | Event::SequenceStart(id, _) => *id,
                    _ => 0,
                };
                let active = match self.stack.last_mut() {
                    None => Some(vec![0]),
                    Some(Frame::Skip(_)) => None,
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
                    Some(Frame::Seq {
                        active,
                        next,
                        merge,
                        ..
                    }) => if *merge {
                        Some(active.clone())
                    } else {
                        Some(self.patterns.under_index(active, *next))
                    }
                    .filter(|a| !a.is_empty()),
                };
                // An anchored node is kept whole wherever it is: an alias may bring it to places that need other
                // parts of it than its own place does.
                let active = if anchor_id > 0 {
                    Some(vec![KEEP_ALL])
                } else {
                    active
                };
                let Some(active) = active else {
                    match event {
                        Event::MappingStart(..) | Event::SequenceStart(..) => {
                            self.stack.push(Frame::Skip(1));
                        }
                        Event::Alias(id) => {
                            let at = AliasAt {
                                id,
                                pos: pos()?,
                                enclosing: self.enclosing(),
                            };
                            self.aliases.push(at);
                            self.finish(None);
                        }
                        _ => self.finish(None),
                    }
                    return Ok(());
                };
                let enclosing = self.enclosing();
                match event {
                    Event::Scalar(value, style, anchor, tag) => {
                        let tag = match tag.as_deref() {
                            None => TagKind::None,
                            Some(t) if is_str_tag(t) => TagKind::Str,
                            Some(_) => TagKind::Other,
                        };
                        let props = anchor > 0 || tag != TagKind::None;
                        let p = pos()?;
                        let node = Node::Scalar(Scalar {
                            value,
                            style,
                            props,
                            tag,
                            pos: p,
                            anchor,
                            enclosing,
                        });
                        let node = if anchor > 0 {
                            self.anchored(anchor, p, enclosing, node)
                        } else {
                            node
                        };
                        self.finish(Some(node));
                    }
                    Event::Alias(id) => {
                        let at = AliasAt {
                            id,
                            pos: pos()?,
                            enclosing,
                        };
                        self.aliases.push(at);
                        self.finish(Some(Node::Alias(at)));
                    }
                    Event::MappingStart(anchor, tag) => {
                        let start = pos()?;
                        let p = after_properties(start, anchor > 0 || tag.is_some(), cursor.src());
                        let flow = cursor.src().as_bytes().get(p.byte) == Some(&b'{');
                        let map = Map {
                            flow,
                            pos: p,
                            first_key: None,
                            len: 0,
                            entries: Vec::new(),
                            anchor,
                            enclosing,
                        };
                        self.stack.push(Frame::Map {
                            map,
                            active,
                            key: KeyState::Expect,
                            anchor: Opened {
                                id: anchor,
                                pos: start,
                                enclosing,
                            },
                        });
                    }
                    Event::SequenceStart(anchor, _) => {
                        let merge = matches!(
                            self.stack.last(),
                            Some(Frame::Map { key: KeyState::Keep(k, _), .. }) if is_merge_key(k)
                        );
                        let start = pos()?;
                        self.stack.push(Frame::Seq {
                            seq: Seq { items: Vec::new() },
                            active,
                            next: 0,
                            merge,
                            anchor: Opened {
                                id: anchor,
                                pos: start,
                                enclosing,
                            },
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
                    // What a merge key brings in is at this mapping's level.
                    Some(Node::Scalar(k)) if is_merge_key(&k) => KeyState::Keep(k, active.clone()),
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
            // An anchored node inside a skipped subtree: the anchor table has it.
            Some(Frame::Skip(_)) => {}
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
