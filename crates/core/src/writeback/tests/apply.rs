//! The committer's changes to its target file: which images move, which stay (held, pinned, rejected), the
//! rejections recorded in a lock file, and every other byte kept.

use std::collections::HashSet;

use crate::lock::{LockFile, LockKey};
use crate::tag::TagName;
use crate::writeback::{
    ImageWriteBack, ResolvedImage, Skip, TargetKind, ValuePath, plan_target as plan,
};

fn image(alias: &str, repo: &str, rendered: &str, tag: &str) -> ResolvedImage {
    ResolvedImage {
        key: LockKey::parse(&format!("{alias}={repo}")).unwrap(),
        alias: Some(alias.to_owned()),
        write_back: ImageWriteBack {
            written: repo.to_owned(),
            ..ImageWriteBack::default()
        },
        rendered: Some(rendered.to_owned()),
        tag: TagName::new(tag).unwrap(),
        digest: None,
        digest_recorded: None,
        policy: "strategy semver".to_owned(),
    }
}

fn none() -> HashSet<(LockKey, TagName)> {
    HashSet::new()
}

fn rejecting(image: &ResolvedImage) -> HashSet<(LockKey, TagName)> {
    HashSet::from([(image.key.clone(), image.tag.clone())])
}

const LOCK: &str = "version: 1   # kept\nimages:\n  # the shop's front end\n  web=apps.test/shop/web:\n    tag: 1.0.0\n    policy: strategy semver\n\n  api=apps.test/shop/api:\n    tag: 2.0.0\n    policy: strategy semver\n    hold: true\n  db=apps.test/shop/db:\n    tag: 3.0.0\n    pin: 2.9.0\n    policy: strategy semver\n  job=apps.test/shop/job:\n    tag: 1.0.0\n    rejected: [1.1.0]\n    policy: strategy semver\n";

#[test]
fn a_lock_file_moves_what_it_may_and_keeps_the_rest() {
    let images = [
        image("web", "apps.test/shop/web", "1.0.0", "1.1.0"),
        image("api", "apps.test/shop/api", "2.0.0", "2.1.0"),
        image("db", "apps.test/shop/db", "2.9.0", "3.1.0"),
        image("job", "apps.test/shop/job", "1.0.0", "1.1.0"),
        image("new", "apps.test/shop/new", "0.1", "0.2"),
    ];
    let planned = plan(
        TargetKind::LockFile,
        "apps/web/image-resolver.lock.yaml",
        Some(LOCK),
        &images,
        &none(),
    )
    .unwrap();
    let text = planned.text.unwrap();
    assert_eq!(
        text,
        LOCK.replace(
            "    tag: 1.0.0\n    policy: strategy semver\n\n",
            "    tag: 1.1.0\n    policy: strategy semver\n\n"
        ) + "  new=apps.test/shop/new:\n    tag: \"0.2\"\n    policy: \"strategy semver\"\n"
    );
    let lock = LockFile::parse(&text).unwrap();
    assert_eq!(lock.entries().len(), 5);
    let moved: Vec<(String, Option<String>, String)> = planned
        .changes
        .iter()
        .map(|c| (c.key.to_string(), c.old.clone(), c.new.clone()))
        .collect();
    assert_eq!(
        moved,
        [
            (
                "web=apps.test/shop/web".to_owned(),
                Some("1.0.0".to_owned()),
                "1.1.0".to_owned()
            ),
            ("new=apps.test/shop/new".to_owned(), None, "0.2".to_owned()),
        ]
    );
    let skipped: Vec<(String, Skip)> = planned
        .skipped
        .iter()
        .map(|(k, s)| (k.to_string(), s.clone()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("api=apps.test/shop/api".to_owned(), Skip::Held),
            (
                "db=apps.test/shop/db".to_owned(),
                Skip::Pinned(TagName::new("2.9.0").unwrap())
            ),
            (
                "job=apps.test/shop/job".to_owned(),
                Skip::Rejected(TagName::new("1.1.0").unwrap())
            ),
        ]
    );
}

#[test]
fn a_tag_taken_back_is_recorded_as_rejected_and_not_written() {
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let planned = plan(
        TargetKind::LockFile,
        "l",
        Some(LOCK),
        std::slice::from_ref(&web),
        &rejecting(&web),
    )
    .unwrap();
    assert!(planned.changes.is_empty());
    assert_eq!(planned.rejected, [(web.key.clone(), web.tag.clone())]);
    let lock = LockFile::parse(planned.text.as_deref().unwrap()).unwrap();
    let entry = lock.get(&web.key).unwrap();
    assert_eq!(
        (entry.tag.as_str(), entry.rejected.clone()),
        ("1.0.0", vec![web.tag.clone()])
    );
    // The next round finds it in the file: nothing changes.
    let again = plan(
        TargetKind::LockFile,
        "l",
        planned.text.as_deref(),
        std::slice::from_ref(&web),
        &none(),
    )
    .unwrap();
    assert!(!again.changes_file());
    assert_eq!(
        again.skipped,
        [(web.key.clone(), Skip::Rejected(web.tag.clone()))]
    );
    // A newer tag moves it.
    let newer = image("web", "apps.test/shop/web", "1.0.0", "1.2.0");
    let moved = plan(
        TargetKind::LockFile,
        "l",
        planned.text.as_deref(),
        &[newer],
        &none(),
    )
    .unwrap();
    assert_eq!(moved.changes.len(), 1);
}

#[test]
fn without_a_lock_file_one_is_written_with_every_image() {
    let images = [
        image("web", "apps.test/shop/web", "1.0.0", "1.1.0"),
        image("web", "apps.test/shop/web", "x", "1.1.0"),
    ];
    let planned = plan(TargetKind::LockFile, "l", None, &images, &none()).unwrap();
    assert_eq!(planned.changes.len(), 1, "one change a key");
    let lock = LockFile::parse(planned.text.as_deref().unwrap()).unwrap();
    assert_eq!(lock.get(&images[0].key).unwrap().tag.as_str(), "1.1.0");
    // Nothing resolved, nothing written.
    assert_eq!(
        plan(TargetKind::LockFile, "l", None, &[], &none())
            .unwrap()
            .text,
        None
    );
}

#[test]
fn an_unchanged_lock_changes_nothing() {
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.0.0");
    let planned = plan(TargetKind::LockFile, "l", Some(LOCK), &[web], &none()).unwrap();
    assert!(!planned.changes_file());
    assert_eq!(planned.text.as_deref(), Some(LOCK));
}

#[test]
fn a_kustomization_moves_only_the_tags_bytes() {
    let src = "# prod\nresources:\n- ../base   # shared\n\nimages:\n- name: apps.test/shop/web\n  newTag: \"1.0.0\"  # bumped by the bot\n";
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let planned = plan(
        TargetKind::Kustomization,
        "apps/web/kustomization.yaml",
        Some(src),
        std::slice::from_ref(&web),
        &none(),
    )
    .unwrap();
    assert_eq!(
        planned.text.as_deref(),
        Some(src.replace("\"1.0.0\"", "\"1.1.0\"").as_str())
    );
    assert_eq!(planned.changes[0].old.as_deref(), Some("1.0.0"));
    // Taken back: left as it is, and nothing recorded in the file.
    let rejected = plan(
        TargetKind::Kustomization,
        "k",
        Some(src),
        std::slice::from_ref(&web),
        &rejecting(&web),
    )
    .unwrap();
    assert_eq!(rejected.text.as_deref(), Some(src));
    assert_eq!(
        rejected.skipped,
        [(web.key.clone(), Skip::Rejected(web.tag.clone()))]
    );
    assert!(!rejected.changes_file());
    // Already there: no change.
    let same = image("web", "apps.test/shop/web", "1.0.0", "1.0.0");
    assert!(
        !plan(TargetKind::Kustomization, "k", Some(src), &[same], &none())
            .unwrap()
            .changes_file()
    );
}

/// Bug (the tester's repro 1): the first commit adding a kustomize.image-name entry reported `0a1b2c3 → 0a1b2c3`:
/// the change moved from the rendered tag, though the kustomization had no entry. It moves from the entry's tag.
#[test]
fn a_kustomization_change_moves_from_what_the_entry_said() {
    let placeholder = |rendered: &str, tag: &str| {
        let mut web = image("web", "apps.test/shop/web", rendered, tag);
        web.write_back.kustomize_name = Some("placeholder".to_owned());
        web
    };
    let with_entry = |fields: &str| {
        format!(
            "resources:\n- deployment.yaml\nimages:\n- name: placeholder\n  newName: apps.test/shop/web\n{fields}"
        )
    };
    for (name, src, web, want) in [
        (
            "no entry, the render already at the new tag: only the entry is new",
            "resources:\n- deployment.yaml\n".to_owned(),
            placeholder("0a1b2c3", "0a1b2c3"),
            None,
        ),
        (
            "no entry, the render at another tag (the resources'): from that one",
            "resources:\n- deployment.yaml\n".to_owned(),
            placeholder("0a1b2c3", "9f8e7d6"),
            Some("0a1b2c3".to_owned()),
        ),
        (
            "an entry with a tag: from the entry's, whatever rendered",
            with_entry("  newTag: 0a1b2c3\n"),
            placeholder("other", "9f8e7d6"),
            Some("0a1b2c3".to_owned()),
        ),
        (
            "an entry with a tag and a digest",
            with_entry(&format!(
                "  newTag: 0a1b2c3\n  digest: sha256:{}\n",
                "b".repeat(64)
            )),
            placeholder("0a1b2c3", "9f8e7d6"),
            Some(format!("0a1b2c3@sha256:{}", "b".repeat(64))),
        ),
        (
            "an entry without a tag, the render already at the new tag",
            with_entry(""),
            placeholder("0a1b2c3", "0a1b2c3"),
            None,
        ),
    ] {
        let planned = plan(
            TargetKind::Kustomization,
            "apps/web/kustomization.yaml",
            Some(&src),
            std::slice::from_ref(&web),
            &none(),
        )
        .unwrap();
        assert_eq!(planned.changes.len(), 1, "{name}");
        assert_eq!(planned.changes[0].old, want, "{name}");
    }
}

#[test]
fn helm_values_take_each_images_paths() {
    let src = "image:\n  repository: apps.test/shop/web   # ÿ multi-byte ✓\n  tag: 1.0.0\nworker:\n  image: {repository: apps.test/shop/job, tag: '1.0.0'}\n";
    let mut web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    web.write_back.helm_name = Some(ValuePath::parse("image.repository").unwrap());
    let mut job = image("job", "apps.test/shop/job", "1.0.0", "1.2.0");
    job.write_back.helm_name = Some(ValuePath::parse("worker.image.repository").unwrap());
    job.write_back.helm_tag = Some(ValuePath::parse("worker.image.tag").unwrap());
    job.digest = Some(format!("sha256:{}", "a".repeat(64)));
    let planned = plan(
        TargetKind::HelmValues,
        "values.yaml",
        Some(src),
        &[web, job],
        &none(),
    )
    .unwrap();
    assert_eq!(
        planned.text.as_deref(),
        Some(
            src.replace("tag: 1.0.0", "tag: 1.1.0")
                .replace(
                    "tag: '1.0.0'",
                    &format!("tag: '1.2.0@sha256:{}'", "a".repeat(64))
                )
                .as_str()
        )
    );
    assert_eq!(
        planned.changes[1].new,
        format!("1.2.0@sha256:{}", "a".repeat(64))
    );
    assert!(planned.skipped.is_empty());
}

/// Regression: an image without alias was skipped (`Skip::NoAlias`) on the belief that argocd-image-updater skips
/// it; since 1.0 upstream writes it at the default paths (its "Valid Helm source with Helm values file" vector,
/// whose image `nginx` has no alias).
#[test]
fn an_image_without_alias_takes_the_default_paths() {
    let src = "\nimage.name: nginx\nimage.tag: v0.0.0\nreplicas: 1\n";
    let mut nginx = image("nginx", "docker.io/library/nginx", "v0.0.0", "v1.0.0");
    nginx.alias = None;
    nginx.key = LockKey::parse("docker.io/library/nginx").unwrap();
    nginx.write_back.written = "nginx".to_owned();
    let planned = plan(
        TargetKind::HelmValues,
        "values.yaml",
        Some(src),
        &[nginx],
        &none(),
    )
    .unwrap();
    assert_eq!(
        planned.text.as_deref(),
        Some("\nimage.name: nginx\nimage.tag: v1.0.0\nreplicas: 1\n")
    );
    assert!(planned.skipped.is_empty());
}

#[test]
fn two_images_writing_one_value_are_refused() {
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let mut job = image("job", "apps.test/shop/job", "1.0.0", "1.2.0");
    job.alias = None;
    job.key = LockKey::parse("apps.test/shop/job").unwrap();
    let mut named = job.clone();
    named.write_back.helm_name = Some(ValuePath::parse("job.repository").unwrap());
    for (name, images, want) in [
        (
            "both on the defaults",
            [web.clone(), job],
            "apps/web/values.yaml: images web and apps.test/shop/job both write the value image.name; give each \
             image an alias in image-list and its own <alias>.helm.image-name and <alias>.helm.image-tag (or \
             <alias>.helm.image-spec)",
        ),
        (
            "the tag's default shared",
            [web, named],
            "apps/web/values.yaml: images web and apps.test/shop/job both write the value image.tag; give each \
             image an alias in image-list and its own <alias>.helm.image-name and <alias>.helm.image-tag (or \
             <alias>.helm.image-spec)",
        ),
    ] {
        let error = plan(
            TargetKind::HelmValues,
            "apps/web/values.yaml",
            Some("image: {}\n"),
            &images,
            &none(),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), want, "{name}");
    }
}

/// argocd-image-updater's vectors ("Original data with short form image name and long form in new", "… with long
/// form image name", "… short form in original and short form in new"): a name the values file writes without
/// its registry stays without (a chart with `image.registry` of its own).
#[test]
fn a_name_written_without_registry_stays_without() {
    let bitnami =
        "\nimage:\n  registry: docker.io\n  name: bitnami/nginx\n  tag: v0.0.0\nreplicas: 1\n";
    let long = "\nimage:\n  name: docker.io/bitnami/nginx\n  tag: v0.0.0\nreplicas: 1\n";
    for (name, written, spec, src, want) in [
        (
            "long in the image-list, short in the file",
            "docker.io/bitnami/nginx",
            false,
            bitnami.to_string(),
            bitnami.replace("v0.0.0", "v1.0.0"),
        ),
        (
            "long in both",
            "docker.io/bitnami/nginx",
            false,
            long.to_string(),
            long.replace("v0.0.0", "v1.0.0"),
        ),
        (
            "short in both",
            "bitnami/nginx",
            false,
            bitnami.to_string(),
            bitnami.replace("v0.0.0", "v1.0.0"),
        ),
        (
            "short in the image-list, long in the file: the image-list's",
            "bitnami/nginx",
            false,
            long.to_string(),
            long.replace("docker.io/bitnami/nginx", "bitnami/nginx")
                .replace("v0.0.0", "v1.0.0"),
        ),
        (
            "Docker Hub's library/ goes with the registry",
            "docker.io/library/nginx",
            false,
            "image:\n  name: nginx\n  tag: v0.0.0\n".into(),
            "image:\n  name: nginx\n  tag: v1.0.0\n".into(),
        ),
        (
            "unless the file writes it",
            "docker.io/library/nginx",
            false,
            "image:\n  name: library/nginx\n  tag: v0.0.0\n".into(),
            "image:\n  name: library/nginx\n  tag: v1.0.0\n".into(),
        ),
        (
            "a registry with a port",
            "localhost:5000/team/web",
            false,
            "image:\n  name: team/web\n  tag: v0.0.0\n".into(),
            "image:\n  name: team/web\n  tag: v1.0.0\n".into(),
        ),
        (
            "a name created: as the image-list writes it",
            "docker.io/bitnami/nginx",
            false,
            "replicas: 1\n".into(),
            "replicas: 1\nimage:\n  name: docker.io/bitnami/nginx\n  tag: v1.0.0\n".into(),
        ),
        (
            "a null name: as the image-list writes it",
            "ghcr.io/org/web",
            false,
            "image:\n  name:\n  tag: v0.0.0\n".into(),
            "image:\n  name: ghcr.io/org/web\n  tag: v1.0.0\n".into(),
        ),
        (
            "a spec",
            "ghcr.io/org/web",
            true,
            "image: org/web:v0.0.0\n".into(),
            "image: org/web:v1.0.0\n".into(),
        ),
        (
            "a spec with its registry",
            "ghcr.io/org/web",
            true,
            "image: ghcr.io/org/web:v0.0.0\n".into(),
            "image: ghcr.io/org/web:v1.0.0\n".into(),
        ),
    ] {
        let mut nginx = image("nginx", "docker.io/bitnami/nginx", "v0.0.0", "v1.0.0");
        nginx.write_back.written = written.to_owned();
        if spec {
            nginx.write_back.helm_spec = Some(ValuePath::parse("image").unwrap());
        }
        let planned = plan(
            TargetKind::HelmValues,
            "values.yaml",
            Some(&src),
            &[nginx],
            &none(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(planned.text.as_deref(), Some(want.as_str()), "{name}");
    }
}

/// `helm.image-spec`: one value takes `repository:tag` (with `@digest` when the policy pins one), and wins over
/// `helm.image-name`/`helm.image-tag`, which are left as they are.
#[test]
fn helm_image_spec_takes_the_whole_image() {
    let digest = format!("sha256:{}", "d".repeat(64));
    for (name, src, digest, with_name_and_tag, want) in [
        (
            "plain, comment kept",
            "web:\n  image: apps.test/shop/web:1.0.0   # ✓ set by the bot\n",
            None,
            false,
            "web:\n  image: apps.test/shop/web:1.1.0   # ✓ set by the bot\n".to_owned(),
        ),
        (
            "double-quoted in a flow mapping",
            "web: {image: \"apps.test/shop/web:1.0.0\", replicas: 2}\n",
            None,
            false,
            "web: {image: \"apps.test/shop/web:1.1.0\", replicas: 2}\n".to_owned(),
        ),
        (
            "with the digest the policy pins",
            "web:\n  image: 'apps.test/shop/web:1.0.0'\n",
            Some(digest.clone()),
            false,
            format!("web:\n  image: 'apps.test/shop/web:1.1.0@{digest}'\n"),
        ),
        (
            "wins over image-name and image-tag",
            "web:\n  image: apps.test/shop/web:1.0.0\n  repository: apps.test/shop/web\n  tag: 1.0.0\n",
            None,
            true,
            "web:\n  image: apps.test/shop/web:1.1.0\n  repository: apps.test/shop/web\n  tag: 1.0.0\n"
                .to_owned(),
        ),
    ] {
        let mut web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
        web.write_back.helm_spec = Some(ValuePath::parse("web.image").unwrap());
        web.digest = digest;
        if with_name_and_tag {
            web.write_back.helm_name = Some(ValuePath::parse("web.repository").unwrap());
            web.write_back.helm_tag = Some(ValuePath::parse("web.tag").unwrap());
        }
        let planned = plan(
            TargetKind::HelmValues,
            "values.yaml",
            Some(src),
            std::slice::from_ref(&web),
            &none(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(planned.text.as_deref(), Some(want.as_str()), "{name}");
        assert_eq!(planned.changes.len(), 1, "{name}");
        assert_eq!(planned.changes[0].new, web.written(), "{name}");
    }
}

#[test]
fn a_file_the_editors_cannot_read_is_an_error_naming_it() {
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let lock = plan(
        TargetKind::LockFile,
        "apps/web/image-resolver.lock.yaml",
        Some("version: 2\n"),
        std::slice::from_ref(&web),
        &none(),
    );
    let message = lock.unwrap_err().to_string();
    assert!(
        message.starts_with("apps/web/image-resolver.lock.yaml: "),
        "{message}"
    );
    assert_eq!(
        message.matches("image-resolver.lock.yaml").count(),
        1,
        "named once: {message}"
    );
    let values = plan(
        TargetKind::HelmValues,
        "apps/web/values.yaml",
        Some("image: [1, 2]\n"),
        &[web],
        &none(),
    );
    assert!(
        values
            .unwrap_err()
            .to_string()
            .starts_with("apps/web/values.yaml: "),
        ""
    );
}

/// A digest the registry did not give this time is no change: the entry keeps its own (a registry hiccup must not
/// commit a lock file without digests); a new tag without one records none.
#[test]
fn a_digest_not_learnt_this_time_keeps_the_entrys() {
    let digest = format!("sha256:{}", "b".repeat(64));
    let lock = format!(
        "version: 1\nimages:\n  web=apps.test/shop/web:\n    tag: 1.0.0\n    digest: {digest}\n    policy: strategy semver\n"
    );
    let same = image("web", "apps.test/shop/web", "1.0.0", "1.0.0");
    assert!(
        !plan(
            TargetKind::LockFile,
            "l",
            Some(&lock),
            std::slice::from_ref(&same),
            &none()
        )
        .unwrap()
        .changes_file()
    );
    let mut learnt = same.clone();
    learnt.digest_recorded = Some(format!("sha256:{}", "c".repeat(64)));
    let moved = plan(TargetKind::LockFile, "l", Some(&lock), &[learnt], &none()).unwrap();
    assert_eq!(
        moved.text.unwrap(),
        lock.replace(&"b".repeat(64), &"c".repeat(64))
    );
    assert_eq!(
        moved.changes[0].old.as_deref(),
        Some("1.0.0"),
        "a recorded digest is not part of the tag shown"
    );
    let newer = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let text = plan(TargetKind::LockFile, "l", Some(&lock), &[newer], &none())
        .unwrap()
        .text
        .unwrap();
    assert!(!text.contains("digest"), "{text}");
}

/// A person reverted the commit that added an image's entry (or the whole file): the entry comes back at the tag
/// the manifest names, the taken-back tag rejected — without an entry the image would follow its policy at render
/// time, to that very tag. Without a tag in the manifest there is nothing to hold it at: it is left out.
#[test]
fn a_reverted_new_entry_is_held_at_the_manifests_tag() {
    let web = image("web", "apps.test/shop/web", "1.0.0", "1.1.0");
    let mut untagged = image("job", "apps.test/shop/job", "", "1.1.0");
    untagged.rendered = None;
    let file = "apps/web/image-resolver.lock.yaml";
    for (name, text) in [
        ("no lock file", None),
        (
            "a lock file without the entry",
            Some("version: 1\nimages: {}\n"),
        ),
    ] {
        let mut rejections = rejecting(&web);
        rejections.extend(rejecting(&untagged));
        let planned = plan(
            TargetKind::LockFile,
            file,
            text,
            &[web.clone(), untagged.clone()],
            &rejections,
        )
        .unwrap();
        let lock = LockFile::parse(planned.text.as_deref().unwrap()).unwrap();
        let entry = lock.get(&web.key).unwrap();
        assert_eq!(
            (entry.tag.as_str(), entry.rejected.clone()),
            ("1.0.0", vec![TagName::new("1.1.0").unwrap()]),
            "{name}"
        );
        assert!(lock.get(&untagged.key).is_none(), "{name}");
        assert_eq!(
            planned.rejected,
            [(web.key.clone(), web.tag.clone())],
            "{name}"
        );
        assert_eq!(
            planned.skipped,
            [(untagged.key.clone(), Skip::Rejected(untagged.tag.clone()))],
            "{name}"
        );
        assert!(planned.changes.is_empty(), "{name}");
    }
}
