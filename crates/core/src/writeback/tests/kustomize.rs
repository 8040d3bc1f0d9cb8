//! The kustomization editor: every style, exact bytes.

use crate::writeback::{KustomizeImage, set_kustomize_image};

const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn image(
    name: &str,
    new_name: Option<&str>,
    tag: Option<&str>,
    digest: Option<&str>,
) -> KustomizeImage {
    KustomizeImage {
        name: name.into(),
        new_name: new_name.map(String::from),
        new_tag: tag.map(String::from),
        digest: digest.map(String::from),
    }
}

fn tag(name: &str, tag: &str) -> KustomizeImage {
    image(name, None, Some(tag), None)
}

fn set(src: &str, image: &KustomizeImage) -> Result<String, String> {
    set_kustomize_image("kustomization.yaml", src, image).map_err(|e| e.to_string())
}

#[test]
fn edits_the_matching_entry() {
    let base = "resources:\n- deployment.yaml\n\n# images\nimages:\n- name: web  # the shop\n  newTag: v1.0\n- name: api\n  newTag: v3\n";
    for (name, src, image, want) in [
        ("newTag", base.to_string(), tag("web", "v1.1"), base.replace("v1.0", "v1.1")),
        ("the other entry", base.to_string(), tag("api", "v4"), base.replace("v3", "v4")),
        ("unchanged", base.to_string(), tag("web", "v1.0"), base.to_string()),
        (
            "newTag added to an entry without it",
            "images:\n- name: web\n  newName: ghcr.io/org/web\n".into(),
            image("web", Some("ghcr.io/org/web"), Some("v2"), None),
            "images:\n- name: web\n  newName: ghcr.io/org/web\n  newTag: v2\n".into(),
        ),
        (
            "newName set, newTag replaced",
            "images:\n- name: web\n  newTag: v1\n".into(),
            image("web", Some("ghcr.io/org/web"), Some("v2"), None),
            "images:\n- name: web\n  newTag: v2\n  newName: ghcr.io/org/web\n".into(),
        ),
        (
            "stale newName removed",
            "images:\n- name: web\n  newName: old/web\n  newTag: v1\n".into(),
            tag("web", "v2"),
            "images:\n- name: web\n  newTag: v2\n".into(),
        ),
        (
            "stale digest removed, last line without break",
            format!("images:\n- name: web\n  newTag: v1\n  digest: {SHA}"),
            tag("web", "v2"),
            "images:\n- name: web\n  newTag: v2".into(),
        ),
        (
            "digest first on its line: the next key moves up",
            format!("images:\n- digest: {SHA}\n  name: web\n  newTag: v1\n"),
            tag("web", "v2"),
            "images:\n- name: web\n  newTag: v2\n".into(),
        ),
        (
            "digest set",
            "images:\n- name: web\n  newTag: v1\n".into(),
            image("web", None, Some("v1"), Some(SHA)),
            format!("images:\n- name: web\n  newTag: v1\n  digest: {SHA}\n"),
        ),
        (
            "quoting kept",
            "images:\n- name: \"web\"\n  newTag: '1.0'\n".into(),
            tag("web", "1.10"),
            "images:\n- name: \"web\"\n  newTag: '1.10'\n".into(),
        ),
        (
            "plain tag that must be quoted",
            "images:\n- name: web\n  newTag: v1\n".into(),
            tag("web", "1.20"),
            "images:\n- name: web\n  newTag: \"1.20\"\n".into(),
        ),
        (
            // Bug: kustomize failed "cannot unmarshal number into … newTag" on a plain `0X1F`.
            "plain tags with an upper-case base prefix are quoted",
            "images:\n- name: web\n  newTag: v1\n- name: api\n  newTag: v1\n".into(),
            tag("web", "0B1_0"),
            "images:\n- name: web\n  newTag: \"0B1_0\"\n- name: api\n  newTag: v1\n".into(),
        ),
        (
            "indented list",
            "images:\n    - name: web\n      newTag: v1   # x\n".into(),
            tag("web", "v2"),
            "images:\n    - name: web\n      newTag: v2   # x\n".into(),
        ),
        (
            "flow entry",
            "images: [{name: web, newTag: v1}]\n".into(),
            image("web", Some("r/web"), Some("v2"), None),
            "images: [{name: web, newTag: v2, newName: r/web}]\n".into(),
        ),
        (
            "flow entry, field removed",
            "images: [{name: web, newName: x, newTag: v1}]\n".into(),
            tag("web", "v2"),
            "images: [{name: web, newTag: v2}]\n".into(),
        ),
        (
            "flow entry, last field removed",
            "images: [{name: web, newTag: v1, newName: x}]\n".into(),
            tag("web", "v2"),
            "images: [{name: web, newTag: v2}]\n".into(),
        ),
        (
            "json",
            "{\"images\": [{\"name\": \"web\", \"newTag\": \"v1\"}]}\n".into(),
            image("web", Some("r/web"), Some("v2"), None),
            "{\"images\": [{\"name\": \"web\", \"newTag\": \"v2\", \"newName\": \"r/web\"}]}\n".into(),
        ),
        (
            "crlf",
            "images:\r\n- name: web\r\n  newTag: v1\r\n".into(),
            image("web", Some("r/web"), Some("v2"), None),
            "images:\r\n- name: web\r\n  newTag: v2\r\n  newName: r/web\r\n".into(),
        ),
        (
            "multi-byte",
            "# 图像 ☕\nimages:\n- name: wéb\n  newTag: v1 # é\n".into(),
            tag("wéb", "v2"),
            "# 图像 ☕\nimages:\n- name: wéb\n  newTag: v2 # é\n".into(),
        ),
        (
            "names match as written",
            "images:\n- name: docker.io/library/nginx\n  newTag: '1'\n".into(),
            tag("nginx", "1.27.1"),
            "images:\n- name: docker.io/library/nginx\n  newTag: '1'\n- name: nginx\n  newTag: '1.27.1'\n".into(),
        ),
    ] {
        assert_eq!(set(&src, &image).as_deref(), Ok(want.as_str()), "{name}");
    }
}

#[test]
fn adds_entries_and_lists_in_the_files_style() {
    for (name, src, image, want) in [
        (
            "appended, block",
            "images:\n- name: api\n  newTag: v3  # api\n\nresources:\n- a.yaml\n",
            tag("web", "v1"),
            "images:\n- name: api\n  newTag: v3  # api\n- name: web\n  newTag: v1\n\nresources:\n- a.yaml\n",
        ),
        (
            "appended, indented list with its offset",
            "images:\n  -   name: api\n      newTag: \"3\"\n",
            tag("web", "1.0"),
            "images:\n  -   name: api\n      newTag: \"3\"\n  -   name: web\n      newTag: \"1.0\"\n",
        ),
        (
            "appended with newName and digest",
            "images:\n- name: api\n",
            image("web", Some("ghcr.io/org/web"), Some("v1"), Some(SHA)),
            &*format!("images:\n- name: api\n- name: web\n  newName: ghcr.io/org/web\n  newTag: v1\n  digest: {SHA}\n").leak(),
        ),
        ("appended, flow", "images: [{name: api}]\n", tag("web", "v1"), "images: [{name: api}, {name: web, newTag: v1}]\n"),
        ("empty flow list", "images: []\n", tag("web", "v1"), "images: [{name: web, newTag: v1}]\n"),
        ("images added", "resources:\n- a.yaml\n", tag("web", "v1"), "resources:\n- a.yaml\nimages:\n- name: web\n  newTag: v1\n"),
        (
            "images added with the file's list offset",
            "resources:\n  - a.yaml\n",
            tag("web", "v1"),
            "resources:\n  - a.yaml\nimages:\n  - name: web\n    newTag: v1\n",
        ),
        ("images added, no final break", "resources: [a.yaml]", tag("web", "v1"), "resources: [a.yaml]\nimages:\n- name: web\n  newTag: v1"),
        ("images added, crlf", "resources:\r\n- a.yaml\r\n", tag("web", "v1"), "resources:\r\n- a.yaml\r\nimages:\r\n- name: web\r\n  newTag: v1\r\n"),
        ("images added, flow root", "{resources: [a.yaml]}", tag("web", "v1"), "{resources: [a.yaml], images: [{name: web, newTag: v1}]}"),
        (
            "images added, json",
            "{\"resources\": [\"a.yaml\"]}",
            tag("web", "v1"),
            "{\"resources\": [\"a.yaml\"], \"images\": [{\"name\": \"web\", \"newTag\": \"v1\"}]}",
        ),
        ("empty images", "images:\nresources: []\n", tag("web", "v1"), "images:\n- name: web\n  newTag: v1\nresources: []\n"),
        ("null images", "images: ~ # none\n", tag("web", "v1"), "images: # none\n- name: web\n  newTag: v1\n"),
        ("empty file", "", tag("web", "v1"), "images:\n- name: web\n  newTag: v1\n"),
        ("comments only", "# kustomization\n", tag("web", "1.0"), "# kustomization\nimages:\n- name: web\n  newTag: \"1.0\"\n"),
    ] {
        assert_eq!(set(src, &image).as_deref(), Ok(want), "{name}");
    }
}

#[test]
fn refuses() {
    let pre = "kustomization.yaml:";
    for (name, src, want) in [
        (
            "duplicate entries",
            "images:\n- name: web\n- name: web\n",
            format!(
                "{pre} images holds 2 entries named 'web'; kustomize applies one, so remove the others"
            ),
        ),
        (
            "images not a list",
            "images: web\n",
            format!("{pre} cannot set images: images is a scalar, not a list"),
        ),
        (
            "document not a mapping",
            "- a\n",
            format!("{pre} cannot set images: the document is a list, not a mapping"),
        ),
        (
            "newTag a mapping",
            "images:\n- name: web\n  newTag: {a: 1}\n",
            format!(
                "{pre} cannot set images entry 'web': newTag: it is a mapping, not a plain or quoted value"
            ),
        ),
        (
            "shared entry",
            "images:\n- &w\n  name: web\n  newTag: v1\nother: *w\n",
            format!(
                "{pre} cannot set images entry 'web': images entry 'web' is anchored (&w) and used elsewhere through an alias, so editing it would change those places too; write the value out where it is used"
            ),
        ),
        (
            "images an alias",
            "base: &b\n- name: web\nimages: *b\n",
            format!(
                "{pre} cannot set images: images is an alias (*b), so the value is the anchor's; editing it would change every place the anchor is used; write the value out at images"
            ),
        ),
        (
            "merge key might bring a digest",
            "d: &d {digest: x}\nimages:\n- name: web\n  <<: *d\n",
            format!(
                "{pre} cannot set images entry 'web': newName: images entry 'web' has a merge key (<<), and newName may come from it; write newName out in images entry 'web'"
            ),
        ),
    ] {
        assert_eq!(set(src, &tag("web", "v2")).unwrap_err(), want, "{name}");
    }
}

#[test]
fn keys_without_a_colon() {
    assert_eq!(
        set("{images}\n", &tag("web", "v1")).as_deref(),
        Ok("{images: [{name: web, newTag: v1}]}\n")
    );
    assert_eq!(
        set("images: [{name: web, newTag}]\n", &tag("web", "v1")).as_deref(),
        Ok("images: [{name: web, newTag: v1}]\n")
    );
}

#[test]
fn empty_fields_filled_beside_added_ones() {
    let with_name = image("web", Some("r/web"), Some("v1"), None);
    for (name, src, want) in [
        (
            "block",
            "images:\n- name: web\n  newTag:\n",
            "images:\n- name: web\n  newTag: v1\n  newName: r/web\n",
        ),
        (
            "flow",
            "images: [{name: web, newTag:}]\n",
            "images: [{name: web, newTag: v1, newName: r/web}]\n",
        ),
        (
            "flow, spaced",
            "images: [{name: web, newTag: }]\n",
            "images: [{name: web, newTag: v1, newName: r/web }]\n",
        ),
    ] {
        assert_eq!(set(src, &with_name).as_deref(), Ok(want), "{name}");
    }
}

/// Regression (fuzz `writeback_edit`): the `-` at the end of a comment after an empty entry was taken for the
/// list's, and the new entry went in at its column, inside the first one.
#[test]
fn a_dash_in_a_comment_is_no_item() {
    assert_eq!(
        set("images:\n- #eb -\ne: x\n", &tag("web", "v2")).as_deref(),
        Ok("images:\n- #eb -\n- name: web\n  newTag: v2\ne: x\n")
    );
}

/// Regression (fuzz `writeback_edit`): an anchored empty value (`key: &a`) was taken to end at the next line's
/// key, and the new entry went in after that line.
#[test]
fn an_anchored_empty_value_ends_at_its_anchor() {
    assert_eq!(
        set("images:\n- newTag: &t\nother: 1\n", &tag("web", "v2")).as_deref(),
        Ok("images:\n- newTag: &t\n- name: web\n  newTag: v2\nother: 1\n")
    );
}

/// Regression (fuzz `writeback_edit`): a last line of spaces deeper than a block scalar's indentation is part of
/// it; `images:` went in before that line.
#[test]
fn a_block_scalars_line_of_spaces_stays_with_it() {
    assert_eq!(
        set("patch: >-\n  a\n   \nx: 1\n", &tag("web", "v2")).as_deref(),
        Ok("patch: >-\n  a\n   \nx: 1\nimages:\n- name: web\n  newTag: v2\n")
    );
    assert_eq!(
        set("l:\n- >-\n a\n  ", &tag("web", "v2")).as_deref(),
        Ok("l:\n- >-\n a\n  \nimages:\n- name: web\n  newTag: v2")
    );
}
