//! Table tests of the whole module: scan, replace, annotate, splice.

use super::*;
use ScalarStyle::{DoubleQuoted, Plain, SingleQuoted};

/// What a test expects of one image: path, container, value, the text under its span, style.
type Want<'a> = (&'a str, Option<&'a str>, &'a str, &'a str, ScalarStyle);

fn found(src: &str, extra: &[&str]) -> Vec<(String, Option<String>, String, String, ScalarStyle)> {
    let extra: Vec<ImagePath> = extra.iter().map(|p| p.parse().unwrap()).collect();
    let scan = scan(src, &extra).unwrap_or_else(|e| panic!("{e}"));
    scan.images
        .iter()
        .map(|i| {
            (
                i.path.clone(),
                i.container.clone(),
                i.value.clone(),
                src[i.span.clone()].to_owned(),
                i.style,
            )
        })
        .collect()
}

fn own(want: &[Want<'_>]) -> Vec<(String, Option<String>, String, String, ScalarStyle)> {
    want.iter()
        .map(|(p, c, v, t, s)| {
            (
                p.to_string(),
                c.map(str::to_owned),
                v.to_string(),
                t.to_string(),
                *s,
            )
        })
        .collect()
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n";
const C0: &str = "spec.template.spec.containers[0].image";

#[test]
fn finds_images() {
    let deploy = |containers: &str| format!("{DEPLOY}{containers}");
    let cases: Vec<(&str, String, Vec<&str>, Vec<Want<'_>>)> = vec![
        ("plain", deploy("      - name: app\n        image: nginx:1.0\n"), vec![], vec![(C0, Some("app"), "nginx:1.0", "nginx:1.0", Plain)]),
        (
            "double-quoted with comment",
            deploy("      - name: app\n        image: \"x:1\"  # c\n"),
            vec![],
            vec![(C0, Some("app"), "x:1", "\"x:1\"", DoubleQuoted)],
        ),
        (
            "single-quoted with comment",
            deploy("      - name: app\n        image: 'x:1' # c\n"),
            vec![],
            vec![(C0, Some("app"), "x:1", "'x:1'", SingleQuoted)],
        ),
        (
            "plain with comment",
            deploy("      - name: app\n        image: x:1 # c 'd'\n"),
            vec![],
            vec![(C0, Some("app"), "x:1", "x:1", Plain)],
        ),
        (
            "single-quoted with doubled quote",
            deploy("      - image: 'it''s:1'\n"),
            vec![],
            vec![(C0, None, "it's:1", "'it''s:1'", SingleQuoted)],
        ),
        (
            "double-quoted with escapes",
            deploy("      - image: \"x\\u003a1\\\"\"\n"),
            vec![],
            vec![(C0, None, "x:1\"", "\"x\\u003a1\\\"\"", DoubleQuoted)],
        ),
        (
            "multi-byte text before the image",
            format!(
                "# café ☕ 😀 漢字\nmetadata:\n  name: é\n  annotations:\n    note: \"日本語 😀\"\n{}",
                &deploy("      - name: 😀\n        image: 'ü/x:1' # ö\n")[19..]
            ),
            vec![],
            vec![(C0, Some("😀"), "ü/x:1", "'ü/x:1'", SingleQuoted)],
        ),
        (
            "flow container list",
            deploy("        [{name: a, image: x:1}, {name: b, image: \"y:2\"}]\n").replace("containers:\n", "containers:"),
            vec![],
            vec![
                (C0, Some("a"), "x:1", "x:1", Plain),
                ("spec.template.spec.containers[1].image", Some("b"), "y:2", "\"y:2\"", DoubleQuoted),
            ],
        ),
        (
            "flow container mapping",
            deploy("      - {image: x:1}\n"),
            vec![],
            vec![(C0, None, "x:1", "x:1", Plain)],
        ),
        (
            "sequence items at the key's indentation",
            "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: x:1\n  initContainers:\n  - name: b\n    image: y:2\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", Some("a"), "x:1", "x:1", Plain),
                ("spec.initContainers[0].image", Some("b"), "y:2", "y:2", Plain),
            ],
        ),
        (
            "json document",
            r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "x:1", "name": "a"}]}}"#.into(),
            vec![],
            vec![("spec.containers[0].image", Some("a"), "x:1", "\"x:1\"", DoubleQuoted)],
        ),
        (
            "pretty json",
            "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"containers\": [\n      {\n        \"image\": \"x:1\"\n      }\n    ]\n  }\n}\n".into(),
            vec![],
            vec![("spec.containers[0].image", None, "x:1", "\"x:1\"", DoubleQuoted)],
        ),
        (
            "separators, document ends, directives, leading comments",
            "%YAML 1.2\n# lead\n---\nkind: Pod\nspec: {containers: [{image: a:1}]}\n...\n---\n# second\nkind: Pod\nspec: {containers: [{image: b:2}]}\n...\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", None, "a:1", "a:1", Plain),
                ("spec.containers[0].image", None, "b:2", "b:2", Plain),
            ],
        ),
        (
            "crlf line endings",
            "kind: Pod\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: x:1\r\n  - image: \"y:2\" # c\r\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", Some("a"), "x:1", "x:1", Plain),
                ("spec.containers[1].image", None, "y:2", "\"y:2\"", DoubleQuoted),
            ],
        ),
        (
            "lone cr line endings",
            "kind: Pod\rspec:\r  containers:\r  - name: a # c\r    image: x:1\r  - image: \"y:2\" # c\r".into(),
            vec![],
            vec![
                ("spec.containers[0].image", Some("a"), "x:1", "x:1", Plain),
                ("spec.containers[1].image", None, "y:2", "\"y:2\"", DoubleQuoted),
            ],
        ),
        (
            "mixed line endings",
            "kind: Pod\r\nspec:\r  containers:\n  - image: &i x:1 # c\r    name: a\r\n".into(),
            vec![],
            vec![("spec.containers[0].image", Some("a"), "x:1", "x:1", Plain)],
        ),
        (
            "empty and null documents",
            "---\n---\nnull\n---\n# nothing\n---\n~\n---\nkind: Pod\nspec: {containers: [{image: x:1}]}\n---\n".into(),
            vec![],
            vec![("spec.containers[0].image", None, "x:1", "x:1", Plain)],
        ),
        ("byte order mark", "\u{feff}kind: Pod\nspec: {containers: [{image: x:1}]}\n".into(), vec![], vec![("spec.containers[0].image", None, "x:1", "x:1", Plain)]),
        (
            "anchor and tag before the image",
            deploy("      - image: &img x:1\n      - image: !!str 'y:2'\n      - image: !<tag:yaml.org,2002:str> z:3\n"),
            vec![],
            vec![
                (C0, None, "x:1", "x:1", Plain),
                ("spec.template.spec.containers[1].image", None, "y:2", "'y:2'", SingleQuoted),
                ("spec.template.spec.containers[2].image", None, "z:3", "z:3", Plain),
            ],
        ),
        (
            "an alias of a string is an image, of a string that is no container not",
            deploy("      - image: &img x:1\n      - image: *img\n      - *img\n"),
            vec![],
            vec![
                (C0, None, "x:1", "x:1", Plain),
                ("spec.template.spec.containers[1].image", None, "x:1", "*img", ScalarStyle::Alias),
            ],
        ),
        (
            "alias of a container list",
            "kind: Pod\nx: &l [{name: a, image: a:1}]\nspec:\n  containers: *l\n".into(),
            vec![],
            vec![("spec.containers[0].image", Some("a"), "a:1", "a:1", Plain)],
        ),
        (
            "alias of a container",
            "kind: Pod\nspec:\n  containers:\n  - &c {name: a, image: a:1}\n  initContainers: [*c]\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", Some("a"), "a:1", "a:1", Plain),
                ("spec.initContainers[0].image", Some("a"), "a:1", "a:1", Plain),
            ],
        ),
        (
            "merge keys bring containers and images in; the mapping's own keys win",
            "kind: List\nitems:\n- kind: Pod\n  spec: &s\n    containers:\n    - &c\n      name: a\n      image: a:1\n- kind: Pod\n  spec:\n    <<: *s\n- kind: Pod\n  spec:\n    <<: *s\n    initContainers:\n    - <<: [{image: b:2}, *c]\n      name: b\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", Some("a"), "a:1", "a:1", Plain),
                ("spec.containers[0].image", Some("a"), "a:1", "a:1", Plain),
                ("spec.containers[0].image", Some("a"), "a:1", "a:1", Plain),
                ("spec.initContainers[0].image", Some("b"), "b:2", "b:2", Plain),
            ],
        ),
        (
            "an anchored node keeps what another place of it needs",
            "kind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - &c {name: m, image: a:1, extra: {image: b:1}}\n- kind: MyApp\n  spec: {app: *c}\n".into(),
            vec!["MyApp:spec.app.extra.image"],
            vec![
                ("spec.containers[0].image", Some("m"), "a:1", "a:1", Plain),
                ("spec.app.extra.image", None, "b:1", "b:1", Plain),
            ],
        ),
        (
            "an alias of itself ends",
            "kind: Pod\nspec: &s\n  <<: *s\n  containers: [{image: a:1}]\n".into(),
            vec![],
            vec![("spec.containers[0].image", None, "a:1", "a:1", Plain)],
        ),
        (
            "non-strings are skipped",
            deploy("      - image:\n      - image: ~\n      - image: 1.5\n      - image: true\n      - image: !!int \"5\"\n      - image: |\n          x:1\n      - image: {a: b}\n      - image: '1.5'\n"),
            vec![],
            vec![("spec.template.spec.containers[7].image", None, "1.5", "'1.5'", SingleQuoted)],
        ),
        (
            "multi-line plain scalar",
            deploy("      - image: x:1\n          y\n        name: a\n"),
            vec![],
            vec![(C0, Some("a"), "x:1 y", "x:1\n          y", Plain)],
        ),
        (
            "duplicate key: the last wins",
            deploy("      - image: a:1\n        image: b:2\n"),
            vec![],
            vec![(C0, None, "b:2", "b:2", Plain)],
        ),
        (
            "pod-like spec on another kind is not a pod",
            "kind: Thing\nspec:\n  containers:\n  - image: x:1\n".into(),
            vec![],
            vec![],
        ),
        (
            "extra paths",
            "kind: MyKind\nspec:\n  image: a:1\n  images: [b:2, c:3]\n  workers:\n  - name: w\n    image: d:4\n".into(),
            vec!["spec.image", "MyKind:spec.images[1]", "spec.workers[*].image", "Other:spec.images[0]"],
            vec![
                ("spec.image", None, "a:1", "a:1", Plain),
                ("spec.images[1]", None, "c:3", "c:3", Plain),
                ("spec.workers[0].image", Some("w"), "d:4", "d:4", Plain),
            ],
        ),
        (
            "extra path repeating a built-in one is reported once",
            "kind: Pod\nspec: {containers: [{image: x:1}]}\n".into(),
            vec!["spec.containers[*].image"],
            vec![("spec.containers[0].image", None, "x:1", "x:1", Plain)],
        ),
        (
            "list of objects",
            "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec: {containers: [{image: a:1}]}\n- kind: Deployment\n  spec:\n    template: {spec: {initContainers: [{image: b:2}]}}\n".into(),
            vec![],
            vec![
                ("spec.containers[0].image", None, "a:1", "a:1", Plain),
                ("spec.template.spec.initContainers[0].image", None, "b:2", "b:2", Plain),
            ],
        ),
        (
            "deeply nested text elsewhere is skipped",
            format!("deep: {}{}
kind: Pod
spec: {{containers: [{{image: x:1}}]}}
", "[".repeat(250), "]".repeat(250)),
            vec![],
            vec![("spec.containers[0].image", None, "x:1", "x:1", Plain)],
        ),
    ];
    for (name, src, extra, want) in cases {
        assert_eq!(found(&src, &extra), own(&want), "{name}");
    }
}

#[test]
fn finds_images_of_every_workload_kind() {
    let pod = "containers: [{name: c, image: c:1}]\n      initContainers: [{name: i, image: i:1}]\n      ephemeralContainers: [{name: e, image: e:1}]";
    let template = format!("spec:\n  template:\n    spec:\n      {pod}\n");
    let cases = [
        ("Pod", format!("kind: Pod\nspec:\n      {pod}\n"), "spec"),
        (
            "PodTemplate",
            format!("kind: PodTemplate\ntemplate:\n    spec:\n      {pod}\n"),
            "template.spec",
        ),
        (
            "Deployment",
            format!("kind: Deployment\n{template}"),
            "spec.template.spec",
        ),
        (
            "StatefulSet",
            format!("kind: StatefulSet\n{template}"),
            "spec.template.spec",
        ),
        (
            "DaemonSet",
            format!("kind: DaemonSet\n{template}"),
            "spec.template.spec",
        ),
        (
            "ReplicaSet",
            format!("kind: ReplicaSet\n{template}"),
            "spec.template.spec",
        ),
        (
            "ReplicationController",
            format!("kind: ReplicationController\n{template}"),
            "spec.template.spec",
        ),
        (
            "Job",
            format!("kind: Job\n{template}"),
            "spec.template.spec",
        ),
        (
            "Rollout",
            format!("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n{template}"),
            "spec.template.spec",
        ),
        (
            "custom kind with a pod template",
            format!("kind: Whatever\n{template}"),
            "spec.template.spec",
        ),
        (
            "CronJob",
            format!(
                "kind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          {}\n",
                pod.replace("\n      ", "\n          ")
            ),
            "spec.jobTemplate.spec.template.spec",
        ),
    ];
    for (name, src, prefix) in cases {
        let want: Vec<(String, Option<String>, String, String, ScalarStyle)> = [
            ("containers", "c"),
            ("initContainers", "i"),
            ("ephemeralContainers", "e"),
        ]
        .iter()
        .map(|(list, c)| {
            (
                format!("{prefix}.{list}[0].image"),
                Some(c.to_string()),
                format!("{c}:1"),
                format!("{c}:1"),
                Plain,
            )
        })
        .collect();
        assert_eq!(found(&src, &[]), want, "{name}");
    }
}

#[test]
fn reads_objects() {
    let src = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: ns, annotations: {x: '1', n: 2, b: true, e: , m: {k: v}}}\n---\nnot: [an, object]\n---\n- a sequence\n---\n\"a scalar\"\n---\n{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"d\", \"annotations\": {\"k\": \"é\"}}}\n";
    let scan = scan(src, &[]).unwrap();
    assert_eq!(scan.documents, 5, "documents");
    let got: Vec<_> = scan
        .objects
        .iter()
        .map(|o| {
            (
                o.document,
                o.api_version.as_deref(),
                o.kind.as_deref(),
                o.name.as_deref(),
                o.namespace.as_deref(),
                o.annotations.clone(),
                o.to_string(),
            )
        })
        .collect();
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let want = vec![
        (
            0,
            Some("v1"),
            Some("Pod"),
            Some("a"),
            Some("ns"),
            pairs(&[("x", "1"), ("n", "2"), ("b", "true"), ("e", "")]),
            "Pod 'a' (document 1)".to_owned(),
        ),
        (
            1,
            None,
            None,
            None,
            None,
            vec![],
            "object without a name (document 2)".to_owned(),
        ),
        (
            4,
            Some("apps/v1"),
            Some("Deployment"),
            Some("d"),
            None,
            pairs(&[("k", "é")]),
            "Deployment 'd' (document 5)".to_owned(),
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(
        scan.objects[2].annotation("k"),
        Some("é"),
        "annotation lookup"
    );
    assert_eq!(
        scan.objects[2].annotation("missing"),
        None,
        "missing annotation"
    );
}

#[test]
fn reports_bad_yaml() {
    let deep = format!("a: {}\n", "[".repeat(300));
    let cases = [
        (
            "bad indentation",
            "a: b\n  c: d\n",
            "invalid yaml in document 1 at line 2, column 4: mapping values are not allowed in this context",
        ),
        (
            "error in the second document",
            "kind: Pod\n---\nkey: [unclosed\n",
            "invalid yaml in document 2 at line 4, column 1: while parsing a flow sequence, expected ',' or ']'",
        ),
        (
            "tab indentation",
            "a:\n\t- b\n",
            "invalid yaml in document 1 at line 2, column 2: tabs disallowed within this context (block indentation)",
        ),
        (
            "unterminated quote",
            "image: \"x:1\n",
            "invalid yaml in document 1 at line 1, column 8: while scanning a quoted scalar, found unexpected end of stream",
        ),
        (
            "nesting deeper than the parser allows",
            &deep,
            "invalid yaml in document 1 at line 1, column 259: recursion limit exceeded",
        ),
        (
            "undefined alias",
            "a: *nope\n",
            "invalid yaml in document 1 at line 1, column 4: while parsing node, found unknown anchor",
        ),
        // The parser took these into the scalar, so they reached the output (found by the malformed-input table).
        (
            "control character in a plain scalar",
            "image: app:1\u{1}\n",
            "invalid yaml in document 1 at line 1, column 13: the character \\u{1} is not allowed in YAML; write \
             it escaped in a double-quoted string",
        ),
        (
            "NUL in the second document",
            "---\nkind: Pod\n---\nkind: Pod\nx: a\0b\n",
            "invalid yaml in document 2 at line 5, column 5: the character \\0 is not allowed in YAML; write it \
             escaped in a double-quoted string",
        ),
        (
            "DEL after a lone CR",
            "a: 1\rb: \u{7f}\n",
            "invalid yaml in document 1 at line 2, column 4: the character \\u{7f} is not allowed in YAML; write \
             it escaped in a double-quoted string",
        ),
        (
            "C1 control",
            "a: x\u{9b}y\n",
            "invalid yaml in document 1 at line 1, column 5: the character \\u{9b} is not allowed in YAML; write \
             it escaped in a double-quoted string",
        ),
        (
            // Go's YAML reader (Argo CD's) breaks the line here, so it would see an image this scan takes for a
            // comment (found in review).
            "line separator in a comment",
            "a: 1 # x\u{2028}image: b\n",
            "invalid yaml in document 1 at line 1, column 9: the character \\u{2028} is a line break to some YAML \
             readers (Argo CD's among them) and not to others; write it escaped in a double-quoted string",
        ),
        (
            "next line",
            "a: x\u{85}y\n",
            "invalid yaml in document 1 at line 1, column 5: the character \\u{85} is a line break to some YAML \
             readers (Argo CD's among them) and not to others; write it escaped in a double-quoted string",
        ),
        (
            "noncharacter",
            "a: \u{fffe}\n",
            "invalid yaml in document 1 at line 1, column 4: the character \\u{fffe} is not allowed in YAML; \
             write it escaped in a double-quoted string",
        ),
    ];
    for (name, src, want) in cases {
        let err = scan(src, &[]).expect_err(name);
        assert_eq!(err.to_string(), want, "{name}");
    }
}

/// Image values by container name (others as written), through [`replace_images`].
fn replaced_by_container(src: &str, new: &[(&str, &str)]) -> Result<String, String> {
    let found = scan(src, &[]).map_err(|e| e.to_string())?;
    let values: Vec<Option<String>> = found
        .images
        .iter()
        .map(|i| {
            new.iter()
                .find(|(c, _)| i.container.as_deref() == Some(c))
                .map(|(_, v)| (*v).to_owned())
        })
        .collect();
    let edits = replace_images(&found, &values).map_err(|e| e.to_string())?;
    let out = splice(src, &edits).map_err(|e| e.to_string())?;
    // What was asked is what the output means.
    let again = scan(&out, &[]).unwrap_or_else(|e| panic!("{e}\n{out}"));
    for image in &again.images {
        let want = new
            .iter()
            .find(|(c, _)| image.container.as_deref() == Some(c));
        if let Some((c, v)) = want {
            assert_eq!(&image.value, v, "container {c} in\n{out}");
        }
    }
    Ok(out)
}

/// Name, input, new image by container name, expected output or error.
type AnchorCase<'a> = (
    &'a str,
    String,
    Vec<(&'a str, &'a str)>,
    Result<String, &'a str>,
);

/// Regression (issue 9, item 5): an image reached through an alias kept its old value while the anchored one
/// moved, and patching an anchored image changed what its aliases meant elsewhere.
#[test]
fn anchors_keep_their_meaning() {
    let pod = |containers: &str| {
        format!("kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n{containers}")
    };
    let cases: Vec<AnchorCase<'_>> = vec![
        (
            "alias at an image, anchor elsewhere: the alias gets its own value",
            "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    base-image: &img reg.example/a:1.0.0\nspec:\n  containers:\n  - name: main\n    image: reg.example/a:1.0.0\n  - name: sidecar\n    image: *img # same\n".into(),
            vec![("main", "reg.example/a:1.1.0"), ("sidecar", "reg.example/a:1.1.0")],
            Ok("kind: Pod\nmetadata:\n  name: p\n  annotations:\n    base-image: &img reg.example/a:1.0.0\nspec:\n  containers:\n  - name: main\n    image: reg.example/a:1.1.0\n  - name: sidecar\n    image: reg.example/a:1.1.0 # same\n".into()),
        ),
        (
            "anchored image and its alias both move: one edit",
            pod("  - name: main\n    image: &img a:1\n  - name: sidecar\n    image: *img\n"),
            vec![("main", "a:2"), ("sidecar", "a:2")],
            Ok(pod("  - name: main\n    image: &img a:2\n  - name: sidecar\n    image: *img\n")),
        ),
        (
            "anchored image moves, its alias keeps its value",
            pod("  - name: main\n    image: &img a:1\n  - name: sidecar\n    image: *img\n"),
            vec![("main", "a:2")],
            Ok(pod("  - name: main\n    image: &img a:2\n  - name: sidecar\n    image: a:1\n")),
        ),
        (
            "alias moves, the anchored image stays",
            pod("  - name: main\n    image: &img a:1\n  - name: sidecar\n    image: *img\n"),
            vec![("sidecar", "needs quotes: a")],
            Ok(pod("  - name: main\n    image: &img a:1\n  - name: sidecar\n    image: \"needs quotes: a\"\n")),
        ),
        (
            "a container list shared by two objects moves as one",
            "kind: List\nitems:\n- kind: Pod\n  spec:\n    containers: &c\n    - name: main\n      image: a:1\n- kind: Pod\n  spec:\n    containers: *c\n".into(),
            vec![("main", "a:2")],
            Ok("kind: List\nitems:\n- kind: Pod\n  spec:\n    containers: &c\n    - name: main\n      image: a:2\n- kind: Pod\n  spec:\n    containers: *c\n".into()),
        ),
        (
            "a merged pod spec moves with its anchor",
            "kind: List\nitems:\n- kind: Pod\n  spec: &s\n    containers: [{name: main, image: a:1}]\n- kind: Pod\n  spec:\n    <<: *s\n    nodeName: n\n".into(),
            vec![("main", "a:2")],
            Ok("kind: List\nitems:\n- kind: Pod\n  spec: &s\n    containers: [{name: main, image: a:2}]\n- kind: Pod\n  spec:\n    <<: *s\n    nodeName: n\n".into()),
        ),
        (
            "unchanged images need no edit, whatever the anchors",
            pod("  - name: main\n    image: &img a:1\n    env: [{name: X, value: *img}]\n"),
            vec![("main", "a:1")],
            Ok(pod("  - name: main\n    image: &img a:1\n    env: [{name: X, value: *img}]\n")),
        ),
        (
            "anchored image also used where no image is",
            pod("  - name: main\n    image: &img a:1\n    env: [{name: X, value: *img}]\n"),
            vec![("main", "a:2")],
            Err("cannot write image 'a:2' at line 7 of document 1: anchor '&img' (line 7) gives its text to 2 places, 1 of them not images set to it; changing it would change those too, so write the image out instead of sharing it through the anchor"),
        ),
        (
            "container list also used where no image is",
            "kind: Pod\nx: &l [{name: main, image: a:1}]\nspec:\n  containers: *l\n".into(),
            vec![("main", "a:2")],
            Err("cannot write image 'a:2' at line 2 of document 1: anchor '&l' (line 2) gives its text to 2 places, 1 of them not images set to it; changing it would change those too, so write the image out instead of sharing it through the anchor"),
        ),
        (
            "an alias inside a container list that is also used where no image is",
            "kind: Pod\nbase: &b x:1\nx: &l [{name: main, image: *b}]\nspec:\n  containers: *l\n".into(),
            vec![("main", "a:2")],
            Err("cannot write image 'a:2' at line 3 of document 1: anchor '&l' (line 3) gives its text to 2 places, 1 of them not images set to it; changing it would change those too, so write the image out instead of sharing it through the anchor"),
        ),
        (
            "nothing to change through a shared container",
            "kind: Pod\nspec:\n  containers:\n  - &c {name: main, image: a:1}\n  initContainers: [*c]\n".into(),
            vec![],
            Ok("kind: Pod\nspec:\n  containers:\n  - &c {name: main, image: a:1}\n  initContainers: [*c]\n".into()),
        ),
        (
            "a merge whose key the mapping overrides still counts as a use",
            "kind: List\nitems:\n- kind: Pod\n  spec: &s\n    containers: [{name: main, image: a:1}]\n- kind: Pod\n  spec:\n    <<: *s\n    containers: [{name: other, image: b:1}]\n".into(),
            vec![("main", "a:2")],
            Err("cannot write image 'a:2' at line 5 of document 1: anchor '&s' (line 4) gives its text to 2 places, 1 of them not images set to it; changing it would change those too, so write the image out instead of sharing it through the anchor"),
        ),
        (
            "an alias of itself is refused, not followed for ever",
            "kind: Pod\nspec: &s\n  <<: *s\n  containers: [{name: main, image: a:1}]\n".into(),
            vec![("main", "a:2")],
            Err("cannot write image 'a:2' at line 4 of document 1: anchor '&s' (line 2) gives its text to endlessly many places, endlessly many of them not images set to it; changing it would change those too, so write the image out instead of sharing it through the anchor"),
        ),
    ];
    for (name, src, new, want) in cases {
        let got = replaced_by_container(&src, &new);
        assert_eq!(got, want.map_err(str::to_owned), "{name}");
    }
}

/// Two containers sharing one text through an anchor cannot get two values.
#[test]
fn one_text_cannot_hold_two_images() {
    let src = "kind: Pod\nspec:\n  containers:\n  - &c {name: main, image: a:1}\n  initContainers: [*c]\n";
    let found = scan(src, &[]).unwrap();
    let values = vec![Some("a:2".to_owned()), Some("a:3".to_owned())];
    assert_eq!(
        replace_images(&found, &values).unwrap_err().to_string(),
        "cannot write image 'a:2' at line 4 of document 1: anchor '&c' (line 4) makes the same text image 'a:3' too; write each image out instead of sharing it through the anchor"
    );
}

/// Regression (issue 9, item 10): 50 MB of manifests ran 5 s past a 1 s budget, as nothing asked the clock.
#[test]
fn stops_when_asked() {
    let pod = "---\nkind: Pod\nspec:\n  containers:\n  - image: x:1\n";
    let src = pod.repeat(1000);
    let mut asked = 0;
    let err = scan_until(&src, &[], &mut || {
        asked += 1;
        asked == 3
    })
    .unwrap_err();
    // The stream starts with one event and each Pod is 16, so event 3072, the third question, ends Pod 192.
    assert_eq!(
        err.to_string(),
        "gave up reading at line 961 (document 192): the time allowed ran out"
    );
    let mut never = || false;
    assert_eq!(
        scan_until(&src, &[], &mut never).unwrap().images.len(),
        1000
    );
}

fn replaced(src: &str, new: &str) -> String {
    let scan = scan(src, &[]).unwrap();
    let edits: Vec<Edit> = scan.images.iter().map(|i| i.replace(new)).collect();
    splice(src, &edits).unwrap()
}

#[test]
fn replaces_images() {
    let pod = |image: &str| {
        format!("kind: Pod\nspec:\n  containers:\n  - image: {image}  # c\n    name: a\n")
    };
    let cases = [
        (
            "plain stays plain",
            pod("x:1"),
            "reg.io/x:2",
            pod("reg.io/x:2"),
        ),
        (
            "digest stays plain",
            pod("x:1"),
            "x@sha256:ab",
            pod("x@sha256:ab"),
        ),
        (
            "plain to double when a comment would start",
            pod("x:1"),
            "x #2",
            pod("\"x #2\""),
        ),
        (
            "plain to double when it would read as a number",
            pod("x:1"),
            "1.5",
            pod("\"1.5\""),
        ),
        (
            "plain to double when it would read as a bool",
            pod("x:1"),
            "yes",
            pod("\"yes\""),
        ),
        (
            "plain to double when it would end in a colon",
            pod("x:1"),
            "x:",
            pod("\"x:\""),
        ),
        (
            "single stays single",
            pod("'x:1'"),
            "it's:2",
            pod("'it''s:2'"),
        ),
        (
            "single to double for a line break",
            pod("'x:1'"),
            "a\nb",
            pod("\"a\\nb\""),
        ),
        (
            "double stays double",
            pod("\"x:1\""),
            "a\"b\\c",
            pod("\"a\\\"b\\\\c\""),
        ),
        (
            "flow plain with a comma goes double",
            "kind: Pod\nspec: {containers: [{image: x:1}]}\n".into(),
            "a,b",
            "kind: Pod\nspec: {containers: [{image: \"a,b\"}]}\n".into(),
        ),
        ("anchor kept", pod("&i x:1"), "y:2", pod("&i y:2")),
        (
            "multi-byte around",
            "# é\nkind: Pod\nspec: {containers: [{name: 漢, image: 'x:1'}]} # 😀\n".into(),
            "ü:2",
            "# é\nkind: Pod\nspec: {containers: [{name: 漢, image: 'ü:2'}]} # 😀\n".into(),
        ),
        (
            "crlf",
            pod("x:1").replace('\n', "\r\n"),
            "y:2",
            pod("y:2").replace('\n', "\r\n"),
        ),
        (
            "lone cr",
            pod("x:1").replace('\n', "\r"),
            "y:2",
            pod("y:2").replace('\n', "\r"),
        ),
    ];
    for (name, src, new, want) in cases {
        assert_eq!(replaced(&src, new), want, "{name}");
    }
}

#[test]
fn json_stays_json() {
    let src = "{\n  \"kind\": \"Pod\",\n  \"spec\": {\"containers\": [{\"image\": \"x:1\"}]}\n}\n";
    for (name, new) in [
        ("plain", "y:2"),
        ("quote", "a\"b"),
        ("control", "a\u{1}\u{2028}"),
        ("unicode", "é😀"),
    ] {
        let out = replaced(src, new);
        let json: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}"));
        assert_eq!(json["spec"]["containers"][0]["image"], new, "{name}");
    }
}

/// Name, input, annotations to set, expected output.
type AnnotateCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

fn annotated(src: &str, pairs: &[(&str, &str)]) -> Result<String, String> {
    let scan = scan(src, &[]).map_err(|e| e.to_string())?;
    let mut edits = Vec::new();
    for object in &scan.objects {
        edits.extend(object.set_annotations(pairs).map_err(|e| e.to_string())?);
    }
    splice(src, &edits).map_err(|e| e.to_string())
}

#[test]
fn sets_annotations() {
    let one = [("example.io/image", "x:1")];
    let cases: Vec<AnnotateCase<'_>> = vec![
        (
            "metadata without annotations",
            "kind: Pod\nmetadata:\n  name: a\nspec: {}\n",
            &one,
            "kind: Pod\nmetadata:\n  annotations:\n    example.io/image: \"x:1\"\n  name: a\nspec: {}\n",
        ),
        (
            "metadata indented by four",
            "kind: Pod\nmetadata:\n    name: a\n",
            &one,
            "kind: Pod\nmetadata:\n    annotations:\n        example.io/image: \"x:1\"\n    name: a\n",
        ),
        (
            "block annotations",
            "metadata:\n  annotations:\n    a: b  # c\n    c: |\n      text\n  name: a\n",
            &one,
            "metadata:\n  annotations:\n    example.io/image: \"x:1\"\n    a: b  # c\n    c: |\n      text\n  name: a\n",
        ),
        (
            "two annotations, one key twice",
            "metadata:\n  annotations:\n    a: b\n",
            &[("k1", "1"), ("k2", "2"), ("k1", "3")],
            "metadata:\n  annotations:\n    k1: \"3\"\n    k2: \"2\"\n    a: b\n",
        ),
        (
            "replace a plain value",
            "metadata:\n  annotations:\n    example.io/image: old  # c\n",
            &one,
            "metadata:\n  annotations:\n    example.io/image: \"x:1\"  # c\n",
        ),
        (
            "replace a repeated key's last value",
            "metadata:\n  annotations:\n    k: a\n    k: 'b'\n",
            &[("k", "v")],
            "metadata:\n  annotations:\n    k: a\n    k: \"v\"\n",
        ),
        (
            "replace a block value",
            "metadata:\n  annotations:\n    k: |-\n      line 1\n\n      line 2\n\n    j: x\n",
            &[("k", "v")],
            "metadata:\n  annotations:\n    k: \"v\"\n\n    j: x\n",
        ),
        (
            "replace an empty value",
            "metadata:\n  annotations:\n    k:\n",
            &[("k", "v")],
            "metadata:\n  annotations:\n    k: \"v\"\n",
        ),
        (
            "flow annotations",
            "metadata:\n  annotations: {a: b}\n",
            &one,
            "metadata:\n  annotations: {\"example.io/image\": \"x:1\", a: b}\n",
        ),
        (
            "empty flow annotations",
            "metadata:\n  annotations: {}\n",
            &one,
            "metadata:\n  annotations: {\"example.io/image\": \"x:1\"}\n",
        ),
        (
            "null annotations",
            "metadata:\n  annotations:\n  name: a\n",
            &one,
            "metadata:\n  annotations: {\"example.io/image\": \"x:1\"}\n  name: a\n",
        ),
        (
            "explicit null annotations",
            "metadata:\n  annotations: null # c\n",
            &one,
            "metadata:\n  annotations: {\"example.io/image\": \"x:1\"} # c\n",
        ),
        (
            "no metadata",
            "apiVersion: v1\nkind: ConfigMap\n",
            &one,
            "metadata:\n  annotations:\n    example.io/image: \"x:1\"\napiVersion: v1\nkind: ConfigMap\n",
        ),
        (
            "null metadata",
            "kind: Pod\nmetadata:\n",
            &one,
            "kind: Pod\nmetadata: {\"annotations\": {\"example.io/image\": \"x:1\"}}\n",
        ),
        (
            "flow metadata",
            "kind: Pod\nmetadata: {name: a}\n",
            &one,
            "kind: Pod\nmetadata: {\"annotations\": {\"example.io/image\": \"x:1\"}, name: a}\n",
        ),
        (
            "list items",
            "kind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n",
            &one,
            "kind: List\nitems:\n- metadata:\n    annotations:\n      example.io/image: \"x:1\"\n  apiVersion: v1\n  kind: Pod\n",
        ),
        (
            "crlf",
            "kind: Pod\r\nmetadata:\r\n  name: a\r\n",
            &one,
            "kind: Pod\r\nmetadata:\r\n  annotations:\r\n    example.io/image: \"x:1\"\r\n  name: a\r\n",
        ),
        // Found by the fuzzing property: the byte order mark was counted as a column.
        (
            "byte order mark",
            "\u{feff}kind: Pod\n",
            &one,
            "\u{feff}metadata:\n  annotations:\n    example.io/image: \"x:1\"\nkind: Pod\n",
        ),
        // Regression (issue 9, item 6): with `\r` alone the column was counted from the start of the text.
        (
            "lone cr",
            "kind: Pod\rmetadata:\r  name: a\r",
            &one,
            "kind: Pod\rmetadata:\r  annotations:\r    example.io/image: \"x:1\"\r  name: a\r",
        ),
        (
            "lone cr, annotations after a comment",
            "kind: Pod\rmetadata: # c\r  annotations: # d\r    a: |\r      x\r    b: c\r",
            &[("a", "v")],
            "kind: Pod\rmetadata: # c\r  annotations: # d\r    a: \"v\"\r    b: c\r",
        ),
        (
            "lone cr pretty json",
            "{\r  \"metadata\": {\r    \"annotations\": {\r      \"a\": \"b\"\r    }\r  }\r}\r",
            &one,
            "{\r  \"metadata\": {\r    \"annotations\": {\r      \"example.io/image\": \"x:1\",\r      \"a\": \"b\"\r    }\r  }\r}\r",
        ),
        (
            "mixed line endings: the object's first break",
            "kind: Pod\rmetadata:\r\n  name: a\n",
            &one,
            "kind: Pod\rmetadata:\r\n  annotations:\r    example.io/image: \"x:1\"\r  name: a\n",
        ),
        (
            "key and value needing quotes",
            "metadata:\n  name: a\n",
            &[("a key", "say \"hi\"\n")],
            "metadata:\n  annotations:\n    \"a key\": \"say \\\"hi\\\"\\n\"\n  name: a\n",
        ),
        (
            "explicit key",
            "metadata:\n  ? name\n  : a\n",
            &one,
            "metadata:\n  annotations:\n    example.io/image: \"x:1\"\n  ? name\n  : a\n",
        ),
        (
            "anchored block metadata",
            "metadata: &m\n  name: a\n",
            &one,
            "metadata: &m\n  annotations:\n    example.io/image: \"x:1\"\n  name: a\n",
        ),
        (
            "tagged flow annotations",
            "metadata:\n  annotations: !!map {a: b}\n",
            &one,
            "metadata:\n  annotations: !!map {\"example.io/image\": \"x:1\", a: b}\n",
        ),
        (
            "compact json",
            r#"{"kind":"Pod","metadata":{"name":"a"}}"#,
            &one,
            r#"{"kind":"Pod","metadata":{"annotations": {"example.io/image": "x:1"}, "name":"a"}}"#,
        ),
        (
            "json without metadata",
            r#"{"kind": "Pod"}"#,
            &one,
            r#"{"metadata": {"annotations": {"example.io/image": "x:1"}}, "kind": "Pod"}"#,
        ),
        (
            "pretty json",
            "{\n  \"metadata\": {\n    \"annotations\": {\n      \"a\": \"b\"\n    }\n  }\n}\n",
            &[("k1", "1"), ("k2", "2")],
            "{\n  \"metadata\": {\n    \"annotations\": {\n      \"k1\": \"1\",\n      \"k2\": \"2\",\n      \"a\": \"b\"\n    }\n  }\n}\n",
        ),
    ];
    for (name, src, pairs, want) in cases {
        assert_eq!(annotated(src, pairs).as_deref(), Ok(want), "{name}");
        if src.starts_with('{') {
            let json: serde_json::Value =
                serde_json::from_str(want).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                json["metadata"]["annotations"][pairs[0].0], pairs[0].1,
                "{name}: json"
            );
        }
        let rescanned = scan(want, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for object in &rescanned.objects {
            assert_eq!(
                object.annotation(pairs[pairs.len() - 1].0),
                Some(pairs[pairs.len() - 1].1),
                "{name}: rescan"
            );
        }
    }
}

#[test]
fn refuses_annotations() {
    let cases = [
        (
            "metadata is a sequence",
            "kind: Pod\nmetadata: [a]\n",
            "cannot annotate Pod without a name (document 1): its metadata is a sequence, not a mapping; make it a mapping",
        ),
        (
            "annotations is a string",
            "kind: Pod\nmetadata:\n  name: p\n  annotations: x\n",
            "cannot annotate Pod 'p' (document 1): its metadata.annotations is a scalar, not a mapping; make it a mapping",
        ),
        (
            "annotation value is a mapping",
            "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    k: {a: b}\n",
            "cannot set annotation 'k' on Pod 'p' (document 1): its current value is a mapping, not a string; make it a string",
        ),
        // Regression (issue 9, item 5): annotating one object annotated every object sharing its metadata.
        (
            "metadata shared through an anchor",
            "kind: List\nitems:\n- kind: Pod\n  metadata: &m\n    name: p\n- kind: Pod\n  metadata: *m\n",
            "cannot annotate Pod 'p' (document 1): anchor '&m' (line 4) shares its metadata with other places, which would be annotated too; write the metadata out instead of sharing it through the anchor",
        ),
        (
            "object inside a list shared through an anchor",
            "kind: List\nitems: &l\n- kind: Pod\n  metadata: {name: p}\nx: *l\n",
            "cannot annotate Pod 'p' (document 1): anchor '&l' (line 2) shares its metadata with other places, which would be annotated too; write the metadata out instead of sharing it through the anchor",
        ),
        (
            "annotation value is an alias",
            "x: &v a\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    k: *v\n",
            "cannot set annotation 'k' on Pod 'p' (document 1): its current value is an alias, not a string; make it a string",
        ),
    ];
    for (name, src, want) in cases {
        assert_eq!(
            annotated(src, &[("k", "v")]),
            Err(want.to_owned()),
            "{name}"
        );
    }
}

#[test]
fn splicing_overlapping_edits_fails() {
    let src = "kind: Pod\nspec: {containers: [{image: x:1}]}\n";
    let image = &scan(src, &[]).unwrap().images[0];
    let err = splice(src, &[image.replace("a:1"), image.replace("b:2")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "edits 38..41 and 38..41 overlap; apply them in separate passes"
    );
}
