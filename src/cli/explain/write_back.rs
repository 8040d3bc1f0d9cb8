//! `explain`'s write-back section: how the application's resolved tags reach the cluster (render time, or the
//! committer's git target, branch, repository and credentials) and the keys that said so.

use serde::Serialize;

use super::{OriginReport, origin_reports, text::row};
use crate::writeback::{GitCredentials, LOCK_FILE, Method, Target, TargetPath, WriteBack};

/// The write-back settings as `explain` reports them.
#[derive(Serialize)]
pub(super) struct WriteBackReport {
    /// `render-time` or `git`.
    method: &'static str,
    /// One line, as the text output shows it.
    summary: String,
    /// Where `generate` takes tracked images' tags from: `registry` (render time), `lock-file`, or `source` (the
    /// committer edits the kustomization or values file, and the source renders as written).
    tags: &'static str,
    /// What `tags` means, in a sentence.
    tags_summary: String,
    /// For `git`: `lock-file`, `kustomization` or `helm-values`, and the path as written (`null` for the lock file).
    target: Option<TargetReport>,
    /// For `git`: the branch to check out (`null`: the Application's target revision) and the push template.
    base_branch: Option<String>,
    write_branch: Option<String>,
    /// For `git`: `null` means the Application's source repository.
    repository: Option<String>,
    credentials: Option<GitCredentials>,
    origins: Vec<OriginReport>,
    /// Tags the committer wrote to a source file that a person took back since (from the work tree's history,
    /// when `explain` runs in a git checkout): the committer does not write them again.
    taken_back: Vec<TakenBack>,
    #[serde(skip)]
    target_words: String,
}

/// A tag the committer wrote that a person took back.
#[derive(Clone, Debug, Serialize)]
pub(super) struct TakenBack {
    /// The alias, else the image.
    pub(super) image: String,
    pub(super) key: String,
    pub(super) tag: String,
    /// The committer's commit that wrote it.
    pub(super) written_in: String,
    /// What the source says now.
    pub(super) now: String,
}

#[derive(Serialize)]
struct TargetReport {
    kind: &'static str,
    path: Option<String>,
}

impl WriteBackReport {
    /// `has_lock`: the application has a lock file, which decides its images whatever the target.
    pub(super) fn of(write_back: &WriteBack, has_lock: bool) -> WriteBackReport {
        let git = write_back.git();
        let source = write_back.source_target().filter(|_| !has_lock);
        let (tags, tags_summary) = match (source, git, has_lock) {
            (Some(target), _, _) => (
                "source",
                format!(
                    "as written in the source: generate renders tracked images as the source writes them, no \
                     registry asked; the committer writes new tags to {target}"
                ),
            ),
            (None, _, true) | (None, Some(_), false) => (
                "lock-file",
                format!(
                    "from the lock file {LOCK_FILE}: generate renders its entries, no registry asked, and \
                     resolves from the registries the images it has no entry for"
                ),
            ),
            (None, None, false) => (
                "registry",
                "resolved from the registries at each render".to_string(),
            ),
        };
        let target = git.map(|git| {
            let (kind, path) = match &git.target {
                Target::LockFile => ("lock-file", None),
                Target::Kustomization(path) => ("kustomization", Some(path)),
                Target::HelmValues(path) => ("helm-values", Some(path)),
            };
            TargetReport {
                kind,
                path: path.map(TargetPath::to_string),
            }
        });
        WriteBackReport {
            method: match write_back.method {
                Method::RenderTime => "render-time",
                Method::Git(_) => "git",
            },
            summary: write_back.method.to_string(),
            tags,
            tags_summary,
            target,
            base_branch: git.and_then(|g| g.branch.base.clone()),
            write_branch: git.and_then(|g| g.branch.write.as_ref().map(ToString::to_string)),
            repository: git.and_then(|g| g.repository.as_ref().map(ToString::to_string)),
            credentials: git.map(|g| g.credentials.clone()),
            origins: origin_reports(&write_back.origins),
            taken_back: Vec::new(),
            target_words: git.map(|g| g.target.to_string()).unwrap_or_default(),
        }
    }

    pub(super) fn set_taken_back(&mut self, taken_back: Vec<TakenBack>) {
        self.taken_back = taken_back;
    }

    /// The file the committer writes tags to, in words (`the images of the kustomization in ../base`).
    pub(super) fn target_text(&self) -> &str {
        &self.target_words
    }

    /// The text section: the summary, then each key with where it was written.
    pub(super) fn rows(&self, out: &mut String) {
        out.push_str("write-back\n");
        row(out, "method", &self.summary);
        row(out, "tags", &self.tags_summary);
        for origin in &self.origins {
            let value = origin.value.as_deref().unwrap_or("?");
            row(
                out,
                "",
                &format!("{} = {value}   ({})", origin.key, origin.text),
            );
        }
        for back in &self.taken_back {
            row(
                out,
                "rejected",
                &format!(
                    "{}: {} (written in {}) was taken back, the source says {}; the committer waits for a newer tag",
                    back.image,
                    back.tag,
                    &back.written_in[..back.written_in.len().min(12)],
                    back.now
                ),
            );
        }
        out.push('\n');
    }
}
