//! The registry client against a real registry (Debian's docker-registry, distribution 2.8): plain HTTP,
//! htpasswd Basic auth, bearer tokens, TLS, multi-platform indexes and config blobs.

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
async fn htpasswd_basic_auth() {
    let registry = TestRegistry::htpasswd("alice", "s3cret").await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
        )
        .await;
    pusher.tag("team/app", "v1", &image).await;
    let r = &registry.registry;
    for (name, credential, want) in [
        (
            "right password",
            Some(credential(
                "env",
                "REGISTRY_CREDS",
                basic("alice", "s3cret"),
            )),
            Ok("v1".to_string()),
        ),
        (
            "wrong password",
            Some(credential("env", "REGISTRY_CREDS", basic("alice", "wrong"))),
            Err(format!(
                "registry {r}, repository team/app (credential: env REGISTRY_CREDS): authentication failed: HTTP 401 \
                 (UNAUTHORIZED: authentication required); the registry rejected this credential: check that it is \
                 current and valid for this registry"
            )),
        ),
        (
            "no credential",
            None,
            Err(format!(
                "registry {r}, repository team/app (anonymous): authentication failed: HTTP 401 (UNAUTHORIZED: \
                 authentication required); anonymous access is not allowed: configure a credential for this registry"
            )),
        ),
        (
            "identity token cannot do basic",
            Some(credential(
                "docker-config",
                "/home/u/.docker/config.json",
                Credential::IdentityToken(Secret::new("rt")),
            )),
            Err(format!(
                "registry {r}, repository team/app (credential: docker-config /home/u/.docker/config.json): \
                 authentication failed: HTTP 401 (UNAUTHORIZED: authentication required); the registry asks for \
                 basic auth, but the credential is an identity token, which needs a bearer token server"
            )),
        ),
    ] {
        let got = client(registry.endpoint(), credential)
            .tags("team/app")
            .await;
        assert_eq!(
            got.map(|l| l.names().join(",")).map_err(|e| e.to_string()),
            want,
            "{name}"
        );
    }
    let message = client(
        registry.endpoint(),
        Some(credential("env", "X", basic("alice", "wrong"))),
    )
    .tags("team/app")
    .await
    .unwrap_err()
    .to_string();
    assert!(
        !message.contains("wrong"),
        "the password never appears in errors: {message}"
    );
}

#[tokio::test]
async fn bearer_token_auth() {
    let registry = TestRegistry::token(
        &[("admin", "adminpw"), ("bob", "bobpw")],
        &[("refresh-abc", "bob")],
        300,
    )
    .await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
        )
        .await;
    pusher.tag("team/app", "v1", &image).await;
    let tokens = registry.token_server();
    let r = &registry.registry;
    let realm = tokens.realm();

    let anonymous = client(registry.endpoint(), None)
        .tags("team/app")
        .await
        .unwrap_err();
    assert_eq!(
        anonymous.to_string(),
        format!(
            "registry {r}, repository team/app (anonymous): authentication failed: HTTP 401 (UNAUTHORIZED: \
             authentication required); anonymous access is not allowed: configure a credential for this registry"
        ),
        "anonymous token has no access"
    );

    let wrong = client(
        registry.endpoint(),
        Some(credential("env", "REG", basic("bob", "nope"))),
    )
    .tags("team/app")
    .await;
    assert_eq!(
        wrong.unwrap_err().to_string(),
        format!(
            "registry {r}, repository team/app (credential: env REG): token server {realm} refused the token \
             request: HTTP 401 (UNAUTHORIZED: invalid username or password); the token server rejected this \
             credential: check that it is current and valid for this registry"
        )
    );

    let bob = client(
        registry.endpoint(),
        Some(credential("pull-secret", "ns/bob", basic("bob", "bobpw"))),
    );
    let before = tokens.requests().len();
    assert_eq!(
        bob.tags("team/app")
            .await
            .expect("tags with credential")
            .names(),
        ["v1"]
    );
    assert_eq!(
        bob.digest("team/app", "v1").await.expect("digest"),
        image.digest
    );
    let config = bob
        .image_config("team/app", "v1", &[])
        .await
        .expect("config");
    assert_eq!(config.digest, image.digest);
    let fetched: Vec<_> = tokens.requests()[before..].to_vec();
    assert_eq!(
        fetched.len(),
        1,
        "one token reused for every request in scope: {fetched:?}"
    );
    assert_eq!(fetched[0].user.as_deref(), Some("bob"));
    assert_eq!(fetched[0].scopes, ["repository:team/app:pull"]);
    assert_eq!(fetched[0].service.as_deref(), Some("test-registry"));
    assert_eq!(bob.stats().token_requests, 1);

    let identity = client(
        registry.endpoint(),
        Some(credential(
            "docker-config",
            "config.json",
            Credential::IdentityToken(Secret::new("refresh-abc")),
        )),
    );
    assert_eq!(
        identity
            .tags("team/app")
            .await
            .expect("identity token")
            .names(),
        ["v1"]
    );
    let post = tokens.requests().last().cloned().expect("token request");
    assert_eq!(post.method, "POST");
    assert_eq!(post.grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(post.client_id.as_deref(), Some("argocd-image-resolver"));
    assert_eq!(post.user.as_deref(), Some("bob"));
    assert_eq!(post.scopes, ["repository:team/app:pull"]);

    let mut pinging = registry.endpoint();
    pinging.ping = true;
    let pinged = client(
        pinging,
        Some(credential("env", "REG", basic("bob", "bobpw"))),
    );
    let list = pinged.tags("team/app").await.expect("tags after ping");
    assert_eq!(
        list.requests, 3,
        "ping, token, tags: the ping taught the scheme so the tags request went out once"
    );
}

#[tokio::test]
async fn bearer_tokens_are_shared_and_renewed_by_expires_in() {
    for (name, expires_in, want_token_requests) in [
        ("a five-minute token serves every request", 300, 1),
        ("a one-second token is never reused", 1, 3),
    ] {
        let registry = TestRegistry::token(&[("admin", "adminpw")], &[], expires_in).await;
        let pusher = registry.pusher();
        let image = pusher
            .image(
                "team/app",
                &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
            )
            .await;
        pusher.tag("team/app", "v1", &image).await;
        let client = client(
            registry.endpoint(),
            Some(credential("env", "REG", basic("admin", "adminpw"))),
        );
        // Two requests at once (they wait for one token fetch), then a third in the same scope.
        let (a, b) = tokio::join!(
            client.digest("team/app", "v1"),
            client.digest("team/app", "v1")
        );
        assert_eq!(
            (a.expect(name), b.expect(name)),
            (image.digest.clone(), image.digest.clone()),
            "{name}"
        );
        client.tags("team/app").await.expect(name);
        assert_eq!(
            registry.token_server().requests().len(),
            want_token_requests,
            "{name}"
        );
        assert_eq!(
            client.stats().token_requests,
            want_token_requests as u64,
            "{name}"
        );
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

/// Regression (issue 10's bug): images of one registry asked for together each made their own client while the
/// first awaited its credential, so each had its own rate-limit bucket and a registry's `limit` did not hold.
/// Every client handed out must be the same one: a request through any of them counts for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_of_one_registry_asked_for_together_share_one_client() {
    use argocd_image_resolver::image::ImageRef;
    use argocd_image_resolver::registry::Registries;
    use argocd_image_resolver::registry::config;
    use argocd_image_resolver::registry::credentials::{CredentialOptions, CredentialStore};

    let registry = TestRegistry::plain().await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "team/app",
            &ImageSpec::linux("amd64", None, "2024-05-01T00:00:00Z"),
        )
        .await;
    pusher.tag("team/app", "v1", &image).await;
    // Looking for a credential reads files, which is where concurrent callers used to overtake each other.
    let docker = tempfile::tempdir().unwrap();
    let conf = config::parse(&format!(
        "registries:\n- name: test\n  prefix: apps.test\n  api_url: {}\n  limit: 5\n",
        registry.base
    ))
    .unwrap();
    let registries = Registries::new(
        conf,
        CredentialStore::new(CredentialOptions {
            docker_config_dir: Some(docker.path().to_path_buf()),
            ..CredentialOptions::default()
        }),
        options(),
    );
    let images: Vec<ImageRef> = (0..20)
        .map(|i| ImageRef::parse(&format!("apps.test/team/app-{i}:1")).unwrap())
        .collect();
    let clients: Vec<RegistryClient> = futures_join_all(
        images
            .iter()
            .map(|image| registries.client_for(image, None))
            .collect(),
    )
    .await;
    clients[0].tags("team/app").await.expect("tags");
    let requests: Vec<u64> = clients.iter().map(|c| c.stats().requests).collect();
    assert!(requests[0] > 0);
    assert!(
        requests.iter().all(|&r| r == requests[0]),
        "one client for all: {requests:?}"
    );
}

/// Awaits all `futures` concurrently on this task, in order.
async fn futures_join_all<F, T, E>(futures: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<T>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => out[i] = Some(r.expect("client")),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
