//! Reading the plugin's output: line diffs against the input, documents, images and the resolver's annotation.

use super::RESOLVED;

/// How an output differs from its input, line by line, for outputs made by replacing text inside lines and
/// inserting whole lines (what the plugin's splice does): unequal lines are paired as changed, unless the next
/// few lines of the output reach the input line again, in which case the lines before it count as inserted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LineDiff {
    /// (input line, output line).
    pub changed: Vec<(String, String)>,
    pub inserted: Vec<String>,
    pub removed: Vec<String>,
}

/// At most this many lines inserted in one place (`annotations:` and its entry, or `metadata:` as well).
const MAX_INSERTED: usize = 3;

pub fn line_diff(before: &str, after: &str) -> LineDiff {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let (mut i, mut j) = (0, 0);
    let mut diff = LineDiff::default();
    loop {
        match (b.get(i), a.get(j)) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
            (Some(x), Some(y)) => match (1..=MAX_INSERTED).find(|k| a.get(j + k) == Some(x)) {
                Some(k) => {
                    diff.inserted
                        .extend(a[j..j + k].iter().map(|l| l.to_string()));
                    j += k;
                }
                None => {
                    diff.changed.push((x.to_string(), y.to_string()));
                    (i, j) = (i + 1, j + 1);
                }
            },
            (Some(x), None) => {
                diff.removed.push(x.to_string());
                i += 1;
            }
            (None, Some(y)) => {
                diff.inserted.push(y.to_string());
                j += 1;
            }
        }
    }
    diff
}

/// Whether `c` can be part of an image reference.
fn in_reference(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/:@".contains(c)
}

/// The image an `image` field holds in `line` (YAML block or flow style, quoted or not, or JSON), if any.
pub fn image_of_line(line: &str) -> Option<&str> {
    let at = line.find("image\":").map(|i| i + 7).or_else(|| {
        let i = line.find("image:")?;
        (i == 0 || line[..i].ends_with(['{', ' '])).then_some(i + 6)
    })?;
    let rest = line[at..].trim_start().trim_start_matches(['\'', '"']);
    let end = rest.find(|c| !in_reference(c)).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// When `before` and `after` differ only in the value of an `image` field: that value in each.
pub fn image_change<'a>(before: &'a str, after: &'a str) -> Option<(&'a str, &'a str)> {
    let (from, to) = (image_of_line(before)?, image_of_line(after)?);
    let offset = |line: &str, value: &str| value.as_ptr() as usize - line.as_ptr() as usize;
    let (at_b, at_a) = (offset(before, from), offset(after, to));
    let same_around =
        before[..at_b] == after[..at_a] && before[at_b + from.len()..] == after[at_a + to.len()..];
    same_around.then_some((from, to))
}

/// Checks that `output` differs from `input` only in image values (each changed line the same but for the value
/// of its `image` field) and in inserted annotation lines (`annotations:` and the resolver's own annotation); returns
/// the changed images (from, to) and the inserted lines.
pub fn only_images_and_annotations(
    input: &str,
    output: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let diff = line_diff(input, output);
    assert_eq!(diff.removed, Vec::<String>::new(), "no line may disappear");
    let mut images = Vec::new();
    for (before, after) in &diff.changed {
        let Some((from, to)) = image_change(before, after) else {
            panic!("only image values may change, but\n  {before}\nbecame\n  {after}");
        };
        images.push((from.to_string(), to.to_string()));
    }
    for line in &diff.inserted {
        let trimmed = line.trim();
        assert!(
            trimmed == "annotations:"
                || trimmed.starts_with(&format!("{RESOLVED}: "))
                || trimmed.starts_with(&format!("\"{RESOLVED}\": ")),
            "only annotation lines may be inserted, but got {line:?}"
        );
    }
    (images, diff.inserted)
}

/// The YAML documents of a stream, as values (empty documents skipped).
pub fn documents(stream: &str) -> Vec<serde_norway::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(stream)
        .map(|doc| serde_norway::Value::deserialize(doc).expect("a YAML document"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The resolver's annotation of `object`, parsed: one entry per tracked container.
pub fn resolved_entries(object: &serde_norway::Value) -> Vec<serde_json::Value> {
    let text = object["metadata"]["annotations"][RESOLVED]
        .as_str()
        .unwrap_or_else(|| panic!("no {RESOLVED} annotation on {object:?}"));
    serde_json::from_str(text).expect("the annotation holds JSON")
}

/// The `Kind/name` objects of a stream that carry the resolver's annotation.
pub fn annotated(stream: &str) -> Vec<String> {
    documents(stream)
        .iter()
        .filter(|d| !d["metadata"]["annotations"][RESOLVED].is_null())
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The values of a stream's `image:` lines, in order.
pub fn images(stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stream.lines() {
        if let Some(image) = image_of_line(line) {
            out.push(image.to_string());
        }
    }
    out
}
