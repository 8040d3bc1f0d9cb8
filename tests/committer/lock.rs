//! Lock-file mode: the committer writes `image-resolver.lock.yaml`, advances it when the registry has a newer
//! tag, keeps every other byte, and commits nothing when nothing changed.

use crate::{Operator, Origin, deployment, push_tags, registry_with};

pub use crate::{LOCK, strs};

pub fn args(origin: &Origin) -> Vec<String> {
    crate::app_args(&origin.url(), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_tag_becomes_a_commit_of_the_lock_file() {
    let registry = registry_with(&["1.0.0", "1.1.0", "latest", "2.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[(
        "apps/web/deployment.yaml",
        &deployment("web", "apps.test/shop/web:1.0.0"),
    )]);
    let args = args(&origin);

    // First round: the lock file is written with the newest tag the policy allows.
    let out = operator.commit(&strs(&args));
    let report = out.success();
    assert!(report.starts_with("web: committed "), "{report}");
    assert!(
        report.contains("  web: (none) → 1.1.0 (strategy semver, constraint '~1')\n"),
        "{report}"
    );
    let lock = origin.file("main", LOCK);
    assert!(
        lock.contains("  web=apps.test/shop/web:\n    tag: 1.1.0\n"),
        "{lock}"
    );
    assert!(lock.contains("    digest: sha256:"), "{lock}");
    let message = origin.message("main");
    assert!(
        message.starts_with(
            "image-resolver: update web\n\nweb: (none) → 1.1.0 (strategy semver, constraint '~1')"
        ),
        "{message}"
    );
    assert!(
        message.contains("Image-Resolver-Update: web=apps.test/shop/web - 1.1.0"),
        "{message}"
    );
    assert_eq!(origin.commits("main"), 2);

    // Nothing new: no commit.
    let again = operator.commit(&strs(&args));
    assert_eq!(again.success(), format!("web: up to date ({LOCK})\n"));
    assert_eq!(origin.commits("main"), 2, "never an empty commit");

    // A person annotates the file; a newer tag moves only the entry's values.
    let annotated = lock.replace(
        "images:\n",
        "images:\n  # the shop's front end — ✓ reviewed\n\n",
    );
    origin.push(&[(LOCK, &annotated)], "note the front end");
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.2.0"]).await;
    let out = operator.commit(&strs(&args));
    assert!(
        out.success()
            .contains("  web: 1.1.0 → 1.2.0 (strategy semver, constraint '~1')\n"),
        "{}",
        out.stdout
    );
    let bumped = origin.file("main", LOCK);
    let old_digest = annotated.lines().find(|l| l.contains("digest:")).unwrap();
    let new_digest = bumped.lines().find(|l| l.contains("digest:")).unwrap();
    assert_eq!(
        bumped,
        annotated
            .replace("tag: 1.1.0", "tag: 1.2.0")
            .replace(old_digest, new_digest)
    );
    assert_eq!(origin.commits("main"), 4);
    // One commit per round, each with one parent: linear history.
    assert_eq!(
        origin.git(&["rev-list", "--min-parents=2", "--count", "main"]),
        "0"
    );
}

/// The author and the signature operators configure: `--git-author-*`, a message template file, and an ssh
/// signing key whose signature `git verify-commit` accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_carry_the_configured_author_message_and_signature() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[(
        "apps/web/deployment.yaml",
        &deployment("web", "apps.test/shop/web:1.0.0"),
    )]);
    let key = operator.path().join("signing");
    let keygen = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "bot",
            "-f",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let public = std::fs::read_to_string(operator.path().join("signing.pub")).unwrap();
    let allowed = operator.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("bot@example.org namespaces=\"git\" {public}"),
    )
    .unwrap();
    let template = operator.path().join("message.tmpl");
    std::fs::write(
        &template,
        "build: automatic update of {{ .AppName }}\n\n{{ range .AppChanges -}}\nupdates image {{ .Image }} tag '{{ .OldTag }}' to '{{ .NewTag }}'\n{{ end -}}\n",
    )
    .unwrap();
    let mut all = args(&origin);
    all.extend(
        [
            "--git-author-name",
            "Image Bot",
            "--git-author-email",
            "bot@example.org",
            "--git-signing-key",
            key.to_str().unwrap(),
            "--commit-message-template-file",
            template.to_str().unwrap(),
        ]
        .map(String::from),
    );
    operator.commit(&strs(&all)).success();
    assert_eq!(
        origin.git(&["log", "-1", "--format=%an <%ae> / %cn <%ce>", "main"]),
        "Image Bot <bot@example.org> / Image Bot <bot@example.org>"
    );
    let message = origin.message("main");
    assert!(
        message.starts_with("build: automatic update of web\n\nupdates image apps.test/shop/web tag '(none)' to '1.1.0'\n"),
        "{message}"
    );
    let verify = origin.git(&[
        "-c",
        &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
        "log",
        "-1",
        "--format=%G?",
        "main",
    ]);
    assert_eq!(verify, "G", "a good signature");
}
