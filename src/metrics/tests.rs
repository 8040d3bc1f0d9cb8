use std::fs::OpenOptions;
use std::io::Write as _;

use super::renders::{LOG_PATH, MAX_UNREAD, ROTATE_AT, ROTATED_PATH, append};
use super::*;

fn line(outcome: RenderOutcome, ms: u64, app: &str) -> RenderLine {
    RenderLine {
        at: 1_790_000_000_000,
        outcome,
        ms,
        registry: 2,
        last_known_good: u32::from(outcome == RenderOutcome::Stale),
        pin: 0,
        failed: 0,
        app: app.to_owned(),
    }
}

/// The value of the sample `name{labels}` in `text`, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn families_are_named_and_outcomes_start_at_zero() {
    let text = Metrics::new().encode();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for (name, series, want) in [
        (
            "resolutions",
            r#"argocd_image_resolver_resolutions_total{outcome="last-known-good",by="watch"}"#,
            0.0,
        ),
        (
            "commits",
            r#"argocd_image_resolver_commits_total{result="committed"}"#,
            0.0,
        ),
        (
            "refreshes",
            r#"argocd_image_resolver_refreshes_total{result="failed"}"#,
            0.0,
        ),
        (
            "push retries",
            "argocd_image_resolver_push_retries_total",
            0.0,
        ),
        ("applications", "argocd_image_resolver_applications", 0.0),
        (
            "cache",
            r#"argocd_image_resolver_cache_misses_total{kind="tags"}"#,
            0.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{name}:\n{text}");
    }
}

#[test]
fn events_are_counted() {
    let metrics = Metrics::new();
    metrics.resolution(ResolutionOutcome::Registry);
    metrics.resolution(ResolutionOutcome::Registry);
    metrics.registry_request("ghcr.io", Some(200), Duration::from_millis(30));
    metrics.registry_request("ghcr.io", None, Duration::from_millis(3));
    metrics.cache_lookups(CacheKind::Tags, 1, 0);
    metrics.cache_lookups(CacheKind::Digests, 0, 1);
    metrics.config_reload(ConfigResult::Invalid);
    metrics.webhook("github", WebhookResult::Unauthenticated);
    metrics.refresh(RefreshResult::Requested);
    metrics.set_applications(7);
    metrics.push_retries(2);
    let text = metrics.encode();
    for (name, series, want) in [
        (
            "resolutions",
            r#"argocd_image_resolver_resolutions_total{outcome="registry",by="watch"}"#,
            2.0,
        ),
        (
            "requests",
            r#"argocd_image_resolver_registry_requests_total{registry="ghcr.io",status="200"}"#,
            1.0,
        ),
        (
            "failed requests",
            r#"argocd_image_resolver_registry_requests_total{registry="ghcr.io",status="error"}"#,
            1.0,
        ),
        (
            "latency histogram",
            r#"argocd_image_resolver_registry_request_duration_seconds_bucket{le="0.04",registry="ghcr.io",status="200"}"#,
            1.0,
        ),
        (
            "cache hit",
            r#"argocd_image_resolver_cache_hits_total{kind="tags"}"#,
            1.0,
        ),
        (
            "digest miss",
            r#"argocd_image_resolver_cache_misses_total{kind="digests"}"#,
            1.0,
        ),
        (
            "config refused",
            r#"argocd_image_resolver_config_reloads_total{result="invalid"}"#,
            1.0,
        ),
        (
            "webhook",
            r#"argocd_image_resolver_webhook_events_total{source="github",result="unauthenticated"}"#,
            1.0,
        ),
        (
            "refresh",
            r#"argocd_image_resolver_refreshes_total{result="requested"}"#,
            1.0,
        ),
        ("applications", "argocd_image_resolver_applications", 7.0),
        (
            "push retries",
            "argocd_image_resolver_push_retries_total",
            2.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{name}:\n{text}");
    }
    assert_eq!(metrics.resolutions(ResolutionOutcome::Registry), 2);
    assert_eq!(
        metrics.webhooks("github", WebhookResult::Unauthenticated),
        1
    );
}

#[test]
fn the_render_log_is_folded_at_each_encoding_from_where_it_was_opened() {
    let dir = tempfile::tempdir().unwrap();
    append(dir.path(), &line(RenderOutcome::Rendered, 10, "before"));
    let metrics = Metrics::new().with_render_log(dir.path());
    let rendered = r#"argocd_image_resolver_renders_total{outcome="rendered"}"#;
    let stale = r#"argocd_image_resolver_renders_total{outcome="stale"}"#;
    assert_eq!(
        sample(&metrics.encode(), rendered),
        None,
        "a render logged before the daemon started is not counted"
    );
    append(dir.path(), &line(RenderOutcome::Rendered, 120, "a"));
    append(dir.path(), &line(RenderOutcome::Stale, 900, "b"));
    let text = metrics.encode();
    assert_eq!(sample(&text, rendered), Some(1.0), "{text}");
    assert_eq!(sample(&text, stale), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"argocd_image_resolver_render_duration_seconds_count{outcome="stale"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"argocd_image_resolver_resolutions_total{outcome="registry",by="generate"}"#
        ),
        Some(4.0),
        "{text}"
    );
    let again = metrics.encode();
    assert_eq!(sample(&again, rendered), Some(1.0), "each line counts once");
}

#[test]
fn a_line_is_read_once_its_newline_arrives_and_damaged_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RenderLog::open(dir.path());
    assert!(log.read_new().lines.is_empty(), "no log yet");
    let path = dir.path().join(LOG_PATH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = serde_json::to_string(&line(RenderOutcome::Failed, 5, "x")).unwrap();
    let (head, tail) = text.split_at(10);
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .unwrap();
    write!(file, "not json\n{head}").unwrap();
    let read = log.read_new();
    assert_eq!((read.lines.len(), read.skipped), (0, 1));
    writeln!(file, "{tail}").unwrap();
    let read = log.read_new();
    assert_eq!(read.lines, [line(RenderOutcome::Failed, 5, "x")]);
    assert_eq!(read.skipped, 0);
}

#[test]
fn the_reader_rotates_and_still_reads_lines_written_to_the_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RenderLog::open(dir.path());
    let one = line(RenderOutcome::Rendered, 1, &"a".repeat(200));
    let per_line = serde_json::to_string(&one).unwrap().len() as u64 + 1;
    let count = ROTATE_AT / per_line + 1;
    for _ in 0..count {
        append(dir.path(), &one);
    }
    // A writer that opened the log just before the rotation.
    let mut late = OpenOptions::new()
        .append(true)
        .open(dir.path().join(LOG_PATH))
        .unwrap();
    assert_eq!(log.read_new().lines.len() as u64, count);
    assert!(dir.path().join(ROTATED_PATH).exists(), "rotated");
    assert!(!dir.path().join(LOG_PATH).exists());
    writeln!(late, "{}", serde_json::to_string(&one).unwrap()).unwrap();
    append(dir.path(), &one);
    assert_eq!(
        log.read_new().lines.len(),
        2,
        "the late line and the new log's"
    );
    assert!(log.read_new().lines.is_empty());
}

#[test]
fn writers_stop_when_nobody_reads_and_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOG_PATH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_UNREAD)
        .unwrap();
    append(dir.path(), &line(RenderOutcome::Rendered, 1, "x"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), MAX_UNREAD);
    // A cache directory that is a file: nothing written, nothing fails.
    append(&path, &line(RenderOutcome::Rendered, 1, "x"));
}

#[test]
fn long_app_names_are_cut_to_keep_one_atomic_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RenderLog::open(dir.path());
    append(
        dir.path(),
        &line(RenderOutcome::Rendered, 1, &"é".repeat(3000)),
    );
    let read = log.read_new();
    assert_eq!(read.lines.len(), 1);
    assert!(read.lines[0].app.len() <= 253);
}
