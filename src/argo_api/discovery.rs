//! [`Discovery`]: the Applications that name this plugin, kept current from the Kubernetes API.
//!
//! One kube-rs `watcher` per namespace given (or one for the whole cluster when none is): it lists, then watches
//! from the list's resource version, resumes a dropped watch from the last version it saw, and lists again when
//! the API answers 410 Gone (the version is too old). A relist replaces that namespace's Applications whole when
//! it completes, so Applications deleted while the watch was down disappear too; until then the previous ones
//! stay. Each namespace fails alone: one the service account may not read (403) is logged, reported and retried
//! with a doubling pause, and the others keep working.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt as _;
use kube::Client;
use kube::api::Api;
use kube::core::DynamicObject;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    AppKey, ApplicationError, Matching, PluginSource, application_resource, key_of, plugin_sources,
};
use crate::commit::AppSpec;

/// What to watch, and how.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryOptions {
    /// The namespaces to watch; empty: every namespace (a cluster-wide watch, which needs cluster-wide RBAC).
    pub namespaces: Vec<String>,
    pub matching: Matching,
    pub backoff: RetryBackoff,
}

/// Where one watcher looks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Cluster,
    Namespace(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cluster => f.write_str("all namespaces"),
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
        }
    }
}

/// Something discovery skipped or could not do, handed to the [`ProblemHook`] (to count it) once each time it
/// appears or changes: an Application that is not this plugin's or cannot be read, a namespace that cannot be
/// listed or watched. Discovery logs each itself.
#[derive(Clone, Debug)]
pub enum DiscoveryProblem {
    /// The Application is left out ([`crate::commit::ApplicationProblem::is_malformed`] tells another plugin's
    /// from a broken one).
    Skipped(ApplicationError),
    /// Listing or watching failed; retried after a pause.
    Watch {
        scope: Scope,
        /// The API answered 403: the service account may not read Applications there.
        forbidden: bool,
        message: String,
    },
}

/// Called with each new problem (for metrics); must not block.
pub type ProblemHook = Arc<dyn Fn(&DiscoveryProblem) + Send + Sync>;

/// The pause before listing or watching again after a failure: `first`, doubled each time up to `max`, with up
/// to half again of jitter; back to `first` after a success. The defaults are client-go's (800 ms, 30 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBackoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        RetryBackoff {
            first: Duration::from_millis(800),
            max: Duration::from_secs(30),
        }
    }
}

/// [`RetryBackoff`] as kube-rs's stream backoff.
struct Pauses {
    settings: RetryBackoff,
    next: Duration,
}

impl Iterator for Pauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let pause = self.next;
        self.next = (pause * 2).min(self.settings.max);
        let jitter = Duration::from_millis(fastrand::u64(0..=(pause.as_millis() as u64) / 2));
        Some((pause + jitter).min(self.settings.max.max(self.settings.first)))
    }
}

impl Backoff for Pauses {
    fn reset(&mut self) {
        self.next = self.settings.first;
    }
}

/// How one watcher is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeStatus {
    pub scope: Scope,
    /// A complete list has been read at least once.
    pub synced: bool,
    /// The last failure, while it lasts.
    pub error: Option<String>,
}

/// What an Application read into: its plugin sources, or why it is skipped.
type Entry = Result<Vec<PluginSource>, ApplicationError>;

struct ScopeState {
    status: ScopeStatus,
    apps: BTreeMap<AppKey, Entry>,
}

struct Shared {
    scopes: Mutex<Vec<ScopeState>>,
    /// Bumped on every change of the Applications or of a scope's status.
    changes: watch::Sender<u64>,
    matching: Matching,
    hook: Option<ProblemHook>,
}

/// The Applications that name this plugin, kept current in the background. Dropping it stops the watches.
pub struct Discovery {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Discovery {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Discovery {
    /// Starts listing and watching (needs a tokio runtime); returns at once. `hook` hears of each problem.
    pub fn start(
        client: &Client,
        options: DiscoveryOptions,
        hook: Option<ProblemHook>,
    ) -> Discovery {
        let mut scopes: Vec<Scope> = options
            .namespaces
            .iter()
            .map(|ns| Scope::Namespace(ns.clone()))
            .collect();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            scopes.push(Scope::Cluster);
        }
        let (changes, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            scopes: Mutex::new(
                scopes
                    .iter()
                    .map(|scope| ScopeState {
                        status: ScopeStatus {
                            scope: scope.clone(),
                            synced: false,
                            error: None,
                        },
                        apps: BTreeMap::new(),
                    })
                    .collect(),
            ),
            changes,
            matching: options.matching,
            hook,
        });
        let resource = application_resource();
        let tasks = scopes
            .into_iter()
            .enumerate()
            .map(|(index, scope)| {
                let api: Api<DynamicObject> = match &scope {
                    Scope::Cluster => Api::all_with(client.clone(), &resource),
                    Scope::Namespace(ns) => Api::namespaced_with(client.clone(), ns, &resource),
                };
                let pauses = Pauses {
                    settings: options.backoff,
                    next: options.backoff.first,
                };
                tokio::spawn(watch_scope(api, index, pauses, Arc::clone(&shared)))
            })
            .collect();
        Discovery { shared, tasks }
    }

    /// Every plugin source of every Application found, in `namespace/name` order, as the committer takes them.
    pub fn snapshot(&self) -> Vec<AppSpec> {
        self.applications()
            .into_values()
            .flatten()
            .map(|source| AppSpec {
                request: source.request,
                branch: source.target_revision,
                review: None,
            })
            .collect()
    }

    /// The Applications found, each with its plugin sources.
    pub fn applications(&self) -> BTreeMap<AppKey, Vec<PluginSource>> {
        self.shared
            .lock()
            .iter()
            .flat_map(|scope| &scope.apps)
            .filter_map(|(key, entry)| Some((key.clone(), entry.as_ref().ok()?.clone())))
            .collect()
    }

    /// The Applications skipped now, and why.
    pub fn skipped(&self) -> Vec<ApplicationError> {
        self.shared
            .lock()
            .iter()
            .flat_map(|scope| scope.apps.values())
            .filter_map(|entry| entry.as_ref().err().cloned())
            .collect()
    }

    /// How each watcher is doing.
    pub fn status(&self) -> Vec<ScopeStatus> {
        self.shared
            .lock()
            .iter()
            .map(|scope| scope.status.clone())
            .collect()
    }

    /// Whether every namespace has been listed completely at least once (for a readiness probe).
    pub fn is_synced(&self) -> bool {
        self.shared.lock().iter().all(|scope| scope.status.synced)
    }

    /// A receiver whose value changes whenever the Applications found (or a namespace's status) change: call
    /// `changed().await`, then [`Discovery::snapshot`].
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<ScopeState>> {
        self.scopes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self, object: &DynamicObject) -> (AppKey, Entry) {
        let key = key_of(object);
        // Only what the core reads: `status` (resources, history) can be large and is of no use here.
        let application = serde_json::json!({
            "metadata": {
                "name": object.metadata.name,
                "namespace": object.metadata.namespace,
                "annotations": object.metadata.annotations,
            },
            "spec": object.data.get("spec"),
        });
        (key, plugin_sources(&application, &self.matching))
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Reports `entry` when it is a problem not reported for this Application before.
    fn report(&self, old: Option<&Entry>, entry: &Entry) {
        let Err(error) = entry else {
            return;
        };
        if old.is_some_and(|old| old.as_ref().err() == Some(error)) {
            return;
        }
        if error.problem.is_malformed() {
            tracing::warn!("{error}");
        } else {
            // Most Applications of a cluster are not this plugin's: worth a line, not a warning.
            tracing::info!("{error}");
        }
        if let Some(hook) = &self.hook {
            hook(&DiscoveryProblem::Skipped(error.clone()));
        }
    }

    /// A complete list read: it replaces the scope's Applications.
    fn replace(&self, index: usize, listed: BTreeMap<AppKey, Entry>) {
        let mut scopes = self.lock();
        let scope = &mut scopes[index];
        for (key, entry) in &listed {
            self.report(scope.apps.get(key), entry);
        }
        let changed = scope.apps != listed || !scope.status.synced || scope.status.error.is_some();
        tracing::debug!(scope = %scope.status.scope, applications = listed.len(), "listed");
        scope.apps = listed;
        scope.status.synced = true;
        self.recovered(scope);
        drop(scopes);
        if changed {
            self.changed();
        }
    }

    fn apply(&self, index: usize, key: AppKey, entry: Entry) {
        let mut scopes = self.lock();
        let scope = &mut scopes[index];
        self.report(scope.apps.get(&key), &entry);
        let had_error = scope.status.error.is_some();
        self.recovered(scope);
        let changed = scope.apps.get(&key) != Some(&entry);
        scope.apps.insert(key, entry);
        drop(scopes);
        if changed || had_error {
            self.changed();
        }
    }

    fn delete(&self, index: usize, key: &AppKey) {
        let mut scopes = self.lock();
        let scope = &mut scopes[index];
        let had_error = scope.status.error.is_some();
        self.recovered(scope);
        let changed = scope.apps.remove(key).is_some();
        drop(scopes);
        if changed || had_error {
            self.changed();
        }
    }

    fn recovered(&self, scope: &mut ScopeState) {
        if scope.status.error.take().is_some() {
            tracing::info!(scope = %scope.status.scope, "reading Applications works again");
        }
    }

    fn failed(&self, index: usize, error: &watcher::Error) {
        let (forbidden, detail) = describe(error);
        let mut scopes = self.lock();
        let scope = &mut scopes[index];
        let what = if forbidden {
            format!(
                "cannot read Applications in {}: forbidden: {detail}; give the service account get, list and \
                 watch on applications.argoproj.io there; retrying with backoff",
                scope.status.scope
            )
        } else {
            format!(
                "cannot list or watch Applications in {}: {detail}; retrying with backoff",
                scope.status.scope
            )
        };
        // A failure that repeats is logged and reported once, until something succeeds.
        if scope.status.error.as_deref() == Some(what.as_str()) {
            tracing::debug!("{what}");
            return;
        }
        tracing::warn!("{what}");
        scope.status.error = Some(what.clone());
        let problem = DiscoveryProblem::Watch {
            scope: scope.status.scope.clone(),
            forbidden,
            message: what,
        };
        drop(scopes);
        if let Some(hook) = &self.hook {
            hook(&problem);
        }
        self.changed();
    }
}

/// Whether `error` is a 403, and its words.
fn describe(error: &watcher::Error) -> (bool, String) {
    use kube::Error as ClientError;
    match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => match e {
            ClientError::Api(status) => (
                status.is_forbidden(),
                format!("{} ({})", status.message, status.code),
            ),
            other => (false, other.to_string()),
        },
        watcher::Error::WatchError(status) => (
            status.is_forbidden(),
            format!("{} ({})", status.message, status.code),
        ),
        other => (false, other.to_string()),
    }
}

/// One scope's watcher, until the [`Discovery`] is dropped.
async fn watch_scope(api: Api<DynamicObject>, index: usize, pauses: Pauses, shared: Arc<Shared>) {
    let stream = watcher::watcher(api, watcher::Config::default()).backoff(pauses);
    let mut stream = pin!(stream);
    // The objects of a list in progress; they replace the scope's when it completes.
    let mut listing: Option<BTreeMap<AppKey, Entry>> = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(Event::Init) => listing = Some(BTreeMap::new()),
            Ok(Event::InitApply(object)) => {
                let (key, entry) = shared.read(&object);
                listing.get_or_insert_default().insert(key, entry);
            }
            Ok(Event::InitDone) => shared.replace(index, listing.take().unwrap_or_default()),
            Ok(Event::Apply(object)) => {
                let (key, entry) = shared.read(&object);
                shared.apply(index, key, entry);
            }
            Ok(Event::Delete(object)) => shared.delete(index, &key_of(&object)),
            // 410 Gone: the watcher lists again by itself; nothing is wrong.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => {
                tracing::debug!(
                    "resource version expired ({}); listing again",
                    status.message
                );
            }
            Err(error) => shared.failed(index, &error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_maximum_with_jitter_and_start_again_after_a_success() {
        let settings = RetryBackoff {
            first: Duration::from_millis(100),
            max: Duration::from_millis(700),
        };
        let mut pauses = Pauses {
            settings,
            next: settings.first,
        };
        // Without jitter: 100, 200, 400, 700, 700; jitter adds up to half, never past the maximum.
        for (attempt, base) in [100, 200, 400, 700, 700].into_iter().enumerate() {
            let pause = pauses.next().unwrap();
            let base = Duration::from_millis(base);
            assert!(
                pause >= base && pause <= (base + base / 2).min(settings.max),
                "attempt {attempt}: {pause:?} for {base:?}"
            );
        }
        pauses.reset();
        assert!(
            pauses.next().unwrap() <= Duration::from_millis(150),
            "reset"
        );
    }
}
