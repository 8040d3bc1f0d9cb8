//! Source write-back mode: with `write-back-method: git` and a `write-back-target` of `kustomization[:path]` or
//! `helmvalues[:path]`, the committer edits the tag in the source, so tracked images render as the source writes
//! them, without a registry; pins and holds win as over the registry, and a lock file keeps lock mode.

use super::*;

fn deployment(name: &str, image: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: c\n        image: {image}\n"
    )
}

const DIGEST: &str = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";

#[test]
fn source_targets_render_images_as_written() {
    let rendered = [
        deployment("web", "apps.test/team/web:0.1"),
        deployment("worker", &format!("apps.test/team/worker:2.0@{DIGEST}")),
        deployment("api", "apps.test/team/api:latest"),
        deployment("other", "apps.test/team/other:9"),
    ]
    .concat();
    let list = r#"{"name": "image-list", "string": "web=apps.test/team/web:~1.0, worker=apps.test/team/worker, api=apps.test/team/api"}"#;
    let as_written = [
        "apps.test/team/web:0.1",
        &format!("apps.test/team/worker:2.0@{DIGEST}"),
        "apps.test/team/api:latest",
        "apps.test/team/other:9",
    ];
    let resolved = [
        "apps.test/team/web:team-web-new",
        "apps.test/team/worker:team-worker-new",
        "apps.test/team/api:team-api-new",
        "apps.test/team/other:9",
    ];
    let with_pin_and_hold = [
        "apps.test/team/web:1.0.5",
        &format!("apps.test/team/worker:2.0@{DIGEST}"),
        "apps.test/team/api:latest",
        "apps.test/team/other:9",
    ];
    for (name, settings, want_images, want_decisions, want_display) in [
        (
            "kustomization: every tracked image as written, decided by the source",
            r#"{"name": "write-back-method", "string": "git"}, {"name": "write-back-target", "string": "kustomization"}"#,
            as_written,
            ["source", "source", "source"],
            "as written in the source (write-back-method: git, write-back-target: kustomization)",
        ),
        (
            "helmvalues with a path and secret credentials",
            r#"{"name": "write-back-method", "string": "git:secret:argocd/git"}, {"name": "write-back-target", "string": "helmvalues:/env/prod.yaml"}"#,
            as_written,
            ["source", "source", "source"],
            "as written in the source (write-back-method: git, write-back-target: helmvalues:/env/prod.yaml)",
        ),
        (
            "kustomization at a path, a pin and a hold win",
            r#"{"name": "write-back-method", "string": "git"}, {"name": "write-back-target", "string": "kustomization:../base"},
               {"name": "web.pin", "string": "1.0.5"}, {"name": "api.hold", "string": "true"}"#,
            with_pin_and_hold,
            ["pin", "source", "hold"],
            "as written in the source (write-back-method: git, write-back-target: kustomization:../base)",
        ),
        (
            "git without a target is the lock file target: resolved as today",
            r#"{"name": "write-back-method", "string": "git"}"#,
            resolved,
            ["registry", "registry", "registry"],
            "resolved from the registry",
        ),
        (
            "render time (argocd): resolved",
            r#"{"name": "write-back-method", "string": "argocd"}"#,
            resolved,
            ["registry", "registry", "registry"],
            "resolved from the registry",
        ),
    ] {
        let parameters = format!("[{list}, {settings}]");
        let app = AppContext {
            parameters: source::parse_parameters(&parameters).unwrap(),
            ..AppContext::default()
        };
        let plan = plan(&rendered, &app).unwrap();
        assert_eq!(plan.warnings, Vec::<String>::new(), "{name}");
        // What the pipeline's request grouping sees: an image the source decides is no request.
        let asked: Vec<bool> = plan
            .images
            .iter()
            .filter(|p| p.tracked.is_some())
            .map(|p| Outcome::without_registry(p).is_none())
            .collect();
        let want_asked: Vec<bool> = want_decisions.iter().map(|d| *d == "registry").collect();
        assert_eq!(asked, want_asked, "{name}: asked");
        let resolutions = Resolutions {
            outcomes: plan.images.iter().map(fake_outcome).collect(),
            ..Resolutions::default()
        };
        let decisions: Vec<&str> = resolutions
            .outcomes
            .iter()
            .flatten()
            .map(|o| o.decision.name())
            .collect();
        assert_eq!(decisions, want_decisions, "{name}");
        let shown = resolutions.outcomes[1]
            .as_ref()
            .unwrap()
            .decision
            .to_string();
        assert_eq!(shown, want_display, "{name}: display");
        let out = apply(&rendered, &plan, &resolutions).unwrap();
        let images: Vec<String> = manifest::scan(&out, &[])
            .unwrap()
            .images
            .into_iter()
            .map(|i| i.value)
            .collect();
        assert_eq!(images, want_images, "{name}");
        // Annotated as usual, with the decision's name.
        let wanted = format!(r#"\"decision\":\"{}\""#, want_decisions[0]);
        assert!(out.contains(&wanted), "{name}: {out}");
        // Planned a document at a time and applied, as generate does: the same bytes.
        let mut streamed = String::new();
        apply_each(
            &rendered,
            &app,
            &mut || false,
            &mut fake_outcome,
            &mut |piece| {
                streamed.push_str(piece);
            },
        )
        .unwrap();
        assert_eq!(streamed, out, "{name}: apply_each");
    }
}

#[test]
fn a_lock_file_keeps_lock_mode_with_a_warning() {
    let rendered = [
        deployment("web", "apps.test/team/web:0.1"),
        deployment("worker", "apps.test/team/worker:0.1"),
    ]
    .concat();
    let lock_text = format!(
        "version: 1\nimages:\n  web=apps.test/team/web:\n    tag: 1.0.0\n    digest: {DIGEST}\n    policy: \
         \"strategy semver, constraint '~1.0'\"\n"
    );
    let parameters = r#"[{"name": "image-list", "string": "web=apps.test/team/web:~1.0, worker=apps.test/team/worker"},
        {"name": "write-back-method", "string": "git"}, {"name": "write-back-target", "string": "kustomization"}]"#;
    let app = AppContext {
        parameters: source::parse_parameters(parameters).unwrap(),
        lock: Some(Arc::new(crate::lock::LockFile::parse(&lock_text).unwrap())),
        ..AppContext::default()
    };
    let plan = plan(&rendered, &app).unwrap();
    assert_eq!(
        plan.warnings,
        [
            "the application has a image-resolver.lock.yaml and write-back-target is 'kustomization': the lock \
             file decides the images it has an entry for (and the others are resolved from their registries), \
             while the committer writes tags to the source; delete image-resolver.lock.yaml to render the source \
             as written",
            "image-resolver.lock.yaml has no entry 'worker=apps.test/team/worker': image apps.test/team/worker is \
             resolved from its registry at each render until the committer adds it",
        ]
    );
    let decisions: Vec<&str> = plan
        .images
        .iter()
        .map(|p| fake_outcome(p).unwrap().decision.name())
        .collect();
    assert_eq!(decisions, ["lock", "registry"]);
}
