//! Review-branch mode: the committer's branch per application is one commit on `main`'s tip, left alone when
//! nothing changed, rebuilt on `main`'s new tip with `--force-with-lease`, and rebuilt again when a person pushed
//! to it between the committer's look and its push (the lease breaks; the round starts again). `main` is never
//! touched. And argocd-image-updater's `git-branch: base:target` names the branch the same way.

use sha2::{Digest, Sha256};

use crate::{
    GitWrapper, LOCK, Operator, Origin, app_args, git, locked_tag, push_tags, real_git,
    registry_with, seeded_origin, strs,
};

const REVIEW: &str = "image-resolver/web";

/// `branch` is exactly one commit on `main`'s tip, and `main` has no lock file.
fn one_ahead_of_main(origin: &Origin, branch: &str) {
    assert_eq!(
        origin.git(&["rev-parse", &format!("{branch}^")]),
        origin.git(&["rev-parse", "main"]),
        "{branch} is not on main's tip"
    );
    assert_eq!(
        origin.git(&["rev-list", "--count", &format!("main..{branch}")]),
        "1"
    );
    assert_eq!(
        origin.git(&["ls-tree", "--name-only", "main", LOCK]),
        "",
        "main was written to"
    );
}

fn short(commit: &str) -> &str {
    &commit[..12]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_branch_stays_one_commit_ahead_of_main() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &["--review-branch"]);
    let seed = origin.git(&["rev-parse", "main"]);

    // First round: the branch is made, main is not touched.
    let report = operator.commit(&strs(&args)).success().to_owned();
    let first = origin.git(&["rev-parse", REVIEW]);
    assert!(
        report.starts_with(&format!(
            "web: committed {} to {REVIEW} ({LOCK})\n",
            short(&first)
        )),
        "{report}"
    );
    assert_eq!(origin.git(&["rev-parse", "main"]), seed);
    one_ahead_of_main(&origin, REVIEW);
    assert_eq!(locked_tag(&origin.file(REVIEW, LOCK)), "1.1.0");

    // Nothing new: the branch is left as it is.
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert!(
        report.starts_with(&format!(
            "web: review branch {REVIEW} already at {}\n",
            short(&first)
        )),
        "{report}"
    );
    assert_eq!(origin.git(&["rev-parse", REVIEW]), first);

    // A person moves main: the branch is rebuilt on the new tip, still one commit.
    origin.push(&[("notes.txt", "a person's notes\n")], "a person's edit");
    let report = operator.commit(&strs(&args)).success().to_owned();
    let second = origin.git(&["rev-parse", REVIEW]);
    assert_ne!(second, first);
    assert!(
        report.starts_with(&format!("web: committed {} to {REVIEW}", short(&second))),
        "{report}"
    );
    one_ahead_of_main(&origin, REVIEW);
    assert_eq!(origin.file(REVIEW, "notes.txt"), "a person's notes");

    // A newer tag, and a person pushing to the review branch between the committer's look at it and its push:
    // the lease breaks, the round starts again and rebuilds the branch on main.
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.2.0"]).await;
    let person = tempfile::tempdir().unwrap();
    git(person.path(), &["clone", "--quiet", &origin.url(), "clone"]);
    let clone = person.path().join("clone");
    let wrapper = GitWrapper::new();
    wrapper.arm(None);
    let g = real_git();
    let g = g.display();
    let pushed_file = person.path().join("pushed");
    wrapper.before_lease(&format!(
        "set -e
export HOME='{home}' GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
cd '{clone}'
'{g}' -c protocol.file.allow=always fetch -q origin refs/heads/{REVIEW}
'{g}' checkout -q -B review FETCH_HEAD
echo 'a note on the review' > review-note.txt
'{g}' add review-note.txt
'{g}' -c user.name=Human -c user.email=human@example.com commit -q -m 'a note on the review'
'{g}' -c protocol.file.allow=always push -q origin HEAD:refs/heads/{REVIEW}
'{g}' rev-parse HEAD > '{pushed}'
",
        home = person.path().display(),
        clone = clone.display(),
        pushed = pushed_file.display(),
    ));
    let program = wrapper.program();
    let mut json_args = args.clone();
    json_args.extend(["--output".to_owned(), "json".to_owned()]);
    let run = operator.run_with_env(&strs(&json_args), &[("IMAGE_RESOLVER_GIT", &program)]);
    let hook = wrapper
        .hook_log()
        .expect("the person's push ran before the lease push");
    let persons = std::fs::read_to_string(&pushed_file)
        .unwrap_or_else(|_| panic!("the person's push failed: {hook}"));
    let report: serde_json::Value = serde_json::from_str(run.success()).expect("json report");
    let report = &report[0];
    // The round started again on the broken lease, found the person's commit on top of the proposal, and left it.
    assert_eq!(report["outcome"]["kind"], "review-edited", "{report}");
    assert_eq!(report["branch"], REVIEW, "{report}");
    assert_eq!(report["attempts"], 2, "{report}");
    assert_eq!(origin.git(&["rev-parse", REVIEW]), persons.trim());
    let calls = wrapper.calls();
    let leases: Vec<&str> = calls
        .lines()
        .filter(|l| l.contains("--force-with-lease="))
        .map(|l| l.split_once(' ').unwrap().1)
        .collect::<Vec<_>>();
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert!(
        leases[0].contains(&format!("--force-with-lease=refs/heads/{REVIEW}:{second}")),
        "{leases:?}"
    );
    // Every push of the round went to the review branch, with a lease.
    for push in calls.lines().filter(|l| l.contains(" push ")) {
        assert!(
            push.contains(" --force-with-lease=")
                && push.ends_with(&format!(":refs/heads/{REVIEW}"))
                && !push.contains(" --force "),
            "{push}"
        );
    }
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert!(
        report.starts_with(&format!(
            "web: review branch {REVIEW} has a commit of someone else on top"
        )),
        "{report}"
    );
    assert_eq!(origin.git(&["rev-parse", REVIEW]), persons.trim());

    // The person deletes the branch: the committer proposes again, on main's tip.
    origin.git(&["branch", "-D", REVIEW]);
    operator.commit(&strs(&args)).success();
    one_ahead_of_main(&origin, REVIEW);
    assert_eq!(locked_tag(&origin.file(REVIEW, LOCK)), "1.2.0");
}

/// A proposal merged into `main` leaves nothing to propose: the review branch is deleted (with a lease), so that
/// nobody merges a stale one. A revert of the merged change on `main` is seen as a person taking the tag back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_proposal_closes_the_review_branch() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &["--review-branch"]);
    operator.commit(&strs(&args)).success();
    let proposal = origin.git(&["rev-parse", REVIEW]);

    // Merged (fast-forward), as a forge's "rebase and merge" does.
    origin.git(&["update-ref", "refs/heads/main", &proposal]);
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert_eq!(
        report,
        format!(
            "web: nothing left to propose: review branch {REVIEW} (at {}) deleted\n",
            short(&proposal)
        )
    );
    assert_eq!(
        origin.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"]),
        "main"
    );
    assert_eq!(locked_tag(&origin.file("main", LOCK)), "1.1.0");

    // Reverted on main (the commit that added the lock file): the committer proposes to record 1.1.0 as rejected,
    // holding the image at the tag its manifest names, and moves it only when a newer tag appears.
    let revert = origin.revert_tip();
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert!(
        report.contains(&format!(
            "  web: 1.1.0 rejected, taken back in {}\n",
            short(&revert)
        )),
        "{report}"
    );
    let proposed = origin.file(REVIEW, LOCK);
    assert_eq!(locked_tag(&proposed), "1.0.0", "{proposed}");
    assert!(proposed.contains("rejected: [1.1.0]"), "{proposed}");
    one_ahead_of_main(&origin, REVIEW);
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.2.0"]).await;
    operator.commit(&strs(&args)).success();
    assert_eq!(locked_tag(&origin.file(REVIEW, LOCK)), "1.2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_branch_base_colon_target_pushes_to_the_named_branch() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(
        &origin.url(),
        &["--param", "git-branch=main:image-resolver-{{.SHA256}}"],
    );
    let seed = origin.git(&["rev-parse", "main"]);
    let report = operator.commit(&strs(&args)).success().to_owned();

    // argocd-image-updater's .SHA256: over `<name>-<old>-<new>,` per change, the name without its registry.
    let sha: String = Sha256::digest(b"shop/web--1.1.0,")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let branch = format!("image-resolver-{sha}");
    assert_eq!(
        origin.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"]),
        format!("{branch}\nmain")
    );
    assert!(
        report.contains(&format!(" to {branch} ({LOCK})\n")),
        "{report}"
    );
    assert_eq!(origin.git(&["rev-parse", "main"]), seed);
    one_ahead_of_main(&origin, &branch);
    assert_eq!(locked_tag(&origin.file(&branch, LOCK)), "1.1.0");
}

/// A branch of the review branch's name that a person made (their commit, without the committer's trailers) is
/// theirs: with nothing to propose, the committer does not delete it, nor replace it when it has a proposal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_branch_of_that_name_is_never_deleted_or_replaced() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &["--review-branch"]);
    // Nothing to propose: main already names 1.1.0 (a person wrote the lock file).
    operator
        .commit(&strs(&app_args(&origin.url(), &[])))
        .success();
    let theirs = origin.push(&[("notes.txt", "their own work\n")], "their own work");
    origin.git(&["update-ref", &format!("refs/heads/{REVIEW}"), &theirs]);
    origin.git(&["update-ref", "refs/heads/main", &format!("{theirs}^")]);
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert!(report.starts_with("web: up to date"), "{report}");
    assert_eq!(origin.git(&["rev-parse", REVIEW]), theirs);

    // Something to propose: their branch is left as it is.
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.2.0"]).await;
    let report = operator.commit(&strs(&args)).success().to_owned();
    assert!(
        report.starts_with(&format!(
            "web: review branch {REVIEW} has a commit of someone else on top"
        )),
        "{report}"
    );
    assert_eq!(origin.git(&["rev-parse", REVIEW]), theirs);
}
