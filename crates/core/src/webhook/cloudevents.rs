//! CloudEvents (spec 1.0, HTTP protocol binding) and what the cloud registries deliver through them.
//!
//! The envelope, in the order tried:
//! - binary mode: a `ce-specversion` header; the attributes are `ce-*` headers and the body is the data;
//! - structured mode: a JSON body with `specversion`, `type` and `data` (or `data_base64`);
//! - no envelope: the body is the data itself, as an Amazon EventBridge API destination (the event as is) or a
//!   Pub/Sub push subscription (the push envelope) posts it.
//!
//! The data, recognised by its shape:
//! - Amazon ECR through EventBridge (Amazon ECR User Guide, "Amazon ECR events and EventBridge"): `{"detail-type":
//!   "ECR Image Action", "source": "aws.ecr", "account", "region", "detail": {"result": "SUCCESS", "action-type":
//!   "PUSH", "repository-name", "image-tag", "image-digest"}}`, or the `detail` object alone (an input
//!   transformer's output). The registry is `<account>.dkr.ecr.<region>.amazonaws.com` when both are given;
//!   other ECR events (scans, pull-through cache, replication) are not pushes.
//! - Artifact Registry through Pub/Sub (<https://cloud.google.com/artifact-registry/docs/configure-notifications>;
//!   Pub/Sub's push format, and Eventarc's `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent, whose data
//!   is the same push envelope): `{"message": {"data": base64 of {"action": "INSERT"|"DELETE", "digest":
//!   "host/path@sha256:…", "tag": "host/path:tag"}}}`. Only `INSERT` is a push.
//! - Harbor's CloudEvents format: `type: harbor.artifact.pushed` (other `harbor.*` types are not pushes), data as
//!   the Default format's `event_data`.

use base64::Engine as _;
use serde_json::Value;

use super::json::At;
use super::{
    ImageEvent, WebhookProblem, digest, harbor, header, json_body, reference, repository, tag,
};

/// The CloudEvents version this reads; a `1.x` minor version would be compatible, but none exists.
const SPEC_VERSION: &str = "1.0";

pub(super) fn parse(
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let value = json_body(body)?;
    let root = At::root(&value);
    if let Some(version) = header(headers, "ce-specversion") {
        check_version(version)?;
        return data(header(headers, "ce-type"), &root);
    }
    let version_at = root.get("specversion")?;
    let Some(version) = version_at.opt_str()? else {
        return data(None, &root);
    };
    check_version(version)?;
    let event_type = root.get("type")?.str()?;
    let encoded_at = root.get("data_base64")?;
    if let Some(encoded) = encoded_at.opt_str()? {
        let decoded = decode_json(encoded, encoded_at.path())?;
        return data(Some(event_type), &At::named(&decoded, "data_base64"));
    }
    let data_at = root.get("data")?;
    if !data_at.is_present() {
        return Err(data_at.missing());
    }
    data(Some(event_type), &data_at)
}

fn check_version(version: &str) -> Result<(), WebhookProblem> {
    if version == SPEC_VERSION {
        Ok(())
    } else {
        Err(WebhookProblem::SpecVersion {
            version: crate::escape::shown(version, super::SHOWN_CHARS),
        })
    }
}

/// The images of an event's data, by its shape (and, for Harbor, its type).
fn data(event_type: Option<&str>, data: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    if !matches!(data.value(), Some(Value::Object(_))) {
        return Err(data.wrong("an object"));
    }
    if let Some(kind) = event_type.and_then(|t| t.strip_prefix("harbor.")) {
        return if kind == "artifact.pushed" {
            harbor::event_data(data)
        } else {
            Ok(Vec::new())
        };
    }
    if data.get("detail")?.is_present() {
        return eventbridge(data);
    }
    if data.get("action-type")?.is_present() {
        return ecr_detail(None, data);
    }
    if data.get("message")?.is_present() {
        return pubsub(data);
    }
    Err(WebhookProblem::UnknownData)
}

/// An EventBridge event: only ECR's image actions are read.
fn eventbridge(event: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let source = event.get("source")?.opt_str()?;
    let detail_type = event.get("detail-type")?.opt_str()?;
    if source.is_some_and(|s| s != "aws.ecr")
        || detail_type.is_some_and(|t| t != "ECR Image Action")
    {
        return Ok(Vec::new());
    }
    let account_at = event.get("account")?;
    let region_at = event.get("region")?;
    let registry = match (account_at.opt_str()?, region_at.opt_str()?) {
        (Some(account), Some(region)) => {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(account_at.invalid(account, "a 12-digit AWS account ID"));
            }
            let is_region = !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !is_region {
                return Err(region_at.invalid(region, "an AWS region"));
            }
            Some(format!("{account}.dkr.ecr.{region}.amazonaws.com"))
        }
        _ => None,
    };
    ecr_detail(registry, &event.get("detail")?)
}

/// ECR's `detail`: a successful `PUSH` names the repository, tag and digest.
fn ecr_detail(
    registry: Option<String>,
    detail: &At<'_>,
) -> Result<Vec<ImageEvent>, WebhookProblem> {
    if detail.get("action-type")?.str()? != "PUSH" {
        return Ok(Vec::new());
    }
    if detail
        .get("result")?
        .opt_str()?
        .is_some_and(|r| r != "SUCCESS")
    {
        return Ok(Vec::new());
    }
    let name_at = detail.get("repository-name")?;
    let tag_at = detail.get("image-tag")?;
    let digest_at = detail.get("image-digest")?;
    Ok(vec![ImageEvent {
        repository: repository(registry.as_deref(), name_at.str()?, name_at.path())?,
        registry,
        tag: tag(tag_at.opt_str()?, tag_at.path())?,
        digest: digest(digest_at.opt_str()?, digest_at.path())?,
    }])
}

/// A Pub/Sub push envelope from Artifact Registry's `gcr` topic.
fn pubsub(envelope: &At<'_>) -> Result<Vec<ImageEvent>, WebhookProblem> {
    let data_at = envelope.get("message")?.get("data")?;
    let decoded = decode_json(data_at.str()?, data_at.path())?;
    let message = At::named(&decoded, data_at.path());
    if message.get("action")?.str()? != "INSERT" {
        return Ok(Vec::new());
    }
    let tag_at = message.get("tag")?;
    let digest_at = message.get("digest")?;
    // Both are whole references: `tag` names the tag pushed, `digest` the manifest; an untagged push has no tag.
    let by_digest = match digest_at.opt_str()? {
        Some(text) => Some(reference(text, digest_at.path())?),
        None => None,
    };
    let event = match (tag_at.opt_str()?, by_digest) {
        (Some(text), by_digest) => {
            let mut event = reference(text, tag_at.path())?;
            if event.tag.is_none() {
                return Err(tag_at.invalid(text, "an image reference with a tag"));
            }
            if let Some(d) = by_digest
                .filter(|d| d.registry == event.registry && d.repository == event.repository)
            {
                event.digest = d.digest;
            }
            event
        }
        (None, Some(mut event)) => {
            event.tag = None;
            event
        }
        (None, None) => return Err(tag_at.missing()),
    };
    Ok(vec![event])
}

/// Base64 text (standard alphabet, as Pub/Sub and CloudEvents write it) holding a JSON document.
fn decode_json(encoded: &str, field: &str) -> Result<Value, WebhookProblem> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| WebhookProblem::Base64 {
            field: field.to_owned(),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| WebhookProblem::json(format!("field '{field}'"), &e))
}
