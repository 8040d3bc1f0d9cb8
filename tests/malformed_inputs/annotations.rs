//! Policy annotations on the tracked workloads.

use std::time::Duration;

use assert_cmd::Command;

use crate::{Case, KEY, app, check};

/// A Deployment of `registry.test/web:1.0.0` with `annotations` (key after the prefix, value as YAML).
fn annotated(name: &str, annotations: &[(&str, &str)]) -> Case {
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n",
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {KEY}{key}: {value}\n"));
    }
    text.push_str("spec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: registry.test/web:1.0.0\n");
    app(
        &format!("annotation: {name}"),
        &[("web.yaml", text.as_bytes())],
    )
}

#[test]
fn policy_annotations() {
    let list = "web=registry.test/web";
    let per_image = |name: &str, option: &str, value: &str, names: &str| {
        annotated(
            name,
            &[("image-list", list), (&format!("web.{option}"), value)],
        )
        .names(names)
    };
    let cases = vec![
        annotated(
            "image-list: upper case",
            &[("image-list", "web=registry.test/Web")],
        )
        .names("registry.test/Web"),
        annotated(
            "image-list: empty constraint",
            &[("image-list", "'web=registry.test/web:'")],
        )
        .names("registry.test/web:"),
        annotated(
            "image-list: bad constraint",
            &[("image-list", "'web=registry.test/web:>=x.y.z.w'")],
        )
        .names("x.y.z.w"),
        annotated(
            "image-list: comma inside a constraint",
            &[("image-list", "'web=registry.test/web:>=1,<2'")],
        )
        .names("<2"),
        annotated(
            "image-list: alias with a space",
            &[("image-list", "'we b=registry.test/web'")],
        )
        .names("we b"),
        // `=registry.test/web` (an empty alias) is no longer malformed: it lists the image without alias, as
        // argocd-image-updater reads it (issue 11, item 8; core test `an_empty_alias_is_no_alias`).
        annotated(
            "image-list: duplicate alias",
            &[("image-list", "web=registry.test/web,web=registry.test/api")],
        )
        .names("web"),
        annotated("image-list: only a tag", &[("image-list", "web=:1.0")]).names(":1.0"),
        annotated(
            "image-list: escaped NUL",
            &[("image-list", "\"web=registry.test/w\\0eb\"")],
        )
        .names(r"\0"),
        annotated(
            "image-list: bidi override",
            &[("image-list", "\"web=registry.test/w\\u202eeb\"")],
        )
        .names(r"\u{202e}"),
        per_image(
            "update-strategy unknown",
            "update-strategy",
            "newest",
            "newest",
        ),
        per_image(
            "update-strategy with a control character",
            "update-strategy",
            "\"semver\\x07\"",
            r"semver\u{7}",
        ),
        per_image("allow-tags without regexp", "allow-tags", "^v", "^v"),
        per_image("allow-tags unclosed group", "allow-tags", "'regexp:('", "("),
        per_image("tag-match unclosed class", "tag-match", "'regexp:[a'", "[a"),
        per_image("ignore-tags unclosed class", "ignore-tags", "'['", "["),
        per_image("platforms os only", "platforms", "linux", "linux"),
        per_image(
            "platforms empty part",
            "platforms",
            "'linux/amd64,,/'",
            "platforms",
        ),
        per_image(
            "pull-secret without source",
            "pull-secret",
            "user:pass",
            "pull-secret",
        ),
        per_image(
            "pull-secret without namespace",
            "pull-secret",
            "pullsecret:x",
            "pullsecret:x",
        ),
        per_image(
            "pull-secret secret without field",
            "pull-secret",
            "secret:ns/x",
            "secret:ns/x",
        ),
        per_image(
            "tag-pattern unclosed group",
            "tag-pattern",
            "'('",
            "tag-pattern",
        ),
        per_image(
            "include-prerelease not a boolean",
            "include-prerelease",
            "yes",
            "include-prerelease",
        ),
        per_image(
            "strict-semver not a boolean",
            "strict-semver",
            "'1'",
            "strict-semver",
        ),
        per_image("hold not a boolean", "hold", "maybe", "maybe"),
        per_image("pin not a tag", "pin", "../x", "../x"),
        per_image(
            "pin with a control character",
            "pin",
            "\"1.0\\x01\"",
            r"1.0\u{1}",
        ),
        per_image("order unknown", "order", "up", "up"),
        per_image(
            "kustomize.image-name upper case",
            "kustomize.image-name",
            "Web",
            "Web",
        ),
        annotated(
            "extract refers to a group the pattern lacks",
            &[
                ("image-list", list),
                ("web.tag-pattern", "'^(\\d+)$'"),
                ("web.extract", "$nope"),
            ],
        )
        .names("web.extract"),
        annotated(
            "extract without tag-pattern",
            &[("image-list", list), ("web.extract", "$1")],
        )
        .names("web.extract"),
        annotated(
            "app-wide update-strategy unknown",
            &[("image-list", list), ("update-strategy", "newest")],
        )
        .names("newest"),
        annotated(
            "app-wide ignore-tags unclosed",
            &[("image-list", list), ("ignore-tags", "'[a-'")],
        )
        .names("[a-"),
        annotated(
            "app-wide platforms bad",
            &[("image-list", list), ("platforms", "/arm64")],
        )
        .names("/arm64"),
    ];
    check(cases);
}

/// Regression: an image-list of 10,000 aliases of one repository printed 9,999 warnings, one per line.
#[test]
fn repeated_warnings_are_counted_not_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let list: Vec<String> = (0..10_000)
        .map(|i| format!("a{i}=registry.test/img"))
        .collect();
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    {KEY}image-list: \"{}\"\nspec:\n  \
         containers:\n  - name: c\n    image: nginx:1.0\n",
        list.join(",")
    );
    std::fs::write(tmp.path().join("p.yaml"), &manifest).unwrap();
    let output = Command::cargo_bin("argocd-image-resolver")
        .unwrap()
        .args(["generate", "--app-dir"])
        .arg(tmp.path())
        .env("IMAGE_RESOLVER_LOG_LEVEL", "warn")
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        output.stdout,
        manifest.as_bytes(),
        "nothing tracked is in the manifest"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(
        lines[3].ends_with(
            "9996 more warnings like: alias '…' and alias '…' both match the images of registry.test/img; alias '…' \
             governs them"
        ),
        "{stderr}"
    );
    // The image the 10,000 entries name is in no `image:` field: said once, for the entry that governs.
    assert!(
        lines[4].ends_with(
            "annotation on Pod/p lists 'a0=registry.test/img', which matches no image in the rendered manifests \
             (only `image:` fields are tracked, not args or env): check its spelling"
        ),
        "{stderr}"
    );
}
