use std::path::Path;
use std::time::{Duration, Instant};

use super::plain::join_plain;
use super::*;

#[test]
fn normalizes_paths_lexically() {
    let cases = [
        ("plain", "/r/app/values.yaml", "/r/app/values.yaml"),
        ("dot", "/r/app/./values.yaml", "/r/app/values.yaml"),
        ("parent", "/r/app/../common/v.yaml", "/r/common/v.yaml"),
        ("above the root", "/r/../../etc/passwd", "/etc/passwd"),
    ];
    for (name, input, want) in cases {
        assert_eq!(normalize(Path::new(input)), Path::new(want), "case {name}");
    }
}

/// Regression (found in review): the joining ran on past the deadline in its blocking task, which the
/// process then waited for on its way out.
#[test]
fn joining_a_plain_directory_stops_at_the_deadline() {
    let dir = std::env::temp_dir().join(format!("join-deadline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), "kind: ConfigMap\n").unwrap();
    let limit = ByteSize(1 << 20);
    let on_time = join_plain(
        &dir,
        &dir,
        false,
        limit,
        Instant::now() + Duration::from_secs(60),
    );
    let late = join_plain(&dir, &dir, false, limit, Instant::now());
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(on_time.is_ok(), "{on_time:?}");
    assert!(
        matches!(late, Err(RenderError::TimedOut { .. })),
        "{late:?}"
    );
}
