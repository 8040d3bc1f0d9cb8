//! Scan a rendered YAML stream for Kubernetes objects and their container image scalars, with byte spans.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle as ParserStyle};

use super::annotate::Site;
use super::path::ImagePath;
use super::splice::Edit;
use super::text::{self, CharCursor};
use super::tree::{AliasAt, Builder, Document, Map, Node, Patterns, Scalar, Step};

/// What [`scan`] found in a stream.
#[derive(Debug)]
pub struct Scan {
    /// Number of YAML documents in the stream (empty and null ones included).
    pub documents: usize,
    pub objects: Vec<Object>,
    /// Every image scalar, in text order.
    pub images: Vec<ImageField>,
}

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
    /// Index into [`Scan::objects`].
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

/// Why a stream cannot be scanned. Line and column count from 1; documents count from 1 in messages (the field
/// holds the index from 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("invalid yaml in document {} at line {line}, column {column}: {message}", .document + 1)]
    Yaml {
        document: usize,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "cannot find the text of the value at line {line}, column {column} (document {}): the parser's position \
         does not match the text; please report this with the input",
        .document + 1
    )]
    Position {
        document: usize,
        line: usize,
        column: usize,
    },
    /// The caller's `stop` said so: its time ran out.
    #[error("gave up reading at line {line} (document {}): the time allowed ran out", .document + 1)]
    Stopped { document: usize, line: usize },
}

/// Refuses a character YAML does not allow in a stream (outside `c-printable`: C0 controls but tab and line
/// breaks, DEL, C1 controls, U+FFFE and U+FFFF), which the parser would take into a scalar: the image written back
/// would carry it, and Argo CD's own YAML reader refuses it anyway. Also NEL, U+2028 and U+2029, which readers
/// disagree about. Such a character belongs escaped in a double-quoted string.
fn check_printable(src: &str) -> Result<(), ScanError> {
    let bytes = src.as_bytes();
    let bad = bytes.iter().enumerate().position(|(i, &b)| match b {
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f | 0x7f => true,
        // U+0080..U+009F: C2 80..C2 9F (NEL, U+0085, among them: see below).
        0xc2 => bytes
            .get(i + 1)
            .is_some_and(|&n| (0x80..=0x9f).contains(&n)),
        // U+2028, U+2029: E2 80 A8, E2 80 A9.
        0xe2 => bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)),
        // U+FFFE, U+FFFF: EF BF BE, EF BF BF.
        0xef => bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    });
    let Some(at) = bad else {
        return Ok(());
    };
    let before = &src[..at];
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    // A `---` in the first column starts the next document; one on the first line opens the first.
    let document = before
        .split(['\n', '\r'])
        .enumerate()
        .filter(|(i, line)| {
            *i > 0 && (*line == "---" || line.starts_with("--- ") || line.starts_with("---\t"))
        })
        .count();
    let c = src[at..].chars().next().unwrap_or_default();
    let mut character = String::new();
    crate::escape::push_escaped(&mut character, c);
    // NEL and the Unicode line and paragraph separators are line breaks to YAML 1.1 readers (Argo CD's and
    // kubectl's) but text to YAML 1.2's: what one reads as an image the other reads as a comment.
    let why = if matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
        "is a line break to some YAML readers (Argo CD's among them) and not to others"
    } else {
        "is not allowed in YAML"
    };
    Err(ScanError::Yaml {
        document,
        line: crate::manifest::line_breaks(before) + 1,
        column: before[line_start..].chars().count() + 1,
        message: format!(
            "the character {character} {why}; write it escaped in a double-quoted string"
        ),
    })
}

/// How many parser events pass between two questions to the caller's `stop`: asking costs a clock read, an event
/// well under a microsecond, so the answer comes within a millisecond or so.
const EVENTS_PER_STOP_CHECK: usize = 1024;

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Where pod specs are: the kind they apply to (`None`: any kind) and the path of the pod spec.
const POD_SPECS: [(Option<&str>, &str); 4] = [
    (Some("Pod"), "spec"),
    (Some("PodTemplate"), "template.spec"),
    (None, "spec.template.spec"),
    (None, "spec.jobTemplate.spec.template.spec"),
];

/// The image paths every scan uses: each container list of each pod spec.
fn builtin_paths() -> Vec<ImagePath> {
    let mut paths = Vec::new();
    for (kind, spec) in POD_SPECS {
        for list in CONTAINER_LISTS {
            let text = match kind {
                Some(kind) => format!("{kind}:{spec}.{list}[*].image"),
                None => format!("{spec}.{list}[*].image"),
            };
            paths.push(ImagePath::parse(&text).expect("built-in image paths are valid"));
        }
    }
    paths
}

/// Every node some path needs, from an object's root: its identity, its annotations, the images and the `name`
/// beside each image in a sequence item. The same again under `items[*]` for `…List` documents.
fn patterns(paths: &[ImagePath]) -> Patterns {
    let mut object: Vec<Vec<Step>> = ["apiVersion", "kind", "metadata.name", "metadata.namespace"]
        .iter()
        .map(|p| p.split('.').map(|k| Step::Key(k.to_owned())).collect())
        .collect();
    object.push(vec![
        Step::Key("metadata".into()),
        Step::Key("annotations".into()),
        Step::AnyKey,
    ]);
    for path in paths {
        let steps = path.steps();
        object.push(steps.to_vec());
        if let [.., Step::Index(_) | Step::AnyIndex, Step::Key(_)] = steps {
            let mut name = steps.to_vec();
            name.pop();
            name.push(Step::Key("name".into()));
            object.push(name);
        }
    }
    let mut patterns = Patterns::new();
    for steps in &object {
        patterns.add(steps);
        let mut in_list = vec![Step::Key("items".into()), Step::AnyIndex];
        in_list.extend_from_slice(steps);
        patterns.add(&in_list);
    }
    patterns
}

/// Scans a YAML stream for objects and images: containers, init containers and ephemeral containers of every pod
/// spec (a `Pod`'s `spec`, a `PodTemplate`'s `template.spec`, and the `spec.template.spec` or
/// `spec.jobTemplate.spec.template.spec` of any kind: `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`,
/// `ReplicationController`, `Job`, `CronJob`, Argo `Rollout`, custom resources), plus the `extra` paths.
///
/// Aliases and merge keys (`<<`) are followed as Kubernetes' decoder follows them: an image written as an alias,
/// or inside an aliased or merged collection, is found at every place it appears (write new values with
/// [`super::replace_images`], which keeps what anchors mean). Only string scalars count: nulls, numbers,
/// booleans, non-`!!str` tags and block scalars are skipped. A place found by two paths is reported once.
/// Duplicate keys: the last one wins (as in Go's JSON decoding).
///
/// # Errors
///
/// [`ScanError::Yaml`] when the stream is not valid YAML (the whole stream is refused: output built from part of
/// it would be wrong); [`ScanError::Position`] if the parser's positions do not match the text (a parser bug).
pub fn scan(src: &str, extra: &[ImagePath]) -> Result<Scan, ScanError> {
    scan_until(src, extra, &mut || false)
}

/// [`scan`] that asks `stop` every thousand events or so whether to give up, so that a caller's deadline holds on
/// streams of any size (the core reads no clock: the caller's `stop` does).
///
/// # Errors
///
/// As [`scan`], and [`ScanError::Stopped`] once `stop` answers `true`.
pub fn scan_until(
    src: &str,
    extra: &[ImagePath],
    stop: &mut dyn FnMut() -> bool,
) -> Result<Scan, ScanError> {
    check_printable(src)?;
    let mut paths = builtin_paths();
    paths.extend_from_slice(extra);
    let patterns = patterns(&paths);
    let mut parser = Parser::new_from_str(src);
    let mut cursor = CharCursor::new(src);
    let mut builder = Builder::new(&patterns);
    let mut found = Scan {
        documents: 0,
        objects: Vec::new(),
        images: Vec::new(),
    };
    let mut in_document = false;
    let mut events = 0usize;
    while let Some(next) = parser.next_event() {
        // The document being read, or the next one when between documents.
        let document = if in_document {
            found.documents - 1
        } else {
            found.documents
        };
        events += 1;
        if events.is_multiple_of(EVENTS_PER_STOP_CHECK) && stop() {
            let line = next
                .as_ref()
                .map_or_else(|e| e.marker().line(), |(_, span)| span.start.line());
            return Err(ScanError::Stopped { document, line });
        }
        let (event, span) = next.map_err(|e| ScanError::Yaml {
            document,
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        match event {
            Event::DocumentStart(_) => {
                in_document = true;
                found.documents += 1;
            }
            Event::DocumentEnd => {
                in_document = false;
                if let Some(doc) = builder.take_document() {
                    collect_document(src, document, &doc, &paths, &mut found)?;
                }
            }
            event => {
                builder
                    .event(event, span, &mut cursor)
                    .map_err(|bad| ScanError::Position {
                        document,
                        line: bad.line,
                        column: bad.col + 1,
                    })?
            }
        }
    }
    // Text order; a place reached by two paths (a built-in and an extra one) once. Places an anchor repeats
    // share a span and stay apart.
    found
        .images
        .sort_by(|a, b| (a.span.start, a.object, &a.path).cmp(&(b.span.start, b.object, &b.path)));
    found
        .images
        .dedup_by(|a, b| a.span.start == b.span.start && a.object == b.object && a.path == b.path);
    // Both grew by doubling: up to half of each is spare room, kept through planning and applying otherwise.
    found.objects.shrink_to_fit();
    found.images.shrink_to_fit();
    Ok(found)
}

fn collect_document(
    src: &str,
    document: usize,
    doc: &Document<'_>,
    paths: &[ImagePath],
    found: &mut Scan,
) -> Result<(), ScanError> {
    let Node::Map(root) = doc.resolve(&doc.root) else {
        return Ok(());
    };
    let mut uses = Uses::new(doc);
    let items = doc.lookup(root, "items").map(|n| doc.resolve(n));
    match (doc.lookup_str(root, "kind"), items) {
        (Some(kind), Some(Node::Seq(items))) if kind.ends_with("List") => {
            for (_, item) in &items.items {
                if let Node::Map(item) = doc.resolve(item) {
                    collect_object(src, document, doc, item, paths, &mut uses, found)?;
                }
            }
            Ok(())
        }
        _ => collect_object(src, document, doc, root, paths, &mut uses, found),
    }
}

fn collect_object(
    src: &str,
    document: usize,
    doc: &Document<'_>,
    map: &Map<'_>,
    paths: &[ImagePath],
    uses: &mut Uses<'_, '_>,
    found: &mut Scan,
) -> Result<(), ScanError> {
    let metadata = match doc.lookup(map, "metadata").map(|n| doc.resolve(n)) {
        Some(Node::Map(m)) => Some(m),
        _ => None,
    };
    let annotations = match metadata
        .and_then(|m| doc.lookup(m, "annotations"))
        .map(|n| doc.resolve(n))
    {
        Some(Node::Map(a)) => a
            .entries
            .iter()
            .filter_map(|(k, v)| match doc.resolve(v) {
                Node::Scalar(s) => Some((k.value.to_string(), s.value.to_string())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let object = found.objects.len();
    let kind = doc.lookup_str(map, "kind");
    let owned = |s: Option<&str>| s.map(str::to_owned);
    found.objects.push(Object {
        document,
        api_version: owned(doc.lookup_str(map, "apiVersion")),
        kind: owned(kind),
        name: owned(metadata.and_then(|m| doc.lookup_str(m, "name"))),
        namespace: owned(metadata.and_then(|m| doc.lookup_str(m, "namespace"))),
        annotations,
        site: Site::new(src, map, shared_mapping(src, doc, map, uses)),
    });
    let root = Walk {
        node: None,
        map: Some(map),
        via_index: false,
    };
    for path in paths {
        if path.kind().is_some_and(|k| Some(k) != kind) {
            continue;
        }
        let mut hits = Vec::new();
        walk(doc, root, path.steps(), String::new(), None, &mut hits);
        for hit in hits {
            if let Some(image) = image_field(src, document, object, hit, uses)? {
                found.images.push(image);
            }
        }
    }
    Ok(())
}

/// The anchor that shares a mapping annotations would be written into (the object, its `metadata` or its
/// `annotations`) with other places, which would be annotated too.
fn shared_mapping(
    src: &str,
    doc: &Document<'_>,
    object: &Map<'_>,
    uses: &mut Uses<'_, '_>,
) -> Option<AnchorName> {
    let metadata = match object.get("metadata").map(|n| doc.resolve(n)) {
        Some(Node::Map(m)) => Some(m),
        _ => None,
    };
    let annotations = match metadata
        .and_then(|m| m.get("annotations"))
        .map(|n| doc.resolve(n))
    {
        Some(Node::Map(a)) => Some(a),
        _ => None,
    };
    [Some(object), metadata, annotations]
        .into_iter()
        .flatten()
        .find_map(|map| {
            if map.anchor > 0 && uses.anchored(map.anchor) > 1 {
                uses.name(src, map.anchor)
            } else if uses.place(map.enclosing) > 1 {
                uses.name(src, map.enclosing)
            } else {
                None
            }
        })
}

/// Counts the places of a document's meaning that an anchored node (and so each text inside it) appears at: its
/// definition and each alias, each of them as many times as the anchored collection around it appears.
struct Uses<'d, 'a> {
    doc: &'d Document<'a>,
    /// The innermost anchored collection around each alias, by the anchor the alias names.
    aliases: HashMap<usize, Vec<usize>>,
    counted: HashMap<usize, usize>,
    counting: HashSet<usize>,
}

impl<'d, 'a> Uses<'d, 'a> {
    fn new(doc: &'d Document<'a>) -> Self {
        let mut aliases: HashMap<usize, Vec<usize>> = HashMap::new();
        for alias in &doc.aliases {
            aliases.entry(alias.id).or_default().push(alias.enclosing);
        }
        Self {
            doc,
            aliases,
            counted: HashMap::new(),
            counting: HashSet::new(),
        }
    }

    /// How many times a text inside the anchored collection `enclosing` (0: none) appears.
    fn place(&mut self, enclosing: usize) -> usize {
        if enclosing == 0 {
            1
        } else {
            self.anchored(enclosing)
        }
    }

    /// How many times the node anchored as `id` appears; `usize::MAX` for an anchor that contains its own alias.
    fn anchored(&mut self, id: usize) -> usize {
        if let Some(&n) = self.counted.get(&id) {
            return n;
        }
        if !self.counting.insert(id) {
            return usize::MAX;
        }
        let own = self.doc.anchors.get(&id).map_or(0, |a| a.enclosing);
        let mut n = self.place(own);
        for enclosing in self.aliases.get(&id).cloned().unwrap_or_default() {
            n = n.saturating_add(self.place(enclosing));
        }
        self.counting.remove(&id);
        self.counted.insert(id, n);
        n
    }

    fn name(&self, src: &str, id: usize) -> Option<AnchorName> {
        let anchor = self.doc.anchors.get(&id)?;
        Some(AnchorName {
            id,
            name: text::anchor_name(src, anchor.pos.byte).to_owned(),
            line: anchor.pos.line,
        })
    }
}

/// A node on the way down a path.
#[derive(Clone, Copy)]
struct Walk<'n, 'a> {
    /// The node itself (`None` at the object's root, which is `map`).
    node: Option<&'n Node<'a>>,
    map: Option<&'n Map<'a>>,
    /// Whether the node is a sequence item.
    via_index: bool,
}

/// What a path ends at: a string scalar, or an alias of one.
enum Leaf<'n, 'a> {
    Scalar(&'n Scalar<'a>),
    Alias(AliasAt, &'n Scalar<'a>),
}

struct Hit<'n, 'a> {
    path: String,
    leaf: Leaf<'n, 'a>,
    container: Option<String>,
}

fn walk<'n, 'a>(
    doc: &'n Document<'a>,
    at: Walk<'n, 'a>,
    steps: &[Step],
    path: String,
    container: Option<String>,
    out: &mut Vec<Hit<'n, 'a>>,
) {
    let resolved = at.node.map(|n| doc.resolve(n));
    let node_map = at.map.or(match resolved {
        Some(Node::Map(m)) => Some(m),
        _ => None,
    });
    let Some((step, rest)) = steps.split_first() else {
        let leaf = match (at.node, resolved) {
            (Some(Node::Alias(alias)), Some(Node::Scalar(scalar))) => Leaf::Alias(*alias, scalar),
            (_, Some(Node::Scalar(scalar))) => Leaf::Scalar(scalar),
            _ => return,
        };
        out.push(Hit {
            path,
            leaf,
            container,
        });
        return;
    };
    match (step, resolved) {
        (Step::Key(key), _) => {
            let Some(map) = node_map else { return };
            let Some(value) = doc.lookup(map, key) else {
                return;
            };
            let container = if at.via_index {
                doc.lookup_str(map, "name").map(str::to_owned)
            } else {
                None
            };
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let next = Walk {
                node: Some(value),
                map: None,
                via_index: false,
            };
            walk(doc, next, rest, path, container, out);
        }
        (Step::Index(_) | Step::AnyIndex, Some(Node::Seq(seq))) => {
            for (index, item) in &seq.items {
                if matches!(step, Step::Index(i) if i != index) {
                    continue;
                }
                let next = Walk {
                    node: Some(item),
                    map: None,
                    via_index: true,
                };
                walk(doc, next, rest, format!("{path}[{index}]"), None, out);
            }
        }
        _ => {}
    }
}

fn image_field(
    src: &str,
    document: usize,
    object: usize,
    hit: Hit<'_, '_>,
    uses: &mut Uses<'_, '_>,
) -> Result<Option<ImageField>, ScanError> {
    let scalar = match hit.leaf {
        Leaf::Scalar(s) | Leaf::Alias(_, s) => s,
    };
    let style = match scalar.style {
        ParserStyle::Plain => ScalarStyle::Plain,
        ParserStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        ParserStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        ParserStyle::Literal | ParserStyle::Folded => return Ok(None),
    };
    // An empty plain string (`image: !!str`) has no text to replace.
    if !scalar.is_string() || (style == ScalarStyle::Plain && scalar.value.is_empty()) {
        return Ok(None);
    }
    let (span, style, line, column, sharing) = match hit.leaf {
        Leaf::Scalar(scalar) => {
            let (line, column) = (scalar.pos.line, scalar.pos.col + 1);
            let span = scalar_span(src, scalar).ok_or(ScanError::Position {
                document,
                line,
                column,
            })?;
            let sharing = Sharing {
                document,
                uses: if scalar.anchor > 0 {
                    uses.anchored(scalar.anchor)
                } else {
                    uses.place(scalar.enclosing)
                },
                anchor: uses.name(src, scalar.anchor.max(scalar.enclosing)),
                own_anchor: scalar.anchor,
                alias_of: None,
            };
            (span, style, line, column, sharing)
        }
        Leaf::Alias(alias, _) => {
            let start = alias.pos.byte;
            let span = start..start + 1 + text::anchor_name(src, start).len();
            let sharing = Sharing {
                document,
                uses: uses.place(alias.enclosing),
                anchor: uses.name(src, alias.enclosing),
                own_anchor: 0,
                alias_of: uses.name(src, alias.id),
            };
            let (line, column) = (alias.pos.line, alias.pos.col + 1);
            (span, ScalarStyle::Alias, line, column, sharing)
        }
    };
    let alone = sharing.uses == 1
        && sharing.anchor.is_none()
        && sharing.own_anchor == 0
        && sharing.alias_of.is_none();
    Ok(Some(ImageField {
        object,
        path: hit.path,
        container: hit.container,
        value: scalar.value.to_string(),
        span,
        style,
        line,
        column,
        sharing: (!alone).then(|| Box::new(sharing)),
    }))
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
