//! Registry webhooks as `watch` receives them: who may send one ([`authenticate`]) and which repositories it says
//! changed ([`parse`]). A webhook only says "look now": the tag is still chosen by the policy from the registry, so
//! the output is repositories (and the tags the sender names), never an image to deploy.
//!
//! # The senders and the documents followed
//!
//! | [`Source`] | body | authentication |
//! |---|---|---|
//! | `distribution` | CNCF distribution's notification envelope (`application/vnd.docker.distribution.events.v1+json`): `events[]` with `action`, `target.{repository,tag,digest,mediaType}`, `request.host` — <https://distribution.github.io/distribution/about/notifications> | `Authorization` header, set in the endpoint's `headers` |
//! | `dockerhub` | `push_data.tag`, `repository.repo_name` — <https://docs.docker.com/docker-hub/repos/manage/webhooks/> | `?token=` in the URL (Docker Hub sends no signature and no custom header) |
//! | `github` | the `package` event (`X-GitHub-Event: package`, and the older `registry_package`): `action`, `package.{namespace,name,package_type}`, `package.package_version.container_metadata.tag.{name,digest}`, `package.registry.url` — GitHub's "Webhook events and payloads" and its REST API description (`webhook-package-published`) | `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>` — GitHub's "Validating webhook deliveries" |
//! | `harbor` | `type: PUSH_ARTIFACT`, `event_data.resources[].{tag,digest,resource_url}`, `event_data.repository.repo_full_name` — <https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/> | the policy's "Auth Header", sent as `Authorization` |
//! | `quay` | the "Repository Push" notification: `repository`, `docker_url`, `updated_tags` (a list; an object of tag → image ID in older Quay) — Red Hat Quay, "Repository Notifications" | `?token=` in the URL (Quay's webhook has no signature) |
//! | `acr` | one event: `action: push`, `target.{repository,tag,digest}`, `request.host` — <https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference> | `Authorization` as a custom header of the webhook |
//! | `alibaba` | `push_data.{tag,digest}`, `repository.{namespace,name,region}` — Alibaba Cloud Container Registry, "Manage triggers" (doc 60949) | `?token=` (or `?secret=`, as that document's example URL) in the URL |
//! | `cloudevents` | CloudEvents 1.0 in structured (`specversion`, `type`, `data` or `data_base64`) or binary mode (`ce-*` headers), and the bare bodies the two cloud senders deliver: an Amazon EventBridge event from ECR (`detail-type: ECR Image Action`, `detail.{action-type,result,repository-name,image-tag,image-digest}`, `account`, `region` — Amazon ECR User Guide, "Amazon ECR events and EventBridge"), a Pub/Sub push of Artifact Registry's `gcr` topic (`message.data` = base64 of `{"action":"INSERT","tag":…,"digest":…}` — <https://cloud.google.com/artifact-registry/docs/configure-notifications> and Pub/Sub's push format), and Harbor's CloudEvents format (`type: harbor.artifact.pushed`) | `Authorization` (an EventBridge API destination's API-key header) or `?token=` (a Pub/Sub push endpoint cannot set headers) |
//!
//! Only pushes count: deletes, pulls, scans, pings and any other event give no events (`Ok(vec![])`), as does a
//! distribution blob push (only manifests, by tag or digest, are images). A field that is present must have the
//! type the sender documents, and repositories, tags, digests and registry hosts must be valid as image references
//! read them: anything else is an error naming the field, never a guess.
//!
//! Bodies larger than [`MAX_BODY`] are refused before parsing. Errors quote at most a few escaped characters of a
//! value, never the body or a secret.

mod auth;
mod cloudevents;
mod distribution;
mod github;
mod harbor;
mod hub;
mod json;
mod quay;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use crate::escape::shown;
use crate::image::{ImageRef, is_registry_host, is_valid_digest, is_valid_tag};

pub use auth::{AuthError, AuthMethod, AuthProblem, EmptySecret, WebhookSecret, authenticate};

/// The largest body [`parse`] reads: 1 MiB. Registry notifications are a few kilobytes; a distribution envelope
/// holds a handful of events.
pub const MAX_BODY: usize = 1 << 20;

/// How many characters of a value an error quotes.
const SHOWN_CHARS: usize = 40;

/// Who sent a webhook, chosen by the URL path it arrived on; each sender has its own body and authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Distribution,
    DockerHub,
    GitHub,
    Harbor,
    Quay,
    Acr,
    Alibaba,
    CloudEvents,
}

impl Source {
    /// Every source, in the order of the table above.
    pub const ALL: [Source; 8] = [
        Source::Distribution,
        Source::DockerHub,
        Source::GitHub,
        Source::Harbor,
        Source::Quay,
        Source::Acr,
        Source::Alibaba,
        Source::CloudEvents,
    ];

    /// The name used in URLs, configuration and metrics: `distribution`, `dockerhub`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Distribution => "distribution",
            Source::DockerHub => "dockerhub",
            Source::GitHub => "github",
            Source::Harbor => "harbor",
            Source::Quay => "quay",
            Source::Acr => "acr",
            Source::Alibaba => "alibaba",
            Source::CloudEvents => "cloudevents",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook source name that is not one of [`Source::ALL`].
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error(
    "unknown webhook source '{0}'; use distribution, dockerhub, github, harbor, quay, acr, alibaba or cloudevents"
)]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;

    /// ```
    /// use argocd_image_resolver_core::webhook::Source;
    /// assert_eq!("dockerhub".parse::<Source>().unwrap(), Source::DockerHub);
    /// assert!("gitlab".parse::<Source>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| UnknownSource(shown(s, SHOWN_CHARS)))
    }
}

/// One repository a webhook says changed. Every field is validated: the repository is a valid path (lower case,
/// Docker Hub's `library/` explicit), the tag and digest fit the reference grammar, the registry is a host an
/// image reference can name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageEvent {
    /// `host[:port]` as the sender names it (Docker Hub's aliases as `docker.io`); `None` when the sender does not
    /// name one (Alibaba names only a region; a bare ECR `detail` names no account), and then the event matches
    /// images by repository alone.
    pub registry: Option<String>,
    /// The repository path without the registry: `acme/web`, `library/nginx`.
    pub repository: String,
    /// The tag pushed, when the sender names one (a push by digest has none).
    pub tag: Option<String>,
    /// The manifest digest, when the sender names one.
    pub digest: Option<String>,
}

/// Why a webhook body gives no events: the source, then what is wrong.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("{sender} webhook: {problem}")]
pub struct WebhookError {
    pub sender: Source,
    pub problem: WebhookProblem,
}

/// What is wrong with a webhook body, in one short sentence naming the field.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum WebhookProblem {
    #[error("the body is {size} bytes, more than the {MAX_BODY} allowed")]
    TooLarge { size: usize },
    #[error("the body is empty")]
    Empty,
    #[error("{what} is not valid JSON ({kind} at line {line}, column {column})")]
    Json {
        what: String,
        kind: &'static str,
        line: usize,
        column: usize,
    },
    #[error("the body is not {expected}")]
    BodyType { expected: &'static str },
    #[error("field '{field}' is missing")]
    Missing { field: String },
    #[error("field '{field}' is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("field '{field}' holds '{value}', which is not {what}")]
    Invalid {
        field: String,
        value: String,
        what: &'static str,
    },
    #[error("header '{header}' is missing")]
    MissingHeader { header: &'static str },
    #[error("field '{field}' is not valid base64")]
    Base64 { field: String },
    #[error("CloudEvents specversion '{version}' is not supported; only 1.0 is")]
    SpecVersion { version: String },
    #[error(
        "the event's data is neither an Amazon ECR event, a Pub/Sub message from Artifact Registry nor a Harbor event"
    )]
    UnknownData,
}

impl WebhookProblem {
    /// An [`WebhookProblem::Invalid`] quoting at most a few escaped characters of `value`.
    fn invalid(field: impl Into<String>, value: &str, what: &'static str) -> Self {
        WebhookProblem::Invalid {
            field: field.into(),
            value: shown(value, SHOWN_CHARS),
            what,
        }
    }

    /// [`WebhookProblem::Json`] from serde_json's position and category, never its message (which can quote
    /// the input).
    fn json(what: impl Into<String>, error: &serde_json::Error) -> Self {
        let kind = match error.classify() {
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected value",
            serde_json::error::Category::Io => "read error",
        };
        WebhookProblem::Json {
            what: what.into(),
            kind,
            line: error.line(),
            column: error.column(),
        }
    }
}

/// The repositories a webhook body says changed: one [`ImageEvent`] per repository and tag pushed, in the order
/// the body names them, duplicates removed. `headers` are `(name, value)` with names in lower case (GitHub's
/// `x-github-event` and CloudEvents' binary `ce-*` are read). Call [`authenticate`] first.
///
/// ```
/// use argocd_image_resolver_core::webhook::{parse, ImageEvent, Source};
///
/// let body = br#"{"push_data": {"tag": "1.4.2"}, "repository": {"repo_name": "acme/web"}}"#;
/// assert_eq!(
///     parse(Source::DockerHub, &[], body).unwrap(),
///     [ImageEvent {
///         registry: Some("docker.io".into()),
///         repository: "acme/web".into(),
///         tag: Some("1.4.2".into()),
///         digest: None,
///     }]
/// );
/// ```
pub fn parse(
    source: Source,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<ImageEvent>, WebhookError> {
    let fail = |problem| WebhookError {
        sender: source,
        problem,
    };
    if body.len() > MAX_BODY {
        return Err(fail(WebhookProblem::TooLarge { size: body.len() }));
    }
    let events = if source == Source::CloudEvents {
        cloudevents::parse(headers, body)
    } else {
        let value = json_body(body).map_err(fail)?;
        let root = json::At::root(&value);
        match source {
            Source::Distribution => distribution::envelope(&root),
            Source::Acr => distribution::acr(&root),
            Source::DockerHub => hub::docker_hub(&root),
            Source::Alibaba => hub::alibaba(&root),
            Source::GitHub => github::parse(headers, &root),
            Source::Harbor => harbor::parse(&root),
            Source::Quay => quay::parse(&root),
            Source::CloudEvents => unreachable!("handled above"),
        }
    }
    .map_err(fail)?;
    let mut unique: Vec<ImageEvent> = Vec::with_capacity(events.len());
    for event in events {
        if !unique.contains(&event) {
            unique.push(event);
        }
    }
    Ok(unique)
}

/// The body as JSON; an empty body is its own error.
fn json_body(body: &[u8]) -> Result<serde_json::Value, WebhookProblem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WebhookProblem::Empty);
    }
    serde_json::from_slice(body).map_err(|e| WebhookProblem::json("the body", &e))
}

/// The value of header `name` (lower case), when there is exactly one such header.
fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    let mut values = headers.iter().filter(|(n, _)| n == name);
    let first = values.next()?;
    values.next().is_none().then_some(first.1.as_str())
}

/// A registry host as the sender wrote it, checked; `Docker Hub`'s aliases become `docker.io`. A host that image
/// references cannot name as a registry (a bare `registry`, which `registry/app` reads as a Docker Hub namespace)
/// gives `None`: the event then matches by repository.
fn registry_host(host: &str, field: &str) -> Result<Option<String>, WebhookProblem> {
    let invalid = || WebhookProblem::invalid(field, host, "a registry host");
    if host.is_empty() || host.contains('/') {
        return Err(invalid());
    }
    if !is_registry_host(host) {
        return if host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Ok(None)
        } else {
            Err(invalid())
        };
    }
    let image = ImageRef::parse(&format!("{host}/x")).map_err(|_| invalid())?;
    Ok(Some(image.registry().to_owned()))
}

/// The placeholder registry repositories are checked under when the sender names none.
const PLACEHOLDER_REGISTRY: &str = "registry.invalid";

/// `repository` checked as a path inside `registry` (Docker Hub's single names get `library/`).
fn repository(
    registry: Option<&str>,
    repository: &str,
    field: &str,
) -> Result<String, WebhookProblem> {
    let invalid = || WebhookProblem::invalid(field, repository, "a repository path");
    // A tag, digest or registry in the text would parse; the path alone must be the whole text.
    if repository.is_empty() || repository.contains([':', '@']) {
        return Err(invalid());
    }
    let host = registry.unwrap_or(PLACEHOLDER_REGISTRY);
    let image = ImageRef::parse(&format!("{host}/{repository}")).map_err(|_| invalid())?;
    if image.registry() != crate::image::normalise_registry(host) {
        return Err(invalid());
    }
    Ok(image.repository().to_owned())
}

/// A tag, checked; an empty one is no tag (GitHub's untagged pushes).
fn tag(tag: Option<&str>, field: &str) -> Result<Option<String>, WebhookProblem> {
    match tag {
        None | Some("") => Ok(None),
        Some(t) if is_valid_tag(t) => Ok(Some(t.to_owned())),
        Some(t) => Err(WebhookProblem::invalid(field, t, "a valid tag")),
    }
}

/// A digest, checked; an empty one is no digest.
fn digest(digest: Option<&str>, field: &str) -> Result<Option<String>, WebhookProblem> {
    match digest {
        None | Some("") => Ok(None),
        Some(d) if is_valid_digest(d) => Ok(Some(d.to_owned())),
        Some(d) => Err(WebhookProblem::invalid(field, d, "a valid digest")),
    }
}

/// An image reference as a sender writes it whole (`quay.io/acme/web`, Artifact Registry's
/// `us-docker.pkg.dev/p/r/web:1.0`): registry (when the first component names one), repository, tag, digest.
fn reference(text: &str, field: &str) -> Result<ImageEvent, WebhookProblem> {
    let invalid = || WebhookProblem::invalid(field, text, "an image reference");
    let first = text.split('/').next().unwrap_or_default();
    if !text.contains('/') || !is_registry_host(first) {
        return Err(invalid());
    }
    let image = ImageRef::parse(text).map_err(|_| invalid())?;
    Ok(ImageEvent {
        registry: Some(image.registry().to_owned()),
        repository: image.repository().to_owned(),
        tag: image.tag().map(str::to_owned),
        digest: image.digest().map(str::to_owned),
    })
}
