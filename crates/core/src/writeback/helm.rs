//! Setting a value in a Helm values file at a dotted path (`image.tag`, `containers[0].image`), changing only the
//! value's bytes, or adding the missing keys in block style at the file's indentation (flow style inside a flow
//! mapping). As argocd-image-updater: the nested path first, then a literal key holding the whole path
//! (`image.tag:` at the top), else the nested keys are created; list items are only ever indexed, never created.
//!
//! Refused, naming the path: a step through anything but a mapping (or a list, for `[n]`), a value that is a
//! mapping, list, block scalar or tagged other than `!!str`, and anything an alias shares (an alias on the way,
//! or an anchored node some alias uses): editing it would change other places too.

use saphyr_parser::ScalarStyle;

use super::edit::{
    EditError, FileEditError, Quote, apply, block_lines, check_tail, flow_append, flow_value,
    indent_unit, json_keys, key_text, line_break, line_end, preferred_quote, scalar_text,
};
use super::image::{Step, ValuePath};
use super::yaml::{self, Doc, Kind, Node};
use crate::manifest::Edit;
use crate::manifest::text;

/// Sets `path` to `value` (a string) in the values file `src`, named `file` in messages. Only the value's bytes
/// change (or the new keys' are added); the result equals `src` when it already says so.
///
/// ```
/// use argocd_image_resolver_core::writeback::{ValuePath, set_helm_value};
///
/// let values = "image:\n  repository: ghcr.io/org/web  # the app\n  tag: \"1.0\"\n\nreplicas: 2\n";
/// let tag = ValuePath::parse("image.tag").unwrap();
/// assert_eq!(
///     set_helm_value("values.yaml", values, &tag, "1.10").unwrap(),
///     values.replace("\"1.0\"", "\"1.10\""),
/// );
/// let pull = ValuePath::parse("image.pullPolicy").unwrap();
/// assert_eq!(
///     set_helm_value("values.yaml", values, &pull, "Always").unwrap(),
///     values.replace("\"1.0\"\n", "\"1.0\"\n  pullPolicy: Always\n"),
/// );
/// ```
///
/// # Errors
///
/// See the module documentation; the message names `file` and the path.
pub fn set_helm_value(
    file: &str,
    src: &str,
    path: &ValuePath,
    value: &str,
) -> Result<String, FileEditError> {
    set(src, path, value).map_err(|e| e.in_file(file))
}

/// [`set_helm_value`] for several values, in order (an image's name, then its tag).
///
/// # Errors
///
/// As [`set_helm_value`], for the first value that cannot be set.
pub fn set_helm_values(
    file: &str,
    src: &str,
    values: &[(ValuePath, String)],
) -> Result<String, FileEditError> {
    let mut text = src.to_string();
    for (path, value) in values {
        text = set_helm_value(file, &text, path, value)?;
    }
    Ok(text)
}

/// The string `path` holds in the values file `src` now, found as [`set_helm_value`] finds it (the nested path,
/// else a literal key holding the whole path); `None` when it holds none (missing, null, not a plain or quoted
/// scalar) or the file cannot be read, which setting it then reports.
pub(crate) fn current_value(src: &str, path: &ValuePath) -> Option<String> {
    let doc = yaml::parse(src).ok()?;
    let root = doc.root.as_ref().filter(|root| !root.is_empty())?;
    if !matches!(root.kind, Kind::Map { .. }) {
        return None;
    }
    let node = match locate(&doc, root, path).ok()? {
        Place::Scalar(node, _) => node,
        _ if path.steps().len() > 1 => scalar_at_node(&root.entry(path.as_str())?.1, "").ok()?,
        _ => return None,
    };
    (!node.is_null()).then(|| node.text().map(String::from))?
}

/// Where the value goes.
enum Place<'d, 'a> {
    /// Replace this scalar; `flow`: it is inside a flow collection.
    Scalar(&'d Node<'a>, bool),
    /// Add `keys` (the rest of the path) to this mapping.
    Into(&'d Node<'a>, usize),
    /// This value is null: make it a mapping of the rest of the path. With the key it is the value of in a block
    /// mapping, if so.
    Null(&'d Node<'a>, Option<&'d Node<'a>>, usize),
}

fn set(src: &str, path: &ValuePath, value: &str) -> Result<String, EditError> {
    let doc = yaml::parse(src)?;
    let unit = indent_unit(&doc);
    let quote = preferred_quote(&doc);
    let keys: Vec<&str> = path
        .steps()
        .iter()
        .map(|step| match step {
            Step::Key(key) | Step::Item(key, _) => key.as_str(),
        })
        .collect();
    let root = match &doc.root {
        Some(root) if !root.is_empty() => root,
        _ => {
            if let Some(Step::Item(key, index)) =
                path.steps().iter().find(|s| matches!(s, Step::Item(..)))
            {
                return Err(EditError::NoList {
                    path: path.to_string(),
                    at: key.clone(),
                    index: *index,
                });
            }
            return Ok(append_to_empty(
                src,
                &keys,
                &scalar_text(value, None, false, quote),
                unit,
            ));
        }
    };
    if !matches!(root.kind, Kind::Map { .. }) {
        return Err(EditError::Root {
            path: path.to_string(),
            found: root.describe(),
        });
    }
    let mut place = locate(&doc, root, path)?;
    if !matches!(place, Place::Scalar(..))
        && path.steps().len() > 1
        && let Some((_, literal)) = root.entry(path.as_str())
    {
        // argocd-image-updater also reads a key holding the whole path (`image.tag: 1.0` at the top).
        check_shared(&doc, literal, path.as_str(), path.as_str())?;
        check_alias(&doc, literal, path.as_str(), path.as_str())?;
        place = Place::Scalar(scalar_at_node(literal, path.as_str())?, flow_map(root));
    }
    // What is created is mappings: a list item on the way cannot be.
    if let Place::Into(_, from) | Place::Null(_, _, from) = place
        && let Some(Step::Item(key, index)) = path.steps()[from..]
            .iter()
            .find(|s| matches!(s, Step::Item(..)))
    {
        return Err(EditError::NoList {
            path: path.to_string(),
            at: key.clone(),
            index: *index,
        });
    }
    let edits = match place {
        Place::Scalar(node, flow) => {
            check_colon(node, flow, path.as_str())?;
            vec![replace_scalar(src, node, value, flow, quote)]
        }
        Place::Into(map, from) => {
            into_map(&doc, map, &keys[from..], value, unit, quote, path.as_str())?
        }
        Place::Null(null, key, from) => {
            make_map(&doc, null, key, &keys[from..], value, unit, quote)
        }
    };
    apply(src, edits)
}

/// Follows `path` from `root` as far as it exists.
fn locate<'d, 'a>(
    doc: &'d Doc<'a>,
    root: &'d Node<'a>,
    path: &ValuePath,
) -> Result<Place<'d, 'a>, EditError> {
    let steps = path.steps();
    let mut map = root;
    let mut walked = String::new();
    for (i, step) in steps.iter().enumerate() {
        let (key, index) = match step {
            Step::Key(key) => (key, None),
            Step::Item(key, index) => (key, Some(*index)),
        };
        check_shared(
            doc,
            map,
            path.as_str(),
            if walked.is_empty() {
                "the document"
            } else {
                &walked
            },
        )?;
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
        let last = i + 1 == steps.len();
        let Some((key_node, value)) = map.entry(key) else {
            // A key of its own overrides what a merge key brings in: fine for the value itself, but a mapping
            // written here would hide the whole merged one.
            if map.has_merge_key() && !last {
                return Err(EditError::Merge {
                    path: path.to_string(),
                    at: walked
                        .rsplit_once('.')
                        .map_or("the document", |(at, _)| at)
                        .to_string(),
                    key: key.clone(),
                });
            }
            if let Some(index) = index {
                return Err(EditError::NoList {
                    path: path.to_string(),
                    at: walked,
                    index,
                });
            }
            return Ok(Place::Into(map, i));
        };
        let mut node = value;
        let mut parent_key = Some(key_node);
        let mut flow = flow_map(map);
        if let Some(index) = index {
            check_alias(doc, node, path.as_str(), &walked)?;
            let Kind::Seq {
                items,
                flow: seq_flow,
            } = &node.kind
            else {
                return Err(EditError::NotList {
                    path: path.to_string(),
                    at: walked,
                    found: node.describe(),
                });
            };
            check_shared(doc, node, path.as_str(), &walked)?;
            node = items.get(index).ok_or_else(|| EditError::Index {
                path: path.to_string(),
                at: walked.clone(),
                index,
                len: items.len(),
            })?;
            walked.push_str(&format!("[{index}]"));
            parent_key = None;
            flow = *seq_flow;
        }
        check_alias(doc, node, path.as_str(), &walked)?;
        if last {
            check_shared(doc, node, path.as_str(), &walked)?;
            return Ok(Place::Scalar(scalar_at_node(node, path.as_str())?, flow));
        }
        match &node.kind {
            Kind::Map { .. } => map = node,
            _ if node.is_null() => {
                check_shared(doc, node, path.as_str(), &walked)?;
                return Ok(Place::Null(node, parent_key.filter(|_| !flow), i + 1));
            }
            _ => {
                return Err(EditError::NotMapping {
                    path: path.to_string(),
                    at: walked,
                    found: node.describe(),
                });
            }
        }
    }
    unreachable!("a values path has at least one step")
}

fn flow_map(node: &Node<'_>) -> bool {
    matches!(
        node.kind,
        Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
    )
}

/// The edit writing `value` over the scalar `node`, in its quoting; an empty value gets a blank after its `:`.
pub(crate) fn replace_scalar(
    src: &str,
    node: &Node<'_>,
    value: &str,
    flow: bool,
    quote: Quote,
) -> Edit {
    let style = match &node.kind {
        Kind::Scalar { style, .. } => Some(*style),
        _ => None,
    };
    let mut text = scalar_text(value, style, flow, quote);
    // saphyr-parser refuses a plain scalar starting with a letter or digit right after `:` and a tab (`a:\tv2`),
    // which other readers take: quoted, it reads back everywhere.
    if src[..node.body].ends_with(":\t") && text == value {
        text = scalar_text(value, Some(ScalarStyle::DoubleQuoted), flow, quote);
    }
    text.insert_str(0, empty_prefix(src, node));
    Edit {
        range: node.body..node.end,
        text,
    }
}

/// What goes before text written in place of the empty value `node`: its missing `:`, or a blank after its
/// `:`, `-` or properties.
pub(crate) fn empty_prefix(src: &str, node: &Node<'_>) -> &'static str {
    if node.body != node.end {
        ""
    } else if node.colon_missing {
        ": "
    } else if src[..node.body].ends_with(|c: char| !c.is_whitespace()) {
        // After its `:`, `-` or properties (`&a`).
        " "
    } else {
        ""
    }
}

/// Refuses the value of an explicit block key written without `:` (`? key`): text after the key would join it.
pub(crate) fn check_colon(node: &Node<'_>, flow: bool, path: &str) -> Result<(), EditError> {
    if node.colon_missing && !flow {
        return Err(EditError::NotValue {
            path: path.to_string(),
            found: "the missing value of an explicit key (? key)",
        });
    }
    Ok(())
}

/// `node` when it is a value a string can replace: a plain or quoted scalar, untagged or `!!str`.
pub(crate) fn scalar_at_node<'d, 'a>(
    node: &'d Node<'a>,
    path: &str,
) -> Result<&'d Node<'a>, EditError> {
    match &node.kind {
        Kind::Scalar {
            style: ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
            ..
        } => {
            if node.tag == yaml::Tag::Other {
                return Err(EditError::Tagged {
                    path: path.to_string(),
                });
            }
            Ok(node)
        }
        _ => Err(EditError::NotValue {
            path: path.to_string(),
            found: node.describe(),
        }),
    }
}

/// Refuses an alias at `at`.
pub(crate) fn check_alias(
    doc: &Doc<'_>,
    node: &Node<'_>,
    path: &str,
    at: &str,
) -> Result<(), EditError> {
    if let Kind::Alias = node.kind {
        return Err(EditError::Alias {
            path: path.to_string(),
            at: at.to_string(),
            anchor: text::anchor_name(doc.src, node.body).to_string(),
        });
    }
    Ok(())
}

/// Refuses a node whose anchor some alias uses: what is written in it shows at the alias too.
pub(crate) fn check_shared(
    doc: &Doc<'_>,
    node: &Node<'_>,
    path: &str,
    at: &str,
) -> Result<(), EditError> {
    if node.anchor != 0 && doc.referenced.contains(&node.anchor) {
        return Err(EditError::Shared {
            path: path.to_string(),
            at: at.to_string(),
            anchor: text::anchor_name(doc.src, node.start).to_string(),
        });
    }
    Ok(())
}

/// The keys and value written into an empty file (nothing, comments, or an empty document).
fn append_to_empty(src: &str, keys: &[&str], value: &str, unit: usize) -> String {
    let brk = if src.is_empty() {
        "\n"
    } else {
        line_break(src, 0)
    };
    let lines = block_lines(keys, value, 0, unit, brk);
    let mut out = src.to_string();
    if src.is_empty() || src.ends_with(['\n', '\r']) {
        out.push_str(&lines[brk.len()..]);
    } else {
        out.push_str(&lines);
    }
    out.push_str(brk);
    out
}

/// Adds `keys: value` to the mapping `map`, after its last entry.
fn into_map(
    doc: &Doc<'_>,
    map: &Node<'_>,
    keys: &[&str],
    value: &str,
    unit: usize,
    quote: Quote,
    path: &str,
) -> Result<Vec<Edit>, EditError> {
    let src = doc.src;
    let Kind::Map { flow, entries } = &map.kind else {
        unreachable!("into_map takes mappings");
    };
    if *flow {
        let json = json_keys(map);
        let (at, sep) = flow_append(src, entries.last().map(|(_, last)| last), map.body);
        let like = json.then_some(ScalarStyle::DoubleQuoted);
        let text = format!(
            "{sep}{}: {}",
            key_text(keys[0], true, json),
            flow_value(&keys[1..], &scalar_text(value, like, true, quote), json)
        );
        return Ok(vec![Edit {
            range: at..at,
            text,
        }]);
    }
    let at = line_end(src, map.end);
    let indent = text::column(src, map.body);
    check_tail(doc, at, path)?;
    let lines = block_lines(
        keys,
        &scalar_text(value, None, false, quote),
        indent,
        unit,
        line_break(src, at),
    );
    Ok(vec![Edit {
        range: at..at,
        text: lines,
    }])
}

/// Makes the null `node` a mapping holding `keys: value`: nested lines after its key's line in a block mapping,
/// else a flow mapping in its place.
fn make_map(
    doc: &Doc<'_>,
    node: &Node<'_>,
    key: Option<&Node<'_>>,
    keys: &[&str],
    value: &str,
    unit: usize,
    quote: Quote,
) -> Vec<Edit> {
    let src = doc.src;
    let Some(key) = key else {
        let flow = flow_value(keys, &scalar_text(value, None, true, quote), false);
        let text = format!("{}{flow}", empty_prefix(src, node));
        return vec![Edit {
            range: node.body..node.end,
            text,
        }];
    };
    let mut edits = Vec::new();
    if node.end > node.body {
        // `key: ~` → `key:`, the blanks before the `~` going with it.
        let from = src[..node.body].trim_end_matches([' ', '\t']).len();
        edits.push(Edit {
            range: from..node.end,
            text: String::new(),
        });
    }
    let at = line_end(src, node.end);
    let indent = text::column(src, key.start) + unit;
    edits.push(Edit {
        range: at..at,
        text: block_lines(
            keys,
            &scalar_text(value, None, false, quote),
            indent,
            unit,
            line_break(src, at),
        ),
    });
    edits
}
