//! Rollback that sticks: a person's `git revert` of a bump is not undone by the next rounds; the reverted tag is
//! recorded as rejected (in the lock file, visibly) and only a newer tag moves the image again.

use crate::lock::{LOCK, args, strs};
use crate::{Operator, push_tags, registry_with, web_origin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reverted_bump_is_rejected_until_a_newer_tag_appears() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = args(&origin);
    operator.commit(&strs(&args)).success();
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    operator.commit(&strs(&args)).success();
    assert!(origin.file("main", LOCK).contains("tag: 1.1.0"));

    // A person takes 1.1.0 back.
    let revert = origin.revert_tip();
    assert!(origin.file("main", LOCK).contains("tag: 1.0.0"));
    let out = operator.commit(&strs(&args));
    let report = out.success();
    assert!(
        report.contains(&format!(
            "  web: 1.1.0 rejected, taken back in {}\n",
            &revert[..12]
        )),
        "{report}"
    );
    let lock = origin.file("main", LOCK);
    assert!(lock.contains("tag: 1.0.0"), "the revert stands: {lock}");
    assert!(
        lock.contains("rejected:") && lock.contains("1.1.0"),
        "recorded: {lock}"
    );
    let message = origin.message("main");
    assert!(
        message.contains(&format!(
            "Rejected web: 1.1.0, reverted in {revert}; it is not applied again.\n\nImage-Resolver-Reject: web=apps.test/shop/web 1.1.0"
        )),
        "{message}"
    );
    let commits = origin.commits("main");

    // Later rounds leave it.
    for _ in 0..2 {
        let out = operator.commit(&strs(&args));
        assert!(
            out.success().contains("1.1.0 was taken back by a revert"),
            "{}",
            out.stdout
        );
    }
    assert_eq!(origin.commits("main"), commits);

    // A newer tag moves it again.
    push_tags(&registry, "2024-03-01T00:00:00Z", &["1.2.0"]).await;
    let out = operator.commit(&strs(&args));
    assert!(
        out.success().contains("  web: 1.0.0 → 1.2.0"),
        "{}",
        out.stdout
    );
    let lock = origin.file("main", LOCK);
    assert!(
        lock.contains("tag: 1.2.0") && lock.contains("1.1.0"),
        "{lock}"
    );
}

/// `hold: true` and `pin:` in the lock file are obeyed: the committer leaves those entries as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_pin_in_the_lock_file_are_obeyed() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = args(&origin);
    operator.commit(&strs(&args)).success();
    let lock = origin.file("main", LOCK);
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    for (field, why) in [
        ("    hold: true\n", "held"),
        ("    pin: 1.0.0\n", "pinned to 1.0.0"),
    ] {
        let edited = lock.replace("    tag: 1.0.0\n", &format!("    tag: 1.0.0\n{field}"));
        origin.push(&[(LOCK, &edited)], "hold the web image");
        let commits = origin.commits("main");
        let out = operator.commit(&strs(&args));
        assert!(out.success().contains(why), "{}", out.stdout);
        assert_eq!(origin.commits("main"), commits);
        assert_eq!(origin.file("main", LOCK), edited.trim_end());
    }
    // A pin set as a parameter: nothing to record either.
    origin.push(&[(LOCK, &lock)], "release the hold");
    let mut pinned = args.clone();
    pinned.extend(["--param".to_owned(), "web.pin=1.0.0".to_owned()]);
    let commits = origin.commits("main");
    operator.commit(&strs(&pinned)).success();
    assert_eq!(origin.commits("main"), commits);
}

/// The first bump reverted: the commit that wrote the lock file (its entry) is taken back. Left without an entry,
/// the image would follow its policy at render time, to the very tag taken back; the committer writes the entry
/// at the tag the manifest names, with the taken-back tag rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reverted_first_bump_is_recorded_at_the_manifests_tag() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = args(&origin);
    operator.commit(&strs(&args)).success();
    assert!(origin.file("main", LOCK).contains("tag: 1.1.0"));

    let revert = origin.revert_tip();
    let out = operator.commit(&strs(&args));
    assert!(
        out.success().contains(&format!(
            "  web: 1.1.0 rejected, taken back in {}\n",
            &revert[..12]
        )),
        "{}",
        out.stdout
    );
    let lock = origin.file("main", LOCK);
    assert!(
        lock.contains("tag: 1.0.0") && lock.contains("rejected: [1.1.0]"),
        "{lock}"
    );
    let commits = origin.commits("main");
    operator.commit(&strs(&args)).success();
    assert_eq!(origin.commits("main"), commits, "later rounds leave it");

    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.2.0"]).await;
    operator.commit(&strs(&args)).success();
    assert!(origin.file("main", LOCK).contains("tag: 1.2.0"));
}

/// `<alias>.hold` and `<alias>.pin` set on the Application (parameters) win over the lock file when rendering, so
/// the committer records nothing for such an image: the lock file stays as it is while a newer tag waits, and the
/// image moves once the parameter is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_pin_given_as_parameters_are_obeyed() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = args(&origin);
    operator.commit(&strs(&args)).success();
    let lock = origin.file("main", LOCK);
    let commits = origin.commits("main");
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    for (param, why) in [
        ("web.hold=true", "held by the Application's hold"),
        ("web.pin=1.0.0", "pinned to 1.0.0 by the Application's pin"),
    ] {
        let mut given = args.clone();
        given.extend(["--param".to_owned(), param.to_owned()]);
        let out = operator.commit(&strs(&given));
        assert_eq!(
            out.success(),
            format!(
                "web: up to date ({LOCK})\n  web=apps.test/shop/web: {why}: nothing recorded\n"
            ),
            "{param}"
        );
        assert_eq!(origin.commits("main"), commits, "{param}");
        assert_eq!(origin.file("main", LOCK), lock, "{param}");
    }
    // Without them, the newer tag is committed: the rounds above had something to hold back.
    let out = operator.commit(&strs(&args));
    assert!(
        out.success().contains("  web: 1.0.0 → 1.1.0"),
        "{}",
        out.stdout
    );
}

/// An entry a person deletes by hand (the lock file warns about entries no image uses, which invites it) is not a
/// revert: when the image comes back, its entry is written again, nothing rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_deleted_by_hand_is_written_again_not_rejected() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = args(&origin);
    operator.commit(&strs(&args)).success();
    let lock = origin.file("main", LOCK);
    let without = format!("{}images: {{}}\n", lock.split("images:").next().unwrap());
    origin.push(&[(LOCK, &without)], "drop the web entry");
    let out = operator.commit(&strs(&args));
    assert!(
        out.success().contains("  web: (none) → 1.1.0") && !out.stdout.contains("rejected"),
        "{}",
        out.stdout
    );
    let lock = origin.file("main", LOCK);
    assert!(
        lock.contains("tag: 1.1.0")
            && !lock.lines().any(|l| l.trim_start().starts_with("rejected")),
        "{lock}"
    );
}
