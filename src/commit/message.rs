//! The commit message: what changed, image by image, and trailers a later round reads to recognise its own
//! commits (`Image-Resolver-Update: <key> <old> <new>`).

use crate::lock::LockKey;
use crate::tag::TagName;
use crate::writeback::Change;

use super::AppSpec;

const UPDATE: &str = "Image-Resolver-Update";
const REJECT: &str = "Image-Resolver-Reject";

pub fn render(
    app: &AppSpec,
    _branch: &str,
    _file: &str,
    changes: &[Change],
    rejected: &[(LockKey, TagName, String)],
) -> String {
    let mut text = format!("image-resolver: update {}\n\n", app.name());
    for change in changes {
        text.push_str(&format!(
            "{}: {} → {} ({})\n",
            change.alias.as_deref().unwrap_or(&change.image),
            change.old.as_deref().unwrap_or("(none)"),
            change.new,
            change.policy
        ));
    }
    for (key, tag, commit) in rejected {
        text.push_str(&format!(
            "\nRejected {key}: {tag}, reverted in {commit}; it is not applied again\n"
        ));
    }
    text.push('\n');
    for change in changes {
        text.push_str(&format!(
            "{UPDATE}: {} {} {}\n",
            change.key,
            change.old.as_deref().unwrap_or("-"),
            change.new
        ));
    }
    for (key, tag, _) in rejected {
        text.push_str(&format!("{REJECT}: {key} {tag}\n"));
    }
    text
}

/// What `git log --grep` looks for to find the committer's updates of `key`.
pub fn update_needle(key: &LockKey) -> String {
    format!("{UPDATE}: {key} ")
}

/// The value the commit with `message` wrote for `key`, when it is one of the committer's updates.
pub fn updated_to(message: &str, key: &LockKey) -> Option<String> {
    let prefix = update_needle(key);
    message.lines().rev().find_map(|line| {
        let rest = line.strip_prefix(&prefix)?;
        let mut parts = rest.split(' ');
        let _old = parts.next()?;
        parts.next().map(str::to_owned)
    })
}
