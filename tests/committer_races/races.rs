//! Two committers (separate caches, so separate clones; one over `file://`, one over `git daemon`) and a person
//! pushing to `main` as fast as they can, for 100 rounds with a new tag each round: no lost update, no duplicate
//! commit, no force push to `main` (none asked for, as the committers' git calls show; the remote would refuse
//! one), linear history, and the newest tag in the end; and the pushes did race.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use crate::servers::GitDaemon;
use crate::{
    GitWrapper, LOCK, Operator, Run, app_args, bumps, git, locked_tag, push_tags, registry_with,
    seeded_origin, strs, try_git,
};

const ROUNDS: u32 = 100;

/// `push_argv` (one git call's arguments) forces nothing: no `--force`, `-f`, `--force-with-lease`,
/// `--force-if-includes`, `--mirror`, `--delete`, and no `+` refspec.
pub fn assert_not_forced(push_argv: &[String]) {
    for arg in push_argv.iter().skip_while(|a| *a != "push") {
        let short_force = arg.starts_with('-')
            && !arg.starts_with("--")
            && (arg.contains('f') || arg.contains('d'));
        assert!(
            !(arg.starts_with("--force")
                || arg == "--mirror"
                || arg == "--delete"
                || short_force
                || arg.starts_with('+')),
            "a forced push: {arg} in {push_argv:?}"
        );
    }
}

/// The most pushes of the person a round: enough to race the committers' pushes, few enough that they win some.
const PUSHES_PER_ROUND: u32 = 4;

/// The first line a person writes into the lock file.
const NOTE: &str = "# a person's note, edit ";

/// What the person pushed.
#[derive(Default)]
struct Pushed {
    /// Every commit the remote accepted.
    commits: Vec<String>,
    /// The note of the last accepted edit of the lock file.
    last_note: Option<String>,
    refused: u32,
}

/// The person: a clone of their own; each round (a message on `rounds`) they fetch, edit, commit and push as
/// fast as they can — retrying refused pushes — until the round's committers are done (`stop`), up to
/// [`PUSHES_PER_ROUND`] accepted pushes, then say so on `done`. Every third edit changes the first (comment)
/// line of the lock file once it exists; the others append to `notes.txt`.
fn person(
    url: &str,
    rounds: &mpsc::Receiver<u32>,
    stop: &AtomicBool,
    done: &mpsc::Sender<()>,
) -> Pushed {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["clone", "--quiet", url, "clone"]);
    let clone = dir.path().join("clone");
    let mut pushed = Pushed::default();
    let mut edit = 0u32;
    for _ in rounds {
        let mut accepted = 0;
        while accepted < PUSHES_PER_ROUND && !stop.load(Ordering::SeqCst) {
            edit += 1;
            if push_an_edit(&clone, edit, &mut pushed) {
                accepted += 1;
            }
        }
        done.send(()).unwrap();
    }
    pushed
}

/// One edit on `main`'s tip, pushed: whether the remote accepted it.
fn push_an_edit(clone: &Path, edit: u32, pushed: &mut Pushed) -> bool {
    git(clone, &["fetch", "--quiet", "origin"]);
    git(clone, &["reset", "--quiet", "--hard", "origin/main"]);
    let lock = clone.join(LOCK);
    let note = (edit.is_multiple_of(3) && lock.is_file()).then(|| format!("{NOTE}{edit}"));
    match &note {
        Some(note) => {
            let text = fs::read_to_string(&lock).unwrap();
            let body = match text.strip_prefix(NOTE) {
                Some(rest) => rest.split_once('\n').map_or("", |(_, body)| body),
                None => &text,
            };
            fs::write(&lock, format!("{note}\n{body}")).unwrap();
        }
        None => append(&clone.join("notes.txt"), &format!("edit {edit}\n")),
    }
    git(
        clone,
        &[
            "commit",
            "--quiet",
            "-am",
            &format!("a person's edit {edit}"),
        ],
    );
    let out = try_git(
        clone,
        &["push", "--porcelain", "origin", "HEAD:refs/heads/main"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() {
        pushed.commits.push(git(clone, &["rev-parse", "HEAD"]));
        if note.is_some() {
            pushed.last_note = note;
        }
        return true;
    }
    assert!(
        stdout.contains("[rejected]") || stdout.contains("failed to update ref"),
        "the person's push failed for another reason: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pushed.refused += 1;
    false
}

fn append(file: &Path, line: &str) {
    let mut text = fs::read_to_string(file).unwrap();
    text.push_str(line);
    fs::write(file, text).unwrap();
}

/// How a committer's run ended.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ended {
    Committed,
    UpToDate,
    /// Its pushes were refused every time (others kept pushing first): acceptable, the next round catches up.
    GaveUp,
}

/// How a run ended, how many times its round ran, and the commit it reports.
fn ended(run: &Run) -> (Ended, u64, Option<String>) {
    if run.code == 1
        && run
            .stderr
            .contains("was refused 6 times because others pushed first")
    {
        return (Ended::GaveUp, 6, None);
    }
    assert_eq!(run.code, 0, "a committer's run failed: {run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json report");
    let report = &report[0];
    let attempts = report["attempts"].as_u64().unwrap();
    match report["outcome"]["kind"].as_str() {
        Some("committed") => (
            Ended::Committed,
            attempts,
            report["outcome"]["commit"].as_str().map(str::to_owned),
        ),
        Some("unchanged") => (Ended::UpToDate, attempts, None),
        _ => panic!("unexpected report: {report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_committers_and_a_person_race_for_100_rounds() {
    let registry = registry_with(&["1.0.0"]).await;
    let origin = seeded_origin();
    // A force push to main would now fail loudly, whoever tried it.
    origin.git(&["config", "receive.denyNonFastForwards", "true"]);
    origin.git(&["config", "receive.denyDeletes", "true"]);
    let root = origin.bare().parent().unwrap().to_path_buf();
    let daemon = GitDaemon::start(&root, &root.join("daemon.log"));
    let json = ["--output", "json"];
    let over_file = app_args(&origin.url(), &json);
    let over_daemon = app_args(&format!("git://127.0.0.1:{}/repo.git", daemon.port), &json);
    let committers = [Operator::new(&registry), Operator::new(&registry)];
    // Each committer's git through a wrapper of its own that logs every argument vector: what proves no push
    // was forced (the remote's denyNonFastForwards alone would turn a force push into an ordinary refusal).
    let wrappers = [GitWrapper::new(), GitWrapper::new()];
    for wrapper in &wrappers {
        wrapper.arm(None);
    }
    let programs = wrappers.each_ref().map(GitWrapper::program);

    let stop = Arc::new(AtomicBool::new(false));
    let (start_round, rounds) = mpsc::channel();
    let (done, round_done) = mpsc::channel();
    let human = {
        let (url, stop) = (origin.url(), Arc::clone(&stop));
        std::thread::spawn(move || person(&url, &rounds, &stop, &done))
    };
    let started = Instant::now();
    let mut endings: BTreeMap<(usize, Ended), u32> = BTreeMap::new();
    let mut behind_rounds = 0;
    let mut same_commit_rounds = 0;
    let mut retries = 0;
    for round in 1..=ROUNDS {
        let tag = format!("1.0.{round}");
        let created = format!("2024-01-01T00:{:02}:{:02}Z", round / 60, round % 60);
        push_tags(&registry, &created, &[&tag]).await;
        stop.store(false, Ordering::SeqCst);
        start_round.send(round).unwrap();
        let runs: Vec<Run> = std::thread::scope(|s| {
            let handles = [&over_file, &over_daemon]
                .into_iter()
                .zip(&committers)
                .zip(&programs)
                .map(|((args, operator), git)| {
                    s.spawn(move || {
                        operator.run_with_env(&strs(args), &[("IMAGE_RESOLVER_GIT", git)])
                    })
                })
                .collect::<Vec<_>>();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        stop.store(true, Ordering::SeqCst);
        round_done.recv().expect("the person's round");
        let ends: Vec<_> = runs.iter().map(ended).collect();
        retries += ends
            .iter()
            .map(|(_, attempts, _)| attempts - 1)
            .sum::<u64>();
        // Two committers may make the very same commit (same tree, parent, message and second): the second push
        // then finds it there. Two different commits would be a duplicate.
        let commits: BTreeSet<&String> = ends.iter().filter_map(|(_, _, c)| c.as_ref()).collect();
        assert!(
            commits.len() <= 1,
            "round {round}: both committers committed the bump: {runs:?}"
        );
        if commits.len() == 1 && ends.iter().all(|(e, _, _)| *e == Ended::Committed) {
            same_commit_rounds += 1;
        }
        let ends: Vec<Ended> = ends.into_iter().map(|(e, _, _)| e).collect();
        if !ends.contains(&Ended::Committed) {
            behind_rounds += 1;
        }
        for (i, end) in ends.into_iter().enumerate() {
            *endings.entry((i, end)).or_default() += 1;
        }
    }
    drop(start_round);
    let pushed = human.join().unwrap();
    // Eventually consistent: a round after the race carries whatever a run gave up on.
    let last = committers[0].commit(&strs(&over_file));
    let caught_up = ended(&last).0 == Ended::Committed;
    let elapsed = started.elapsed();

    // No lost update, no force push: every commit the person had accepted is still in main.
    for commit in &pushed.commits {
        let out = try_git(
            &root,
            &[
                "--git-dir",
                "repo.git",
                "merge-base",
                "--is-ancestor",
                commit,
                "main",
            ],
        );
        assert!(
            out.status.success(),
            "the person's commit {commit} was lost from main"
        );
    }
    // No force push, as the committers ran it: every push of theirs a plain one, to main.
    let pushes: Vec<Vec<String>> = wrappers
        .iter()
        .flat_map(GitWrapper::argvs)
        .filter(|argv| argv.iter().any(|a| a == "push"))
        .collect();
    for push in &pushes {
        assert_not_forced(push);
        assert!(
            push.last().is_some_and(|r| r.ends_with(":refs/heads/main")),
            "a push elsewhere than main: {push:?}"
        );
    }
    assert!(
        pushes.len() as u32 >= ROUNDS,
        "{} pushes in {ROUNDS} rounds",
        pushes.len()
    );
    // It raced: pushes were refused, the committers' or the person's.
    assert!(
        retries > 0 || pushed.refused > 0,
        "no contention: {retries} rounds run again, {} of the person's pushes refused",
        pushed.refused
    );
    // Linear history.
    assert_eq!(origin.git(&["rev-list", "--min-parents=2", "main"]), "");
    // No duplicate: each bump once, each starting where the one before ended, the tags only rising.
    let bumps = bumps(&origin, "main");
    let mut news = BTreeMap::new();
    for (commit, _, new) in &bumps {
        if let Some(other) = news.insert(new.clone(), commit.clone()) {
            panic!("tag {new} was committed twice: {other} and {commit}");
        }
    }
    let mut previous = "-".to_owned();
    for (commit, old, new) in &bumps {
        assert_eq!(
            old, &previous,
            "commit {commit} bumps from {old}, but main had {previous}"
        );
        let version = |t: &str| t.strip_prefix("1.0.").map(|n| n.parse::<u32>().unwrap());
        assert!(
            previous == "-" || version(new) > version(&previous),
            "commit {commit} goes from {previous} down to {new}"
        );
        previous = new.clone();
    }
    assert_eq!(previous, format!("1.0.{ROUNDS}"));
    let lock = origin.file("main", LOCK);
    assert_eq!(locked_tag(&lock), format!("1.0.{ROUNDS}"), "{lock}");
    if let Some(note) = &pushed.last_note {
        assert!(
            lock.starts_with(&format!("{note}\n")),
            "the person's last note was lost: {lock}"
        );
    }

    eprintln!(
        "races: {ROUNDS} rounds in {elapsed:.1?}; {} bump commits on a main of {} commits; person: {} commits \
         pushed, {} refused; runs: {endings:?}; rounds with no commit: {behind_rounds}; rounds run again after a refused push: {retries}; rounds where both pushed the same commit: {same_commit_rounds}; catch-up round committed: \
         {caught_up}; pushes of the committers, none forced: {}",
        bumps.len(),
        origin.commits("main"),
        pushed.commits.len(),
        pushed.refused,
        pushes.len(),
    );
}
