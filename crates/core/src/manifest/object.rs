//! What a scan finds: the objects of the stream and their image scalars, and how a scalar shares its text with
//! other places through anchors.

use std::fmt;
use std::ops::Range;

use super::site::Site;
use super::splice::Edit;
use super::text;

/// How an image scalar is written; block scalars (`|`, `>`) are never taken as images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// An alias (`image: *base`) of an anchored string: the span is the alias, the value its anchor's.
    Alias,
}

/// One Kubernetes object: a document whose root is a mapping, or one item of a `kind: …List` document (a root
/// mapping whose `kind` ends in `List` and that has an `items` sequence: the list itself is not an object, each
/// mapping in `items` is). Documents that are empty, null, scalars or sequences hold no object.
#[derive(Debug)]
pub struct Object {
    /// Index (from 0) of the YAML document that holds the object.
    pub document: usize,
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// `metadata.annotations` in text order; non-string scalar values as their text, non-scalar values left out.
    pub annotations: Vec<(String, String)>,
    /// Where an annotation goes: positions and layout of the object, its metadata and its annotations.
    pub(crate) site: Site,
}

impl Object {
    /// The value of an annotation (the last one if the key is repeated).
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Object {
    /// `Deployment 'web' (document 3)`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_deref().unwrap_or("object"))?;
        match &self.name {
            Some(name) => write!(f, " '{name}'")?,
            None => f.write_str(" without a name")?,
        }
        write!(f, " (document {})", self.document + 1)
    }
}

/// One image scalar: where it is, what it says, and how it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageField {
    /// Index into [`Scan::objects`](super::Scan::objects).
    pub object: usize,
    /// Path from the object's root, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    /// The `name` of the container (for other paths: of the mapping holding the image, when that mapping is a
    /// sequence item).
    pub container: Option<String>,
    /// The value as YAML reads it (escapes decoded).
    pub value: String,
    /// Byte range of the text that holds the value: the scalar as written (quotes included, anchor and tag
    /// excluded), or the alias. Images that an alias of a collection repeats (`containers: *c`, `<<: *pod`)
    /// share the span of the one scalar they all read.
    pub span: Range<usize>,
    pub style: ScalarStyle,
    /// Line (from 1) and column (from 1, in characters) where that text (or its anchor or tag) starts.
    pub line: usize,
    pub column: usize,
    /// What else the text gives its value to, through anchors (`None`: nothing; most images, kept small):
    /// see [`super::replace_images`].
    pub(crate) sharing: Option<Box<Sharing>>,
}

/// How many places of its document a text gives its value to, and the anchors that make it more than one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sharing {
    pub(crate) document: usize,
    /// Places in the document's meaning that read this text (1 without anchors; `usize::MAX` when an alias
    /// repeats its own anchor).
    pub(crate) uses: usize,
    /// The anchor that shares this text, for messages: the scalar's own, else the innermost anchored collection
    /// it is written in.
    pub(crate) anchor: Option<AnchorName>,
    /// The id of the scalar's own anchor (0: none).
    pub(crate) own_anchor: usize,
    /// For an image written as an alias: the anchor it names.
    pub(crate) alias_of: Option<AnchorName>,
}

impl Sharing {
    /// A text no anchor shares: one place.
    pub(crate) const ALONE: Sharing = Sharing {
        document: 0,
        uses: 1,
        anchor: None,
        own_anchor: 0,
        alias_of: None,
    };
}

/// An anchor as messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AnchorName {
    pub(crate) id: usize,
    pub(crate) name: String,
    /// Line (from 1) of its definition.
    pub(crate) line: usize,
}

impl fmt::Display for AnchorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "anchor '&{}' (line {})", self.name, self.line)
    }
}

impl ImageField {
    /// The edit that writes `new_value` in place of this scalar, in the same style when that style can hold it
    /// (else double-quoted, which can hold anything and is valid JSON as well). The plain values kept plain
    /// contain no flow indicator, so they are safe inside `{…}` and `[…]` too.
    #[must_use]
    pub fn replace(&self, new_value: &str) -> Edit {
        let text = match self.style {
            ScalarStyle::Plain | ScalarStyle::Alias if text::plain_ok(new_value) => {
                new_value.to_owned()
            }
            ScalarStyle::SingleQuoted => {
                text::single_quoted(new_value).unwrap_or_else(|| text::double_quoted(new_value))
            }
            _ => text::double_quoted(new_value),
        };
        Edit {
            range: self.span.clone(),
            text,
        }
    }
}
