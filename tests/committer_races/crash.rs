//! Crash safety: the committer SIGKILLed at each of its git commands in turn — before the command, and after it
//! finished — leaves the remote's `main` either as it was or with one complete commit (whose lock file parses
//! and names the new tag), and the next round carries on to exactly one bump.

use crate::{
    GitWrapper, Kill, LOCK, Operator, app_args, bumps, locked_tag, push_tags, registry_with,
    seeded_origin, strs,
};

/// The fewest git commands a round of the committer makes (12 today: clone or fetch, reset, rev-parse, add, commit,
/// push, update-ref, …): each one is a place to be killed.
const MIN_COMMANDS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committer_killed_at_any_git_command_leaves_main_whole() {
    let registry = registry_with(&["1.0.0"]).await;
    let origin = seeded_origin();
    origin.git(&["config", "receive.denyNonFastForwards", "true"]);
    let operator = Operator::new(&registry);
    let args = app_args(&origin.url(), &[]);
    let wrapper = GitWrapper::new();
    let program = wrapper.program();
    let env = [("IMAGE_RESOLVER_GIT", program.as_str())];
    // The lock file exists before the kills start.
    operator.commit(&strs(&args)).success();

    let mut minor = 0;
    let mut figures = Vec::new();
    for mode in [Kill::Before, Kill::After] {
        let mut at = 1;
        // The commands the wrapper interrupted, and how many kills left a whole commit on main.
        let mut killed_at: Vec<String> = Vec::new();
        let mut landed = 0;
        loop {
            minor += 1;
            let tag = format!("1.{minor}.0");
            push_tags(&registry, &format!("2024-02-{minor:02}T00:00:00Z"), &[&tag]).await;
            let before = origin.git(&["rev-parse", "main"]);
            wrapper.arm(Some((at, mode)));
            let run = operator.run_with_env(&strs(&args), &env);
            let Some(killed) = wrapper.killed() else {
                // Past the round's last git command: it ran to the end.
                let report = run.success();
                assert!(report.starts_with("web: committed "), "{report}");
                figures.push(format!("{mode:?}: {} git commands", at - 1));
                break;
            };
            assert_ne!(run.code, 0, "killed at {killed} yet it succeeded: {run:?}");
            killed_at.push(killed.clone());

            // Either nothing reached main, or one whole commit on the old tip.
            let tip = origin.git(&["rev-parse", "main"]);
            let where_ = format!("killed at {killed}calls:\n{}", wrapper.calls());
            if tip != before {
                landed += 1;
                assert_eq!(
                    origin.git(&["rev-parse", "main^"]),
                    before,
                    "more than one commit reached main, {where_}"
                );
                assert_eq!(locked_tag(&origin.file("main", LOCK)), tag, "{where_}");
                assert!(
                    origin.message("main").contains(&format!(
                        "Image-Resolver-Update: web=apps.test/shop/web 1.{}.0 {tag}",
                        minor - 1
                    )),
                    "{where_}: {}",
                    origin.message("main")
                );
            }

            // The next round, the real git again, carries on from there.
            let next = operator.commit(&strs(&args));
            let report = next.success();
            if tip == before {
                assert!(report.starts_with("web: committed "), "{where_}: {report}");
            } else {
                assert_eq!(report, format!("web: up to date ({LOCK})\n"), "{where_}");
            }
            assert_eq!(
                origin.git(&["rev-parse", "main^"]),
                before,
                "exactly one commit on the old tip, {where_}"
            );
            assert_eq!(locked_tag(&origin.file("main", LOCK)), tag, "{where_}");
            at += 1;
        }
        // Not vacuous: the wrapper interrupted every command of a round, the push among them (a round that ignored
        // the wrapper would have run to the end at the first call).
        assert!(
            killed_at.len() >= MIN_COMMANDS,
            "{mode:?}: only {} git commands interrupted: {killed_at:?}",
            killed_at.len()
        );
        for command in [" commit ", " push "] {
            assert!(
                killed_at.iter().any(|k| k.contains(command)),
                "{mode:?}: no{command}interrupted: {killed_at:?}"
            );
        }
        // Killed after its push, the committer left its commit on main: the "one complete commit" case happened.
        if mode == Kill::After {
            assert!(
                landed >= 1,
                "no kill after a push that landed: {killed_at:?}"
            );
        }
    }
    // One bump per tag, each once, in order.
    let news: Vec<String> = bumps(&origin, "main")
        .into_iter()
        .map(|(_, _, new)| new)
        .collect();
    let want: Vec<String> = std::iter::once("1.0.0".to_owned())
        .chain((1..=minor).map(|m| format!("1.{m}.0")))
        .collect();
    assert_eq!(news, want);
    assert_eq!(origin.git(&["rev-list", "--min-parents=2", "main"]), "");
    origin.git(&["fsck", "--no-progress", "--strict"]);
    eprintln!("crash: {} kills; {}", minor - 2, figures.join(", "));
}
