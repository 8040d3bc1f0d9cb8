//! `numerical` (Flux): the highest number, reading each tag (or what the tag pattern extracted) as a float.

use std::cmp::{Ordering, Reverse};

use super::{Order, Verdict, best};
use crate::policy::{Candidate, Dropped, Interrupt};
use crate::tag::Tag;

/// An `f64` that is never NaN, so it has a total order.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Number(f64);

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Reads a number as Go's `strconv.ParseFloat` does for the forms tags use (`12`, `1.5`, `-3`, `1e3`); NaN and
/// infinities are not build numbers, so they count as unreadable.
fn number(text: &str) -> Option<Number> {
    let value: f64 = text.parse().ok()?;
    // `-0` and `0` compare equal under total_cmp only if normalised.
    value.is_finite().then_some(Number(value + 0.0))
}

pub(super) fn pick<'a>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
    order: Order,
) -> Option<&'a Tag> {
    let read = |c: &Candidate<'a>| number(&c.key);
    match order {
        Order::Asc => best(candidates, dropped, interrupt, |c| {
            read(c).map_or(Verdict::Unparsable, Verdict::Keep)
        }),
        Order::Desc => best(candidates, dropped, interrupt, |c| {
            read(c).map_or(Verdict::Unparsable, |n| Verdict::Keep(Reverse(n)))
        }),
    }
}
