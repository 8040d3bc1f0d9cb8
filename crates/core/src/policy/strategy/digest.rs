//! `digest`: follow one mutable tag (such as `latest`); what changes is the digest it points to.

use super::{Verdict, best};
use crate::policy::{Candidate, Dropped, Interrupt};
use crate::tag::Tag;

pub(super) fn pick<'a>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
    tracked: &str,
) -> Option<&'a Tag> {
    best(candidates, dropped, interrupt, |c| {
        if c.tag.name == tracked {
            Verdict::Keep(())
        } else {
            Verdict::Outside
        }
    })
}
