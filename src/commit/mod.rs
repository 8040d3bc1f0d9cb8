//! The committer: one round for one application records the tags its policies resolve now in git — in its lock
//! file, or where its source declares them — as one commit on the target branch, or on a review branch.
//!
//! A round: check out the branch (a reused shallow clone), render and plan the application there with every image
//! resolved from its registry (the same pipeline `generate` runs), let the core decide the target file's new text
//! ([`crate::writeback::plan_target`]), look in the history whether a person took back a tag about to be written
//! again (then it is rejected, not re-applied), commit, and push. A push the remote refuses because someone
//! pushed first starts the round again on the new tip — render, decide, edit — after a pause that doubles each
//! time, a bounded number of times: never a force push to the target branch, never a stale file pushed.
//! Review-branch mode rebuilds the application's review branch as one commit on the target branch's tip and
//! replaces it only with `--force-with-lease`.
//!
//! Crash safety is git's: a commit reaches the remote whole in one ref update or not at all, and a clone left
//! damaged is cloned again by the next round.

pub mod access;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;
use tokio::time::Instant;

pub use access::{CredentialFiles, GitAccess, RepoCredentials, UsernameSource};
pub use argocd_image_resolver_core::commit::{
    AppConfig, Change, CommitConfig, ConfigError, MessageContext, MessageTemplate, Trailer,
    UPDATE_TRAILER, parse_trailers,
};

use crate::argo::ArgoRequest;
use crate::generate::{AppContext, Planner};
use crate::git::{
    Author, BranchName, Checkout, CommitOutcome, Git, GitError, Lease, RepoPath, SigningKey,
};
use crate::image::ImageRef;
use crate::lock::LockKey;
use crate::pipeline::{self, AppSettings, PipelineError};
use crate::policy::source::TrackedImage;
use crate::registry::Registries;
use crate::registry::credentials::CredentialSpec;
use crate::resolver::RegistryCache;
use crate::tag::TagName;
use crate::writeback::{
    self, BranchChange, BranchContext, BranchTemplate, Method, ResolvedImage, Skip, Target,
    TargetKind,
};

/// The review branch's name when review-branch mode is on without a template.
pub const DEFAULT_REVIEW_BRANCH: &str = "image-resolver/{{.AppName}}";

/// The most rounds one call makes when its pushes keep being refused.
pub const DEFAULT_ATTEMPTS: u32 = 6;

/// One application the committer looks after: what an Argo CD Application says about its source.
#[derive(Clone, Debug)]
pub struct AppSpec {
    /// What Argo CD would send the plugin for it: name, destination namespace, repository URL, source path,
    /// parameters and plugin env (the write-back keys among them).
    pub request: ArgoRequest,
    /// The branch it deploys (`targetRevision`).
    pub branch: String,
    /// Review-branch mode: push to this branch (a template), kept one commit ahead of `branch`.
    pub review: Option<BranchTemplate>,
}

impl AppSpec {
    pub fn name(&self) -> &str {
        self.request.app_name.as_deref().unwrap_or("(unnamed)")
    }

    fn path(&self) -> &str {
        self.request.source_path.as_deref().unwrap_or(".")
    }
}

/// Builds the registries for an application (their pull-secret scope is the application's).
pub type RegistriesFor = dyn Fn(&ArgoRequest) -> Result<Arc<Registries>, String> + Send + Sync;

/// Everything a round needs besides the application.
pub struct Committer {
    pub git: Git,
    pub settings: AppSettings,
    pub access: GitAccess,
    pub author: Author,
    pub signing: Option<SigningKey>,
    pub message: MessageTemplate,
    pub cache: Option<RegistryCache>,
    pub registries: Box<RegistriesFor>,
    pub max_attempts: u32,
    /// The first pause after a refused push; it doubles each time, with jitter, up to 10 s.
    pub backoff: Duration,
}

/// What a round did.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub app: String,
    pub repository: String,
    /// The branch pushed to (the review branch in review mode), or that would have been.
    pub branch: String,
    /// The file edited, from the repository's root.
    pub file: String,
    pub outcome: Outcome,
    pub changes: Vec<ChangeReport>,
    /// Tags a person took back, newly found: recorded in the lock file, or left out of a source file.
    pub rejected: Vec<Rejection>,
    /// Images left as they are, and why.
    pub skipped: Vec<SkipReport>,
    /// Warnings of the render and of the digests recorded.
    pub warnings: Vec<String>,
    /// The images whose registry gave no answer now (left as they are: a last-known-good answer, fine for a
    /// render, is never committed), one message each: the round did not do all it should.
    pub unresolved: Vec<String>,
    /// Whether the Application's settings are why some image is unresolved (a pin to a tag the registry does not
    /// have): editing them, not retrying, is the fix.
    #[serde(skip)]
    pub unresolved_by_settings: bool,
    /// How many times the round ran (more than one when a push was refused).
    pub attempts: u32,
    /// The repositories the round resolved: what the daemon polls for this application.
    #[serde(skip)]
    pub watched: Vec<Watched>,
}

/// A repository an application's policies resolve, with what its registry is asked with: the daemon polls each
/// distinct one once per interval, however many applications share it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Watched {
    /// The repository (no tag, no digest).
    pub image: ImageRef,
    pub pull_secret: Option<CredentialSpec>,
    /// The application's destination namespace: the pull secrets its registries may read.
    pub namespace: Option<String>,
}

/// What a render-time application renders now: its images as `generate` writes them, and what it resolves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// Each tracked image's key and the value `generate` would write (`tag` or `tag@digest`), sorted.
    pub images: Vec<String>,
    pub watched: Vec<Watched>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// A commit pushed.
    Committed { commit: String },
    /// Nothing to change.
    Unchanged,
    /// The review branch already holds this change on the current tip.
    UpToDate { commit: String },
    /// The review branch has a person's commit on top of the committer's proposal: left as it is.
    ReviewEdited { commit: String },
    /// Nothing left to propose: the review branch, at this commit, was deleted.
    ReviewClosed { commit: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct ChangeReport {
    pub image: String,
    pub key: String,
    pub old: Option<String>,
    pub new: String,
    pub policy: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rejection {
    pub image: String,
    pub key: String,
    pub tag: String,
    /// The commit that took it back.
    pub reverted_in: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SkipReport {
    pub key: String,
    pub why: String,
}

/// Why a round failed. Shown after `application <name>: `; nothing was pushed.
#[derive(Debug, Error)]
pub enum CommitError {
    /// The application's settings (its write-back keys, its path, its credentials) are wrong.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{0}")]
    Edit(String),
    #[error("{0}")]
    Registries(String),
    #[error(
        "the push to branch '{branch}' of {repository} was refused {attempts} times because others pushed first; \
         the next round tries again"
    )]
    GaveUp {
        repository: String,
        branch: String,
        attempts: u32,
    },
}

impl CommitError {
    /// Whether the application's own settings are at fault (exit 2) rather than a registry, git or time (1).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            CommitError::Invalid(_) | CommitError::Edit(_) => true,
            CommitError::Pipeline(e) => e.is_invalid_input(),
            CommitError::Git(e) => matches!(
                e,
                GitError::BranchNotFound { .. }
                    | GitError::InvalidUrl { .. }
                    | GitError::InvalidBranch { .. }
                    | GitError::InvalidPath { .. }
                    | GitError::CredentialFile { .. }
                    | GitError::CredentialsMismatch { .. }
                    | GitError::InvalidCredentials { .. }
                    // Refused or missing credentials: the operator's to fix (docs/committer.md, exit status).
                    | GitError::AuthFailed { .. }
            ),
            CommitError::Registries(_) | CommitError::GaveUp { .. } => false,
        }
    }
}

/// Where a round writes.
struct Destination {
    remote: crate::git::Remote,
    repository: String,
    base: BranchName,
    review: Option<BranchTemplate>,
    kind: TargetKind,
    target: Target,
}

impl Committer {
    /// One round for `app`, before `deadline`.
    ///
    /// # Errors
    ///
    /// See [`CommitError`]; nothing is pushed then.
    pub async fn round(&self, app: &AppSpec, deadline: Instant) -> Result<Report, CommitError> {
        let destination = self.destination(app, deadline).await?;
        let registries = (self.registries)(&app.request).map_err(CommitError::Registries)?;
        let mut checkout: Option<Checkout> = None;
        let mut pause = self.backoff;
        for attempt in 1..=self.max_attempts.max(1) {
            let clone = match checkout.as_mut() {
                Some(clone) => {
                    clone.refresh(deadline.into_std()).await?;
                    clone
                }
                None => checkout.insert(
                    self.git
                        .checkout(&destination.remote, &destination.base, deadline.into_std())
                        .await
                        .map_err(name_the_branch_key)?,
                ),
            };
            match self
                .attempt(app, &destination, &registries, clone, deadline)
                .await?
            {
                Attempt::Done(mut report) => {
                    report.attempts = attempt;
                    return Ok(*report);
                }
                Attempt::Refused(why) => {
                    tracing::info!(
                        app = app.name(),
                        branch = %destination.base,
                        attempt,
                        "push refused ({why}); starting again on the new tip"
                    );
                    let jitter =
                        Duration::from_millis(fastrand::u64(0..=pause.as_millis() as u64 / 2));
                    tokio::time::sleep(
                        (pause + jitter).min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            }
        }
        Err(CommitError::GaveUp {
            repository: destination.repository,
            branch: destination
                .review
                .as_ref()
                .map_or_else(|| destination.base.to_string(), |t| t.as_str().to_owned()),
            attempts: self.max_attempts.max(1),
        })
    }

    /// The application's write-back settings turned into where to write.
    async fn destination(
        &self,
        app: &AppSpec,
        deadline: Instant,
    ) -> Result<Destination, CommitError> {
        let context = AppContext {
            secret_scope: Some(self.settings.secret_scope(&app.request)),
            ..AppContext::for_request(&app.request)
        };
        let planner = Planner::new(&context).map_err(|e| CommitError::Invalid(e.to_string()))?;
        let write_back = planner.write_back();
        let git = match &write_back.method {
            Method::Git(git) => git.clone(),
            Method::RenderTime if write_back.origins.is_empty() => writeback::GitWriteBack {
                credentials: writeback::GitCredentials::RepoCreds,
                target: Target::LockFile,
                branch: writeback::GitBranch::default(),
                repository: None,
            },
            Method::RenderTime => {
                return Err(CommitError::Invalid(
                    "write-back-method is argocd: its tags are resolved at render time and nothing is committed; \
                     set write-back-method: git, or leave the application out of the committer's applications"
                        .to_owned(),
                ));
            }
        };
        let repository = match &git.repository {
            Some(repository) => repository.url().to_owned(),
            None => app.request.repo_url.clone().ok_or_else(|| {
                CommitError::Invalid("the application names no repository".to_owned())
            })?,
        };
        let remote = self
            .access
            .remote(
                &repository,
                &git.credentials,
                app.request.namespace.as_deref(),
            )
            .map_err(CommitError::Invalid)?;
        let base_name = git.branch.base.as_deref().unwrap_or(&app.branch);
        let base = self.base_branch(&remote, base_name, deadline).await?;
        let kind = match &git.target {
            Target::LockFile => TargetKind::LockFile,
            Target::Kustomization(_) => TargetKind::Kustomization,
            Target::HelmValues(_) => TargetKind::HelmValues,
        };
        Ok(Destination {
            remote,
            repository,
            base,
            review: git.branch.write.clone().or_else(|| app.review.clone()),
            kind,
            target: git.target,
        })
    }

    async fn attempt(
        &self,
        app: &AppSpec,
        destination: &Destination,
        registries: &Arc<Registries>,
        checkout: &mut Checkout,
        deadline: Instant,
    ) -> Result<Attempt, CommitError> {
        let path = app.path();
        let app_dir = checkout.dir().join(path);
        if !app_dir.is_dir() {
            return Err(CommitError::Invalid(format!(
                "path '{path}' is not a directory in branch '{}' of {}",
                destination.base, destination.repository
            )));
        }
        let app_dir = pipeline::app_dir(&app_dir)?;
        let request = ArgoRequest {
            revision: Some(checkout.head().to_string()),
            ..app.request.clone()
        };
        let planned = pipeline::render_and_plan_live(
            &request,
            &self.settings,
            &app_dir,
            registries.image_defaults(),
            deadline,
        )
        .await?;
        let file = target_file(checkout.dir(), path, &destination.target)?;
        let unread = unread_values_file(&request, &app_dir, path, destination.kind, &file);
        let repo_path = RepoPath::new(&file)?;
        let text = read_target(checkout.dir(), &file, destination.kind)?;
        // A review branch may hold another committer's newer proposal, which a list kept in the cache cannot
        // see: in review mode every decision, nothing to propose included, is made on fresh lists.
        let mut fresh = destination.review.is_some();
        let (images, first, warnings, unresolved, held) = loop {
            let cache = self.cache.as_ref().map(|c| RegistryCache {
                cache: Arc::clone(&c.cache),
                tags_ttl: if fresh { Duration::ZERO } else { c.tags_ttl },
            });
            // Never a last-known-good answer: fine for a render, it would commit what the registry said once.
            let options = pipeline::resolve::ResolveOptions {
                tags: cache.as_ref(),
                listed: true,
                ..pipeline::resolve::ResolveOptions::default()
            };
            let resolved =
                pipeline::resolve::resolve_traced(&planned.plan, registries, options, deadline)
                    .await;
            let resolutions = &resolved.resolutions;
            let mut warnings = planned.plan.warnings.clone();
            warnings.extend(unread.clone());
            warnings.extend(resolutions.warnings.iter().cloned());
            let ResolvedImages {
                mut images,
                unresolved,
                held,
            } = resolved_images(&planned.plan, resolutions);
            record_digests(&mut images, registries, deadline, &mut warnings).await;
            let images: Vec<ResolvedImage> = images.into_iter().map(|(image, _)| image).collect();
            let first = writeback::plan_target(
                destination.kind,
                &file,
                text.as_deref(),
                &images,
                &HashSet::new(),
            )
            .map_err(|e| CommitError::Edit(e.to_string()))?;
            // A tag list kept in the cache that lacks the tag the file has now may predate a tag another committer
            // (another replica, another cache) already wrote, and would move the image back: such a change, and a
            // change of digest alone (which digest is newer, the list cannot say), is made on a fresh list.
            let confirmed = fresh
                || self.cache.as_ref().is_none_or(|c| c.tags_ttl.is_zero())
                || first
                    .changes
                    .iter()
                    .all(|change| listed_current(&planned.plan, &resolved, change));
            if first.changes.is_empty() || confirmed {
                break (images, first, warnings, unresolved, held);
            }
            fresh = true;
        };
        // A tag about to be written again that a person took back since the committer wrote it: rejected.
        let mut rejections = HashSet::new();
        let mut rejected = Vec::new();
        for change in &first.changes {
            let Some(tag) = new_tag(change) else {
                continue;
            };
            if let Some(commit) = taken_back(checkout, &repo_path, change, &tag, deadline).await? {
                rejected.push(Rejection {
                    image: name_of(change),
                    key: change.key.to_string(),
                    tag: tag.to_string(),
                    reverted_in: commit,
                });
                rejections.insert((change.key.clone(), tag));
            }
        }
        let planned_file = if rejections.is_empty() {
            first
        } else {
            writeback::plan_target(
                destination.kind,
                &file,
                text.as_deref(),
                &images,
                &rejections,
            )
            .map_err(|e| CommitError::Edit(e.to_string()))?
        };
        let mut report = Report {
            app: app.name().to_owned(),
            repository: destination.repository.clone(),
            branch: destination.base.to_string(),
            file: file.clone(),
            outcome: Outcome::Unchanged,
            changes: planned_file.changes.iter().map(change_report).collect(),
            rejected,
            skipped: held
                .into_iter()
                .chain(planned_file.skipped.iter().map(|(key, skip)| SkipReport {
                    key: key.to_string(),
                    why: skip_text(skip),
                }))
                .collect(),
            warnings,
            unresolved_by_settings: unresolved.by_settings,
            unresolved: unresolved.messages,
            attempts: 0,
            watched: watched_of(&planned.plan, app),
        };
        // A rejection that only leaves a source file as it is changes nothing to commit.
        if !planned_file.changes_file() {
            self.close_review(app, destination, checkout, &file, &mut report, deadline)
                .await?;
            return Ok(Attempt::Done(Box::new(report)));
        }
        let new_text = planned_file.text.unwrap_or_default();
        checkout.write_file(&repo_path, new_text.as_bytes())?;
        let recorded: Vec<argocd_image_resolver_core::commit::Rejection> = report
            .rejected
            .iter()
            .filter(|r| {
                planned_file
                    .rejected
                    .iter()
                    .any(|(k, _)| k.to_string() == r.key)
            })
            .filter_map(|r| {
                let key = LockKey::parse(&r.key).ok()?;
                Some(argocd_image_resolver_core::commit::Rejection {
                    image: key.repository().to_owned(),
                    alias: key.alias().map(str::to_owned),
                    key,
                    tag: r.tag.clone(),
                    reverted_in: r.reverted_in.clone(),
                })
            })
            .collect();
        let message = self.message.render(&MessageContext {
            app_name: app.name(),
            app_namespace: app.request.namespace.as_deref(),
            branch: destination.base.as_str(),
            file: &file,
            changes: &planned_file.changes,
            rejections: &recorded,
        });
        let commit = match checkout
            .commit(
                &message,
                &self.author,
                self.signing.as_ref(),
                deadline.into_std(),
            )
            .await?
        {
            CommitOutcome::Committed(oid) => oid,
            CommitOutcome::NothingChanged => {
                self.close_review(app, destination, checkout, &file, &mut report, deadline)
                    .await?;
                return Ok(Attempt::Done(Box::new(report)));
            }
        };
        match &destination.review {
            None => match checkout.push(deadline.into_std()).await {
                Ok(()) => {}
                Err(GitError::PushRejected { .. }) => {
                    return Ok(Attempt::Refused("someone pushed first".to_owned()));
                }
                Err(e) => return Err(e.into()),
            },
            Some(template) => {
                let branch =
                    review_branch(template, app, destination, &planned_file.changes, &file)?;
                report.branch = branch.to_string();
                let tip = checkout.remote_tip(&branch, deadline.into_std()).await?;
                // A branch that moved since `tip` was read is not looked at: the lease refuses the push.
                if let Some(tip) = &tip
                    && fetched_at(checkout, &branch, tip, deadline).await?
                {
                    if checkout.same_change(tip, deadline.into_std()).await? {
                        report.outcome = Outcome::UpToDate {
                            commit: tip.to_string(),
                        };
                        return Ok(Attempt::Done(Box::new(report)));
                    }
                    if !own_proposal(checkout, &self.author, tip, deadline).await? {
                        report.outcome = Outcome::ReviewEdited {
                            commit: tip.to_string(),
                        };
                        // Nothing of this round's was pushed.
                        report.changes.clear();
                        report.rejected.clear();
                        return Ok(Attempt::Done(Box::new(report)));
                    }
                }
                let lease = tip.map_or(Lease::Absent, Lease::At);
                match checkout
                    .push_review(&branch, &lease, deadline.into_std())
                    .await
                {
                    Ok(()) => {}
                    Err(GitError::LeaseBroken { .. }) => {
                        return Ok(Attempt::Refused("the review branch moved".to_owned()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        report.outcome = Outcome::Committed {
            commit: commit.to_string(),
        };
        tracing::info!(app = app.name(), branch = %report.branch, %commit, changes = report.changes.len(), "committed");
        Ok(Attempt::Done(Box::new(report)))
    }
}

impl Committer {
    /// In review-branch mode with nothing to propose (the target branch has the change — the proposal was merged
    /// — or a person took it back): the application's review branch, when it holds the committer's own proposal,
    /// is deleted with a lease, so that nobody merges a stale one. Not when an image went unresolved (the
    /// proposal may still stand), nor for a branch whose name depends on the changes (it cannot be named now).
    async fn close_review(
        &self,
        app: &AppSpec,
        destination: &Destination,
        checkout: &Checkout,
        file: &str,
        report: &mut Report,
        deadline: Instant,
    ) -> Result<(), CommitError> {
        let Some(template) = &destination.review else {
            return Ok(());
        };
        // A name made of the changes (`{{.SHA256}}`, `range .Images`) names another branch for each proposal.
        if !report.unresolved.is_empty() || template.names_changes() {
            return Ok(());
        }
        let Ok(branch) = review_branch(template, app, destination, &[], file) else {
            return Ok(());
        };
        let Some(tip) = checkout.remote_tip(&branch, deadline.into_std()).await? else {
            return Ok(());
        };
        // Moved since `tip` was read: someone else's now; the next round looks again.
        if !fetched_at(checkout, &branch, &tip, deadline).await?
            || !own_proposal(checkout, &self.author, &tip, deadline).await?
        {
            return Ok(());
        }
        match checkout
            .delete_review(&branch, &tip, deadline.into_std())
            .await
        {
            Ok(()) => {
                tracing::info!(app = app.name(), %branch, "review branch deleted: nothing left to propose");
                report.branch = branch.to_string();
                report.outcome = Outcome::ReviewClosed {
                    commit: tip.to_string(),
                };
                Ok(())
            }
            // Someone moved it meanwhile: theirs now; the next round looks again.
            Err(GitError::LeaseBroken { .. } | GitError::PushRejected { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the tag `change` moves from (the file's now) is in the tag list its image was resolved from, and differs
/// from the tag it moves to: then the list is at least as new as what the file says, and the policy's choice from
/// it cannot move the image back. A new entry (nothing to move from) is.
fn listed_current(
    plan: &crate::generate::Plan,
    resolved: &pipeline::resolve::ResolvedPlan,
    change: &Change,
) -> bool {
    let Some(old) = change.old.as_deref() else {
        return true;
    };
    let old = bare_tag(old);
    if bare_tag(&change.new) == old {
        return false;
    }
    plan.images
        .iter()
        .zip(&resolved.request_of)
        .filter(|(planned, _)| {
            planned
                .tracked
                .as_ref()
                .is_some_and(|t| LockKey::of(t) == change.key)
        })
        .filter_map(|(_, request)| resolved.requests[(*request)?].tags.as_ref())
        .any(|tags| tags.listed_names.iter().any(|name| name == old))
}

/// A warning when the committer writes to a Helm values file the chart's render does not read (neither the
/// chart's `values.yaml` nor one of its `values-files`): the tags written there would never be deployed.
fn unread_values_file(
    request: &ArgoRequest,
    app_dir: &Path,
    app_path: &str,
    kind: TargetKind,
    file: &str,
) -> Option<String> {
    if kind != TargetKind::HelmValues || !app_dir.join("Chart.yaml").is_file() {
        return None;
    }
    let options = pipeline::source_options(request, app_dir).ok()?;
    let read: Vec<String> = std::iter::once("values.yaml".to_owned())
        .chain(options.helm.values_files)
        .filter_map(|values| writeback::TargetPath::App(values).in_repo(app_path).ok())
        .collect();
    (!read.iter().any(|r| r == file)).then(|| {
        format!(
            "the committer writes tags to {file}, which the chart's render does not read (it reads {}): they are \
             not deployed; add the file to the values-files parameter, or point write-back-target at one of those",
            read.join(", ")
        )
    })
}

/// Whether the clone, fetching `branch`, finds it at `tip` (as `ls-remote` saw it).
async fn fetched_at(
    checkout: &Checkout,
    branch: &BranchName,
    tip: &crate::git::Oid,
    deadline: Instant,
) -> Result<bool, CommitError> {
    let fetched = checkout.fetch_branch(branch, deadline.into_std()).await?;
    Ok(fetched.as_ref() == Some(tip))
}

/// Whether `tip`, a review branch's tip the clone has fetched, is the committer's own proposal (written by its
/// author, its message carrying the committer's trailers), which the committer may replace or delete. A person's
/// commit on top of it is theirs to keep.
async fn own_proposal(
    checkout: &Checkout,
    author: &Author,
    tip: &crate::git::Oid,
    deadline: Instant,
) -> Result<bool, CommitError> {
    let (email, message) = checkout
        .author_and_message(tip, deadline.into_std())
        .await?;
    Ok(email == author.email()
        && !argocd_image_resolver_core::commit::parse_trailers(&message).is_empty())
}

impl Committer {
    /// The branch `name` names on `remote`: `HEAD` is the remote's default branch (Argo CD's `targetRevision:
    /// HEAD`).
    async fn base_branch(
        &self,
        remote: &crate::git::Remote,
        name: &str,
        deadline: Instant,
    ) -> Result<BranchName, CommitError> {
        if name == "HEAD" {
            return Ok(self.git.default_branch(remote, deadline.into_std()).await?);
        }
        BranchName::new(name).map_err(|e| {
            CommitError::Invalid(format!(
                "{e}; name the branch the application deploys (targetRevision, or git-branch)"
            ))
        })
    }

    /// A render-time application as `generate` renders it now, from a checkout of its branch: what the daemon
    /// compares round after round, to ask Argo CD for a refresh when it changes.
    ///
    /// # Errors
    ///
    /// As a round's: the repository, the branch, the render.
    pub async fn probe(&self, app: &AppSpec, deadline: Instant) -> Result<Probe, CommitError> {
        let repository = app.request.repo_url.clone().ok_or_else(|| {
            CommitError::Invalid("the application names no repository".to_owned())
        })?;
        let remote = self
            .access
            .remote(
                &repository,
                &writeback::GitCredentials::RepoCreds,
                app.request.namespace.as_deref(),
            )
            .map_err(CommitError::Invalid)?;
        let base = self.base_branch(&remote, &app.branch, deadline).await?;
        let registries = (self.registries)(&app.request).map_err(CommitError::Registries)?;
        let checkout = self
            .git
            .checkout(&remote, &base, deadline.into_std())
            .await?;
        let path = app.path();
        let app_dir = pipeline::app_dir(&checkout.dir().join(path))?;
        let request = ArgoRequest {
            revision: Some(checkout.head().to_string()),
            ..app.request.clone()
        };
        let (planned, resolutions) = pipeline::render_and_resolve(
            &request,
            &self.settings,
            &app_dir,
            &registries,
            self.cache.as_ref(),
            deadline,
            true,
        )
        .await?;
        let mut images: Vec<String> = planned
            .plan
            .images
            .iter()
            .zip(&resolutions.outcomes)
            .filter_map(|(planned, outcome)| {
                let (tracked, outcome) = (planned.tracked.as_ref()?, outcome.as_ref()?);
                let digest = outcome
                    .digest
                    .as_deref()
                    .filter(|_| tracked.policy.renders_digest());
                Some(format!(
                    "{} {}{}",
                    LockKey::of(tracked),
                    outcome.tag,
                    digest.map(|d| format!("@{d}")).unwrap_or_default()
                ))
            })
            .collect();
        images.sort();
        images.dedup();
        Ok(Probe {
            images,
            watched: watched_of(&planned.plan, app),
        })
    }
}

/// The distinct repositories `plan` tracks, as the registries are asked about them.
fn watched_of(plan: &crate::generate::Plan, app: &AppSpec) -> Vec<Watched> {
    let mut watched: Vec<Watched> = Vec::new();
    for tracked in plan.images.iter().filter_map(|p| p.tracked.as_ref()) {
        let one = Watched {
            image: tracked.image.repository_only(),
            pull_secret: tracked.pull_secret.clone(),
            namespace: app.request.namespace.clone(),
        };
        if !watched.contains(&one) {
            watched.push(one);
        }
    }
    watched
}

enum Attempt {
    Done(Box<Report>),
    /// The push was refused: someone pushed first, or the review branch moved.
    Refused(String),
}

/// The digest each resolved tag names now, for the images whose policy did not ask for it: the lock file records
/// it, so that git says exactly which image ran. An image whose registry does not answer keeps no digest.
async fn record_digests(
    images: &mut [(ResolvedImage, Arc<TrackedImage>)],
    registries: &Registries,
    deadline: Instant,
    warnings: &mut Vec<String>,
) {
    for (image, tracked) in images
        .iter_mut()
        .filter(|(image, _)| image.digest.is_none())
    {
        let asked = async {
            let client = registries
                .client_for(&tracked.image, tracked.pull_secret.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            client
                .digest(tracked.image.repository(), image.tag.as_str())
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout_at(deadline, asked).await {
            Ok(Ok(digest)) => image.digest_recorded = Some(digest),
            Ok(Err(e)) => warnings.push(format!(
                "image {}: the digest of tag {} is not recorded: {e}",
                tracked.image, image.tag
            )),
            Err(_) => warnings.push(format!(
                "image {}: the digest of tag {} is not recorded: out of time",
                tracked.image, image.tag
            )),
        }
    }
}

/// The images the registries gave no answer for.
struct Unresolved {
    /// One per image.
    messages: Vec<String>,
    /// Whether the Application's settings are why (see [`Report::unresolved_by_settings`]).
    by_settings: bool,
}

/// Each tracked image the registries resolved, once per lock key, in text order; and a message for each image
/// whose registry did not answer, left as it is; and the images the Application pins or holds.
fn resolved_images(
    plan: &crate::generate::Plan,
    resolutions: &crate::generate::Resolutions,
) -> ResolvedImages {
    let messages: Vec<String> = resolutions
        .failures
        .iter()
        .map(|failure| match failure {
            // The committer never falls back: what a render's message adds about that does not apply.
            crate::generate::GenerateError::Resolve {
                image,
                policy,
                reason,
            } => format!("image {image} ({policy}): {reason}; the image is left as it is"),
            other => format!("{other}; the image is left as it is"),
        })
        .collect();
    let unresolved = Unresolved {
        messages,
        // As `generate` judges it: the registry answered that the pinned tag does not exist.
        by_settings: resolutions
            .failures
            .iter()
            .any(|f| matches!(f, crate::generate::GenerateError::PinNotFound { .. })),
    };
    let mut seen = HashSet::new();
    let mut images = Vec::new();
    let mut held = Vec::new();
    for (planned, outcome) in plan.images.iter().zip(&resolutions.outcomes) {
        let (Some(tracked), Some(outcome)) = (&planned.tracked, outcome) else {
            continue;
        };
        let key = LockKey::of(tracked);
        // A pin or a hold set on the Application is what renders; nothing to record for it (another object's
        // image of the same key, neither pinned nor held, still is).
        let why = match outcome.decision {
            crate::generate::Decision::Pin => Some(format!(
                "pinned to {} by the Application's pin: nothing recorded",
                outcome.tag
            )),
            crate::generate::Decision::Hold => {
                Some("held by the Application's hold: nothing recorded".to_owned())
            }
            _ => None,
        };
        if let Some(why) = why {
            let key = key.to_string();
            if !held.iter().any(|h: &SkipReport| h.key == key) {
                held.push(SkipReport { key, why });
            }
            continue;
        }
        if !seen.insert(key.clone()) {
            continue;
        }
        // As `generate` writes it: with the digest only where the policy pins one.
        let renders_digest = tracked.policy.renders_digest();
        let Ok(tag) = TagName::new(&outcome.tag) else {
            continue;
        };
        let rendered = planned.image.tag().map(|tag| match planned.image.digest() {
            Some(digest) => format!("{tag}@{digest}"),
            None => tag.to_owned(),
        });
        images.push((
            ResolvedImage {
                key,
                alias: tracked.alias.clone(),
                write_back: tracked.write_back.clone(),
                rendered,
                tag,
                digest: outcome.digest.clone().filter(|_| renders_digest),
                digest_recorded: outcome.digest.clone().filter(|_| !renders_digest),
                policy: tracked.policy.to_string(),
            },
            Arc::clone(tracked),
        ));
    }
    ResolvedImages {
        images,
        unresolved,
        held,
    }
}

/// What [`resolved_images`] found.
struct ResolvedImages {
    images: Vec<(ResolvedImage, Arc<TrackedImage>)>,
    unresolved: Unresolved,
    /// The images the Application pins or holds.
    held: Vec<SkipReport>,
}

/// The target file's path from the repository's root.
pub fn target_file(root: &Path, app_path: &str, target: &Target) -> Result<String, CommitError> {
    let in_repo = |path: &writeback::TargetPath| {
        path.in_repo(app_path)
            .map_err(|e| CommitError::Invalid(format!("write-back-target: {e}")))
    };
    let join = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    match target {
        Target::LockFile => Ok(join(
            &writeback::TargetPath::App(String::new())
                .in_repo(app_path)
                .map_err(CommitError::Invalid)?,
            writeback::LOCK_FILE,
        )),
        Target::HelmValues(path) => in_repo(path),
        Target::Kustomization(path) => {
            let dir = in_repo(path)?;
            writeback::KUSTOMIZATION_FILES
                .iter()
                .map(|name| join(&dir, name))
                .find(|file| root.join(file).is_file())
                .ok_or_else(|| {
                    CommitError::Invalid(format!(
                        "write-back-target kustomization: there is no kustomization.yaml in '{}'",
                        if dir.is_empty() { "." } else { &dir }
                    ))
                })
        }
    }
}

/// The target file's text; `None` when a lock file does not exist yet (the round writes it). A source file that
/// does not exist is an error naming it.
fn read_target(root: &Path, file: &str, kind: TargetKind) -> Result<Option<String>, CommitError> {
    let path = root.join(file);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if kind == TargetKind::LockFile {
                Ok(None)
            } else {
                Err(CommitError::Invalid(format!(
                    "write-back-target: the values file '{file}' does not exist in the repository"
                )))
            }
        }
        Ok(meta) if !meta.is_file() => Err(CommitError::Invalid(format!(
            "write-back-target: '{file}' is not a regular file"
        ))),
        _ => {
            let bytes = std::fs::read(&path)
                .map_err(|e| CommitError::Edit(format!("cannot read {file}: {e}")))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| CommitError::Edit(format!("{file} is not UTF-8 text")))
        }
    }
}

/// When `change` writes a tag again that the committer wrote before and a person changed since: the commit
/// that changed it. A change of digest alone (a `digest` strategy) is not looked at: its tag stays.
async fn taken_back(
    checkout: &Checkout,
    file: &RepoPath,
    change: &Change,
    tag: &TagName,
    deadline: Instant,
) -> Result<Option<String>, CommitError> {
    // A change without `old` adds an entry, which the committer may have added before and a person reverted. Only
    // an explicit revert counts then (an entry deleted by hand may simply be re-added), and the history is searched
    // only when a revert touched the file: an image the committer never wrote costs no deepening.
    let reverts: Vec<String> = match &change.old {
        Some(old) if bare_tag(old) == tag.as_str() => return Ok(None),
        Some(_) => Vec::new(),
        None => {
            let reverts = checkout
                .commits_mentioning_here(file, REVERT_MARK, 16, deadline.into_std())
                .await?;
            if reverts.is_empty() {
                return Ok(None);
            }
            reverts.into_iter().map(|c| c.message).collect()
        }
    };
    let needle = format!("{UPDATE_TRAILER}: {} ", change.key);
    let found = checkout
        .commits_mentioning(file, &needle, 1, deadline.into_std())
        .await?;
    let Some(last) = found.first() else {
        return Ok(None);
    };
    let wrote = parse_trailers(&last.message).into_iter().any(|trailer| {
        matches!(trailer, Trailer::Update { key, new, .. } if key == change.key && new == change.new)
    });
    if !wrote {
        return Ok(None);
    }
    if change.old.is_none() {
        let reverted = format!("{REVERT_MARK}{}", last.oid);
        if !reverts.iter().any(|message| message.contains(&reverted)) {
            return Ok(None);
        }
    }
    let since = checkout
        .commits_touching(file, &last.oid, deadline.into_std())
        .await?;
    Ok(since.last().map(|c| c.oid.to_string()))
}

/// What `git revert` (and a forge's revert button) writes before the reverted commit's id.
const REVERT_MARK: &str = "This reverts commit ";

/// `tag@digest` without its digest.
fn bare_tag(written: &str) -> &str {
    written.split('@').next().unwrap_or(written)
}

/// A branch the remote does not have, with the settings that named it (the git error alone names the repository
/// and the branch, not where the operator wrote it).
fn name_the_branch_key(error: GitError) -> CommitError {
    match error {
        GitError::BranchNotFound { .. } => CommitError::Invalid(format!(
            "{error}; the branch is the application's targetRevision (--branch on the command line), or the base of \
             its git-branch: name a branch that exists, or push it first"
        )),
        error => error.into(),
    }
}

/// The bare tag a change writes (`tag@digest` without the digest).
fn new_tag(change: &Change) -> Option<TagName> {
    TagName::new(bare_tag(&change.new)).ok()
}

fn review_branch(
    template: &BranchTemplate,
    app: &AppSpec,
    destination: &Destination,
    changes: &[Change],
    file: &str,
) -> Result<BranchName, CommitError> {
    let context = BranchContext {
        app_name: app.name().to_owned(),
        app_namespace: app.request.namespace.clone().unwrap_or_default(),
        target_key: writeback::target_key(&destination.repository, destination.base.as_str(), file),
        changes: changes
            .iter()
            .filter_map(|c| {
                let image = crate::image::ImageRef::parse(c.key.repository()).ok()?;
                Some(BranchChange::new(
                    &image,
                    c.alias.as_deref(),
                    c.old.as_deref().unwrap_or_default(),
                    &c.new,
                ))
            })
            .collect(),
    };
    let name = template
        .render(&context)
        .map_err(|e| CommitError::Invalid(format!("review branch '{}': {e}", template.as_str())))?;
    Ok(BranchName::new(&name)?)
}

fn name_of(change: &Change) -> String {
    change.alias.clone().unwrap_or_else(|| change.image.clone())
}

fn change_report(change: &Change) -> ChangeReport {
    ChangeReport {
        image: name_of(change),
        key: change.key.to_string(),
        old: change.old.clone(),
        new: change.new.clone(),
        policy: change.policy.clone(),
    }
}

fn skip_text(skip: &Skip) -> String {
    match skip {
        Skip::Held => "held (hold: true in the lock file)".to_owned(),
        Skip::Pinned(tag) => format!("pinned to {tag} in the lock file"),
        Skip::Rejected(tag) => format!("{tag} was taken back by a revert; waiting for a newer tag"),
    }
}
