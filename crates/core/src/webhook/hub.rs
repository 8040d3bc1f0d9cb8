//! The two senders with Docker Hub's `push_data` body: Docker Hub itself and Alibaba Cloud Container Registry.
//!
//! Docker Hub (<https://docs.docker.com/docker-hub/repos/manage/webhooks/>): `{"push_data": {"pushed_at",
//! "pusher", "tag"}, "repository": {"repo_name": "namespace/name", …}}`; it fires only on pushes.
//!
//! Alibaba Cloud (Container Registry, "Manage triggers", <https://www.alibabacloud.com/help/doc-detail/60949.htm>):
//! `{"push_data": {"digest", "pushed_at", "tag"}, "repository": {"namespace", "name", "region",
//! "repo_full_name", …}}`; it too fires only on pushes. The body names a region, not a host (the personal and
//! enterprise editions use different ones), so the event has no registry.

use super::json::At;
use super::{ImageEvent, WebhookProblem, digest, repository, tag};

/// The registry Docker Hub's webhooks are about.
const DOCKER_HUB: &str = "docker.io";

pub(super) fn docker_hub(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let push_data = root.get("push_data")?;
    let tag_at = push_data.get("tag")?;
    let name_at = root.get("repository")?.get("repo_name")?;
    Ok(vec![ImageEvent {
        registry: Some(DOCKER_HUB.to_owned()),
        repository: repository(Some(DOCKER_HUB), name_at.str()?, name_at.path())?,
        tag: tag(Some(tag_at.str()?), tag_at.path())?,
        digest: None,
    }])
}

pub(super) fn alibaba(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let push_data = root.get("push_data")?;
    let tag_at = push_data.get("tag")?;
    let digest_at = push_data.get("digest")?;
    let repo = root.get("repository")?;
    let namespace_at = repo.get("namespace")?;
    let name_at = repo.get("name")?;
    let full = format!("{}/{}", namespace_at.str()?, name_at.str()?);
    Ok(vec![ImageEvent {
        registry: None,
        repository: repository(None, &full, "repository.namespace/name")?,
        tag: tag(Some(tag_at.str()?), tag_at.path())?,
        digest: digest(digest_at.opt_str()?, digest_at.path())?,
    }])
}
