//! `<alias>.pin-digest`: any strategy renders `tag@<digest>`, the digest the tag named when resolved; a lock
//! file entry under such a policy must have one.

use super::*;

const DIGEST: &str = "sha256:0f3a5e8b7c2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";
const POD: &str = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: apps.test/api:1.0.0\n";

fn app(keys: &str, lock: Option<&str>) -> AppContext {
    AppContext {
        parameters: source::parse_parameters(&format!(
            r#"[{{"name": "image-list", "string": "api=apps.test/api"}}{keys}]"#
        ))
        .unwrap(),
        lock: lock.map(|text| Arc::new(crate::lock::LockFile::parse(text).unwrap())),
        ..AppContext::default()
    }
}

#[test]
fn pin_digest_renders_tag_at_digest_under_any_strategy() {
    let registry = |digest: Option<&str>| Outcome {
        tag: "1.2.0".to_owned(),
        digest: digest.map(str::to_owned),
        decision: Decision::Registry,
        fallback_reason: None,
    };
    for (name, keys, outcome, want_image, want_policy) in [
        (
            "semver with pin-digest",
            r#", {"name": "api.pin-digest", "string": "true"}"#,
            registry(Some(DIGEST)),
            format!("apps.test/api:1.2.0@{DIGEST}"),
            "strategy semver, pin-digest",
        ),
        (
            "a default for every image, newest-build",
            r#", {"name": "pin-digest", "string": "true"}, {"name": "api.update-strategy", "string": "newest-build"}"#,
            registry(Some(DIGEST)),
            format!("apps.test/api:1.2.0@{DIGEST}"),
            "strategy newest-build, pin-digest",
        ),
        (
            "without it the digest the registry gave is not written",
            "",
            registry(Some(DIGEST)),
            "apps.test/api:1.2.0".to_owned(),
            "strategy semver",
        ),
        (
            "set to false",
            r#", {"name": "api.pin-digest", "string": "false"}"#,
            registry(Some(DIGEST)),
            "apps.test/api:1.2.0".to_owned(),
            "strategy semver",
        ),
        (
            "a pin renders its tag alone, pin-digest or not",
            r#", {"name": "api.pin-digest", "string": "true"}, {"name": "api.pin", "string": "1.1.0"}"#,
            Outcome {
                tag: "1.1.0".to_owned(),
                digest: None,
                decision: Decision::Pin,
                fallback_reason: None,
            },
            "apps.test/api:1.1.0".to_owned(),
            "strategy semver, pin-digest",
        ),
    ] {
        let app = app(keys, None);
        let plan = plan(POD, &app).unwrap();
        let tracked = plan.images[0].tracked.as_ref().unwrap();
        assert_eq!(tracked.policy.to_string(), want_policy, "{name}");
        let resolutions = Resolutions {
            outcomes: vec![Some(outcome)],
            ..Resolutions::default()
        };
        let out = apply(POD, &plan, &resolutions).unwrap();
        let images: Vec<String> = manifest::scan(&out, &[])
            .unwrap()
            .images
            .into_iter()
            .map(|i| i.value)
            .collect();
        assert_eq!(images, [want_image], "{name}");
    }
}

#[test]
fn a_lock_entry_under_pin_digest_renders_its_digest_and_must_have_one() {
    let keys = r#", {"name": "api.pin-digest", "string": "true"}"#;
    let with_digest = format!(
        "version: 1\nimages:\n  api=apps.test/api:\n    tag: 1.2.0\n    digest: {DIGEST}\n    policy: \
         \"strategy semver, pin-digest\"\n"
    );
    let app_with = app(keys, Some(&with_digest));
    let locked = plan(POD, &app_with).unwrap();
    assert_eq!(locked.warnings, Vec::<String>::new());
    let outcome = Outcome::without_registry(&locked.images[0]).unwrap();
    let resolutions = Resolutions {
        outcomes: vec![Some(outcome)],
        ..Resolutions::default()
    };
    let out = apply(POD, &locked, &resolutions).unwrap();
    assert!(
        out.contains(&format!("image: apps.test/api:1.2.0@{DIGEST}")),
        "{out}"
    );

    let without =
        "version: 1\nimages:\n  api=apps.test/api: {tag: 1.2.0, policy: \"strategy semver\"}\n";
    assert_eq!(
        plan_fails(&app(keys, Some(without))),
        "image-resolver.lock.yaml entry 'api=apps.test/api' has no digest, which its policy (strategy semver, \
         pin-digest) renders with the tag: add the digest the tag named when it was resolved, or take the entry \
         out to resolve the image from its registry"
    );
    // The same entry under a policy without pin-digest renders its tag, with no complaint about the digest.
    assert!(plan(POD, &app("", Some(without))).is_ok());
}

fn plan_fails(app: &AppContext) -> String {
    plan(POD, app).unwrap_err().to_string()
}
