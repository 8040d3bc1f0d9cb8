//! Images of one registry share one client, and so its connections, tokens and rate limit (issue 10's bug:
//! images asked for together each made their own client while the first awaited its credential). Shown once
//! through the library (every handle `client_for` gives out is the same client) and once as a user runs
//! `generate`, where a client's one-time `/v2/` ping, counted by a recording proxy in front of a real
//! registry, shows how many clients were made: no clock is involved.

mod support;

use std::sync::Arc;

use argocd_image_resolver::image::ImageRef;
use argocd_image_resolver::registry::credentials::{CredentialOptions, CredentialStore};
use argocd_image_resolver::registry::{ClientOptions, Registries, RegistryClient, config};
use support::{MockServer, TestRegistry};

/// Pushes one image to each of `repositories` under the tags `1.0.0` and `1.1.0`.
async fn push(registry: &TestRegistry, repositories: &[String]) {
    let pusher = registry.pusher();
    for repository in repositories {
        pusher
            .image_tagged(repository, "2024-05-01T00:00:00Z", &["1.0.0", "1.1.0"])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_client_for_hands_out_one_client_per_registry_entry() {
    let registry = TestRegistry::plain().await;
    // Looking for a credential reads files: where concurrent callers used to overtake each other.
    let docker = tempfile::tempdir().unwrap();
    let conf = config::parse(&format!(
        "registries:\n\
         - name: apps\n  prefix: apps.test\n  api_url: {0}\n  limit: 5\n\
         - name: other\n  prefix: other.test\n  api_url: {0}\n  limit: 5\n",
        registry.base
    ))
    .unwrap();
    let registries = Arc::new(Registries::new(
        conf,
        CredentialStore::new(CredentialOptions {
            docker_config_dir: Some(docker.path().to_path_buf()),
            ..CredentialOptions::default()
        }),
        ClientOptions::default(),
    ));
    // Tasks on both worker threads, each asking for a different repository of the same registry entry.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let registries = Arc::clone(&registries);
            tokio::spawn(async move {
                let image = ImageRef::parse(&format!("apps.test/team/app-{i}:1")).unwrap();
                registries.client_for(&image, None).await.expect("client")
            })
        })
        .collect();
    let mut clients: Vec<RegistryClient> = Vec::new();
    for task in tasks {
        clients.push(task.await.unwrap());
    }
    for (i, client) in clients.iter().enumerate() {
        assert!(
            client.same_client(&clients[0]),
            "task {i} got its own client"
        );
    }
    // The control: another registries.conf entry (another rate limit) is another client.
    let other = ImageRef::parse("other.test/team/app-0:1").unwrap();
    let other = registries.client_for(&other, None).await.expect("client");
    assert!(
        !other.same_client(&clients[0]),
        "entries keep their own client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_generate_pings_a_registry_once_for_many_repositories() {
    const IMAGES: usize = 8;
    let registry = TestRegistry::plain().await;
    let repositories: Vec<String> = (0..IMAGES).map(|i| format!("team/app-{i}")).collect();
    push(&registry, &repositories).await;
    // A recording proxy: the real registry keeps no request log the test can read.
    let proxy = MockServer::proxy(registry.base.clone()).await;

    let dir = tempfile::tempdir().unwrap();
    // `ping: yes`: each client sends `GET /v2/` once before its first request, so pings count clients.
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "registries:\n- name: shared\n  prefix: reg.test\n  api_url: {}\n  ping: yes\n  limit: 50\n",
            proxy.url().as_str().trim_end_matches('/')
        ),
    )
    .unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let aliases: Vec<String> = (0..IMAGES)
        .map(|i| format!("a{i}=reg.test/team/app-{i}:~1"))
        .collect();
    let containers: String = (0..IMAGES)
        .map(|i| format!("      - name: c{i}\n        image: reg.test/team/app-{i}:1.0.0\n"))
        .collect();
    std::fs::write(
        app.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
             argocd-image-updater.argoproj.io/image-list: {}\nspec:\n  template:\n    spec:\n      \
             containers:\n{containers}",
            aliases.join(", ")
        ),
    )
    .unwrap();

    let output = tokio::task::spawn_blocking({
        let app = app.clone();
        let cache = dir.path().join("cache");
        move || {
            assert_cmd::Command::cargo_bin("argocd-image-resolver")
                .unwrap()
                .arg("generate")
                .current_dir(&app)
                .env("DOCKER_CONFIG", "/nonexistent")
                .env_remove("IMAGE_RESOLVER_DOCKER_CONFIG")
                .env_remove("ARGOCD_APP_PARAMETERS")
                .env("IMAGE_RESOLVER_REGISTRIES_CONF", &conf)
                .env("IMAGE_RESOLVER_CACHE_DIR", &cache)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for i in 0..IMAGES {
        assert!(
            stdout.contains(&format!("image: reg.test/team/app-{i}:1.1.0")),
            "image {i} resolved: {stdout}"
        );
    }

    let seen = proxy.seen();
    let count = |prefix: &str| seen.iter().filter(|s| s.uri.starts_with(prefix)).count();
    for repository in &repositories {
        assert_eq!(
            count(&format!("/v2/{repository}/tags/list")),
            1,
            "{repository}: {seen:?}"
        );
    }
    let pings = seen.iter().filter(|s| s.uri == "/v2/").count();
    assert_eq!(pings, 1, "one client, one ping: {seen:?}");
}
