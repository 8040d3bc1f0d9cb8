//! The committer commits on the registry's word of now: a tag list its cache kept, or a last-known-good answer
//! from when the registry was up, may predate a tag another committer already wrote, and must never move an
//! image back.

use crate::{LOCK, Operator, Origin, push_tags, registry_with, strs, web_origin};

fn web_tag(origin: &Origin) -> String {
    let lock = origin.file("main", LOCK);
    lock.lines()
        .find_map(|l| l.trim().strip_prefix("tag: "))
        .unwrap_or_else(|| panic!("no tag in {lock}"))
        .to_owned()
}

/// A registry with `web` 1.0.0, an application's repository, and two committers with caches of their own.
struct Two {
    registry: crate::support::TestRegistry,
    first: Operator,
    second: Operator,
    origin: Origin,
    args: Vec<String>,
}

async fn two_committers() -> Two {
    let registry = registry_with(&["1.0.0"]).await;
    let first = Operator::new(&registry);
    let second = Operator::new(&registry);
    let origin = web_origin();
    let args = crate::app_args(&origin.url(), &[]);
    Two {
        registry,
        first,
        second,
        origin,
        args,
    }
}

/// Two committers with caches of their own (two replicas, or a `commit` job beside `watch`), each keeping tag
/// lists for an hour: the one that saw the older list does not take back what the other committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committer_with_an_older_tag_list_does_not_move_the_image_back() {
    let Two {
        registry,
        first,
        second,
        origin,
        args,
    } = two_committers().await;

    first.commit_keeping_lists(&strs(&args), "1h").success();
    assert_eq!(web_tag(&origin), "1.0.0");
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let out = second.commit_keeping_lists(&strs(&args), "1h");
    assert!(
        out.success().contains("  web: 1.0.0 → 1.1.0 "),
        "{}",
        out.stdout
    );
    let commits = origin.commits("main");

    // The first committer's cache still lists 1.0.0 as the newest.
    let out = first.commit_keeping_lists(&strs(&args), "1h");
    assert_eq!(
        out.success(),
        format!("web: up to date ({LOCK})\n"),
        "{}",
        out.stderr
    );
    assert_eq!(web_tag(&origin), "1.1.0");
    assert_eq!(origin.commits("main"), commits);
}

/// The registry gone: a render may fall back to the last tag resolved, a commit never does. The round leaves
/// the image as the lock file has it, says so, and fails (exit 1) so that a job running it notices; `-o json`
/// reports it as well. (The first committer's last-known-good answer would be 1.0.0.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_does_not_answer_commits_nothing_and_fails_the_round() {
    let Two {
        registry,
        first,
        second,
        origin,
        args,
    } = two_committers().await;
    first.commit(&strs(&args)).success();
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    second.commit(&strs(&args)).success();
    assert_eq!(web_tag(&origin), "1.1.0");
    let commits = origin.commits("main");

    drop(registry);
    let out = first.commit(&strs(&args));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with(&format!(
            "web: nothing committed ({LOCK})\n  not resolved: image apps.test/shop/web (strategy semver, \
             constraint '~1'): registry apps.test, repository shop/web (anonymous): cannot reach "
        )),
        "{}",
        out.stdout
    );
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains(
            "application web: image apps.test/shop/web (strategy semver, constraint '~1'): registry"
        ) && error.ends_with("; the image is left as it is"),
        "{}",
        out.stderr
    );
    assert_eq!(web_tag(&origin), "1.1.0");
    assert_eq!(origin.commits("main"), commits);

    let mut json_args = args.clone();
    json_args.extend(["-o".to_owned(), "json".to_owned()]);
    let out = first.commit(&strs(&json_args));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let reports: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(reports[0]["app"], "web");
    assert_eq!(reports[0]["outcome"]["kind"], "unchanged");
    assert!(
        reports[0]["unresolved"][0]
            .as_str()
            .unwrap()
            .starts_with("image apps.test/shop/web (strategy semver, constraint '~1'): registry"),
        "{reports}"
    );
}
