//! The half after the registries: each tracked image's new value, the edits that keep anchors' meaning, one
//! annotation per object with tracked images, all spliced into the rendered text front to back.

use serde::Serialize;

use super::{Decision, GenerateError, Outcome, Plan, RESOLVED_ANNOTATION, Resolutions};
use crate::manifest::{self, Edit};
use crate::policy::Strategy;
use crate::policy::source::TrackedImage;

/// The image string to write: the rendered spelling of the repository (`nginx` stays `nginx`) with the new tag,
/// or the tracked repository when `kustomize.image-name` made the policy govern a differently named image. A
/// digest is written only for the digest strategy, where it is what the policy pins.
pub fn new_image_value(written: &str, tracked: &TrackedImage, outcome: &Outcome) -> String {
    let repository = if tracked.match_name == tracked.image {
        repository_as_written(written).to_string()
    } else {
        tracked.image.familiar_name()
    };
    let mut value = format!("{repository}:{}", outcome.tag);
    if let (Strategy::Digest { .. }, Some(digest)) = (&tracked.policy.strategy, &outcome.digest) {
        value.push('@');
        value.push_str(digest);
    }
    value
}

/// `written` without its `:tag` and `@digest`: a `:` after the last `/` starts the tag (before it, a port).
pub(super) fn repository_as_written(written: &str) -> &str {
    let without_digest = written.split('@').next().unwrap_or(written);
    let last_slash = without_digest.rfind('/');
    match without_digest.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => &without_digest[..colon],
        _ => without_digest,
    }
}

/// One line of [`RESOLVED_ANNOTATION`].
#[derive(Serialize)]
struct AnnotationEntry<'a> {
    container: Option<&'a str>,
    from: &'a str,
    image: &'a str,
    policy: String,
    decision: &'a Decision,
}

/// The rendered text with every tracked image replaced and each object holding tracked images annotated.
/// Untracked images and everything else stay byte for byte.
///
/// The output is written front to back and each object's annotation made just before it is written, so that a
/// large stream is held about twice (the rendered text and the output), not once more in edits.
pub fn apply(
    rendered: &str,
    plan: &Plan,
    resolutions: &Resolutions,
) -> Result<String, GenerateError> {
    // Every image's value, untracked ones as written: an anchor may share one text between both kinds.
    let mut values: Vec<Option<String>> = vec![None; plan.scan.images.len()];
    // The tracked images (indices into `plan.images`) by object, each object's in text order.
    let mut annotated: Vec<(usize, usize)> = Vec::new();
    for (index, (planned, outcome)) in plan.images.iter().zip(&resolutions.outcomes).enumerate() {
        let (Some(tracked), Some(outcome)) = (&planned.tracked, outcome) else {
            continue;
        };
        let field = &plan.scan.images[planned.field];
        values[planned.field] = Some(if outcome.decision == Decision::Hold {
            field.value.clone()
        } else {
            new_image_value(&field.value, tracked, outcome)
        });
        annotated.push((field.object, index));
    }
    annotated.sort_by_key(|&(object, _)| object);
    let images = manifest::replace_images(&plan.scan, &values)?;
    let annotation = |chunk: &[(usize, usize)]| {
        let mut list = String::from("[");
        for (n, &(_, index)) in chunk.iter().enumerate() {
            let planned = &plan.images[index];
            let field = &plan.scan.images[planned.field];
            let (Some(tracked), Some(outcome)) = (&planned.tracked, &resolutions.outcomes[index])
            else {
                continue;
            };
            let entry = AnnotationEntry {
                container: field.container.as_deref(),
                from: &field.value,
                image: values[planned.field].as_deref().unwrap_or(&field.value),
                policy: tracked.policy.to_string(),
                decision: &outcome.decision,
            };
            if n > 0 {
                list.push(',');
            }
            list.push_str(&serde_json::to_string(&entry).expect("strings serialise"));
        }
        list.push(']');
        plan.scan.objects[chunk[0].0].set_annotation(RESOLVED_ANNOTATION, &list)
    };
    let mut failed = None;
    let annotations = annotated
        .chunk_by(|a, b| a.0 == b.0)
        .map_while(|chunk| annotation(chunk).map_err(|e| failed = Some(e)).ok());
    let grow = images.iter().map(|e| e.text.len()).sum::<usize>() + 256 * annotated.len();
    let out =
        manifest::splice_in_order(rendered, merged(images.iter().cloned(), annotations), grow);
    if let Some(e) = failed {
        return Err(e.into());
    }
    match out {
        // Objects come in text order, and so do the places of their annotations; should a stream ever break
        // that (through aliases), all edits at once, sorted.
        Err(manifest::SpliceError::OutOfOrder { .. }) => {
            let mut edits = images;
            for chunk in annotated.chunk_by(|a, b| a.0 == b.0) {
                edits.push(annotation(chunk)?);
            }
            Ok(manifest::splice(rendered, &edits)?)
        }
        out => Ok(out?),
    }
}

/// Two streams of edits, each in text order, as one in text order.
fn merged(
    a: impl Iterator<Item = Edit>,
    b: impl Iterator<Item = Edit>,
) -> impl Iterator<Item = Edit> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if (y.range.start, y.range.end) < (x.range.start, x.range.end) => {
            b.next()
        }
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}
