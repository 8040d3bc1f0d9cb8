//! Table tests of planning and applying: which policy governs which image, and what is written back.

use super::apply::repository_as_written;
use super::*;
use crate::policy::source;

mod pin_digest;
mod source_mode;

/// Regression (issue 9, item 7): `kustomize.image-name` made `docker.io/my.org/app` be written `my.org/app`,
/// which names registry `my.org`.
#[test]
fn written_image_names_the_tracked_repository() {
    let rendered = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: other/app:1.0\n";
    let parameters = r#"[{"name":"image-list","string":"a=docker.io/my.org/app"},
            {"name":"a.kustomize.image-name","string":"other/app"},{"name":"a.pin","string":"1.1.0"}]"#;
    let app = AppContext {
        parameters: source::parse_parameters(parameters).unwrap(),
        ..AppContext::default()
    };
    let plan = plan(rendered, &app).unwrap();
    let resolutions = Resolutions {
        outcomes: vec![Some(Outcome {
            tag: "1.1.0".to_owned(),
            digest: None,
            decision: Decision::Pin,
            fallback_reason: None,
        })],
        ..Resolutions::default()
    };
    let out = apply(rendered, &plan, &resolutions).unwrap();
    let again = manifest::scan(&out, &[]).unwrap();
    let written = ImageRef::parse(&again.images[0].value).unwrap();
    assert_eq!(written.canonical(), "docker.io/my.org/app:1.1.0", "{out}");
}

/// Bug (the tester's repro 1): with `kustomize.image-name`, the policy stopped governing the image once the
/// committer's kustomization entry (`name: placeholder`, `newName: apps.test/shop/web`) was in place, since
/// kustomize then renders the image-list's repository; the image-list matched no image and the app was stuck.
#[test]
fn a_kustomize_name_governs_both_rendered_names() {
    let parameters = r#"[{"name":"image-list","string":"web=apps.test/shop/web"},
            {"name":"web.kustomize.image-name","string":"placeholder"}]"#;
    let app = AppContext {
        parameters: source::parse_parameters(parameters).unwrap(),
        ..AppContext::default()
    };
    let outcome = Outcome {
        tag: "9f8e7d6".to_owned(),
        digest: None,
        decision: Decision::Registry,
        fallback_reason: None,
    };
    for (name, rendered_image) in [
        (
            "the kustomize name, before the entry",
            "placeholder:0a1b2c3",
        ),
        (
            "the image-list's repository, after it",
            "apps.test/shop/web:0a1b2c3",
        ),
    ] {
        let rendered = format!(
            "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: {rendered_image}\n"
        );
        let plan = plan(&rendered, &app).unwrap();
        let tracked = plan.images[0]
            .tracked
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: not governed; warnings {:?}", plan.warnings));
        assert_eq!(tracked.alias.as_deref(), Some("web"), "{name}");
        assert!(plan.warnings.is_empty(), "{name}: {:?}", plan.warnings);
        // Written as the image-list's repository, whichever name was rendered.
        assert_eq!(
            new_image_value(rendered_image, tracked, &outcome),
            "apps.test/shop/web:9f8e7d6",
            "{name}"
        );
    }
}

fn pinned(rendered: &str, pin: &str) -> Result<String, GenerateError> {
    let parameters = format!(
        r#"[{{"name":"image-list","string":"a=reg.example/a"}},{{"name":"a.pin","string":"{pin}"}}]"#
    );
    let app = AppContext {
        parameters: source::parse_parameters(&parameters).unwrap(),
        ..AppContext::default()
    };
    let plan = plan(rendered, &app)?;
    let outcome = Outcome {
        tag: pin.to_owned(),
        digest: None,
        decision: Decision::Pin,
        fallback_reason: None,
    };
    let resolutions = Resolutions {
        outcomes: vec![Some(outcome); plan.images.len()],
        ..Resolutions::default()
    };
    apply(rendered, &plan, &resolutions)
}

/// Regression (issue 9, item 5): `main` moved to 1.1.0, `sidecar` (`image: *img`) stayed 1.0.0, exit 0.
#[test]
fn images_behind_aliases_move_too() {
    let rendered = "kind: Pod\nmetadata:\n  name: p\n  labels:\n    base-image: &img reg.example/a:1.0.0\nspec:\n  containers:\n  - name: main\n    image: reg.example/a:1.0.0\n  - name: sidecar\n    image: *img\n";
    let out = pinned(rendered, "1.1.0").unwrap();
    let images: Vec<String> = manifest::scan(&out, &[])
        .unwrap()
        .images
        .into_iter()
        .map(|i| i.value)
        .collect();
    assert_eq!(
        images,
        ["reg.example/a:1.1.0", "reg.example/a:1.1.0"],
        "{out}"
    );
    assert!(
        out.contains("base-image: &img reg.example/a:1.0.0"),
        "{out}"
    );

    let shared = "kind: Pod\nspec:\n  containers:\n  - name: main\n    image: &img reg.example/a:1.0.0\n    env: [{name: BASE, value: *img}]\n";
    assert_eq!(
        pinned(shared, "1.1.0").unwrap_err().to_string(),
        "cannot write image 'reg.example/a:1.1.0' at line 5 of document 1: anchor '&img' (line 5) gives its text \
         to 2 places, 1 of them not images set to it; changing it would change those too, so write the image \
         out instead of sharing it through the anchor"
    );
}

/// Edits are made and applied in text order, object by object: images and annotations interleave rightly.
#[test]
fn applies_images_and_annotations_in_text_order() {
    let rendered = "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: m, image: reg.example/a:1}\n  - {name: s, image: reg.example/a:1}\n---\nkind: ConfigMap\n---\nkind: Pod\nmetadata:\n  name: b\nspec: {containers: [{name: o, image: other/x:1}]}\n---\nkind: Pod\nmetadata:\n  name: c\nspec: {containers: [{name: m, image: reg.example/a:1}]}\n";
    let note = |c: &str| {
        format!(
            r#"{{\"container\":\"{c}\",\"from\":\"reg.example/a:1\",\"image\":\"reg.example/a:2\",\"policy\":\"strategy semver\",\"decision\":\"pin\"}}"#
        )
    };
    let want = format!(
        "kind: Pod\nmetadata: {{\"annotations\": {{\"argocd-image-resolver/images\": \"[{},{}]\"}}, name: a}}\nspec:\n  containers:\n  - {{name: m, image: reg.example/a:2}}\n  - {{name: s, image: reg.example/a:2}}\n---\nkind: ConfigMap\n---\nkind: Pod\nmetadata:\n  name: b\nspec: {{containers: [{{name: o, image: other/x:1}}]}}\n---\nkind: Pod\nmetadata:\n  annotations:\n    argocd-image-resolver/images: \"[{}]\"\n  name: c\nspec: {{containers: [{{name: m, image: reg.example/a:2}}]}}\n",
        note("m"),
        note("s"),
        note("m")
    );
    assert_eq!(pinned(rendered, "2").unwrap(), want);
}

/// Regression (issue 9, item 10): the plan ran as long as the stream was large, whatever the budget.
#[test]
fn planning_stops_when_asked() {
    let pod = "---\nkind: Pod\nmetadata:\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: a=x\nspec:\n  containers:\n  - image: x:1\n";
    let src = pod.repeat(200);
    let cases = [
        (
            "while scanning",
            0,
            "cannot read the rendered manifests: gave up reading at line 343 (document 43): the time allowed ran out",
        ),
        (
            // 24 events a Pod: the scan asks 4 times.
            "between images",
            4,
            "gave up matching images to their policies after 63 of them: the time allowed ran out",
        ),
    ];
    for (name, questions, want) in cases {
        let mut asked = 0;
        let mut stop = || {
            asked += 1;
            asked > questions
        };
        let err = plan_until(&src, &AppContext::default(), &mut stop).unwrap_err();
        assert!(err.is_out_of_time(), "{name}");
        assert_eq!(err.to_string(), want, "{name}");
    }
}

#[test]
fn repository_spelling_is_kept() {
    for (name, written, want) in [
        ("familiar with tag", "nginx:1.25", "nginx"),
        ("no tag", "nginx", "nginx"),
        ("digest", "nginx@sha256:abc", "nginx"),
        ("tag and digest", "ghcr.io/a/b:1@sha256:abc", "ghcr.io/a/b"),
        ("port, no tag", "localhost:5000/app", "localhost:5000/app"),
        (
            "port and tag",
            "localhost:5000/app:v1",
            "localhost:5000/app",
        ),
        (
            "canonical",
            "docker.io/library/nginx:1",
            "docker.io/library/nginx",
        ),
    ] {
        assert_eq!(repository_as_written(written), want, "{name}");
    }
}

/// Issue 11, item 4: an image-list entry no image matches (a typo, an image only in `args`) is a warning naming
/// the entry and where it was written; entries that match anywhere are not, also when the app-wide list is shared
/// by objects that do not all run the image.
#[test]
fn entries_matching_no_image_are_warned_about() {
    let pod = |name: &str, image: &str, annotations: &str| {
        format!(
            "kind: Pod\nmetadata:\n  name: {name}\n{annotations}spec:\n  containers:\n  - name: c\n    image: {image}\n"
        )
    };
    let own = "  annotations:\n    argocd-image-updater.argoproj.io/image-list: web=org/web, typo=org/wbe\n";
    let rendered = [
        pod("a", "org/web:1", own),
        pod("b", "org/api:1", ""),
        pod("c", "org/other:1", ""),
    ]
    .join("---\n");
    let app = AppContext {
        parameters: source::parse_parameters(
            r#"[{"name": "image-list", "string": "api=org/api, gone=org/gone"}]"#,
        )
        .unwrap(),
        ..AppContext::default()
    };
    // An object's own entries are settled with its document, the app-wide ones at the end.
    let plan = plan(&rendered, &app).unwrap();
    let unmatched: Vec<&String> = plan
        .warnings
        .iter()
        .filter(|w| w.contains("matches no image"))
        .collect();
    assert_eq!(
        unmatched,
        [
            "annotation on Pod/a lists 'typo=org/wbe', which matches no image in the rendered manifests (only \
             `image:` fields are tracked, not args or env): check its spelling",
            "parameter image-list lists 'gone=org/gone', which matches no image in the rendered manifests (only \
             `image:` fields are tracked, not args or env): check its spelling",
        ],
        "{:?}",
        plan.warnings
    );
}

/// What a registry would answer in these tests: a tag naming the repository.
fn fake_outcome(planned: &PlannedImage) -> Option<Outcome> {
    Outcome::without_registry(planned).or_else(|| {
        planned.tracked.as_ref()?;
        Some(Outcome {
            tag: format!("{}-new", planned.image.repository().replace('/', "-")),
            digest: None,
            decision: Decision::Registry,
            fallback_reason: None,
        })
    })
}

/// `generate` plans a stream twice, a document at a time (`plan_each`, then `apply_each`), rather than holding it
/// planned whole: it must see the same images, warn alike, write the same bytes and fail alike.
#[test]
fn planning_a_document_at_a_time_decides_as_planning_whole() {
    let pod = |name: &str, annotations: &str, images: &[&str]| {
        let mut text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n{annotations}spec:\n  containers:\n"
        );
        for (n, image) in images.iter().enumerate() {
            text.push_str(&format!("  - name: c{n}\n    image: {image}\n"));
        }
        text
    };
    let own_pin = "  annotations:\n    argocd-image-updater.argoproj.io/image-list: w=org/web, typo=org/wbe\n    \
                   argocd-image-updater.argoproj.io/w.pin: 9.9.9\n";
    let held = "  annotations:\n    argocd-image-updater.argoproj.io/image-list: a=org/api\n    \
                argocd-image-updater.argoproj.io/a.hold: \"true\"\n";
    // Two containers share one text: both move.
    let shared_image = "kind: Pod\nmetadata:\n  name: shared\nspec:\n  containers:\n  - name: a\n    \
                        image: &i org/web:1\n  - name: b\n    image: *i\n";
    // The image's text is a label's too: writing it would change the label.
    let shared_label = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: &i org/web:1\nmetadata:\n  \
                        name: labelled\n  labels:\n    image: *i\n";
    let list = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: one}\n  spec:\n    \
                containers:\n    - {name: c, image: \"org/api:1\"}\n- kind: Pod\n  metadata: {name: two}\n  \
                spec: {containers: [{name: c, image: org/web:2}]}\n";
    let streams = [
        (
            "documents of every kind",
            [
                "# leading comment\n".to_owned(),
                pod("a", "", &["org/web:1", "org/other:1", "org/api:1"]),
                "--- # empty\n---\n".to_owned(),
                pod("b", own_pin, &["org/web:1"]),
                "---\n".to_owned(),
                pod(
                    "c",
                    held,
                    &[&format!("org/api:1@sha256:{}", "a".repeat(64))],
                ),
                "...\n---\n".to_owned(),
                list.to_owned(),
                "---\nkind: ConfigMap\ndata: {image: org/web:1}\n---\n".to_owned(),
                shared_image.to_owned(),
            ]
            .concat(),
        ),
        (
            "an anchor that a label shares, in a later document",
            [
                pod("a", "", &["org/web:1"]),
                "---\n".to_owned(),
                shared_label.to_owned(),
            ]
            .concat(),
        ),
        ("one document", pod("only", "", &["org/web:1", "org/web:1"])),
        ("no object", "# nothing\n---\n...\n".to_owned()),
    ];
    let app = AppContext {
        parameters: source::parse_parameters(
            r#"[{"name":"image-list","string":"w=org/web, a=org/api, gone=org/gone"}]"#,
        )
        .unwrap(),
        ..AppContext::default()
    };
    let mut outputs = Vec::new();
    for (name, stream) in &streams {
        let whole = plan(stream, &app).unwrap();
        let outcomes: Vec<Option<Outcome>> = whole.images.iter().map(fake_outcome).collect();
        let resolutions = Resolutions {
            outcomes,
            ..Resolutions::default()
        };
        let whole_out = apply(stream, &whole, &resolutions).map_err(|e| e.to_string());
        let whole_seen: Vec<String> = whole.images.iter().map(|p| p.image.to_string()).collect();

        let mut seen = Vec::new();
        let warnings = plan_each(stream, &app, &mut || false, &mut |p| {
            seen.push(p.image.to_string());
        })
        .unwrap();
        let mut out = String::new();
        let streamed_out = apply_each(stream, &app, &mut || false, &mut fake_outcome, &mut |p| {
            out.push_str(p);
        })
        .map(|()| out)
        .map_err(|e| e.to_string());
        assert_eq!(seen, whole_seen, "{name}: images");
        assert_eq!(warnings, whole.warnings, "{name}: warnings");
        assert_eq!(streamed_out, whole_out, "{name}: output");
        outputs.push((warnings, streamed_out));
    }
    // The cases do what they say: changes made and warnings given, the shared label refused.
    let (warnings, out) = &outputs[0];
    let out = out.as_ref().unwrap();
    for want in ["'typo=org/wbe'", "'gone=org/gone'"] {
        assert!(
            warnings.iter().any(|w| w.contains(want)),
            "{want}: {warnings:?}"
        );
    }
    for want in [
        "image: org/web:org-web-new\n    image: org/other:1\n    image: org/api:org-api-new",
        "image: org/web:9.9.9",
        &format!("image: org/api:1@sha256:{}", "a".repeat(64)),
        "image: &i org/web:org-web-new",
    ] {
        assert!(
            out.replace("  - name: c1\n", "")
                .replace("  - name: c2\n", "")
                .contains(want),
            "{want} in:\n{out}"
        );
    }
    assert!(
        outputs[1]
            .1
            .as_ref()
            .is_err_and(|e| e.contains("anchor '&i'")),
        "{:?}",
        outputs[1].1
    );
    assert_eq!(
        outputs[3].1.as_deref(),
        Ok(streams[3].1.as_str()),
        "nothing to change"
    );
}

#[test]
fn a_missing_pin_names_its_key_the_image_and_what_to_pin_instead() {
    let at = Box::new(source::Located {
        origin: source::Origin::Parameter {
            name: "web.pin".into(),
        },
        key: format!("{}web.pin", source::PREFIX),
        value: "1.2.9".into(),
        entry: false,
    });
    let error = |nearest: &[&str], unlisted: Option<&str>| GenerateError::PinNotFound {
        at: at.clone(),
        image: "reg.example/team/web".into(),
        tag: "1.2.9".into(),
        nearest: nearest.iter().map(ToString::to_string).collect(),
        unlisted: unlisted.map(String::from),
    };
    let start = "parameter web.pin = '1.2.9' pins image reg.example/team/web to a tag its registry does not have";
    for (name, error, want) in [
        (
            "nearest tags",
            error(&["1.2.8", "1.2.10"], None),
            "nearest existing tags: 1.2.8, 1.2.10; pin one of those, or remove the pin to follow the policy again",
        ),
        (
            "no tags",
            error(&[], None),
            "the repository has no tags; check the image name, or remove the pin to follow the policy again",
        ),
        (
            "tags not listed",
            error(&[], Some("HTTP 503")),
            "its tags could not be listed (HTTP 503); pin an existing tag, or remove the pin to follow the policy \
             again",
        ),
    ] {
        assert_eq!(error.to_string(), format!("{start}; {want}"), "{name}");
    }
}

/// Lock mode (issue 12): an image whose lock entry exists renders as the entry says, asking nothing; a pin of the
/// Application wins over the entry, a hold keeps it (a hold left the image as the manifest writes it, rolling it
/// back); an image without an entry is resolved (with a warning naming the
/// entry to add), an entry nothing uses and one resolved under another policy are warned about.
#[test]
fn lock_entries_decide_their_images() {
    let deployment = |name: &str, image: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      \
             containers:\n      - name: c\n        image: {image}\n"
        )
    };
    let rendered = [
        deployment("web", "apps.test/team/web:0.1"),
        deployment("worker", "apps.test/team/worker:0.1"),
        deployment("api", "apps.test/team/api:latest"),
    ]
    .concat();
    let digest = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";
    let lock_text = format!(
        "version: 1\nimages:\n  web=apps.test/team/web:\n    tag: 1.0.0\n    digest: {digest}\n    policy: \
         \"strategy semver, constraint '~1.0'\"\n  api=apps.test/team/api:\n    tag: latest\n    digest: {digest}\n    \
         policy: \"strategy digest, tracking 'latest'\"\n  gone=apps.test/team/gone:\n    tag: 1.0.0\n"
    );
    let list = r#"[{"name": "image-list", "string": "web=apps.test/team/web:~1.0, worker=apps.test/team/worker, api=apps.test/team/api"},
        {"name": "api.update-strategy", "string": "digest"}"#;
    let no_entry = "image-resolver.lock.yaml has no entry 'worker=apps.test/team/worker': image apps.test/team/worker \
                    is resolved from its registry at each render until the committer adds it";
    let unused = "image-resolver.lock.yaml entry 'gone=apps.test/team/gone' is for no image tracked in the rendered \
                  manifests: remove it, or check the image-list that should track it";
    for (name, extra, want_images, want_decisions, want_warnings) in [
        (
            "the lock decides; no entry, live; an unused entry warned about",
            "",
            [
                "apps.test/team/web:1.0.0",
                "apps.test/team/worker:team-worker-new",
                &format!("apps.test/team/api:latest@{digest}"),
            ],
            ["lock", "registry", "lock"],
            vec![no_entry.to_string(), unused.to_string()],
        ),
        (
            "a pin of the Application wins over the lock; a hold keeps what runs, the entry's tag",
            r#", {"name": "web.pin", "string": "1.0.5"}, {"name": "api.hold", "string": "true"}"#,
            [
                "apps.test/team/web:1.0.5",
                "apps.test/team/worker:team-worker-new",
                &format!("apps.test/team/api:latest@{digest}"),
            ],
            ["pin", "registry", "lock"],
            vec![no_entry.to_string(), unused.to_string()],
        ),
        (
            "a changed policy: the entry still renders, with a warning",
            r#", {"name": "web.ignore-tags", "string": "1.0.1"}"#,
            [
                "apps.test/team/web:1.0.0",
                "apps.test/team/worker:team-worker-new",
                &format!("apps.test/team/api:latest@{digest}"),
            ],
            ["lock", "registry", "lock"],
            vec![
                "image-resolver.lock.yaml entry 'web=apps.test/team/web' was resolved under another policy \
                 (strategy semver, constraint '~1.0') than the image's now (strategy semver, constraint '~1.0', \
                 ignore-tags '1.0.1'): its tag 1.0.0 renders until the committer resolves it again"
                    .to_string(),
                no_entry.to_string(),
                unused.to_string(),
            ],
        ),
    ] {
        let app = AppContext {
            parameters: source::parse_parameters(&format!("{list}{extra}]")).unwrap(),
            lock: Some(Arc::new(crate::lock::LockFile::parse(&lock_text).unwrap())),
            ..AppContext::default()
        };
        let plan = plan(&rendered, &app).unwrap();
        assert_eq!(plan.warnings, want_warnings, "{name}");
        let resolutions = Resolutions {
            outcomes: plan.images.iter().map(fake_outcome).collect(),
            ..Resolutions::default()
        };
        let decisions: Vec<String> = resolutions
            .outcomes
            .iter()
            .map(|o| serde_json::to_value(&o.as_ref().unwrap().decision).unwrap().as_str().unwrap().to_owned())
            .collect();
        assert_eq!(decisions, want_decisions, "{name}");
        let out = apply(&rendered, &plan, &resolutions).unwrap();
        let images: Vec<String> = manifest::scan(&out, &[]).unwrap().images.into_iter().map(|i| i.value).collect();
        assert_eq!(images, want_images, "{name}");
        // Planned a document at a time, as generate does: the same warnings.
        let each = plan_each(&rendered, &app, &mut || false, &mut |_| {}).unwrap();
        assert_eq!(each, want_warnings, "{name}: plan_each");
    }
}

/// Lock mode with the policy out of the plugin's sight (argocd-image-updater's annotations on the Application, read
/// by the committer only): each image whose repository has an entry renders as the entry says — with the digest
/// where the entry's policy renders one, the pin when it has one — and entries of one repository that disagree
/// leave its image as rendered, with a warning.
#[test]
fn lock_entries_decide_images_no_policy_tracks() {
    let pod = |name: &str, image: &str| {
        format!(
            "---\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: {image}\n"
        )
    };
    let rendered = [
        pod("web", "apps.test/team/web:0.1"),
        pod("api", "apps.test/team/api:latest"),
        pod("cron", "apps.test/team/cron"),
        pod("db", "apps.test/team/db:1"),
        pod("proxy", "docker.io/library/nginx:1.27"),
        pod("both", "apps.test/team/both:1"),
    ]
    .concat();
    let digest = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";
    let lock_text = format!(
        "version: 1\nimages:\n  web=apps.test/team/web:\n    tag: 0a1b2c3\n    digest: {digest}\n    policy: \
         \"strategy newest-build, allow-tags 'regexp:^[0-9a-f]{{7}}$'\"\n  api=apps.test/team/api:\n    tag: latest\n    \
         digest: {digest}\n    policy: \"strategy digest, tracking 'latest'\"\n  apps.test/team/cron:\n    tag: 2.0.0\n    \
         digest: {digest}\n    policy: \"strategy semver, pin-digest\"\n    pin: 1.9.0\n  apps.test/team/db:\n    \
         tag: 2.1.0\n    hold: true\n  a=apps.test/team/both: {{tag: 1.0.0}}\n  b=apps.test/team/both: {{tag: 2.0.0}}\n"
    );
    let app = AppContext {
        lock: Some(Arc::new(crate::lock::LockFile::parse(&lock_text).unwrap())),
        ..AppContext::default()
    };
    let plan = plan(&rendered, &app).unwrap();
    let ambiguous = "image-resolver.lock.yaml entries 'a=apps.test/team/both' and 'b=apps.test/team/both' both name \
                     apps.test/team/both but render it differently, and no image-list the plugin reads tracks the \
                     image in Pod 'both' (document 6): it is left as rendered; track it with image-list in the \
                     plugin's parameters";
    assert_eq!(plan.warnings, [ambiguous]);
    let resolutions = Resolutions {
        outcomes: plan.images.iter().map(fake_outcome).collect(),
        ..Resolutions::default()
    };
    let out = apply(&rendered, &plan, &resolutions).unwrap();
    let scan = manifest::scan(&out, &[]).unwrap();
    let images: Vec<&str> = scan.images.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        images,
        [
            "apps.test/team/web:0a1b2c3",
            &format!("apps.test/team/api:latest@{digest}"),
            // A pin to another tag has no digest recorded: the tag alone.
            "apps.test/team/cron:1.9.0",
            // `hold` stops the committer, not the render.
            "apps.test/team/db:2.1.0",
            "docker.io/library/nginx:1.27",
            "apps.test/team/both:1",
        ]
    );
    let annotation = |name: &str| {
        let object = scan
            .objects
            .iter()
            .find(|o| o.name.as_deref() == Some(name))
            .unwrap();
        object
            .annotations
            .iter()
            .find(|(k, _)| k == RESOLVED_ANNOTATION)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        annotation("web").unwrap(),
        r#"[{"container":"c","from":"apps.test/team/web:0.1","image":"apps.test/team/web:0a1b2c3","policy":"strategy newest-build, allow-tags 'regexp:^[0-9a-f]{7}$'","decision":"lock"}]"#
    );
    assert_eq!(annotation("proxy"), None);
    assert_eq!(annotation("both"), None);
    // A generate's stream, a document at a time: the same warnings and bytes.
    let each = plan_each(&rendered, &app, &mut || false, &mut |_| {}).unwrap();
    assert_eq!(each, [ambiguous]);
    let mut streamed = String::new();
    apply_each(
        &rendered,
        &app,
        &mut || false,
        &mut fake_outcome,
        &mut |piece| streamed.push_str(piece),
    )
    .unwrap();
    assert_eq!(streamed, out);
}

#[test]
fn a_lock_entry_without_the_digest_its_policy_renders_fails_the_plan() {
    let rendered = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: apps.test/api:latest\n";
    let app = AppContext {
        parameters: source::parse_parameters(
            r#"[{"name": "image-list", "string": "api=apps.test/api"}, {"name": "api.update-strategy", "string": "digest"}]"#,
        )
        .unwrap(),
        lock: Some(Arc::new(
            crate::lock::LockFile::parse("version: 1\nimages:\n  api=apps.test/api: {tag: latest}\n").unwrap(),
        )),
        ..AppContext::default()
    };
    assert_eq!(
        plan(rendered, &app).unwrap_err().to_string(),
        "image-resolver.lock.yaml entry 'api=apps.test/api' has no digest, which its policy (strategy digest, \
         tracking 'latest') renders with the tag: add the digest the tag named when it was resolved, or take the \
         entry out to resolve the image from its registry"
    );
}

#[test]
fn the_plan_carries_the_write_back_settings_and_refuses_bad_ones() {
    let rendered = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: reg.example/a:1.0\n";
    let app = |parameters: &str, scope: Option<SecretScope>| AppContext {
        parameters: source::parse_parameters(parameters).unwrap(),
        secret_scope: scope,
        ..AppContext::default()
    };
    let git = app(
        r#"[{"name":"image-list","string":"a=reg.example/a"},{"name":"write-back-method","string":"git"},
            {"name":"write-back-target","string":"helmvalues:/values.yaml"}]"#,
        None,
    );
    let planned = plan(rendered, &git).unwrap();
    assert_eq!(
        planned.write_back.method.to_string(),
        "git: the image values of the Helm values file /values.yaml; the Application's target revision; repository \
         of the Application's source; credentials: Argo CD's repository credentials"
    );
    let no_method = app(r#"[{"name":"git-branch","string":"main"}]"#, None);
    assert_eq!(
        plan(rendered, &no_method).unwrap().warnings,
        [
            "parameter git-branch = 'main': has no effect: no write-back-method is set, so tags are resolved at render \
          time and nothing is written back; set write-back-method: git to record them in git"
        ]
    );
    for (name, parameters, scope, want) in [
        (
            "unknown method",
            r#"[{"name":"write-back-method","string":"git-hub"}]"#,
            None,
            "parameter write-back-method = 'git-hub': unknown write-back method; use 'argocd' (tags resolved at render \
             time, nothing written back) or 'git', 'git:repocreds', 'git:secret:[<namespace>/]<name>'",
        ),
        (
            "credentials of another namespace",
            r#"[{"name":"write-back-method","string":"git:secret:team-b/git"}]"#,
            Some(SecretScope::new(Some("team-a".into()), vec![])),
            "parameter write-back-method = 'git:secret:team-b/git': the git credentials are in namespace team-b, but \
             an application deploying to namespace team-a may only use secrets of team-a and of the namespaces the \
             operator shares (--pull-secret-namespaces); use a secret of team-a, or ask the operator to share team-b",
        ),
    ] {
        let error = plan(rendered, &app(parameters, scope)).unwrap_err();
        assert_eq!(error.to_string(), want, "{name}");
        // The first pass of generate refuses it too, before any registry is asked.
        let first_pass = plan_each(rendered, &app(parameters, None), &mut || false, &mut |_| {});
        assert_eq!(first_pass.is_err(), name == "unknown method", "{name}");
    }
}
