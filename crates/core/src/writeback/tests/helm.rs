//! The values editor: every style, exact bytes.

use crate::writeback::{ValuePath, set_helm_value, set_helm_values};

fn set(src: &str, path: &str, value: &str) -> Result<String, String> {
    set_helm_value("values.yaml", src, &ValuePath::parse(path).unwrap(), value)
        .map_err(|e| e.to_string())
}

#[test]
fn replaces_only_the_value() {
    for (name, src, path, value, want) in [
        (
            "plain, comment kept",
            "image:\n  tag: v1.0  # pinned\n",
            "image.tag",
            "v1.1",
            "image:\n  tag: v1.1  # pinned\n",
        ),
        (
            "plain version stays plain",
            "image:\n  tag: 1.2.3\n",
            "image.tag",
            "1.2.4",
            "image:\n  tag: 1.2.4\n",
        ),
        (
            "double-quoted",
            "image:\n  tag: \"1.0\"\n",
            "image.tag",
            "1.10",
            "image:\n  tag: \"1.10\"\n",
        ),
        (
            "single-quoted",
            "image:\n  tag: '1.0' # c\n",
            "image.tag",
            "1.10",
            "image:\n  tag: '1.10' # c\n",
        ),
        (
            "plain that would read as a number is quoted",
            "image:\n  tag: v1\n",
            "image.tag",
            "1.20",
            "image:\n  tag: \"1.20\"\n",
        ),
        (
            "plain that would read as a bool",
            "tag: v1\n",
            "tag",
            "on",
            "tag: \"on\"\n",
        ),
        (
            "date-like",
            "tag: v1\n",
            "tag",
            "2024-05-01",
            "tag: \"2024-05-01\"\n",
        ),
        (
            "flow mapping",
            "image: {repository: x, tag: 1.0.0}\n",
            "image.tag",
            "1.1.0",
            "image: {repository: x, tag: 1.1.0}\n",
        ),
        (
            "flow, colon quoted",
            "image: {tag: v1}\n",
            "image.tag",
            "a:b",
            "image: {tag: \"a:b\"}\n",
        ),
        (
            "json",
            "{\"image\": {\"tag\": \"v1\"}}",
            "image.tag",
            "v2",
            "{\"image\": {\"tag\": \"v2\"}}",
        ),
        (
            "crlf",
            "image:\r\n  tag: v1\r\nx: 1\r\n",
            "image.tag",
            "v2",
            "image:\r\n  tag: v2\r\nx: 1\r\n",
        ),
        (
            "multi-byte text before and after",
            "# café ☕\nimage:  # 图像\n  tag: v1 # ünï\n  name: 'é'\n",
            "image.tag",
            "v2",
            "# café ☕\nimage:  # 图像\n  tag: v2 # ünï\n  name: 'é'\n",
        ),
        (
            "null value",
            "image:\n  tag: ~\n",
            "image.tag",
            "v2",
            "image:\n  tag: v2\n",
        ),
        (
            "empty value",
            "image:\n  tag:\n  x: 1\n",
            "image.tag",
            "v2",
            "image:\n  tag: v2\n  x: 1\n",
        ),
        (
            "empty value at the end",
            "image:\n  tag:",
            "image.tag",
            "v2",
            "image:\n  tag: v2",
        ),
        (
            "list item",
            "containers:\n- name: a\n  image: x:1\n- name: b\n  image: y:1\n",
            "containers[1].image",
            "y:2",
            "containers:\n- name: a\n  image: x:1\n- name: b\n  image: y:2\n",
        ),
        (
            "flow list item",
            "tags: [a, b]\n",
            "tags[1]",
            "c",
            "tags: [a, c]\n",
        ),
        (
            "literal dotted key",
            "image.tag: v1\n",
            "image.tag",
            "v2",
            "image.tag: v2\n",
        ),
        (
            "nested beats literal",
            "image.tag: v1\nimage:\n  tag: v1\n",
            "image.tag",
            "v2",
            "image.tag: v1\nimage:\n  tag: v2\n",
        ),
        (
            "same value: unchanged bytes",
            "image:\n  tag:   v1   # x\n",
            "image.tag",
            "v1",
            "image:\n  tag:   v1   # x\n",
        ),
        (
            "anchor never used by an alias",
            "image: &img\n  tag: v1\n",
            "image.tag",
            "v2",
            "image: &img\n  tag: v2\n",
        ),
        ("str tag", "tag: !!str v1\n", "tag", "v2", "tag: !!str v2\n"),
        (
            "document start and end",
            "---\nimage:\n  tag: v1\n...\n",
            "image.tag",
            "v2",
            "---\nimage:\n  tag: v2\n...\n",
        ),
        (
            "bom",
            "\u{feff}image:\n  tag: v1\n",
            "image.tag",
            "v2",
            "\u{feff}image:\n  tag: v2\n",
        ),
        (
            "multi-line plain",
            "tag: a\n  b\nx: 1\n",
            "tag",
            "v2",
            "tag: v2\nx: 1\n",
        ),
    ] {
        assert_eq!(set(src, path, value).as_deref(), Ok(want), "{name}");
    }
}

#[test]
fn creates_missing_keys_in_the_files_style() {
    for (name, src, path, value, want) in [
        (
            "after the last key",
            "image:\n  repository: x\n\nreplicas: 2\n",
            "image.tag",
            "v2",
            "image:\n  repository: x\n  tag: v2\n\nreplicas: 2\n",
        ),
        (
            "after a trailing comment",
            "image:\n  repository: x  # repo\n# end\n",
            "image.tag",
            "v2",
            "image:\n  repository: x  # repo\n  tag: v2\n# end\n",
        ),
        (
            "intermediate keys",
            "replicas: 2\n",
            "image.tag",
            "v2",
            "replicas: 2\nimage:\n  tag: v2\n",
        ),
        (
            "file's indentation",
            "service:\n    port: 80\n",
            "image.tag",
            "v2",
            "service:\n    port: 80\nimage:\n    tag: v2\n",
        ),
        (
            "deep, after a nested mapping",
            "a:\n  b:\n    c: 1\nz: 0\n",
            "a.d.e",
            "v",
            "a:\n  b:\n    c: 1\n  d:\n    e: v\nz: 0\n",
        ),
        (
            "crlf",
            "image:\r\n  tag: v1\r\n",
            "image.repository",
            "x",
            "image:\r\n  tag: v1\r\n  repository: x\r\n",
        ),
        (
            "no final line break",
            "image:\n  tag: v1",
            "image.pullPolicy",
            "Always",
            "image:\n  tag: v1\n  pullPolicy: Always",
        ),
        ("empty file", "", "image.tag", "v1", "image:\n  tag: v1\n"),
        (
            "only comments",
            "# values\n",
            "image.tag",
            "v1",
            "# values\nimage:\n  tag: v1\n",
        ),
        (
            "only comments, no break",
            "# values",
            "image.tag",
            "v1",
            "# values\nimage:\n  tag: v1\n",
        ),
        (
            "empty document",
            "---\n",
            "image.tag",
            "v1",
            "---\nimage:\n  tag: v1\n",
        ),
        (
            "null intermediate",
            "image:\nreplicas: 1\n",
            "image.tag",
            "v1",
            "image:\n  tag: v1\nreplicas: 1\n",
        ),
        (
            "explicit null intermediate",
            "image: ~  # none\nx: 1\n",
            "image.tag",
            "v1",
            "image:  # none\n  tag: v1\nx: 1\n",
        ),
        (
            "empty flow mapping",
            "image: {}\n",
            "image.tag",
            "v1",
            "image: {tag: v1}\n",
        ),
        (
            "flow mapping",
            "image: {repository: x}\n",
            "image.tag",
            "1.0",
            "image: {repository: x, tag: \"1.0\"}\n",
        ),
        (
            "flow root, nested",
            "{a: 1}",
            "b.c",
            "v",
            "{a: 1, b: {c: v}}",
        ),
        (
            "json root",
            "{\"a\": 1}\n",
            "image.tag",
            "v1",
            "{\"a\": 1, \"image\": {\"tag\": \"v1\"}}\n",
        ),
        (
            "after a block scalar",
            "notes: |\n  hi\n\n  there\nimage:\n  x: |\n    y\n",
            "image.tag",
            "v1",
            "notes: |\n  hi\n\n  there\nimage:\n  x: |\n    y\n  tag: v1\n",
        ),
        (
            "single quotes when the file uses them",
            "a: 'x'\n",
            "image.tag",
            "1.0",
            "a: 'x'\nimage:\n  tag: '1.0'\n",
        ),
        (
            "under a list item",
            "containers:\n- name: a\n",
            "containers[0].image",
            "x:1",
            "containers:\n- name: a\n  image: x:1\n",
        ),
        (
            "own key beside a merge key",
            "b: &b {x: 1}\nimage:\n  <<: *b\n",
            "image.tag",
            "v1",
            "b: &b {x: 1}\nimage:\n  <<: *b\n  tag: v1\n",
        ),
        (
            "multi-byte before",
            "# ☕☕\nimage:\n  é: 1\n",
            "image.tag",
            "v1",
            "# ☕☕\nimage:\n  é: 1\n  tag: v1\n",
        ),
    ] {
        assert_eq!(set(src, path, value).as_deref(), Ok(want), "{name}");
    }
}

#[test]
fn sets_several_values_in_order() {
    let values = [
        (
            ValuePath::parse("image.repository").unwrap(),
            "ghcr.io/org/web".to_string(),
        ),
        (ValuePath::parse("image.tag").unwrap(), "1.2.0".to_string()),
    ];
    assert_eq!(
        set_helm_values("values.yaml", "image:\n  repository: old\n", &values).unwrap(),
        "image:\n  repository: ghcr.io/org/web\n  tag: 1.2.0\n"
    );
}

#[test]
fn refuses_what_would_change_more_than_the_value() {
    let pre = "values.yaml: cannot set";
    for (name, src, path, want) in [
        ("scalar on the way", "image: nginx\n", "image.tag", format!("{pre} image.tag: image is a scalar, not a mapping")),
        ("list on the way", "image: [a]\n", "image.tag", format!("{pre} image.tag: image is a list, not a mapping")),
        ("value is a mapping", "image:\n  tag:\n    a: 1\n", "image.tag", format!("{pre} image.tag: it is a mapping, not a plain or quoted value")),
        ("value is a block scalar", "tag: |\n  v1\n", "tag", format!("{pre} tag: it is a block scalar, not a plain or quoted value")),
        ("other tag", "tag: !!int 1\n", "tag", format!("{pre} tag: it has a tag other than !!str, so a string does not belong there")),
        ("root not a mapping", "- a\n", "image.tag", format!("{pre} image.tag: the document is a list, not a mapping")),
        (
            "alias on the way",
            "base: &b\n  tag: v1\nimage: *b\n",
            "image.tag",
            format!("{pre} image.tag: image is an alias (*b), so the value is the anchor's; editing it would change every place the anchor is used; write the value out at image"),
        ),
        (
            "anchored mapping an alias uses",
            "base: &b\n  tag: v1\nimage: *b\n",
            "base.tag",
            format!("{pre} base.tag: base is anchored (&b) and used elsewhere through an alias, so editing it would change those places too; write the value out where it is used"),
        ),
        (
            "anchored value an alias uses",
            "x: &t v1\ny: *t\n",
            "x",
            format!("{pre} x: x is anchored (&t) and used elsewhere through an alias, so editing it would change those places too; write the value out where it is used"),
        ),
        (
            "merge key on the way",
            "b: &b {c: {d: 1}}\nimage:\n  <<: *b\n",
            "image.c.d",
            format!("{pre} image.c.d: image has a merge key (<<), and c may come from it; write c out in image"),
        ),
        ("index of a mapping", "c:\n  a: 1\n", "c[0].image", format!("{pre} c[0].image: c is a mapping, not a list")),
        ("index out of range", "c:\n- a: 1\n", "c[1].image", format!("{pre} c[1].image: c has 1 item(s), so there is no item [1]")),
        ("no list to index", "a: 1\n", "c[0].image", format!("{pre} c[0].image: there is no c to take item [0] of; list items are never created")),
        ("two documents", "a: 1\n---\nb: 2\n", "a", "values.yaml: the file holds more than one YAML document; it must hold one".to_string()),
        ("invalid yaml", "a: [1\n", "a", "values.yaml: invalid YAML at line 2, column 1: while parsing a flow sequence, expected ',' or ']'".to_string()),
    ] {
        assert_eq!(set(src, path, "v2").unwrap_err(), want, "{name}");
    }
}

#[test]
fn paths_are_validated() {
    for (path, ok) in [
        ("image.tag", true),
        ("a[0].b", true),
        ("image..tag", false),
        ("", false),
        ("a[x]", false),
        ("a[]", false),
        ("a]b", false),
        ("[0]", false),
    ] {
        assert_eq!(ValuePath::parse(path).is_ok(), ok, "{path}");
    }
}
