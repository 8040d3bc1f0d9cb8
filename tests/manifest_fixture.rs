//! The scanner and splicer over a real install manifest: Argo CD's `install.yaml` (1.9 MB, CRDs and workloads).

mod fixtures;

use argocd_image_resolver::manifest::{Edit, scan, splice};
use serde::Deserialize;

const ARGOCD: &str = "quay.io/argoproj/argocd:latest";
const DEX: &str = "ghcr.io/dexidp/dex:v2.45.1";
const REDIS: &str = "public.ecr.aws/docker/library/redis:8.10.1-alpine";

#[test]
fn finds_exactly_the_images() {
    let Some(src) = fixtures::argocd_install_text() else {
        return;
    };
    let found = scan(&src, &[]).unwrap();
    let got: Vec<(String, String, String, String, String)> = found
        .images
        .iter()
        .map(|i| {
            let o = &found.objects[i.object];
            let kind = o.kind.clone().unwrap_or_default();
            let name = o.name.clone().unwrap_or_default();
            (
                kind,
                name,
                i.path.clone(),
                i.container.clone().unwrap_or_default(),
                i.value.clone(),
            )
        })
        .collect();
    let c = |n: usize| format!("spec.template.spec.containers[{n}].image");
    let i = |n: usize| format!("spec.template.spec.initContainers[{n}].image");
    let row = |kind: &str, name: &str, path: String, container: &str, image: &str| {
        (
            kind.to_owned(),
            name.to_owned(),
            path,
            container.to_owned(),
            image.to_owned(),
        )
    };
    let want = vec![
        row(
            "Deployment",
            "argocd-applicationset-controller",
            c(0),
            "argocd-applicationset-controller",
            ARGOCD,
        ),
        row("Deployment", "argocd-dex-server", c(0), "dex", DEX),
        row("Deployment", "argocd-dex-server", i(0), "copyutil", ARGOCD),
        row(
            "Deployment",
            "argocd-notifications-controller",
            c(0),
            "argocd-notifications-controller",
            ARGOCD,
        ),
        row("Deployment", "argocd-redis", c(0), "redis", REDIS),
        row("Deployment", "argocd-redis", i(0), "secret-init", ARGOCD),
        row(
            "Deployment",
            "argocd-repo-server",
            c(0),
            "argocd-repo-server",
            ARGOCD,
        ),
        row("Deployment", "argocd-repo-server", i(0), "copyutil", ARGOCD),
        row("Deployment", "argocd-server", c(0), "argocd-server", ARGOCD),
        row(
            "StatefulSet",
            "argocd-application-controller",
            c(0),
            "argocd-application-controller",
            ARGOCD,
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(
        found.images.iter().filter(|i| i.value == ARGOCD).count(),
        8,
        "argocd containers"
    );
    assert_eq!(found.documents, 59, "documents");
    assert_eq!(found.objects.len(), 59, "objects");
    for image in &found.images {
        assert_eq!(
            &src[image.span.clone()],
            image.value,
            "{}: written plain",
            image.path
        );
    }
}

/// The containers of every pod template in a document, read with a full YAML deserializer (an independent check).
fn images_by_serde(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for document in serde_norway::Deserializer::from_str(src) {
        let value = serde_norway::Value::deserialize(document).unwrap();
        let spec = &value["spec"]["template"]["spec"];
        for list in ["initContainers", "containers"] {
            if let Some(items) = spec[list].as_sequence() {
                out.extend(
                    items
                        .iter()
                        .filter_map(|c| c["image"].as_str().map(str::to_owned)),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn replacing_every_image_changes_only_those_bytes() {
    let Some(src) = fixtures::argocd_install_text() else {
        return;
    };
    let found = scan(&src, &[]).unwrap();
    let new = |value: &str| {
        value
            .replace("latest", "v3.5.0")
            .replace("v2.45.1", "v2.46.0")
            .replace(":8.10.1-alpine", "@sha256:0123")
    };
    let mut edits: Vec<Edit> = found
        .images
        .iter()
        .map(|i| i.replace(&new(&i.value)))
        .collect();
    let out = splice(&src, &edits).unwrap();

    // Every byte outside the edits is unchanged.
    edits.sort_by_key(|e| e.range.start);
    let (mut from, mut to) = (0, 0);
    for edit in &edits {
        let keep = edit.range.start - from;
        assert_eq!(
            &out[to..to + keep],
            &src[from..edit.range.start],
            "before {:?}",
            edit.range
        );
        to += keep + edit.text.len();
        from = edit.range.end;
    }
    assert_eq!(&out[to..], &src[from..], "after the last edit");
    let growth: isize = edits
        .iter()
        .map(|e| e.text.len() as isize - e.range.len() as isize)
        .sum();
    assert_eq!(out.len() as isize - src.len() as isize, growth, "length");

    let again = scan(&out, &[]).unwrap();
    let want: Vec<String> = found.images.iter().map(|i| new(&i.value)).collect();
    assert_eq!(
        again
            .images
            .iter()
            .map(|i| i.value.clone())
            .collect::<Vec<_>>(),
        want,
        "re-scan"
    );
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(images_by_serde(&out), sorted, "full deserializer");
}

#[test]
fn annotating_the_workloads_keeps_the_stream_valid() {
    let Some(src) = fixtures::argocd_install_text() else {
        return;
    };
    let found = scan(&src, &[]).unwrap();
    let mut objects: Vec<usize> = found.images.iter().map(|i| i.object).collect();
    objects.dedup();
    let edits: Vec<Edit> = objects
        .iter()
        .map(|&o| {
            found.objects[o]
                .set_annotation("image-resolver.example/resolved", "argocd=v3.5.0")
                .unwrap()
        })
        .collect();
    let out = splice(&src, &edits).unwrap();
    let again = scan(&out, &[]).unwrap();
    for &o in &objects {
        let object = &again.objects[o];
        assert_eq!(
            object.annotation("image-resolver.example/resolved"),
            Some("argocd=v3.5.0"),
            "{object}"
        );
        assert_eq!(
            object.annotations.len(),
            found.objects[o].annotations.len() + 1,
            "{object}"
        );
    }
    assert_eq!(
        images_by_serde(&out),
        images_by_serde(&src),
        "images untouched"
    );
}
