//! Where the parser may skip a document's text: the `spec` of a CustomResourceDefinition.
//!
//! A CRD's `spec` is its schema, usually most of an install's bytes (95% of Argo CD's), and by the apiextensions
//! API it has no pod spec: `group`, `names`, `scope`, `versions`, `conversion`, `preserveUnknownFields`; any other
//! field is dropped or refused by the API server. So the scanner parses a CRD only up to its `spec` (identity,
//! metadata and annotations are all read), when a look at the lines shows that this is exact:
//!
//! - the document starts with a plain `---` line (or the stream), and is a block mapping whose keys are written
//!   plainly from column 0;
//! - it has one `kind: CustomResourceDefinition` and one `apiVersion: apiextensions.k8s.io/…` root key;
//! - `spec:` is its last root key, alone on its line: after it come only indented lines, blank lines and comments
//!   until the next `---` or the end of the stream.
//!
//! The scanner then checks with the parser that the head really is such a CRD, and parses the whole document when
//! it is not. Streams with directives or lone CR line breaks are read whole.

use std::ops::Range;

pub(super) const CRD_KIND: &str = "CustomResourceDefinition";
pub(super) const CRD_API_GROUP: &str = "apiextensions.k8s.io/";

/// A document whose text from `head.end` to `document.end` (its `spec`) need not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cut {
    pub(super) document: Range<usize>,
    /// The document up to (not including) its `spec:` line.
    pub(super) head: Range<usize>,
    /// The line breaks before `document.end`, so that the lines of what follows are numbered without counting
    /// those of the skipped text again.
    pub(super) lines_before_end: usize,
}

/// What the lines of one document showed so far.
struct Piece {
    start: usize,
    /// Why the document cannot be cut (`None`: it may be).
    refused: bool,
    kinds: usize,
    crd_kind: bool,
    api_versions: usize,
    crd_api: bool,
    spec: Option<usize>,
    /// A `...` line was met: the document ended.
    ended: bool,
}

impl Piece {
    fn new(start: usize, marker_rest: &str) -> Piece {
        Piece {
            start,
            // `--- !tag`, `--- &anchor`, `--- {…}`: the root is not a plain block mapping.
            refused: !blank_or_comment(marker_rest),
            kinds: 0,
            crd_kind: false,
            api_versions: 0,
            crd_api: false,
            spec: None,
            ended: false,
        }
    }

    /// A line starting in column 0 that is not blank, a comment or a document marker.
    fn root_line(&mut self, at: usize, line: &str) {
        if self.ended || self.spec.is_some() {
            // A bare document after `...`, or a root key (or anything else) after `spec`.
            self.refused = true;
            return;
        }
        let Some((key, value)) = plain_key(line) else {
            self.refused = true;
            return;
        };
        match key {
            "kind" => {
                self.kinds += 1;
                self.crd_kind = value == CRD_KIND;
            }
            "apiVersion" => {
                self.api_versions += 1;
                self.crd_api = value.starts_with(CRD_API_GROUP);
            }
            "spec" if value.is_empty() => self.spec = Some(at),
            "spec" => self.refused = true,
            _ => {}
        }
    }

    fn cut(self, end: usize, lines_before_end: usize) -> Option<Cut> {
        let spec = self.spec?;
        (!self.refused
            && self.kinds == 1
            && self.crd_kind
            && self.api_versions == 1
            && self.crd_api)
            .then_some(Cut {
                document: self.start..end,
                head: self.start..spec,
                lines_before_end,
            })
    }
}

/// The CRD documents of `src` whose `spec` may go unparsed, in text order.
pub(super) fn crd_cuts(src: &str) -> Vec<Cut> {
    let bytes = src.as_bytes();
    // A lone CR is a line break to YAML but not to the line reading below; directives belong to the next
    // document, which the cuts would separate them from. Both are rare: such streams are read whole.
    let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'));
    if lone_cr || !src.contains(CRD_KIND) {
        return Vec::new();
    }
    let mut cuts = Vec::new();
    let mut piece = Piece::new(0, "");
    // Only lines that start in column 0 with something else than a space, a tab or a comment matter: the text
    // after each line break is looked at, never the rest of the line.
    let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
    let mut lines = 0;
    for (line_breaks_before, at) in starts.enumerate() {
        lines = line_breaks_before;
        match bytes.get(at) {
            None | Some(b' ' | b'\t' | b'#' | b'\n' | b'\r') => {}
            Some(b'%') => return Vec::new(),
            Some(_) => {
                let end = memchr::memchr(b'\n', &bytes[at..]).map_or(src.len(), |n| at + n);
                let line = src[at..end].trim_end_matches('\r');
                if let Some(rest) = marker(line, "---") {
                    let done = std::mem::replace(&mut piece, Piece::new(at, rest));
                    cuts.extend(done.cut(at, line_breaks_before));
                } else if marker(line, "...").is_some_and(blank_or_comment) {
                    piece.ended = true;
                } else {
                    piece.root_line(at, line);
                }
            }
        }
    }
    // The last start follows the last line break (without a lone CR, every line break is a `\n`).
    cuts.extend(piece.cut(src.len(), lines));
    cuts
}

/// What follows a document marker (`---`, `...`) that starts `line`: one only when the marker is followed by a
/// space, a tab or the end of the line.
fn marker<'l>(line: &'l str, marker: &str) -> Option<&'l str> {
    let rest = line.strip_prefix(marker)?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some(rest)
}

fn blank_or_comment(text: &str) -> bool {
    let text = text.trim_start_matches([' ', '\t']);
    text.is_empty() || text.starts_with('#')
}

/// `key: value` with a plain key (letters, digits, `_`, `-`, `.`, `/`), the value without a trailing comment.
fn plain_key(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let (key, rest) = (&line[..colon], &line[colon + 1..]);
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    if !plain || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
        Some(comment) => &rest[..comment],
        None => rest,
    };
    Some((key, value.trim_matches([' ', '\t'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a\n";
    const SPEC: &str = "spec:\n  group: x\n  versions:\n  - name: v1\n# a comment\n\n  # another\n";

    #[test]
    fn only_a_crd_whose_spec_ends_it_is_cut() {
        let crd = format!("{HEAD}{SPEC}");
        let head = HEAD.len();
        // Each: name, stream, and per cut the document's range and where its head ends.
        type Case = (&'static str, String, Vec<(Range<usize>, usize)>);
        let cases: Vec<Case> = vec![
            ("the whole stream", crd.clone(), vec![(0..crd.len(), head)]),
            (
                "after a document, before another",
                format!("kind: Pod\n---\n{crd}--- # next\nkind: Pod\n"),
                vec![(10..14 + crd.len(), 14 + head)],
            ),
            (
                "with a marker that is a comment",
                format!("--- # crd\n{crd}"),
                vec![(0..10 + crd.len(), 10 + head)],
            ),
            (
                "CRLF",
                crd.replace('\n', "\r\n"),
                vec![(0..crd.len() + 11, head + 4)],
            ),
            (
                "comments beside the keys",
                crd.replace("Definition\n", "Definition # the kind\n")
                    .replace("spec:\n", "spec: # s\n"),
                vec![(0..crd.len() + 15, head + 11)],
            ),
            ("a key after spec", format!("{crd}status: {{}}\n"), vec![]),
            (
                "a sequence item in column 0",
                crd.replace("  - name", "- name"),
                vec![],
            ),
            (
                "spec written inline",
                crd.replace("spec:\n", "spec: {}\n"),
                vec![],
            ),
            (
                "another kind",
                crd.replace("CustomResourceDefinition", "Deployment"),
                vec![],
            ),
            ("two kinds", format!("kind: Pod\n{crd}"), vec![]),
            (
                "another API group",
                crd.replace("apiextensions.k8s.io", "example.com"),
                vec![],
            ),
            (
                "no apiVersion",
                crd.replacen("apiVersion: apiextensions.k8s.io/v1\n", "", 1),
                vec![],
            ),
            ("a quoted key", crd.replace("kind:", "\"kind\":"), vec![]),
            ("a tagged root", format!("--- !!map\n{crd}"), vec![]),
            ("an anchored root", format!("&root\n{crd}"), vec![]),
            ("a flow root", format!("{{\n{crd}}}\n"), vec![]),
            (
                "a bare document after the end",
                format!("kind: Pod\n...\n{crd}"),
                vec![],
            ),
            ("a directive", format!("%YAML 1.2\n---\n{crd}"), vec![]),
            ("a lone CR", crd.replace("name: a\n", "name: a\r"), vec![]),
            ("no spec", HEAD.to_string(), vec![]),
        ];
        for (name, src, want) in cases {
            let cuts = crd_cuts(&src);
            for cut in &cuts {
                let lines = crate::manifest::line_breaks(&src[..cut.document.end]);
                assert_eq!(cut.lines_before_end, lines, "{name}: lines");
            }
            let got: Vec<(Range<usize>, usize)> =
                cuts.into_iter().map(|c| (c.document, c.head.end)).collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
