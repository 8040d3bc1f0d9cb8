//! The daemon's loop: notice new images and act on them.
//!
//! Each application has one action: the committer's round (lock file or source write-back), or — for a
//! render-time application — a probe of what `generate` would render now, and a hard refresh of the Application
//! when that changed. A first pass runs every application's action and learns the repositories each one resolves.
//! Then, each interval, every distinct repository's tag list is fetched once however many applications share it
//! (through the shared cache: the renders that follow read the same list), and only the applications of a
//! repository whose list changed act again. A webhook event does the same at once for its repository, fetching
//! the list afresh — also between two actions of a pass, so that a push does not wait behind a long pass. Every
//! `resync`, every application acts again, to learn images added in git. The config file is read again when it
//! changes: its applications replace those read before, and a file that no longer reads changes nothing.

pub mod cluster;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::argo::ArgoRequest;
use crate::commit::{AppSpec, Committer, Outcome, Report, Watched};
use crate::metrics::{ConfigResult, Metrics, RefreshResult};
use crate::webhook::ImageEvent;

/// How many tag lists a poll fetches at once.
const POLL_CONCURRENCY: usize = 16;

/// Asks Argo CD to render an Application again (a hard refresh), for render-time applications.
pub trait Refresh: Send + Sync {
    /// `Ok(true)` when asked, `Ok(false)` when a hard refresh was pending already.
    fn hard_refresh<'a>(
        &'a self,
        app: &'a AppSpec,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>>;
}

/// Reads a config file's applications, each with its action, or says what is wrong with it (naming the key).
pub type ReadConfig = Box<dyn Fn(&std::path::Path) -> Result<Vec<Tracked>, String> + Send + Sync>;

/// The config file, read again when its contents change (a ConfigMap's mount is swapped in place).
pub struct ConfigFile {
    pub path: PathBuf,
    pub read: ReadConfig,
}

/// What an application does when its images may have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The committer's round: its lock file or source.
    Commit,
    /// Render-time: probe what `generate` renders, hard-refresh the Application when it changed.
    Refresh,
}

/// One application the daemon looks after.
#[derive(Clone, Debug)]
pub struct Tracked {
    pub spec: AppSpec,
    pub action: Action,
}

/// What the daemon is told from outside while it runs.
pub struct Inputs {
    /// Registry webhook events.
    pub events: mpsc::Receiver<ImageEvent>,
    /// Set to stop: the action in progress finishes, no other starts.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

/// The loop's settings.
pub struct Daemon {
    pub committer: Committer,
    /// The config file's applications.
    pub apps: Vec<Tracked>,
    /// Where they were read from, to read them again when it changes.
    pub config: Option<ConfigFile>,
    /// Applications found in the cluster, when discovery is on.
    pub discovered: Option<Arc<dyn Applications>>,
    pub interval: Duration,
    pub resync: Duration,
    pub round_timeout: Duration,
    pub refresher: Option<Arc<dyn Refresh>>,
    pub metrics: Arc<Metrics>,
    /// Set once the loop runs: `/readyz` answers 200 from then on.
    pub ready: Arc<AtomicBool>,
    /// Called with each round's report (the CLI prints it).
    pub on_report: Box<dyn Fn(&Report) + Send + Sync>,
}

/// What woke the loop.
enum Wake {
    Poll,
    Event(ImageEvent),
    Applications,
}

/// What the loop remembers between passes.
#[derive(Default)]
struct State {
    /// Per application (by [`app_id`]): the repositories it resolved last time.
    watched: HashMap<String, Vec<Watched>>,
    /// Per render-time application: what its probe saw last time.
    probed: HashMap<String, Vec<String>>,
    /// Per repository: the fingerprint of its tag list last time.
    lists: HashMap<Watched, u64>,
    /// The config file's applications now.
    configured: Vec<Tracked>,
    /// The fingerprint of the config file's contents last read (or refused).
    config_contents: Option<u64>,
    /// Render-time applications whose refresh is to be asked again, by [`app_id`].
    refresh_again: HashMap<String, AppSpec>,
}

/// Where the applications come from besides the config file: Argo CD's Applications naming the plugin.
pub trait Applications: Send + Sync {
    /// The applications found now, each with its action.
    fn current(&self) -> Vec<Tracked>;
    /// Wakes when the set may have changed.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// An application's identity across passes: its name, repository and path, and a fingerprint of the rest of its
/// settings — an application whose policy, parameters or branch change is a new one, which acts at once rather
/// than at the next resync. (Its `Debug` form holds only vectors, ordered maps and options: stable.)
fn app_id(app: &AppSpec) -> String {
    format!(
        "{}\u{0}{}\u{0}{}\u{0}{:016x}",
        app.request.app_name.as_deref().unwrap_or_default(),
        app.request.repo_url.as_deref().unwrap_or_default(),
        app.request.source_path.as_deref().unwrap_or_default(),
        fingerprint_of(&format!("{app:?}"))
    )
}

/// A 64-bit fingerprint of `value`, to tell within one process whether something changed.
fn fingerprint_of(value: &impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// What an application does: the committer's round when its `write-back-method` is `git`, or when it sets none
/// and `default` says so (the config file's applications); a refresh when it says `argocd`, or sets none and
/// `default` says so (Applications found in the cluster: render-time unless they ask for git).
pub fn action_of(app: &AppSpec, default: Action) -> Action {
    let context = crate::generate::AppContext::for_request(&app.request);
    let Ok(planner) = crate::generate::Planner::new(&context) else {
        // Invalid keys: the committer's round says which, each time.
        return Action::Commit;
    };
    let write_back = planner.write_back();
    let explicit = write_back
        .origins
        .iter()
        .any(|origin| origin.key == "write-back-method");
    match (&write_back.method, explicit) {
        (crate::writeback::Method::Git(_), _) => Action::Commit,
        (crate::writeback::Method::RenderTime, true) => Action::Refresh,
        (crate::writeback::Method::RenderTime, false) => default,
    }
}

impl Daemon {
    /// Runs until `inputs.stop` is set.
    pub async fn run(&self, mut inputs: Inputs) {
        let mut state = State {
            configured: self.apps.clone(),
            config_contents: self.config.as_ref().and_then(|c| contents_of(&c.path)),
            ..State::default()
        };
        let mut changes = self.discovered.as_ref().map(|d| d.changes());
        let mut apps = self.current(&state);
        let mut last_resync = Instant::now();
        // Ready as soon as it runs: in the repo-server pod, a daemon not ready would take repo-server out of its
        // Service for the whole first pass.
        self.ready.store(true, Ordering::Relaxed);
        self.act(apps.clone(), &apps, &mut state, &mut inputs).await;
        let mut next_poll = Instant::now();
        let (dirty, _) = self
            .periodic_poll(&apps, &mut state, &mut inputs, &mut next_poll)
            .await;
        self.act(dirty, &apps, &mut state, &mut inputs).await;
        loop {
            if *inputs.stop.borrow() {
                break;
            }
            let wake = tokio::select! {
                () = tokio::time::sleep_until(next_poll) => Wake::Poll,
                // A closed channel (the server stopped, as it does on SIGTERM) disables this branch rather than
                // ending the loop here: the stop branch does that.
                Some(event) = inputs.events.recv() => Wake::Event(event),
                Some(()) = async {
                    match changes.as_mut() {
                        Some(changes) => changes.changed().await.ok(),
                        None => std::future::pending().await,
                    }
                } => Wake::Applications,
                _ = inputs.stop.wait_for(|stop| *stop) => break,
            };
            let dirty: Vec<Tracked> = match wake {
                Wake::Poll => {
                    let mut added = Vec::new();
                    if self.reload_config(&mut state) {
                        added = self.update_apps(&mut apps, &mut state);
                    }
                    let (mut dirty, complete) = self
                        .periodic_poll(&apps, &mut state, &mut inputs, &mut next_poll)
                        .await;
                    self.retry_refreshes(&mut state).await;
                    if complete && last_resync.elapsed() >= self.resync {
                        // After the poll, so that the resync's rounds are not followed by a needless pass.
                        last_resync = Instant::now();
                        apps.clone()
                    } else {
                        dirty.extend(added);
                        dirty
                    }
                }
                Wake::Event(event) => {
                    self.poll_events(vec![event], &apps, &mut state, &mut inputs)
                        .await
                }
                // Applications found or gone: the new ones act now, to learn their repositories.
                Wake::Applications => self.update_apps(&mut apps, &mut state),
            };
            self.act(dirty, &apps, &mut state, &mut inputs).await;
        }
    }

    /// Takes the applications known now into `apps`, forgets those gone, and returns the new ones (which act
    /// next, to learn their repositories).
    fn update_apps(&self, apps: &mut Vec<Tracked>, state: &mut State) -> Vec<Tracked> {
        *apps = self.current(state);
        let known: HashSet<String> = state.watched.keys().cloned().collect();
        let ids: HashSet<String> = apps.iter().map(|a| app_id(&a.spec)).collect();
        state.watched.retain(|id, _| ids.contains(id));
        state.probed.retain(|id, _| ids.contains(id));
        state.refresh_again.retain(|id, _| ids.contains(id));
        let watched: HashSet<&Watched> = state.watched.values().flatten().collect();
        state
            .lists
            .retain(|repository, _| watched.contains(repository));
        self.metrics.set_applications(apps.len());
        apps.iter()
            .filter(|a| !known.contains(&app_id(&a.spec)))
            .cloned()
            .collect()
    }

    /// Reads the config file again when its contents changed; whether its applications were replaced. A file
    /// that no longer reads is logged and counted once per change, and the applications read before stay.
    fn reload_config(&self, state: &mut State) -> bool {
        let Some(config) = &self.config else {
            return false;
        };
        let contents = contents_of(&config.path);
        if contents == state.config_contents {
            return false;
        }
        state.config_contents = contents;
        match (config.read)(&config.path) {
            Ok(apps) => {
                tracing::info!(
                    path = %config.path.display(),
                    applications = apps.len(),
                    "config file read again: its applications replace those before (its git settings and \
                     interval apply from the next start)"
                );
                self.metrics.config_reload(ConfigResult::Reloaded);
                state.configured = apps;
                true
            }
            Err(error) => {
                tracing::error!(
                    "{error}; the {} applications read before stay watched until it is fixed",
                    state.configured.len()
                );
                self.metrics.config_reload(ConfigResult::Invalid);
                false
            }
        }
    }

    /// The config file's applications, then those found in the cluster (one entry per identity).
    fn current(&self, state: &State) -> Vec<Tracked> {
        let mut apps = state.configured.clone();
        if let Some(discovered) = &self.discovered {
            let mut seen: HashSet<String> = apps.iter().map(|a| app_id(&a.spec)).collect();
            apps.extend(
                discovered
                    .current()
                    .into_iter()
                    .filter(|a| seen.insert(app_id(&a.spec))),
            );
        }
        apps
    }

    /// The interval's poll of every watched repository, which a webhook event interrupts: the event's
    /// repositories are fetched at once, and the poll starts again right after (the lists it fetched before are
    /// still fresh in the cache, so it asks only for the others). Returns the applications to act on, and whether
    /// the poll went through every repository.
    async fn periodic_poll(
        &self,
        apps: &[Tracked],
        state: &mut State,
        inputs: &mut Inputs,
        next_poll: &mut Instant,
    ) -> (Vec<Tracked>, bool) {
        let (mut dirty, arrived) = self.poll(apps, state, &[], Some(&mut inputs.events)).await;
        if arrived.is_empty() {
            *next_poll = Instant::now() + self.interval;
            return (dirty, true);
        }
        dirty.extend(self.poll_events(arrived, apps, state, inputs).await);
        *next_poll = Instant::now();
        (dirty, false)
    }

    /// Fetches afresh the repositories `events` name, with those of the events queued behind them (a multi-arch
    /// push sends one per manifest), each repository once; returns the applications of those that changed.
    async fn poll_events(
        &self,
        mut events: Vec<ImageEvent>,
        apps: &[Tracked],
        state: &mut State,
        inputs: &mut Inputs,
    ) -> Vec<Tracked> {
        while let Ok(event) = inputs.events.try_recv() {
            events.push(event);
        }
        for event in &events {
            log_event(event);
        }
        self.poll(apps, state, &events, None).await.0
    }

    /// Fetches the tag list of each watched repository — those `events` name, afresh, when there are some — and
    /// returns the applications of those whose list changed since last time. `interrupt`: a webhook event
    /// arriving there stops the poll (fetches in flight are dropped) and is returned.
    async fn poll(
        &self,
        apps: &[Tracked],
        state: &mut State,
        events: &[ImageEvent],
        interrupt: Option<&mut mpsc::Receiver<ImageEvent>>,
    ) -> (Vec<Tracked>, Vec<ImageEvent>) {
        let mut repositories: Vec<Watched> = Vec::new();
        for watched in state.watched.values().flatten() {
            if !repositories.contains(watched)
                && (events.is_empty()
                    || events
                        .iter()
                        .any(|e| names(e, &watched.image, self.api_host(watched).as_deref())))
            {
                repositories.push(watched.clone());
            }
        }
        let max_age = if events.is_empty() {
            // A list fetched within this interval (by a render, or the last poll) is this interval's.
            self.interval.saturating_sub(Duration::from_millis(500))
        } else {
            Duration::ZERO
        };
        // Several at once (each registry's own concurrency and rate limits still apply in its client): one after
        // another, 200 repositories took two 5 s intervals (benches/watch-load).
        use futures::StreamExt as _;
        let mut stream = futures::stream::iter(repositories)
            .map(|watched| async move {
                let fingerprint = self.fingerprint(&watched, max_age).await;
                (watched, fingerprint)
            })
            .buffer_unordered(POLL_CONCURRENCY);
        let mut fetched: Vec<(Watched, Option<u64>)> = Vec::new();
        let mut arrived = Vec::new();
        match interrupt {
            Some(events) => loop {
                tokio::select! {
                    biased;
                    Some(event) = events.recv() => {
                        arrived.push(event);
                        break;
                    }
                    next = stream.next() => match next {
                        Some(done) => fetched.push(done),
                        None => break,
                    },
                }
            },
            None => {
                while let Some(done) = stream.next().await {
                    fetched.push(done);
                }
            }
        }
        drop(stream);
        let mut changed = HashSet::new();
        for (watched, fingerprint) in fetched {
            let Some(fingerprint) = fingerprint else {
                continue;
            };
            match state.lists.insert(watched.clone(), fingerprint) {
                Some(before) if before == fingerprint => {}
                // First sight: the applications acted when they learnt the repository.
                None if events.is_empty() => {}
                _ => {
                    changed.insert(watched);
                }
            }
        }
        let dirty: Vec<Tracked> = apps
            .iter()
            .filter(|app| {
                state
                    .watched
                    .get(&app_id(&app.spec))
                    .is_some_and(|watched| watched.iter().any(|w| changed.contains(w)))
            })
            .cloned()
            .collect();
        tracing::info!(
            repositories = state.lists.len(),
            changed = changed.len(),
            applications = dirty.len(),
            interrupted = !arrived.is_empty(),
            "polled"
        );
        (dirty, arrived)
    }

    /// The registries `watched` is asked through: those of its application's destination namespace.
    fn registries_of(&self, watched: &Watched) -> Result<Arc<crate::registry::Registries>, String> {
        let request = ArgoRequest {
            namespace: watched.namespace.clone(),
            ..ArgoRequest::default()
        };
        (self.committer.registries)(&request)
    }

    /// The host the registry of `watched` is reached at (registries.conf's `api_url`), which a webhook may name
    /// instead of the image's registry.
    fn api_host(&self, watched: &Watched) -> Option<String> {
        let registries = self.registries_of(watched).ok()?;
        let endpoint = registries
            .conf()
            .endpoint(watched.image.registry(), watched.image.repository())
            .ok()?;
        let host = endpoint.api_url.host_str()?;
        Some(match endpoint.api_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    }

    /// The fingerprint of `watched`'s tag list, or `None` (logged) when its registry gave none.
    async fn fingerprint(&self, watched: &Watched, max_age: Duration) -> Option<u64> {
        let registries = match self.registries_of(watched) {
            Ok(registries) => registries,
            Err(e) => {
                tracing::warn!(repository = %watched.image, "cannot poll: {e}");
                return None;
            }
        };
        let cache = self.committer.cache.as_ref()?;
        let listed = async {
            let client = registries
                .client_for(&watched.image, watched.pull_secret.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            crate::resolver::poll_tags(&client, &watched.image, cache, max_age)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.round_timeout, listed).await {
            Ok(Ok(mut tags)) => {
                tags.sort();
                Some(fingerprint_of(&tags))
            }
            Ok(Err(e)) => {
                tracing::warn!(repository = %watched.image, "cannot poll: {e}");
                None
            }
            Err(_) => {
                tracing::warn!(repository = %watched.image, "cannot poll: out of time");
                None
            }
        }
    }

    /// Runs the action of each application of `queue`, one after the other, until told to stop. Webhook events
    /// that arrive meanwhile are looked at between two actions, and the applications they concern go first.
    async fn act(
        &self,
        queue: Vec<Tracked>,
        apps: &[Tracked],
        state: &mut State,
        inputs: &mut Inputs,
    ) {
        let mut queue = VecDeque::from(queue);
        loop {
            if *inputs.stop.borrow() {
                return;
            }
            if let Ok(event) = inputs.events.try_recv() {
                let urgent = self.poll_events(vec![event], apps, state, inputs).await;
                put_first(&mut queue, urgent);
            }
            let Some(app) = queue.pop_front() else {
                return;
            };
            let app = &app;
            let id = app_id(&app.spec);
            let deadline = Instant::now() + self.round_timeout;
            match app.action {
                Action::Commit => {
                    let round = self.committer.round(&app.spec, deadline).await;
                    self.metrics.round(&round);
                    match round {
                        Ok(report) => {
                            self.learn(state, id, report.watched.clone()).await;
                            if let Outcome::Committed { commit } = &report.outcome {
                                tracing::info!(app = app.spec.name(), %commit, "committed");
                            }
                            (self.on_report)(&report);
                        }
                        Err(error) => tracing::error!("{}{error}", app.spec.request.prefix()),
                    }
                }
                Action::Refresh => match self.committer.probe(&app.spec, deadline).await {
                    Ok(probe) => {
                        self.learn(state, id.clone(), probe.watched).await;
                        let before = state.probed.insert(id.clone(), probe.images.clone());
                        if before.is_some_and(|before| before != probe.images) {
                            if self.refresh(&app.spec).await {
                                state.refresh_again.remove(&id);
                            } else {
                                state.refresh_again.insert(id, app.spec.clone());
                            }
                        }
                    }
                    Err(error) => tracing::error!("{}{error}", app.spec.request.prefix()),
                },
            }
        }
    }

    /// Records the repositories an application's action resolved. A repository seen for the first time gets the
    /// list that action used (from the cache, where it just put it) as its baseline, so that a tag pushed between
    /// the action and the first poll counts as a change.
    async fn learn(&self, state: &mut State, id: String, watched: Vec<Watched>) {
        for repository in &watched {
            if !state.lists.contains_key(repository)
                && let Some(fingerprint) = self.fingerprint(repository, Duration::MAX).await
            {
                state.lists.insert(repository.clone(), fingerprint);
            }
        }
        state.watched.insert(id, watched);
    }

    /// Asks for the refreshes that failed or found one pending at the last try: a refresh Argo CD was already
    /// running may have rendered before the new list was stored.
    async fn retry_refreshes(&self, state: &mut State) {
        let waiting: Vec<(String, AppSpec)> = state.refresh_again.drain().collect();
        for (id, app) in waiting {
            if !self.refresh(&app).await {
                state.refresh_again.insert(id, app);
            }
        }
    }

    /// Asks Argo CD for a hard refresh of `app`; whether that is done (asked, or there is no way to ask). Not done:
    /// the request failed, or one was pending already — ask again at the next poll.
    async fn refresh(&self, app: &AppSpec) -> bool {
        let Some(refresher) = &self.refresher else {
            tracing::warn!(
                app = app.name(),
                "a newer image is allowed, but there is no Kubernetes access to refresh the Application; it moves at \
                 Argo CD's next hard reconciliation"
            );
            return true;
        };
        match refresher.hard_refresh(app).await {
            Ok(true) => {
                self.metrics.refresh(RefreshResult::Requested);
                tracing::info!(app = app.name(), "hard refresh asked");
                true
            }
            Ok(false) => {
                self.metrics.refresh(RefreshResult::Skipped);
                false
            }
            Err(e) => {
                self.metrics.refresh(RefreshResult::Failed);
                tracing::error!(
                    "{}cannot refresh: {e}; trying again at the next poll",
                    app.request.prefix()
                );
                false
            }
        }
    }
}

/// Moves `urgent` to the front of `queue`, in its order, each application once.
fn put_first(queue: &mut VecDeque<Tracked>, urgent: Vec<Tracked>) {
    let ids: HashSet<String> = urgent.iter().map(|a| app_id(&a.spec)).collect();
    queue.retain(|a| !ids.contains(&app_id(&a.spec)));
    for app in urgent.into_iter().rev() {
        queue.push_front(app);
    }
}

fn log_event(event: &ImageEvent) {
    tracing::info!(
        registry = event.registry.as_deref().unwrap_or("-"),
        repository = %event.repository,
        tag = event.tag.as_deref().unwrap_or("-"),
        "webhook: looking now"
    );
}

/// A fingerprint of the file's contents, `None` when it cannot be read.
fn contents_of(path: &std::path::Path) -> Option<u64> {
    std::fs::read(path)
        .ok()
        .map(|contents| fingerprint_of(&contents))
}

/// Whether webhook `event` is about `image`'s repository: its path, and its registry (or `api_host`, where
/// registries.conf sends its requests) when the sender names one.
fn names(event: &ImageEvent, image: &crate::image::ImageRef, api_host: Option<&str>) -> bool {
    let repository = event.repository.trim_matches('/');
    let path_matches = image.repository() == repository
        || image
            .repository()
            .strip_prefix("library/")
            .is_some_and(|r| r == repository);
    let registry_matches = event.registry.as_deref().is_none_or(|registry| {
        let registry = registry.trim_end_matches('/');
        // Docker Hub's other names as the image module knows them, and its web host, which senders may name.
        let registry = match registry {
            "registry.hub.docker.com" => "docker.io",
            other => crate::image::normalise_registry(other),
        };
        image.registry() == registry || api_host == Some(registry)
    });
    path_matches && registry_matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRef;

    fn event(registry: Option<&str>, repository: &str) -> ImageEvent {
        ImageEvent {
            registry: registry.map(str::to_owned),
            repository: repository.to_owned(),
            tag: Some("1.0".to_owned()),
            digest: None,
        }
    }

    fn tracked(name: &str) -> Tracked {
        Tracked {
            spec: AppSpec {
                request: ArgoRequest {
                    app_name: Some(name.to_owned()),
                    ..ArgoRequest::default()
                },
                branch: "main".to_owned(),
                review: None,
            },
            action: Action::Commit,
        }
    }

    #[test]
    fn an_application_whose_settings_change_is_a_new_one() {
        let web = tracked("web").spec;
        let mut changed = web.clone();
        changed
            .request
            .parameters
            .push(crate::policy::source::Parameter {
                name: "image-list".to_owned(),
                string: Some("web=ghcr.io/acme/web:~2".to_owned()),
                ..Default::default()
            });
        let mut branch = web.clone();
        branch.branch = "release".to_owned();
        assert_eq!(app_id(&web), app_id(&web.clone()), "stable");
        assert_ne!(app_id(&web), app_id(&changed), "parameters");
        assert_ne!(app_id(&web), app_id(&branch), "branch");
        assert_ne!(app_id(&web), app_id(&tracked("api").spec), "name");
    }

    #[test]
    fn applications_a_webhook_concerns_go_first_once() {
        for (what, queue, urgent, want) in [
            ("an empty pass", vec![], vec!["b"], vec!["b"]),
            (
                "ahead of the rest",
                vec!["a", "b"],
                vec!["c"],
                vec!["c", "a", "b"],
            ),
            (
                "moved, not repeated",
                vec!["a", "b", "c"],
                vec!["c", "a"],
                vec!["c", "a", "b"],
            ),
            ("nothing urgent", vec!["a"], vec![], vec!["a"]),
        ] {
            let mut queue: VecDeque<Tracked> = queue.into_iter().map(tracked).collect();
            put_first(&mut queue, urgent.into_iter().map(tracked).collect());
            let names: Vec<&str> = queue.iter().map(|a| a.spec.name()).collect();
            assert_eq!(names, want, "{what}");
        }
    }

    #[test]
    fn a_webhook_names_a_repository_by_its_registry_or_where_it_is_reached() {
        let ghcr = ImageRef::parse("ghcr.io/acme/web").unwrap();
        let hub = ImageRef::parse("nginx").unwrap();
        let mapped = ImageRef::parse("apps.test/shop/web").unwrap();
        for (what, event, image, api_host, want) in [
            (
                "same registry and path",
                event(Some("ghcr.io"), "acme/web"),
                &ghcr,
                None,
                true,
            ),
            (
                "no registry named",
                event(None, "acme/web"),
                &ghcr,
                None,
                true,
            ),
            (
                "another path",
                event(Some("ghcr.io"), "acme/api"),
                &ghcr,
                None,
                false,
            ),
            (
                "another registry",
                event(Some("quay.io"), "acme/web"),
                &ghcr,
                None,
                false,
            ),
            (
                "Docker Hub's own names",
                event(Some("index.docker.io"), "nginx"),
                &hub,
                None,
                true,
            ),
            (
                "Docker Hub's library path",
                event(Some("registry-1.docker.io"), "library/nginx"),
                &hub,
                None,
                true,
            ),
            (
                "registries.conf's api_url host",
                event(Some("127.0.0.1:5000"), "shop/web"),
                &mapped,
                Some("127.0.0.1:5000"),
                true,
            ),
            (
                "another host",
                event(Some("127.0.0.1:5001"), "shop/web"),
                &mapped,
                Some("127.0.0.1:5000"),
                false,
            ),
        ] {
            assert_eq!(names(&event, image, api_host), want, "{what}");
        }
    }
}
