//! The one step of the pipeline that talks to registries: every distinct request (repository, policy,
//! credentials) of a plan resolved once, within the deadline, falling back to the last tag recorded for it, and
//! every distinct pin (repository, tag, credentials) checked once, with a [`RequestTrace`] of each. `generate` and
//! `parameters` use the outcomes, `explain` the traces. An image its lock file entry decides is no request: its
//! outcome is the entry's ([`Outcome::without_registry`]); nor is one whose source the committer edits
//! (source write-back), which renders as written.
//!
//! A pin is checked rather than trusted: a tag the registry says it does not have fails the render, naming the pin
//! and the nearest existing tags (rendered, it would only turn into an `ImagePullBackOff`, on a rollback of all
//! moments). When the registry cannot say, the pin is rendered with a warning: a pin is for emergencies, and the
//! registry being down may be one. Last-known-good answers play no part in pins.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::trace::{
    FallbackTrace, PinEvidence, PinTrace, RegistryTrace, RequestTrace, ResolveFailure, TagsTrace,
};
use crate::cache::{Cache, ResolutionKey, Resolved};
use crate::generate::{Decision, GenerateError, Outcome, Plan, PlannedImage, Resolutions};
use crate::metrics::ResolutionOutcome;
use crate::policy::source::{Action, TrackedImage};
use crate::registry::credentials::SecretScope;
use crate::registry::urls::redact;
use crate::registry::{Registries, RegistryClient, RegistryError};
use crate::resolver::{self, Detail, PinCheck, RegistryCache};

/// How long after the deadline the caller still needs for printing: resolution stops this much earlier.
pub const OUTPUT_MARGIN: Duration = Duration::from_millis(500);

/// How [`resolve_traced`] goes about it.
#[derive(Clone, Copy, Default)]
pub struct ResolveOptions<'a> {
    /// Tag lists and build times through this cache; `None` asks the registry every time.
    pub tags: Option<&'a RegistryCache>,
    /// Where last-known-good answers are read from when a request fails.
    pub answers: Option<&'a dyn Cache>,
    /// Record each new answer in `answers` (`explain` only reads).
    pub record: bool,
    /// Keep the name of every dropped tag in the traces, and ask one request at a time, so that each trace's
    /// count of registry requests is its own (`explain`).
    pub detail: bool,
    /// Keep every listed tag's name in the traces ([`TagsTrace::listed_names`]): the committer checks the tags its
    /// target file names against the lists it resolved from.
    pub listed: bool,
}

impl<'a> ResolveOptions<'a> {
    /// What `generate` does: everything through `cache`, answers recorded.
    pub fn through(cache: Option<&'a RegistryCache>) -> ResolveOptions<'a> {
        ResolveOptions {
            tags: cache,
            answers: cache.map(|c| &*c.cache),
            record: true,
            detail: false,
            listed: false,
        }
    }
}

/// The outcomes of a plan and how they came about.
#[derive(Debug, Default)]
pub struct ResolvedPlan {
    pub resolutions: Resolutions,
    /// One per distinct request, in the order the plan first uses them.
    pub requests: Vec<RequestTrace>,
    /// Per [`Plan::images`] entry: its request (`None` for untracked, held and locked images).
    pub request_of: Vec<Option<usize>>,
}

/// The request identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RequestKey {
    /// Same repository, policy and credentials resolve alike. The key is the cache key of the request's answer,
    /// so requests and cached answers group alike.
    Resolve(ResolutionKey),
    /// Same repository, tag and credentials check a pin alike, whatever policies the images have.
    Pin {
        /// The repository with its registry, normalised.
        repository: String,
        tag: String,
        /// As in [`ResolutionKey::credential`] and [`ResolutionKey::scope`].
        credential: Option<String>,
        scope: Option<String>,
    },
}

/// The request of `tracked` (resolved or pinned) under `scope`: what a secret read is kept for the scope it was
/// read in (an image the application names no pull secret for is read with whatever secret the scope lets the
/// store find), so one namespace's secrets never answer another namespace's application, not even as a
/// last-known-good tag.
pub(crate) fn request_key(tracked: &TrackedImage, scope: Option<&SecretScope>) -> RequestKey {
    match tracked.action() {
        Action::Pin(tag) => RequestKey::Pin {
            repository: tracked.image.name(),
            tag: tag.to_string(),
            credential: tracked.pull_secret.as_ref().map(ToString::to_string),
            scope: scope.map(SecretScope::label),
        },
        Action::Resolve | Action::Hold => RequestKey::Resolve(ResolutionKey::with_credentials(
            &tracked.image,
            &tracked.policy,
            tracked.pull_secret.as_ref(),
            scope,
        )),
    }
}

/// Resolves every tracked image of `plan` that is not pinned or held, and checks every pin, each distinct request
/// once, all within `deadline`, through `cache` when given. A request that fails or runs late falls back to the
/// last tag recorded in `cache` for it (with a warning); without one it is a failure naming the image and its
/// policy. A pinned tag the registry does not have is a failure naming the pin; one the registry could not be
/// asked about is rendered, with a warning. Warnings and failures come in text order, so what Argo CD shows does
/// not change between renders of the same state.
pub async fn resolve_plan(
    plan: &Plan,
    registries: &Arc<Registries>,
    cache: Option<&RegistryCache>,
    deadline: Instant,
) -> Resolutions {
    resolve_traced(plan, registries, ResolveOptions::through(cache), deadline)
        .await
        .resolutions
}

/// [`resolve_plan`] as `options` say, with the trace of every request.
pub async fn resolve_traced(
    plan: &Plan,
    registries: &Arc<Registries>,
    options: ResolveOptions<'_>,
    deadline: Instant,
) -> ResolvedPlan {
    let mut requests = Requests::new(registries.secret_scope());
    let request_of: Vec<Option<usize>> = plan.images.iter().map(|p| requests.add(p)).collect();
    let answered = ask_all(&requests, registries, options, deadline).await;
    let outcomes = plan
        .images
        .iter()
        .zip(&request_of)
        .map(|(planned, request)| answered.outcome(planned, *request))
        .collect();
    ResolvedPlan {
        resolutions: Resolutions {
            outcomes,
            warnings: answered.warnings,
            failures: answered.failures,
        },
        requests: answered.traces,
        request_of,
    }
}

/// The distinct requests of the images of a plan, or of a stream planned a document at a time: the images a
/// registry is asked about, grouped by [`RequestKey`], in the order first used. Answers arrive in any order, but
/// what is reported about them must not change between renders of the same state (Argo CD shows a failure in the
/// UI and keeps it for a while).
pub struct Requests {
    scope: Option<SecretScope>,
    keys: Vec<RequestKey>,
    first_use: Vec<TrackedImage>,
    index_of: HashMap<RequestKey, usize>,
}

impl Requests {
    pub fn new(scope: Option<&SecretScope>) -> Requests {
        Requests {
            scope: scope.cloned(),
            keys: Vec::new(),
            first_use: Vec::new(),
            index_of: HashMap::new(),
        }
    }

    /// The request of `planned`, added when it is the first of its kind; `None` for images no registry is asked
    /// about (untracked, held, and those their lock file entry or their source decides).
    pub fn add(&mut self, planned: &PlannedImage) -> Option<usize> {
        let tracked = Self::asked(planned)?;
        let key = request_key(tracked, self.scope.as_ref());
        Some(*self.index_of.entry(key.clone()).or_insert_with(|| {
            self.keys.push(key);
            self.first_use.push(tracked.clone());
            self.first_use.len() - 1
        }))
    }

    /// The request of `planned` when [`Requests::add`] has seen its kind.
    pub fn of(&self, planned: &PlannedImage) -> Option<usize> {
        let tracked = Self::asked(planned)?;
        self.index_of
            .get(&request_key(tracked, self.scope.as_ref()))
            .copied()
    }

    fn asked(planned: &PlannedImage) -> Option<&TrackedImage> {
        if planned.lock.is_some() || planned.source.is_some() {
            return None;
        }
        planned
            .tracked
            .as_deref()
            .filter(|t| t.action() != Action::Hold)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What the registries (or, failing them, the last-known-good answers) said to each request.
pub struct Answered {
    /// Per request: `None` when there was no answer at all.
    pub outcomes: Vec<Option<Outcome>>,
    pub traces: Vec<RequestTrace>,
    /// Fallbacks to last-known-good, answers that could not be recorded, pins that could not be checked; in
    /// request order.
    pub warnings: Vec<String>,
    /// Requests with no answer, and pinned tags the registry does not have, in request order.
    pub failures: Vec<GenerateError>,
}

impl Answered {
    /// The outcome of `planned`, whose request (from [`Requests`]) is `request`.
    pub fn outcome(&self, planned: &PlannedImage, request: Option<usize>) -> Option<Outcome> {
        match request {
            Some(request) => self.outcomes[request].clone(),
            None => Outcome::without_registry(planned),
        }
    }

    /// The outcome of a pin's request: the pin, when its tag exists or could not be checked (with a warning); a
    /// failure when the registry does not have it.
    fn pinned(&mut self, trace: &RequestTrace) -> Option<Outcome> {
        if let Some(failure) = trace.pin_not_found() {
            self.failures.push(failure);
            return None;
        }
        self.warnings.extend(trace.pin_not_verified());
        let tag = trace
            .tracked
            .pin
            .clone()
            .expect("a pin's request is pinned");
        // Without the digest the check may have read: a pin renders alike however it was checked.
        Some(Outcome {
            tag,
            digest: None,
            decision: Decision::Pin,
            fallback_reason: None,
        })
    }
}

/// Asks every request once, all within `deadline`, as `options` say. A request that fails or runs late falls
/// back to the last tag recorded for it (with a warning); without one it is a failure naming the image and its
/// policy. A pin's request checks that its tag exists (see the module documentation).
pub async fn ask_all(
    requests: &Requests,
    registries: &Arc<Registries>,
    options: ResolveOptions<'_>,
    deadline: Instant,
) -> Answered {
    let count = requests.len();
    let mut traces: Vec<Option<RequestTrace>> = vec![None; count];
    let mut answers: Vec<Option<Resolved>> = vec![None; count];
    let tags_cache = options.tags.cloned();
    let detail = if options.detail {
        Detail::Names
    } else {
        Detail::Counts
    };
    let mut work = JoinSet::new();
    for (index, tracked) in requests.first_use.iter().enumerate() {
        let (tracked, registries, tags_cache) =
            (tracked.clone(), Arc::clone(registries), tags_cache.clone());
        let asking = async move {
            let (trace, answer) = match tracked.action() {
                Action::Pin(tag) => {
                    let tag = tag.to_string();
                    let trace = check_pin(&registries, tracked, tag, tags_cache.as_ref(), deadline);
                    (trace.await, None)
                }
                Action::Resolve | Action::Hold => {
                    let keep = Keep {
                        detail,
                        listed: options.listed,
                    };
                    ask(&registries, tracked, tags_cache.as_ref(), keep, deadline).await
                }
            };
            (index, trace, answer)
        };
        if options.detail {
            let (index, trace, answer) = asking.await;
            (traces[index], answers[index]) = (Some(trace), answer);
        } else {
            work.spawn(asking);
        }
    }
    while let Some(joined) = work.join_next().await {
        let (index, trace, answer) = joined.expect("resolving an image does not panic");
        (traces[index], answers[index]) = (Some(trace), answer);
    }
    let mut answered = Answered {
        outcomes: Vec::with_capacity(count),
        traces: Vec::with_capacity(count),
        warnings: Vec::new(),
        failures: Vec::new(),
    };
    for ((key, trace), answer) in requests.keys.iter().zip(traces).zip(answers) {
        let mut trace = trace.expect("every request was asked");
        let cache_key = match key {
            RequestKey::Resolve(cache_key) => cache_key,
            RequestKey::Pin { .. } => {
                let outcome = answered.pinned(&trace);
                count_resolution(ResolutionOutcome::Pin);
                answered.outcomes.push(outcome);
                answered.traces.push(trace);
                continue;
            }
        };
        let outcome = match (answer, &trace.error) {
            (Some(resolved), _) => {
                if options.record
                    && let Some(cache) = options.answers
                    && let Err(e) = cache.record(cache_key, &resolved).await
                {
                    answered.warnings.push(format!(
                        "cannot record the resolved tag of {}: {e}",
                        cache_key.name()
                    ));
                }
                Some(Outcome {
                    tag: resolved.tag,
                    digest: resolved.digest,
                    decision: Decision::Registry,
                    fallback_reason: None,
                })
            }
            (None, error) => {
                let error = error
                    .clone()
                    .expect("a request without an answer has its reason");
                let known = match options.answers {
                    Some(cache) if error.may_fall_back() => {
                        let known = cache.last_known_good(cache_key).await;
                        let hit = known.is_some();
                        crate::metrics::count_cache_lookups(
                            crate::metrics::CacheKind::LastKnownGood,
                            u64::from(hit),
                            u64::from(!hit),
                        );
                        known
                    }
                    _ => None,
                };
                let tracked = &trace.tracked;
                match known {
                    Some(known) => {
                        answered.warnings.push(format!(
                            "image {} ({}): {error}; using {}, the tag last resolved for it",
                            tracked.image, tracked.policy, known.tag
                        ));
                        trace.fallback = Some(FallbackTrace {
                            tag: known.tag.clone(),
                            digest: known.digest.clone(),
                            resolved_at: known.resolved_at.to_rfc3339(),
                        });
                        Some(Outcome {
                            tag: known.tag,
                            digest: known.digest,
                            decision: Decision::LastKnownGood,
                            fallback_reason: Some(error.to_string()),
                        })
                    }
                    None => {
                        answered.failures.push(GenerateError::Resolve {
                            image: tracked.image.to_string(),
                            policy: tracked.policy.to_string(),
                            reason: error.to_string(),
                        });
                        None
                    }
                }
            }
        };
        count_resolution(match outcome.as_ref().map(|o| &o.decision) {
            Some(Decision::LastKnownGood) => ResolutionOutcome::LastKnownGood,
            Some(_) => ResolutionOutcome::Registry,
            None => ResolutionOutcome::Failed,
        });
        answered.outcomes.push(outcome);
        answered.traces.push(trace);
    }
    answered
}

/// Counts one answered request in the process's metrics, when it has some (the daemon; `generate` for its line
/// in the render log): the one place every render and round passes.
fn count_resolution(outcome: ResolutionOutcome) {
    if let Some(metrics) = crate::metrics::global() {
        metrics.resolution(outcome);
    }
}

/// A trace of `tracked`'s request with the registry configuration's part filled in, nothing asked yet.
fn new_trace(registries: &Registries, tracked: &TrackedImage) -> RequestTrace {
    let image = &tracked.image;
    let configured = registries
        .conf()
        .endpoint(image.registry(), image.repository());
    RequestTrace {
        registry: RegistryTrace {
            registry: image.registry().to_string(),
            entry: configured.as_ref().ok().map(|e| e.name.clone()),
            api_url: configured.as_ref().ok().map(|e| redact(&e.api_url)),
            credential: None,
            requests: 0,
            elapsed_ms: 0,
        },
        tags: None,
        error: None,
        fallback: None,
        pin: None,
        tracked: tracked.clone(),
    }
}

/// Why `tracked`'s pull secret may not be used by this application, if it may not.
fn scope_refusal(registries: &Registries, tracked: &TrackedImage) -> Option<ResolveFailure> {
    let (scope, spec) = (registries.secret_scope()?, tracked.pull_secret.as_ref()?);
    let namespace = spec.namespace().filter(|ns| !scope.permits(ns))?;
    Some(ResolveFailure::SecretScope {
        spec: spec.to_string(),
        namespace: namespace.to_string(),
        reason: scope.refusal(namespace),
    })
}

/// Names the registry that kept a request waiting: the message ends up in the Argo CD UI.
fn timed_out(tracked: &TrackedImage) -> ResolveFailure {
    ResolveFailure::TimedOut {
        registry: tracked.image.registry().to_string(),
    }
}

/// The client for `tracked`'s registry and credential, within `deadline`, recorded in `trace`.
async fn client_for(
    registries: &Registries,
    tracked: &TrackedImage,
    deadline: Instant,
    trace: &mut RequestTrace,
) -> Result<RegistryClient, ResolveFailure> {
    let client = tokio::time::timeout_at(
        deadline,
        registries.client_for(&tracked.image, tracked.pull_secret.as_ref()),
    )
    .await
    .map_err(|_| timed_out(tracked))?
    .map_err(ResolveFailure::from)?;
    trace.registry.entry = Some(client.endpoint().name.clone());
    trace.registry.api_url = Some(redact(&client.endpoint().api_url));
    trace.registry.credential = client.credential_source().cloned();
    Ok(client)
}

/// Runs `work` (on `client`) until `deadline`, counting the registry requests it made in the trace.
async fn counted<T>(
    client: &RegistryClient,
    tracked: &TrackedImage,
    trace: &mut RequestTrace,
    deadline: Instant,
    work: impl std::future::Future<Output = Result<T, RegistryError>>,
) -> Result<T, ResolveFailure> {
    let before = client.stats().requests;
    let done = tokio::time::timeout_at(deadline, work).await;
    trace.registry.requests = client.stats().requests - before;
    match done {
        Err(_) => Err(timed_out(tracked)),
        Ok(done) => done.map_err(|e| ResolveFailure::Registry(Box::new(e))),
    }
}

/// What a request's trace keeps of the tags listed.
#[derive(Clone, Copy)]
struct Keep {
    detail: Detail,
    listed: bool,
}

/// Asks `tracked`'s registry for its tags and the policy's choice among them, recording the exchange: the trace,
/// and the answer when there is one. A pull secret the application may not use fails the request unasked.
async fn ask(
    registries: &Registries,
    tracked: TrackedImage,
    tags_cache: Option<&RegistryCache>,
    keep: Keep,
    deadline: Instant,
) -> (RequestTrace, Option<Resolved>) {
    let detail = keep.detail;
    let mut trace = new_trace(registries, &tracked);
    if let Some(refusal) = scope_refusal(registries, &tracked) {
        trace.error = Some(refusal);
        return (trace, None);
    }
    let image = &tracked.image;
    let started = std::time::Instant::now();
    let resolution = match client_for(registries, &tracked, deadline, &mut trace).await {
        Err(e) => Err(e),
        Ok(client) => {
            let resolving =
                resolver::resolve_with(&client, image, &tracked.policy, tags_cache, detail);
            counted(&client, &tracked, &mut trace, deadline, resolving).await
        }
    };
    trace.registry.elapsed_ms = started.elapsed().as_millis();
    let answer = match resolution {
        Err(e) => {
            trace.error = Some(e);
            None
        }
        Ok(resolution) => {
            let mut tags = TagsTrace::of(&tracked.policy, &resolution);
            if keep.listed {
                tags.listed_names = resolution.tags.iter().map(|t| t.name.to_string()).collect();
            }
            trace.error = tags.no_winner();
            trace.tags = Some(tags);
            resolution.winner().map(|winner| Resolved {
                tag: winner.name.to_string(),
                digest: winner.digest.clone(),
                resolved_at: chrono::Utc::now(),
            })
        }
    };
    (trace, answer)
}

/// Checks that `tracked`'s pinned `tag` exists (see [`resolver::check_pin`]), recording the exchange in the
/// trace's `pin`. Whatever keeps the registry from saying — a pull secret the application may not use (never sent
/// for it), the registry unreachable, late or refusing the credential — leaves the pin not verified.
async fn check_pin(
    registries: &Registries,
    tracked: TrackedImage,
    tag: String,
    tags_cache: Option<&RegistryCache>,
    deadline: Instant,
) -> RequestTrace {
    let mut trace = new_trace(registries, &tracked);
    let started = std::time::Instant::now();
    let checked = match scope_refusal(registries, &tracked) {
        Some(refusal) => Err(refusal),
        None => match client_for(registries, &tracked, deadline, &mut trace).await {
            Err(e) => Err(e),
            Ok(client) => {
                let checking = resolver::check_pin(&client, &tracked.image, &tag, tags_cache);
                counted(&client, &tracked, &mut trace, deadline, checking).await
            }
        },
    };
    trace.registry.elapsed_ms = started.elapsed().as_millis();
    trace.pin = Some(match checked {
        Ok(PinCheck::Cached) => PinTrace::Verified {
            tag,
            by: PinEvidence::CachedTagList,
            digest: None,
        },
        Ok(PinCheck::Found { digest }) => PinTrace::Verified {
            tag,
            by: PinEvidence::Head,
            digest: Some(digest),
        },
        Ok(PinCheck::Missing { nearest, unlisted }) => PinTrace::NotFound {
            tag,
            nearest,
            unlisted: unlisted.map(|e| e.to_string()),
        },
        Err(e) => PinTrace::NotVerified {
            tag,
            reason: e.to_string(),
        },
    });
    trace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{self, AppContext};

    /// A Deployment named `name` running `reg.test/team/web:0.1`, tracked with these annotations (keys without
    /// the prefix).
    fn deployment(name: &str, annotations: &[(&str, &str)]) -> String {
        let annotations: String = annotations
            .iter()
            .map(|(k, v)| format!("    argocd-image-updater.argoproj.io/{k}: \"{v}\"\n"))
            .collect();
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n{annotations}\
             spec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: reg.test/team/web:0.1\n"
        )
    }

    #[test]
    fn pins_are_requests_of_their_own_one_per_repository_tag_and_credentials() {
        let stream = [
            deployment(
                "a",
                &[
                    ("image-list", "web=reg.test/team/web:~1"),
                    ("web.pin", "1.0.0"),
                ],
            ),
            deployment(
                "b",
                &[
                    ("image-list", "web=reg.test/team/web:^1"),
                    ("web.pin", "1.0.0"),
                ],
            ),
            deployment(
                "c",
                &[
                    ("image-list", "web=reg.test/team/web:~1"),
                    ("web.pin", "1.0.1"),
                ],
            ),
            deployment("d", &[("image-list", "web=reg.test/team/web:~1")]),
            deployment(
                "e",
                &[
                    ("image-list", "web=reg.test/team/web:~1"),
                    ("web.pin", "1.0.0"),
                    ("web.pull-secret", "pullsecret:shop/regcred"),
                ],
            ),
            deployment(
                "f",
                &[
                    ("image-list", "web=reg.test/team/web:~1"),
                    ("web.hold", "true"),
                ],
            ),
        ]
        .concat();
        let plan = generate::plan(&stream, &AppContext::default()).unwrap();
        let mut requests = Requests::new(None);
        let request_of: Vec<Option<usize>> = plan.images.iter().map(|p| requests.add(p)).collect();
        assert_eq!(
            request_of,
            [Some(0), Some(0), Some(1), Some(2), Some(3), None],
            "a and b pin one tag under different policies: one check; another tag, a resolution and another \
             credential are requests of their own; a hold asks nothing"
        );
        assert!(matches!(&requests.keys[0], RequestKey::Pin { tag, .. } if tag == "1.0.0"));
        assert!(matches!(requests.keys[2], RequestKey::Resolve(_)));
    }

    /// Lock mode (issue 12): an image its lock file entry decides asks no registry, so a render is a function of
    /// the revision; a pin of the Application still is a request, and an image without an entry is resolved.
    #[test]
    fn images_the_lock_file_decides_are_no_requests() {
        let stream = [
            deployment("a", &[("image-list", "web=reg.test/team/web:~1")]),
            deployment(
                "b",
                &[
                    ("image-list", "web=reg.test/team/web:~1"),
                    ("web.pin", "1.0.0"),
                ],
            ),
            deployment("c", &[("image-list", "other=reg.test/team/web:~1")]),
        ]
        .concat();
        let lock = crate::lock::LockFile::parse(
            "version: 1\nimages:\n  web=reg.test/team/web: {tag: 1.0.3}\n",
        )
        .unwrap();
        let app = AppContext {
            lock: Some(Arc::new(lock)),
            ..AppContext::default()
        };
        let plan = generate::plan(&stream, &app).unwrap();
        let mut requests = Requests::new(None);
        let request_of: Vec<Option<usize>> = plan.images.iter().map(|p| requests.add(p)).collect();
        assert_eq!(request_of, [None, Some(0), Some(1)]);
        assert_eq!(
            Outcome::without_registry(&plan.images[0]).map(|o| (o.tag, o.decision)),
            Some(("1.0.3".to_owned(), Decision::Lock))
        );
    }
}
