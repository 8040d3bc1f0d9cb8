//! The `generate` pipeline after rendering: find the images, work out each one's policy, resolve the tags, and
//! splice the new image strings (and one annotation per changed object) into the rendered text.
//!
//! Split in three so `generate`, `parameters` and `explain` share it: [`plan`] is pure (scan, policies, matching),
//! [`resolve_plan`] is the only step that talks to registries, and [`apply`] is pure again (edits and splice).
//! Identical (repository, policy, credentials) requests are resolved once, however many containers use the image.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cache::{ResolutionKey, Resolved};
use crate::image::{ImageDefaults, ImageRef};
use crate::manifest::{self, Edit, ImagePath, Scan};
use crate::policy::Strategy;
use crate::policy::source::{self, Action, Settings, SourceError, TrackedImage};
use crate::registry::Registries;
use crate::registry::credentials::SecretScope;
use crate::resolver::{self, RegistryCache};

/// The annotation each object whose images are tracked gets: a JSON list saying, per container, what the image
/// was rendered as, what it is now, under which policy and how that was decided. Deterministic: no timestamps.
pub const RESOLVED_ANNOTATION: &str = "argocd-image-resolver/images";

/// What the pipeline knows about the application besides its rendered text.
#[derive(Clone, Debug, Default)]
pub struct AppContext {
    /// `ARGOCD_APP_NAME`, for messages.
    pub name: Option<String>,
    /// `ARGOCD_APP_PARAMETERS`: the Application's plugin parameters as JSON.
    pub parameters: Option<String>,
    /// The process environment; `ARGOCD_ENV_*` entries are the Application's plugin env.
    pub env: Vec<(String, String)>,
    /// Extra places images live in custom resources.
    pub extra_paths: Vec<ImagePath>,
    /// How image references name registries (registries.conf's `default` and `defaultns`).
    pub image_defaults: ImageDefaults,
    /// Which namespaces' pull secrets the application may name; `None`: any (not an Application's request).
    pub secret_scope: Option<SecretScope>,
}

#[derive(Debug, Error)]
pub enum GenerateError {
    #[error("cannot read the rendered manifests: {0}")]
    Scan(#[from] manifest::ScanError),
    #[error("{0}")]
    Policy(Box<SourceError>),
    // The policy error names its source, and for an annotation the object it is on.
    #[error("{source}")]
    ObjectPolicy {
        object: String,
        source: Box<SourceError>,
    },
    #[error(
        "image {image} ({policy}): {reason}; no tag of it was resolved before, so there is nothing to fall back to"
    )]
    Resolve {
        image: String,
        policy: String,
        reason: String,
    },
    #[error(
        "{origin} names pull secret '{spec}' for image {image}, which is in namespace {namespace}: {reason}"
    )]
    PullSecretNamespace {
        origin: String,
        spec: String,
        image: String,
        namespace: String,
        reason: String,
    },
    // The annotation error names the object and says why.
    #[error("{0}")]
    Annotate(#[from] manifest::AnnotateError),
    #[error("{0}")]
    Replace(#[from] manifest::ReplaceError),
    #[error("cannot apply the edits: {0}")]
    Splice(#[from] manifest::SpliceError),
    #[error(
        "gave up matching images to their policies after {done} of {total}: the time allowed ran out"
    )]
    OutOfTime { done: usize, total: usize },
}

impl GenerateError {
    /// Whether the caller's time ran out (rather than the input being wrong).
    pub fn is_out_of_time(&self) -> bool {
        matches!(
            self,
            GenerateError::OutOfTime { .. }
                | GenerateError::Scan(manifest::ScanError::Stopped { .. })
        )
    }
}

/// One image scalar of the rendered output, with the tracked image that governs it (if any).
#[derive(Clone, Debug)]
pub struct PlannedImage {
    /// Index into [`Scan::images`].
    pub field: usize,
    /// The image as rendered.
    pub image: ImageRef,
    /// Shared by every image the same policy governs (objects without policy annotations share them all).
    pub tracked: Option<Arc<TrackedImage>>,
}

/// Everything decided before talking to a registry.
#[derive(Debug)]
pub struct Plan {
    pub scan: Scan,
    /// Every image scalar that parses as an image reference, in text order.
    pub images: Vec<PlannedImage>,
    /// Things the user should know (unknown keys, images that do not parse); deduplicated, in order.
    pub warnings: Vec<String>,
}

/// The `Kind/name` label policy messages (and [`source::Origin::Annotation`]) use for an object.
pub fn object_label(object: &manifest::Object) -> String {
    format!(
        "{}/{}",
        object.kind.as_deref().unwrap_or("object"),
        object.name.as_deref().unwrap_or("(unnamed)")
    )
}

/// Scans `rendered` and decides, for every image, which policy governs it: the object's own annotations,
/// overridden key by key by the Application's parameters, then its plugin env.
pub fn plan(rendered: &str, app: &AppContext) -> Result<Plan, GenerateError> {
    plan_until(rendered, app, &mut || false)
}

/// How many images pass between two questions to [`plan_until`]'s `stop`: an object's policy costs microseconds.
const IMAGES_PER_STOP_CHECK: usize = 64;

/// [`plan`] that asks `stop` now and then (while scanning, and between images) whether to give up, so that the
/// caller's deadline holds however large the stream; the core reads no clock, the caller's `stop` does.
///
/// # Errors
///
/// As [`plan`], and [`GenerateError::OutOfTime`] (or a [`manifest::ScanError::Stopped`]) once `stop` says so.
pub fn plan_until(
    rendered: &str,
    app: &AppContext,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Plan, GenerateError> {
    let scan = manifest::scan_until(rendered, &app.extra_paths, stop)?;
    let parameters = match &app.parameters {
        Some(json) if !json.trim().is_empty() => {
            Settings::from_parameters_json(json).map_err(|e| GenerateError::Policy(Box::new(e)))?
        }
        _ => Settings::default(),
    };
    let env = Settings::from_env(app.env.iter().cloned())
        .map_err(|e| GenerateError::Policy(Box::new(e)))?;
    let app_wide = parameters.overridden_by(&env);
    let mut plan = Plan {
        images: Vec::with_capacity(scan.images.len()),
        warnings: Vec::new(),
        scan,
    };
    let mut per_object: HashMap<usize, Arc<[Arc<TrackedImage>]>> = HashMap::new();
    // Objects without policy annotations of their own all get the app-wide policies: worked out once, shared.
    let mut app_wide_only: Option<Arc<[Arc<TrackedImage>]>> = None;
    let mut aliases: Vec<String> = Vec::new();
    let total = plan.scan.images.len();
    for (index, field) in plan.scan.images.iter().enumerate() {
        if index % IMAGES_PER_STOP_CHECK == IMAGES_PER_STOP_CHECK - 1 && stop() {
            return Err(GenerateError::OutOfTime { done: index, total });
        }
        let object = &plan.scan.objects[field.object];
        let image = match ImageRef::parse_with(&field.value, &app.image_defaults) {
            Ok(image) => image,
            Err(e) => {
                let warning = format!(
                    "{object}: {} is not an image reference, left as is: {e}",
                    field.path
                );
                plan.warnings.push(warning);
                continue;
            }
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = per_object.entry(field.object) {
            let own = object
                .annotations
                .iter()
                .any(|(key, _)| key.starts_with(source::PREFIX));
            let shared = if own { None } else { app_wide_only.clone() };
            let tracked = match shared {
                Some(tracked) => tracked,
                None => {
                    let label = object_label(object);
                    let settings = Settings::from_annotations(&label, &object.annotations)
                        .overridden_by(&app_wide);
                    let tracked =
                        settings
                            .tracked_images_in(&app.image_defaults)
                            .map_err(|source| GenerateError::ObjectPolicy {
                                object: object.to_string(),
                                source: Box::new(source),
                            })?;
                    if let Some(scope) = &app.secret_scope {
                        tracked
                            .images
                            .iter()
                            .try_for_each(|t| check_secret_scope(t, scope))?;
                    }
                    aliases.extend(tracked.images.iter().filter_map(|t| t.alias.clone()));
                    plan.warnings.extend(tracked.warnings);
                    let tracked: Arc<[Arc<TrackedImage>]> =
                        tracked.images.into_iter().map(Arc::new).collect();
                    if !own {
                        app_wide_only = Some(Arc::clone(&tracked));
                    }
                    tracked
                }
            };
            slot.insert(tracked);
        }
        let tracked = per_object[&field.object]
            .iter()
            .find(|candidate| candidate.match_name.same_repository(&image))
            .cloned();
        plan.images.push(PlannedImage {
            field: index,
            image,
            tracked,
        });
    }
    let in_use: Vec<&str> = aliases.iter().map(String::as_str).collect();
    plan.warnings.extend(app_wide.app_wide_warnings(&in_use));
    let mut seen = HashSet::new();
    plan.warnings.retain(|w| seen.insert(w.clone()));
    Ok(plan)
}

/// Refuses, before anything is resolved, a pull secret the application may not use. Only where the destination
/// namespace is known: elsewhere (the parameters command) the credential store refuses such a secret per image.
fn check_secret_scope(tracked: &TrackedImage, scope: &SecretScope) -> Result<(), GenerateError> {
    let (Some(spec), Some(_)) = (&tracked.pull_secret, scope.destination()) else {
        return Ok(());
    };
    let Some(namespace) = spec.namespace().filter(|ns| !scope.permits(ns)) else {
        return Ok(());
    };
    let origin = tracked
        .origins
        .iter()
        .rev()
        .find(|(key, _)| key.ends_with("pull-secret"))
        .map_or_else(
            || "the policy".to_string(),
            |(key, origin)| format!("{origin} ({key})"),
        );
    Err(GenerateError::PullSecretNamespace {
        origin,
        spec: spec.to_string(),
        image: tracked.image.to_string(),
        namespace: namespace.to_string(),
        reason: scope.refusal(namespace),
    })
}

/// How an image's new value was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Resolved from the registry just now.
    Registry,
    /// The registry could not be asked in time; the last tag resolved for this image and policy.
    LastKnownGood,
    /// Pinned by `<alias>.pin`.
    Pin,
    /// Left as rendered by `<alias>.hold`.
    Hold,
}

/// The outcome for one tracked image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub tag: String,
    pub digest: Option<String>,
    pub decision: Decision,
    /// Why the registry was not used, for [`Decision::LastKnownGood`].
    pub fallback_reason: Option<String>,
}

/// What [`resolve_plan`] found: the outcome per [`Plan::images`] entry (`None` for untracked images and for failed
/// requests), warnings (fallbacks to last-known-good) and failures.
#[derive(Debug, Default)]
pub struct Resolutions {
    pub outcomes: Vec<Option<Outcome>>,
    pub warnings: Vec<String>,
    /// Requests with no answer at all, neither from the registry nor from the cache, in text order. `generate`
    /// must fail on the first: rendering the old tag silently would look like success.
    pub failures: Vec<GenerateError>,
}

/// The request identity: same repository, policy and credentials resolve alike. It is the cache key of the
/// request's answer, so requests and cached answers group alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RequestKey(ResolutionKey);

/// Resolves every tracked image of `plan` that is not pinned or held, each distinct request once, all within
/// `deadline`, through `cache` when given. A request that fails or runs late falls back to the last tag recorded
/// in `cache` for it (with a warning); without one it is a failure naming the image and its policy. Warnings and
/// failures come in text order, so what Argo CD shows does not change between renders of the same state.
pub async fn resolve_plan(
    plan: &Plan,
    registries: &Arc<Registries>,
    cache: Option<&RegistryCache>,
    deadline: Instant,
) -> Resolutions {
    let mut requests: HashMap<RequestKey, &TrackedImage> = HashMap::new();
    // The requests in text order: answers arrive in any order, but what is reported about them must not change
    // between renders of the same state (Argo CD shows the failure in the UI and keeps it for a while).
    let mut order: Vec<RequestKey> = Vec::new();
    for planned in &plan.images {
        if let Some(tracked) = &planned.tracked
            && tracked.action() == Action::Resolve
        {
            let key = request_key(tracked, registries.secret_scope());
            if let std::collections::hash_map::Entry::Vacant(slot) = requests.entry(key.clone()) {
                order.push(key);
                slot.insert(tracked);
            }
        }
    }
    let mut answers: HashMap<RequestKey, Outcome> = HashMap::new();
    let mut warnings_of: HashMap<RequestKey, String> = HashMap::new();
    let mut failures: HashMap<RequestKey, GenerateError> = HashMap::new();
    let mut work = JoinSet::new();
    for (key, tracked) in &requests {
        // A secret the application may not use fails its image outright: falling back to a last-known-good tag
        // would hand over what that secret once read.
        if let (Some(scope), Some(spec)) = (registries.secret_scope(), &tracked.pull_secret)
            && let Some(namespace) = spec.namespace().filter(|ns| !scope.permits(ns))
        {
            failures.insert(
                key.clone(),
                GenerateError::Resolve {
                    image: tracked.image.to_string(),
                    policy: tracked.policy.to_string(),
                    reason: format!(
                        "pull secret '{spec}' is in namespace {namespace}: {}",
                        scope.refusal(namespace)
                    ),
                },
            );
            continue;
        }
        let (key, tracked, registries) = (key.clone(), (*tracked).clone(), Arc::clone(registries));
        let registry_cache = cache.cloned();
        work.spawn(async move {
            let resolving = resolve_one(&registries, &tracked, registry_cache.as_ref());
            let outcome = tokio::time::timeout_at(deadline, resolving).await;
            // Name the registry that kept us waiting: the message ends up in the Argo CD UI.
            let outcome = outcome.unwrap_or_else(|_| {
                Err(format!(
                    "registry {} did not answer within the time budget (--budget)",
                    tracked.image.registry()
                ))
            });
            (key, tracked, outcome)
        });
    }
    while let Some(joined) = work.join_next().await {
        let (key, tracked, outcome) = joined.expect("resolving an image does not panic");
        let cache_key = key.resolution_key();
        match outcome {
            Ok(resolved) => {
                if let Some(cache) = cache
                    && let Err(e) = cache.cache.record(&cache_key, &resolved).await
                {
                    warnings_of.insert(
                        key.clone(),
                        format!("cannot record the resolved tag of {}: {e}", key.0.name()),
                    );
                }
                answers.insert(
                    key,
                    Outcome {
                        tag: resolved.tag,
                        digest: resolved.digest,
                        decision: Decision::Registry,
                        fallback_reason: None,
                    },
                );
            }
            Err(reason) => match last_known_good(cache, &cache_key).await {
                Some(known) => {
                    warnings_of.insert(
                        key.clone(),
                        format!(
                            "image {} ({}): {reason}; using {}, the tag last resolved for it",
                            tracked.image, tracked.policy, known.tag
                        ),
                    );
                    answers.insert(
                        key,
                        Outcome {
                            tag: known.tag,
                            digest: known.digest,
                            decision: Decision::LastKnownGood,
                            fallback_reason: Some(reason),
                        },
                    );
                }
                None => {
                    failures.insert(
                        key,
                        GenerateError::Resolve {
                            image: tracked.image.to_string(),
                            policy: tracked.policy.to_string(),
                            reason,
                        },
                    );
                }
            },
        }
    }
    let failures = order
        .iter()
        .filter_map(|key| failures.remove(key))
        .collect();
    let warnings = order
        .iter()
        .filter_map(|key| warnings_of.remove(key))
        .collect();
    let outcomes = plan
        .images
        .iter()
        .map(|planned| {
            let tracked = planned.tracked.as_ref()?;
            Some(match tracked.action() {
                Action::Resolve => {
                    return answers
                        .get(&request_key(tracked, registries.secret_scope()))
                        .cloned();
                }
                Action::Pin(tag) => Outcome {
                    tag: tag.to_string(),
                    digest: None,
                    decision: Decision::Pin,
                    fallback_reason: None,
                },
                Action::Hold => Outcome {
                    tag: planned.image.tag().unwrap_or_default().to_string(),
                    digest: planned.image.digest().map(str::to_string),
                    decision: Decision::Hold,
                    fallback_reason: None,
                },
            })
        })
        .collect();
    Resolutions {
        outcomes,
        warnings,
        failures,
    }
}

/// The identity under which [`resolve_plan`] resolves `tracked` once (`explain` groups images the same way).
impl RequestKey {
    /// Where the last answer to this request is kept.
    pub(crate) fn resolution_key(&self) -> ResolutionKey {
        self.0.clone()
    }
}

/// The answer `cache` last recorded for `key`; `None` without a cache.
async fn last_known_good(cache: Option<&RegistryCache>, key: &ResolutionKey) -> Option<Resolved> {
    cache?.cache.last_known_good(key).await
}

/// The request of `tracked` under `scope`: what a secret read is kept for the scope it was read in (an image the
/// application names no pull secret for is read with whatever secret the scope lets the store find), so one
/// namespace's secrets never answer another namespace's application, not even as a last-known-good tag.
pub(crate) fn request_key(tracked: &TrackedImage, scope: Option<&SecretScope>) -> RequestKey {
    RequestKey(ResolutionKey::with_credentials(
        &tracked.image,
        &tracked.policy,
        tracked.pull_secret.as_ref(),
        scope,
    ))
}

async fn resolve_one(
    registries: &Registries,
    tracked: &TrackedImage,
    registry_cache: Option<&RegistryCache>,
) -> Result<Resolved, String> {
    let client = registries
        .client_for(&tracked.image, tracked.pull_secret.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let resolution = resolver::resolve(&client, &tracked.image, &tracked.policy, registry_cache)
        .await
        .map_err(|e| e.to_string())?;
    let selection = resolution.select(&tracked.policy);
    let winner = selection.winner.ok_or_else(|| {
        format!(
            "no tag satisfies the policy: of {} tags, {} were dropped by its filters or constraint",
            selection.considered,
            selection.dropped.total()
        )
    })?;
    Ok(Resolved {
        tag: winner.name.to_string(),
        digest: winner.digest.clone(),
        resolved_at: chrono::Utc::now(),
    })
}

/// The image string to write: the rendered spelling of the repository (`nginx` stays `nginx`) with the new tag,
/// or the tracked repository when `kustomize.image-name` made the policy govern a differently named image. A
/// digest is written only for the digest strategy, where it is what the policy pins.
pub fn new_image_value(written: &str, tracked: &TrackedImage, outcome: &Outcome) -> String {
    let repository = if tracked.match_name == tracked.image {
        repository_as_written(written).to_string()
    } else {
        tracked.image.familiar_name()
    };
    let mut value = format!("{repository}:{}", outcome.tag);
    if let (Strategy::Digest { .. }, Some(digest)) = (&tracked.policy.strategy, &outcome.digest) {
        value.push('@');
        value.push_str(digest);
    }
    value
}

/// `written` without its `:tag` and `@digest`: a `:` after the last `/` starts the tag (before it, a port).
fn repository_as_written(written: &str) -> &str {
    let without_digest = written.split('@').next().unwrap_or(written);
    let last_slash = without_digest.rfind('/');
    match without_digest.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => &without_digest[..colon],
        _ => without_digest,
    }
}

/// One line of [`RESOLVED_ANNOTATION`].
#[derive(Serialize)]
struct AnnotationEntry<'a> {
    container: Option<&'a str>,
    from: &'a str,
    image: &'a str,
    policy: String,
    decision: &'a Decision,
}

/// The rendered text with every tracked image replaced and each object holding tracked images annotated.
/// Untracked images and everything else stay byte for byte.
///
/// The output is written front to back and each object's annotation made just before it is written, so that a
/// large stream is held about twice (the rendered text and the output), not once more in edits.
pub fn apply(
    rendered: &str,
    plan: &Plan,
    resolutions: &Resolutions,
) -> Result<String, GenerateError> {
    // Every image's value, untracked ones as written: an anchor may share one text between both kinds.
    let mut values: Vec<Option<String>> = vec![None; plan.scan.images.len()];
    // The tracked images (indices into `plan.images`) by object, each object's in text order.
    let mut annotated: Vec<(usize, usize)> = Vec::new();
    for (index, (planned, outcome)) in plan.images.iter().zip(&resolutions.outcomes).enumerate() {
        let (Some(tracked), Some(outcome)) = (&planned.tracked, outcome) else {
            continue;
        };
        let field = &plan.scan.images[planned.field];
        values[planned.field] = Some(if outcome.decision == Decision::Hold {
            field.value.clone()
        } else {
            new_image_value(&field.value, tracked, outcome)
        });
        annotated.push((field.object, index));
    }
    annotated.sort_by_key(|&(object, _)| object);
    let images = manifest::replace_images(&plan.scan, &values)?;
    let annotation = |chunk: &[(usize, usize)]| {
        let mut list = String::from("[");
        for (n, &(_, index)) in chunk.iter().enumerate() {
            let planned = &plan.images[index];
            let field = &plan.scan.images[planned.field];
            let (Some(tracked), Some(outcome)) = (&planned.tracked, &resolutions.outcomes[index])
            else {
                continue;
            };
            let entry = AnnotationEntry {
                container: field.container.as_deref(),
                from: &field.value,
                image: values[planned.field].as_deref().unwrap_or(&field.value),
                policy: tracked.policy.to_string(),
                decision: &outcome.decision,
            };
            if n > 0 {
                list.push(',');
            }
            list.push_str(&serde_json::to_string(&entry).expect("strings serialise"));
        }
        list.push(']');
        plan.scan.objects[chunk[0].0].set_annotation(RESOLVED_ANNOTATION, &list)
    };
    let mut failed = None;
    let annotations = annotated
        .chunk_by(|a, b| a.0 == b.0)
        .map_while(|chunk| annotation(chunk).map_err(|e| failed = Some(e)).ok());
    let grow = images.iter().map(|e| e.text.len()).sum::<usize>() + 256 * annotated.len();
    let out =
        manifest::splice_in_order(rendered, merged(images.iter().cloned(), annotations), grow);
    if let Some(e) = failed {
        return Err(e.into());
    }
    match out {
        // Objects come in text order, and so do the places of their annotations; should a stream ever break
        // that (through aliases), all edits at once, sorted.
        Err(manifest::SpliceError::OutOfOrder { .. }) => {
            let mut edits = images;
            for chunk in annotated.chunk_by(|a, b| a.0 == b.0) {
                edits.push(annotation(chunk)?);
            }
            Ok(manifest::splice(rendered, &edits)?)
        }
        out => Ok(out?),
    }
}

/// Two streams of edits, each in text order, as one in text order.
fn merged(
    a: impl Iterator<Item = Edit>,
    b: impl Iterator<Item = Edit>,
) -> impl Iterator<Item = Edit> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if (y.range.start, y.range.end) < (x.range.start, x.range.end) => {
            b.next()
        }
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Registry => "resolved from the registry",
            Decision::LastKnownGood => "last known good (registry unavailable)",
            Decision::Pin => "pinned",
            Decision::Hold => "held",
        })
    }
}

/// How long after the deadline the caller still needs for printing: resolution stops this much earlier.
pub const OUTPUT_MARGIN: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 9, item 7): `kustomize.image-name` made `docker.io/my.org/app` be written `my.org/app`,
    /// which names registry `my.org`.
    #[test]
    fn written_image_names_the_tracked_repository() {
        let rendered = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: other/app:1.0\n";
        let parameters = r#"[{"name":"image-list","string":"a=docker.io/my.org/app"},
            {"name":"a.kustomize.image-name","string":"other/app"},{"name":"a.pin","string":"1.1.0"}]"#;
        let app = AppContext {
            parameters: Some(parameters.to_owned()),
            ..AppContext::default()
        };
        let plan = plan(rendered, &app).unwrap();
        let resolutions = Resolutions {
            outcomes: vec![Some(Outcome {
                tag: "1.1.0".to_owned(),
                digest: None,
                decision: Decision::Pin,
                fallback_reason: None,
            })],
            ..Resolutions::default()
        };
        let out = apply(rendered, &plan, &resolutions).unwrap();
        let again = manifest::scan(&out, &[]).unwrap();
        let written = ImageRef::parse(&again.images[0].value).unwrap();
        assert_eq!(written.canonical(), "docker.io/my.org/app:1.1.0", "{out}");
    }

    fn pinned(rendered: &str, pin: &str) -> Result<String, GenerateError> {
        let parameters = format!(
            r#"[{{"name":"image-list","string":"a=reg.example/a"}},{{"name":"a.pin","string":"{pin}"}}]"#
        );
        let app = AppContext {
            parameters: Some(parameters),
            ..AppContext::default()
        };
        let plan = plan(rendered, &app)?;
        let outcome = Outcome {
            tag: pin.to_owned(),
            digest: None,
            decision: Decision::Pin,
            fallback_reason: None,
        };
        let resolutions = Resolutions {
            outcomes: vec![Some(outcome); plan.images.len()],
            ..Resolutions::default()
        };
        apply(rendered, &plan, &resolutions)
    }

    /// Regression (issue 9, item 5): `main` moved to 1.1.0, `sidecar` (`image: *img`) stayed 1.0.0, exit 0.
    #[test]
    fn images_behind_aliases_move_too() {
        let rendered = "kind: Pod\nmetadata:\n  name: p\n  labels:\n    base-image: &img reg.example/a:1.0.0\nspec:\n  containers:\n  - name: main\n    image: reg.example/a:1.0.0\n  - name: sidecar\n    image: *img\n";
        let out = pinned(rendered, "1.1.0").unwrap();
        let images: Vec<String> = manifest::scan(&out, &[])
            .unwrap()
            .images
            .into_iter()
            .map(|i| i.value)
            .collect();
        assert_eq!(
            images,
            ["reg.example/a:1.1.0", "reg.example/a:1.1.0"],
            "{out}"
        );
        assert!(
            out.contains("base-image: &img reg.example/a:1.0.0"),
            "{out}"
        );

        let shared = "kind: Pod\nspec:\n  containers:\n  - name: main\n    image: &img reg.example/a:1.0.0\n    env: [{name: BASE, value: *img}]\n";
        assert_eq!(
            pinned(shared, "1.1.0").unwrap_err().to_string(),
            "cannot write image 'reg.example/a:1.1.0' at line 5 of document 1: anchor '&img' (line 5) gives its text \
             to 2 places, 1 of them not images set to it; changing it would change those too, so write the image \
             out instead of sharing it through the anchor"
        );
    }

    /// Edits are made and applied in text order, object by object: images and annotations interleave rightly.
    #[test]
    fn applies_images_and_annotations_in_text_order() {
        let rendered = "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: m, image: reg.example/a:1}\n  - {name: s, image: reg.example/a:1}\n---\nkind: ConfigMap\n---\nkind: Pod\nmetadata:\n  name: b\nspec: {containers: [{name: o, image: other/x:1}]}\n---\nkind: Pod\nmetadata:\n  name: c\nspec: {containers: [{name: m, image: reg.example/a:1}]}\n";
        let note = |c: &str| {
            format!(
                r#"{{\"container\":\"{c}\",\"from\":\"reg.example/a:1\",\"image\":\"reg.example/a:2\",\"policy\":\"strategy semver\",\"decision\":\"pin\"}}"#
            )
        };
        let want = format!(
            "kind: Pod\nmetadata: {{\"annotations\": {{\"argocd-image-resolver/images\": \"[{},{}]\"}}, name: a}}\nspec:\n  containers:\n  - {{name: m, image: reg.example/a:2}}\n  - {{name: s, image: reg.example/a:2}}\n---\nkind: ConfigMap\n---\nkind: Pod\nmetadata:\n  name: b\nspec: {{containers: [{{name: o, image: other/x:1}}]}}\n---\nkind: Pod\nmetadata:\n  annotations:\n    argocd-image-resolver/images: \"[{}]\"\n  name: c\nspec: {{containers: [{{name: m, image: reg.example/a:2}}]}}\n",
            note("m"),
            note("s"),
            note("m")
        );
        assert_eq!(pinned(rendered, "2").unwrap(), want);
    }

    /// Regression (issue 9, item 10): the plan ran as long as the stream was large, whatever the budget.
    #[test]
    fn planning_stops_when_asked() {
        let pod = "---\nkind: Pod\nmetadata:\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: a=x\nspec:\n  containers:\n  - image: x:1\n";
        let src = pod.repeat(200);
        let cases = [
            (
                "while scanning",
                0,
                "cannot read the rendered manifests: gave up reading at line 343 (document 43): the time allowed ran out",
            ),
            (
                // 24 events a Pod: the scan asks 4 times.
                "between images",
                4,
                "gave up matching images to their policies after 63 of 200: the time allowed ran out",
            ),
        ];
        for (name, questions, want) in cases {
            let mut asked = 0;
            let mut stop = || {
                asked += 1;
                asked > questions
            };
            let err = plan_until(&src, &AppContext::default(), &mut stop).unwrap_err();
            assert!(err.is_out_of_time(), "{name}");
            assert_eq!(err.to_string(), want, "{name}");
        }
    }

    #[test]
    fn repository_spelling_is_kept() {
        for (name, written, want) in [
            ("familiar with tag", "nginx:1.25", "nginx"),
            ("no tag", "nginx", "nginx"),
            ("digest", "nginx@sha256:abc", "nginx"),
            ("tag and digest", "ghcr.io/a/b:1@sha256:abc", "ghcr.io/a/b"),
            ("port, no tag", "localhost:5000/app", "localhost:5000/app"),
            (
                "port and tag",
                "localhost:5000/app:v1",
                "localhost:5000/app",
            ),
            (
                "canonical",
                "docker.io/library/nginx:1",
                "docker.io/library/nginx",
            ),
        ] {
            assert_eq!(repository_as_written(written), want, "{name}");
        }
    }
}
