//! `newest-build` (old name `latest`): the most recently built image, by its config's creation time.

use super::{Verdict, best};
use crate::policy::{Candidate, Dropped, Interrupt};
use crate::tag::Tag;

pub(super) fn pick<'a>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
) -> Option<&'a Tag> {
    // A tag without a known build time sorts before every dated one (`None < Some`), as the zero time does in
    // argocd-image-updater, so it wins only when no tag has a date.
    best(candidates, dropped, interrupt, |candidate| {
        Verdict::Keep(candidate.tag.created)
    })
}
