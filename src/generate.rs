//! The one step of the `generate` pipeline that talks to registries: [`resolve_plan`] resolves the tracked images
//! of a [`Plan`] (each distinct request once) into [`Resolutions`]. Planning and applying are pure and live in the
//! core crate; they are re-exported here so `generate::plan`, `generate::apply` and the rest keep one address.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

pub use argocd_image_resolver_core::generate::*;

use crate::cache::{ResolutionKey, Resolved};
use crate::policy::source::{Action, TrackedImage};
use crate::registry::Registries;
use crate::registry::credentials::SecretScope;
use crate::resolver::{self, RegistryCache};

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

/// How long after the deadline the caller still needs for printing: resolution stops this much earlier.
pub const OUTPUT_MARGIN: Duration = Duration::from_millis(500);
