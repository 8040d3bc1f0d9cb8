//! One client per registry, however many of its images are asked for together.

use argocd_image_resolver::registry::RegistryClient;

use crate::options;
use crate::support::{ImageSpec, TestRegistry};

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
