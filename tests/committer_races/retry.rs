//! A push to `main` refused because a person pushed first: the committer fetches, re-applies its change on the new
//! tip and pushes again (never by force); refused every time, it gives up after its bounded attempts with one
//! paragraph naming the application and the branch, and leaves the remote as the person left it. The person
//! pushes from inside the committer's git wrapper, just before the committer's push: deterministic, no sleep.

use crate::{
    GitWrapper, LOCK, Operator, Origin, Run, app_args, bumps, locked_tag, person_edit_script,
    persons_pushes, push_tags, registry_with, seeded_origin, strs,
};

/// Every ref of the remote with its commit.
fn refs(origin: &Origin) -> String {
    origin.git(&["for-each-ref", "--format=%(objectname) %(refname)"])
}

/// How a committer's run raced a person.
struct Raced {
    run: Run,
    /// How many times the person's script ran, and the wrapper's log of it.
    hooks: usize,
    log: String,
    /// The commits the person pushed, in order.
    pushed: Vec<String>,
    /// The argument vector of each of the committer's pushes.
    pushes: Vec<Vec<String>>,
}

/// `commit` with `args`, a person pushing an edit of the lock file just before the committer's first push (`every`:
/// before each of its pushes).
fn race_a_person(operator: &Operator, origin: &Origin, args: &[String], every: bool) -> Raced {
    let person = tempfile::tempdir().unwrap();
    let wrapper = GitWrapper::new();
    wrapper.arm(None);
    wrapper.before_push(&person_edit_script(&origin.url(), person.path()), every);
    let program = wrapper.program();
    let run = operator.run_with_env(&strs(args), &[("IMAGE_RESOLVER_GIT", &program)]);
    let (hooks, log) = wrapper.push_hook();
    Raced {
        run,
        hooks,
        log,
        pushed: persons_pushes(person.path()),
        pushes: wrapper
            .argvs()
            .into_iter()
            .filter(|argv| argv.iter().any(|a| a == "push"))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_refused_once_is_re_applied_on_the_persons_tip() {
    let registry = registry_with(&["1.0.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &["--output", "json"]);
    // The lock file exists before the race.
    operator.commit(&strs(&args)).success();
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;

    let Raced {
        run,
        hooks,
        log,
        pushed,
        pushes,
    } = race_a_person(&operator, &origin, &args, false);
    assert_eq!((hooks, pushed.len()), (1, 1), "the person's push: {log}");
    let report: serde_json::Value = serde_json::from_str(run.success()).expect("json report");
    let report = &report[0];
    assert_eq!(report["outcome"]["kind"], "committed", "{report}");
    assert_eq!(
        report["attempts"], 2,
        "the refused push starts the round again: {report}"
    );

    // The committer's commit sits on the person's, which it kept; its change was made again there.
    let tip = origin.git(&["rev-parse", "main"]);
    assert_eq!(report["outcome"]["commit"].as_str(), Some(tip.as_str()));
    assert_eq!(origin.git(&["rev-parse", "main^"]), pushed[0]);
    let lock = origin.file("main", LOCK);
    assert!(
        lock.starts_with("# a person's note 1\n"),
        "the person's edit was lost: {lock}"
    );
    assert_eq!(locked_tag(&lock), "1.1.0", "{lock}");
    assert_eq!(
        lock,
        origin
            .file(&pushed[0], LOCK)
            .replace("tag: 1.0.0", "tag: 1.1.0")
            .replace(
                origin
                    .file(&pushed[0], LOCK)
                    .lines()
                    .find(|l| l.contains("digest:"))
                    .unwrap(),
                lock.lines().find(|l| l.contains("digest:")).unwrap()
            ),
        "only the entry's values changed on the person's tip"
    );
    let news: Vec<String> = bumps(&origin, "main").into_iter().map(|b| b.2).collect();
    assert_eq!(news, ["1.0.0", "1.1.0"], "one bump per tag");
    assert_eq!(origin.git(&["rev-list", "--min-parents=2", "main"]), "");
    // Both pushes were plain fast-forwards to main.
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    for push in &pushes {
        crate::races::assert_not_forced(push);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_refused_every_time_gives_up_naming_the_app_and_branch() {
    let registry = registry_with(&["1.0.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &[]);
    operator.commit(&strs(&args)).success();
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let before = refs(&origin);
    let main_before = origin.git(&["rev-parse", "main"]);

    let Raced {
        run,
        hooks,
        log,
        pushed,
        ..
    } = race_a_person(&operator, &origin, &args, true);
    assert_eq!(
        (hooks, pushed.len()),
        (6, 6),
        "a person's push before each of the committer's: {log}"
    );

    assert_eq!(run.code, 1, "{run:?}");
    let paragraph = crate::error_paragraph(&run.stderr);
    assert!(
        paragraph.starts_with("argocd-image-resolver: application web: ")
            && paragraph.contains("branch 'main'")
            && paragraph.contains("refused 6 times"),
        "{paragraph}"
    );
    eprintln!("gave up: {paragraph}");
    assert!(paragraph.len() < 400, "short: {paragraph}");
    assert_eq!(run.stdout, "", "no report of a round that failed");

    // The remote is as the person left it: their six commits on main, nothing of the committer's.
    assert_eq!(
        refs(&origin),
        before.replace(&main_before, pushed.last().unwrap())
    );
    let since: Vec<String> = origin
        .git(&["rev-list", "--reverse", &format!("{main_before}..main")])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(since, pushed);
    assert_eq!(locked_tag(&origin.file("main", LOCK)), "1.0.0");
}

/// A remote whose hook declines the committer's pushes (a protected branch): the round fails at once, naming the
/// application, the branch and the server's reason, and no ref of the remote moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_server_declines_fails_and_moves_no_ref() {
    let registry = registry_with(&["1.0.0"]).await;
    let origin = seeded_origin();
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &[]);
    operator.commit(&strs(&args)).success();
    push_tags(&registry, "2024-02-01T00:00:00Z", &["1.1.0"]).await;
    let hook = origin.bare().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'main is protected: open a pull request' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = refs(&origin);

    let run = operator.commit(&strs(&args));
    assert_eq!(run.code, 1, "{run:?}");
    let paragraph = crate::error_paragraph(&run.stderr);
    assert!(
        paragraph.starts_with("argocd-image-resolver: application web: ")
            && paragraph.contains("branch 'main'")
            && paragraph.contains("main is protected"),
        "{paragraph}"
    );
    assert_eq!(refs(&origin), before);
}
