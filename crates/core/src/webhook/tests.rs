//! Table tests per sender, on payloads built to each sender's documented format (`testdata/`, one realistic
//! push each; the module documentation names the documents). The same files seed the `webhook` fuzz target.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;

const DIGEST: &str = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678";

const DISTRIBUTION: &str = include_str!("testdata/distribution_push.json");
const DOCKER_HUB: &str = include_str!("testdata/dockerhub_push.json");
const GITHUB: &str = include_str!("testdata/github_package_published.json");
const HARBOR: &str = include_str!("testdata/harbor_push.json");
const QUAY: &str = include_str!("testdata/quay_push.json");
const ACR: &str = include_str!("testdata/acr_push.json");
const ALIBABA: &str = include_str!("testdata/alibaba_push.json");
const EVENTBRIDGE_ECR: &str = include_str!("testdata/eventbridge_ecr.json");
const CLOUDEVENTS_ECR: &str = include_str!("testdata/cloudevents_ecr.json");
const PUBSUB_GAR: &str = include_str!("testdata/pubsub_gar.json");
const CLOUDEVENTS_PUBSUB: &str = include_str!("testdata/cloudevents_pubsub.json");
const CLOUDEVENTS_HARBOR: &str = include_str!("testdata/cloudevents_harbor.json");

fn event(
    registry: Option<&str>,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> ImageEvent {
    ImageEvent {
        registry: registry.map(str::to_owned),
        repository: repository.to_owned(),
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    }
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

const GITHUB_PACKAGE: &[(&str, &str)] = &[("x-github-event", "package")];

/// `fixture` with the value at JSON pointer `at` replaced (or, for `None`, removed).
fn edit(fixture: &str, at: &str, value: Option<Value>) -> String {
    let mut doc: Value = serde_json::from_str(fixture).unwrap();
    let (parent, key) = at.rsplit_once('/').unwrap();
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => items[key.parse::<usize>().unwrap()] = v,
        (Value::Array(items), None) => {
            items.remove(key.parse::<usize>().unwrap());
        }
        _ => panic!("{at} is not in an object or array"),
    }
    doc.to_string()
}

fn set(fixture: &str, at: &str, value: Value) -> String {
    edit(fixture, at, Some(value))
}

fn without(fixture: &str, at: &str) -> String {
    edit(fixture, at, None)
}

/// A Pub/Sub push envelope around `message`.
fn pubsub(message: &Value) -> String {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(message.to_string());
    json!({"message": {"data": data, "messageId": "1"}, "subscription": "projects/p/subscriptions/s"}).to_string()
}

#[test]
fn pushes_as_documented() {
    let gar = "us-east1-docker.pkg.dev";
    let ecr = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
    let tagged =
        |registry, repository| vec![event(registry, repository, Some("1.4.2"), Some(DIGEST))];
    for (name, source, hdrs, body, want) in [
        (
            "distribution: the manifest push of three events (a blob push, the manifest push, a pull)",
            Source::Distribution,
            &[][..],
            DISTRIBUTION.to_owned(),
            tagged(Some("127.0.0.1:5000"), "acme/web"),
        ),
        (
            "distribution: a push by digest names the repository without a tag",
            Source::Distribution,
            &[],
            without(DISTRIBUTION, "/events/1/target/tag"),
            vec![event(
                Some("127.0.0.1:5000"),
                "acme/web",
                None,
                Some(DIGEST),
            )],
        ),
        (
            "distribution: an OCI index pushed",
            Source::Distribution,
            &[],
            set(
                &without(DISTRIBUTION, "/events/1/target/tag"),
                "/events/1/target/mediaType",
                json!("application/vnd.oci.image.index.v1+json"),
            ),
            vec![event(
                Some("127.0.0.1:5000"),
                "acme/web",
                None,
                Some(DIGEST),
            )],
        ),
        (
            "distribution: no request host",
            Source::Distribution,
            &[],
            without(DISTRIBUTION, "/events/1/request/host"),
            tagged(None, "acme/web"),
        ),
        (
            "distribution: a host that no image reference can name as a registry",
            Source::Distribution,
            &[],
            set(DISTRIBUTION, "/events/1/request/host", json!("registry")),
            tagged(None, "acme/web"),
        ),
        (
            "distribution: the same push twice is one event",
            Source::Distribution,
            &[],
            set(
                DISTRIBUTION,
                "/events/0",
                serde_json::from_str::<Value>(DISTRIBUTION).unwrap()["events"][1].clone(),
            ),
            tagged(Some("127.0.0.1:5000"), "acme/web"),
        ),
        (
            "docker hub",
            Source::DockerHub,
            &[],
            DOCKER_HUB.to_owned(),
            vec![event(Some("docker.io"), "acme/web", Some("1.4.2"), None)],
        ),
        (
            "docker hub: an official image's single name gets library/",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/repository/repo_name", json!("nginx")),
            vec![event(
                Some("docker.io"),
                "library/nginx",
                Some("1.4.2"),
                None,
            )],
        ),
        (
            "github: namespace lower-cased as GHCR names it",
            Source::GitHub,
            GITHUB_PACKAGE,
            GITHUB.to_owned(),
            tagged(Some("ghcr.io"), "acme/web"),
        ),
        (
            "github: updated",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(GITHUB, "/action", json!("updated")),
            tagged(Some("ghcr.io"), "acme/web"),
        ),
        (
            "github: an untagged push has an empty tag name; the digest comes from the version",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(
                GITHUB,
                "/package/package_version/container_metadata/tag",
                json!({"name": "", "digest": null}),
            ),
            vec![event(Some("ghcr.io"), "acme/web", None, Some(DIGEST))],
        ),
        (
            "github: the older registry_package event, package type docker, no namespace, no registry",
            Source::GitHub,
            &[("x-github-event", "registry_package")],
            {
                let mut doc: Value = serde_json::from_str(GITHUB).unwrap();
                let mut package = doc["package"].take();
                package["package_type"] = json!("docker");
                package.as_object_mut().unwrap().remove("namespace");
                package.as_object_mut().unwrap().remove("registry");
                json!({"action": "published", "registry_package": package}).to_string()
            },
            tagged(Some("ghcr.io"), "acme/web"),
        ),
        (
            "github: the old Docker registry's URL has a path",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(
                GITHUB,
                "/package/registry/url",
                json!("https://docker.pkg.github.com/acme/web"),
            ),
            tagged(Some("docker.pkg.github.com"), "acme/web"),
        ),
        (
            "harbor",
            Source::Harbor,
            &[],
            HARBOR.to_owned(),
            tagged(Some("harbor.example.com"), "acme/web"),
        ),
        (
            "harbor: no resources names the repository",
            Source::Harbor,
            &[],
            set(HARBOR, "/event_data/resources", json!([])),
            vec![event(None, "acme/web", None, None)],
        ),
        (
            "quay: a list of tags",
            Source::Quay,
            &[],
            QUAY.to_owned(),
            vec![
                event(Some("quay.io"), "acme/web", Some("1.4.2"), None),
                event(Some("quay.io"), "acme/web", Some("latest"), None),
            ],
        ),
        (
            "quay: older Quay's object of tag to image ID, a self-hosted host",
            Source::Quay,
            &[],
            set(
                &set(
                    QUAY,
                    "/updated_tags",
                    json!({"1.4.2": "b750fe79269d2ec9a3c593ef05b4332b1d1a02a62b4accb2c21d589ff2f5f2dc"}),
                ),
                "/docker_url",
                json!("quay.corp.example:8443/acme/web"),
            ),
            vec![event(
                Some("quay.corp.example:8443"),
                "acme/web",
                Some("1.4.2"),
                None,
            )],
        ),
        (
            "quay: no repository field, the path from docker_url",
            Source::Quay,
            &[],
            without(&set(QUAY, "/updated_tags", json!([])), "/repository"),
            vec![event(Some("quay.io"), "acme/web", None, None)],
        ),
        (
            "acr",
            Source::Acr,
            &[],
            ACR.to_owned(),
            tagged(Some("myregistry.azurecr.io"), "acme/web"),
        ),
        (
            "alibaba",
            Source::Alibaba,
            &[],
            ALIBABA.to_owned(),
            tagged(None, "acme/web"),
        ),
        (
            "alibaba: no digest",
            Source::Alibaba,
            &[],
            without(ALIBABA, "/push_data/digest"),
            vec![event(None, "acme/web", Some("1.4.2"), None)],
        ),
        (
            "cloudevents: a bare EventBridge event from ECR",
            Source::CloudEvents,
            &[],
            EVENTBRIDGE_ECR.to_owned(),
            tagged(Some(ecr), "acme/web"),
        ),
        (
            "cloudevents: structured, the EventBridge event as data",
            Source::CloudEvents,
            &[],
            CLOUDEVENTS_ECR.to_owned(),
            tagged(Some(ecr), "acme/web"),
        ),
        (
            "cloudevents: structured, ECR's detail alone names no registry",
            Source::CloudEvents,
            &[],
            {
                let mut doc: Value = serde_json::from_str(CLOUDEVENTS_ECR).unwrap();
                doc["data"] = doc["data"]["detail"].take();
                doc.to_string()
            },
            tagged(None, "acme/web"),
        ),
        (
            "cloudevents: structured with data_base64",
            Source::CloudEvents,
            &[],
            {
                use base64::Engine as _;
                let mut doc: Value = serde_json::from_str(CLOUDEVENTS_ECR).unwrap();
                let data = doc.as_object_mut().unwrap().remove("data").unwrap();
                doc["data_base64"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(data.to_string()));
                doc.to_string()
            },
            tagged(Some(ecr), "acme/web"),
        ),
        (
            "cloudevents: binary mode, the body is the data",
            Source::CloudEvents,
            &[
                ("ce-specversion", "1.0"),
                ("ce-type", "aws.ecr"),
                ("ce-id", "1"),
                ("ce-source", "aws.ecr"),
            ],
            EVENTBRIDGE_ECR.to_owned(),
            tagged(Some(ecr), "acme/web"),
        ),
        (
            "cloudevents: a bare Pub/Sub push from Artifact Registry",
            Source::CloudEvents,
            &[],
            PUBSUB_GAR.to_owned(),
            tagged(Some(gar), "my-project/my-repo/web"),
        ),
        (
            "cloudevents: Eventarc's messagePublished event",
            Source::CloudEvents,
            &[],
            CLOUDEVENTS_PUBSUB.to_owned(),
            tagged(Some(gar), "my-project/my-repo/web"),
        ),
        (
            "cloudevents: Artifact Registry, an untagged push",
            Source::CloudEvents,
            &[],
            pubsub(&json!({"action": "INSERT", "digest": format!("{gar}/p/r/web@{DIGEST}")})),
            vec![event(Some(gar), "p/r/web", None, Some(DIGEST))],
        ),
        (
            "cloudevents: Harbor's CloudEvents format",
            Source::CloudEvents,
            &[],
            CLOUDEVENTS_HARBOR.to_owned(),
            tagged(Some("harbor.example.com"), "acme/web"),
        ),
    ] {
        let got = parse(source, &headers(hdrs), body.as_bytes());
        assert_eq!(got, Ok(want), "{name}");
    }
}

#[test]
fn deletes_and_other_events_give_nothing() {
    let ecr_detail = |action: &str, result: &str| {
        set(
            &set(EVENTBRIDGE_ECR, "/detail/action-type", json!(action)),
            "/detail/result",
            json!(result),
        )
    };
    for (name, source, hdrs, body) in [
        (
            "distribution: delete",
            Source::Distribution,
            &[][..],
            set(DISTRIBUTION, "/events/1/action", json!("delete")),
        ),
        (
            "distribution: only blobs and pulls",
            Source::Distribution,
            &[],
            without(DISTRIBUTION, "/events/1"),
        ),
        (
            "distribution: no events",
            Source::Distribution,
            &[],
            r#"{"events": []}"#.to_owned(),
        ),
        (
            "github: ping",
            Source::GitHub,
            &[("x-github-event", "ping")],
            r#"{"zen": "Design for failure."}"#.to_owned(),
        ),
        (
            "github: another event",
            Source::GitHub,
            &[("x-github-event", "push")],
            GITHUB.to_owned(),
        ),
        (
            "github: an npm package",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(GITHUB, "/package/package_type", json!("npm")),
        ),
        (
            "github: another action",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(GITHUB, "/action", json!("deleted")),
        ),
        (
            "harbor: delete",
            Source::Harbor,
            &[],
            set(HARBOR, "/type", json!("DELETE_ARTIFACT")),
        ),
        (
            "harbor: pull",
            Source::Harbor,
            &[],
            set(HARBOR, "/type", json!("PULL_ARTIFACT")),
        ),
        (
            "harbor: scan",
            Source::Harbor,
            &[],
            set(HARBOR, "/type", json!("SCANNING_COMPLETED")),
        ),
        (
            "quay: a build notification",
            Source::Quay,
            &[],
            without(QUAY, "/updated_tags"),
        ),
        (
            "acr: delete",
            Source::Acr,
            &[],
            set(ACR, "/action", json!("delete")),
        ),
        (
            "acr: chart push",
            Source::Acr,
            &[],
            set(ACR, "/action", json!("chart_push")),
        ),
        (
            "acr: quarantine",
            Source::Acr,
            &[],
            set(ACR, "/action", json!("quarantine")),
        ),
        (
            "cloudevents: ECR delete",
            Source::CloudEvents,
            &[],
            ecr_detail("DELETE", "SUCCESS"),
        ),
        (
            "cloudevents: ECR failed push",
            Source::CloudEvents,
            &[],
            ecr_detail("PUSH", "FAILURE"),
        ),
        (
            "cloudevents: an ECR scan",
            Source::CloudEvents,
            &[],
            set(EVENTBRIDGE_ECR, "/detail-type", json!("ECR Image Scan")),
        ),
        (
            "cloudevents: another AWS service",
            Source::CloudEvents,
            &[],
            set(EVENTBRIDGE_ECR, "/source", json!("aws.s3")),
        ),
        (
            "cloudevents: Artifact Registry delete",
            Source::CloudEvents,
            &[],
            pubsub(&json!({"action": "DELETE", "tag": "us-docker.pkg.dev/p/r/web:1"})),
        ),
        (
            "cloudevents: Harbor delete",
            Source::CloudEvents,
            &[],
            set(
                CLOUDEVENTS_HARBOR,
                "/type",
                json!("harbor.artifact.deleted"),
            ),
        ),
    ] {
        assert_eq!(
            parse(source, &headers(hdrs), body.as_bytes()),
            Ok(vec![]),
            "{name}"
        );
    }
}

#[test]
fn malformed_bodies_name_the_field() {
    let long = "x".repeat(500);
    for (name, source, hdrs, body, want) in [
        (
            "empty",
            Source::DockerHub,
            &[][..],
            String::new(),
            "dockerhub webhook: the body is empty",
        ),
        (
            "not JSON",
            Source::Harbor,
            &[],
            "{\"type\": PUSH".to_owned(),
            "harbor webhook: the body is not valid JSON (syntax error at line 1, column 10)",
        ),
        (
            "truncated",
            Source::Quay,
            &[],
            QUAY[..40].to_owned(),
            "quay webhook: the body is not valid JSON (unexpected end at line 3, column 21)",
        ),
        (
            "an array",
            Source::Acr,
            &[],
            "[]".to_owned(),
            "acr webhook: the body is not an object",
        ),
        (
            "a string",
            Source::CloudEvents,
            &[],
            "\"push\"".to_owned(),
            "cloudevents webhook: the body is not an object",
        ),
        (
            "distribution: events not an array",
            Source::Distribution,
            &[],
            r#"{"events": {}}"#.to_owned(),
            "distribution webhook: field 'events' is not an array",
        ),
        (
            "distribution: not an envelope",
            Source::Distribution,
            &[],
            ACR.to_owned(),
            "distribution webhook: field 'events' is missing",
        ),
        (
            "distribution: repository missing",
            Source::Distribution,
            &[],
            without(DISTRIBUTION, "/events/1/target/repository"),
            "distribution webhook: field 'events[1].target.repository' is missing",
        ),
        (
            "distribution: tag a number",
            Source::Distribution,
            &[],
            set(DISTRIBUTION, "/events/1/target/tag", json!(142)),
            "distribution webhook: field 'events[1].target.tag' is not a string",
        ),
        (
            "distribution: target a string",
            Source::Distribution,
            &[],
            set(DISTRIBUTION, "/events/1/target", json!("acme/web")),
            "distribution webhook: field 'events[1].target' is not an object",
        ),
        (
            "distribution: a host with a path",
            Source::Distribution,
            &[],
            set(
                DISTRIBUTION,
                "/events/1/request/host",
                json!("evil.example/x"),
            ),
            "distribution webhook: field 'events[1].request.host' holds 'evil.example/x', which is not a registry host",
        ),
        (
            "docker hub: tag missing",
            Source::DockerHub,
            &[],
            without(DOCKER_HUB, "/push_data/tag"),
            "dockerhub webhook: field 'push_data.tag' is missing",
        ),
        (
            "docker hub: push_data null",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/push_data", Value::Null),
            "dockerhub webhook: field 'push_data.tag' is missing",
        ),
        (
            "docker hub: an invalid tag, quoted escaped",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/push_data/tag", json!("1.0\n\u{202e}")),
            r"dockerhub webhook: field 'push_data.tag' holds '1.0\n\u{202e}', which is not a valid tag",
        ),
        (
            "docker hub: a long value is cut",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/repository/repo_name", json!(long)),
            "dockerhub webhook: field 'repository.repo_name' holds 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (500 characters)', \
             which is not a repository path",
        ),
        (
            "docker hub: upper case",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/repository/repo_name", json!("Acme/Web")),
            "dockerhub webhook: field 'repository.repo_name' holds 'Acme/Web', which is not a repository path",
        ),
        (
            "docker hub: an empty path component",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/repository/repo_name", json!("acme//web")),
            "dockerhub webhook: field 'repository.repo_name' holds 'acme//web', which is not a repository path",
        ),
        (
            "docker hub: a repository with a tag",
            Source::DockerHub,
            &[],
            set(DOCKER_HUB, "/repository/repo_name", json!("acme/web:1")),
            "dockerhub webhook: field 'repository.repo_name' holds 'acme/web:1', which is not a repository path",
        ),
        (
            "github: no event header",
            Source::GitHub,
            &[],
            GITHUB.to_owned(),
            "github webhook: header 'X-GitHub-Event' is missing",
        ),
        (
            "github: a bad digest",
            Source::GitHub,
            GITHUB_PACKAGE,
            set(
                GITHUB,
                "/package/package_version/container_metadata/tag/digest",
                json!("sha256:abc"),
            ),
            "github webhook: field 'package.package_version.container_metadata.tag.digest' holds 'sha256:abc', \
             which is not a valid digest",
        ),
        (
            "github: no package name",
            Source::GitHub,
            GITHUB_PACKAGE,
            without(GITHUB, "/package/name"),
            "github webhook: field 'package.name' is missing",
        ),
        (
            "harbor: resources an object",
            Source::Harbor,
            &[],
            set(HARBOR, "/event_data/resources", json!({})),
            "harbor webhook: field 'event_data.resources' is not an array",
        ),
        (
            "harbor: resource_url not a reference",
            Source::Harbor,
            &[],
            set(
                HARBOR,
                "/event_data/resources/0/resource_url",
                json!("acme"),
            ),
            "harbor webhook: field 'event_data.resources[0].resource_url' holds 'acme', which is not an image reference",
        ),
        (
            "harbor: no repository",
            Source::Harbor,
            &[],
            without(HARBOR, "/event_data/repository"),
            "harbor webhook: field 'event_data.repository.repo_full_name' is missing",
        ),
        (
            "quay: updated_tags a string",
            Source::Quay,
            &[],
            set(QUAY, "/updated_tags", json!("latest")),
            "quay webhook: field 'updated_tags' is not an array or an object",
        ),
        (
            "quay: a tag not a string",
            Source::Quay,
            &[],
            set(QUAY, "/updated_tags", json!(["1.0", 2])),
            "quay webhook: field 'updated_tags[1]' is not a string",
        ),
        (
            "quay: docker_url without a host",
            Source::Quay,
            &[],
            set(QUAY, "/docker_url", json!("acme/web")),
            "quay webhook: field 'docker_url' holds 'acme/web', which is not an image reference",
        ),
        (
            "acr: action not a string",
            Source::Acr,
            &[],
            set(ACR, "/action", json!(["push"])),
            "acr webhook: field 'action' is not a string",
        ),
        (
            "alibaba: no namespace",
            Source::Alibaba,
            &[],
            without(ALIBABA, "/repository/namespace"),
            "alibaba webhook: field 'repository.namespace' is missing",
        ),
        (
            "cloudevents: an unknown version",
            Source::CloudEvents,
            &[],
            set(CLOUDEVENTS_ECR, "/specversion", json!("0.3")),
            "cloudevents webhook: CloudEvents specversion '0.3' is not supported; only 1.0 is",
        ),
        (
            "cloudevents: no type",
            Source::CloudEvents,
            &[],
            without(CLOUDEVENTS_ECR, "/type"),
            "cloudevents webhook: field 'type' is missing",
        ),
        (
            "cloudevents: no data",
            Source::CloudEvents,
            &[],
            without(CLOUDEVENTS_ECR, "/data"),
            "cloudevents webhook: field 'data' is missing",
        ),
        (
            "cloudevents: data a string",
            Source::CloudEvents,
            &[],
            set(CLOUDEVENTS_ECR, "/data", json!("push")),
            "cloudevents webhook: field 'data' is not an object",
        ),
        (
            "cloudevents: unknown data",
            Source::CloudEvents,
            &[],
            json!({"hello": "world"}).to_string(),
            "cloudevents webhook: the event's data is neither an Amazon ECR event, a Pub/Sub message from Artifact \
             Registry nor a Harbor event",
        ),
        (
            "cloudevents: ECR account not an account",
            Source::CloudEvents,
            &[],
            set(EVENTBRIDGE_ECR, "/account", json!("evil.example/")),
            "cloudevents webhook: field 'account' holds 'evil.example/', which is not a 12-digit AWS account ID",
        ),
        (
            "cloudevents: ECR region not a region",
            Source::CloudEvents,
            &[],
            set(EVENTBRIDGE_ECR, "/region", json!("us west")),
            "cloudevents webhook: field 'region' holds 'us west', which is not an AWS region",
        ),
        (
            "cloudevents: ECR repository missing",
            Source::CloudEvents,
            &[],
            without(EVENTBRIDGE_ECR, "/detail/repository-name"),
            "cloudevents webhook: field 'detail.repository-name' is missing",
        ),
        (
            "cloudevents: Pub/Sub data not base64",
            Source::CloudEvents,
            &[],
            set(PUBSUB_GAR, "/message/data", json!("not base64!")),
            "cloudevents webhook: field 'message.data' is not valid base64",
        ),
        (
            "cloudevents: Pub/Sub data not JSON",
            Source::CloudEvents,
            &[],
            set(PUBSUB_GAR, "/message/data", json!("aGVsbG8=")),
            "cloudevents webhook: field 'message.data' is not valid JSON (syntax error at line 1, column 1)",
        ),
        (
            "cloudevents: Artifact Registry tag without a tag",
            Source::CloudEvents,
            &[],
            pubsub(&json!({"action": "INSERT", "tag": "us-docker.pkg.dev/p/r/web"})),
            "cloudevents webhook: field 'message.data.tag' holds 'us-docker.pkg.dev/p/r/web', which is not an image \
             reference with a tag",
        ),
        (
            "cloudevents: Artifact Registry neither tag nor digest",
            Source::CloudEvents,
            &[],
            pubsub(&json!({"action": "INSERT"})),
            "cloudevents webhook: field 'message.data.tag' is missing",
        ),
    ] {
        let got = parse(source, &headers(hdrs), body.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(got, Err(want.to_owned()), "{name}");
    }
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    // Not JSON at all: the size is checked first.
    let body = vec![b'{'; MAX_BODY + 1];
    for source in Source::ALL {
        let err = parse(source, &[], &body).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{source} webhook: the body is {} bytes, more than the {MAX_BODY} allowed",
                MAX_BODY + 1
            ),
        );
    }
    // Exactly the limit is read.
    let mut body = DOCKER_HUB.as_bytes().to_vec();
    body.resize(MAX_BODY, b' ');
    assert_eq!(parse(Source::DockerHub, &[], &body).unwrap().len(), 1);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse(Source::Harbor, &[], body.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("harbor webhook: the body is not valid JSON"),
        "{err}"
    );
}

#[test]
fn source_names_round_trip() {
    for source in Source::ALL {
        assert_eq!(source.to_string().parse::<Source>(), Ok(source));
    }
    assert_eq!(
        "GitLab\n".parse::<Source>().unwrap_err().to_string(),
        r"unknown webhook source 'GitLab\n'; use distribution, dockerhub, github, harbor, quay, acr, alibaba or cloudevents"
    );
}

const SECRET: &str = "It's a Secret to Everybody";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[test]
fn authentication() {
    let secret = WebhookSecret::new(SECRET).unwrap();
    let body = GITHUB.as_bytes();
    let good = sign(body);
    let upper = good.to_uppercase().replace("SHA256=", "sha256=");
    let other_body = sign(b"{}");
    let token = "token=It%27s+a+Secret+to+Everybody";
    let bearer = format!("Bearer {SECRET}");
    let lower_bearer = format!("bearer {SECRET}");
    let ok = Ok(());
    for (name, source, hdrs, query, want) in [
        // GitHub's own test vector ("Validating webhook deliveries"): this secret, body "Hello, World!".
        (
            "github: the documented vector",
            Source::GitHub,
            vec![(
                "x-hub-signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            )],
            "",
            ok,
        ),
        (
            "github: upper-case hex",
            Source::GitHub,
            vec![("x-hub-signature-256", upper.as_str())],
            "",
            ok,
        ),
        (
            "github: another body's signature",
            Source::GitHub,
            vec![("x-hub-signature-256", other_body.as_str())],
            "",
            Err(
                "github webhook: the X-Hub-Signature-256 signature does not match the body and the configured secret",
            ),
        ),
        (
            "github: no signature",
            Source::GitHub,
            vec![("x-hub-signature", "sha1=0000")],
            "",
            Err(
                "github webhook: no X-Hub-Signature-256 header; set the webhook's secret in GitHub",
            ),
        ),
        (
            "github: not sha256=",
            Source::GitHub,
            vec![("x-hub-signature-256", &good[7..])],
            "",
            Err(
                "github webhook: the X-Hub-Signature-256 header is not 'sha256=' and 64 hex digits",
            ),
        ),
        (
            "github: short",
            Source::GitHub,
            vec![("x-hub-signature-256", &good[..70])],
            "",
            Err(
                "github webhook: the X-Hub-Signature-256 header is not 'sha256=' and 64 hex digits",
            ),
        ),
        (
            "github: twice",
            Source::GitHub,
            vec![
                ("x-hub-signature-256", good.as_str()),
                ("x-hub-signature-256", good.as_str()),
            ],
            "",
            Err("github webhook: the X-Hub-Signature-256 header is given more than once"),
        ),
        (
            "github: a query token is no signature",
            Source::GitHub,
            vec![],
            token,
            Err(
                "github webhook: no X-Hub-Signature-256 header; set the webhook's secret in GitHub",
            ),
        ),
        (
            "harbor: the secret as the header",
            Source::Harbor,
            vec![("authorization", SECRET)],
            "",
            ok,
        ),
        (
            "distribution: Bearer",
            Source::Distribution,
            vec![("authorization", bearer.as_str())],
            "",
            ok,
        ),
        (
            "acr: bearer in lower case",
            Source::Acr,
            vec![("authorization", lower_bearer.as_str())],
            "",
            ok,
        ),
        (
            "harbor: wrong",
            Source::Harbor,
            vec![("authorization", "Bearer guess")],
            "",
            Err("harbor webhook: the Authorization header is not the configured secret"),
        ),
        (
            "harbor: a prefix of the secret",
            Source::Harbor,
            vec![("authorization", &SECRET[..10])],
            "",
            Err("harbor webhook: the Authorization header is not the configured secret"),
        ),
        (
            "distribution: missing",
            Source::Distribution,
            vec![],
            token,
            Err(
                "distribution webhook: no Authorization header; configure the sender to send the secret in it",
            ),
        ),
        (
            "acr: twice",
            Source::Acr,
            vec![("authorization", SECRET), ("authorization", "x")],
            "",
            Err("acr webhook: the Authorization header is given more than once"),
        ),
        ("dockerhub: token", Source::DockerHub, vec![], token, ok),
        (
            "quay: token among others, percent-encoded",
            Source::Quay,
            vec![],
            "a=1&token=It%27s%20a%20Secret%20to%20Everybody&b",
            ok,
        ),
        (
            "alibaba: secret=, as its documentation's URL",
            Source::Alibaba,
            vec![],
            "triggerUrl=abc&secret=It%27s+a+Secret+to+Everybody",
            ok,
        ),
        (
            "dockerhub: wrong token",
            Source::DockerHub,
            vec![],
            "token=guess",
            Err("dockerhub webhook: the 'token' query parameter is not the configured secret"),
        ),
        (
            "dockerhub: undecodable token",
            Source::DockerHub,
            vec![],
            "secret=%zz",
            Err("dockerhub webhook: the 'secret' query parameter is not the configured secret"),
        ),
        (
            "quay: no token",
            Source::Quay,
            vec![("authorization", SECRET)],
            "tokens=x",
            Err(
                "quay webhook: no 'token' query parameter; add '?token=<secret>' to the webhook URL given to the sender",
            ),
        ),
        (
            "alibaba: token and secret both",
            Source::Alibaba,
            vec![],
            "token=a&secret=b",
            Err("alibaba webhook: the token query parameter is given more than once"),
        ),
        (
            "cloudevents: header",
            Source::CloudEvents,
            vec![("authorization", SECRET)],
            "",
            ok,
        ),
        ("cloudevents: query", Source::CloudEvents, vec![], token, ok),
        (
            "cloudevents: a Pub/Sub OIDC token beside the URL's token",
            Source::CloudEvents,
            vec![("authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")],
            token,
            ok,
        ),
        (
            "cloudevents: a wrong header alone",
            Source::CloudEvents,
            vec![("authorization", "guess")],
            "",
            Err("cloudevents webhook: the Authorization header is not the configured secret"),
        ),
        (
            "cloudevents: a wrong token beside a foreign header",
            Source::CloudEvents,
            vec![("authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")],
            "token=guess",
            Err("cloudevents webhook: the 'token' query parameter is not the configured secret"),
        ),
        (
            "cloudevents: a repeated header is refused even with a good token",
            Source::CloudEvents,
            vec![("authorization", SECRET), ("authorization", SECRET)],
            token,
            Err("cloudevents webhook: the Authorization header is given more than once"),
        ),
        (
            "cloudevents: nothing",
            Source::CloudEvents,
            vec![],
            "",
            Err(
                "cloudevents webhook: no 'token' query parameter; add '?token=<secret>' to the webhook URL given to \
                 the sender",
            ),
        ),
    ] {
        let body: &[u8] = if name.contains("documented vector") {
            b"Hello, World!"
        } else {
            body
        };
        let got =
            authenticate(source, &secret, &headers(&hdrs), query, body).map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_owned), "{name}");
        if let Err(message) = &got {
            assert!(
                !message.contains(SECRET) && !message.contains("Everybody"),
                "{name}: {message}"
            );
        }
    }
}
