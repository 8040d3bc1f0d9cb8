//! What `commit` tells the job running it when a round fails: `-o json` lists the failed round among the reports,
//! and a round out of time is that application's failure, naming it.

use crate::redis_support::broken_server;
use crate::{Operator, registry_with, strs, web_origin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_lists_a_failed_round_beside_the_others() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let mut args = crate::app_args(&origin.url(), &["-o", "json"]);
    // A branch the repository does not have.
    let branch = args.iter().position(|a| a == "main").unwrap();
    args[branch] = "release".to_owned();
    let out = operator.commit(&strs(&args));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let reports: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 1, "{reports}");
    assert_eq!(reports[0]["app"], "web");
    assert_eq!(reports[0]["outcome"]["kind"], "failed");
    let error = reports[0]["outcome"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("application web: ") && error.contains("release"),
        "{error}"
    );
    assert!(out.stderr.trim_end().ends_with(error), "{}", out.stderr);
}

/// A git server that accepts and never answers: the round's own deadline ends it, and the message names the
/// application (the whole command's deadline, a little later, never fires first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_out_of_time_names_its_application() {
    let registry = registry_with(&["1.0.0"]).await;
    let operator = Operator::new(&registry);
    let (port, _server) = broken_server(false);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let args = crate::app_args(&url, &["--round-timeout", "2s"]);
    let out = operator.commit(&strs(&args));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("application web: ") && error.contains("deadline"),
        "{}",
        out.stderr
    );
    assert!(!error.contains("--budget"), "{}", out.stderr);
}

/// A pin to a tag the registry does not have is the Application's to fix, as `generate` judges it: the round
/// records nothing for the image and `commit` exits 2, naming the pin and the nearest tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_to_a_missing_tag_is_the_applications_fault() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = web_origin();
    let args = crate::app_args(&origin.url(), &["--param", "web.pin=1.9.0"]);
    let out = operator.commit(&strs(&args));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let error = out.stderr.lines().last().unwrap_or_default();
    assert!(
        error.contains("application web: ") && error.contains("1.9.0") && error.contains("1.1.0"),
        "{}",
        out.stderr
    );
    assert_eq!(origin.commits("main"), 1, "nothing committed");
}
