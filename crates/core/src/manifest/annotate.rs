//! Add or replace annotations of an object by inserting text that matches its layout (block, flow, JSON).

use super::object::Object;
use super::site::{FirstKey, MapAt, Problem, Site, Slot, Spot};
use super::splice::Edit;
use super::text;

/// Why an annotation cannot be set; the messages name the object and what is in the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotateError {
    #[error("cannot annotate {object}: its {field} is {found}, not a mapping; make it a mapping")]
    NotAMapping {
        object: String,
        field: &'static str,
        found: &'static str,
    },
    #[error(
        "cannot set annotation '{key}' on {object}: its current value is {found}, not a string; make it a string"
    )]
    NotAString {
        object: String,
        key: String,
        found: &'static str,
    },
    #[error(
        "cannot annotate {object}: the place of its {field} in the text was not found; please report this with the input"
    )]
    NotFound { object: String, field: String },
    #[error(
        "cannot annotate {object}: {anchor} shares its metadata with other places, which would be annotated too; \
         write the metadata out instead of sharing it through the anchor"
    )]
    Shared { object: String, anchor: String },
}

/// A value to write: a (quoted) scalar, or a mapping of them.
enum Val {
    Leaf(String),
    Map(Vec<(String, Val)>),
}

fn render_block(entries: &[(String, Val)], col: usize, step: usize, nl: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| {
            let mut s = text::key_text(k, false);
            s.push(':');
            match v {
                Val::Leaf(t) => {
                    s.push(' ');
                    s.push_str(t);
                }
                Val::Map(children) => {
                    s.push_str(nl);
                    s.push_str(&" ".repeat(col + step));
                    s.push_str(&render_block(children, col + step, step, nl));
                }
            }
            s
        })
        .collect();
    parts.join(&format!("{nl}{}", " ".repeat(col)))
}

/// JSON-compatible flow text: every key and value double-quoted.
fn render_flow(entries: &[(String, Val)], separator: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| match v {
            Val::Leaf(t) => format!("{}: {t}", text::key_text(k, true)),
            Val::Map(children) => format!(
                "{}: {{{}}}",
                text::key_text(k, true),
                render_flow(children, ", ")
            ),
        })
        .collect();
    parts.join(separator)
}

impl Site {
    /// The edit adding `entries` to the mapping at `map`, laid out like its existing entries.
    fn insert(&self, map: &MapAt, entries: &[(String, Val)]) -> Option<Edit> {
        let nl = self.nl;
        let (at, text) = match (&map.first, map.flow) {
            (Some(first), false) => {
                let pad = " ".repeat(first.col);
                (
                    first.at,
                    format!(
                        "{}{nl}{pad}",
                        render_block(entries, first.col, self.step, nl)
                    ),
                )
            }
            (None, false) => return None,
            (None, true) => (map.open + 1, render_flow(entries, ", ")),
            (
                Some(FirstKey {
                    indent: Some(indent),
                    ..
                }),
                true,
            ) => (
                map.open + 1,
                format!(
                    "{nl}{indent}{},",
                    render_flow(entries, &format!(",{nl}{indent}"))
                ),
            ),
            (Some(_), true) => (map.open + 1, format!("{}, ", render_flow(entries, ", "))),
        };
        Some(Edit {
            range: at..at,
            text,
        })
    }
}

/// The edit writing the mapping `entries` where a null value is.
fn fill_null(spot: &Spot, entries: &[(String, Val)]) -> Result<Edit, Problem> {
    let text = format!("{{{}}}", render_flow(entries, ", "));
    match spot {
        Spot::Replace(range) => Ok(Edit {
            range: range.clone(),
            text,
        }),
        Spot::AfterColon(at) => Ok(Edit {
            range: *at..*at,
            text: format!(" {text}"),
        }),
        Spot::Unusable(problem) => Err(*problem),
    }
}

impl Object {
    /// The edit that sets one annotation: see [`Object::set_annotations`].
    ///
    /// # Errors
    ///
    /// As [`Object::set_annotations`].
    pub fn set_annotation(&self, key: &str, value: &str) -> Result<Edit, AnnotateError> {
        let mut edits = self.set_annotations(&[(key, value)])?;
        Ok(edits.remove(0))
    }

    /// The edits that set these annotations (a key given twice: the last value), each value double-quoted.
    ///
    /// An existing annotation's value is replaced in place (the last one if the key is repeated). New ones go
    /// before the first existing annotation, at its indentation; without `metadata.annotations`, the mapping is
    /// created under `metadata` (and `metadata` under the object when missing), in block style in block
    /// mappings and in JSON-compatible flow style in flow mappings and in place of a null (`annotations:`), so
    /// a JSON document stays JSON. At most one edit per existing key plus one insertion.
    ///
    /// # Errors
    ///
    /// When `metadata` or `metadata.annotations` is not a mapping (a sequence, a string, an alias), or an existing
    /// value of one of the keys is a mapping, sequence or alias.
    pub fn set_annotations(&self, pairs: &[(&str, &str)]) -> Result<Vec<Edit>, AnnotateError> {
        let site = &self.site;
        let object = || self.to_string();
        if let Some(anchor) = &site.shared {
            return Err(AnnotateError::Shared {
                object: object(),
                anchor: anchor.clone(),
            });
        }
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        for &(k, v) in pairs {
            match wanted.iter_mut().find(|(wk, _)| *wk == k) {
                Some(w) => w.1 = v,
                None => wanted.push((k, v)),
            }
        }
        let mut edits = Vec::new();
        let mut new = Vec::new();
        for (key, value) in wanted {
            let quoted = text::double_quoted(value);
            match site
                .values
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, s)| s)
            {
                None => new.push((key.to_owned(), Val::Leaf(quoted))),
                Some(Spot::Replace(range)) => edits.push(Edit {
                    range: range.clone(),
                    text: quoted,
                }),
                Some(Spot::AfterColon(at)) => edits.push(Edit {
                    range: *at..*at,
                    text: format!(" {quoted}"),
                }),
                Some(Spot::Unusable(Problem::Is(found))) => {
                    return Err(AnnotateError::NotAString {
                        object: object(),
                        key: key.to_owned(),
                        found,
                    });
                }
                Some(Spot::Unusable(Problem::NotFound)) => {
                    return Err(AnnotateError::NotFound {
                        object: object(),
                        field: format!("annotation '{key}'"),
                    });
                }
            }
        }
        if new.is_empty() {
            return Ok(edits);
        }
        let problem = |field: &'static str, problem: Problem| match problem {
            Problem::Is(found) => AnnotateError::NotAMapping {
                object: object(),
                field,
                found,
            },
            Problem::NotFound => AnnotateError::NotFound {
                object: object(),
                field: field.to_owned(),
            },
        };
        let in_map = |field: &'static str, map: &MapAt, entries: &[(String, Val)]| {
            site.insert(map, entries)
                .ok_or_else(|| problem(field, Problem::NotFound))
        };
        let edit = match (&site.metadata, &site.annotations) {
            (Slot::Map(_), Slot::Map(annotations)) => {
                in_map("metadata.annotations", annotations, &new)?
            }
            (Slot::Map(_), Slot::Null(spot)) => {
                fill_null(spot, &new).map_err(|p| problem("metadata.annotations", p))?
            }
            (Slot::Map(_), Slot::Unusable(p)) => return Err(problem("metadata.annotations", *p)),
            (Slot::Map(metadata), Slot::Missing) => in_map(
                "metadata",
                metadata,
                &[("annotations".to_owned(), Val::Map(new))],
            )?,
            (Slot::Null(spot), _) => fill_null(spot, &[("annotations".to_owned(), Val::Map(new))])
                .map_err(|p| problem("metadata", p))?,
            (Slot::Unusable(p), _) => return Err(problem("metadata", *p)),
            (Slot::Missing, _) => {
                let metadata = Val::Map(vec![("annotations".to_owned(), Val::Map(new))]);
                match &site.root {
                    Slot::Map(root) => in_map("root", root, &[("metadata".to_owned(), metadata)])?,
                    _ => return Err(problem("root", Problem::NotFound)),
                }
            }
        };
        edits.push(edit);
        Ok(edits)
    }
}
