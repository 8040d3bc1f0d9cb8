//! Every error message and every warning, and properties of any input.

use super::*;

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
        // An empty alias (`=org/web`) is no alias since issue 11 (argocd-image-updater reads it so): see
        // `lists::an_empty_alias_is_no_alias`.
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
            // Credentials in a URL never reach a message (the tester's repro 5).
            "git-repository twice, with credentials in both of git's forms",
            Given::Parameters(
                r#"[{"name": "git-repository", "string": "https://bob:hunter2@h/r.git?access_token=hunter2"},
                    {"name": "policy", "map": {"git-repository": "bob:hunter2@h:r.git"}}]"#,
            ),
            format!(
                "parameter git-repository = 'https://<redacted>@h/r.git?<redacted>' and parameter \
                 policy[git-repository] = '<redacted>@h:r.git' both set {PREFIX}git-repository; remove one"
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
        let got = error_of(given);
        assert!(!got.contains("hunter2"), "{name}: a secret shown: {got}");
        assert_eq!(got, want, "{name}");
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
            "write-back key on an object",
            vec![("image-list", "web=org/web"), ("write-back-method", "git")],
            vec![format!(
                "annotation {PREFIX}write-back-method = 'git' {on}: ignored: write-back-method applies to the whole \
                 application, not to one object; set it as a plugin parameter or plugin env"
            )],
        ),
        (
            "force-update",
            vec![("image-list", "web=org/web"), ("web.force-update", "true")],
            vec![format!(
                "annotation {PREFIX}web.force-update = 'true' {on}: ignored: argocd-image-updater uses force-update \
                 to write back images the application does not run; this plugin writes back the images it finds in \
                 the rendered output"
            )],
        ),
        (
            "helm image-spec beside image-tag",
            vec![
                ("image-list", "web=org/web"),
                ("web.helm.image-spec", "web.image"),
                ("web.helm.image-tag", "web.tag"),
            ],
            vec![format!(
                "annotation {PREFIX}web.helm.image-tag = 'web.tag' {on}: ignored: {PREFIX}web.helm.image-spec sets \
                 the whole image"
            )],
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
            "git-repository with credentials on an object",
            vec![("image-list", "web=org/web"), ("git-repository", "https://hunter2@h/r.git")],
            vec![format!(
                "annotation {PREFIX}git-repository = 'https://<redacted>@h/r.git' {on}: ignored: git-repository \
                 applies to the whole application, not to one object; set it as a plugin parameter or plugin env"
            )],
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
