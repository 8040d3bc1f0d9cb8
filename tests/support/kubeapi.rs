//! A fake Kubernetes API server for the tests that need one: no kube-apiserver can run on these machines
//! (TEST-INFRA.md), so this in-test fake (axum, on a loopback port) speaks only the paths `argo_api` uses, with the
//! semantics of the Kubernetes API concepts document (<https://kubernetes.io/docs/reference/using-api/api-concepts/>,
//! "Efficient detection of changes" and "Watch bookmarks"): a list carries `metadata.resourceVersion`;
//! `?watch=1&resourceVersion=N` streams the changes after N as newline-delimited `{"type": ADDED|MODIFIED|DELETED|
//! BOOKMARK, "object": …}` events; a version older than the server still holds is answered, as the real server
//! answers a watch, with HTTP 200 and one `ERROR` event whose Status has code 410 (Gone); a namespace the caller may
//! not read gets 403 with a Status; `PATCH` with `application/merge-patch+json` merges into the object.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

// ---------------------------------------------------------------------------------------------------------------
// The fake API server.

#[derive(Default)]
pub struct Store {
    pub rv: u64,
    pub apps: BTreeMap<(String, String), Value>,
    /// Every change: (resourceVersion, namespace, event line).
    pub log: Vec<(u64, String, String)>,
    /// A watch from a version below this one is told 410 Gone (the history before it is compacted away).
    pub oldest: u64,
    pub forbidden: BTreeSet<String>,
    /// (path, content type, body) of each PATCH.
    pub patches: Vec<(String, String, Value)>,
    /// "list <ns>" / "watch <ns> <rv>" / "gone <ns> <rv>", in order.
    pub requests: Vec<String>,
}

pub struct Fake {
    pub store: Mutex<Store>,
    pub events: broadcast::Sender<(u64, String, String)>,
    /// Bumped to end every open watch (a dropped connection).
    pub drop_watches: watch::Sender<u64>,
    /// True while the server stops: every watch ends, and one started meanwhile ends at once.
    pub stopping: watch::Sender<bool>,
}

pub type Shared = Arc<Fake>;

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

pub fn status_response(code: u16, reason: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        status(code, reason, message).to_string(),
    )
        .into_response()
}

pub fn forbidden(ns: &str, verb: &str) -> Response {
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
    pub fn new() -> Shared {
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

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    pub fn record(&self, store: &mut Store, kind: &str, ns: &str, object: &Value) {
        let line = format!("{}\n", json!({"type": kind, "object": object}));
        store.log.push((store.rv, ns.to_string(), line.clone()));
        let _ = self.events.send((store.rv, ns.to_string(), line));
    }

    /// Creates or replaces an Application (ADDED or MODIFIED).
    pub fn put(&self, ns: &str, name: &str, annotations: Value, spec: Value) {
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

    pub fn delete(&self, ns: &str, name: &str) {
        let mut store = self.store();
        store.rv += 1;
        let mut object = store.apps.remove(&(ns.into(), name.into())).unwrap();
        object["metadata"]["resourceVersion"] = json!(store.rv.to_string());
        self.record(&mut store, "DELETED", ns, &object);
    }

    /// Forgets the history: any watch from a version seen so far is now too old.
    pub fn compact(&self) {
        let mut store = self.store();
        store.oldest = store.rv + 1;
    }

    pub fn drop_watches(&self) {
        self.drop_watches.send_modify(|n| *n += 1);
    }

    pub fn requests(&self) -> Vec<String> {
        self.store().requests.clone()
    }
}

pub async fn collection(
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

pub async fn namespaced(
    state: State<Shared>,
    Path(ns): Path<String>,
    query: Query<HashMap<String, String>>,
) -> Response {
    collection(state, Some(Path(ns)), query).await
}

pub async fn cluster(state: State<Shared>, query: Query<HashMap<String, String>>) -> Response {
    collection(state, None, query).await
}

/// `GET …/applications/{name}`: the object, 404 or 403 as the API server answers.
pub async fn get_one(
    State(fake): State<Shared>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    let store = fake.store();
    if store.forbidden.contains(&ns) {
        return forbidden(&ns, "get");
    }
    match store.apps.get(&(ns, name.clone())) {
        Some(object) => (
            [(header::CONTENT_TYPE, "application/json")],
            object.to_string(),
        )
            .into_response(),
        None => status_response(
            404,
            "NotFound",
            &format!("applications.argoproj.io \"{name}\" not found"),
        ),
    }
}

pub async fn patch(
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
pub fn merge(target: &mut Value, patch: &Value) {
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
pub struct Server {
    pub port: u16,
    pub stop: oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn serve(fake: &Shared, port: u16) -> Server {
    let app = Router::new()
        .route("/apis/argoproj.io/v1alpha1/applications", get(cluster))
        .route(
            "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications",
            get(namespaced),
        )
        .route(
            "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}",
            get(get_one).patch(patch),
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
    pub async fn stop(self, fake: &Fake) {
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

pub fn client(port: u16) -> kube::Client {
    let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    kube::Client::try_from(config).unwrap()
}
