//! `watch`: the committer as a daemon — every application of its config file gets a round each interval, one
//! after the other, until SIGTERM or SIGINT (the round in progress finishes first, so no commit is cut short; no
//! other starts).
//! A round that fails is logged and tried again next interval; the others go on.

use std::time::Duration;

use clap::Args;
use tokio::time::Instant;

use super::commit::{CommitArgs, setup, text};
use super::{Failure, GlobalArgs};

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub commit: CommitArgs,
    /// Time between two rounds of every application, such as 30s or 5m (default: the config file's interval,
    /// else 2m).
    #[arg(long, env = "IMAGE_RESOLVER_INTERVAL", value_parser = super::parse_ttl, value_name = "DURATION")]
    pub interval: Option<Duration>,
}

/// Runs rounds until stopped; each round's report goes to stdout as it ends. Returns once stopped.
pub fn run(global: &GlobalArgs, args: WatchArgs) -> Result<String, Failure> {
    let (committer, apps, config) = setup(global, &args.commit)?;
    let interval = args
        .interval
        .or_else(|| config.as_ref().map(|c| c.interval))
        .unwrap_or(argocd_image_resolver_core::commit::DEFAULT_INTERVAL);
    if interval.is_zero() {
        return Err(Failure::Invalid(
            "--interval must be more than 0".to_owned(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::NoResult(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| Failure::NoResult(format!("cannot watch for SIGTERM: {e}")))?;
        // Set once SIGTERM or SIGINT arrives: the round in progress finishes, no other starts.
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            let _ = stop.send(true);
        });
        tracing::info!(applications = apps.len(), ?interval, "watching");
        'rounds: loop {
            let started = Instant::now();
            for app in &apps {
                if *stopped.borrow() {
                    break 'rounds;
                }
                let deadline = Instant::now() + args.commit.round_timeout;
                match committer.round(app, deadline).await {
                    Ok(report) => {
                        use std::io::Write as _;
                        let mut out = std::io::stdout().lock();
                        let _ = out
                            .write_all(text(&report).as_bytes())
                            .and_then(|()| out.flush());
                    }
                    Err(error) => tracing::error!("{}{error}", app.request.prefix()),
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(started + interval) => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
        }
        tracing::info!("stopped");
        Ok(String::new())
    })
}
