//! `explain [DIR]`: why each image of an application runs the tag it does — where it was found, the policy and
//! where each key came from, the registry and credential asked, the tags listed, which step dropped which tag, and
//! the winner and why.
//!
//! The application is rendered and planned exactly as `generate` does it (same options, same Argo CD environment,
//! so it runs by hand or inside the plugin's sidecar alike). Each distinct request (repository, policy,
//! credentials) is resolved once, as the pipeline does, but one after the other so that each one's request count is
//! its own. Holds, images their lock file entry decides (with the entry, and whether its policy changed since),
//! and images whose source the committer edits (source write-back: rendered as written) are shown without asking
//! a registry; a pin's tag is checked with one `HEAD`, as `generate`
//! checks it: verified, not found (with the nearest existing tags), or not verified and why. When a registry fails
//! or no tag satisfies the policy, the report shows the error and the last-known-good tag `generate` would fall
//! back to. `explain` reads the cache and never records a tag in it.
//!
//! Exit codes: 0 when every tracked image was resolved (or pinned or held); 1 when rendering failed, or when a
//! request got no tag from its registry or a pinned tag does not exist — the report is still printed to stdout
//! then, the failures summarised on stderr; 2 when the policy or an option is invalid (nothing on stdout).
//!
//! # JSON (`-o json`)
//!
//! ```text
//! {
//!   "app_dir": "…",                       the directory as given
//!   "images": [{                          every image scalar that parses as a reference, in text order
//!     "object": {"kind", "name", "namespace", "document"},     document counts from 1; the others may be null
//!     "path": "spec.template.spec.containers[0].image", "line": 12, "column": 18, "container": "web" | null,
//!     "file": "deployment.yaml" | null,   the file it came from (plain files, Helm templates)
//!     "file_line": 9 | null,              its line in that file (plain files; `line` counts in the rendered output)
//!     "image": "…",                       as rendered
//!     "status": "registry" | "last-known-good" | "pin" | "hold" | "lock" | "source" | "failed" | "not-tracked",
//!     "new_image": "…" | null,            what generate writes; null when failed or not tracked
//!     "lock_entry": "…",                  (only) the lock file entry deciding an image no policy tracks
//!     "tracked": null | {
//!       "alias": "web" | null, "repository": "demo.local/shop/web",
//!       "policy": {"summary", "strategy", "constraint" | null, "pin" | null, "hold", "pin_digest",
//!                  "pull_secret" | null},
//!       "origins": [{"key": "web.ignore-tags", "value": "*-debug" | null,     key without the annotation prefix
//!                    "source": "annotation" | "parameter" | "env", "name": "Deployment/web"}],
//!       "request": 0 | null,              index of the distinct request; images sharing it were resolved once
//!       "lock": null | {"entry": "web=demo.local/shop/web", "tag", "digest" | null, "policy" | null,
//!                "policy_changed", "pin" | null, "hold", "rejected": ["…"],
//!                "decided"},              the image's lock file entry; decided false when pinned
//!       "resolution": null | {            null for holds and images the lock file or the source decides
//!         "registry": {"registry", "entry" | null, "api_url" | null, "credential": {"kind", "name"} | null,
//!                      "requests", "elapsed_ms"},
//!         "tags": null | {"listed", "invalid", "pages", "candidates": ["…"],
//!                  "winner": null | {"tag", "digest" | null, "created" | null, "reason"},
//!                  "dropped": {"allow_tags", "ignore_tags", "tag_pattern", "platforms", "unparsable",
//!                              "constraint"}},       complete lists, each sorted
//!         "error": "…" | null,            why the registry gave no tag
//!         "fallback": null | {"tag", "digest" | null, "resolved_at"},  the last-known-good tag, when used;
//!                                         resolved_at: when a registry last gave it, to within 10 minutes
//!         "pin": null | {"status": "verified", "tag", "by": "head" | "cached-tag-list", "digest" | null}
//!                | {"status": "not-found", "tag", "nearest": ["…"], "unlisted": "…" | null}
//!                | {"status": "not-verified", "tag", "reason"}     for a pin: does its registry have the tag
//!       }
//!     }
//!   }],
//!   "write_back": {                       how resolved tags reach the cluster
//!     "method": "render-time" | "git", "summary": "…",
//!     "tags": "registry" | "lock-file" | "source",   where generate takes tracked images' tags from
//!     "tags_summary": "…",                what that means, in a sentence
//!     "target": null | {"kind": "lock-file" | "kustomization" | "helm-values", "path": "…" | null},
//!     "base_branch": "…" | null, "write_branch": "…" | null, "repository": "…" | null,   null: the Application's
//!     "credentials": null | {"kind": "repo-creds"} | {"kind": "secret", "namespace": "…" | null, "name": "…"},
//!     "origins": [{"key", "value", "source", "name"}],                                 as for images
//!     "taken_back": [{"image", "key", "tag", "written_in", "now"}]   source write-back in a git checkout: tags
//!                                         the committer wrote that a person took back (it waits for a newer one)
//!   },
//!   "warnings": ["…"]                     the plan's (unknown keys, unparsable images, leftover
//!                                         .argocd-source files, …), an unusable cache
//! }
//! ```
//!
//! `invalid` counts the names the registry listed that are not valid tags (skipped, never shown: they may be
//! hostile). `credential` null means anonymous; `origins[].value` is null only if the key's source could not be
//! read back.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use super::generate::{AppArgs, open_cache};
use super::{Failure, GlobalArgs, OutputFormat};
use crate::generate::{self, Decision};
use crate::lock::LockKey;
use crate::pipeline::trace::{LockTrace, RequestTrace};
use crate::pipeline::{self, Planned, ResolveOptions, ResolvedPlan};
use crate::policy::source::{KeyOrigin, Origin, PREFIX, TrackedImage};
use crate::render::SourceFile;

/// `explain`'s options: those of `generate`, the directory as a positional argument, and the output format.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The application directory; overrides --app-dir.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub app: AppArgs,
    /// Output format: a block of text per image, or a JSON report (structure in the module documentation).
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Renders, plans and resolves the application as `generate` would, and returns the report. When a request got no
/// tag, the report is printed here and the failure returned (see the module documentation).
pub fn run(global: &GlobalArgs, mut args: ExplainArgs) -> Result<String, Failure> {
    if let Some(dir) = args.dir.take() {
        args.app.source.app_dir = dir;
    }
    let request = super::generate::request()?;
    let (report, failures) = super::within_budget(global, "explain", async {
        let deadline = Instant::from_std(super::budget::deadline_after(
            std::time::Instant::now(),
            global.budget.saturating_sub(generate::OUTPUT_MARGIN),
        ));
        let settings = super::generate::settings(&args.app)?;
        let dir = super::generate::app_dir(&args.app.source)?;
        let registries = super::generate::app_registries(global, &args.app, &request, &settings)?;
        let planned = pipeline::render_and_plan(
            &request,
            &settings,
            &dir,
            registries.image_defaults(),
            deadline,
            false,
        )
        .await
        .map_err(|e| super::generate::failure(&request, e))?;
        let mut warnings = planned.plan.warnings.clone();
        let cache = match open_cache(&args.app) {
            Ok(cache) => Some(cache),
            Err(Failure::NoResult(e) | Failure::Invalid(e)) => {
                warnings.push(format!("{e}; last-known-good tags are not shown"));
                None
            }
        };
        // Fresh from the registries, one request at a time (each request count its own), reading the
        // last-known-good answers generate would fall back to without recording any.
        let options = ResolveOptions {
            tags: None,
            answers: cache.as_deref(),
            record: false,
            detail: true,
            listed: false,
        };
        let resolved =
            pipeline::resolve_traced(&planned.plan, &Arc::new(registries), options, deadline).await;
        let app_dir = args.app.source.app_dir.display().to_string();
        let mut report = build_report(app_dir, &planned, &resolved, warnings);
        let taken_back = history::taken_back(&args.app, &dir, &planned, deadline).await;
        report.write_back.set_taken_back(taken_back);
        let failures = failure_lines(&resolved.requests);
        Ok((report, failures))
    })?;
    let data = match args.output {
        OutputFormat::Text => text::text(&report),
        OutputFormat::Json => super::json(&report),
    };
    if failures.is_empty() {
        return Ok(data);
    }
    // For explain the report is the point even when a registry failed: print it, then fail with a summary.
    super::print_then_fail(
        &data,
        format!(
            "{}{} image request(s) got no tag from the registry: {}",
            request.prefix(),
            failures.len(),
            failures.join("; ")
        ),
    )
}

/// Assembles the report: one entry per image scalar, each tracked one with its policy's origins and the
/// resolution of its request.
fn build_report(
    app_dir: String,
    planned: &Planned,
    resolved: &ResolvedPlan,
    warnings: Vec<String>,
) -> Report {
    let Planned {
        plan,
        sources,
        context,
        ..
    } = planned;
    let images = plan
        .images
        .iter()
        .enumerate()
        .map(|(index, planned)| {
            let field = &plan.scan.images[planned.field];
            let object = &plan.scan.objects[field.object];
            let source = SourceFile::locate(sources, field.line);
            let mut report = ImageReport {
                object: ObjectReport {
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                    namespace: object.namespace.clone(),
                    document: object.document + 1,
                    text: object.to_string(),
                },
                path: field.path.clone(),
                line: field.line,
                file: source.map(|(file, _)| file.path.clone()),
                file_line: source.and_then(|(_, line)| line),
                column: field.column,
                container: field.container.clone(),
                image: field.value.clone(),
                status: Status::NotTracked,
                new_image: None,
                tracked: None,
                lock_entry: None,
            };
            let outcome = resolved.resolutions.outcomes[index].clone();
            let Some(tracked) = &planned.tracked else {
                // An image no policy the plugin reads tracks, decided by its lock file entry alone.
                if let (Some(entry), Some(o)) = (&planned.lock, &outcome) {
                    report.status = Status::Lock;
                    report.new_image = generate::image_value(&field.value, planned, o);
                    report.lock_entry = Some(entry.key.to_string());
                }
                return report;
            };
            let request = resolved.request_of[index];
            let resolution = request.map(|i| resolved.requests[i].clone());
            report.status = match &outcome {
                Some(o) => match o.decision {
                    Decision::Registry => Status::Registry,
                    Decision::LastKnownGood => Status::LastKnownGood,
                    Decision::Pin => Status::Pin,
                    Decision::Hold => Status::Hold,
                    Decision::Lock => Status::Lock,
                    Decision::Source { .. } => Status::Source,
                },
                None => Status::Failed,
            };
            report.new_image =
                outcome.and_then(|o| generate::image_value(&field.value, planned, &o));
            report.tracked = Some(TrackedReport {
                alias: tracked.alias.clone(),
                repository: tracked.image.name(),
                policy: PolicyReport {
                    summary: tracked.policy.to_string(),
                    strategy: tracked.policy.strategy.name(),
                    constraint: tracked.policy.strategy.constraint().map(String::from),
                    pin: tracked.pin.clone(),
                    hold: tracked.hold,
                    pin_digest: tracked.policy.pin_digest,
                    pull_secret: tracked.pull_secret.as_ref().map(ToString::to_string),
                },
                origins: origins(tracked),
                request,
                lock: context
                    .lock
                    .as_ref()
                    .and_then(|lock| lock.get(&LockKey::of(tracked)))
                    .map(|entry| LockTrace::of(entry, tracked, planned.lock.is_some())),
                resolution,
            });
            report
        })
        .collect();
    Report {
        app_dir,
        images,
        write_back: WriteBackReport::of(&plan.write_back, context.lock.is_some()),
        warnings,
    }
}

/// Each key that shaped `tracked`, with the value it gave and where it was written, as the plan recorded them.
fn origins(tracked: &TrackedImage) -> Vec<OriginReport> {
    origin_reports(&tracked.origins)
}

fn origin_reports(origins: &[KeyOrigin]) -> Vec<OriginReport> {
    origins
        .iter()
        .map(|o| {
            let (source, name) = match &o.origin {
                Origin::Annotation { object } => ("annotation", object.clone()),
                Origin::Parameter { name } => ("parameter", name.clone()),
                Origin::Env { var } => ("env", var.clone()),
            };
            OriginReport {
                key: o.key.strip_prefix(PREFIX).unwrap_or(&o.key).to_string(),
                value: Some(o.value.clone()),
                source,
                name,
                text: o.origin.to_string(),
            }
        })
        .collect()
}

/// One line per request that got no tag from its registry or pins a tag it does not have, for the error message.
fn failure_lines(requests: &[RequestTrace]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|request| {
            if let Some(failure) = request.pin_not_found() {
                return Some(failure.to_string());
            }
            let error = request.error.as_ref()?;
            let tracked = &request.tracked;
            let mut line = format!("image {} ({}): {error}", tracked.image, tracked.policy);
            if let Some(known) = &request.fallback {
                let _ = write!(line, " (last known good: {})", known.tag);
            }
            Some(line)
        })
        .collect()
}

#[derive(Serialize)]
struct Report {
    app_dir: String,
    images: Vec<ImageReport>,
    write_back: WriteBackReport,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct ImageReport {
    object: ObjectReport,
    path: String,
    /// In the rendered stream.
    line: usize,
    /// The file the image came from, when the renderer says (plain files, Helm templates).
    file: Option<String>,
    /// The image's line in `file`, when the stream holds the file's own text (plain files).
    file_line: Option<usize>,
    column: usize,
    container: Option<String>,
    image: String,
    status: Status,
    new_image: Option<String>,
    tracked: Option<TrackedReport>,
    /// The lock file entry that decides an image no policy the plugin reads tracks (the committer's policy may
    /// be in the Application's annotations, which the plugin never sees).
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_entry: Option<String>,
}

#[derive(Serialize)]
struct ObjectReport {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    /// From 1.
    document: usize,
    /// `Deployment 'web' (document 2)`, for the text output.
    #[serde(skip)]
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Registry,
    LastKnownGood,
    Pin,
    Hold,
    Lock,
    /// As the source writes it: the committer edits the tag there (source write-back).
    Source,
    Failed,
    NotTracked,
}

#[derive(Serialize)]
struct TrackedReport {
    alias: Option<String>,
    repository: String,
    policy: PolicyReport,
    origins: Vec<OriginReport>,
    request: Option<usize>,
    lock: Option<LockTrace>,
    resolution: Option<RequestTrace>,
}

#[derive(Serialize)]
struct PolicyReport {
    summary: String,
    strategy: &'static str,
    constraint: Option<String>,
    pin: Option<String>,
    hold: bool,
    /// `pin-digest`: rendered `tag@<digest>`.
    pin_digest: bool,
    pull_secret: Option<String>,
}

#[derive(Serialize)]
struct OriginReport {
    key: String,
    value: Option<String>,
    source: &'static str,
    name: String,
    /// `annotation on Deployment/web`, for the text output.
    #[serde(skip)]
    text: String,
}

mod history;
mod text;
mod write_back;

use write_back::WriteBackReport;

#[cfg(test)]
mod tests;
