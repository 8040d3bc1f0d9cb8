//! The registry client against a real registry (Debian's docker-registry, distribution 2.8): plain HTTP,
//! htpasswd Basic auth, bearer tokens, TLS, multi-platform indexes and config blobs.

mod auth;
mod shared_client;
#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use argocd_image_resolver::registry::{
    ClientOptions, Credential, CredentialSource, Endpoint, Platform, RegistryClient,
    RegistryErrorKind, ResolvedCredential, RetryPolicy, Secret,
};
use argocd_image_resolver::tag::Tag;
use support::{ImageSpec, TestRegistry};

fn credential(kind: &'static str, name: &str, credential: Credential) -> ResolvedCredential {
    ResolvedCredential {
        credential,
        source: CredentialSource {
            kind,
            name: name.into(),
        },
        expires_at: None,
    }
}

fn basic(user: &str, password: &str) -> Credential {
    Credential::Basic {
        username: user.into(),
        password: Secret::new(password),
    }
}

/// Quick retries: failures in these tests are final, so waiting only slows them.
fn options() -> ClientOptions {
    ClientOptions {
        deadline: Duration::from_secs(20),
        retry: RetryPolicy {
            max_retries: 1,
            base: Duration::from_millis(10),
            max: Duration::from_millis(20),
        },
        ..ClientOptions::default()
    }
}

fn client(endpoint: Endpoint, credential: Option<ResolvedCredential>) -> RegistryClient {
    RegistryClient::new(endpoint, credential, options()).expect("client")
}

fn sorted(tags: &[Tag]) -> Vec<String> {
    tags.iter()
        .map(|t| t.name.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn plain_http_tags_digests_and_config() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let mut spec = ImageSpec::linux("amd64", None, "2024-05-06T07:08:09.5Z");
    spec.labels
        .push(("org.opencontainers.image.revision".into(), "abc123".into()));
    let image = pusher.image("team/app", &spec).await;
    for tag in ["v1.0.0", "v1.1.0", "latest", "v0.9.0"] {
        pusher.tag("team/app", tag, &image).await;
    }

    let client = client(registry.endpoint(), None);
    let list = client.tags("team/app").await.expect("tags");
    assert_eq!(sorted(&list.tags), ["latest", "v0.9.0", "v1.0.0", "v1.1.0"]);
    assert_eq!((list.pages, list.requests), (1, 1), "one page, one request");

    assert_eq!(
        client.digest("team/app", "v1.1.0").await.expect("digest"),
        image.digest
    );
    let manifest = client
        .manifest("team/app", &image.digest)
        .await
        .expect("manifest by digest");
    assert_eq!(manifest.digest, image.digest);
    assert_eq!(
        manifest.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );

    let config = client
        .image_config("team/app", "latest", &[])
        .await
        .expect("config");
    assert_eq!(config.digest, image.digest);
    assert_eq!(config.manifest_digest, image.digest);
    assert_eq!(config.config_digest, image.config_digest);
    assert_eq!(
        config.created.map(|c| c.to_rfc3339()).as_deref(),
        Some("2024-05-06T07:08:09.500+00:00")
    );
    assert_eq!(
        config
            .labels
            .get("org.opencontainers.image.revision")
            .map(String::as_str),
        Some("abc123")
    );
    assert_eq!(config.platform, Some(Platform::linux_amd64()));

    let stats = client.stats();
    // tags, HEAD, manifest GET, then for the config: manifest GET and blob GET.
    assert_eq!(
        (stats.requests, stats.retries, stats.token_requests),
        (5, 0, 0)
    );
    assert!(stats.time > Duration::ZERO);
}

#[tokio::test]
async fn not_found_errors_name_what_is_missing() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
        )
        .await;
    pusher.tag("team/app", "v1", &image).await;
    let client = client(registry.endpoint(), None);
    let r = &registry.registry;
    for (name, result, want) in [
        (
            "unknown repository",
            client.tags("team/nothing").await.map(|_| ()),
            format!(
                "registry {r}, repository team/nothing (anonymous): repository not found: HTTP 404 \
                 (NAME_UNKNOWN: repository name not known to registry)"
            ),
        ),
        (
            "unknown tag",
            client.manifest("team/app", "v2").await.map(|_| ()),
            format!(
                "registry {r}, repository team/app (anonymous): manifest 'v2' not found: HTTP 404 \
                 (MANIFEST_UNKNOWN: manifest unknown)"
            ),
        ),
        (
            "unknown tag by HEAD has no body",
            client.digest("team/app", "v2").await.map(|_| ()),
            format!(
                "registry {r}, repository team/app (anonymous): manifest 'v2' not found: HTTP 404"
            ),
        ),
        (
            "bad repository is refused before any request",
            client.tags("Team/App").await.map(|_| ()),
            format!(
                "registry {r}, repository Team/App (anonymous): repository name 'Team/App' is invalid: use \
                 lower-case path components such as 'library/nginx' ([a-z0-9] separated by '.', '_', '__' or '-', \
                 joined by '/')"
            ),
        ),
    ] {
        assert_eq!(result.unwrap_err().to_string(), want, "{name}");
    }
}

#[tokio::test]
async fn tls_trusted_with_ca_file_and_refused_without() {
    let registry = TestRegistry::tls().await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
        )
        .await;
    pusher.tag("team/app", "v1", &image).await;
    assert_eq!(registry.base.scheme(), "https");

    let trusted = client(registry.endpoint(), None);
    assert_eq!(
        trusted
            .tags("team/app")
            .await
            .expect("tags over TLS")
            .names(),
        ["v1"]
    );

    let mut with_data = registry.endpoint();
    with_data.ca_file = None;
    with_data.ca_data =
        Some(std::fs::read_to_string(&registry.ca.as_ref().unwrap().ca_cert).unwrap());
    assert_eq!(
        client(with_data, None)
            .tags("team/app")
            .await
            .expect("tags with ca_data")
            .names(),
        ["v1"]
    );

    let mut insecure = registry.endpoint();
    insecure.ca_file = None;
    insecure.insecure = true;
    assert_eq!(
        client(insecure, None)
            .tags("team/app")
            .await
            .expect("insecure")
            .names(),
        ["v1"]
    );

    let mut untrusted = registry.endpoint();
    untrusted.ca_file = None;
    let untrusted = client(untrusted, None);
    let error = untrusted.tags("team/app").await.unwrap_err();
    let RegistryErrorKind::Connection {
        attempts, reason, ..
    } = error.kind()
    else {
        panic!("connection error expected: {error}")
    };
    assert_eq!(*attempts, 1, "a certificate error is not retried");
    assert!(
        reason.contains("invalid peer certificate: UnknownIssuer"),
        "reason names the certificate problem: {reason}"
    );

    let mut bad_ca = registry.endpoint();
    bad_ca.ca_file = Some(registry.dir().join("config.yml"));
    let setup = RegistryClient::new(bad_ca, None, options()).unwrap_err();
    assert_eq!(
        setup.to_string(),
        format!(
            "cannot set up a client for registry {}: CA file {} holds no PEM certificate",
            registry.registry,
            registry.dir().join("config.yml").display()
        )
    );
}

#[tokio::test]
async fn multi_platform_index() {
    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let amd64 = pusher
        .image(
            "team/multi",
            &ImageSpec::linux("amd64", None, "2024-03-01T10:00:00Z"),
        )
        .await;
    let arm64 = pusher
        .image(
            "team/multi",
            &ImageSpec::linux("arm64", Some("v8"), "2024-03-01T11:00:00Z"),
        )
        .await;
    let armv7 = pusher
        .image(
            "team/multi",
            &ImageSpec::linux("arm", Some("v7"), "2024-03-01T12:00:00Z"),
        )
        .await;
    let index = pusher
        .index(
            "team/multi",
            "v2",
            &[amd64.clone(), arm64.clone(), armv7.clone()],
        )
        .await;

    let client = client(registry.endpoint(), None);
    assert_eq!(
        client
            .digest("team/multi", "v2")
            .await
            .expect("index digest"),
        index.digest
    );
    let p = |s: &str| s.parse::<Platform>().unwrap();
    for (name, wanted, child, created) in [
        (
            "default linux/amd64",
            vec![],
            &amd64,
            "2024-03-01T10:00:00+00:00",
        ),
        (
            "arm64 without variant",
            vec![p("linux/arm64")],
            &arm64,
            "2024-03-01T11:00:00+00:00",
        ),
        (
            "arm v7",
            vec![p("linux/arm/v7")],
            &armv7,
            "2024-03-01T12:00:00+00:00",
        ),
        (
            "first available in preference order",
            vec![p("linux/s390x"), p("linux/arm/v7")],
            &armv7,
            "2024-03-01T12:00:00+00:00",
        ),
    ] {
        let config = client
            .image_config("team/multi", "v2", &wanted)
            .await
            .expect(name);
        assert_eq!(
            config.digest, index.digest,
            "{name}: the tag's digest is the index's"
        );
        assert_eq!(config.manifest_digest, child.digest, "{name}");
        assert_eq!(config.config_digest, child.config_digest, "{name}");
        assert_eq!(
            config.created.map(|c| c.to_rfc3339()).as_deref(),
            Some(created),
            "{name}"
        );
    }
    let missing = client
        .image_config("team/multi", "v2", &[p("windows/amd64")])
        .await
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!(
            "registry {}, repository team/multi (anonymous): 'v2' has no image for windows/amd64; it has \
             linux/amd64, linux/arm64/v8, linux/arm/v7",
            registry.registry
        )
    );
    pusher.tag("team/multi", "arm-only", &armv7).await;
    let single = client
        .image_config("team/multi", "arm-only", &[])
        .await
        .unwrap_err();
    assert_eq!(
        single.to_string(),
        format!(
            "registry {}, repository team/multi (anonymous): 'arm-only' has no image for linux/amd64; it has linux/arm/v7",
            registry.registry
        )
    );
}
