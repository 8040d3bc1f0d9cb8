//! Branch names and templates as argocd-image-updater's `git-branch` writes them.

use crate::image::ImageRef;
use crate::writeback::{
    BranchChange, BranchContext, BranchTemplate, changes_sha256, check_branch_name, target_key,
};

fn context() -> BranchContext {
    BranchContext {
        app_name: "shop".into(),
        app_namespace: "argocd".into(),
        target_key: "0a1b2c3d".into(),
        changes: vec![
            BranchChange::new(
                &ImageRef::parse("foo/bar").unwrap(),
                Some("bar"),
                "1.0",
                "1.1",
            ),
            BranchChange::new(
                &ImageRef::parse("ghcr.io/org/web").unwrap(),
                None,
                "v1",
                "v2",
            ),
        ],
    }
}

#[test]
fn renders_the_supported_subset() {
    let sha = changes_sha256(&context().changes);
    for (template, want) in [
        ("plain", "plain".to_string()),
        (
            "image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}",
            "image-updater-foo/bar-1.1-org/web-v2".into(),
        ),
        ("image-updater-{{.SHA256}}", format!("image-updater-{sha}")),
        (
            "{{ .AppNamespace }}/{{.AppName}}-{{.TargetKey}}",
            "argocd/shop-0a1b2c3d".into(),
        ),
        (
            "u{{range .Images}}-{{.Alias}}{{.OldTag}}{{end}}",
            "u-bar1.0-v1".into(),
        ),
        (
            "x{{range .Images}}-{{$.AppName}}{{end}}",
            "x-shop-shop".into(),
        ),
        ("a {{- /* trimmed */ -}} b", "ab".into()),
        ("a{{/* comment */}}b", "ab".into()),
    ] {
        let parsed = BranchTemplate::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"));
        assert_eq!(parsed.render(&context()), Ok(want), "{template}");
    }
}

#[test]
fn sha256_is_upstreams() {
    // sha256("foo/bar-1.0-1.1,org/web-v1-v2,")
    assert_eq!(
        changes_sha256(&context().changes),
        "6f4a752ce691a290d140a087acf23170905d7a872b94b97ee2ca281f5936d7f2"
    );
    assert_eq!(
        target_key(
            "https://github.com/org/repo",
            "main",
            "apps/web/values.yaml"
        )
        .len(),
        8
    );
}

/// argocd-image-updater's vector ("Template branch name with hash": `foo/bar` from 1.0 to 1.1), and an image with
/// a digest, which upstream shows (and hashes) as its digest alone.
#[test]
fn sha256_of_upstreams_vectors() {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    for (name, change, want) in [
        (
            "a tag",
            BranchChange::new(&ImageRef::parse("foo/bar").unwrap(), None, "1.0", "1.1"),
            "0fcc2782543e4bb067c174c21bf44eb947f3e55c0d62c403e359c1c209cbd041",
        ),
        (
            // Regression: the committer passes `tag@digest`, which was hashed as it is.
            "a digest: sha256(\"nginx-sha256:a…-sha256:b…,\")",
            BranchChange::new(
                &ImageRef::parse("nginx").unwrap(),
                None,
                &format!("stable@sha256:{a}"),
                &format!("stable@sha256:{b}"),
            ),
            "528670c3e6d3ff9988237112f594c273fd06226ba2e916d7d394a95623b60281",
        ),
    ] {
        assert_eq!(changes_sha256(&[change]), want, "{name}");
    }
}

#[test]
fn refuses_what_it_does_not_support() {
    for (template, want) in [
        (
            "{{if .Images}}x{{end}}",
            "unsupported template action '{{if .Images}}' in branch template; supported: {{.SHA256}}, {{.AppName}}, {{.AppNamespace}}, {{.TargetKey}} and {{range .Images}}…{{end}} with {{.Name}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}} inside",
        ),
        (
            "{{.SHA256 | printf}}",
            "unsupported template action '{{.SHA256 | printf}}' in branch template; supported: {{.SHA256}}, {{.AppName}}, {{.AppNamespace}}, {{.TargetKey}} and {{range .Images}}…{{end}} with {{.Name}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}} inside",
        ),
        (
            "{{range .Images}}{{.SHA256}}{{end}}",
            "'{{.SHA256}}' inside {{range .Images}} names an image's field; write {{$.SHA256}} for the application's",
        ),
        (
            "{{.Name}}",
            "'{{.Name}}' names an image's field outside {{range .Images}}…{{end}}",
        ),
        (
            "x{{.SHA256",
            "a '{{' in the branch template is never closed by '}}'",
        ),
        (
            "{{range .Images}}x",
            "{{range .Images}} without {{end}} in the branch template",
        ),
        (
            "x{{end}}",
            "{{end}} without {{range .Images}} in the branch template",
        ),
        (
            "{{range .Images}}{{range .Images}}{{end}}{{end}}",
            "{{range}} inside {{range}} is not supported in the branch template",
        ),
        (
            "a b{{.SHA256}}",
            "'a b' is not a valid branch name: it holds a space",
        ),
    ] {
        assert_eq!(
            BranchTemplate::parse(template).unwrap_err().to_string(),
            want,
            "{template}"
        );
    }
}

#[test]
fn rendered_names_are_checked_and_cut() {
    let template = BranchTemplate::parse("x{{range .Images}}-{{.NewTag}}{{end}}").unwrap();
    let mut bad = context();
    bad.changes[0].new_tag = "a..b".into();
    assert_eq!(
        template.render(&bad).unwrap_err().to_string(),
        "the branch template renders 'x-a..b-v2', which is not a valid branch name: it holds '..'"
    );
    let mut long = context();
    long.changes[0].new_tag = "é".repeat(200);
    let name = template.render(&long).unwrap();
    assert!(name.len() <= 255 && name.len() >= 253, "{}", name.len());
}

#[test]
fn branch_names() {
    for (name, ok) in [
        ("main", true),
        ("release/1.x", true),
        ("image-updater-ab12", true),
        ("", false),
        ("a b", false),
        ("a~b", false),
        ("a^b", false),
        ("a:b", false),
        ("a?b", false),
        ("a*b", false),
        ("a[b", false),
        ("a\\b", false),
        ("-a", false),
        ("a..b", false),
        ("a@{b", false),
        ("@", false),
        ("/a", false),
        ("a/", false),
        ("a//b", false),
        ("a.", false),
        ("a/.b", false),
        ("a.lock", false),
        ("a/b.lock/c", false),
        ("a\u{7f}", false),
    ] {
        assert_eq!(check_branch_name(name).is_ok(), ok, "{name:?}");
    }
}

/// A review branch named from its changes cannot be named when there are none: the committer then leaves such
/// branches alone rather than close one it cannot tell is its own.
#[test]
fn says_whether_the_name_depends_on_the_changes() {
    for (template, depends) in [
        ("image-resolver/{{.AppName}}", false),
        ("updates-{{.AppNamespace}}-{{.TargetKey}}", false),
        ("fixed", false),
        ("image-resolver-{{.SHA256}}", true),
        (
            "image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}",
            true,
        ),
    ] {
        assert_eq!(
            BranchTemplate::parse(template).unwrap().names_changes(),
            depends,
            "{template}"
        );
    }
}
