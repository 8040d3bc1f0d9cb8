//! The whole `generate` patching path on a rendered stream: scan → plan (every repository in the stream tracked
//! through the Application's parameters, on top of whatever policy annotations the stream carries) → outcomes as a
//! registry would give them → apply (image replacements and the resolved-images annotation) → rescan.
//!
//! Asserts what `generate` promises Argo CD: the output parses; it holds the same documents, objects and image
//! fields, each image at its shifted place with its new value, which names the repository the policy governs; the
//! annotation reads back as written; and the output is the input with exactly those edits, every other byte
//! unchanged.
#![no_main]

use std::collections::BTreeMap;

use argocd_image_resolver::generate::{
    self, AppContext, Decision, GenerateError, Outcome, RESOLVED_ANNOTATION, Resolutions,
};
use argocd_image_resolver::image::ImageRef;
use argocd_image_resolver::manifest::{self, Edit};
use argocd_image_resolver::policy::Strategy;
use argocd_image_resolver::policy::source::Parameter;
use libfuzzer_sys::fuzz_target;

const NEW_TAG: &str = "9.9.9-fuzz";
const NEW_DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `out` must be `src` with `edits` applied: checked segment by segment, independently of `splice`.
fn assert_only_edits_changed(src: &str, edits: &[Edit], out: &str) {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let (mut at, mut out_at) = (0, 0);
    for edit in sorted {
        let kept = &src[at..edit.range.start];
        assert_eq!(
            &out[out_at..out_at + kept.len()],
            kept,
            "bytes before {:?} changed",
            edit.range
        );
        out_at += kept.len();
        assert_eq!(
            &out[out_at..out_at + edit.text.len()],
            edit.text,
            "edit {:?} not written as made",
            edit.range
        );
        out_at += edit.text.len();
        at = edit.range.end;
    }
    assert_eq!(
        &out[out_at..],
        &src[at..],
        "bytes after the last edit changed"
    );
}

/// Where byte `at` of `src` ends up once `edits` are applied (`at` is not inside an edit).
fn shifted(at: usize, edits: &[Edit]) -> usize {
    let grow: isize = edits
        .iter()
        .filter(|e| e.range.end <= at && !(e.range.start == at && !e.range.is_empty()))
        .map(|e| e.text.len() as isize - e.range.len() as isize)
        .sum();
    at.checked_add_signed(grow)
        .expect("offsets stay in the text")
}

fn without_resolved(annotations: &[(String, String)]) -> Vec<&(String, String)> {
    annotations
        .iter()
        .filter(|(k, _)| k != RESOLVED_ANNOTATION)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(first) = manifest::scan(src, &[]) else {
        return;
    };
    let mut names: Vec<String> = first
        .images
        .iter()
        .filter_map(|field| ImageRef::parse(&field.value).ok())
        .map(|image| image.name())
        .collect();
    names.sort();
    names.dedup();
    let app = AppContext {
        parameters: vec![Parameter {
            name: "image-list".to_owned(),
            array: Some(names),
            ..Parameter::default()
        }],
        ..AppContext::default()
    };
    let plan = match generate::plan(src, &app) {
        Ok(plan) => plan,
        // Policy annotations in the stream may be invalid: a refusal naming them is right.
        Err(GenerateError::Policy(_) | GenerateError::ObjectPolicy { .. }) => return,
        Err(e) => panic!("a stream that scans must plan: {e}"),
    };
    assert_eq!(plan.scan.images, first.images, "plan scanned differently");

    // What resolve_plan would hand over, with every registry answering NEW_TAG.
    let outcome_of = |planned: &generate::PlannedImage| {
        Outcome::without_registry(planned).or_else(|| {
            let tracked = planned.tracked.as_ref()?;
            let digest = matches!(tracked.policy.strategy, Strategy::Digest { .. })
                .then(|| NEW_DIGEST.to_string());
            Some(Outcome {
                tag: NEW_TAG.to_string(),
                digest,
                decision: Decision::Registry,
                fallback_reason: None,
            })
        })
    };
    let outcomes: Vec<Option<Outcome>> = plan.images.iter().map(outcome_of).collect();
    let resolutions = Resolutions {
        outcomes,
        ..Resolutions::default()
    };
    // `generate` itself plans twice, a document at a time: it must write what planning whole writes.
    let mut seen = Vec::new();
    let warnings = generate::plan_each(src, &app, &mut || false, &mut |p| seen.push(p.field))
        .expect("a stream that plans whole plans a document at a time");
    assert_eq!(warnings, plan.warnings, "warnings differ a document at a time");
    assert_eq!(seen.len(), plan.images.len(), "images differ a document at a time");
    let mut streamed = String::new();
    let streamed = generate::apply_each(src, &app, &mut || false, &mut |p| outcome_of(p), &mut |piece| {
        streamed.push_str(piece)
    })
    .map(|()| streamed);
    let whole = generate::apply(src, &plan, &resolutions);
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "output differs a document at a time"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "errors differ"),
        _ => panic!("whole: {whole:?}, a document at a time: {streamed:?}"),
    }
    let out = match whole {
        Ok(out) => out,
        // metadata or annotations that are not a mapping: refused, naming the object.
        Err(GenerateError::Annotate(_)) => return,
        // an anchor whose text other, non-image places share: refused rather than changing them too.
        Err(GenerateError::Replace(_)) => return,
        Err(e) => panic!("apply failed: {e}"),
    };

    // The edits apply must have made: each changed image, in its style, and one annotation per tracked object.
    let mut expected: Vec<String> = first.images.iter().map(|f| f.value.clone()).collect();
    let mut edits: Vec<Edit> = Vec::new();
    let mut entries: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for (planned, outcome) in plan.images.iter().zip(&resolutions.outcomes) {
        let (Some(tracked), Some(outcome)) = (&planned.tracked, outcome) else {
            continue;
        };
        let field = &first.images[planned.field];
        let value = if outcome.decision.keeps_rendered() {
            field.value.clone()
        } else {
            let value = generate::new_image_value(&field.value, tracked, outcome);
            let written = ImageRef::parse_with(&value, &app.image_defaults).unwrap_or_else(|e| {
                panic!(
                    "new image {value:?} (was {:?}) does not parse: {e}",
                    field.value
                )
            });
            let governed = if tracked.match_name == tracked.image {
                &planned.image
            } else {
                &tracked.image
            };
            assert!(
                written.same_repository(governed),
                "new image {value:?} (was {:?}) names {} instead of {}",
                field.value,
                written.name(),
                governed.name()
            );
            assert_eq!(
                written.tag(),
                Some(outcome.tag.as_str()),
                "new image {value:?}"
            );
            value
        };
        if value != field.value {
            edits.push(field.replace(&value));
        }
        entries
            .entry(field.object)
            .or_default()
            .push((field.value.clone(), value.clone()));
        expected[planned.field] = value;
    }

    let again = manifest::scan(&out, &[])
        .unwrap_or_else(|e| panic!("output does not parse: {e}\n--- output:\n{out}"));
    assert_eq!(again.documents, first.documents, "document count changed");
    assert_eq!(
        again.objects.len(),
        first.objects.len(),
        "object count changed"
    );
    for (index, (before, after)) in first.objects.iter().zip(&again.objects).enumerate() {
        assert_eq!(
            (
                &before.kind,
                &before.name,
                &before.namespace,
                &before.api_version,
                before.document
            ),
            (
                &after.kind,
                &after.name,
                &after.namespace,
                &after.api_version,
                after.document
            ),
            "object {index} changed"
        );
        assert_eq!(
            without_resolved(&before.annotations),
            without_resolved(&after.annotations),
            "other annotations of object {index} changed"
        );
        match entries.get(&index) {
            Some(written) => {
                let value = after.annotation(RESOLVED_ANNOTATION).unwrap_or_else(|| {
                    panic!("object {index} lost its {RESOLVED_ANNOTATION} annotation")
                });
                let list: Vec<serde_json::Value> =
                    serde_json::from_str(value).unwrap_or_else(|e| {
                        panic!("annotation of object {index} is not a JSON list: {e}: {value:?}")
                    });
                let read: Vec<(String, String)> = list
                    .iter()
                    .map(|e| {
                        (
                            e["from"].as_str().unwrap().to_string(),
                            e["image"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect();
                assert_eq!(&read, written, "annotation of object {index}");
                edits.push(
                    before
                        .set_annotation(RESOLVED_ANNOTATION, value)
                        .expect("apply annotated this object"),
                );
            }
            None => assert_eq!(
                before.annotation(RESOLVED_ANNOTATION),
                after.annotation(RESOLVED_ANNOTATION),
                "object {index} got an annotation without a tracked image"
            ),
        }
    }
    assert_only_edits_changed(src, &edits, &out);

    assert_eq!(
        again.images.len(),
        first.images.len(),
        "image field count changed"
    );
    for (i, (before, after)) in first.images.iter().zip(&again.images).enumerate() {
        assert_eq!(
            (&before.path, before.object, &before.container),
            (&after.path, after.object, &after.container),
            "image field {i} moved to another place"
        );
        assert_eq!(
            after.value, expected[i],
            "image field {i} at {}",
            before.path
        );
        assert_eq!(
            after.span.start,
            shifted(before.span.start, &edits),
            "image field {i} is not where it was"
        );
    }
});
