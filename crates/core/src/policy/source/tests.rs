//! Table tests of the policy sources: image-list forms, precedence, parameters, env spellings, pin and hold,
//! matching, every error message and every warning.

use super::*;

const APP_CREDENTIALS: &str = "an application may only name a mounted pull secret (pullsecret:<namespace>/<name>), \
     which is sent only to the registries it has auths for; env:, secret: and ext: credentials are the operator's, set \
     in registries.conf";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Annotations of `Deployment/web`; keys are given without the prefix.
fn annotations(pairs: &[(&str, &str)]) -> Settings {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
        .collect();
    Settings::from_annotations("Deployment/web", &pairs)
}

fn env(pairs: &[(&str, &str)]) -> Result<Settings, SourceError> {
    Settings::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// `alias=image [policy]` per tracked image, the way a reader checks it.
fn summary(tracked: &Tracked) -> Vec<String> {
    tracked
        .images
        .iter()
        .map(|t| {
            let alias = t
                .alias
                .as_deref()
                .map_or(String::new(), |a| format!("{a}="));
            format!("{alias}{} [{}]", t.image.familiar_name(), t.policy)
        })
        .collect()
}

fn tracked(settings: &Settings) -> Tracked {
    settings.tracked_images().expect("valid settings")
}

#[test]
fn image_list_forms() {
    for (name, list, want) in [
        ("plain image", "nginx", vec!["nginx [strategy semver]"]),
        (
            "alias and constraint",
            "web=ghcr.io/org/web:^1.2",
            vec!["web=ghcr.io/org/web [strategy semver, constraint '^1.2']"],
        ),
        (
            "spaces around entries, alias and image",
            " web = nginx:~1.26 ,  api=org/api ",
            vec![
                "web=nginx [strategy semver, constraint '~1.26']",
                "api=org/api [strategy semver]",
            ],
        ),
        (
            "constraint with spaces",
            "app:>=1.0 <2",
            vec!["app [strategy semver, constraint '>=1.0 <2']"],
        ),
        (
            "'=' of a constraint is no alias",
            "nginx:>=1.2",
            vec!["nginx [strategy semver, constraint '>=1.2']"],
        ),
        (
            "alias before a '>=' constraint",
            "web=nginx:>=1.2",
            vec!["web=nginx [strategy semver, constraint '>=1.2']"],
        ),
        (
            "alternatives",
            "app:^1 || ^2",
            vec!["app [strategy semver, constraint '^1 || ^2']"],
        ),
        (
            "registry with port and constraint",
            "localhost:5000/app:^1",
            vec!["localhost:5000/app [strategy semver, constraint '^1']"],
        ),
        (
            "registry with port, alias, no constraint",
            "reg=localhost:5000/team/app",
            vec!["reg=localhost:5000/team/app [strategy semver]"],
        ),
        (
            "alias with a slash",
            "argoproj/argocd=quay.io/argoproj/argocd",
            vec!["argoproj/argocd=quay.io/argoproj/argocd [strategy semver]"],
        ),
        (
            "empty entries skipped",
            "a=one,, b=two ,",
            vec!["a=one [strategy semver]", "b=two [strategy semver]"],
        ),
        (
            "same image under two aliases",
            "a=org/app:^1, b=org/app:^2",
            vec![
                "a=org/app [strategy semver, constraint '^1']",
                "b=org/app [strategy semver, constraint '^2']",
            ],
        ),
    ] {
        let got = summary(&tracked(&annotations(&[("image-list", list)])));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn digests_in_image_list_are_dropped_with_a_warning() {
    for (name, entry, want_image, want_constraint) in [
        (
            "digest only",
            format!("app@{DIGEST}"),
            "docker.io/library/app",
            None,
        ),
        (
            "constraint and digest",
            format!("web=app:1.2@{DIGEST}"),
            "docker.io/library/app",
            Some("1.2"),
        ),
    ] {
        let got = tracked(&annotations(&[("image-list", &entry)]));
        let image = &got.images[0];
        assert_eq!(image.image.canonical(), want_image, "{name}");
        assert_eq!(image.match_name.canonical(), want_image, "{name}");
        assert_eq!(
            image.policy.strategy.constraint(),
            want_constraint,
            "{name}"
        );
        assert_eq!(
            got.warnings,
            vec![format!(
                "annotation {PREFIX}image-list entry '{entry}' (on Deployment/web): the digest is ignored; a \
                 policy applies to the repository {want_image}"
            )],
            "{name}"
        );
    }
}

#[test]
fn options_build_the_policy() {
    for (name, pairs, want) in [
        (
            "upstream options",
            vec![
                ("image-list", "web=org/web"),
                ("web.update-strategy", "Newest-Build"),
                ("web.allow-tags", "regexp:^v\\d+"),
                ("web.ignore-tags", "latest, *-debug"),
                ("web.platforms", "linux/amd64,linux/arm64"),
            ],
            "web=org/web [strategy newest-build, allow-tags 'regexp:^v\\d+', ignore-tags 'latest, *-debug', \
             platforms 'linux/amd64,linux/arm64']",
        ),
        (
            "old strategy names",
            vec![
                ("image-list", "web=org/web"),
                ("web.update-strategy", "name"),
            ],
            "web=org/web [strategy alphabetical]",
        ),
        (
            "flux-style options",
            vec![
                ("image-list", "web=org/web"),
                ("web.update-strategy", "numerical"),
                ("web.tag-pattern", "^main-[a-f0-9]+-(?P<ts>\\d+)$"),
                ("web.extract", "$ts"),
                ("web.order", "desc"),
            ],
            "web=org/web [strategy numerical, order desc, tag pattern '^main-[a-f0-9]+-(?P<ts>\\d+)$']",
        ),
        (
            "semver options",
            vec![
                ("image-list", "web=org/web:^1"),
                ("web.include-prerelease", "true"),
                ("web.strict-semver", "true"),
            ],
            "web=org/web [strategy semver, constraint '^1', prereleases included, strict versions]",
        ),
        (
            "digest tracks the constraint's tag",
            vec![
                ("image-list", "web=org/web:stable"),
                ("web.update-strategy", "digest"),
            ],
            "web=org/web [strategy digest, tracking 'stable']",
        ),
        (
            "defaults without alias, upstream's and ours",
            vec![
                ("image-list", "web=org/web, org/api"),
                ("update-strategy", "alphabetical"),
                ("allow-tags", "regexp:^v"),
                ("order", "desc"),
                ("platforms", "linux/arm64"),
            ],
            "web=org/web [strategy alphabetical, order desc, allow-tags 'regexp:^v', platforms 'linux/arm64'] | \
             org/api [strategy alphabetical, order desc, allow-tags 'regexp:^v', platforms 'linux/arm64']",
        ),
        (
            "an alias's own key beats the default; an image without alias gets only defaults",
            vec![
                ("image-list", "web=org/web, org/api"),
                ("update-strategy", "alphabetical"),
                ("web.update-strategy", "newest-build"),
            ],
            "web=org/web [strategy newest-build] | org/api [strategy alphabetical]",
        ),
        (
            "tag-match is read when no allow-tags applies",
            vec![
                ("image-list", "web=org/web"),
                ("web.tag-match", "regexp:^v"),
            ],
            "web=org/web [strategy semver, allow-tags 'regexp:^v']",
        ),
        (
            "allow-tags without alias beats the alias's tag-match, as upstream",
            vec![
                ("image-list", "web=org/web"),
                ("web.tag-match", "regexp:^v"),
                ("allow-tags", "regexp:^r"),
            ],
            "web=org/web [strategy semver, allow-tags 'regexp:^r']",
        ),
        (
            "alias with a slash is written with '_' in keys",
            vec![
                ("image-list", "argoproj/argocd=quay.io/argoproj/argocd"),
                ("argoproj_argocd.update-strategy", "newest-build"),
            ],
            "argoproj/argocd=quay.io/argoproj/argocd [strategy newest-build]",
        ),
        (
            "alias holding dots and the longest option suffix",
            vec![
                ("image-list", "a.helm=org/web"),
                ("a.helm.update-strategy", "alphabetical"),
            ],
            "a.helm=org/web [strategy alphabetical]",
        ),
        (
            "surrounding whitespace of values",
            vec![
                ("image-list", " web=org/web "),
                ("web.allow-tags", "  any  "),
            ],
            "web=org/web [strategy semver]",
        ),
    ] {
        let got = summary(&tracked(&annotations(&pairs))).join(" | ");
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn per_image_settings() {
    let settings = annotations(&[
        ("image-list", "web=org/web, api=org/api"),
        ("web.pull-secret", "pullsecret:argocd/regcred"),
        ("api.kustomize.image-name", "example/api:placeholder"),
    ]);
    let got = tracked(&settings);
    let (web, api) = (&got.images[0], &got.images[1]);
    assert_eq!(
        web.pull_secret,
        Some(CredentialSpec::parse("pullsecret:argocd/regcred").unwrap())
    );
    assert_eq!(api.pull_secret, None);
    assert_eq!(web.match_name.canonical(), "docker.io/org/web");
    assert_eq!(api.match_name.canonical(), "docker.io/example/api");
    assert_eq!(api.image.canonical(), "docker.io/org/api");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn find_matches_by_repository_and_kustomize_name() {
    let got = tracked(&annotations(&[
        ("image-list", "web=ghcr.io/org/web:^1, api=org/api, nginx"),
        ("api.kustomize.image-name", "example/api"),
    ]));
    for (name, rendered, want) in [
        ("tag in the output", "ghcr.io/org/web:1.0.0", Some("web")),
        (
            "digest in the output",
            &format!("ghcr.io/org/web@{DIGEST}") as &str,
            Some("web"),
        ),
        ("familiar name", "nginx:1.27", Some("nginx")),
        ("canonical name", "docker.io/library/nginx", Some("nginx")),
        ("kustomize name matches", "example/api:dev", Some("api")),
        (
            "image name itself does not when a kustomize name is set",
            "org/api:1",
            None,
        ),
        ("other registry", "quay.io/org/web:1", None),
    ] {
        let image = ImageRef::parse(rendered).unwrap();
        let found = find(&got.images, &image)
            .map(|t| t.alias.clone().unwrap_or_else(|| t.image.familiar_name()));
        assert_eq!(found.as_deref(), want, "{name}");
    }
}

#[test]
fn pin_wins_and_hold_keeps_the_rendered_image() {
    for (name, pairs, want, want_warnings) in [
        ("neither", vec![], Action::Resolve, 0),
        ("pin", vec![("web.pin", "1.2.3")], Action::Pin("1.2.3"), 0),
        ("hold", vec![("web.hold", "true")], Action::Hold, 0),
        (
            "hold false",
            vec![("web.hold", "false")],
            Action::Resolve,
            0,
        ),
        (
            "pin beats hold",
            vec![("web.pin", "v1"), ("web.hold", "true")],
            Action::Pin("v1"),
            1,
        ),
        (
            "hold for every image",
            vec![("hold", "true")],
            Action::Hold,
            0,
        ),
        (
            "an alias's hold false beats the default",
            vec![("hold", "true"), ("web.hold", "false")],
            Action::Resolve,
            0,
        ),
    ] {
        let mut pairs = pairs;
        pairs.push(("image-list", "web=org/web:^1"));
        let got = tracked(&annotations(&pairs));
        assert_eq!(got.images[0].action(), want, "{name}");
        assert_eq!(
            got.warnings.len(),
            want_warnings,
            "{name}: {:?}",
            got.warnings
        );
    }
    let got = tracked(&annotations(&[
        ("image-list", "web=org/web"),
        ("web.pin", "v1"),
        ("web.hold", "true"),
    ]));
    assert_eq!(
        got.warnings,
        vec![format!(
            "annotation {PREFIX}web.pin = 'v1' (on Deployment/web) wins over annotation {PREFIX}web.hold = \
             'true' (on Deployment/web): the image runs the pinned tag"
        )]
    );
}

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
        assert_eq!(got.images[0].origins, want_web_origins, "{name}");
    }
    let merged = object
        .overridden_by(&parameters)
        .overridden_by(&environment);
    let got = tracked(&merged);
    assert_eq!(
        got.images[1].origins,
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
        got.images[0].origins,
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

/// The settings for an error case, from annotations, parameters JSON or env.
enum Given<'a> {
    Annotations(Vec<(&'a str, &'a str)>),
    Parameters(&'a str),
    Env(Vec<(&'a str, &'a str)>),
    /// Annotations, then env on top.
    AnnotationsAndEnv(Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>),
}

fn error_of(given: Given) -> String {
    let settings = match given {
        Given::Annotations(pairs) => Ok(annotations(&pairs)),
        Given::Parameters(json) => Settings::from_parameters_json(json),
        Given::Env(pairs) => env(&pairs),
        Given::AnnotationsAndEnv(pairs, vars) => {
            env(&vars).map(|e| annotations(&pairs).overridden_by(&e))
        }
    };
    match settings.and_then(|s| s.tracked_images()) {
        Ok(got) => format!("no error: {:?}", summary(&got)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn error_messages() {
    let a = |k: &str| format!("annotation {PREFIX}{k}");
    let on = "(on Deployment/web)";
    for (name, given, want) in [
        (
            "unknown strategy",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.update-strategy", "newest")]),
            format!(
                "{} = 'newest' {on}: unknown update strategy 'newest': expected semver, newest-build, alphabetical, \
                 digest or numerical (old names: latest, name)",
                a("web.update-strategy")
            ),
        ),
        (
            "bad constraint",
            Given::Annotations(vec![("image-list", "web=org/web:>=1.x.y.z")]),
            format!(
                "{} entry 'web=org/web:>=1.x.y.z' {on}: invalid constraint \
                 '>=1.x.y.z': cannot read '>=1.x.y.z'; expected comparisons such as '>=1.2 <2', '~1.4', '^0.3', \
                 '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between alternatives",
                a("image-list")
            ),
        ),
        (
            "comma inside a constraint of a split list",
            Given::Annotations(vec![("image-list", "web=org/web:>=1.0,<2.0")]),
            format!(
                "{} entry '<2.0' {on}: not an image but the rest of a version constraint; image-list is split at \
                 every ',', so separate comparisons with spaces ('>=1.0 <2') or give image-list as an array parameter",
                a("image-list")
            ),
        ),
        (
            "invalid alias",
            Given::Annotations(vec![("image-list", "my app=org/web")]),
            format!(
                "{} entry 'my app=org/web' {on}: invalid alias 'my app': use letters, digits, '-', '_', '.' and '/', \
                 beginning and ending with a letter or digit",
                a("image-list")
            ),
        ),
        (
            "empty alias",
            Given::Annotations(vec![("image-list", "=org/web")]),
            format!(
                "{} entry '=org/web' {on}: invalid alias '': use letters, digits, '-', '_', '.' and '/', beginning \
                 and ending with a letter or digit",
                a("image-list")
            ),
        ),
        (
            "empty alias in an array",
            Given::Parameters(r#"[{"name": "image-list", "array": ["=org/web"]}]"#),
            "parameter image-list entry '=org/web': invalid alias '': use letters, digits, '-', '_', '.' and '/', \
             beginning and ending with a letter or digit"
                .to_string(),
        ),
        (
            "duplicate alias",
            Given::Annotations(vec![("image-list", "web=org/web, web=org/api")]),
            format!(
                "{} entry 'web=org/api' {on}: alias 'web' is already used in this image-list; give each entry its \
                 own alias",
                a("image-list")
            ),
        ),
        (
            "aliases that share their keys",
            Given::Annotations(vec![("image-list", "a/b=org/web, a_b=org/api")]),
            format!(
                "{} entry 'a_b=org/api' {on}: alias 'a_b' is already used in this image-list; give each entry its \
                 own alias",
                a("image-list")
            ),
        ),
        (
            "duplicate image without alias",
            Given::Annotations(vec![("image-list", "nginx:^1, docker.io/library/nginx:^2")]),
            format!(
                "{} entry 'docker.io/library/nginx:^2' {on}: docker.io/library/nginx is already listed without alias \
                 in this image-list; give the entries aliases",
                a("image-list")
            ),
        ),
        (
            "bad image",
            Given::Annotations(vec![("image-list", "web=org/Web")]),
            format!(
                "{} entry 'web=org/Web' {on}: invalid image reference 'org/Web': repository name must be lowercase \
                 (write 'org/web')",
                a("image-list")
            ),
        ),
        (
            "allow-tags without a match function",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.allow-tags", "regex:^v")]),
            format!(
                "{} = 'regex:^v' {on}: invalid allow-tags value 'regex:^v': expected 'any' or 'regexp:<expression>' \
                 (argocd-image-updater would silently allow no tag)",
                a("web.allow-tags")
            ),
        ),
        (
            "allow-tags regexp that does not compile",
            Given::Annotations(vec![("image-list", "web=org/web"), ("allow-tags", "regexp:v(")]),
            format!(
                "{} = 'regexp:v(' {on}: invalid regular expression 'v(': missing closing )",
                a("allow-tags")
            ),
        ),
        (
            "ignore-tags glob",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.ignore-tags", "latest, [")]),
            format!(
                "{} = 'latest, [' {on}: invalid glob '[': missing closing ]",
                a("web.ignore-tags")
            ),
        ),
        (
            "platforms",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.platforms", "linux")]),
            format!(
                "{} = 'linux' {on}: platform 'linux' is not os/arch or os/arch/variant (e.g. linux/amd64, \
                 linux/arm/v7)",
                a("web.platforms")
            ),
        ),
        (
            "boolean",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.hold", "yes")]),
            format!("{} = 'yes' {on}: expected 'true' or 'false'", a("web.hold")),
        ),
        (
            "boolean is case-sensitive",
            Given::Annotations(vec![("image-list", "web=org/web"), ("hold", "True")]),
            format!("{} = 'True' {on}: expected 'true' or 'false'", a("hold")),
        ),
        (
            "pin",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.pin", "-1.0")]),
            format!(
                "{} = '-1.0' {on}: invalid tag to pin: a tag is 1 to 128 letters, digits, '_', '.' or '-', and does \
                 not start with '.' or '-'",
                a("web.pin")
            ),
        ),
        (
            "pull secret",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.pull-secret", "vault:x")]),
            format!(
                "{} = 'vault:x' {on}: invalid credential spec 'vault:x': unknown source 'vault'; use env, ext, \
                 pullsecret or secret",
                a("web.pull-secret")
            ),
        ),
        (
            "credentials that name no registry",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.pull-secret", "env:TOKEN")]),
            format!(
                "{} = 'env:TOKEN' {on}: {APP_CREDENTIALS}",
                a("web.pull-secret")
            ),
        ),
        (
            "a secret's field",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.pull-secret", "secret:ns1/gen#creds")]),
            format!(
                "{} = 'secret:ns1/gen#creds' {on}: {APP_CREDENTIALS}",
                a("web.pull-secret")
            ),
        ),
        (
            "a program to run",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.pull-secret", "ext:/bin/sh")]),
            format!("{} = 'ext:/bin/sh' {on}: {APP_CREDENTIALS}", a("web.pull-secret")),
        ),
        (
            "extract without tag pattern",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.extract", "$ts")]),
            format!(
                "{} = '$ts' {on}: extract needs a tag pattern to take groups from; set {PREFIX}web.tag-pattern too",
                a("web.extract")
            ),
        ),
        (
            "extract without tag pattern, image without alias",
            Given::Annotations(vec![("image-list", "org/web"), ("extract", "$ts")]),
            format!(
                "{} = '$ts' {on}: extract needs a tag pattern to take groups from; set {PREFIX}tag-pattern too",
                a("extract")
            ),
        ),
        (
            "tag pattern",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.tag-pattern", "^(v")]),
            format!(
                "{} = '^(v' {on}: invalid regular expression '^(v': missing closing )",
                a("web.tag-pattern")
            ),
        ),
        (
            "order",
            Given::Annotations(vec![
                ("image-list", "web=org/web"),
                ("web.update-strategy", "alphabetical"),
                ("web.order", "up"),
            ]),
            format!("{} = 'up' {on}: unknown sort order 'up': expected asc or desc", a("web.order")),
        ),
        (
            "kustomize image name",
            Given::Annotations(vec![("image-list", "web=org/web"), ("web.kustomize.image-name", "Web")]),
            format!(
                "{} = 'Web' {on}: invalid image reference 'Web': repository name must be lowercase (write 'web')",
                a("web.kustomize.image-name")
            ),
        ),
        (
            "digest strategy with a version range",
            Given::Annotations(vec![("image-list", "web=org/web:>=1"), ("web.update-strategy", "digest")]),
            format!(
                "{} entry 'web=org/web:>=1' {on}: invalid tag to track '>=1' for the digest strategy: give one tag, \
                 such as 'latest'",
                a("image-list")
            ),
        ),
        (
            "parameters that are not JSON",
            Given::Parameters("[{"),
            "invalid ARGOCD_APP_PARAMETERS: EOF while parsing an object at line 1 column 2; expected a JSON list of \
             {\"name\": …, \"string\" | \"array\" | \"map\": …} or null"
                .to_string(),
        ),
        (
            "parameters of the wrong shape",
            Given::Parameters(r#"{"name": "x"}"#),
            "invalid ARGOCD_APP_PARAMETERS: it is an object, not a list; expected a JSON list of {\"name\": …, \
             \"string\" | \"array\" | \"map\": …} or null"
                .to_string(),
        ),
        (
            "a parameter with two values",
            Given::Parameters(r#"[{"name": "web.pin", "string": "1", "array": ["2"]}]"#),
            "parameter web.pin sets more than one of string, array and map; give one".to_string(),
        ),
        (
            "an array where a string is expected",
            Given::Parameters(r#"[{"name": "web.pin", "array": ["1"]}]"#),
            format!("parameter web.pin is an array, but {PREFIX}web.pin takes a string"),
        ),
        (
            "a map for image-list",
            Given::Parameters(r#"[{"name": "image-list", "map": {"a": "b"}}]"#),
            format!("parameter image-list is a map, but {PREFIX}image-list takes a string or an array"),
        ),
        (
            "a map for ignore-tags",
            Given::Parameters(r#"[{"name": "ignore-tags", "map": {"a": "b"}}]"#),
            format!("parameter ignore-tags is a map, but {PREFIX}ignore-tags takes a comma-separated string or an array"),
        ),
        (
            "policy that is not a map",
            Given::Parameters(r#"[{"name": "policy", "string": "x"}]"#),
            "parameter policy is a string, but policy takes a map of keys and values".to_string(),
        ),
        (
            "one parameter key twice",
            Given::Parameters(
                r#"[{"name": "web.pin", "string": "1"}, {"name": "policy", "map": {"web.pin": "2"}}]"#,
            ),
            format!(
                "parameter web.pin = '1' and parameter policy[web.pin] = '2' both set {PREFIX}web.pin; remove one"
            ),
        ),
        (
            "one env key twice",
            Given::Env(vec![
                ("ARGOCD_ENV_IMAGE_LIST", "a"),
                ("ARGOCD_ENV_argocd-image-updater.argoproj.io/image-list", "b"),
            ]),
            format!(
                "env ARGOCD_ENV_IMAGE_LIST = 'a' and env ARGOCD_ENV_argocd-image-updater.argoproj.io/image-list = 'b' \
                 both set {PREFIX}image-list; remove one"
            ),
        ),
        (
            "one alias key in both env spellings",
            Given::AnnotationsAndEnv(
                vec![("image-list", "web=org/web")],
                vec![("ARGOCD_ENV_web.pin", "1"), ("ARGOCD_ENV_WEB_PIN", "2")],
            ),
            format!(
                "env ARGOCD_ENV_web.pin = '1' and env ARGOCD_ENV_WEB_PIN = '2' both set {PREFIX}web.pin; remove one"
            ),
        ),
        (
            "upper snake reading as two aliases",
            Given::AnnotationsAndEnv(
                vec![("image-list", "my-app=org/a, my_app=org/b")],
                vec![("ARGOCD_ENV_MY_APP_PIN", "1")],
            ),
            "env ARGOCD_ENV_MY_APP_PIN = '1': the name reads as aliases 'my-app' and 'my_app'; name one exactly, \
             such as ARGOCD_ENV_my-app.pin"
                .to_string(),
        ),
    ] {
        assert_eq!(error_of(given), want, "{name}");
    }
}

#[test]
fn options_of_images_not_listed_are_not_validated() {
    let got = tracked(&annotations(&[
        ("image-list", "web=org/web"),
        ("api.update-strategy", "bogus"),
    ]));
    assert_eq!(
        got.warnings,
        vec![format!(
            "annotation {PREFIX}api.update-strategy = 'bogus' (on Deployment/web): ignored: no image-list entry has \
             the alias 'api'"
        )]
    );
}

#[test]
fn warnings() {
    let on = "(on Deployment/web)";
    for (name, pairs, want) in [
        (
            "unknown key",
            vec![("image-list", "web=org/web"), ("web.update-stratgy", "digest")],
            vec![format!(
                "annotation {PREFIX}web.update-stratgy = 'digest' {on}: ignored: argocd-image-updater and this plugin \
                 know no such key"
            )],
        ),
        (
            "write-back key",
            vec![("image-list", "web=org/web"), ("write-back-method", "git")],
            vec![format!(
                "annotation {PREFIX}write-back-method = 'git' {on}: ignored: argocd-image-updater's write-back \
                 settings do not apply, this plugin patches the rendered output"
            )],
        ),
        (
            "upstream's write-back options",
            vec![
                ("image-list", "web=org/web"),
                ("web.force-update", "true"),
                ("web.helm.image-spec", "image.spec"),
            ],
            ["force-update = 'true'", "helm.image-spec = 'image.spec'"]
                .iter()
                .map(|kv| {
                    format!(
                        "annotation {PREFIX}web.{kv} {on}: ignored: argocd-image-updater uses {} to write its \
                         update back; this plugin resolves the images in the rendered output and patches them there",
                        kv.split(' ').next().unwrap()
                    )
                })
                .collect(),
        ),
        (
            "per-image option without alias",
            vec![("image-list", "web=org/web"), ("pin", "1.0")],
            vec![format!(
                "annotation {PREFIX}pin = '1.0' {on}: ignored: pin applies to one image; write <alias>.pin"
            )],
        ),
        (
            "deprecated tag-match",
            vec![("image-list", "web=org/web"), ("web.tag-match", "regexp:^v")],
            vec![format!(
                "annotation {PREFIX}web.tag-match = 'regexp:^v' {on}: tag-match is deprecated; write \
                 {PREFIX}web.allow-tags instead"
            )],
        ),
        (
            "constraint with a strategy that takes none",
            vec![("image-list", "web=org/web:^1"), ("web.update-strategy", "newest-build")],
            vec![format!(
                "annotation {PREFIX}image-list entry 'web=org/web:^1' {on}: the newest-build strategy takes no \
                 version constraint; '^1' is ignored"
            )],
        ),
        (
            "semver options on another strategy",
            vec![
                ("image-list", "web=org/web"),
                ("web.update-strategy", "alphabetical"),
                ("web.include-prerelease", "true"),
                ("strict-semver", "true"),
            ],
            vec![format!(
                "annotation {PREFIX}web.include-prerelease = 'true' {on}: has no effect on the alphabetical strategy"
            )],
        ),
        (
            "order on semver",
            vec![("image-list", "web=org/web"), ("web.order", "desc")],
            vec![format!("annotation {PREFIX}web.order = 'desc' {on}: has no effect on the semver strategy")],
        ),
        (
            "two entries match one repository",
            vec![("image-list", "a=org/app, b=org/other"), ("b.kustomize.image-name", "org/app")],
            vec!["alias 'a' and alias 'b' both match the images of docker.io/org/app; alias 'a' governs them".to_string()],
        ),
        (
            "nothing to say",
            vec![("image-list", "web=org/web"), ("web.update-strategy", "digest"), ("git-branch", "")],
            vec![],
        ),
    ] {
        assert_eq!(tracked(&annotations(&pairs)).warnings, want, "{name}");
    }
}

#[test]
fn app_wide_warnings_know_every_object_alias() {
    let parameters = Settings::from_parameters_json(
        r#"[{"name": "web.pin", "string": "1"},
            {"name": "ghost.pin", "string": "1"},
            {"name": "pin", "string": "1"},
            {"name": "policy", "map": {"no-such-key": "x"}},
            {"name": "argocd-image-updater.argoproj.io/nope", "string": "x"}]"#,
    )
    .unwrap();
    let environment = env(&[
        ("ARGOCD_ENV_WEB_HOLD", "true"),
        ("ARGOCD_ENV_GHOST_HOLD", "true"),
    ])
    .unwrap();
    let app = parameters.overridden_by(&environment);
    // The web Deployment lists `web`; an api Deployment, built from the same app-wide settings, does not warn.
    let api = annotations(&[("image-list", "api=org/api")]).overridden_by(&app);
    assert!(
        tracked(&api).warnings.is_empty(),
        "{:?}",
        tracked(&api).warnings
    );
    assert_eq!(
        app.app_wide_warnings(&["web", "api"]),
        vec![
            "parameter ghost.pin = '1': ignored: no image-list entry has the alias 'ghost'".to_string(),
            "parameter pin = '1': ignored: pin applies to one image; write <alias>.pin".to_string(),
            "parameter policy[no-such-key] = 'x': ignored: argocd-image-updater and this plugin know no such key"
                .to_string(),
            "parameter argocd-image-updater.argoproj.io/nope = 'x': ignored: argocd-image-updater and this plugin \
             know no such key"
                .to_string(),
            "env ARGOCD_ENV_GHOST_HOLD = 'true': ignored: no image-list entry has an alias that reads as 'GHOST'"
                .to_string(),
        ]
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = String> {
        let suffixes: Vec<&'static str> = keys::Opt::ALL.iter().map(|o| o.suffix()).collect();
        prop_oneof![
            Just("image-list".to_string()),
            proptest::sample::select(suffixes.clone()).prop_map(String::from),
            ("[a-z_/.-]{0,6}", proptest::sample::select(suffixes))
                .prop_map(|(a, s)| format!("{a}.{s}")),
            "\\PC{0,20}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,30}",
            "[a-z=:/^~<>, .@0-9|*-]{0,40}",
            Just("true".to_string()),
            Just(format!("x=org/app@{DIGEST}")),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_annotations_never_panic(pairs in proptest::collection::vec((key(), value()), 0..12)) {
            let pairs: Vec<(String, String)> =
                pairs.into_iter().map(|(k, v)| (format!("{PREFIX}{k}"), v)).collect();
            let settings = Settings::from_annotations("Deployment/x", &pairs);
            if let Ok(got) = settings.tracked_images() {
                let aliases: Vec<&str> = got.images.iter().filter_map(|i| i.alias.as_deref()).collect();
                let _ = settings.app_wide_warnings(&aliases);
                for image in &got.images {
                    prop_assert!(find(&got.images, &image.match_name).is_some());
                }
            }
        }

        #[test]
        fn arbitrary_env_never_panics(pairs in proptest::collection::vec(("[A-Za-z_.-]{0,20}", value()), 0..8)) {
            let vars = pairs.into_iter().map(|(k, v)| (format!("ARGOCD_ENV_{k}"), v));
            if let Ok(settings) = Settings::from_env(vars) {
                let _ = settings.tracked_images();
            }
        }
    }
}
