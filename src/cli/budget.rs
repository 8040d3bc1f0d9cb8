//! The time budget of one Argo CD manifest request. argocd-cmp-server runs `init` and then `generate` in the same
//! fresh working directory under one deadline, so the budget is shared: `init` leaves a mark when it starts, and
//! `generate` takes what is left of the budget since that mark.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// The longest budget accepted. Argo CD's own deadline for a whole manifest request is a minute by default (and
/// an Application can set the budget through plugin env), so anything longer is a mistake; it also keeps
/// `Instant + budget` far from overflow.
pub const MAX_BUDGET: Duration = Duration::from_secs(3600); // "1h" in messages

/// The instant `duration` after `now`; one [`MAX_BUDGET`] after it when `duration` would overflow the clock (a
/// deadline that far away is never reached).
pub fn deadline_after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .or_else(|| now.checked_add(MAX_BUDGET))
        .unwrap_or(now)
}

/// Where `init` leaves its mark for the application in `dir` (whose modification time is when `init` started):
/// a file in the temp directory named for `dir`'s path, which argocd-cmp-server makes unique per request. Not in
/// the source, where a chart's `.Files` or a directory of manifests would see it.
pub fn mark_path(dir: &Path) -> PathBuf {
    let hash = Sha256::digest(dir.as_os_str().as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("argocd-image-resolver-init-{hex}"))
}

/// The time a command may take: the configured budget less what `init` used of it in this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub total: Duration,
    pub used_by_init: Duration,
}

impl Budget {
    /// The whole budget, for a command that has it to itself.
    pub fn whole(total: Duration) -> Budget {
        Budget {
            total,
            used_by_init: Duration::ZERO,
        }
    }

    /// What `init`, started at `init_started` (its mark, if any), left of `total` at `now`. A mark from the future
    /// (a clock step) or older than the whole budget cannot be this request's `init`, which ends within the
    /// budget: the command then has the whole budget.
    pub fn after_init(
        total: Duration,
        init_started: Option<SystemTime>,
        now: SystemTime,
    ) -> Budget {
        match init_started.and_then(|started| now.duration_since(started).ok()) {
            Some(used) if used < total => Budget {
                total,
                used_by_init: used,
            },
            _ => Budget::whole(total),
        }
    }

    /// [`Budget::after_init`] with the mark of `dir`'s `init`, which this consumes, and the current time.
    pub fn left_in(dir: &Path, total: Duration) -> Budget {
        let mark = mark_path(dir);
        let started = std::fs::metadata(&mark).and_then(|m| m.modified());
        if started.is_ok() {
            let _ = std::fs::remove_file(&mark);
        }
        Budget::after_init(total, started.ok(), SystemTime::now())
    }

    pub fn left(&self) -> Duration {
        self.total.saturating_sub(self.used_by_init)
    }
}

/// Leaves the mark of an `init` starting now. Failing to is not an error: `generate` then has the whole budget.
pub fn mark_init(dir: &Path) {
    let mark = mark_path(dir);
    if let Err(error) = std::fs::File::create(&mark) {
        tracing::debug!("cannot leave the init mark {}: {error}", mark.display());
    }
}

/// "the budget of 40s", or "the 12.5s init left of the budget of 40s".
impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.used_by_init.is_zero() {
            write!(f, "the budget of {:?}", self.total)
        } else {
            write!(
                f,
                "the {:.1?} init left of the budget of {:?}",
                self.left(),
                self.total
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_init() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let total = Duration::from_secs(40);
        let ago = |secs: f64| Some(now - Duration::from_secs_f64(secs));
        let cases = [
            ("no mark", None, Duration::ZERO),
            ("init just started", ago(0.0), Duration::ZERO),
            ("init took 12.5s", ago(12.5), Duration::from_secs_f64(12.5)),
            (
                "init took almost all",
                ago(39.9),
                Duration::from_secs_f64(39.9),
            ),
            (
                "older than the budget: not this request",
                ago(40.0),
                Duration::ZERO,
            ),
            (
                "the mark of an init whose generate never ran",
                ago(86_400.0),
                Duration::ZERO,
            ),
            (
                "from the future",
                Some(now + Duration::from_secs(5)),
                Duration::ZERO,
            ),
        ];
        for (name, mark, used) in cases {
            let budget = Budget::after_init(total, mark, now);
            assert_eq!(budget.used_by_init, used, "{name}");
            assert_eq!(budget.left(), total - used, "{name}");
        }
    }

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        for (name, duration, want) in [
            ("zero", Duration::ZERO, now),
            (
                "a minute",
                Duration::from_secs(60),
                now + Duration::from_secs(60),
            ),
            ("u64::MAX seconds", Duration::MAX, now + MAX_BUDGET),
            (
                "i64::MAX seconds",
                Duration::from_secs(i64::MAX.unsigned_abs()),
                now + MAX_BUDGET,
            ),
        ] {
            assert_eq!(deadline_after(now, duration), want, "{name}");
        }
    }

    #[test]
    fn display() {
        let total = Duration::from_secs(40);
        assert_eq!(Budget::whole(total).to_string(), "the budget of 40s");
        let shared = Budget {
            total,
            used_by_init: Duration::from_millis(27_530),
        };
        assert_eq!(
            shared.to_string(),
            "the 12.5s init left of the budget of 40s"
        );
    }

    #[test]
    fn the_mark_round_trips_through_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let total = Duration::from_secs(40);
        assert_eq!(Budget::left_in(dir.path(), total), Budget::whole(total));

        mark_init(dir.path());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing in the source"
        );
        let budget = Budget::left_in(dir.path(), total);
        assert!(
            budget.used_by_init < Duration::from_secs(5),
            "just marked: {budget:?}"
        );
        assert_eq!(
            Budget::left_in(dir.path(), total),
            Budget::whole(total),
            "the mark is consumed"
        );
        mark_init(dir.path());

        let mark = std::fs::File::options()
            .write(true)
            .open(mark_path(dir.path()))
            .unwrap();
        mark.set_modified(SystemTime::now() - Duration::from_secs(30))
            .unwrap();
        let budget = Budget::left_in(dir.path(), total);
        assert!(
            budget.used_by_init >= Duration::from_secs(30)
                && budget.left() <= Duration::from_secs(10),
            "{budget:?}"
        );
    }
}
