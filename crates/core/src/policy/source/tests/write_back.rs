//! Write-back keys in the sources: per image on the tracked image, app-wide from parameters and plugin env only.

use super::*;
use crate::writeback::{ImageWriteBack, ValuePath};

#[test]
fn image_keys_reach_the_tracked_image() {
    let got = tracked(&annotations(&[
        ("image-list", "web=ghcr.io/org/web:^1, nginx"),
        ("web.helm.image-name", "web.image.repository"),
        ("web.helm.image-tag", "web.image.tag"),
        ("web.kustomize.image-name", "web"),
    ]));
    let path = |p: &str| Some(ValuePath::parse(p).unwrap());
    assert_eq!(
        got.images[0].write_back,
        ImageWriteBack {
            written: "ghcr.io/org/web".into(),
            kustomize_name: Some("web".into()),
            helm_name: path("web.image.repository"),
            helm_tag: path("web.image.tag"),
            helm_spec: None,
        }
    );
    assert_eq!(got.images[1].write_back.written, "nginx");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_bad_values_path_names_its_key() {
    let error = annotations(&[
        ("image-list", "web=org/web"),
        ("web.helm.image-tag", "image..tag"),
    ])
    .tracked_images()
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "annotation {PREFIX}web.helm.image-tag = 'image..tag' (on Deployment/web): 'image..tag' is not a values \
             path: write keys separated by '.', such as image.tag, each optionally followed by [n] for an item of a \
             list (containers[0].image)"
        )
    );
}

#[test]
fn app_wide_keys_come_from_parameters_and_env() {
    let parameters = Settings::from_parameters_json(
        r#"[{"name": "write-back-method", "string": "git"},
            {"name": "argocd-image-updater.argoproj.io/git-branch", "string": "main"},
            {"name": "policy", "map": {"write-back-target": "kustomization"}}]"#,
    )
    .unwrap();
    let environment = env(&[
        ("ARGOCD_ENV_GIT_BRANCH", "release"),
        ("ARGOCD_ENV_git-repository", "https://h/r"),
    ])
    .unwrap();
    let object = annotations(&[("write-back-method", "argocd"), ("git-branch", "ignored")]);
    let spec = object
        .overridden_by(&parameters)
        .overridden_by(&environment)
        .write_back_spec();
    let shown = |l: Option<crate::policy::source::Located>| l.map(|l| l.to_string());
    assert_eq!(
        shown(spec.method).as_deref(),
        Some("parameter write-back-method = 'git'")
    );
    assert_eq!(
        shown(spec.target).as_deref(),
        Some("parameter policy[write-back-target] = 'kustomization'")
    );
    assert_eq!(
        shown(spec.branch).as_deref(),
        Some("env ARGOCD_ENV_GIT_BRANCH = 'release'")
    );
    assert_eq!(
        shown(spec.repository).as_deref(),
        Some("env ARGOCD_ENV_git-repository = 'https://h/r'")
    );
    // On an object alone, nothing: the application's settings cannot differ per object.
    assert_eq!(
        annotations(&[("write-back-method", "git")]).write_back_spec(),
        Default::default()
    );
}

#[test]
fn a_key_twice_in_one_source_is_refused() {
    let error = Settings::from_parameters_json(
        r#"[{"name": "write-back-method", "string": "git"},
            {"name": "argocd-image-updater.argoproj.io/write-back-method", "string": "argocd"}]"#,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "parameter write-back-method = 'git' and parameter {PREFIX}write-back-method = 'argocd' both set \
             {PREFIX}write-back-method; remove one"
        )
    );
}
