//! `watch`: the daemon. Every application of its config file (lock file or source write-back: the committer's
//! round; `write-back-method: argocd`: a probe, and a hard refresh of the Application when what it renders
//! changes) acts once, then again whenever one of its repositories' tag lists changes — polled once per interval
//! per repository — and every `--resync`. Until SIGTERM or SIGINT: the action in progress finishes first, so no
//! commit is cut short; no other starts. A failing action is logged and tried again at the next change.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;

use super::commit::{CommitArgs, config_apps, read_config, setup, text};
use super::{Failure, GlobalArgs, OutputFormat};
use crate::argo_api::{self, Discovery, DiscoveryOptions, Matching};
use crate::metrics::{self, ConfigResult, Metrics};
use crate::server::{self, ServerState};
use crate::watch::cluster::Cluster;
use crate::watch::{Action, ConfigFile, Daemon, Inputs, Tracked, action_of};
use crate::webhook::{Source, WebhookSecret};

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub commit: CommitArgs,
    /// Time between two polls of every watched repository, such as 30s or 5m (default: the config file's
    /// interval, else 2m). One tag-list request per repository per interval, however many applications share it.
    #[arg(long, env = "IMAGE_RESOLVER_INTERVAL", value_parser = super::parse_ttl, value_name = "DURATION")]
    pub interval: Option<Duration>,
    /// Time between two rounds of every application whatever the registries say: how soon images added in git
    /// are watched.
    #[arg(long, env = "IMAGE_RESOLVER_RESYNC", default_value = "10m", value_parser = super::parse_ttl, value_name = "DURATION")]
    pub resync: Duration,
    /// Where to serve /healthz, /readyz, /metrics and the registry webhooks (POST /webhook/<source>).
    #[arg(
        long,
        env = "IMAGE_RESOLVER_LISTEN",
        default_value = "0.0.0.0:8080",
        value_name = "ADDRESS"
    )]
    pub listen: std::net::SocketAddr,
    /// A registry webhook to accept, with the file holding its shared secret: SOURCE=FILE, where SOURCE is
    /// distribution, dockerhub, github, harbor, quay, acr, alibaba or cloudevents; repeat for several. A source
    /// without a secret is not accepted (404).
    #[arg(
        long = "webhook-secret",
        env = "IMAGE_RESOLVER_WEBHOOK_SECRETS",
        value_delimiter = ',',
        value_name = "SOURCE=FILE"
    )]
    pub webhook_secrets: Vec<String>,
    /// Watch Argo CD Applications naming the plugin in these namespaces (comma-separated; `*`: every namespace,
    /// which needs cluster-wide RBAC), besides the config file's applications. Unset: no Kubernetes access.
    #[arg(
        long,
        env = "IMAGE_RESOLVER_APPLICATION_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMESPACES"
    )]
    pub application_namespaces: Vec<String>,
    /// Argo CD's own namespace: Applications elsewhere are named `<namespace>_<name>` (ARGOCD_APP_NAME).
    #[arg(long, env = "IMAGE_RESOLVER_CONTROL_PLANE_NAMESPACE", default_value = argo_api::DEFAULT_CONTROL_PLANE_NAMESPACE, value_name = "NAMESPACE")]
    pub control_plane_namespace: String,
    /// The plugin name Applications give (`spec.source.plugin.name`): plugin.yaml's name and version.
    #[arg(long, env = "IMAGE_RESOLVER_PLUGIN_NAME", default_value = argo_api::DEFAULT_PLUGIN_NAME, value_name = "NAME")]
    pub plugin_name: String,
}

/// The webhook secrets of `--webhook-secret`, read from their files, and what is wrong with the others. A bad
/// entry disables its source (404) rather than stop the daemon: in the repo-server pod, a daemon that exits takes
/// repo-server out of service with it.
fn webhook_secrets(values: &[String]) -> (HashMap<Source, WebhookSecret>, Vec<String>) {
    let mut secrets = HashMap::new();
    let mut problems = Vec::new();
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        let Some((source, file)) = value.split_once('=') else {
            problems.push(format!("--webhook-secret '{value}' is not SOURCE=FILE"));
            continue;
        };
        let source: Source = match source.trim().parse() {
            Ok(source) => source,
            Err(e) => {
                problems.push(format!("--webhook-secret '{value}': {e}"));
                continue;
            }
        };
        let secret = std::fs::read(file.trim())
            .map_err(|e| format!("cannot read {}: {e}", file.trim()))
            .and_then(|contents| {
                WebhookSecret::from_file_contents(&contents)
                    .map_err(|e| format!("{}: {e}", file.trim()))
            });
        match secret {
            Ok(secret) => {
                if secrets.insert(source, secret).is_some() {
                    problems.push(format!(
                        "--webhook-secret: {source} is given twice; the last one counts"
                    ));
                }
            }
            Err(e) => problems.push(format!(
                "--webhook-secret {source}: {e}; its webhooks are refused (404) until the daemon restarts with \
                 a secret"
            )),
        }
    }
    (secrets, problems)
}

/// Runs until stopped; each round's report goes to stdout as it ends. Returns once stopped.
pub fn run(global: &GlobalArgs, args: WatchArgs) -> Result<String, Failure> {
    let cache_dir = super::generate::cache_dir(&args.commit.render);
    // The sidecar's renders, when this daemon shares its cache volume, are counted from their log.
    let metrics = Arc::new(Metrics::new().with_render_log(&cache_dir));
    metrics::install(Arc::clone(&metrics));
    // A config file that does not read is reported and watched for a fix, not fatal: in the repo-server pod a
    // daemon that exits takes repo-server out of service with it.
    let config_path = args.commit.config.clone();
    let mut config_broken = false;
    let config = match config_path.as_deref().map(read_config) {
        Some(Err(e)) => {
            tracing::error!(
                "{}; watching no application of the config file until it is fixed",
                e.message()
            );
            metrics.config_reload(ConfigResult::Invalid);
            config_broken = true;
            None
        }
        read => read.transpose()?,
    };
    let (committer, apps, config) = setup(
        global,
        &args.commit,
        config,
        !args.application_namespaces.is_empty() || config_broken,
    )?;
    let interval = args
        .interval
        .or_else(|| config.as_ref().map(|c| c.interval))
        .unwrap_or(argocd_image_resolver_core::commit::DEFAULT_INTERVAL);
    if interval.is_zero() || args.resync.is_zero() {
        return Err(Failure::Invalid(
            "--interval and --resync must be more than 0".to_owned(),
        ));
    }
    let (webhooks, problems) = webhook_secrets(&args.webhook_secrets);
    for problem in problems {
        tracing::error!("{problem}");
    }
    let apps: Vec<Tracked> = apps.into_iter().map(configured).collect();
    let config = config_path.map(|path| ConfigFile {
        path,
        read: Box::new(|path| {
            let config = read_config(path).map_err(|e| e.message().to_owned())?;
            Ok(config_apps(&config).into_iter().map(configured).collect())
        }),
    });
    let output = args.commit.output;
    let mut daemon = Daemon {
        committer,
        apps,
        config,
        interval,
        resync: args.resync,
        round_timeout: args.commit.round_timeout,
        discovered: None,
        refresher: None,
        metrics: Arc::clone(&metrics),
        ready: Arc::new(AtomicBool::new(false)),
        on_report: Box::new(move |report| {
            use std::io::Write as _;
            // A stream of rounds: one JSON object per line, or the text blocks of `commit`.
            let line = match output {
                OutputFormat::Json => {
                    let mut line = serde_json::to_string(report)
                        .expect("reports of strings and numbers serialise");
                    line.push('\n');
                    line
                }
                OutputFormat::Text => text(report),
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
        }),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::NoResult(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| Failure::NoResult(format!("cannot watch for SIGTERM: {e}")))?;
        // Set once SIGTERM or SIGINT arrives: the action in progress finishes, no other starts.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            let _ = stop.send(true);
        });
        if !args.application_namespaces.is_empty() {
            let cluster = Arc::new(cluster(&args, &metrics).await?);
            daemon.discovered = Some(Arc::clone(&cluster) as Arc<dyn crate::watch::Applications>);
            daemon.refresher = Some(cluster);
        }
        let (sender, events) = tokio::sync::mpsc::channel(1024);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| {
                Failure::NoResult(format!("cannot listen on {} (--listen): {e}", args.listen))
            })?;
        tracing::info!(address = %listener.local_addr().map_or(args.listen, |a| a), "serving");
        let mut state = ServerState::new(Arc::clone(&metrics), sender);
        state.ready = Arc::clone(&daemon.ready);
        state.webhooks = Arc::new(webhooks);
        let mut server_stop = stopped.clone();
        let server = tokio::spawn(server::serve(listener, state, async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        }));
        metrics.set_applications(daemon.apps.len());
        tracing::info!(applications = daemon.apps.len(), ?interval, "watching");
        daemon
            .run(Inputs {
                events,
                stop: stopped,
            })
            .await;
        daemon.ready.store(false, Ordering::Relaxed);
        if let Ok(Err(e)) = server.await {
            tracing::warn!("the HTTP server stopped: {e}");
        }
        tracing::info!("stopped");
        Ok(String::new())
    })
}

/// A config file's application: the committer's round unless it asks for render time.
fn configured(spec: crate::commit::AppSpec) -> Tracked {
    Tracked {
        action: action_of(&spec, Action::Commit),
        spec,
    }
}

/// The Kubernetes client (in the pod: its service account; else the kubeconfig) and Application discovery in
/// `--application-namespaces`.
async fn cluster(args: &WatchArgs, metrics: &Arc<Metrics>) -> Result<Cluster, Failure> {
    let client = kube::Client::try_default().await.map_err(|e| {
        Failure::NoResult(format!(
            "cannot reach the Kubernetes API for --application-namespaces: {e}"
        ))
    })?;
    let namespaces: Vec<String> = args
        .application_namespaces
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && n != "*")
        .collect();
    let metrics = Arc::clone(metrics);
    let hook: argo_api::ProblemHook = Arc::new(move |problem| {
        metrics.discovery_problem(problem);
    });
    let discovery = Discovery::start(
        &client,
        DiscoveryOptions {
            namespaces,
            matching: Matching {
                plugin_name: args.plugin_name.clone(),
                control_plane_namespace: args.control_plane_namespace.clone(),
                ..Matching::default()
            },
            backoff: argo_api::RetryBackoff::default(),
        },
        Some(hook),
    );
    Ok(Cluster {
        client,
        discovery,
        control_plane_namespace: args.control_plane_namespace.clone(),
    })
}
