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
//!
//! The node types and what they mean (aliases resolved, merge keys followed) live here; `patterns` is the trie of
//! paths to keep, `build` the builder that reads a document's events into the tree.

mod build;
mod patterns;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use saphyr_parser::ScalarStyle as ParserStyle;

use super::text;

pub(crate) use build::Builder;
pub(crate) use patterns::{Patterns, Step};

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
            TagKind::None => self.style != ParserStyle::Plain || text::plain_is_string(&self.value),
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
            Node::Scalar(s) if s.style != ParserStyle::Plain || !text::is_core_null(&s.value) => {
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

/// The bytes of a plain or quoted scalar as written (anchor and tag excluded), found from its start marker and
/// style; `None` if the text there does not hold it.
pub(crate) fn scalar_span(src: &str, scalar: &Scalar<'_>) -> Option<Range<usize>> {
    let start = if scalar.props {
        text::skip_properties(src, scalar.pos.byte)
    } else {
        scalar.pos.byte
    };
    let end = match scalar.style {
        ParserStyle::Plain => text::plain_end(src, start, &scalar.value)?,
        ParserStyle::SingleQuoted => text::quoted_end(src, start, b'\'')?,
        ParserStyle::DoubleQuoted => text::quoted_end(src, start, b'"')?,
        ParserStyle::Literal | ParserStyle::Folded => return None,
    };
    Some(start..end)
}
