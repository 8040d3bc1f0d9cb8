//! How sources layer: precedence key by key, joined image lists, parameters and env spellings, origins.

use super::*;

#[test]
fn later_sources_override_key_by_key_and_record_origins() {
    let object = annotations(&[
        ("image-list", "web=org/web:^1, api=org/api"),
        ("web.update-strategy", "alphabetical"),
        ("web.allow-tags", "regexp:^v"),
        ("api.pin", "1.0"),
    ]);
    let parameters = Settings::from_parameters_json(
        r#"[{"name": "web.update-strategy", "string": "newest-build"},
            {"name": "argocd-image-updater.argoproj.io/api.pin", "string": "2.0"},
            {"name": "ignore-tags", "string": "latest"}]"#,
    )
    .unwrap();
    let environment = env(&[
        ("ARGOCD_ENV_API_PIN", "3.0"),
        ("ARGOCD_ENV_IGNORE_TAGS", "*-rc"),
    ])
    .unwrap();
    let annotation = || Origin::Annotation {
        object: "Deployment/web".into(),
    };
    let parameter = |name: &str| Origin::Parameter { name: name.into() };
    let env_var = |var: &str| Origin::Env { var: var.into() };
    let cases = [
        (
            "annotations alone",
            object.clone(),
            vec![
                "web=org/web [strategy alphabetical, allow-tags 'regexp:^v']",
                "api=org/api [strategy semver]",
            ],
            Some("1.0"),
            vec![
                (format!("{PREFIX}image-list"), annotation()),
                (format!("{PREFIX}web.update-strategy"), annotation()),
                (format!("{PREFIX}web.allow-tags"), annotation()),
            ],
        ),
        (
            "parameters over annotations",
            object.clone().overridden_by(&parameters),
            vec![
                "web=org/web [strategy newest-build, allow-tags 'regexp:^v', ignore-tags 'latest']",
                "api=org/api [strategy semver, ignore-tags 'latest']",
            ],
            Some("2.0"),
            vec![
                (format!("{PREFIX}image-list"), annotation()),
                (
                    format!("{PREFIX}web.update-strategy"),
                    parameter("web.update-strategy"),
                ),
                (format!("{PREFIX}web.allow-tags"), annotation()),
                (format!("{PREFIX}ignore-tags"), parameter("ignore-tags")),
            ],
        ),
        (
            "env over parameters over annotations",
            object
                .clone()
                .overridden_by(&parameters)
                .overridden_by(&environment),
            vec![
                "web=org/web [strategy newest-build, allow-tags 'regexp:^v', ignore-tags '*-rc']",
                "api=org/api [strategy semver, ignore-tags '*-rc']",
            ],
            Some("3.0"),
            vec![
                (format!("{PREFIX}image-list"), annotation()),
                (
                    format!("{PREFIX}web.update-strategy"),
                    parameter("web.update-strategy"),
                ),
                (format!("{PREFIX}web.allow-tags"), annotation()),
                (
                    format!("{PREFIX}ignore-tags"),
                    env_var("ARGOCD_ENV_IGNORE_TAGS"),
                ),
            ],
        ),
    ];
    for (name, settings, want, want_api_pin, want_web_origins) in cases {
        let got = tracked(&settings);
        assert_eq!(summary(&got), want, "{name}");
        assert_eq!(got.images[1].pin.as_deref(), want_api_pin, "{name}");
        assert_eq!(
            key_origins(&got.images[0].origins),
            want_web_origins,
            "{name}"
        );
    }
    let merged = object
        .overridden_by(&parameters)
        .overridden_by(&environment);
    let got = tracked(&merged);
    assert_eq!(
        key_origins(&got.images[1].origins),
        vec![
            (format!("{PREFIX}image-list"), annotation()),
            (
                format!("{PREFIX}ignore-tags"),
                env_var("ARGOCD_ENV_IGNORE_TAGS")
            ),
            (format!("{PREFIX}api.pin"), env_var("ARGOCD_ENV_API_PIN")),
        ],
        "upper-snake env origins carry the canonical key"
    );
    // Each origin carries the value it gave, the image-list entry that lists the image for `image-list`.
    let values: Vec<&str> = got.images[1]
        .origins
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(values, ["api=org/api", "*-rc", "3.0"]);
}

#[test]
fn an_alias_key_beats_a_default_of_a_later_source() {
    let object = annotations(&[
        ("image-list", "web=org/web"),
        ("web.update-strategy", "digest"),
    ]);
    let environment = env(&[("ARGOCD_ENV_UPDATE_STRATEGY", "newest-build")]).unwrap();
    let got = tracked(&object.overridden_by(&environment));
    assert_eq!(
        summary(&got),
        vec!["web=org/web [strategy digest, tracking 'latest']"]
    );
}

#[test]
fn image_lists_are_joined_by_entry() {
    let object = annotations(&[("image-list", "web=org/web:^1, api=org/api:^1, org/db:^1")]);
    for (name, json, want) in [
        (
            "a parameter adds an image",
            r#"[{"name": "image-list", "string": "cache=redis:^7"}]"#,
            vec![
                "cache=redis [strategy semver, constraint '^7']",
                "web=org/web [strategy semver, constraint '^1']",
                "api=org/api [strategy semver, constraint '^1']",
                "org/db [strategy semver, constraint '^1']",
            ],
        ),
        (
            "same alias replaces, later source first",
            r#"[{"name": "image-list", "string": "web=org/web:^2"}]"#,
            vec![
                "web=org/web [strategy semver, constraint '^2']",
                "api=org/api [strategy semver, constraint '^1']",
                "org/db [strategy semver, constraint '^1']",
            ],
        ),
        (
            "same repository without alias replaces",
            r#"[{"name": "image-list", "string": "docker.io/org/db:^3"}]"#,
            vec![
                "org/db [strategy semver, constraint '^3']",
                "web=org/web [strategy semver, constraint '^1']",
                "api=org/api [strategy semver, constraint '^1']",
            ],
        ),
        (
            "an empty parameter changes nothing",
            r#"[{"name": "image-list", "string": "  "}]"#,
            vec![
                "web=org/web [strategy semver, constraint '^1']",
                "api=org/api [strategy semver, constraint '^1']",
                "org/db [strategy semver, constraint '^1']",
            ],
        ),
    ] {
        let parameters = Settings::from_parameters_json(json).unwrap();
        let got = summary(&tracked(&object.clone().overridden_by(&parameters)));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn parameters_json_forms() {
    for (name, json, want) in [
        ("null", "null", vec![]),
        ("empty text", "", vec![]),
        ("empty list", "[]", vec![]),
        (
            "string, with and without prefix",
            r#"[{"name": "image-list", "string": "web=org/web"},
                {"name": "argocd-image-updater.argoproj.io/web.update-strategy", "string": "alphabetical"}]"#,
            vec!["web=org/web [strategy alphabetical]"],
        ),
        (
            "array image-list: one entry per item, commas inside constraints",
            r#"[{"name": "image-list", "array": ["web=org/web:>=1.0,<2.0", " ", "org/api"]}]"#,
            vec![
                "web=org/web [strategy semver, constraint '>=1.0,<2.0']",
                "org/api [strategy semver]",
            ],
        ),
        (
            "array ignore-tags and platforms",
            r#"[{"name": "image-list", "string": "web=org/web"},
                {"name": "web.ignore-tags", "array": ["latest", "*-debug"]},
                {"name": "platforms", "array": ["linux/amd64", "linux/arm64"]}]"#,
            vec![
                "web=org/web [strategy semver, ignore-tags 'latest, *-debug', platforms 'linux/amd64,linux/arm64']",
            ],
        ),
        (
            "policy map, keys with and without prefix",
            r#"[{"name": "policy", "map": {
                    "image-list": "web=org/web",
                    "argocd-image-updater.argoproj.io/web.update-strategy": "newest-build",
                    "web.allow-tags": "regexp:^v"}}]"#,
            vec!["web=org/web [strategy newest-build, allow-tags 'regexp:^v']"],
        ),
        (
            "other parameters are the renderer's",
            r#"[{"name": "values-files", "array": ["a.yaml"]},
                {"name": "helm-set", "map": {"image.tag": "1"}},
                {"name": "release", "string": "x"},
                {"name": "image-list", "string": "org/web"}]"#,
            vec!["org/web [strategy semver]"],
        ),
        (
            "a name without value",
            r#"[{"name": "image-list"}]"#,
            vec![],
        ),
    ] {
        let settings =
            Settings::from_parameters_json(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary(&tracked(&settings)), want, "{name}");
    }
}

#[test]
fn parameter_origins_name_the_parameter() {
    let settings = Settings::from_parameters_json(
        r#"[{"name": "policy", "map": {"image-list": "web=org/web", "web.pin": "1.0"}}]"#,
    )
    .unwrap();
    let got = tracked(&settings);
    assert_eq!(
        key_origins(&got.images[0].origins),
        vec![
            (
                format!("{PREFIX}image-list"),
                Origin::Parameter {
                    name: "policy[image-list]".into()
                }
            ),
            (
                format!("{PREFIX}web.pin"),
                Origin::Parameter {
                    name: "policy[web.pin]".into()
                }
            ),
        ]
    );
}

#[test]
fn env_spellings() {
    for (name, var, value, want) in [
        (
            "upper-snake image-list",
            "ARGOCD_ENV_IMAGE_LIST",
            "web=org/web",
            "web=org/web [strategy semver]",
        ),
        (
            "exact image-list",
            "ARGOCD_ENV_image-list",
            "web=org/web",
            "web=org/web [strategy semver]",
        ),
        (
            "prefixed image-list",
            "ARGOCD_ENV_argocd-image-updater.argoproj.io/image-list",
            "web=org/web",
            "web=org/web [strategy semver]",
        ),
        (
            "upper-snake default",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "alphabetical",
            "web=org/web [strategy alphabetical]",
        ),
        (
            "upper-snake alias option",
            "ARGOCD_ENV_WEB_UPDATE_STRATEGY",
            "alphabetical",
            "web=org/web [strategy alphabetical]",
        ),
        (
            "exact alias option",
            "ARGOCD_ENV_web.update-strategy",
            "alphabetical",
            "web=org/web [strategy alphabetical]",
        ),
        (
            "prefixed alias option",
            "ARGOCD_ENV_argocd-image-updater.argoproj.io/web.update-strategy",
            "alphabetical",
            "web=org/web [strategy alphabetical]",
        ),
        (
            "upper-snake option with dots",
            "ARGOCD_ENV_WEB_TAG_PATTERN",
            "^v",
            "web=org/web [strategy semver, tag pattern '^v']",
        ),
        (
            "the plugin's own options are no keys",
            "ARGOCD_ENV_IMAGE_RESOLVER_ALLOW_TAGS",
            "regexp:^x",
            "web=org/web [strategy semver]",
        ),
        (
            "not an env entry of the Application",
            "UPDATE_STRATEGY",
            "digest",
            "web=org/web [strategy semver]",
        ),
        (
            "neither spelling",
            "ARGOCD_ENV_Update_Strategy",
            "digest",
            "web=org/web [strategy semver]",
        ),
    ] {
        let list = env(&[("ARGOCD_ENV_IMAGE_LIST", "web=org/web")]).unwrap();
        let one = env(&[(var, value)]).unwrap();
        let settings = if var.contains("IMAGE_LIST") || var.contains("image-list") {
            one
        } else {
            list.overridden_by(&one)
        };
        assert_eq!(summary(&tracked(&settings)), vec![want], "{name}");
    }
}

#[test]
fn upper_snake_aliases_match_by_reading() {
    let object = annotations(&[(
        "image-list",
        "my-app=org/app, argoproj/argocd=quay.io/argoproj/argocd",
    )]);
    let environment = env(&[
        ("ARGOCD_ENV_MY_APP_ALLOW_TAGS", "regexp:^v"),
        ("ARGOCD_ENV_ARGOPROJ_ARGOCD_PIN", "v2.9.0"),
    ])
    .unwrap();
    let got = tracked(&object.overridden_by(&environment));
    assert_eq!(
        summary(&got)[0],
        "my-app=org/app [strategy semver, allow-tags 'regexp:^v']",
        "MY_APP reads as my-app"
    );
    assert_eq!(got.images[1].pin.as_deref(), Some("v2.9.0"));
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn effective_values_show_the_merge() {
    let object = annotations(&[
        ("image-list", "web=org/web"),
        ("web.pin", "1"),
        ("update-strategy", "digest"),
    ]);
    let parameters = Settings::from_parameters_json(
        r#"[{"name": "web.pin", "string": "2"}, {"name": "web.hold", "string": ""}]"#,
    )
    .unwrap();
    let annotation = Origin::Annotation {
        object: "Deployment/web".into(),
    };
    assert_eq!(
        object.overridden_by(&parameters).effective(),
        vec![
            (
                format!("{PREFIX}image-list"),
                "web=org/web".to_string(),
                annotation.clone()
            ),
            (
                format!("{PREFIX}update-strategy"),
                "digest".to_string(),
                annotation
            ),
            (
                format!("{PREFIX}web.pin"),
                "2".to_string(),
                Origin::Parameter {
                    name: "web.pin".into()
                }
            ),
        ]
    );
}

#[test]
fn duplicate_annotation_keys_keep_the_last() {
    let pairs = vec![
        (format!("{PREFIX}image-list"), "web=org/web".to_string()),
        (format!("{PREFIX}web.pin"), "1".to_string()),
        (format!("{PREFIX}web.pin"), "2".to_string()),
    ];
    let got = tracked(&Settings::from_annotations("Deployment/web", &pairs));
    assert_eq!(got.images[0].pin.as_deref(), Some("2"));
}

#[test]
fn unprefixed_annotations_are_not_ours() {
    let pairs = vec![("image-list".to_string(), "web=org/web".to_string())];
    assert!(Settings::from_annotations("Deployment/web", &pairs).is_empty());
}
