//! Manifests of a plain application directory.

use crate::{CONFIG_MAP, DEPLOYMENT, app, case, check, named};

#[test]
fn plain_directory_manifests() {
    let deep_list = format!("a: {}\n", "[".repeat(100_000));
    let deep_map = format!(
        "{}x\n",
        (0..3000)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>()
    );
    let huge_flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: [{}\n",
        "1, ".repeat(700_000)
    );
    let cases = vec![
        app(
            "yaml: unclosed flow sequence in the second file",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nspec:\n  containers: [\n  - x\n"),
            ],
        )
        .names("b.yaml"),
        app(
            "yaml: error on line 3 of the second file is reported there",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nmetadata:\n  name: a: b\n"),
            ],
        )
        .names("b.yaml at line 3"),
        app(
            "yaml: unclosed quote",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: \"web\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: tab indentation",
            &[("a.yaml", b"kind: Pod\nmetadata:\n\tname: web\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: mapping in a plain scalar",
            &[("a.yaml", b"kind: Pod: x\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: bad indentation in a later document",
            &[("a.yaml", b"kind: A\n---\nkind: B\n---\nkind: C\n  x: 1\n")],
        )
        .names("a.yaml at line 6"),
        app(
            "yaml: NUL byte",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: a\x00b\n")],
        )
        .names("a.yaml"),
        app(
            "yaml: deeply nested lists",
            &[("a.yaml", deep_list.as_bytes())],
        )
        .names("a.yaml"),
        app(
            "yaml: deeply nested maps",
            &[("a.yaml", deep_map.as_bytes())],
        )
        .names("a.yaml"),
        app(
            "yaml: a huge unclosed flow sequence",
            &[("a.yaml", huge_flow.as_bytes())],
        )
        .names("a.yaml"),
        app("json: broken", &[("a.json", b"{\"kind\": \"Pod\",\n")]).names("a.json"),
        app("yml: broken", &[("z.yml", b"kind: [\n")]).names("z.yml"),
        app(
            "not UTF-8: the first file",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: \xff\n")],
        )
        .names("a.yaml is not UTF-8"),
        app(
            "not UTF-8: a later file",
            &[("a.yaml", CONFIG_MAP), ("c.yaml", b"\xff\xfe")],
        )
        .names("c.yaml is not UTF-8"),
        app(
            "not UTF-8: latin-1 text",
            &[("a.yaml", b"kind: ConfigMap\ndata:\n  k: caf\xe9\n")],
        )
        .names("a.yaml"),
        app(
            "no manifests: empty directory",
            &[("README.md", b"# app\n")],
        )
        .names("no manifests"),
        app(
            "no manifests: only blank files",
            &[("a.yaml", b"\n\n"), ("b.yml", b"   \n")],
        )
        .names("no manifests"),
        app(
            "recurse: a broken file below",
            &[("a.yaml", CONFIG_MAP), ("sub/b.yaml", b"kind: [\n")],
        )
        .arg("--recurse")
        .names("b.yaml"),
        app(
            "image paths: bad path",
            &[("a.yaml", DEPLOYMENT.as_bytes())],
        )
        .arg("--image-paths")
        .arg("spec.[")
        .names("--image-paths"),
        // Regression (issue 10): the operator's settings are checked before anything is rendered, so a bad one is
        // what the message names, not whatever the render ran into.
        app(
            "image paths: checked before rendering",
            &[("kustomization.yaml", b"resources: [\n")],
        )
        .arg("--image-paths")
        .arg("spec.[")
        .names("--image-paths"),
        app(
            "kustomize: broken kustomization",
            &[("kustomization.yaml", b"resources: [\n")],
        )
        .names("kustomize"),
        app(
            "kustomize: missing resource",
            &[("kustomization.yaml", b"resources:\n- nothere.yaml\n")],
        )
        .names("nothere.yaml"),
        app(
            "helm: broken Chart.yaml",
            &[
                ("Chart.yaml", b"name: [\n"),
                ("templates/a.yaml", CONFIG_MAP),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "helm: Chart.yaml not UTF-8",
            &[
                ("Chart.yaml", b"name: \xff\nversion: 1.0.0\n"),
                ("templates/a.yaml", CONFIG_MAP),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "helm: a template that fails",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"x: {{ .Values.a.b }}\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("helm"),
        app(
            "helm: a template that renders broken YAML",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: [\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("templates/a.yaml"),
        named(
            "init: broken Chart.yaml",
            case("", &["init", "--app-dir", "{dir}/app"])
                .file("app/Chart.yaml", b"name: [\n".to_vec()),
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .names("Chart.yaml"),
        app(
            "yaml: control character in a plain scalar",
            &[
                ("a.yaml", CONFIG_MAP),
                ("b.yaml", b"kind: Pod\nmetadata:\n  name: web\x01\n"),
            ],
        )
        .names("b.yaml at line 3"),
        app(
            "yaml: NUL in a value",
            &[("a.yaml", b"kind: Pod\nmetadata:\n  name: a\x00b\n")],
        )
        .names(r"\0"),
        app(
            "yaml: C1 control in a value",
            &[("a.yaml", "kind: Pod\nmetadata:\n  name: a\u{9b}b\n".as_bytes())],
        )
        .names(r"\u{9b}"),
        app(
            "yaml: an image pinned through an anchor shared with a non-image value",
            &[(
                "a.yaml",
                b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    \
                  argocd-image-updater.argoproj.io/image-list: web=registry.test/web\n    \
                  argocd-image-updater.argoproj.io/web.pin: 2.0.0\nspec:\n  containers:\n  - name: web\n    \
                  image: &img registry.test/web:1.0.0\n    env:\n    - name: IMAGE\n      value: *img\n",
            )],
        )
        .names("&img"),
        app(
            "helm: a release-name parameter that is a flag",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: ConfigMap\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .env(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"release-name","string":"--post-renderer=/bin/sh"}]"#,
        )
        .names("--post-renderer=/bin/sh"),
        app(
            "helm: a namespace that is a flag",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("templates/a.yaml", b"kind: ConfigMap\n"),
            ],
        )
        .env(
            "IMAGE_RESOLVER_HELM",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/helm"),
        )
        .env("ARGOCD_APP_NAMESPACE", "--output-dir=/tmp")
        .names("ARGOCD_APP_NAMESPACE"),
        named(
            "explain: broken manifest",
            case("", &["explain", "{dir}/app"]).file("app/a.yaml", b"kind: [\n".to_vec()),
        )
        .names("a.yaml"),
        named(
            "parameters: broken manifest",
            case("", &["parameters", "--app-dir", "{dir}/app"])
                .file("app/a.yaml", b"kind: [\n".to_vec()),
        )
        .names("a.yaml"),
    ];
    check(cases);
}
