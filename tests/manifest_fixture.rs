//! The scanner and splicer over whole install manifests: the generated stand-in for Argo CD's `install.yaml`
//! (1.2 MB: CRDs whose schemas are full of `image` keys, every workload kind, every scalar style), and Argo CD's
//! own (1.9 MB) when the shared fixtures are beside the checkout.

mod fixtures;

use argocd_image_resolver::manifest::{Edit, scan, splice};
use serde::Deserialize;
use serde_norway::Value;

use fixtures::WantImage;

/// (kind, name, path, container, value): an image as the tests compare it.
type Row = (String, String, String, String, String);

fn row(i: &WantImage) -> Row {
    (
        i.kind.clone(),
        i.name.clone(),
        i.path.clone(),
        i.container.clone(),
        i.value.clone(),
    )
}

#[test]
fn finds_exactly_the_images() {
    for fixture in fixtures::install_manifests() {
        let (name, src) = (fixture.name, &fixture.text);
        let found = scan(src, &[]).unwrap();
        let got: Vec<Row> = found
            .images
            .iter()
            .map(|i| {
                let o = &found.objects[i.object];
                (
                    o.kind.clone().unwrap_or_default(),
                    o.name.clone().unwrap_or_default(),
                    i.path.clone(),
                    i.container.clone().unwrap_or_default(),
                    i.value.clone(),
                )
            })
            .collect();
        let want: Vec<Row> = fixture.want.images.iter().map(row).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(found.documents, fixture.want.documents, "{name}: documents");
        assert_eq!(found.objects.len(), fixture.want.objects, "{name}: objects");
        for (image, want) in found.images.iter().zip(&fixture.want.images) {
            assert_eq!(
                &src[image.span.clone()],
                want.written,
                "{name}: the text of {} in {}/{}",
                want.path,
                want.kind,
                want.name
            );
        }
        // What the fixture says it holds, read by a full YAML deserializer.
        let mut values: Vec<String> = fixture
            .want
            .images
            .iter()
            .map(|i| i.value.clone())
            .collect();
        values.sort();
        assert_eq!(images_by_serde(src), values, "{name}: full deserializer");
    }
}

/// The container images of every pod spec in a stream, read with a full YAML deserializer (an independent check):
/// a `Pod`'s `spec`, a `PodTemplate`'s `template.spec`, any kind's `spec.template.spec` and
/// `spec.jobTemplate.spec.template.spec`, in documents and in the items of `…List` documents; sorted.
fn images_by_serde(src: &str) -> Vec<String> {
    let mut objects = Vec::new();
    for document in serde_norway::Deserializer::from_str(src) {
        let value = Value::deserialize(document).unwrap();
        match (value["kind"].as_str(), value["items"].as_sequence()) {
            (Some(kind), Some(items)) if kind.ends_with("List") => objects.extend(items.clone()),
            _ => objects.push(value),
        }
    }
    let mut out = Vec::new();
    for object in &objects {
        let specs = [
            (object["kind"] == "Pod").then(|| &object["spec"]),
            (object["kind"] == "PodTemplate").then(|| &object["template"]["spec"]),
            Some(&object["spec"]["template"]["spec"]),
            Some(&object["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        ];
        for spec in specs.into_iter().flatten() {
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                if let Some(items) = spec[list].as_sequence() {
                    out.extend(
                        items
                            .iter()
                            .filter_map(|c| c["image"].as_str().map(str::to_owned)),
                    );
                }
            }
        }
    }
    out.sort();
    out
}

/// A new reference for each image: the same repository with another tag, or a digest, by turns.
fn new_reference(value: &str, n: usize) -> String {
    let name = value.split('@').next().unwrap();
    let repository = match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    };
    match n % 3 {
        0 => format!("{repository}:v3.5.{n}"),
        1 => format!("{repository}@sha256:{:064x}", n + 0x0123),
        _ => format!("{repository}:{n}.0-debian-12-r{n}"),
    }
}

#[test]
fn replacing_every_image_changes_only_those_bytes() {
    for fixture in fixtures::install_manifests() {
        let (name, src) = (fixture.name, &fixture.text);
        let found = scan(src, &[]).unwrap();
        let want: Vec<String> = found
            .images
            .iter()
            .enumerate()
            .map(|(n, i)| new_reference(&i.value, n))
            .collect();
        let mut edits: Vec<Edit> = found
            .images
            .iter()
            .zip(&want)
            .map(|(i, new)| i.replace(new))
            .collect();
        let out = splice(src, &edits).unwrap();

        // Every byte outside the edits is unchanged.
        edits.sort_by_key(|e| e.range.start);
        let (mut from, mut to) = (0, 0);
        for edit in &edits {
            let keep = edit.range.start - from;
            assert_eq!(
                &out[to..to + keep],
                &src[from..edit.range.start],
                "{name}: before {:?}",
                edit.range
            );
            to += keep + edit.text.len();
            from = edit.range.end;
        }
        assert_eq!(&out[to..], &src[from..], "{name}: after the last edit");
        let growth: isize = edits
            .iter()
            .map(|e| e.text.len() as isize - e.range.len() as isize)
            .sum();
        assert_eq!(
            out.len() as isize - src.len() as isize,
            growth,
            "{name}: length"
        );

        let again = scan(&out, &[]).unwrap();
        assert_eq!(
            again
                .images
                .iter()
                .map(|i| i.value.clone())
                .collect::<Vec<_>>(),
            want,
            "{name}: re-scan"
        );
        let mut sorted = want.clone();
        sorted.sort();
        assert_eq!(images_by_serde(&out), sorted, "{name}: full deserializer");
    }
}

#[test]
fn annotating_the_workloads_keeps_the_stream_valid() {
    for fixture in fixtures::install_manifests() {
        let (name, src) = (fixture.name, &fixture.text);
        let found = scan(src, &[]).unwrap();
        let mut objects: Vec<usize> = found.images.iter().map(|i| i.object).collect();
        objects.dedup();
        let edits: Vec<Edit> = objects
            .iter()
            .map(|&o| {
                found.objects[o]
                    .set_annotation("image-resolver.example/resolved", "argocd=v3.5.0 — ✓")
                    .unwrap()
            })
            .collect();
        let out = splice(src, &edits).unwrap();
        let again = scan(&out, &[]).unwrap();
        assert_eq!(again.objects.len(), found.objects.len(), "{name}: objects");
        for (o, object) in again.objects.iter().enumerate() {
            let before = &found.objects[o];
            let annotated = objects.contains(&o);
            assert_eq!(
                object.annotation("image-resolver.example/resolved"),
                annotated.then_some("argocd=v3.5.0 — ✓"),
                "{name}: {object}"
            );
            assert_eq!(
                object.annotations.len(),
                before.annotations.len() + usize::from(annotated),
                "{name}: {object}"
            );
        }
        assert_eq!(
            images_by_serde(&out),
            images_by_serde(src),
            "{name}: images untouched"
        );
    }
}
