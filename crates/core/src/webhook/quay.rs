//! Quay's "Repository Push" notification (Red Hat Quay, "Use Red Hat Quay", chapter "Repository Notifications"):
//! `{"name", "repository": "namespace/name", "namespace", "docker_url": "quay.io/namespace/name", "homepage",
//! "updated_tags": ["latest"]}`. Older Quay sends `updated_tags` as an object of tag → image ID (quay.io's example
//! payload); both are read. Quay's other notifications (builds, scans) go to the same kind of webhook but carry no
//! `updated_tags`: they are not pushes. The registry is `docker_url`'s host (quay.io or a self-hosted Quay).

use super::json::At;
use super::{ImageEvent, WebhookProblem, reference, repository, tag};

pub(super) fn parse(root: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let tags_at = root.get("updated_tags")?;
    let tags: Vec<(&str, String)> = match tags_at.value() {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(_)) => tags_at
            .items()?
            .into_iter()
            .map(|item| Ok((item.str()?, item.path().to_owned())))
            .collect::<Result<_, WebhookProblem>>()?,
        Some(serde_json::Value::Object(map)) => map
            .keys()
            .map(|k| (k.as_str(), format!("{}.{k}", tags_at.path())))
            .collect(),
        Some(_) => return Err(tags_at.wrong("an array or an object")),
    };
    let url_at = root.get("docker_url")?;
    let from_url = reference(url_at.str()?, url_at.path())?;
    if from_url.tag.is_some() || from_url.digest.is_some() {
        return Err(url_at.invalid(url_at.str()?, "a repository without tag or digest"));
    }
    let repository_at = root.get("repository")?;
    let registry = from_url.registry;
    let repository = match repository_at.opt_str()? {
        Some(path) => repository(registry.as_deref(), path, repository_at.path())?,
        None => from_url.repository,
    };
    if tags.is_empty() {
        return Ok(vec![ImageEvent {
            registry,
            repository,
            tag: None,
            digest: None,
        }]);
    }
    tags.into_iter()
        .map(|(name, path)| {
            Ok(ImageEvent {
                registry: registry.clone(),
                repository: repository.clone(),
                tag: tag(Some(name), &path)?,
                digest: None,
            })
        })
        .collect()
}
