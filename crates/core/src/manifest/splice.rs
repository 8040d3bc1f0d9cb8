//! Apply byte-range edits to a text, leaving every other byte as it was.

use std::ops::Range;

/// Replace the bytes in `range` with `text` (an empty range inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Why a set of edits cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    #[error("edit {range:?} is outside the text of {len} bytes")]
    OutOfBounds { range: Range<usize>, len: usize },
    #[error("edit {range:?} does not start and end on character boundaries")]
    NotCharBoundary { range: Range<usize> },
    #[error("edits {first:?} and {second:?} overlap; apply them in separate passes")]
    Overlap {
        first: Range<usize>,
        second: Range<usize>,
    },
    #[error("edit {second:?} comes after {first:?} but starts before it; sort the edits first")]
    OutOfOrder {
        first: Range<usize>,
        second: Range<usize>,
    },
}

/// Checks one edit against the text.
fn check(src: &str, edit: &Edit) -> Result<(), SpliceError> {
    let range = &edit.range;
    if range.start > range.end || range.end > src.len() {
        return Err(SpliceError::OutOfBounds {
            range: range.clone(),
            len: src.len(),
        });
    }
    if !src.is_char_boundary(range.start) || !src.is_char_boundary(range.end) {
        return Err(SpliceError::NotCharBoundary {
            range: range.clone(),
        });
    }
    Ok(())
}

/// Applies `edits` (in any order) to `src`.
///
/// Two edits conflict when their ranges share a byte, when an insertion falls strictly inside a replaced range,
/// or when two insertions are at the same offset (their order would be a guess). An insertion at either end of a
/// replaced range is fine.
///
/// # Errors
///
/// When an edit's range is reversed, past the end or inside a character, or two edits conflict.
///
/// ```
/// use argocd_image_resolver_core::manifest::{splice, Edit};
/// let edits = [Edit { range: 7..8, text: "2".into() }, Edit { range: 0..0, text: "# x\n".into() }];
/// assert_eq!(splice("image: 1", &edits).unwrap(), "# x\nimage: 2");
/// ```
pub fn splice(src: &str, edits: &[Edit]) -> Result<String, SpliceError> {
    for edit in edits {
        check(src, edit)?;
    }
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0].range, &pair[1].range);
        let both_insert_here = a.is_empty() && b.is_empty() && a.start == b.start;
        if b.start < a.end || both_insert_here {
            return Err(SpliceError::Overlap {
                first: a.clone(),
                second: b.clone(),
            });
        }
    }
    let grow: usize = sorted.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(src.len() + grow);
    let mut at = 0;
    for edit in sorted {
        out.push_str(&src[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&src[at..]);
    Ok(out)
}

/// [`splice`] for edits that come in text order, each applied as it comes: a caller can make them one at a time
/// and never hold them all (each object's annotation of a large stream, say). `grow` is how much longer the
/// output is expected to be, to reserve it at once.
///
/// # Errors
///
/// As [`splice`], and [`SpliceError::OutOfOrder`] when an edit starts before the previous one.
///
/// ```
/// use argocd_image_resolver_core::manifest::{splice_in_order, Edit};
/// let edits = [Edit { range: 0..0, text: "# x\n".into() }, Edit { range: 7..8, text: "2".into() }];
/// assert_eq!(splice_in_order("image: 1", edits, 4).unwrap(), "# x\nimage: 2");
/// ```
pub fn splice_in_order(
    src: &str,
    edits: impl IntoIterator<Item = Edit>,
    grow: usize,
) -> Result<String, SpliceError> {
    let mut out = String::with_capacity(src.len().saturating_add(grow));
    let mut splicer = Splicer::new(src);
    for edit in edits {
        splicer.push(&edit, &mut |piece| out.push_str(piece))?;
    }
    splicer.finish(&mut |piece| out.push_str(piece));
    Ok(out)
}

/// Edits in text order, each applied as it comes, the output handed on piece by piece: neither the edits nor
/// the output need to be held at once (a stream spliced document by document, say).
///
/// ```
/// use argocd_image_resolver_core::manifest::{Edit, Splicer};
/// let mut out = String::new();
/// let mut splicer = Splicer::new("image: 1\nimage: 2\n");
/// splicer.push(&Edit { range: 7..8, text: "3".into() }, &mut |s| out.push_str(s)).unwrap();
/// splicer.finish(&mut |s| out.push_str(s));
/// assert_eq!(out, "image: 3\nimage: 2\n");
/// ```
#[derive(Debug)]
pub struct Splicer<'a> {
    src: &'a str,
    /// Where the text not yet handed on starts.
    at: usize,
    previous: Option<Range<usize>>,
}

impl<'a> Splicer<'a> {
    #[must_use]
    pub fn new(src: &'a str) -> Splicer<'a> {
        Splicer {
            src,
            at: 0,
            previous: None,
        }
    }

    /// Hands `out` the text up to `edit`, then the edit's text.
    ///
    /// # Errors
    ///
    /// As [`splice_in_order`]; nothing is handed on then.
    pub fn push(&mut self, edit: &Edit, out: &mut dyn FnMut(&str)) -> Result<(), SpliceError> {
        check(self.src, edit)?;
        if let Some(first) = &self.previous {
            let both_insert_here =
                first.is_empty() && edit.range.is_empty() && first.start == edit.range.start;
            if edit.range.start < first.start {
                return Err(SpliceError::OutOfOrder {
                    first: first.clone(),
                    second: edit.range.clone(),
                });
            }
            if edit.range.start < first.end || both_insert_here {
                return Err(SpliceError::Overlap {
                    first: first.clone(),
                    second: edit.range.clone(),
                });
            }
        }
        out(&self.src[self.at..edit.range.start]);
        out(&edit.text);
        self.at = edit.range.end;
        self.previous = Some(edit.range.clone());
        Ok(())
    }

    /// Hands `out` the rest of the text.
    pub fn finish(self, out: &mut dyn FnMut(&str)) {
        out(&self.src[self.at..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, text: &str) -> Edit {
        Edit {
            range,
            text: text.to_owned(),
        }
    }

    #[test]
    fn applies() {
        let cases = [
            ("no edits", "abc", vec![], "abc"),
            ("replace", "abc", vec![edit(1..2, "XY")], "aXYc"),
            ("delete", "abc", vec![edit(0..2, "")], "c"),
            (
                "insert at start and end",
                "abc",
                vec![edit(3..3, "!"), edit(0..0, ">")],
                ">abc!",
            ),
            (
                "out of order",
                "abcdef",
                vec![edit(4..5, "E"), edit(0..1, "A")],
                "AbcdEf",
            ),
            (
                "adjacent",
                "abc",
                vec![edit(1..2, "B"), edit(0..1, "A"), edit(2..3, "C")],
                "ABC",
            ),
            (
                "insert before a replacement",
                "abc",
                vec![edit(1..2, "B"), edit(1..1, "+")],
                "a+Bc",
            ),
            (
                "insert after a replacement",
                "abc",
                vec![edit(1..1 + 1, "B"), edit(2..2, "+")],
                "aB+c",
            ),
            ("multi-byte", "é😀x", vec![edit(2..6, "漢")], "é漢x"),
        ];
        for (name, src, edits, want) in cases {
            assert_eq!(splice(src, &edits).as_deref(), Ok(want), "{name}");
            let mut sorted = edits.clone();
            sorted.sort_by_key(|e| (e.range.start, e.range.end));
            assert_eq!(
                splice_in_order(src, sorted, 0).as_deref(),
                Ok(want),
                "{name}: in order"
            );
        }
    }

    #[test]
    fn in_order_rejects() {
        let cases = [
            (
                "backwards",
                vec![edit(2..3, "x"), edit(0..1, "y")],
                "edit 0..1 comes after 2..3 but starts before it; sort the edits first",
            ),
            (
                "overlap",
                vec![edit(0..3, "x"), edit(2..4, "y")],
                "edits 0..3 and 2..4 overlap; apply them in separate passes",
            ),
            (
                "two inserts at one offset",
                vec![edit(1..1, "x"), edit(1..1, "y")],
                "edits 1..1 and 1..1 overlap; apply them in separate passes",
            ),
            (
                "past the end",
                vec![edit(5..9, "x")],
                "edit 5..9 is outside the text of 6 bytes",
            ),
        ];
        for (name, edits, want) in cases {
            let err = splice_in_order("abcdef", edits, 0).expect_err(name);
            assert_eq!(err.to_string(), want, "{name}");
        }
    }

    #[test]
    fn rejects() {
        let cases = [
            (
                "overlap",
                "abcdef",
                vec![edit(0..3, "x"), edit(2..4, "y")],
                "edits 0..3 and 2..4 overlap; apply them in separate passes",
            ),
            (
                "same range twice",
                "abc",
                vec![edit(1..2, "x"), edit(1..2, "y")],
                "edits 1..2 and 1..2 overlap; apply them in separate passes",
            ),
            (
                "insert inside a replacement",
                "abc",
                vec![edit(0..3, "x"), edit(1..1, "y")],
                "edits 0..3 and 1..1 overlap; apply them in separate passes",
            ),
            (
                "two inserts at one offset",
                "abc",
                vec![edit(1..1, "x"), edit(1..1, "y")],
                "edits 1..1 and 1..1 overlap; apply them in separate passes",
            ),
            (
                "past the end",
                "abc",
                vec![edit(2..4, "x")],
                "edit 2..4 is outside the text of 3 bytes",
            ),
            #[allow(clippy::reversed_empty_ranges)]
            (
                "reversed",
                "abc",
                vec![edit(2..1, "x")],
                "edit 2..1 is outside the text of 3 bytes",
            ),
            (
                "inside a character",
                "é",
                vec![edit(1..2, "x")],
                "edit 1..2 does not start and end on character boundaries",
            ),
        ];
        for (name, src, edits, want) in cases {
            let err = splice(src, &edits).expect_err(name);
            assert_eq!(err.to_string(), want, "{name}");
        }
    }
}
