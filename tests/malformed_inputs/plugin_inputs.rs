//! What Argo CD hands the plugin: `ARGOCD_APP_PARAMETERS` and the plugin environment.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::{Case, DEPLOYMENT, app, case, check, named};

/// `generate` of an app with the tracked Deployment and `ARGOCD_APP_PARAMETERS` set to `json`.
fn with_parameters(name: &str, json: impl Into<OsString>, names: &str) -> Case {
    app(
        &format!("parameters: {name}"),
        &[("web.yaml", DEPLOYMENT.as_bytes())],
    )
    .env("ARGOCD_APP_PARAMETERS", json)
    .names(names)
}

#[test]
fn app_parameters() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases = vec![
        with_parameters("not JSON", "not json", "ARGOCD_APP_PARAMETERS"),
        with_parameters("an object", "{}", "ARGOCD_APP_PARAMETERS"),
        with_parameters("a list of numbers", "[1]", "ARGOCD_APP_PARAMETERS"),
        with_parameters(
            "an item without name",
            r#"[{"string": "x"}]"#,
            "ARGOCD_APP_PARAMETERS",
        ),
        with_parameters(
            "a number for a name",
            r#"[{"name": 1, "string": "x"}]"#,
            "ARGOCD_APP_PARAMETERS",
        ),
        with_parameters(
            "regression: a number for image-list was reported only by column",
            r#"[{"name":"image-list","string":1}]"#,
            "parameter image-list",
        ),
        with_parameters(
            "an array of numbers",
            r#"[{"name":"image-list","array":[1]}]"#,
            "parameter image-list",
        ),
        with_parameters(
            "a map of numbers",
            r#"[{"name":"policy","map":{"update-strategy":1}}]"#,
            "parameter policy",
        ),
        with_parameters(
            "a boolean for a renderer parameter",
            r#"[{"name":"release-name","string":true}]"#,
            "parameter release-name",
        ),
        with_parameters(
            "two values",
            r#"[{"name":"image-list","string":"a","array":["b"]}]"#,
            "image-list",
        ),
        with_parameters(
            "policy as a string",
            r#"[{"name":"policy","string":"x"}]"#,
            "policy",
        ),
        with_parameters(
            "bad image",
            r#"[{"name":"image-list","string":"web=registry.test/Web"}]"#,
            "registry.test/Web",
        ),
        with_parameters(
            "bad strategy",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"update-strategy","string":"newest"}]"#,
            "newest",
        ),
        with_parameters(
            "bad pin",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"web.pin","string":"a/b"}]"#,
            "a/b",
        ),
        with_parameters(
            "escaped control character",
            r#"[{"name":"image-list","string":"web=registry.test/web"},{"name":"update-strategy","string":"x\u0001\u202e"}]"#,
            r"x\u{1}\u{202e}",
        ),
        with_parameters("deeply nested", deep, "ARGOCD_APP_PARAMETERS"),
        with_parameters("trailing text", "[] x", "ARGOCD_APP_PARAMETERS"),
        with_parameters(
            "regression: not UTF-8 was silently ignored",
            OsString::from_vec(b"[{\"name\":\"\xff\"}]".to_vec()),
            "ARGOCD_APP_PARAMETERS",
        ),
        named(
            "parameters command: a number for image-list",
            case("", &["parameters", "--app-dir", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env(
                    "ARGOCD_APP_PARAMETERS",
                    r#"[{"name":"image-list","string":1}]"#,
                ),
        )
        .names("parameter image-list"),
        named(
            "init: not UTF-8",
            case("", &["init", "--app-dir", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env(
                    "ARGOCD_APP_PARAMETERS",
                    OsString::from_vec(b"\xff".to_vec()),
                ),
        )
        .names("ARGOCD_APP_PARAMETERS"),
        named(
            "explain: not JSON",
            case("", &["explain", "{dir}/app"])
                .file("app/web.yaml", DEPLOYMENT)
                .env("ARGOCD_APP_PARAMETERS", "[{"),
        )
        .names("ARGOCD_APP_PARAMETERS"),
    ];
    check(cases);
}

#[test]
fn plugin_env() {
    let env = |name: &str, var: &str, value: &str, names: &str| {
        named(
            &format!("plugin env: {name}"),
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env(var, value)
                .names(names),
        )
    };
    let cases = vec![
        named(
            "plugin env: image list upper case",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/Web"),
        )
        .names("ARGOCD_ENV_IMAGE_LIST"),
        env(
            "strategy unknown",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "newest",
            "ARGOCD_ENV_UPDATE_STRATEGY",
        ),
        env(
            "allow-tags unclosed",
            "ARGOCD_ENV_ALLOW_TAGS",
            "regexp:(",
            "ARGOCD_ENV_ALLOW_TAGS",
        ),
        env(
            "ignore-tags unclosed",
            "ARGOCD_ENV_IGNORE_TAGS",
            "[",
            "ARGOCD_ENV_IGNORE_TAGS",
        ),
        env(
            "platforms bad",
            "ARGOCD_ENV_PLATFORMS",
            "linux",
            "ARGOCD_ENV_PLATFORMS",
        ),
        env(
            "exact key strategy",
            "ARGOCD_ENV_update-strategy",
            "newest",
            "ARGOCD_ENV_update-strategy",
        ),
        env(
            "bidi override in a value",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "semver\u{202e}",
            r"semver\u{202e}",
        ),
        env(
            "escape sequence in a value",
            "ARGOCD_ENV_UPDATE_STRATEGY",
            "\u{1b}[2Jsemver",
            r"\u{1b}[2Jsemver",
        ),
        named(
            "plugin env: a key in both spellings",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env("ARGOCD_ENV_UPDATE_STRATEGY", "semver")
                .env("ARGOCD_ENV_update-strategy", "digest"),
        )
        .names("remove one"),
        named(
            "plugin env: per-image pin not a tag",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())])
                .env("ARGOCD_ENV_IMAGE_LIST", "web=registry.test/web")
                .env("ARGOCD_ENV_WEB_PIN", "../x"),
        )
        .names("../x"),
        named(
            "plugin env: image list not UTF-8",
            app("", &[("web.yaml", DEPLOYMENT.as_bytes())]).env(
                "ARGOCD_ENV_IMAGE_LIST",
                OsString::from_vec(b"web=\xff".to_vec()),
            ),
        )
        .names("ARGOCD_ENV_IMAGE_LIST"),
    ];
    check(cases);
}
