//! Builds one document's pruned tree from the parser's events: kept where a pattern reaches, skipped elsewhere,
//! anchored nodes kept whole, every alias recorded.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Span, Tag};

use super::patterns::{KEEP_ALL, Patterns};
use super::{AliasAt, Anchor, Document, Map, Node, Pos, Scalar, Seq, TagKind, is_merge_key};
use crate::manifest::text::{self, CharCursor};

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
            byte: text::skip_properties(src, pos.byte),
            ..pos
        }
    } else {
        pos
    }
}
