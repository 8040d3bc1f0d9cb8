//! The daemon's Prometheus metrics: one [`Metrics`] (a `prometheus-client` registry and its families), shared as
//! `Arc<Metrics>`, encoded in the OpenMetrics text format for `GET /metrics`.
//!
//! The daemon calls its methods where things happen (rounds, webhooks, refreshes, discovery). Two sources are
//! deep inside code that every command shares — the registry transport (each HTTP exchange) and the tag-list
//! cache (each lookup) — and threading a `Metrics` through the registry client, `Registries`, the resolver and
//! the pipeline would change dozens of signatures for a side effect. Those hooks read a process-global instead
//! ([`install`], [`global`]): the daemon installs its `Metrics` at start, and in the plugin commands nothing is
//! installed, so the hooks cost one atomic load. (`generate` installs a private one, only to count its own
//! resolutions for its line in the render log; it is never served.)
//!
//! The sidecar's `generate` processes live for one render and cannot be scraped: each appends one line to a log
//! in the shared cache directory, which the daemon folds into its counters when it is scraped ([`renders`]).

/// A label's values as an enum: `as_str` gives the kebab-case value, which is what the metric shows.
macro_rules! label_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &[$name] = &[$($name::$variant),*];

            /// The value as the metric shows it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl prometheus_client::encoding::EncodeLabelValue for $name {
            fn encode(
                &self,
                encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
            ) -> Result<(), std::fmt::Error> {
                prometheus_client::encoding::EncodeLabelValue::encode(&self.as_str(), encoder)
            }
        }
    };
}

pub mod renders;

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

pub use renders::{RenderLine, RenderLog, RenderOutcome};

/// The prefix of every metric name.
pub const PREFIX: &str = "argocd_image_resolver";

/// The content type of [`Metrics::encode`]'s text, for the HTTP answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

label_values! {
    /// How one image request of a render or a committer round was answered.
    pub enum ResolutionOutcome {
        /// The registry answered just now.
        Registry => "registry",
        /// The registry could not be asked; the last answer it gave was used.
        LastKnownGood => "last-known-good",
        /// A pinned tag checked against the registry (found or not).
        Pin => "pin",
        /// No answer at all.
        Failed => "failed",
    }
}

label_values! {
    /// Which process resolved: the daemon itself, or the sidecar's `generate` (folded from the render log).
    pub enum Resolver {
        Watch => "watch",
        Generate => "generate",
    }
}

label_values! {
    /// What a cache lookup was for.
    pub enum CacheKind {
        /// A repository's tag list (hit: a fresh stored list, or another call's fetch joined).
        Tags => "tags",
        /// The digest a tag names, or an image's build time (hit: no registry request for it).
        Digests => "digests",
        /// The tag last resolved, when the registry cannot answer (hit: one was kept, and is used).
        LastKnownGood => "last-known-good",
    }
}

label_values! {
    /// What a committer round did.
    pub enum CommitResult {
        /// A commit pushed.
        Committed => "committed",
        /// Nothing to change (or the review branch already held the change).
        Unchanged => "unchanged",
        Failed => "failed",
    }
}

label_values! {
    /// What became of one webhook request.
    pub enum WebhookResult {
        /// Authenticated and parsed; its events were queued.
        Accepted => "accepted",
        /// The secret or signature did not match (401).
        Unauthenticated => "unauthenticated",
        /// Authenticated, but not a payload of its source (400).
        Malformed => "malformed",
        /// Its body was larger than the limit (413).
        TooLarge => "too-large",
        /// Authenticated and parsed, but nothing to act on: no image push in it (a ping, a deletion, another kind
        /// of event).
        Ignored => "ignored",
        /// Valid, but the daemon's queue of events was full (503: the sender retries).
        QueueFull => "queue-full",
        /// No secret is configured for the source named in the path (404).
        UnknownSource => "unknown-source",
    }
}

label_values! {
    /// Why discovery left an Application out, or could not read a namespace.
    pub enum DiscoveryIssue {
        /// Its sources name another plugin, or none.
        OtherPlugin => "other-plugin",
        /// Its plugin source cannot be read (a bad path, parameters or keys).
        Malformed => "malformed",
        /// The service account may not list or watch Applications there (403).
        Forbidden => "forbidden",
        /// Listing or watching failed otherwise (retried).
        Watch => "watch",
    }
}

label_values! {
    /// What became of a change of the daemon's config file.
    pub enum ConfigResult {
        /// Read again: its applications replace those read before.
        Reloaded => "reloaded",
        /// Unreadable or invalid (logged with the key at fault): the applications read before stay.
        Invalid => "invalid",
    }
}

label_values! {
    /// What became of one hard refresh of an Application.
    pub enum RefreshResult {
        /// The refresh annotation was patched onto the Application.
        Requested => "requested",
        /// Not sent: a refresh of the same Application is already pending, or another replica sent it.
        Skipped => "skipped",
        Failed => "failed",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResolutionLabels {
    outcome: ResolutionOutcome,
    by: Resolver,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    registry: String,
    /// The HTTP status, or `error` when no answer came (connection failure, timeout, body too large).
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    kind: CacheKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommitLabels {
    result: CommitResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    source: String,
    result: WebhookResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConfigLabels {
    result: ConfigResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DiscoveryLabels {
    issue: DiscoveryIssue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    result: RefreshResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RenderLabels {
    outcome: RenderOutcome,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn request_buckets() -> Histogram {
    // 5 ms … 10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

fn render_buckets() -> Histogram {
    // 50 ms … 51 s: a render's budget is 40 s by default.
    Histogram::new(exponential_buckets(0.05, 2.0, 11))
}

/// The metrics of one process. Build one ([`Metrics::new`]), share it as `Arc<Metrics>`, and serve
/// [`Metrics::encode`].
pub struct Metrics {
    registry: Registry,
    resolutions: Family<ResolutionLabels, Counter>,
    registry_requests: Family<RequestLabels, Counter>,
    registry_latency: Histograms<RequestLabels>,
    cache: Family<CacheLabels, Counter>,
    cache_misses: Family<CacheLabels, Counter>,
    commits: Family<CommitLabels, Counter>,
    push_retries: Counter,
    webhooks: Family<WebhookLabels, Counter>,
    refreshes: Family<RefreshLabels, Counter>,
    discovery_problems: Family<DiscoveryLabels, Counter>,
    config_reloads: Family<ConfigLabels, Counter>,
    applications: Gauge,
    renders: Family<RenderLabels, Counter>,
    render_duration: Histograms<RenderLabels>,
    render_lines_skipped: Counter,
    /// The sidecar's render log, folded in before each encoding (the daemon's, when it shares the cache volume).
    render_log: Mutex<Option<RenderLog>>,
    /// Encodings so far (for logs and tests).
    scrapes: AtomicU64,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("scrapes", &self.scrapes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every family registered, the enumerated labels (outcomes, results) at zero so that dashboards and alerts
    /// see a series before its first event.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let metrics = Metrics {
            resolutions: Family::default(),
            registry_requests: Family::default(),
            registry_latency: Family::new_with_constructor(request_buckets),
            cache: Family::default(),
            cache_misses: Family::default(),
            commits: Family::default(),
            push_retries: Counter::default(),
            webhooks: Family::default(),
            refreshes: Family::default(),
            discovery_problems: Family::default(),
            config_reloads: Family::default(),
            applications: Gauge::default(),
            renders: Family::default(),
            render_duration: Family::new_with_constructor(render_buckets),
            render_lines_skipped: Counter::default(),
            render_log: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            registry: Registry::default(),
        };
        registry.register(
            "resolutions",
            "Image requests answered, by outcome and by the process that resolved (watch: the daemon; generate: \
             the sidecar's renders, from the render log)",
            metrics.resolutions.clone(),
        );
        registry.register(
            "registry_requests",
            "HTTP requests to registries and their token servers, by host and HTTP status (error: no answer)",
            metrics.registry_requests.clone(),
        );
        registry.register_with_unit(
            "registry_request_duration",
            "Time of one HTTP exchange with a registry, body read included",
            Unit::Seconds,
            metrics.registry_latency.clone(),
        );
        registry.register(
            "cache_hits",
            "Cache lookups answered by the cache, by kind",
            metrics.cache.clone(),
        );
        registry.register(
            "cache_misses",
            "Cache lookups that had to ask the registry, by kind",
            metrics.cache_misses.clone(),
        );
        registry.register(
            "commits",
            "Committer rounds, by result",
            metrics.commits.clone(),
        );
        registry.register(
            "push_retries",
            "Pushes refused (someone pushed first, or the review branch moved) and tried again on the new tip",
            metrics.push_retries.clone(),
        );
        registry.register(
            "webhook_events",
            "Webhook requests, by source and result",
            metrics.webhooks.clone(),
        );
        registry.register(
            "refreshes",
            "Hard refreshes of Applications, by result",
            metrics.refreshes.clone(),
        );
        registry.register(
            "discovery_problems",
            "Applications discovery left out, and namespaces it could not read, by kind",
            metrics.discovery_problems.clone(),
        );
        registry.register(
            "config_reloads",
            "Changes of the config file read again, by result",
            metrics.config_reloads.clone(),
        );
        registry.register(
            "applications",
            "Applications the daemon tracks now",
            metrics.applications.clone(),
        );
        registry.register(
            "renders",
            "The sidecar's generate runs, by outcome (from the render log in the shared cache directory)",
            metrics.renders.clone(),
        );
        registry.register_with_unit(
            "render_duration",
            "Time of one generate run, by outcome (from the render log)",
            Unit::Seconds,
            metrics.render_duration.clone(),
        );
        registry.register(
            "render_log_lines_skipped",
            "Lines of the render log that could not be read (written by another version, or cut)",
            metrics.render_lines_skipped.clone(),
        );
        for &outcome in ResolutionOutcome::ALL {
            drop(metrics.resolutions.get_or_create(&ResolutionLabels {
                outcome,
                by: Resolver::Watch,
            }));
        }
        for &result in CommitResult::ALL {
            drop(metrics.commits.get_or_create(&CommitLabels { result }));
        }
        for &result in RefreshResult::ALL {
            drop(metrics.refreshes.get_or_create(&RefreshLabels { result }));
        }
        for &issue in DiscoveryIssue::ALL {
            drop(
                metrics
                    .discovery_problems
                    .get_or_create(&DiscoveryLabels { issue }),
            );
        }
        for &result in ConfigResult::ALL {
            drop(
                metrics
                    .config_reloads
                    .get_or_create(&ConfigLabels { result }),
            );
        }
        for &kind in CacheKind::ALL {
            drop(metrics.cache.get_or_create(&CacheLabels { kind }));
            drop(metrics.cache_misses.get_or_create(&CacheLabels { kind }));
        }
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Folds the render log of `cache_dir` (`<cache-dir>/metrics/renders.log`, which `generate` appends to) into
    /// the render counters at each [`Metrics::encode`]. Renders logged before this call are not counted: like
    /// every counter here, the render counters start at zero with the process.
    #[must_use]
    pub fn with_render_log(self, cache_dir: &Path) -> Metrics {
        *self
            .render_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(RenderLog::open(cache_dir));
        self
    }

    /// One image request answered (or not).
    pub fn resolution(&self, outcome: ResolutionOutcome) {
        self.resolutions
            .get_or_create(&ResolutionLabels {
                outcome,
                by: Resolver::Watch,
            })
            .inc();
    }

    /// The image requests this process answered with `outcome` so far.
    pub fn resolutions(&self, outcome: ResolutionOutcome) -> u64 {
        self.resolutions
            .get(&ResolutionLabels {
                outcome,
                by: Resolver::Watch,
            })
            .map_or(0, |c| c.get())
    }

    /// One HTTP exchange with `registry` (the host, and port when not the scheme's), answered with `status`
    /// (`None`: no answer came) after `elapsed`.
    pub fn registry_request(&self, registry: &str, status: Option<u16>, elapsed: Duration) {
        let labels = RequestLabels {
            registry: registry.to_owned(),
            status: status.map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        self.registry_requests.get_or_create(&labels).inc();
        self.registry_latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// `hits` and `misses` cache lookups of `kind`.
    pub fn cache_lookups(&self, kind: CacheKind, hits: u64, misses: u64) {
        let labels = CacheLabels { kind };
        self.cache.get_or_create(&labels).inc_by(hits);
        self.cache_misses.get_or_create(&labels).inc_by(misses);
    }

    /// One committer round's result.
    pub fn commit(&self, result: CommitResult) {
        self.commits.get_or_create(&CommitLabels { result }).inc();
    }

    /// `count` refused pushes tried again.
    pub fn push_retries(&self, count: u64) {
        self.push_retries.inc_by(count);
    }

    /// A committer round as [`crate::commit::Committer::round`] returned it: its result, and its refused
    /// pushes (a round's attempts past the first).
    pub fn round<E>(&self, round: &Result<crate::commit::Report, E>) {
        match round {
            // Images left unresolved: the round did not do all it should.
            Ok(report) if !report.unresolved.is_empty() => self.commit(CommitResult::Failed),
            Ok(report) => {
                self.commit(match report.outcome {
                    crate::commit::Outcome::Committed { .. } => CommitResult::Committed,
                    crate::commit::Outcome::Unchanged
                    | crate::commit::Outcome::UpToDate { .. }
                    | crate::commit::Outcome::ReviewEdited { .. }
                    | crate::commit::Outcome::ReviewClosed { .. } => CommitResult::Unchanged,
                });
                self.push_retries(u64::from(report.attempts.saturating_sub(1)));
            }
            Err(_) => self.commit(CommitResult::Failed),
        }
    }

    /// One webhook request from `source` (its path segment, such as `distribution` or `github`).
    pub fn webhook(&self, source: &str, result: WebhookResult) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                source: source.to_owned(),
                result,
            })
            .inc();
    }

    /// The webhook requests from `source` with `result` so far.
    pub fn webhooks(&self, source: &str, result: WebhookResult) -> u64 {
        self.webhooks
            .get(&WebhookLabels {
                source: source.to_owned(),
                result,
            })
            .map_or(0, |c| c.get())
    }

    /// One hard refresh of an Application.
    pub fn refresh(&self, result: RefreshResult) {
        self.refreshes
            .get_or_create(&RefreshLabels { result })
            .inc();
    }

    /// One problem of Application discovery (reported once each, until it changes).
    pub fn discovery_problem(&self, problem: &crate::argo_api::DiscoveryProblem) {
        use crate::argo_api::DiscoveryProblem as P;
        let issue = match problem {
            P::Skipped(error) if error.problem.is_malformed() => DiscoveryIssue::Malformed,
            P::Skipped(_) => DiscoveryIssue::OtherPlugin,
            P::Watch {
                forbidden: true, ..
            } => DiscoveryIssue::Forbidden,
            P::Watch { .. } => DiscoveryIssue::Watch,
        };
        self.discovery_problems
            .get_or_create(&DiscoveryLabels { issue })
            .inc();
    }

    /// One change of the config file, read again or refused.
    pub fn config_reload(&self, result: ConfigResult) {
        self.config_reloads
            .get_or_create(&ConfigLabels { result })
            .inc();
    }

    /// The number of applications tracked now (discovered in the cluster and named in the config file).
    pub fn set_applications(&self, count: usize) {
        self.applications
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// One `generate` run, as its line in the render log says.
    pub fn render(&self, line: &RenderLine) {
        let labels = RenderLabels {
            outcome: line.outcome,
        };
        self.renders.get_or_create(&labels).inc();
        self.render_duration
            .get_or_create(&labels)
            .observe(Duration::from_millis(line.ms).as_secs_f64());
        for (outcome, count) in [
            (ResolutionOutcome::Registry, line.registry),
            (ResolutionOutcome::LastKnownGood, line.last_known_good),
            (ResolutionOutcome::Pin, line.pin),
            (ResolutionOutcome::Failed, line.failed),
        ] {
            if count > 0 {
                self.resolutions
                    .get_or_create(&ResolutionLabels {
                        outcome,
                        by: Resolver::Generate,
                    })
                    .inc_by(u64::from(count));
            }
        }
    }

    /// Reads what the render log gained since the last call into the render counters (nothing without a log).
    /// Blocking file I/O: small reads of a local file.
    pub fn fold_render_log(&self) {
        let mut log = self
            .render_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(log) = log.as_mut() else {
            return;
        };
        let read = log.read_new();
        for line in &read.lines {
            self.render(line);
        }
        self.render_lines_skipped.inc_by(read.skipped);
    }

    /// Every metric in the OpenMetrics text format (ending in `# EOF`), the render log folded in first.
    pub fn encode(&self) -> String {
        self.fold_render_log();
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

static GLOBAL: OnceLock<Arc<Metrics>> = OnceLock::new();

/// Makes `metrics` the process's, for the hooks deep in shared code (the registry transport, the cache). Once per
/// process: `false` (and `metrics` not installed) when one already is.
pub fn install(metrics: Arc<Metrics>) -> bool {
    GLOBAL.set(metrics).is_ok()
}

/// The process's metrics, when [`install`]ed (in `watch`; not in the plugin commands).
pub fn global() -> Option<&'static Arc<Metrics>> {
    GLOBAL.get()
}

/// Counts `count` cache lookups of `kind` in the process's metrics, when it keeps some (the daemon).
pub fn count_cache_lookups(kind: CacheKind, hits: u64, misses: u64) {
    if let Some(metrics) = global() {
        metrics.cache_lookups(kind, hits, misses);
    }
}

#[cfg(test)]
mod tests;
