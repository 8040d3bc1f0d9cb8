//! For source write-back in a git checkout: the tags the committer wrote that a person took back since, read from
//! the history of the target file as the committer reads it (its `Image-Resolver-Update` trailers). Outside a
//! checkout (as in the plugin's sidecar, which gets files without history) there is nothing to read.

use std::collections::HashSet;
use std::path::Path;

use tokio::time::Instant;

use super::write_back::TakenBack;
use crate::cli::generate::RenderArgs;
use crate::commit::{Trailer, UPDATE_TRAILER, parse_trailers, target_file};
use crate::git::{Git, GitOptions, RepoPath};
use crate::lock::LockKey;
use crate::pipeline::Planned;

pub(super) async fn taken_back(
    args: &RenderArgs,
    dir: &Path,
    planned: &Planned,
    deadline: Instant,
) -> Vec<TakenBack> {
    let Some(target) = planned.plan.write_back.source_target() else {
        return Vec::new();
    };
    let cache_dir = crate::cli::generate::cache_dir(args);
    let Ok(askpass) = std::env::current_exe() else {
        return Vec::new();
    };
    let Ok(git) = Git::new(GitOptions {
        dir: cache_dir.join("git"),
        env: crate::process::Env::current(),
        askpass,
    }) else {
        return Vec::new();
    };
    let Some(work_tree) = git.work_tree(dir, deadline.into_std()).await else {
        return Vec::new();
    };
    let Ok(app_path) = dir.strip_prefix(work_tree.top()) else {
        return Vec::new();
    };
    let app_path = app_path.to_string_lossy();
    let app_path = if app_path.is_empty() { "." } else { &app_path };
    let Some(file) = target_file(work_tree.top(), app_path, target)
        .ok()
        .and_then(|f| RepoPath::new(&f).ok())
    else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for image in &planned.plan.images {
        let Some(tracked) = &image.tracked else {
            continue;
        };
        let key = LockKey::of(tracked);
        if !seen.insert(key.clone()) {
            continue;
        }
        let now = match (image.image.tag(), image.image.digest()) {
            (Some(tag), Some(digest)) => format!("{tag}@{digest}"),
            (Some(tag), None) => tag.to_owned(),
            _ => continue,
        };
        let needle = format!("{UPDATE_TRAILER}: {key} ");
        let Ok(Some(commit)) = work_tree
            .last_commit_mentioning(&file, &needle, deadline.into_std())
            .await
        else {
            continue;
        };
        let written =
            parse_trailers(&commit.message)
                .into_iter()
                .find_map(|trailer| match trailer {
                    Trailer::Update { key: k, new, .. } if k == key => Some(new),
                    _ => None,
                });
        if let Some(written) = written.filter(|w| *w != now) {
            found.push(TakenBack {
                image: tracked
                    .alias
                    .clone()
                    .unwrap_or_else(|| tracked.image.to_string()),
                key: key.to_string(),
                tag: written,
                written_in: commit.oid.to_string(),
                now,
            });
        }
    }
    found
}
