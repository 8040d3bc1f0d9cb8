//! `alphabetical` (old name `name`): the lexically last tag, comparing bytes as Go's `sort.Strings` does.

use std::cmp::Reverse;

use super::{Order, Verdict, best};
use crate::policy::{Candidate, Dropped, Interrupt};
use crate::tag::Tag;

pub(super) fn pick<'a>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
    order: Order,
) -> Option<&'a Tag> {
    match order {
        Order::Asc => best(candidates, dropped, interrupt, |c| {
            Verdict::Keep(c.key.clone())
        }),
        Order::Desc => best(candidates, dropped, interrupt, |c| {
            Verdict::Keep(Reverse(c.key.clone()))
        }),
    }
}
