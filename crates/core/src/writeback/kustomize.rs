//! Setting an image in a kustomization's `images:` as `kustomize edit set image` would, changing only the bytes
//! of the changed fields.
//!
//! As argocd-image-updater (`writeKustomization`): the entry whose `name` is exactly the image's name (kustomize
//! matches names as written, so `nginx` and `docker.io/library/nginx` are different entries) is made to say
//! `newName`, `newTag` and `digest` as given, a field given as `None` removed (a stale `digest` would keep the old
//! image); other fields stay. A missing entry is appended, a missing `images:` added. New text follows the file:
//! block or flow, the indentation and `- ` offset of the existing entries (else the file's), the quoting of the
//! same field in other entries, JSON-style quoted keys in a JSON file. Only string values are written, and plain
//! only when every reader reads them back as strings (`1.20` is quoted).

use saphyr_parser::ScalarStyle;

use super::edit::{
    EditError, FileEditError, Quote, apply, check_tail, flow_append, flow_gap, json_keys, key_text,
    line_break, line_end, preferred_quote, scalar_text,
};
use super::helm::{
    check_alias, check_colon, check_shared, empty_prefix, replace_scalar, scalar_at_node,
};
use super::image::KustomizeImage;
use super::yaml::{self, Doc, Kind, Node, dash_before};
use crate::manifest::Edit;
use crate::manifest::text;

/// The fields of an `images:` entry this editor writes, in the order kustomize writes them.
const FIELDS: [&str; 3] = ["newName", "newTag", "digest"];

/// Makes the `images:` entry named `image.name` in the kustomization `src` (named `file` in messages) say what
/// `image` says. The result equals `src` when it already does.
///
/// ```
/// use argocd_image_resolver_core::writeback::{KustomizeImage, set_kustomize_image};
///
/// let src = "resources:\n- deployment.yaml\nimages:\n- name: ghcr.io/org/web  # the shop\n  newTag: 1.0.0\n";
/// let image = KustomizeImage {
///     name: "ghcr.io/org/web".into(),
///     new_name: None,
///     new_tag: Some("1.2.0".into()),
///     digest: None,
/// };
/// assert_eq!(set_kustomize_image("kustomization.yaml", src, &image).unwrap(), src.replace("1.0.0", "1.2.0"));
/// ```
///
/// # Errors
///
/// Invalid YAML, more than one document, a document or `images` of the wrong kind, two entries of that name,
/// a field that is no plain or quoted value, or text an alias shares; the message names `file` and the entry.
pub fn set_kustomize_image(
    file: &str,
    src: &str,
    image: &KustomizeImage,
) -> Result<String, FileEditError> {
    set(src, image).map_err(|e| e.in_file(file))
}

/// What the `images:` entry named `name` in the kustomization `src` sets the tag to: `newTag`, with `@digest`
/// when it has one (the digest alone without a tag); `None` when there is no such entry, it sets neither, or the
/// file cannot be read (the edit itself reports that).
pub(crate) fn entry_tag(src: &str, name: &str) -> Option<String> {
    let doc = yaml::parse(src).ok()?;
    let (_, images) = doc.root.as_ref()?.entry("images")?;
    let Kind::Seq { items, .. } = &images.kind else {
        return None;
    };
    let entry = items
        .iter()
        .find(|item| item.entry("name").and_then(|(_, v)| v.text()) == Some(name))?;
    let field = |key: &str| {
        entry
            .entry(key)
            .and_then(|(_, v)| v.text())
            .filter(|text| !text.is_empty())
    };
    match (field("newTag"), field("digest")) {
        (Some(tag), Some(digest)) => Some(format!("{tag}@{digest}")),
        (tag, digest) => tag.or(digest).map(String::from),
    }
}

/// The field values `image` asks for, in [`FIELDS`] order.
fn wanted(image: &KustomizeImage) -> [Option<&str>; 3] {
    [
        image.new_name.as_deref(),
        image.new_tag.as_deref(),
        image.digest.as_deref(),
    ]
}

fn set(src: &str, image: &KustomizeImage) -> Result<String, EditError> {
    let doc = yaml::parse(src)?;
    let quote = preferred_quote(&doc);
    let edits = match &doc.root {
        Some(root) if !root.is_empty() => edits(&doc, root, image, quote)?,
        _ => {
            // An empty file (or only comments): `images:` and the entry after what is there.
            let brk = if src.is_empty() {
                "\n"
            } else {
                line_break(src, 0)
            };
            let mut out = src.to_string();
            if !(src.is_empty() || src.ends_with(['\n', '\r'])) {
                out.push_str(brk);
            }
            out.push_str("images:");
            out.push_str(&block_entry(image, &Styles::default(), 0, 2, quote, brk));
            out.push_str(brk);
            return Ok(out);
        }
    };
    apply(src, edits)
}

/// How the existing entries write each key's value (the first entry that has it), and their layout.
#[derive(Default)]
struct Styles {
    name: Option<ScalarStyle>,
    fields: [Option<ScalarStyle>; 3],
    json: bool,
}

impl Styles {
    fn of(items: &[Node<'_>]) -> Styles {
        let style = |key: &str| {
            items
                .iter()
                .find_map(|item| match &item.entry(key)?.1.kind {
                    Kind::Scalar { style, .. } => Some(*style),
                    _ => None,
                })
        };
        Styles {
            name: style("name"),
            fields: FIELDS.map(style),
            json: items.first().is_some_and(json_keys),
        }
    }

    fn like(&self, field: Option<usize>) -> Option<ScalarStyle> {
        if self.json {
            return Some(ScalarStyle::DoubleQuoted);
        }
        match field {
            None => self.name,
            Some(i) => self.fields[i],
        }
    }
}

fn edits(
    doc: &Doc<'_>,
    root: &Node<'_>,
    image: &KustomizeImage,
    quote: Quote,
) -> Result<Vec<Edit>, EditError> {
    let src = doc.src;
    let Kind::Map {
        flow: root_flow,
        entries,
    } = &root.kind
    else {
        return Err(EditError::Root {
            path: "images".into(),
            found: root.describe(),
        });
    };
    check_shared(doc, root, "images", "the document")?;
    let Some((key, images)) = root.entry("images") else {
        if root.has_merge_key() {
            return Err(EditError::Merge {
                path: "images".into(),
                at: "the document".into(),
                key: "images".into(),
            });
        }
        // A new `images:` after the last entry, as a block list at the file's `- ` offset, or in flow.
        if *root_flow {
            let json = json_keys(root);
            let (at, sep) = flow_append(src, entries.last().map(|(_, last)| last), root.body);
            let styles = Styles {
                json,
                ..Styles::default()
            };
            let text = format!(
                "{sep}{}: [{}]",
                key_text("images", true, json),
                flow_entry(image, &styles, quote)
            );
            return Ok(vec![Edit {
                range: at..at,
                text,
            }]);
        }
        let at = line_end(src, root.end);
        check_tail(doc, at, "images")?;
        let brk = line_break(src, at);
        let indent = text::column(src, root.body);
        let entry = block_entry(
            image,
            &Styles::default(),
            indent + seq_offset(doc),
            2,
            quote,
            brk,
        );
        return Ok(vec![Edit {
            range: at..at,
            text: format!("{brk}{:indent$}images:{entry}", ""),
        }]);
    };
    check_alias(doc, images, "images", "images")?;
    check_shared(doc, images, "images", "images")?;
    check_colon(images, *root_flow, "images")?;
    if images.is_null() {
        let styles = Styles::default();
        if *root_flow {
            return Ok(vec![Edit {
                range: images.body..images.end,
                text: format!(
                    "{}[{}]",
                    empty_prefix(src, images),
                    flow_entry(image, &styles, quote)
                ),
            }]);
        }
        let mut edits = Vec::new();
        if images.end > images.body {
            let from = src[..images.body].trim_end_matches([' ', '\t']).len();
            edits.push(Edit {
                range: from..images.end,
                text: String::new(),
            });
        }
        let at = line_end(src, images.end);
        let indent = text::column(src, key.start) + seq_offset(doc);
        edits.push(Edit {
            range: at..at,
            text: block_entry(image, &styles, indent, 2, quote, line_break(src, at)),
        });
        return Ok(edits);
    }
    let Kind::Seq { flow, items } = &images.kind else {
        return Err(EditError::NotList {
            path: "images".into(),
            at: "images".into(),
            found: images.describe(),
        });
    };
    let styles = Styles::of(items);
    let matching: Vec<&Node<'_>> = items
        .iter()
        .filter(|item| item.entry("name").and_then(|(_, v)| v.text()) == Some(image.name.as_str()))
        .collect();
    match matching.as_slice() {
        [] => Ok(vec![append_entry(
            doc, images, items, *flow, image, &styles, quote,
        )?]),
        [entry] => edit_entry(doc, entry, image, &styles, quote),
        many => Err(EditError::DuplicateImage {
            name: image.name.clone(),
            count: many.len(),
        }),
    }
}

/// Where a block list's `-` goes relative to its key: the file's first block list under a key (`key:\n- a` is
/// 0, `key:\n  - a` is 2), else 0 as kustomize writes it.
fn seq_offset(doc: &Doc<'_>) -> usize {
    fn find(src: &str, node: &Node<'_>) -> Option<usize> {
        match &node.kind {
            Kind::Map {
                flow: false,
                entries,
            } => entries.iter().find_map(|(key, value)| match &value.kind {
                Kind::Seq { flow: false, .. } => {
                    text::column(src, value.body).checked_sub(text::column(src, key.start))
                }
                _ => find(src, value),
            }),
            Kind::Seq { items, .. } => items.iter().find_map(|item| find(src, item)),
            _ => None,
        }
    }
    doc.root
        .as_ref()
        .and_then(|root| find(doc.src, root))
        .unwrap_or(0)
}

/// A new entry appended to the list `images`.
fn append_entry(
    doc: &Doc<'_>,
    images: &Node<'_>,
    items: &[Node<'_>],
    flow: bool,
    image: &KustomizeImage,
    styles: &Styles,
    quote: Quote,
) -> Result<Edit, EditError> {
    let src = doc.src;
    if flow {
        let (at, sep) = flow_append(src, items.last(), images.body);
        return Ok(Edit {
            range: at..at,
            text: format!("{sep}{}", flow_entry(image, styles, quote)),
        });
    }
    let at = line_end(src, images.end);
    check_tail(doc, at, &format!("images entry '{}'", image.name))?;
    let dash = text::column(src, images.body);
    // The entries' key column after their `-` (`- name:` is 2), from the first entry written that way.
    let offset = items
        .iter()
        .find_map(|item| {
            let d = dash_before(src, item.start)?;
            (text::line_start(src, d) == text::line_start(src, item.body))
                .then(|| text::column(src, item.body).saturating_sub(text::column(src, d)))
        })
        .filter(|&o| o > 0)
        .unwrap_or(2);
    Ok(Edit {
        range: at..at,
        text: block_entry(image, styles, dash, offset, quote, line_break(src, at)),
    })
}

/// A block list entry for `image`, each line after `brk`: `- name: …` at `dash` columns, the other keys at
/// `dash + offset`.
fn block_entry(
    image: &KustomizeImage,
    styles: &Styles,
    dash: usize,
    offset: usize,
    quote: Quote,
    brk: &str,
) -> String {
    let mut out = format!(
        "{brk}{:dash$}-{:gap$}name: {}",
        "",
        "",
        scalar_text(&image.name, styles.like(None), false, quote),
        gap = offset.max(2) - 1
    );
    for (i, (field, value)) in FIELDS.iter().zip(wanted(image)).enumerate() {
        if let Some(value) = value {
            out.push_str(&format!(
                "{brk}{:indent$}{field}: {}",
                "",
                scalar_text(value, styles.like(Some(i)), false, quote),
                indent = dash + offset.max(2)
            ));
        }
    }
    out
}

/// A flow mapping for `image`: `{name: …, newTag: …}`.
fn flow_entry(image: &KustomizeImage, styles: &Styles, quote: Quote) -> String {
    let json = styles.json;
    let mut parts = vec![format!(
        "{}: {}",
        key_text("name", true, json),
        scalar_text(&image.name, styles.like(None), true, quote)
    )];
    for (i, (field, value)) in FIELDS.iter().zip(wanted(image)).enumerate() {
        if let Some(value) = value {
            parts.push(format!(
                "{}: {}",
                key_text(field, true, json),
                scalar_text(value, styles.like(Some(i)), true, quote)
            ));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// The edits making the existing entry say what `image` says.
fn edit_entry(
    doc: &Doc<'_>,
    entry: &Node<'_>,
    image: &KustomizeImage,
    styles: &Styles,
    quote: Quote,
) -> Result<Vec<Edit>, EditError> {
    let src = doc.src;
    let label = format!("images entry '{}'", image.name);
    check_shared(doc, entry, &label, &label)?;
    let Kind::Map { flow, entries } = &entry.kind else {
        unreachable!("entries are found by their name key");
    };
    let mut edits = Vec::new();
    let mut removed = Vec::new();
    let mut added = Vec::new();
    // Values written over (an empty one gets its blank after the `:` then).
    let mut filled = Vec::new();
    for (i, (field, value)) in FIELDS.iter().zip(wanted(image)).enumerate() {
        let path = format!("{label}: {field}");
        let index = entries.iter().rposition(|(k, _)| k.text() == Some(field));
        match (index, value) {
            (Some(j), Some(value)) => {
                let node = &entries[j].1;
                check_alias(doc, node, &path, field)?;
                check_colon(node, *flow, &path)?;
                check_shared(doc, node, &path, field)?;
                let node = scalar_at_node(node, &path)?;
                if node.text() != Some(value) {
                    edits.push(replace_scalar(src, node, value, *flow, quote));
                    filled.push(j);
                }
            }
            (Some(j), None) => {
                check_shared(doc, &entries[j].1, &path, field)?;
                removed.push(j);
            }
            (None, Some(value)) => added.push((i, *field, value)),
            (None, None) if entry.has_merge_key() => {
                return Err(EditError::Merge {
                    path,
                    at: label.clone(),
                    key: (*field).to_string(),
                });
            }
            (None, None) => {}
        }
    }
    edits.extend(remove_entries(src, entries, &removed, *flow));
    if !added.is_empty() {
        let last_kept = entries
            .iter()
            .enumerate()
            .filter(|(j, _)| !removed.contains(j))
            .max_by_key(|(_, (_, v))| v.end)
            .expect("the name is kept");
        let gap = if *flow && !filled.contains(&last_kept.0) {
            flow_gap(src, &(last_kept.1).1)
        } else {
            ""
        };
        let last_kept = (last_kept.1).1.end;
        let text: String = if *flow {
            added
                .iter()
                .map(|(i, field, value)| {
                    format!(
                        "{gap}, {}: {}",
                        key_text(field, true, styles.json),
                        scalar_text(value, styles.like(Some(*i)), true, quote)
                    )
                })
                .collect()
        } else {
            let at = line_end(src, last_kept);
            check_tail(doc, at, &label)?;
            let brk = line_break(src, at);
            let indent = text::column(src, entry.body);
            added
                .iter()
                .map(|(i, field, value)| {
                    format!(
                        "{brk}{:indent$}{field}: {}",
                        "",
                        scalar_text(value, styles.like(Some(*i)), false, quote)
                    )
                })
                .collect()
        };
        let at = if *flow {
            last_kept
        } else {
            line_end(src, last_kept)
        };
        edits.push(Edit {
            range: at..at,
            text,
        });
    }
    Ok(edits)
}

/// Removes the entries `removed` (indices in text order; never all of them) from a mapping's text: in flow style
/// each run of them with the comma before the next kept entry (or after the previous one), in block style each
/// with its line — a run starting after `- ` up to the next kept key, which takes its place.
fn remove_entries(
    src: &str,
    entries: &[(Node<'_>, Node<'_>)],
    removed: &[usize],
    flow: bool,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &j in removed {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == j => *last = j,
            _ => runs.push((j, j)),
        }
    }
    let cut = |range| Edit {
        range,
        text: String::new(),
    };
    for (first, last) in runs {
        let next = entries.get(last + 1).map(|(k, _)| k.start);
        if flow {
            edits.push(cut(match (next, first.checked_sub(1)) {
                (Some(next), _) => entries[first].0.start..next,
                (None, Some(prev)) => entries[prev].1.end..entries[last].1.end,
                (None, None) => entries[first].0.start..entries[last].1.end,
            }));
            continue;
        }
        let key = &entries[first].0;
        let line = text::line_start(src, key.start);
        if let Some(next) = next
            && !src[line..key.start].bytes().all(|b| b == b' ')
        {
            // The first key after `- `: the next kept key takes its place.
            edits.push(cut(key.start..next));
            continue;
        }
        let end = line_end(src, entries[last].1.end);
        edits.push(cut(
            match src[end..]
                .strip_prefix("\r\n")
                .or_else(|| src[end..].strip_prefix(['\n', '\r']))
            {
                Some(rest) => line..src.len() - rest.len(),
                // The last lines of the file: the line break before them goes instead.
                None => src[..line].trim_end_matches(['\n', '\r']).len()..end,
            },
        ));
    }
    edits
}
