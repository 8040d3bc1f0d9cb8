//! CNCF distribution's notification envelope, and Azure Container Registry's webhook, which sends one event of the
//! same shape without the envelope.
//!
//! distribution (<https://distribution.github.io/distribution/about/notifications>): `{"events": [event…]}`, each
//! event `{"action": "push"|"pull"|"mount"|"delete", "target": {"mediaType", "digest", "repository", "tag", …},
//! "request": {"host", …}}`. A push is sent for every blob as well as for the manifest; only manifests (a
//! manifest or index media type, or a tag) name an image.
//!
//! ACR (<https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference>): `{"action":
//! "push"|"delete"|"chart_push"|"chart_delete"|"quarantine", "target": {"mediaType", "digest", "repository",
//! "tag"}, "request": {"host"}}`. Only `push` is an image push (`chart_push` is the legacy Helm repository).

use super::json::At;
use super::{ImageEvent, WebhookProblem, digest, registry_host, repository, tag};

/// Every manifest push in a distribution envelope.
pub(super) fn envelope(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let mut events = Vec::new();
    for event in root.get("events")?.items()? {
        if let Some(image) = push(&event)? {
            events.push(image);
        }
    }
    Ok(events)
}

/// ACR's single event.
pub(super) fn acr(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    Ok(push(root)?.into_iter().collect())
}

/// The image of one event, when it is a manifest push.
fn push(event: &At<'_>) -> Result<Option<ImageEvent>, WebhookProblem> {
    if event.get("action")?.str()? != "push" {
        return Ok(None);
    }
    let target = event.get("target")?;
    let tag_at = target.get("tag")?;
    let tag = tag(tag_at.opt_str()?, tag_at.path())?;
    let media_type_at = target.get("mediaType")?;
    if tag.is_none() && !media_type_at.opt_str()?.is_some_and(is_manifest) {
        return Ok(None);
    }
    let host_at = event.get("request")?.get("host")?;
    let registry = match host_at.opt_str()? {
        Some(host) => registry_host(host, host_at.path())?,
        None => None,
    };
    let repository_at = target.get("repository")?;
    let repository = repository(
        registry.as_deref(),
        repository_at.str()?,
        repository_at.path(),
    )?;
    let digest_at = target.get("digest")?;
    let digest = digest(digest_at.opt_str()?, digest_at.path())?;
    Ok(Some(ImageEvent {
        registry,
        repository,
        tag,
        digest,
    }))
}

/// Whether a media type is a manifest or an index (Docker's and OCI's), not a blob.
fn is_manifest(media_type: &str) -> bool {
    media_type.contains("manifest") || media_type.contains("image.index")
}
