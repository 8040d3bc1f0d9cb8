//! Discovered credentials: the pull-secret directory scan and docker `config.json` (auths, credHelpers,
//! credsStore) with a real `docker-credential-test` helper on a private PATH.

mod credentials_support;

use std::path::Path;
use std::time::Duration;

use argocd_image_resolver::registry::credentials::{
    Clock as _, Credential, CredentialOptions, CredentialStore, Secret, SecretScope,
};
use credentials_support::{Sandbox, assert_hidden, auth_field, basic};

const SECRET: &str = "s3cr3t-Pa55";

/// Options reading `config.json` from `<sandbox>/docker`.
fn docker_options(sandbox: &Sandbox) -> CredentialOptions {
    CredentialOptions {
        docker_config_dir: Some(sandbox.path().join("docker")),
        ..sandbox.options(&[])
    }
}

fn write_config(sandbox: &Sandbox, json: &str) -> String {
    sandbox
        .file("docker/config.json", json)
        .display()
        .to_string()
}

/// `docker-credential-<name>`: logs its arguments and input to `<name>.log`, answers for ghcr.io with a password,
/// for Docker Hub with an identity token, and "not found" otherwise.
fn install_helper(sandbox: &Sandbox, name: &str) {
    let log = sandbox.path().join(format!("{name}.log"));
    sandbox.script(
        &format!("bin/docker-credential-{name}"),
        &format!(
            r#"url=$(cat)
echo "$*|$url" >> '{log}'
case "$url" in
  ghcr.io) echo '{{"ServerURL":"ghcr.io","Username":"{name}-user","Secret":"{SECRET}"}}' ;;
  https://index.docker.io/v1/) echo '{{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"{SECRET}"}}' ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac"#,
            log = log.display()
        ),
    );
}

fn helper_log(sandbox: &Sandbox, name: &str) -> String {
    std::fs::read_to_string(sandbox.path().join(format!("{name}.log"))).unwrap_or_default()
}

#[tokio::test]
async fn auths_entry_forms() {
    let cases = [
        (
            "auth field",
            format!(
                r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
                auth_field("robot", SECRET)
            ),
            basic("robot", SECRET),
        ),
        (
            "username and password",
            format!(
                r#"{{"auths":{{"https://ghcr.io/v1/":{{"username":"robot","password":"{SECRET}"}}}}}}"#
            ),
            basic("robot", SECRET),
        ),
        (
            "identity token",
            format!(r#"{{"auths":{{"http://ghcr.io":{{"identitytoken":"{SECRET}"}}}}}}"#),
            Credential::IdentityToken(Secret::new(SECRET)),
        ),
    ];
    for (name, json, want) in cases {
        let sandbox = Sandbox::new();
        let path = write_config(&sandbox, &json);
        let store = CredentialStore::new(docker_options(&sandbox));
        let got = store
            .credential_for("ghcr.io", None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .expect(name);
        assert_eq!(got.credential, want, "{name}");
        assert!(!format!("{got:?}").contains(SECRET), "{name}: Debug leaks");
        assert_eq!(
            (got.source.kind, got.source.name),
            ("docker-config", path),
            "{name}"
        );
    }
}

#[tokio::test]
async fn docker_hub_keys_are_one_registry() {
    let sandbox = Sandbox::new();
    write_config(
        &sandbox,
        &format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}}}}}}"#,
            auth_field("hubber", SECRET)
        ),
    );
    let store = CredentialStore::new(docker_options(&sandbox));
    for registry in [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "https://index.docker.io/v1/",
    ] {
        let got = store.credential_for(registry, None).await.unwrap();
        assert_eq!(
            got.map(|g| g.credential),
            Some(basic("hubber", SECRET)),
            "{registry}"
        );
    }
    assert_eq!(
        store
            .credential_for("ghcr.io", None)
            .await
            .unwrap()
            .map(|g| g.credential),
        None,
        "other registry"
    );
}

#[tokio::test]
async fn cred_helpers_are_asked_with_get_and_the_server_url() {
    let sandbox = Sandbox::new();
    install_helper(&sandbox, "test");
    write_config(
        &sandbox,
        &format!(
            r#"{{"credHelpers":{{"ghcr.io":"test","docker.io":"test","quay.io":"test"}},
               "auths":{{"ghcr.io":{{"auth":"{a}"}},"quay.io":{{"auth":"{a}"}}}}}}"#,
            a = auth_field("from-auths", "x")
        ),
    );
    let store = CredentialStore::new(docker_options(&sandbox));
    let cases = [
        (
            "helper wins over auths",
            "ghcr.io",
            Some(basic("test-user", SECRET)),
        ),
        (
            "token user name is an identity token",
            "docker.io",
            Some(Credential::IdentityToken(Secret::new(SECRET))),
        ),
        (
            "helper has none: anonymous, auths not consulted",
            "quay.io",
            None,
        ),
    ];
    for (name, registry, want) in cases {
        let got = store
            .credential_for(registry, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(got) = &got {
            assert_eq!(
                (got.source.kind, got.source.name.as_str()),
                ("credential-helper", "docker-credential-test"),
                "{name}"
            );
        }
        assert_eq!(got.map(|g| g.credential), want, "{name}");
    }
    assert_eq!(
        helper_log(&sandbox, "test"),
        "get|ghcr.io\nget|https://index.docker.io/v1/\nget|quay.io\n"
    );
}

#[tokio::test]
async fn creds_store_comes_after_auths() {
    let sandbox = Sandbox::new();
    install_helper(&sandbox, "store");
    write_config(
        &sandbox,
        &format!(
            r#"{{"credsStore":"store","auths":{{"ghcr.io":{{}},"quay.io":{{"auth":"{}"}}}}}}"#,
            auth_field("from-auths", SECRET)
        ),
    );
    let store = CredentialStore::new(docker_options(&sandbox));
    let cases = [
        (
            "marker entry: the store answers",
            "ghcr.io",
            Some(basic("store-user", SECRET)),
            "credential-helper",
        ),
        (
            "auths entry with data wins",
            "quay.io",
            Some(basic("from-auths", SECRET)),
            "docker-config",
        ),
        ("store has none", "example.com", None, ""),
    ];
    for (name, registry, want, kind) in cases {
        let got = store
            .credential_for(registry, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.as_ref().map_or("", |g| g.source.kind), kind, "{name}");
        assert_eq!(got.map(|g| g.credential), want, "{name}");
    }
    assert_eq!(
        helper_log(&sandbox, "store"),
        "get|ghcr.io\nget|example.com\n"
    );
}

#[tokio::test]
async fn helper_problems() {
    let sandbox = Sandbox::new();
    sandbox.script(
        "bin/docker-credential-broken",
        &format!(
            "echo '{{\"Username\":\"u\",\"Secret\":\"{SECRET}\"}}'; echo \"{SECRET}\" >&2; exit 4"
        ),
    );
    sandbox.script(
        "bin/docker-credential-garbled",
        &format!("echo 'Username={SECRET}'"),
    );
    let config = write_config(
        &sandbox,
        r#"{"credHelpers":{"ghcr.io":"broken","quay.io":"garbled","gcr.io":"absent","evil.io":"../../bin/sh"}}"#,
    );
    let store = CredentialStore::new(docker_options(&sandbox));
    let cases = [
        (
            "helper fails",
            "ghcr.io",
            "credential helper docker-credential-broken failed (exit status: 4) for registry ghcr.io; run 'docker-credential-broken get' by hand to see why".to_string(),
        ),
        ("helper prints garbage", "quay.io", "credential helper docker-credential-garbled printed something other than its JSON reply".to_string()),
        (
            "helper missing",
            "gcr.io",
            format!("credential helper docker-credential-absent (credHelpers entry for gcr.io in {config}) is not on PATH; install it or remove the entry"),
        ),
        ("helper name with a path", "evil.io", format!("credential helper name '../../bin/sh' in {config} is not a plain name")),
    ];
    for (name, registry, want) in cases {
        let err = store.credential_for(registry, None).await.expect_err(name);
        assert_eq!(err.to_string(), want, "{name}");
        assert_hidden(name, &err, SECRET);
    }
}

/// Issue 10: helpers used to run outside a process group, so on timeout only the helper itself was killed and a
/// child it forked lived on.
#[tokio::test]
async fn timed_out_helper_is_killed_with_its_children() {
    let sandbox = Sandbox::new();
    let pid_file = sandbox.path().join("child.pid");
    sandbox.script(
        "bin/docker-credential-hang",
        &credentials_support::hang_with_child(&pid_file),
    );
    write_config(&sandbox, r#"{"credHelpers":{"ghcr.io":"hang"}}"#);
    let pid = credentials_support::child_of_timed_out_program(&pid_file, |timeout| {
        let store = CredentialStore::new(CredentialOptions {
            command_timeout: timeout,
            ..docker_options(&sandbox)
        });
        async move {
            let err = store.credential_for("ghcr.io", None).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "credential helper docker-credential-hang did not finish within {timeout:?}"
                )
            );
        }
    })
    .await;
    assert!(
        credentials_support::process_gone(pid),
        "the helper's child {pid} outlived it"
    );
}

#[tokio::test]
async fn missing_creds_store_helper_is_anonymous() {
    let sandbox = Sandbox::new();
    write_config(
        &sandbox,
        r#"{"credsStore":"desktop","auths":{"ghcr.io":{}}}"#,
    );
    let store = CredentialStore::new(docker_options(&sandbox));
    assert_eq!(
        store
            .credential_for("ghcr.io", None)
            .await
            .unwrap()
            .map(|g| g.credential),
        None
    );
}

#[tokio::test]
async fn config_file_problems() {
    let missing = Sandbox::new();
    let store = CredentialStore::new(docker_options(&missing));
    assert_eq!(
        store
            .credential_for("ghcr.io", None)
            .await
            .unwrap()
            .map(|g| g.credential),
        None,
        "no config.json"
    );

    let malformed = Sandbox::new();
    let path = write_config(
        &malformed,
        &format!(r#"{{"auths":{{"ghcr.io":{{"auth":{SECRET}}}}}}}"#),
    );
    let store = CredentialStore::new(docker_options(&malformed));
    let err = store.credential_for("ghcr.io", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("docker config {path} is not valid JSON of the expected shape (line 1, column 29)")
    );
    assert_hidden("malformed", &err, SECRET);

    let bad_auth = Sandbox::new();
    let path = write_config(
        &bad_auth,
        &format!(r#"{{"auths":{{"ghcr.io":{{"auth":"{SECRET}"}}}}}}"#),
    );
    let store = CredentialStore::new(docker_options(&bad_auth));
    let err = store.credential_for("ghcr.io", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("auth entry 'ghcr.io' in {path} is malformed: 'auth' is not base64")
    );
    assert_hidden("bad auth", &err, SECRET);
}

/// Mounts a dockerconfigjson the way the kubelet does: the key is a symlink into a `..data` directory.
fn mount_pull_secret(
    root: &Path,
    relative: &str,
    registry_key: &str,
    user: &str,
) -> std::path::PathBuf {
    let dir = root.join(relative);
    let data = dir.join("..2026_11_25_06_00_00.000000001");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join(".dockerconfigjson"),
        format!(
            r#"{{"auths":{{"{registry_key}":{{"auth":"{}"}}}}}}"#,
            auth_field(user, SECRET)
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(data.file_name().unwrap(), dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/.dockerconfigjson", dir.join(".dockerconfigjson")).unwrap();
    dir.join(".dockerconfigjson")
}

#[tokio::test]
async fn pull_secret_directory_scan() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("pull-secrets");
    let ghcr_b = mount_pull_secret(&root, "team-b/ghcr", "https://ghcr.io", "team-b");
    let ghcr_c = mount_pull_secret(&root, "team-c/ghcr", "ghcr.io", "team-c");
    let hub = mount_pull_secret(&root, "hub", "https://index.docker.io/v1/", "hubber");
    sandbox.file("pull-secrets/team-a/broken/.dockerconfigjson", "{not json");
    sandbox.file(
        "pull-secrets/team-a/other/.dockerconfigjson",
        r#"{"auths":{"quay.io":{"auth":"bm90OmJhc2U2NA=="}}}"#,
    );
    write_config(
        &sandbox,
        &format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            auth_field("from-config", SECRET)
        ),
    );
    let store = |flat_namespace: Option<&str>, scope: Option<SecretScope>| {
        CredentialStore::new(CredentialOptions {
            pull_secrets_dir: Some(root.clone()),
            pull_secrets_flat_namespace: flat_namespace.map(String::from),
            pull_secret_scope: scope,
            ..docker_options(&sandbox)
        })
    };
    let scope = |namespace: &str| Some(SecretScope::new(Some(namespace.into()), Vec::new()));
    let cases = [
        (
            "first by path, before docker config, broken file skipped",
            store(None, None),
            "ghcr.io",
            Some((basic("team-b", SECRET), "pull-secret", ghcr_b.clone())),
        ),
        (
            "namespaces the scope does not permit are skipped",
            store(None, scope("team-c")),
            "ghcr.io",
            Some((basic("team-c", SECRET), "pull-secret", ghcr_c)),
        ),
        (
            "flat layout, the operator naming its namespace",
            store(Some("argocd"), None),
            "docker.io",
            Some((basic("hubber", SECRET), "pull-secret", hub.clone())),
        ),
        (
            "flat layout, its namespace in scope",
            store(Some("argocd"), scope("argocd")),
            "docker.io",
            Some((basic("hubber", SECRET), "pull-secret", hub)),
        ),
        // Regression (issue 11, item 7): flat secrets served every namespace.
        (
            "flat layout, no namespace named: not read",
            store(None, None),
            "docker.io",
            None,
        ),
        (
            "flat layout of a namespace out of scope",
            store(Some("argocd"), scope("team-b")),
            "docker.io",
            None,
        ),
        ("no entry anywhere", store(None, None), "example.com", None),
    ];
    for (name, store, registry, want) in cases {
        let got = store
            .credential_for(registry, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = got.map(|g| {
            (
                g.credential,
                g.source.kind,
                std::path::PathBuf::from(g.source.name),
            )
        });
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn discovered_results_are_reused_for_the_discovery_ttl() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(CredentialOptions {
        discovery_ttl: Duration::from_secs(60),
        ..docker_options(&sandbox)
    });
    let start = sandbox.clock.now();
    assert!(
        store
            .credential_for("ghcr.io", None)
            .await
            .unwrap()
            .is_none(),
        "anonymous at first"
    );

    write_config(
        &sandbox,
        &format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            auth_field("robot", SECRET)
        ),
    );
    sandbox.clock.advance(Duration::from_secs(59));
    assert!(
        store
            .credential_for("ghcr.io", None)
            .await
            .unwrap()
            .is_none(),
        "anonymous result still cached"
    );

    sandbox.clock.advance(Duration::from_secs(1));
    let got = store
        .credential_for("ghcr.io", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.credential, basic("robot", SECRET));
    assert_eq!(got.expires_at, Some(start + Duration::from_secs(120)));

    write_config(
        &sandbox,
        &format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            auth_field("rotated", SECRET)
        ),
    );
    let cached = store
        .credential_for("ghcr.io", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cached.credential,
        basic("robot", SECRET),
        "cached until the ttl or a 401"
    );
    store.invalidate("ghcr.io");
    let fresh = store
        .credential_for("ghcr.io", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fresh.credential,
        basic("rotated", SECRET),
        "re-read after invalidate"
    );
}
