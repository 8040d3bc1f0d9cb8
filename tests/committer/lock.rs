//! Lock-file mode: the committer writes `image-resolver.lock.yaml`, advances it when the registry has a newer
//! tag, keeps every other byte, and commits nothing when nothing changed.

use crate::{Operator, Origin, push_tags, registry_with, web_origin};

pub use crate::{LOCK, strs};

pub fn args(origin: &Origin) -> Vec<String> {
    crate::app_args(&origin.url(), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_tag_becomes_a_commit_of_the_lock_file() {
    let registry = registry_with(&["1.0.0", "1.1.0", "latest", "2.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
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
    let origin = web_origin();
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

/// The revert check's cost is bounded: the first bump of a tag a person wrote (no commit of the committer's to
/// find) deepens the shallow clone a few thousand commits at most, never the whole history of a large
/// repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_search_never_fetches_a_large_repository_whole() {
    const COMMITS: usize = 6000;
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    // A person's lock file at 1.0.0, then thousands of commits of theirs elsewhere (git fast-import: fast).
    let lock = "version: 1\nimages:\n  web=apps.test/shop/web:\n    tag: 1.0.0\n    policy: \"strategy semver, constraint '~1'\"\n";
    origin.push(&[(LOCK, lock)], "lock web by hand");
    let mut stream = String::new();
    for n in 0..COMMITS {
        let body = format!("note {n}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Human <human@example.com> {} +0000\ndata 5\nnote\n{}M 100644 inline notes.txt\ndata {}\n{body}\n",
            1_700_000_000 + n,
            if n == 0 { "from refs/heads/main^0\n" } else { "" },
            body.len()
        ));
    }
    let import = std::process::Command::new("git")
        .args([
            "--git-dir",
            origin.bare().to_str().unwrap(),
            "fast-import",
            "--quiet",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(stream.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(import.success());
    assert!(origin.commits("main") > COMMITS);

    let out = operator.commit(&strs(&args(&origin)));
    assert!(
        out.success().contains("  web: 1.0.0 → 1.1.0"),
        "{}",
        out.stdout
    );
    let clones = operator.path().join("cache/git/clones");
    let clone = std::fs::read_dir(&clones)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let depth: usize = crate::git(&clone, &["rev-list", "--count", "HEAD"])
        .parse()
        .unwrap();
    assert!(
        clone.join(".git/shallow").is_file(),
        "the clone stays shallow"
    );
    assert!(
        depth < COMMITS,
        "{depth} commits fetched of {}",
        origin.commits("main")
    );
}
