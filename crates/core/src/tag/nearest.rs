//! The existing tags nearest to one that does not exist: what a message about a mistyped pin offers instead.
//!
//! Two tiers, closest first. Tags of the same shape as the wanted one (the same text once every run of digits is
//! set aside: `v1.2.9` and `v1.10.0`, `build-9` and `build-120`, `1.2.9-alpine` and `1.3.0-alpine`) come first,
//! ranked by version distance: the later the first number that differs, the closer (`1.2.8` before `1.3.9` for
//! `1.2.9`); then the smaller the difference there; then the tag below before the one above (a pin is usually a
//! rollback), each side in version order away from the wanted one. Every other tag follows, ranked by edit
//! distance (`v1.2.9` for `1.2.9`: one edit). Remaining ties go by name, so the answer never depends on the order
//! the registry listed its tags in.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Up to `limit` of `tags` nearest to `wanted`, nearest first (the ranking is in the module documentation);
/// `wanted` itself is never among them.
///
/// ```
/// use argocd_image_resolver_core::tag::nearest;
///
/// let tags = ["1.0.0", "1.2.0", "1.2.8", "1.2.10", "1.3.0", "latest"];
/// assert_eq!(nearest("1.2.9", tags, 3), ["1.2.8", "1.2.10", "1.2.0"]);
/// assert_eq!(nearest("lastest", tags, 1), ["latest"]);
/// ```
pub fn nearest<'a>(
    wanted: &str,
    tags: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    if limit == 0 {
        return Vec::new();
    }
    let wanted_shape = Shape::of(wanted);
    let wanted_chars: Vec<char> = wanted.chars().collect();
    // The `limit` nearest so far, the farthest on top: a repository may list a million tags.
    let mut kept: BinaryHeap<Rank<'a>> = BinaryHeap::with_capacity(limit + 1);
    for tag in tags {
        if tag == wanted {
            continue;
        }
        let rank = match wanted_shape.closeness(tag) {
            Some(closeness) => Rank::SameShape(closeness, tag),
            None => {
                // Edits are at least the difference in length: skip the count when that already loses.
                let floor = wanted_chars.len().abs_diff(tag.chars().count());
                if kept.len() == limit
                    && kept
                        .peek()
                        .is_some_and(|worst| *worst <= Rank::Other(floor, tag))
                {
                    continue;
                }
                Rank::Other(edit_distance(&wanted_chars, tag), tag)
            }
        };
        kept.push(rank);
        if kept.len() > limit {
            kept.pop();
        }
    }
    kept.into_sorted_vec().into_iter().map(Rank::name).collect()
}

/// How near a tag is, nearest smallest: same shape before any other, then as the fields say.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank<'a> {
    SameShape(Closeness, &'a str),
    /// Edit distance.
    Other(usize, &'a str),
}

impl<'a> Rank<'a> {
    fn name(self) -> &'a str {
        match self {
            Rank::SameShape(_, name) | Rank::Other(_, name) => name,
        }
    }
}

/// The version distance between two tags of one shape, nearest smallest.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Closeness {
    /// The index of the first number that differs (all of them when none does), later being nearer.
    first_difference: Reverse<usize>,
    /// How far apart that number is.
    difference: u64,
    side: Side,
}

/// Which side of the wanted tag, below first; each side in version order away from it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Below(Reverse<Vec<u64>>),
    Above(Vec<u64>),
}

/// A tag with its runs of digits set aside: the text around them, and their values.
struct Shape<'a> {
    text: &'a str,
    numbers: Vec<u64>,
}

impl<'a> Shape<'a> {
    fn of(text: &'a str) -> Shape<'a> {
        Shape {
            text,
            numbers: digit_runs(text)
                .map(|run| run.parse().unwrap_or(u64::MAX))
                .collect(),
        }
    }

    /// How close `tag` is when it has this shape; `None` for another shape, or when this one has no numbers.
    fn closeness(&self, tag: &str) -> Option<Closeness> {
        if self.numbers.is_empty() || !same_skeleton(self.text, tag) {
            return None;
        }
        let numbers: Vec<u64> = Shape::of(tag).numbers;
        let first = (0..numbers.len())
            .find(|&i| numbers[i] != self.numbers[i])
            .unwrap_or(numbers.len());
        let (mine, theirs) = (self.numbers.get(first), numbers.get(first));
        let difference = mine.zip(theirs).map_or(0, |(a, b)| a.abs_diff(*b));
        let side = if theirs < mine {
            Side::Below(Reverse(numbers))
        } else {
            Side::Above(numbers)
        };
        Some(Closeness {
            first_difference: Reverse(first),
            difference,
            side,
        })
    }
}

/// The maximal runs of ASCII digits in `text`.
fn digit_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
}

/// Whether `a` and `b` are the same text around their runs of digits (each run standing for any number).
fn same_skeleton(a: &str, b: &str) -> bool {
    let skeleton = |text: &'_ str| {
        let mut out = Vec::with_capacity(text.len());
        let mut in_run = false;
        for c in text.chars() {
            let digit = c.is_ascii_digit();
            if !digit {
                out.push(Some(c));
            } else if !in_run {
                out.push(None);
            }
            in_run = digit;
        }
        out
    };
    skeleton(a) == skeleton(b)
}

/// Levenshtein distance: insertions, deletions and substitutions of one character each.
fn edit_distance(a: &[char], b: &str) -> usize {
    let mut row: Vec<usize> = (0..=a.len()).collect();
    for (j, cb) in b.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = j + 1;
        for (i, ca) in a.iter().enumerate() {
            let substitution = diagonal + usize::from(*ca != cb);
            diagonal = row[i + 1];
            row[i + 1] = substitution.min(row[i] + 1).min(diagonal + 1);
        }
    }
    row[a.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_tags_rank_same_shape_by_version_then_others_by_edits() {
        for (name, wanted, tags, limit, want) in [
            (
                "patch typo: same patch line first, below before above, then the neighbouring minors",
                "1.2.9",
                &[
                    "1.0.0", "1.1.9", "1.2.0", "1.2.8", "1.2.10", "1.3.0", "2.0.0", "latest",
                ][..],
                5,
                &["1.2.8", "1.2.10", "1.2.0", "1.1.9", "1.3.0"][..],
            ),
            (
                "each side in version order away from the wanted tag",
                "1.2.9",
                &["1.3.5", "1.3.0", "1.1.0", "1.1.9"],
                4,
                &["1.1.9", "1.1.0", "1.3.0", "1.3.5"],
            ),
            (
                "a missing 'v': another shape, one edit away",
                "v1.2.9",
                &["latest", "1.2.8", "1.2.9"],
                5,
                &["1.2.9", "1.2.8", "latest"],
            ),
            (
                "calver: the same month before another month, then other shapes",
                "2024.06.16",
                &["2024.01.01", "2024.06.15", "build-9", "latest"],
                3,
                &["2024.06.15", "2024.01.01", "build-9"],
            ),
            (
                "build numbers: by difference",
                "build-11",
                &["build-100", "build-9", "build-10", "nightly"],
                3,
                &["build-10", "build-9", "build-100"],
            ),
            (
                "a suffix is part of the shape",
                "1.2.9-alpine",
                &["1.2.9", "1.2.9-slim", "1.2.8-alpine"],
                5,
                &["1.2.8-alpine", "1.2.9-slim", "1.2.9"],
            ),
            (
                "no numbers: by edits, ties by name",
                "lastest",
                &["stable", "latest", "1.0.0", "lates"],
                3,
                &["latest", "lates", "stable"],
            ),
            (
                "equal numbers written differently are nearest",
                "2024.6.1",
                &["2024.06.02", "2024.06.01"],
                5,
                &["2024.06.01", "2024.06.02"],
            ),
            (
                "numbers past 64 bits still rank",
                "1.99999999999999999999999",
                &["1.0", "1.99999999999999999999998"],
                5,
                &["1.99999999999999999999998", "1.0"],
            ),
            ("an empty repository", "1.0.0", &[], 5, &[]),
            (
                "the wanted tag itself is left out",
                "1.0.0",
                &["1.0.0", "1.0.1"],
                5,
                &["1.0.1"],
            ),
            ("a limit of zero", "1.0.0", &["1.0.1"], 0, &[]),
        ] {
            assert_eq!(nearest(wanted, tags.iter().copied(), limit), want, "{name}");
            assert_eq!(
                nearest(wanted, tags.iter().rev().copied(), limit),
                want,
                "{name}: whatever order the registry lists them in"
            );
        }
    }

    #[test]
    fn edit_distances() {
        for (a, b, want) in [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("kitten", "sitting", 3),
            ("v1.2.9", "1.2.9", 1),
            ("alpine", "slim", 4),
        ] {
            let a: Vec<char> = a.chars().collect();
            assert_eq!(edit_distance(&a, b), want, "{a:?} → {b}");
        }
    }
}
