//! Setting annotations in every layout (block, flow, JSON, null or missing mappings), and what is refused.

use super::*;

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
