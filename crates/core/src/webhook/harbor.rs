//! Harbor's webhook in its "Default" payload format, and the `data` of its CloudEvents format
//! (<https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/>).
//!
//! Default: `{"type": "PUSH_ARTIFACT"|"PULL_ARTIFACT"|"DELETE_ARTIFACT"|…, "occur_at", "operator", "event_data":
//! {"resources": [{"digest", "tag", "resource_url": "host/project/repo:tag"}], "repository": {"name",
//! "namespace", "repo_full_name", "repo_type"}}}`. CloudEvents: `type: harbor.artifact.pushed` with the
//! `event_data` object as `data`. The registry host is the first component of `resource_url`.

use super::json::At;
use super::{ImageEvent, WebhookProblem, digest, reference, repository, tag};

/// The Default format: only `PUSH_ARTIFACT` is a push.
pub(super) fn parse(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    if root.get("type")?.str()? != "PUSH_ARTIFACT" {
        return Ok(Vec::new());
    }
    event_data(&root.get("event_data")?)
}

/// The images of an `event_data` object: one per resource, or the repository alone when none is listed.
pub(super) fn event_data(data: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let full_at = data.get("repository")?.get("repo_full_name")?;
    let full = full_at.str()?;
    let resources = data.get("resources")?;
    let resources = if resources.is_present() {
        resources.items()?
    } else {
        Vec::new()
    };
    if resources.is_empty() {
        return Ok(vec![ImageEvent {
            registry: None,
            repository: repository(None, full, full_at.path())?,
            tag: None,
            digest: None,
        }]);
    }
    let mut events = Vec::with_capacity(resources.len());
    for resource in resources {
        let url_at = resource.get("resource_url")?;
        let registry = match url_at.opt_str()? {
            Some(url) => reference(url, url_at.path())?.registry,
            None => None,
        };
        let tag_at = resource.get("tag")?;
        let digest_at = resource.get("digest")?;
        events.push(ImageEvent {
            repository: repository(registry.as_deref(), full, full_at.path())?,
            registry,
            tag: tag(tag_at.opt_str()?, tag_at.path())?,
            digest: digest(digest_at.opt_str()?, digest_at.path())?,
        });
    }
    Ok(events)
}
