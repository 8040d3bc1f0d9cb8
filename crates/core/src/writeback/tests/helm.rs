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
            // Bug: go-yaml (Helm) read `0X1F` as 31.
            "plain that would read as a number through an upper-case base prefix is quoted",
            "image:\n  tag: v1\n",
            "image.tag",
            "0X1F",
            "image:\n  tag: \"0X1F\"\n",
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

/// Regression (fuzz `writeback_edit`): `{a }` (a key without `:`) gained a value without its `:`.
#[test]
fn keys_without_a_colon() {
    for (name, src, path, want) in [
        (
            "flow, made a mapping",
            "{a }\n",
            "a.sb",
            Ok("{a: {sb: v2} }\n"),
        ),
        ("flow, value set", "{a, b: 1}\n", "a", Ok("{a: v2, b: 1}\n")),
        (
            "explicit block key",
            "? a\n",
            "a",
            Err(
                "values.yaml: cannot set a: it is the missing value of an explicit key (? key), not a plain or quoted value",
            ),
        ),
    ] {
        assert_eq!(
            set(src, path, "v2").as_deref(),
            want.map_err(String::from).as_deref(),
            "{name}"
        );
    }
}

/// Regression (fuzz `writeback_edit`): `{k:, new: v}` — a key added after an empty value right after its `:` made
/// the `:` part of a plain key for libyaml.
#[test]
fn added_after_an_empty_flow_value() {
    assert_eq!(
        set("{a: 1, k: \n}\n", "b", "v2").as_deref(),
        Ok("{a: 1, k: , b: v2 \n}\n")
    );
}

/// Regression (fuzz `writeback_edit`): after `? key` the new key went in at the explicit key's column, inside it.
#[test]
fn added_beside_an_explicit_key() {
    assert_eq!(
        set("? resources:\n  -\n", "b", "v2").as_deref(),
        Ok("? resources:\n  -\nb: v2\n")
    );
}

#[test]
fn a_mapping_as_explicit_key_keeps_its_own_column() {
    assert_eq!(
        set("? a: 1\n  b: 2\n: x\nc:\n  d: 1\n", "c.e", "v2").as_deref(),
        Ok("? a: 1\n  b: 2\n: x\nc:\n  d: 1\n  e: v2\n")
    );
}

/// Regression (fuzz `writeback_edit`): a list item after a missing key was created as a key named `c`.
#[test]
fn list_items_after_missing_keys_are_not_created() {
    assert_eq!(
        set("b: 1\n", "a.c[0].image", "v2").unwrap_err(),
        "values.yaml: cannot set a.c[0].image: there is no c to take item [0] of; list items are never created"
    );
    assert_eq!(
        set("a:\nb: 1\n", "a.c[0].image", "v2").unwrap_err(),
        "values.yaml: cannot set a.c[0].image: there is no c to take item [0] of; list items are never created"
    );
}

/// Regression (fuzz `writeback_edit`): a block list as an explicit key on the lines after its `?`.
#[test]
fn added_beside_a_list_as_explicit_key() {
    assert_eq!(
        set("?\n- a\n: x\n", "b", "v2").as_deref(),
        Ok("?\n- a\n: x\nb: v2\n")
    );
    assert_eq!(set("?\r- a\r", "b", "v2").as_deref(), Ok("?\r- a\rb: v2\r"));
}

/// Regression (fuzz `writeback_edit`): `a:\tv2` is refused by saphyr-parser (the editors' reader) though other
/// readers take it, so the next edit could not read the file.
#[test]
fn a_plain_value_after_a_colon_and_a_tab_is_quoted() {
    assert_eq!(set("a:\t$v1\n", "a", "v2").as_deref(), Ok("a:\t\"v2\"\n"));
    assert_eq!(set("a: \t$v1\n", "a", "v2").as_deref(), Ok("a: \tv2\n"));
}

/// Regression (fuzz `writeback_edit`): a key added after a `|+` scalar went before its trailing blank lines, which
/// are part of its value.
#[test]
fn added_after_a_keep_block_scalar() {
    for (src, want) in [
        ("x: |+\n  a\n\n", "x: |+\n  a\n\nb: v2\n"),
        ("x: |+\n  a\n\n\ny: 1\n", "x: |+\n  a\n\n\ny: 1\nb: v2\n"),
        ("x: |\n  a\n\n", "x: |\n  a\nb: v2\n\n"),
    ] {
        assert_eq!(set(src, "b", "v2").as_deref(), Ok(want), "{src:?}");
    }
}

/// Regression (fuzz `writeback_edit`): an explicit key holding only a comment placed the mapping at the comment's
/// end.
#[test]
fn added_beside_an_empty_explicit_key() {
    assert_eq!(set("? # c\n", "b", "v2").as_deref(), Ok("? # c\nb: v2\n"));
}

/// Regression (fuzz `writeback_edit`): a key added after a `>` scalar ending the file without a line break gave
/// that value a final line break.
#[test]
fn nothing_is_added_after_a_block_scalar_ending_the_file() {
    assert_eq!(
        set("x: >\n  a", "b", "v2").unwrap_err(),
        "values.yaml: cannot add b after the block scalar that ends the file without a line break: the line break \
         before the new line would become part of that value; end the file with a line break first"
    );
    assert_eq!(
        set("x: >-\n  a", "b", "v2").as_deref(),
        Ok("x: >-\n  a\nb: v2")
    );
    assert_eq!(
        set("x: >\n  a\n", "b", "v2").as_deref(),
        Ok("x: >\n  a\nb: v2\n")
    );
}

/// Regression (fuzz `writeback_edit`): a path of 150 keys made a file YAML readers refuse to nest that deep.
#[test]
fn paths_are_at_most_64_keys() {
    let long = vec!["a"; 65].join(".");
    assert_eq!(
        ValuePath::parse(&long).unwrap_err().to_string(),
        format!("'{long}' is not a values path: it has more than 64 keys")
    );
    assert!(ValuePath::parse(&vec!["a"; 64].join(".")).is_ok());
}

#[test]
fn an_anchored_empty_value_is_set_after_its_anchor() {
    assert_eq!(
        set("tag: &t\nx: 1\n", "tag", "v2").as_deref(),
        Ok("tag: &t v2\nx: 1\n")
    );
    assert_eq!(
        set("{tag: &t}\n", "tag", "v2").as_deref(),
        Ok("{tag: &t v2}\n")
    );
}

#[test]
fn an_anchored_null_keeps_its_anchor() {
    assert_eq!(
        set("image: &i ~\n", "image.tag", "v2").as_deref(),
        Ok("image: &i\n  tag: v2\n")
    );
}

/// Regression (fuzz `writeback_edit`): a NEL in a comment is a line break to YAML 1.1 readers (Helm's), text to
/// others: the key added after it read differently. Refused, as the scanner refuses it.
#[test]
fn characters_readers_disagree_about_are_refused() {
    assert_eq!(
        set("# a\u{85}b\n", "x", "v2").unwrap_err(),
        "values.yaml: invalid YAML at line 1, column 4: the character \\u{85} is a line break to some YAML readers \
         (Argo CD's among them) and not to others; write it escaped in a double-quoted string"
    );
}

/// Regression (fuzz `writeback_edit`): a tag on the line after an anchor (`a: &1\n !!str`) belongs to the same
/// empty value; the key added after the first line took the tag.
#[test]
fn properties_across_lines_stay_with_their_value() {
    assert_eq!(
        set("a: &1\n !!str\n", "b", "v2").as_deref(),
        Ok("a: &1\n !!str\nb: v2\n")
    );
}

/// Regression (fuzz `writeback_edit`): a `|+` scalar of blank lines only (with lone CR breaks) lost them to the key
/// added after its header.
#[test]
fn added_after_a_keep_block_scalar_of_blank_lines() {
    assert_eq!(
        set("x: |+\r\r\r", "b", "v2").as_deref(),
        Ok("x: |+\r\r\rb: v2\r")
    );
}
