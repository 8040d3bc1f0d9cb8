//! From one document's tree to the scan's objects and images: objects (a root mapping or a `…List`'s items),
//! the paths walked down to image scalars, and how many places an anchored text gives its value to.

use std::collections::{HashMap, HashSet};

use saphyr_parser::ScalarStyle as ParserStyle;

use super::{Scan, ScanError};
use crate::manifest::object::{AnchorName, ImageField, Object, ScalarStyle, Sharing};
use crate::manifest::path::ImagePath;
use crate::manifest::site::Site;
use crate::manifest::text;
use crate::manifest::tree::{AliasAt, Document, Map, Node, Scalar, Step, scalar_span};

pub(super) fn collect_document(
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
        site: Site::new(
            src,
            map,
            shared_mapping(src, doc, map, uses).map(|a| a.to_string()),
        ),
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
