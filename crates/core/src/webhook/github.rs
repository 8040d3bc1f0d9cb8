//! GitHub's `package` webhook event for GitHub Container Registry (GitHub Docs, "Webhook events and payloads",
//! `package`; the payload schema `webhook-package-published` of GitHub's REST API description), and the older
//! `registry_package` event, which carries the same object under `registry_package`.
//!
//! `X-GitHub-Event` names the event (`ping` when the hook is created); the body is `{"action": "published" |
//! "updated", "package": {"name", "namespace", "package_type": "CONTAINER" (older: "docker"), "owner": {"login"},
//! "package_version": {"version": "sha256:…", "container_metadata": {"tag": {"name", "digest"}}}, "registry":
//! {"url": "https://ghcr.io"}}}`. Other package types (npm, maven, …) are not images. GHCR names are lower case
//! whatever the owner's login, so the repository is lower-cased.

use super::json::At;
use super::{ImageEvent, WebhookProblem, digest, header, registry_host, repository, tag};

/// GitHub's container registry, when the payload names none.
const GHCR: &str = "ghcr.io";

pub(super) fn parse(
    headers: &[(String, String)],
    root: &At<'_>,
) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let event = header(headers, "x-github-event").ok_or(WebhookProblem::MissingHeader {
        header: "X-GitHub-Event",
    })?;
    let package = match event {
        "package" => root.get("package")?,
        "registry_package" => root.get("registry_package")?,
        _ => return Ok(Vec::new()),
    };
    if !matches!(root.get("action")?.str()?, "published" | "updated") {
        return Ok(Vec::new());
    }
    let type_at = if package.get("package_type")?.is_present() {
        package.get("package_type")?
    } else {
        package.get("ecosystem")?
    };
    if !matches!(
        type_at.str()?.to_ascii_lowercase().as_str(),
        "container" | "docker"
    ) {
        return Ok(Vec::new());
    }
    let url_at = package.get("registry")?.get("url")?;
    let registry = match url_at.opt_str()? {
        Some(url) => {
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or(url);
            // The old Docker registry's URL carries the repository's path: the host is what matters.
            let host = host.split('/').next().unwrap_or_default();
            registry_host(host, url_at.path())?
        }
        None => Some(GHCR.to_owned()),
    };
    let namespace_at = package.get("namespace")?;
    let namespace_at = if namespace_at.is_present() {
        namespace_at
    } else {
        package.get("owner")?.get("login")?
    };
    let name_at = package.get("name")?;
    let path = format!("{}/{}", namespace_at.str()?, name_at.str()?).to_lowercase();
    let repository = repository(registry.as_deref(), &path, "package.namespace/name")?;
    let version = package.get("package_version")?;
    let tag_at = version.get("container_metadata")?.get("tag")?;
    let name_at = tag_at.get("name")?;
    let digest_at = tag_at.get("digest")?;
    let digest = match digest_at.opt_str()? {
        Some(d) => digest(Some(d), digest_at.path())?,
        None => {
            // `version` is the manifest digest for containers.
            let version_at = version.get("version")?;
            match version_at.opt_str()? {
                Some(v) if v.starts_with("sha256:") => digest(Some(v), version_at.path())?,
                _ => None,
            }
        }
    };
    Ok(vec![ImageEvent {
        registry,
        repository,
        tag: tag(name_at.opt_str()?, name_at.path())?,
        digest,
    }])
}
