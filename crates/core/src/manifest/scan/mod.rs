//! Scan a rendered YAML stream for Kubernetes objects and their container image scalars, with byte spans.
//!
//! The stream is read here, event by event, into one pruned tree per document; `collect` turns each tree into
//! objects and images.

mod collect;
mod crd;

use saphyr_parser::{Event, Marker, Parser, Span};

use super::object::{ImageField, Object};
use super::path::ImagePath;
use super::text::CharCursor;
use super::tree::{Builder, Patterns, Step};
use collect::collect_document;

/// What [`scan`] found in a stream.
#[derive(Debug)]
pub struct Scan {
    /// Number of YAML documents in the stream (empty and null ones included).
    pub documents: usize,
    pub objects: Vec<Object>,
    /// Every image scalar, in text order.
    pub images: Vec<ImageField>,
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
pub(crate) fn check_printable(src: &str) -> Result<(), ScanError> {
    let bad = first_refused(src.as_bytes());
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

/// Where the first character [`check_printable`] refuses starts. Chunks of text are first looked over without
/// branches (which the compiler turns into vector instructions: this runs over every byte of every render), and
/// only a chunk with a byte that may start such a character is looked at byte by byte.
fn first_refused(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 64;
    // C0 controls but tab and line breaks, DEL, and the lead bytes of the refused multi-byte characters.
    let suspect = |b: u8| {
        (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
            | (b == 0x7f)
            | (b == 0xc2)
            | (b == 0xe2)
            | (b == 0xef)
    };
    let refused = |i: usize| match bytes[i] {
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
    };
    // Fixed-size chunks, so that the look-over is unrolled into vector instructions; then the rest.
    let chunks = bytes.chunks_exact(CHUNK);
    let rest = chunks.remainder().len();
    for (n, chunk) in chunks.enumerate() {
        let any = chunk.iter().fold(0u8, |any, &b| any | u8::from(suspect(b)));
        if any != 0 {
            let start = n * CHUNK;
            if let Some(i) = (start..start + CHUNK).find(|&i| refused(i)) {
                return Some(i);
            }
        }
    }
    (bytes.len() - rest..bytes.len()).find(|&i| refused(i))
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
    let mut found = Scan {
        documents: 0,
        objects: Vec::new(),
        images: Vec::new(),
    };
    found.documents = scan_each(src, extra, stop, &mut |document: Scan, _: &mut Stop<'_>| {
        let first = found.objects.len();
        found.objects.extend(document.objects);
        found
            .images
            .extend(document.images.into_iter().map(|mut image| {
                image.object += first;
                image
            }));
        Ok::<_, ScanError>(())
    })?;
    // Both grew by doubling: up to half of each is spare room, kept through planning and applying otherwise.
    found.objects.shrink_to_fit();
    found.images.shrink_to_fit();
    Ok(found)
}

/// A caller's question whether to give up (its deadline has passed, say).
pub type Stop<'a> = dyn FnMut() -> bool + 'a;

/// [`scan_until`] one document at a time: `each` gets a [`Scan`] of each document that holds an object, in text
/// order, as soon as it has been read, with `stop` to share (a caller that works on each document can keep its
/// deadline too). Nothing of a document is kept once `each` has it, so a caller that keeps little can read a
/// stream of any size in about the memory of its largest document. In each part, [`ImageField::object`] indexes
/// that part's objects, [`Object::document`] still counts from the start of the stream, and
/// [`Scan::documents`] is the number of documents read so far.
///
/// Returns the number of documents in the stream.
///
/// # Errors
///
/// As [`scan_until`], or whatever `each` returns: reading stops at the first error.
pub fn scan_each<E: From<ScanError>>(
    src: &str,
    extra: &[ImagePath],
    stop: &mut dyn FnMut() -> bool,
    each: &mut dyn FnMut(Scan, &mut Stop<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    check_printable(src)?;
    let mut paths = builtin_paths();
    paths.extend_from_slice(extra);
    let patterns = patterns(&paths);
    let mut reader = Reader {
        src,
        paths: &paths,
        patterns: &patterns,
        documents: 0,
        events: 0,
        lines_at: (0, 0),
    };
    // A path of the operator's that may apply to a CRD would have to be looked for in its spec too.
    let cuts = if extra
        .iter()
        .all(|p| p.kind().is_some_and(|k| k != "CustomResourceDefinition"))
    {
        crd::crd_cuts(src)
    } else {
        Vec::new()
    };
    let mut at = 0;
    for cut in cuts {
        reader.read(at..cut.document.start, stop, each)?;
        match reader.read_crd_head(cut.head, stop)? {
            Some(head) => each(head, stop)?,
            None => reader.read(cut.document.clone(), stop, each)?,
        }
        at = cut.document.end;
        reader.lines_at = (at, cut.lines_before_end);
    }
    reader.read(at..src.len(), stop, each)?;
    Ok(reader.documents)
}

/// Reads a stream run by run (see [`crd`]): a parser per run, positions in the whole stream.
struct Reader<'s, 'p> {
    src: &'s str,
    paths: &'p [ImagePath],
    patterns: &'p Patterns,
    /// Documents met so far.
    documents: usize,
    /// Parser events so far, for the `stop` questions.
    events: usize,
    /// A byte offset and the line breaks before it, to number a run's lines from without recounting.
    lines_at: (usize, usize),
}

impl<'s> Reader<'s, '_> {
    /// The line breaks before `at` (at or after the last offset asked about).
    fn lines_before(&mut self, at: usize) -> usize {
        let (from, lines) = self.lines_at;
        self.lines_at = (
            at,
            lines + crate::manifest::line_breaks(&self.src[from..at]),
        );
        self.lines_at.1
    }

    /// Parses `src[run]` (whole documents, or a CRD's head), handing each document that holds an object to `each`.
    fn read<E: From<ScanError>>(
        &mut self,
        run: std::ops::Range<usize>,
        stop: &mut dyn FnMut() -> bool,
        each: &mut dyn FnMut(Scan, &mut Stop<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if run.is_empty() {
            return Ok(());
        }
        let src = self.src;
        let lines = self.lines_before(run.start);
        let shift = |m: Marker| Marker::new(m.index(), m.line() + lines, m.col());
        let mut parser = Parser::new_from_str(&src[run.clone()]);
        let mut cursor = CharCursor::within(src, run);
        let mut builder = Builder::new(self.patterns);
        let mut in_document = false;
        while let Some(next) = parser.next_event() {
            // The document being read, or the next one when between documents.
            let document = if in_document {
                self.documents - 1
            } else {
                self.documents
            };
            self.events += 1;
            if self.events.is_multiple_of(EVENTS_PER_STOP_CHECK) && stop() {
                let line = next
                    .as_ref()
                    .map_or_else(|e| e.marker().line(), |(_, span)| span.start.line());
                return Err(ScanError::Stopped {
                    document,
                    line: line + lines,
                }
                .into());
            }
            let (event, span) = next.map_err(|e| ScanError::Yaml {
                document,
                line: e.marker().line() + lines,
                column: e.marker().col() + 1,
                message: e.info().to_owned(),
            })?;
            let span = Span::new(shift(span.start), shift(span.end));
            match event {
                Event::DocumentStart(_) => {
                    in_document = true;
                    self.documents += 1;
                }
                Event::DocumentEnd => {
                    in_document = false;
                    let Some(doc) = builder.take_document() else {
                        continue;
                    };
                    let mut found = Scan {
                        documents: self.documents,
                        objects: Vec::new(),
                        images: Vec::new(),
                    };
                    collect_document(src, document, &doc, self.paths, &mut found)?;
                    drop(doc);
                    if found.objects.is_empty() {
                        continue;
                    }
                    // Text order; a place reached by two paths (a built-in and an extra one) once. Places an
                    // anchor repeats share a span and stay apart. (Aliases never reach across documents.)
                    found.images.sort_by(|a, b| {
                        (a.span.start, a.object, &a.path).cmp(&(b.span.start, b.object, &b.path))
                    });
                    found.images.dedup_by(|a, b| {
                        a.span.start == b.span.start && a.object == b.object && a.path == b.path
                    });
                    each(found, stop)?;
                }
                event => {
                    builder
                        .event(event, span, &mut cursor)
                        .map_err(|bad| ScanError::Position {
                            document,
                            line: bad.line,
                            column: bad.col + 1,
                        })?;
                }
            }
        }
        Ok(())
    }

    /// The scan of a CRD read up to its `spec`, or `None` when that head does not read as one CRD (the caller
    /// then reads the whole document, which gives the right objects or the right error).
    fn read_crd_head(
        &mut self,
        head: std::ops::Range<usize>,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Scan>, ScanError> {
        let (documents, lines_at) = (self.documents, self.lines_at);
        let mut scans = Vec::new();
        let read = self.read(head, stop, &mut |scan, _: &mut Stop<'_>| {
            scans.push(scan);
            Ok::<_, ScanError>(())
        });
        let crd = match (read, scans.as_slice()) {
            (Err(e @ ScanError::Stopped { .. }), _) => return Err(e),
            (Ok(()), [scan]) => {
                self.documents == documents + 1
                    && matches!(scan.objects.as_slice(), [object]
                        if object.kind.as_deref() == Some(crd::CRD_KIND)
                            && object.api_version.as_deref().is_some_and(|v| v.starts_with(crd::CRD_API_GROUP)))
            }
            _ => false,
        };
        if crd {
            return Ok(scans.pop());
        }
        (self.documents, self.lines_at) = (documents, lines_at);
        Ok(None)
    }
}
