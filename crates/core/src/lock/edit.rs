//! Changes to a lock file for the committer, made by splicing only the bytes that change: comments, blank
//! lines, key order, indentation, quoting, line breaks (`\r\n` too) and everything else stay as written.
//!
//! Each change reads the file (values with [`super::parse`], positions with `layout`), splices, and reads the
//! result back: unless it parses to exactly the old file with the one change, nothing is returned but an error.
//! A layout the edits cannot change in place (an anchor on the value, a block scalar, an alias for an entry) is
//! refused with a message saying so, never guessed at. New values take the style of the value they replace;
//! new keys the layout around them (block or flow, the indentation of their neighbours). [`write`] writes a
//! new file.
//!
//! ```
//! use argocd_image_resolver_core::lock::{self, LockKey, Resolved};
//! use argocd_image_resolver_core::tag::TagName;
//!
//! let text = "version: 1\nimages:\n  web=ghcr.io/shop/web:   # the shop's front end\n    tag: 1.4.2\n";
//! let key = LockKey::parse("web=ghcr.io/shop/web").unwrap();
//! let tag = TagName::new("1.5.0").unwrap();
//! let resolved = Resolved { tag: &tag, digest: None, policy: "strategy semver" };
//! assert_eq!(
//!     lock::edit::set_resolved(text, &key, &resolved).unwrap(),
//!     "version: 1\nimages:\n  web=ghcr.io/shop/web:   # the shop's front end\n    tag: 1.5.0\n    \
//!      policy: \"strategy semver\"\n",
//! );
//! ```

use saphyr_parser::ScalarStyle;
use thiserror::Error;

use super::layout::{self, Map, Node, Scalar};
use super::{FILE_NAME, LockEntry, LockError, LockFile, LockKey, VERSION};
use crate::manifest::text;
use crate::manifest::{Edit, SpliceError, splice};
use crate::tag::TagName;

/// What the committer records for an image it resolved.
#[derive(Clone, Copy, Debug)]
pub struct Resolved<'a> {
    pub tag: &'a TagName,
    /// The digest the tag names, when known (`sha256:…`).
    pub digest: Option<&'a str>,
    /// The display form of the policy it was resolved under.
    pub policy: &'a str,
}

/// Why a lock file could not be changed. Nothing is changed then.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EditError {
    #[error(transparent)]
    Parse(#[from] LockError),
    #[error("{FILE_NAME}: no entry '{0}' to change")]
    NoEntry(LockKey),
    #[error("{FILE_NAME}: entry '{0}' exists already")]
    EntryExists(LockKey),
    #[error(
        "{FILE_NAME}: entry '{entry}': cannot reject {tag}, the tag the entry renders; move it first"
    )]
    RejectsItsTag { entry: LockKey, tag: TagName },
    #[error("{FILE_NAME}: entry '{entry}': cannot move to {tag}, one of its rejected tags")]
    MovesToRejected { entry: LockKey, tag: TagName },
    #[error("{FILE_NAME}: cannot change {what} in place: {why}; change the file by hand")]
    Layout { what: String, why: String },
    /// The change did not read back as intended: a layout the edits misjudged. Reported rather than written.
    #[error(
        "{FILE_NAME}: changing {what} did not read back as intended ({why}); nothing was changed"
    )]
    Unverified { what: String, why: String },
}

/// Sets an entry's tag, digest and policy (a digest of `None` removes the entry's digest).
///
/// # Errors
///
/// The file does not parse, has no such entry, `tag` is one of the entry's rejected tags, or the entry is laid out
/// in a way that cannot be changed in place.
pub fn set_resolved(
    src: &str,
    key: &LockKey,
    resolved: &Resolved<'_>,
) -> Result<String, EditError> {
    let doc = Doc::read(src)?;
    let what = format!("entry '{key}'");
    let old = doc
        .lock
        .get(key)
        .ok_or_else(|| EditError::NoEntry(key.clone()))?;
    if old.rejected.contains(resolved.tag) {
        return Err(EditError::MovesToRejected {
            entry: key.clone(),
            tag: resolved.tag.clone(),
        });
    }
    let map = doc.entry_map(key)?;
    let mut edits = Vec::new();
    let (_, tag) =
        map_get(map, "tag").ok_or_else(|| doc.layout(&what, "its `tag` is not where it reads"))?;
    edits.extend(doc.replace(tag, resolved.tag, &what)?);
    // Keys the entry lacks go after `tag` (or `digest`), in one insertion: two at one place would be ambiguous.
    let mut missing: Vec<(&str, String)> = Vec::new();
    let mut anchor = tag_item(map);
    match (map_get(map, "digest"), resolved.digest) {
        (Some((_, value)), Some(digest)) => {
            edits.extend(doc.replace(value, digest, &what)?);
            anchor = map_get(map, "digest");
        }
        (Some(item), None) if !item.1.is_null() => edits.push(doc.remove(map, item, &what)?),
        (Some(_), None) | (None, None) => {}
        (None, Some(digest)) => missing.push(("digest", value_text(digest, map.flow))),
    }
    match map_get(map, "policy") {
        Some((_, value)) => edits.extend(doc.replace(value, resolved.policy, &what)?),
        None => missing.push(("policy", value_text(resolved.policy, map.flow))),
    }
    if !missing.is_empty() {
        // With a new digest, both go after `tag`; a new policy alone after the digest there is.
        let after = if missing[0].0 == "digest" {
            tag_item(map)
        } else {
            anchor
        };
        edits.push(doc.insert_after(map, after, &missing, &what)?);
    }
    let mut expected = doc.lock.clone();
    let entry = LockEntry {
        tag: resolved.tag.clone(),
        digest: resolved.digest.map(str::to_owned),
        policy: Some(resolved.policy.to_owned()),
        ..(**old).clone()
    };
    expected.replace(entry);
    doc.finish(&edits, &expected, &what)
}

/// Adds an entry after the last one.
///
/// # Errors
///
/// The file does not parse, has the entry already, or lays out `images` in a way that cannot be changed in
/// place.
pub fn add_entry(src: &str, entry: &LockEntry) -> Result<String, EditError> {
    let doc = Doc::read(src)?;
    let what = format!("entry '{}'", entry.key);
    if doc.lock.get(&entry.key).is_some() {
        return Err(EditError::EntryExists(entry.key.clone()));
    }
    let root = doc.root_map(&what)?;
    let edits = match map_get(root, "images") {
        None if root.flow => {
            let text = format!(", images: {{{}}}", flow_entry(entry));
            vec![doc.insert_flow(root, &text, &what)?]
        }
        None => {
            let last = root
                .items
                .last()
                .ok_or_else(|| doc.layout(&what, "the file is empty"))?;
            let indent = text::column(doc.src, last.0.start());
            let mut lines = vec![format!("{}images:", " ".repeat(indent))];
            lines.extend(block_entry(entry, indent + 2, indent + 4));
            vec![doc.insert_lines(&last.1, indent, &lines, &what)?]
        }
        Some((key, value)) if value.is_null() || is_empty_flow_map(value) => {
            // `images:`, `images: ~` or `images: {}`: the value goes, the entry comes on the lines below.
            let colon = text::after_colon(doc.src, key.end())
                .ok_or_else(|| doc.layout(&what, "`images` has no ':' after it"))?;
            let indent = text::column(doc.src, key.start());
            let mut edits = Vec::new();
            if value.end() > colon {
                edits.push(Edit {
                    range: colon..value.end(),
                    text: String::new(),
                });
            }
            let lines = block_entry(entry, indent + 2, indent + 4);
            edits.push(doc.insert_lines(value, indent, &lines, &what)?);
            edits
        }
        Some((_, Node::Map(images))) if images.flow => {
            let text = format!(", {}", flow_entry(entry));
            vec![doc.insert_flow(images, &text, &what)?]
        }
        Some((_, Node::Map(images))) => {
            let (last_key, last_value) = images
                .items
                .last()
                .ok_or_else(|| doc.layout(&what, "`images` is empty"))?;
            let indent = text::column(doc.src, last_key.start());
            let lines = match last_value {
                // The neighbour's layout: its keys' indentation, or one line in flow style.
                Node::Map(fields) if !fields.flow => {
                    let inner = fields
                        .items
                        .first()
                        .map_or(indent + 2, |(k, _)| text::column(doc.src, k.start()));
                    block_entry(entry, indent, inner)
                }
                Node::Map(_) => vec![format!("{}{}", " ".repeat(indent), flow_entry(entry))],
                _ => block_entry(entry, indent, indent + 2),
            };
            vec![doc.insert_lines(last_value, indent, &lines, &what)?]
        }
        Some(_) => return Err(doc.layout(&what, "`images` is not a mapping written in the file")),
    };
    let mut expected = doc.lock.clone();
    expected.push(entry.clone());
    doc.finish(&edits, &expected, &what)
}

/// Adds `tag` to an entry's `rejected` tags (at the end); nothing changes when it is there already.
///
/// # Errors
///
/// The file does not parse, has no such entry, `tag` is the one the entry renders, or the entry's layout cannot be
/// changed in place.
pub fn add_rejected(src: &str, key: &LockKey, tag: &TagName) -> Result<String, EditError> {
    let doc = Doc::read(src)?;
    let what = format!("entry '{key}'");
    let old = doc
        .lock
        .get(key)
        .ok_or_else(|| EditError::NoEntry(key.clone()))?;
    if old.rejected.contains(tag) {
        return Ok(src.to_owned());
    }
    if old.tag == *tag {
        return Err(EditError::RejectsItsTag {
            entry: key.clone(),
            tag: tag.clone(),
        });
    }
    let map = doc.entry_map(key)?;
    let item = value_text(tag, true);
    let edit = match map_get(map, "rejected") {
        None => doc.insert_after(map, None, &[("rejected", format!("[{item}]"))], &what)?,
        Some((key_node, value)) if value.is_null() => {
            let colon = text::after_colon(doc.src, key_node.end())
                .ok_or_else(|| doc.layout(&what, "`rejected` has no ':' after it"))?;
            Edit {
                range: colon..value.end().max(colon),
                text: format!(" [{item}]"),
            }
        }
        Some((_, Node::Seq(seq))) if seq.anchored => {
            return Err(doc.layout(&what, "an anchor is on `rejected`"));
        }
        Some((_, Node::Seq(seq))) if seq.flow => match seq.items.last() {
            None => Edit {
                range: seq.start + 1..seq.start + 1,
                text: item,
            },
            Some(last) => Edit {
                range: last.end()..last.end(),
                text: format!(", {item}"),
            },
        },
        Some((_, Node::Seq(seq))) => {
            let last = seq
                .items
                .last()
                .ok_or_else(|| doc.layout(&what, "`rejected` is empty"))?;
            let line = text::line_start(doc.src, last.start());
            let prefix = &doc.src[line..last.start()];
            let dash = prefix.trim_end_matches(' ');
            if !(dash.ends_with('-') && dash[..dash.len() - 1].bytes().all(|b| b == b' ')) {
                return Err(doc.layout(&what, "its last rejected tag does not start a `- ` line"));
            }
            let indent = dash.len() - 1;
            let item = format!("{}- {}", " ".repeat(indent), value_text(tag, false));
            doc.insert_lines(last, indent, &[item], &what)?
        }
        Some(_) => return Err(doc.layout(&what, "`rejected` is not a list written in the file")),
    };
    let mut expected = doc.lock.clone();
    let mut entry = (**old).clone();
    entry.rejected.push(tag.clone());
    expected.replace(entry);
    doc.finish(&[edit], &expected, &what)
}

/// A new lock file holding `entries` (sorted by key), in the fixed layout: a comment saying what the file is,
/// `version`, then one block per entry.
///
/// ```
/// use argocd_image_resolver_core::lock::{self, LockEntry, LockFile, LockKey, Resolved};
/// use argocd_image_resolver_core::tag::TagName;
///
/// let tag = TagName::new("1.4.2").unwrap();
/// let resolved = Resolved { tag: &tag, digest: None, policy: "strategy semver, constraint '^1'" };
/// let entry = LockEntry::new(LockKey::parse("web=ghcr.io/shop/web").unwrap(), &resolved);
/// let text = lock::write(&[entry.clone()]);
/// assert!(text.ends_with(
///     "version: 1\nimages:\n  web=ghcr.io/shop/web:\n    tag: 1.4.2\n    \
///      policy: \"strategy semver, constraint '^1'\"\n"
/// ));
/// assert_eq!(LockFile::parse(&text).unwrap(), LockFile::from_entries([entry]));
/// ```
pub fn write(entries: &[LockEntry]) -> String {
    let mut sorted: Vec<&LockEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = String::from(HEADER);
    out.push_str(&format!("version: {VERSION}\n"));
    if sorted.is_empty() {
        out.push_str("images: {}\n");
    } else {
        out.push_str("images:\n");
        for entry in sorted {
            for line in block_entry(entry, 2, 4) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// What a new file says about itself.
const HEADER: &str = "\
# The images argocd-image-resolver renders for this application: `generate` renders each tracked image exactly
# as its entry says, without asking its registry, and the committer moves the entries forward in commits.
# An entry per image, keyed `[alias=]repository` (the repository canonical: registry and full path):
#   tag, digest    the tag the image was resolved to, and the digest it named then
#   policy         the policy it was resolved under
#   pin: <tag>     render this tag instead, whatever the policy says
#   hold: true     the committer leaves the entry as it is
#   rejected: [..] tags a revert took back: the committer never moves to them again
# Edit it by hand as you need: comments and layout are kept.
";

/// The lines of a block entry: its key at `indent`, its fields at `inner`.
fn block_entry(entry: &LockEntry, indent: usize, inner: usize) -> Vec<String> {
    let mut lines = vec![format!(
        "{}{}:",
        " ".repeat(indent),
        key_text(&entry.key, false)
    )];
    for (key, value) in fields(entry, false) {
        lines.push(format!("{}{key}: {value}", " ".repeat(inner)));
    }
    lines
}

/// An entry on one line: `key: {tag: …, …}`.
fn flow_entry(entry: &LockEntry) -> String {
    let fields: Vec<String> = fields(entry, true)
        .into_iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect();
    format!("{}: {{{}}}", key_text(&entry.key, true), fields.join(", "))
}

/// An entry's keys and values as written, in the fixed order.
fn fields(entry: &LockEntry, flow: bool) -> Vec<(&'static str, String)> {
    let mut fields = vec![("tag", value_text(&entry.tag, flow))];
    if let Some(digest) = &entry.digest {
        fields.push(("digest", value_text(digest, flow)));
    }
    if let Some(policy) = &entry.policy {
        fields.push(("policy", value_text(policy, flow)));
    }
    if let Some(pin) = &entry.pin {
        fields.push(("pin", value_text(pin, flow)));
    }
    if entry.hold {
        fields.push(("hold", "true".to_owned()));
    }
    if !entry.rejected.is_empty() {
        let tags: Vec<String> = entry.rejected.iter().map(|t| value_text(t, true)).collect();
        fields.push(("rejected", format!("[{}]", tags.join(", "))));
    }
    fields
}

/// A key as written: plain when every reader reads it back as this string (it holds a `/`, so it is never a
/// number), else double-quoted. In flow context, a `:` is quoted too, which readers disagree about there.
fn key_text(key: &LockKey, flow: bool) -> String {
    let key = key.to_string();
    let plain = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._/-=:".contains(&b))
        && key.as_bytes()[0].is_ascii_alphanumeric()
        && !key.ends_with(':')
        && !(flow && key.contains(':'));
    if plain {
        key
    } else {
        text::double_quoted(&key)
    }
}

/// A new value as written: plain when every YAML reader (1.1 or 1.2) reads it back as this string, else
/// double-quoted. A version of three or more parts (`1.27.3`) stays plain: no number has two dots. In flow
/// context, a `:` is quoted too.
fn value_text(value: &str, flow: bool) -> String {
    let version = value.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && value.matches('.').count() >= 2
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    if (text::plain_ok(value) || version) && !(flow && value.contains(':')) {
        value.to_owned()
    } else {
        text::double_quoted(value)
    }
}

/// `value` in the style of the scalar it replaces: quoted as it was, plain when it can be.
fn styled_text(value: &str, style: ScalarStyle, flow: bool) -> String {
    match style {
        ScalarStyle::SingleQuoted => {
            text::single_quoted(value).unwrap_or_else(|| text::double_quoted(value))
        }
        ScalarStyle::DoubleQuoted => text::double_quoted(value),
        _ => value_text(value, flow),
    }
}

fn map_get<'n>(map: &'n Map, key: &str) -> Option<(&'n Node, &'n Node)> {
    map.items
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, Node::Scalar(s) if s.value == key))
        .map(|(k, v)| (k, v))
}

fn tag_item(map: &Map) -> Option<(&Node, &Node)> {
    map_get(map, "tag")
}

fn is_empty_flow_map(node: &Node) -> bool {
    matches!(node, Node::Map(m) if m.flow && m.items.is_empty())
}

impl LockFile {
    fn replace(&mut self, entry: LockEntry) {
        if let Some(slot) = self.entries.iter_mut().find(|e| e.key == entry.key) {
            *slot = std::sync::Arc::new(entry);
        }
    }

    fn push(&mut self, entry: LockEntry) {
        self.entries.push(std::sync::Arc::new(entry));
    }
}

/// Whether the positions read (`root`) show the keys the values were read from (`lock`): the file's keys, each
/// entry's key in order, each entry's keys. The two parsers disagree on a few corners of YAML (`?key` in a flow
/// mapping, say); an edit there would land in the wrong place.
fn agrees(root: &Node, lock: &LockFile) -> bool {
    fn keys(map: &Map) -> Option<Vec<&str>> {
        map.items
            .iter()
            .map(|(k, _)| match k {
                Node::Scalar(s) => Some(s.value.as_str()),
                _ => None,
            })
            .collect()
    }
    let Node::Map(root) = root else {
        return false;
    };
    let Some(root_keys) = keys(root) else {
        return false;
    };
    if root_keys
        .iter()
        .any(|k| !matches!(*k, "version" | "images"))
    {
        return false;
    }
    let written: Vec<String> = lock.entries().iter().map(|e| e.key.to_string()).collect();
    match map_get(root, "images") {
        None => written.is_empty(),
        Some((_, images)) if images.is_null() || is_empty_flow_map(images) => written.is_empty(),
        Some((_, Node::Map(images))) => {
            keys(images).is_some_and(|k| k == written)
                && images.items.iter().all(|(_, entry)| match entry {
                    Node::Map(fields) => keys(fields).is_some_and(|k| {
                        k.iter().all(|k| {
                            matches!(
                                *k,
                                "tag" | "digest" | "policy" | "pin" | "hold" | "rejected"
                            )
                        })
                    }),
                    _ => true,
                })
        }
        // An alias, or what the edits cannot change anyway: they say so.
        Some(_) => true,
    }
}

/// A lock file read twice: its values, and where they are.
struct Doc<'a> {
    src: &'a str,
    lock: LockFile,
    root: Node,
    /// The line break new lines get: the file's first.
    nl: &'static str,
}

impl<'a> Doc<'a> {
    fn read(src: &'a str) -> Result<Doc<'a>, EditError> {
        let lock = LockFile::parse(src)?;
        let layout_error = |why: String| EditError::Layout {
            what: "the file".into(),
            why,
        };
        let root = layout::read(src)
            .map_err(|e| layout_error(format!("its YAML reads differently here: {}", e.0)))?
            .ok_or_else(|| layout_error("it holds no document".into()))?;
        if !agrees(&root, &lock) {
            return Err(layout_error(
                "its YAML reads differently to the parsers that read it (an unusual spelling of a key?)".into(),
            ));
        }
        Ok(Doc {
            src,
            lock,
            root,
            nl: text::line_break_at(src, 0),
        })
    }

    fn layout(&self, what: &str, why: &str) -> EditError {
        EditError::Layout {
            what: what.to_owned(),
            why: why.to_owned(),
        }
    }

    fn root_map(&self, what: &str) -> Result<&Map, EditError> {
        match &self.root {
            Node::Map(map) if !map.anchored => Ok(map),
            _ => Err(self.layout(what, "the file is not a mapping written out")),
        }
    }

    /// The mapping of the entry `key`, as written (not through an alias or under an anchor).
    fn entry_map(&self, key: &LockKey) -> Result<&Map, EditError> {
        let what = format!("entry '{key}'");
        let root = self.root_map(&what)?;
        let Some((_, Node::Map(images))) = map_get(root, "images") else {
            return Err(self.layout(&what, "`images` is not a mapping written out"));
        };
        let written = key.to_string();
        match map_get(images, &written) {
            Some((_, Node::Map(map))) if !map.anchored && !images.anchored => Ok(map),
            Some((_, Node::Map(_))) => Err(self.layout(&what, "an anchor is on it")),
            Some(_) => Err(self.layout(&what, "it is not a mapping written out (an alias?)")),
            None => Err(self.layout(&what, "its key is not written plainly (an alias?)")),
        }
    }

    /// The edit that sets `node` (a scalar) to `value`: none when it says so already.
    fn replace(&self, node: &Node, value: &str, what: &str) -> Result<Option<Edit>, EditError> {
        let Node::Scalar(Scalar {
            value: old,
            style,
            span,
            exact,
            anchored,
            ..
        }) = node
        else {
            return Err(self.layout(what, "a value is not a scalar written out"));
        };
        if old == value && !node.is_null() {
            return Ok(None);
        }
        if *anchored || !exact {
            return Err(self.layout(what, "a value has an anchor or is a block scalar"));
        }
        let flow = self.in_flow(span.start);
        let mut text = styled_text(value, *style, flow);
        if span.is_empty() {
            // `key:` with nothing after it: the value needs its space.
            text.insert(0, ' ');
        }
        Ok(Some(Edit {
            range: span.clone(),
            text,
        }))
    }

    /// Whether byte `at` is inside a flow collection (the edits' values then quote `:`).
    fn in_flow(&self, at: usize) -> bool {
        fn inside(node: &Node, at: usize) -> bool {
            match node {
                Node::Map(m) if m.start <= at && at < m.end => {
                    m.flow || m.items.iter().any(|(k, v)| inside(k, at) || inside(v, at))
                }
                Node::Seq(s) if s.start <= at && at < s.end => {
                    s.flow || s.items.iter().any(|i| inside(i, at))
                }
                _ => false,
            }
        }
        inside(&self.root, at)
    }

    /// The edit that takes the item `(key, value)` out of `map`: its lines in a block mapping (the key must start
    /// its line), its text and one `,` in a flow mapping.
    fn remove(
        &self,
        map: &Map,
        (key, value): (&Node, &Node),
        what: &str,
    ) -> Result<Edit, EditError> {
        let index = map
            .items
            .iter()
            .position(|(k, _)| std::ptr::eq(k, key))
            .ok_or_else(|| self.layout(what, "a key is not where it reads"))?;
        let range = if map.flow {
            match (
                index.checked_sub(1).map(|i| &map.items[i]),
                map.items.get(index + 1),
            ) {
                (Some((_, before)), _) => before.end()..value.end(),
                (None, Some((after, _))) => key.start()..after.start(),
                (None, None) => key.start()..value.end(),
            }
        } else {
            let line = text::line_start(self.src, key.start());
            if !self.src[line..key.start()].bytes().all(|b| b == b' ') {
                return Err(self.layout(what, "a key does not start its line"));
            }
            line..text::line_end(self.src, value.end()).1
        };
        Ok(Edit {
            range,
            text: String::new(),
        })
    }

    /// The edit that adds `fields` to `map` after the item `after` (the last item when `None`).
    fn insert_after(
        &self,
        map: &Map,
        after: Option<(&Node, &Node)>,
        fields: &[(&str, String)],
        what: &str,
    ) -> Result<Edit, EditError> {
        let (key, value) = after
            .or_else(|| map.items.last().map(|(k, v)| (k, v)))
            .ok_or_else(|| self.layout(what, "it has no keys"))?;
        if map.flow {
            let text: String = fields.iter().map(|(k, v)| format!(", {k}: {v}")).collect();
            return Ok(Edit {
                range: value.end()..value.end(),
                text,
            });
        }
        let indent = text::column(self.src, key.start());
        let lines: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}{k}: {v}", " ".repeat(indent)))
            .collect();
        self.line_after(value, &lines, what)
    }

    /// Adds `text` (`, …`) to a flow mapping after its last item (or inside its braces when it has none).
    fn insert_flow(&self, map: &Map, text: &str, what: &str) -> Result<Edit, EditError> {
        if map.anchored {
            return Err(self.layout(what, "an anchor is on it"));
        }
        Ok(match map.items.last() {
            Some((_, value)) => Edit {
                range: value.end()..value.end(),
                text: text.to_owned(),
            },
            None => Edit {
                range: map.start + 1..map.start + 1,
                text: text.trim_start_matches(", ").to_owned(),
            },
        })
    }

    /// `lines` inserted after the line `after` ends on and any comment lines indented deeper than `indent` below
    /// it (they belong to what ends there), or indented with a tab.
    fn insert_lines(
        &self,
        after: &Node,
        indent: usize,
        lines: &[String],
        what: &str,
    ) -> Result<Edit, EditError> {
        self.not_after_block_scalar(after, what)?;
        let (_, mut next) = text::line_end(self.src, after.end());
        // The new lines go after the comments that belong above them: deeper ones, and those behind a tab (or a
        // tabbed blank line), which are fine where they are and not inside the new lines' block — also past plain
        // blank lines before such a comment. Plain blank lines and comments after the last of those stay below.
        let mut at = next;
        while next < self.src.len() {
            let (line_end, after) = text::line_end(self.src, next);
            let line = &self.src[next..line_end];
            let body = line.trim_start_matches([' ', '\t']);
            let lead = line.len() - body.len();
            let tabbed = line[..lead].contains('\t');
            if (body.starts_with('#') && (lead > indent || tabbed)) || (body.is_empty() && tabbed) {
                next = after;
                at = after;
            } else if body.is_empty() {
                next = after;
            } else {
                break;
            }
        }
        Ok(self.lines_at(at, lines))
    }

    /// `lines` inserted after the line `after` ends on.
    fn line_after(&self, after: &Node, lines: &[String], what: &str) -> Result<Edit, EditError> {
        self.not_after_block_scalar(after, what)?;
        Ok(self.lines_at(text::line_end(self.src, after.end()).1, lines))
    }

    /// Refuses lines after a node that ends in a block scalar (`|`, `>`): the line break after its last line, and
    /// the blank lines below it, are part of its value (`|+` keeps them), so lines put there would change it.
    fn not_after_block_scalar(&self, after: &Node, what: &str) -> Result<(), EditError> {
        fn ends_in_block(node: &Node) -> bool {
            match node {
                Node::Scalar(s) => !s.exact,
                Node::Map(m) if !m.flow => m.items.last().is_some_and(|(_, v)| ends_in_block(v)),
                Node::Seq(s) if !s.flow => s.items.last().is_some_and(ends_in_block),
                _ => false,
            }
        }
        if ends_in_block(after) {
            return Err(self.layout(
                what,
                "a block scalar (`|`, `>`) ends where the new lines would go",
            ));
        }
        Ok(())
    }

    /// `lines` inserted at the start of the line at `at`, or after the last line when it has no line break.
    fn lines_at(&self, at: usize, lines: &[String]) -> Edit {
        let ends_line = at == 0 || self.src[..at].ends_with(['\n', '\r']);
        let text = if ends_line {
            lines.iter().map(|l| format!("{l}{}", self.nl)).collect()
        } else {
            lines.iter().map(|l| format!("{}{l}", self.nl)).collect()
        };
        Edit {
            range: at..at,
            text,
        }
    }

    /// Splices `edits` and reads the result back: it must be `expected`.
    fn finish(&self, edits: &[Edit], expected: &LockFile, what: &str) -> Result<String, EditError> {
        let unverified = |why: String| EditError::Unverified {
            what: what.to_owned(),
            why,
        };
        // Insertions at one place (a value after its `:`, then a line after it, at the end of a file without a
        // final line break) go in the order they were made, which is the text's.
        let mut merged: Vec<Edit> = Vec::with_capacity(edits.len());
        for edit in edits {
            match merged
                .iter_mut()
                .find(|m| m.range.is_empty() && m.range == edit.range)
            {
                Some(m) if edit.range.is_empty() => m.text.push_str(&edit.text),
                _ => merged.push(edit.clone()),
            }
        }
        let out = splice(self.src, &merged).map_err(|e: SpliceError| unverified(e.to_string()))?;
        match LockFile::parse(&out) {
            Ok(lock) if lock == *expected => Ok(out),
            Ok(_) => Err(unverified("it reads as another change".into())),
            Err(e) => Err(unverified(e.to_string())),
        }
    }
}
