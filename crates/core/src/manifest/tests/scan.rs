//! Scanning: which images are found where (aliases and merge keys followed), the objects read, bad YAML
//! refused with its place, and giving up when asked.

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

/// Issue 11, item 14: a CRD's `spec` (its schema, most of an install's bytes) is not parsed. Everything else must
/// come out as when the whole stream is parsed: objects, annotations, images and their places, line numbers of
/// what follows, errors. A path of the operator's that names no kind makes the scanner parse CRDs whole, which
/// is the reference here.
#[test]
fn a_crd_spec_goes_unread_and_nothing_else_changes() {
    let crd = |name: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n  \
             annotations:\n    note: \"é — 漢\"\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    \
             schema:\n      openAPIV3Schema:\n        description: \"containers: image: x — 😀\"\n        \
             properties:\n          image: {{type: string}}\n# a comment in column 0\n"
        )
    };
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      \
                      containers:\n      - name: web\n        image: \"reg.example/web:1 — é\"\n";
    let streams = [
        (
            "CRDs between workloads",
            format!(
                "{deployment}---\n{}--- # next\n{deployment}---\n{}",
                crd("a"),
                crd("b")
            ),
        ),
        (
            "CRLF",
            format!("{}---\n{deployment}", crd("a")).replace('\n', "\r\n"),
        ),
        (
            "a head that does not parse alone (`spec:` inside a flow mapping, which is invalid anyway)",
            format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: a,\nspec:\n  \
                 b}}\n---\n{deployment}"
            ),
        ),
    ];
    let whole: [ImagePath; 1] = ["spec.nothing.here[*].image".parse().unwrap()];
    for (name, stream) in &streams {
        // Everything: documents, objects with their annotation sites, images, or the error.
        let (cut, full) = (scan(stream, &[]), scan(stream, &whole));
        assert_eq!(format!("{cut:#?}"), format!("{full:#?}"), "{name}");
    }
    assert!(
        scan(&streams[2].1, &[]).is_err(),
        "invalid YAML, refused as before"
    );
    let cut = scan(&streams[0].1, &[]).unwrap();
    assert_eq!(cut.images.len(), 2, "both Deployments' images");
    let second = &cut.images[1];
    let line = line_breaks(&streams[0].1[..second.span.start]) + 1;
    assert_eq!(
        (second.line, line),
        (38, 38),
        "the second image's line, after a CRD"
    );
    assert_eq!(
        cut.objects[1].annotation("note"),
        Some("é — 漢"),
        "a CRD's annotations are read"
    );

    // A pod-shaped template in a CRD's spec is not a pod spec the API server keeps: not an image.
    let shaped = crd("a").replace(
        "  group: example.com\n",
        "  template:\n    spec:\n      containers:\n      - image: x:1\n",
    );
    assert!(scan(&shaped, &[]).unwrap().images.is_empty());
    assert_eq!(
        scan(&shaped, &whole).unwrap().images.len(),
        1,
        "read whole, the shape matches"
    );

    // An error after a CRD is reported at its line in the stream.
    let broken = format!("{}---\nkind: Pod\nspec: [\n", crd("a"));
    assert_eq!(
        scan(&broken, &[]).unwrap_err(),
        scan(&broken, &whole).unwrap_err()
    );
}
