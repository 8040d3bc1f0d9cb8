//! `semver`: the highest version satisfying a Masterminds constraint (argocd-image-updater's default).

use super::{Verdict, best};
use crate::constraint::Constraint;
use crate::policy::{Candidate, Dropped, Interrupt};
use crate::tag::Tag;
use crate::version::Version;

pub(super) fn pick<'a>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
    constraint: &Constraint,
    include_prerelease: bool,
    strict: bool,
) -> Option<&'a Tag> {
    best(candidates, dropped, interrupt, |candidate| {
        let parsed = if strict {
            Version::parse_three_part(&candidate.key)
        } else {
            Version::parse(&candidate.key)
        };
        let Ok(version) = parsed else {
            return Verdict::Unparsable;
        };
        let allowed = if include_prerelease {
            constraint.matches_including_prerelease(&version)
        } else {
            constraint.matches(&version)
        };
        if allowed {
            Verdict::Keep(version)
        } else {
            Verdict::Outside
        }
    })
}
