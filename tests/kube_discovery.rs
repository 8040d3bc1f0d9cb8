//! `argo_api` against a Kubernetes API server: discovery of the Applications that name the plugin (list + watch
//! per namespace, resumed after a dropped watch, listed again after 410 Gone, surviving the server going away and
//! coming back) and the hard-refresh merge patch.
//!
//! No kube-apiserver can run on these machines (TEST-INFRA.md), so the server is an in-test fake (axum, on a random
//! loopback port) speaking only the paths used, with the semantics of the Kubernetes API concepts document
//! (<https://kubernetes.io/docs/reference/using-api/api-concepts/>, "Efficient detection of changes" and "Watch
//! bookmarks"): a list carries `metadata.resourceVersion`; `?watch=1&resourceVersion=N` streams the changes after N
//! as newline-delimited `{"type": ADDED|MODIFIED|DELETED|BOOKMARK, "object": …}` events; a version older than the
//! server still holds is answered, as the real server answers a watch, with HTTP 200 and one `ERROR` event whose
//! Status has code 410 (Gone); a namespace the caller may not read gets 403 with a Status. kube-rs is connected to
//! it with a plain `kube::Config` (http, no auth).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argocd_image_resolver::argo_api::{
    AppKey, Discovery, DiscoveryOptions, DiscoveryProblem, Matching, Refreshed, RetryBackoff,
    Scope, hard_refresh,
};
use serde_json::{Value, json};
use support::kubeapi::*;

#[path = "support/mod.rs"]
mod support;

const PLUGIN: &str = "argocd-image-resolver-v1";
const REPO: &str = "https://git.example.org/org/deploy.git";

// ---------------------------------------------------------------------------------------------------------------
// Applications.

fn ours(path: &str) -> Value {
    json!({"repoURL": REPO, "path": path, "targetRevision": "main",
           "plugin": {"name": PLUGIN, "parameters": [{"name": "image-list", "string": "web=ghcr.io/org/web:^1"}]}})
}

fn single(path: &str) -> Value {
    json!({"destination": {"namespace": "prod"}, "source": ours(path)})
}

/// Waits until `done` holds of the discovery, waking on its change notifications.
async fn until(discovery: &Discovery, what: &str, done: impl Fn(&Discovery) -> bool) {
    let mut changes = discovery.changes();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !done(discovery) {
            let _ = tokio::time::timeout(Duration::from_millis(200), changes.changed()).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out waiting for: {what}; applications {:?}, status {:?}",
        discovery.applications().keys().collect::<Vec<_>>(),
        discovery.status()
    );
}

fn key(ns: &str, name: &str) -> AppKey {
    AppKey::new(ns, name)
}

fn names(discovery: &Discovery) -> Vec<String> {
    discovery
        .snapshot()
        .iter()
        .map(|spec| {
            format!(
                "{}:{}",
                spec.name(),
                spec.request.source_path.as_deref().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_through_dropped_watches_expiry_and_a_restart_and_refreshes() {
    let fake = Fake::new();
    fake.put("argocd", "web", json!({}), single("apps/web"));
    fake.put(
        "argocd",
        "helm",
        json!({}),
        json!({"source": {"repoURL": "https://charts.example/", "chart": "redis"}}),
    );
    fake.put(
        "argocd",
        "broken",
        json!({}),
        json!({"source": {"plugin": {"name": PLUGIN}}}),
    );
    fake.put(
        "team",
        "multi",
        json!({"argocd-image-updater.argoproj.io/web.update-strategy": "newest-build"}),
        json!({"sources": [
            {"repoURL": "https://charts.example/", "chart": "redis"},
            ours("apps/a"),
            ours("apps/b"),
        ]}),
    );
    fake.put("secret", "hidden", json!({}), single("apps/hidden"));
    fake.store().forbidden.insert("secret".into());
    let server = serve(&fake, 0).await;
    let port = server.port;
    let client = client(port);

    let problems: Arc<Mutex<Vec<DiscoveryProblem>>> = Arc::default();
    let seen = Arc::clone(&problems);
    let discovery = Discovery::start(
        &client,
        DiscoveryOptions {
            namespaces: vec!["argocd".into(), "team".into(), "secret".into()],
            matching: Matching::default(),
            backoff: RetryBackoff {
                first: Duration::from_millis(50),
                max: Duration::from_millis(400),
            },
        },
        Some(Arc::new(move |p: &DiscoveryProblem| {
            seen.lock().unwrap().push(p.clone())
        })),
    );

    // The first lists: single and multi-source Applications; the others skipped, counted, and why.
    until(&discovery, "argocd and team listed", |d| {
        d.applications().len() == 2
            && d.status().iter().filter(|s| s.synced).count() == 2
            && d.status().iter().any(|s| s.error.is_some())
    })
    .await;
    assert_eq!(
        names(&discovery),
        ["web:apps/web", "team_multi:apps/a", "team_multi:apps/b"]
    );
    let multi = discovery.snapshot().remove(1);
    assert_eq!(multi.branch, "main");
    let parameters: Vec<&str> = multi
        .request
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        parameters,
        [
            "argocd-image-updater.argoproj.io/web.update-strategy",
            "image-list"
        ],
        "the Application's annotation became a parameter"
    );
    let mut skipped: Vec<(String, bool)> = discovery
        .skipped()
        .iter()
        .map(|e| (e.to_string(), e.problem.is_malformed()))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            (
                "application argocd/broken: spec.source.repoURL is missing".to_string(),
                true
            ),
            (
                format!(
                    "application argocd/helm: no source names plugin {PLUGIN} (found no plugin); skipped"
                ),
                false
            ),
        ]
    );
    {
        let problems = problems.lock().unwrap();
        let skipped = problems
            .iter()
            .filter(|p| matches!(p, DiscoveryProblem::Skipped(_)))
            .count();
        assert_eq!(
            skipped, 2,
            "each skipped Application counted once: {problems:?}"
        );
        let forbidden: Vec<_> = problems
            .iter()
            .filter_map(|p| match p {
                DiscoveryProblem::Watch {
                    scope,
                    forbidden: true,
                    message,
                } => Some((scope.clone(), message.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            forbidden.len(),
            1,
            "a repeating 403 is reported once: {problems:?}"
        );
        assert_eq!(forbidden[0].0, Scope::Namespace("secret".into()));
        assert!(
            forbidden[0].1.starts_with(
                "cannot read Applications in namespace secret: forbidden: applications.argoproj.io is forbidden"
            ) && forbidden[0].1.ends_with(
                "(403); give the service account get, list and watch on applications.argoproj.io there; \
                 retrying with backoff"
            ),
            "{}",
            forbidden[0].1
        );
    }
    assert!(
        !discovery.is_synced(),
        "namespace secret is not readable yet"
    );

    // Adds, modifies and deletes arrive through the watch.
    fake.put("team", "new", json!({}), single("apps/new"));
    until(&discovery, "team/new added", |d| {
        d.applications().contains_key(&key("team", "new"))
    })
    .await;
    fake.put("argocd", "web", json!({}), single("apps/web2"));
    until(&discovery, "argocd/web modified", |d| {
        names(d).contains(&"web:apps/web2".to_string())
    })
    .await;
    fake.delete("team", "new");
    until(&discovery, "team/new deleted", |d| {
        !d.applications().contains_key(&key("team", "new"))
    })
    .await;
    // An Application that stops naming the plugin leaves; one that is fixed arrives.
    fake.put("argocd", "broken", json!({}), single("apps/fixed"));
    until(&discovery, "argocd/broken fixed", |d| {
        d.applications().contains_key(&key("argocd", "broken"))
    })
    .await;

    // A dropped watch is resumed from its resource version, without listing again.
    let lists_before = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("list argocd"))
        .count();
    fake.drop_watches();
    fake.put("argocd", "after-drop", json!({}), single("apps/after-drop"));
    until(&discovery, "argocd/after-drop added", |d| {
        d.applications().contains_key(&key("argocd", "after-drop"))
    })
    .await;
    let lists_after = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("list argocd"))
        .count();
    assert_eq!(
        lists_before,
        lists_after,
        "resumed, not relisted: {:?}",
        fake.requests()
    );

    // The server goes away; meanwhile Applications change and the history is compacted; it comes back on the
    // same port: the watch is told 410 Gone, lists again, and the list replaces what it had.
    server.stop(&fake).await;
    fake.delete("argocd", "web");
    fake.put("argocd", "while-down", json!({}), single("apps/while-down"));
    fake.compact();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        discovery.applications().contains_key(&key("argocd", "web")),
        "what was found stays while the server is away"
    );
    let server = serve(&fake, port).await;
    until(&discovery, "relisted after the restart", |d| {
        let apps = d.applications();
        !apps.contains_key(&key("argocd", "web")) && apps.contains_key(&key("argocd", "while-down"))
    })
    .await;
    let requests = fake.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("gone argocd")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.starts_with("list argocd"))
            .count()
            > lists_after,
        "{requests:?}"
    );
    assert_eq!(
        names(&discovery),
        [
            "after-drop:apps/after-drop",
            "broken:apps/fixed",
            "while-down:apps/while-down",
            "team_multi:apps/a",
            "team_multi:apps/b",
        ]
    );

    // The forbidden namespace, once readable, is picked up by the retries.
    fake.store().forbidden.clear();
    until(&discovery, "every namespace read without error", |d| {
        d.is_synced() && d.status().iter().all(|s| s.error.is_none())
    })
    .await;
    assert!(
        discovery
            .applications()
            .contains_key(&key("secret", "hidden"))
    );

    // A hard refresh is exactly Argo CD's merge patch; while it is pending (Argo CD's controller has not removed
    // the annotation yet), asking again sends nothing.
    assert_eq!(
        hard_refresh(&client, "argocd", "while-down").await.unwrap(),
        Refreshed::Requested
    );
    assert_eq!(
        hard_refresh(&client, "argocd", "while-down").await.unwrap(),
        Refreshed::AlreadyPending
    );
    let patches = fake.store().patches.clone();
    assert_eq!(
        patches,
        [(
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/while-down".to_string(),
            "application/merge-patch+json".to_string(),
            json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}),
        )]
    );
    assert_eq!(
        fake.store().apps[&("argocd".to_string(), "while-down".to_string())]["metadata"]["annotations"],
        json!({"argocd.argoproj.io/refresh": "hard"})
    );
    let missing = hard_refresh(&client, "argocd", "gone").await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "application argocd/gone: not found, so not refreshed (deleted since it was discovered?)"
    );
    fake.store().forbidden.insert("team".into());
    let refused = hard_refresh(&client, "team", "multi")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with(
            "application team/multi: the service account may not get or patch applications.argoproj.io in \
             namespace team: applications.argoproj.io is forbidden"
        ) && refused.ends_with("; grant it get and patch on applications there"),
        "{refused}"
    );
    drop(discovery);
    server.stop(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_every_namespace_when_given_none() {
    let fake = Fake::new();
    fake.put("argocd", "web", json!({}), single("apps/web"));
    fake.put("team", "api", json!({}), single("apps/api"));
    let server = serve(&fake, 0).await;
    let client = client(server.port);
    let discovery = Discovery::start(
        &client,
        DiscoveryOptions {
            matching: Matching {
                control_plane_namespace: "team".into(),
                ..Matching::default()
            },
            ..DiscoveryOptions::default()
        },
        None,
    );
    until(&discovery, "listed", Discovery::is_synced).await;
    assert_eq!(names(&discovery), ["argocd_web:apps/web", "api:apps/api"]);
    assert_eq!(discovery.status()[0].scope, Scope::Cluster);
    fake.put("other", "late", json!({}), single("apps/late"));
    until(&discovery, "other/late added", |d| {
        d.applications().contains_key(&key("other", "late"))
    })
    .await;
    assert!(
        fake.requests().iter().all(|r| r.contains(" *")),
        "{:?}",
        fake.requests()
    );
    drop(discovery);
    server.stop(&fake).await;
}
