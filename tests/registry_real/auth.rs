//! Basic auth against htpasswd, bearer tokens, and tokens shared and renewed.

use argocd_image_resolver::registry::{Credential, Secret};

use crate::support::{ImageSpec, TestRegistry};
use crate::{basic, client, credential};

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
