//! A repository with 10,000 tags in a real registry (distribution 2.8 returns them in one unsorted page and
//! ignores `n`), listed completely in one request. Its own test binary so it runs beside the other registry tests.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use argocd_image_resolver::registry::{ClientOptions, RegistryClient};
use support::{ImageSpec, TestRegistry};

const TAGS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tags() {
    let registry = TestRegistry::plain_on_tmpfs().await;
    let pusher = registry.pusher();
    let image = pusher
        .image(
            "big/repo",
            &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z"),
        )
        .await;
    let tags: Vec<String> = (0..TAGS)
        .map(|i| format!("1.{}.{}", i / 100, i % 100))
        .collect();
    let pushed = Instant::now();
    pusher.tag_many("big/repo", &image, tags.clone(), 8).await;
    eprintln!("pushed {TAGS} tags in {:?}", pushed.elapsed());

    let options = ClientOptions {
        deadline: Duration::from_secs(30),
        ..ClientOptions::default()
    };
    let client = RegistryClient::new(registry.endpoint(), None, options).expect("client");
    let listed = Instant::now();
    let list = client.tags("big/repo").await.expect("tags");
    eprintln!("listed in {:?}", listed.elapsed());
    assert_eq!(list.tags.len(), TAGS, "every tag listed once");
    let want: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = list.names().into_iter().collect();
    assert_eq!(got, want);
    assert_eq!(
        (list.pages, list.requests),
        (1, 1),
        "a page longer than n means the registry sent everything: no last= follow-up"
    );
}
