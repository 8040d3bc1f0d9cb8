//! The half after the registries: each tracked (or lock-file-decided) image's new value, the edits that keep anchors' meaning, one
//! annotation per object with tracked images, all spliced into the rendered text front to back.

use serde::Serialize;

use super::plan::Planner;
use super::{
    AppContext, Decision, GenerateError, Outcome, Plan, PlannedImage, RESOLVED_ANNOTATION,
    Resolutions,
};
use crate::manifest::{self, Edit, Scan, Splicer};
use crate::policy::source::TrackedImage;

/// The image string to write: the rendered spelling of the repository (`nginx` stays `nginx`) with the new tag,
/// or the tracked repository when `kustomize.image-name` made the policy govern a differently named image. A
/// digest is written only where the policy renders one ([`crate::policy::Policy::renders_digest`]: the digest
/// strategy, or `pin-digest`).
pub fn new_image_value(written: &str, tracked: &TrackedImage, outcome: &Outcome) -> String {
    let repository = if tracked.match_name == tracked.image {
        repository_as_written(written).to_string()
    } else {
        tracked.image.familiar_name()
    };
    with_tag(&repository, outcome, tracked.policy.renders_digest())
}

/// What `planned`, written `written`, is written as for `outcome`: as rendered when the decision keeps it, the
/// tracked image's new value ([`new_image_value`]), or for an image only its lock file entry decides, the
/// rendered repository with the entry's tag (and digest, where the entry's policy renders one). `None` for an
/// image nothing decides.
pub fn image_value(written: &str, planned: &PlannedImage, outcome: &Outcome) -> Option<String> {
    if outcome.decision.keeps_rendered() {
        return Some(written.to_owned());
    }
    match (&planned.tracked, &planned.lock) {
        (Some(tracked), _) => Some(new_image_value(written, tracked, outcome)),
        (None, Some(entry)) => Some(with_tag(
            repository_as_written(written),
            outcome,
            entry.policy_renders_digest(),
        )),
        (None, None) => None,
    }
}

/// The policy an image is written under, for its annotation: the tracked image's, else its lock entry's.
fn policy_text(planned: &PlannedImage) -> String {
    match (&planned.tracked, &planned.lock) {
        (Some(tracked), _) => tracked.policy.to_string(),
        (None, Some(entry)) => entry.policy.clone().unwrap_or_default(),
        (None, None) => String::new(),
    }
}

fn with_tag(repository: &str, outcome: &Outcome, renders_digest: bool) -> String {
    let mut value = format!("{repository}:{}", outcome.tag);
    if renders_digest && let Some(digest) = &outcome.digest {
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
/// # Errors
///
/// An edit would change more than an image (anchors), or an object cannot be annotated.
pub fn apply(
    rendered: &str,
    plan: &Plan,
    resolutions: &Resolutions,
) -> Result<String, GenerateError> {
    let edits = edits_of(&plan.scan, &plan.images, &resolutions.outcomes)?;
    Ok(manifest::splice(rendered, &edits)?)
}

/// [`apply`] for a stream too large to hold planned whole, the second pass after [`super::plan_each`]: plans the
/// stream again a document at a time (the same decisions: planning is deterministic), asks `outcome_of` for each
/// image's outcome, and hands the output to `out` piece by piece, front to back. What it holds at once is one
/// document's plan and edits.
///
/// # Errors
///
/// As [`apply`], and as [`super::plan_until`]. On error, `out` has had the output up to the document at fault:
/// the caller must drop it.
pub fn apply_each(
    rendered: &str,
    app: &AppContext,
    stop: &mut dyn FnMut() -> bool,
    outcome_of: &mut dyn FnMut(&PlannedImage) -> Option<Outcome>,
    out: &mut dyn FnMut(&str),
) -> Result<(), GenerateError> {
    let mut planner = Planner::new(app)?;
    let mut splicer = Splicer::new(rendered);
    manifest::scan_each(rendered, &app.extra_paths, stop, &mut |document, stop| {
        let images = planner.plan_scan(&document, stop)?;
        let outcomes: Vec<Option<Outcome>> = images.iter().map(&mut *outcome_of).collect();
        for edit in edits_of(&document, &images, &outcomes)? {
            splicer.push(&edit, out)?;
        }
        Ok::<_, GenerateError>(())
    })?;
    splicer.finish(out);
    Ok(())
}

/// The edits that write the outcomes of `images` (planned from `scan`) and annotate their objects, in text
/// order.
fn edits_of(
    scan: &Scan,
    images: &[PlannedImage],
    outcomes: &[Option<Outcome>],
) -> Result<Vec<Edit>, GenerateError> {
    // Every image's value, untracked ones as written: an anchor may share one text between both kinds.
    let mut values: Vec<Option<String>> = vec![None; scan.images.len()];
    // The tracked images (indices into `images`) by object, each object's in text order.
    let mut annotated: Vec<(usize, usize)> = Vec::new();
    for (index, (planned, outcome)) in images.iter().zip(outcomes).enumerate() {
        let Some(outcome) = outcome else {
            continue;
        };
        let field = &scan.images[planned.field];
        let Some(value) = image_value(&field.value, planned, outcome) else {
            continue;
        };
        values[planned.field] = Some(value);
        annotated.push((field.object, index));
    }
    annotated.sort_by_key(|&(object, _)| object);
    let mut edits = manifest::replace_images(scan, &values)?;
    for chunk in annotated.chunk_by(|a, b| a.0 == b.0) {
        let mut list = String::from("[");
        for (n, &(_, index)) in chunk.iter().enumerate() {
            let planned = &images[index];
            let field = &scan.images[planned.field];
            let Some(outcome) = &outcomes[index] else {
                continue;
            };
            let entry = AnnotationEntry {
                container: field.container.as_deref(),
                from: &field.value,
                image: values[planned.field].as_deref().unwrap_or(&field.value),
                policy: policy_text(planned),
                decision: &outcome.decision,
            };
            if n > 0 {
                list.push(',');
            }
            list.push_str(&serde_json::to_string(&entry).expect("strings serialise"));
        }
        list.push(']');
        edits.push(scan.objects[chunk[0].0].set_annotation(RESOLVED_ANNOTATION, &list)?);
    }
    // Objects come in text order, and so do the places of their annotations, but aliases may reorder images.
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    Ok(edits)
}
