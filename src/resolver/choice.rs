//! The policy's choice over a resolution's tags, kept once it is made: the winner, the counts, and on request the
//! name of every tag each step dropped.

use std::collections::HashSet;

use crate::policy::Selection;
use crate::tag::Tag;

/// What the policy chose among a [`Resolution`]'s tags.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Index of the winner in [`Resolution::tags`].
    pub winner: Option<usize>,
    /// How many tags were looked at.
    pub considered: usize,
    /// How many of them a filter, the platforms or the strategy dropped.
    pub dropped: usize,
    /// With [`Detail::Names`]: which tags each step dropped and which remained, for `explain`.
    pub names: Option<ChoiceNames>,
}

/// The tags by what became of them, each list sorted (the registry's order is no order a reader can use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChoiceNames {
    pub candidates: Vec<String>,
    pub not_allowed: Vec<String>,
    pub ignored: Vec<String>,
    pub no_pattern_match: Vec<String>,
    pub no_platform: Vec<String>,
    pub unparsable: Vec<String>,
    pub outside_constraint: Vec<String>,
}

/// Whether a [`Choice`] keeps the name of every dropped tag (costly over millions of tags; `explain` shows them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Detail {
    #[default]
    Counts,
    Names,
}

impl Choice {
    pub(super) fn of(
        selection: &Selection<'_>,
        tags: &[Tag],
        winner: Option<usize>,
        detail: Detail,
    ) -> Choice {
        let d = &selection.dropped;
        let names = (detail == Detail::Names).then(|| {
            let sorted = |names: &[&str]| {
                let mut names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
                names.sort();
                names
            };
            let gone: HashSet<&str> = [
                &d.not_allowed,
                &d.ignored,
                &d.no_pattern_match,
                &d.no_platform,
                &d.unparsable,
                &d.outside_constraint,
            ]
            .into_iter()
            .flatten()
            .copied()
            .collect();
            let mut candidates: Vec<String> = tags
                .iter()
                .filter(|t| !gone.contains(t.name.as_str()))
                .map(|t| t.name.to_string())
                .collect();
            candidates.sort();
            ChoiceNames {
                candidates,
                not_allowed: sorted(&d.not_allowed),
                ignored: sorted(&d.ignored),
                no_pattern_match: sorted(&d.no_pattern_match),
                no_platform: sorted(&d.no_platform),
                unparsable: sorted(&d.unparsable),
                outside_constraint: sorted(&d.outside_constraint),
            }
        });
        Choice {
            winner,
            considered: selection.considered,
            dropped: d.total(),
            names,
        }
    }
}
