//! Writing new image values: styles kept where they can hold the value, JSON kept JSON, anchors keeping their
//! meaning, and edits that cannot be applied together refused.

use super::*;

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
