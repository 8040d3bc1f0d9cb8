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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argocd_image_resolver::argo_api::{
    AppKey, Discovery, DiscoveryOptions, DiscoveryProblem, Matching, RetryBackoff, Scope,
    hard_refresh,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

const PLUGIN: &str = "argocd-image-resolver-v1";
const REPO: &str = "https://git.example.org/org/deploy.git";

// ---------------------------------------------------------------------------------------------------------------
// The fake API server.

#[derive(Default)]
struct Store {
    rv: u64,
    apps: BTreeMap<(String, String), Value>,
    /// Every change: (resourceVersion, namespace, event line).
    log: Vec<(u64, String, String)>,
    /// A watch from a version below this one is told 410 Gone (the history before it is compacted away).
    oldest: u64,
    forbidden: BTreeSet<String>,
    /// (path, content type, body) of each PATCH.
    patches: Vec<(String, String, Value)>,
    /// "list <ns>" / "watch <ns> <rv>" / "gone <ns> <rv>", in order.
    requests: Vec<String>,
}

struct Fake {
    store: Mutex<Store>,
    events: broadcast::Sender<(u64, String, String)>,
    /// Bumped to end every open watch (a dropped connection).
    drop_watches: watch::Sender<u64>,
    /// True while the server stops: every watch ends, and one started meanwhile ends at once.
    stopping: watch::Sender<bool>,
}

type Shared = Arc<Fake>;

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn status_response(code: u16, reason: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        status(code, reason, message).to_string(),
    )
        .into_response()
}

fn forbidden(ns: &str, verb: &str) -> Response {
    status_response(
        403,
        "Forbidden",
        &format!(
            "applications.argoproj.io is forbidden: User \"system:serviceaccount:argocd:image-resolver\" cannot \
             {verb} resource \"applications\" in API group \"argoproj.io\" in the namespace \"{ns}\""
        ),
    )
}

impl Fake {
    fn new() -> Shared {
        Arc::new(Fake {
            store: Mutex::new(Store {
                rv: 100,
                ..Store::default()
            }),
            events: broadcast::channel(1024).0,
            drop_watches: watch::channel(0).0,
            stopping: watch::channel(false).0,
        })
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    fn record(&self, store: &mut Store, kind: &str, ns: &str, object: &Value) {
        let line = format!("{}\n", json!({"type": kind, "object": object}));
        store.log.push((store.rv, ns.to_string(), line.clone()));
        let _ = self.events.send((store.rv, ns.to_string(), line));
    }

    /// Creates or replaces an Application (ADDED or MODIFIED).
    fn put(&self, ns: &str, name: &str, annotations: Value, spec: Value) {
        let mut store = self.store();
        store.rv += 1;
        let object = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": store.rv.to_string(),
                         "uid": format!("uid-{ns}-{name}"), "annotations": annotations},
            "spec": spec,
            "status": {"sync": {"status": "Synced"}},
        });
        let kind = if store.apps.contains_key(&(ns.into(), name.into())) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        store.apps.insert((ns.into(), name.into()), object.clone());
        self.record(&mut store, kind, ns, &object);
    }

    fn delete(&self, ns: &str, name: &str) {
        let mut store = self.store();
        store.rv += 1;
        let mut object = store.apps.remove(&(ns.into(), name.into())).unwrap();
        object["metadata"]["resourceVersion"] = json!(store.rv.to_string());
        self.record(&mut store, "DELETED", ns, &object);
    }

    /// Forgets the history: any watch from a version seen so far is now too old.
    fn compact(&self) {
        let mut store = self.store();
        store.oldest = store.rv + 1;
    }

    fn drop_watches(&self) {
        self.drop_watches.send_modify(|n| *n += 1);
    }

    fn requests(&self) -> Vec<String> {
        self.store().requests.clone()
    }
}

async fn collection(
    State(fake): State<Shared>,
    ns: Option<Path<String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let ns = ns.map(|Path(ns)| ns);
    let label = ns.clone().unwrap_or_else(|| "*".into());
    let matches = move |event_ns: &str| ns.as_deref().is_none_or(|n| n == event_ns);
    let mut store = fake.store();
    if store.forbidden.contains(&label) {
        return forbidden(&label, "list");
    }
    let watching = matches!(query.get("watch").map(String::as_str), Some("1" | "true"));
    if !watching {
        store.requests.push(format!("list {label}"));
        let items: Vec<&Value> = store
            .apps
            .iter()
            .filter(|((n, _), _)| matches(n))
            .map(|(_, o)| o)
            .collect();
        let list = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationList",
                          "metadata": {"resourceVersion": store.rv.to_string()}, "items": items});
        return (
            [(header::CONTENT_TYPE, "application/json")],
            list.to_string(),
        )
            .into_response();
    }
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(store.rv);
    let (tx, rx) = mpsc::unbounded_channel::<Result<Bytes, Infallible>>();
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if from < store.oldest {
        store.requests.push(format!("gone {label} {from}"));
        let error = json!({"type": "ERROR", "object": status(410, "Expired",
            &format!("too old resource version: {from} ({})", store.oldest))});
        let _ = tx.send(Ok(Bytes::from(format!("{error}\n"))));
        return response;
    }
    store.requests.push(format!("watch {label} {from}"));
    let backlog: Vec<String> = store
        .log
        .iter()
        .filter(|(rv, n, _)| *rv > from && matches(n))
        .map(|(_, _, line)| line.clone())
        .collect();
    let current = store.rv;
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let mut live = fake.events.subscribe();
    let mut dropped = fake.drop_watches.subscribe();
    let mut stopping = fake.stopping.subscribe();
    drop(store);
    tokio::spawn(async move {
        for line in backlog {
            let _ = tx.send(Ok(Bytes::from(line)));
        }
        if bookmarks {
            let bookmark = json!({"type": "BOOKMARK", "object": {"apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application", "metadata": {"resourceVersion": current.to_string()}}});
            let _ = tx.send(Ok(Bytes::from(format!("{bookmark}\n"))));
        }
        loop {
            tokio::select! {
                event = live.recv() => match event {
                    Ok((rv, n, line)) if rv > current && matches(&n) => {
                        if tx.send(Ok(Bytes::from(line))).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                },
                _ = dropped.changed() => break,
                _ = stopping.wait_for(|stop| *stop) => break,
                () = tx.closed() => break,
            }
        }
    });
    response
}

async fn namespaced(
    state: State<Shared>,
    Path(ns): Path<String>,
    query: Query<HashMap<String, String>>,
) -> Response {
    collection(state, Some(Path(ns)), query).await
}

async fn cluster(state: State<Shared>, query: Query<HashMap<String, String>>) -> Response {
    collection(state, None, query).await
}

async fn patch(
    State(fake): State<Shared>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut store = fake.store();
    store.patches.push((
        format!("/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}"),
        content_type,
        patch.clone(),
    ));
    if store.forbidden.contains(&ns) {
        return forbidden(&ns, "patch");
    }
    let Some(object) = store.apps.get(&(ns.clone(), name.clone())).cloned() else {
        return status_response(
            404,
            "NotFound",
            &format!("applications.argoproj.io \"{name}\" not found"),
        );
    };
    let mut object = object;
    merge(&mut object, &patch);
    store.rv += 1;
    object["metadata"]["resourceVersion"] = json!(store.rv.to_string());
    store.apps.insert((ns.clone(), name), object.clone());
    fake.record(&mut store, "MODIFIED", &ns, &object);
    (
        [(header::CONTENT_TYPE, "application/json")],
        object.to_string(),
    )
        .into_response()
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let object = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if value.is_null() {
            object.remove(key);
        } else {
            merge(object.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// A running fake: stop it to make the server go away (every connection closed, the port freed).
struct Server {
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(fake: &Shared, port: u16) -> Server {
    let app = Router::new()
        .route("/apis/argoproj.io/v1alpha1/applications", get(cluster))
        .route(
            "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications",
            get(namespaced),
        )
        .route(
            "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}",
            axum::routing::patch(patch),
        )
        .with_state(Arc::clone(fake));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the fake API server");
    let port = listener.local_addr().unwrap().port();
    fake.stopping.send_replace(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Server { port, stop, task }
}

impl Server {
    async fn stop(self, fake: &Fake) {
        fake.stopping.send_replace(true);
        let _ = self.stop.send(());
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            panic!("the fake API server did not stop");
        }
    }
}

fn client(port: u16) -> kube::Client {
    let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

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

    // A hard refresh is exactly Argo CD's merge patch.
    hard_refresh(&client, "argocd", "while-down").await.unwrap();
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
            "application team/multi: the service account may not patch applications.argoproj.io in namespace \
             team: applications.argoproj.io is forbidden"
        ) && refused.ends_with("; grant it patch on applications there"),
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
