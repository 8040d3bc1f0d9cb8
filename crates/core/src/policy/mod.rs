//! An image's update policy: which tags are candidates and which one wins.
//!
//! Selection runs the same steps for every strategy, in this order, and records which step dropped which tag:
//! `allow-tags` → `ignore-tags` → the tag pattern (Flux `filterTags`, whose `extract` gives the text to order on) →
//! the platforms (when the registry said a tag has no image for them) →
//! the strategy's own reading of that text (a version, a number; unreadable tags are skipped, never fatal) → the
//! strategy's constraint → the strategy's ordering, ties broken by the tag name (the greater name wins), so the
//! result never depends on the order the registry listed the tags in.

pub mod filter;
mod key;
pub mod source;
pub mod spec;
pub mod strategy;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::gocompat::glob::Glob;
pub use crate::platform::Platform;
use crate::tag::Tag;
use filter::{AllowTags, Extract, IgnoreTags};
pub use key::{PolicyKey, StrategyKey, TagPatternKey, platform_key};
pub use strategy::{Order, Strategy};

/// Everything that decides which tag of a repository an image runs.
#[derive(Clone, Debug)]
pub struct Policy {
    pub strategy: Strategy,
    pub allow: AllowTags,
    pub ignore: IgnoreTags,
    /// Flux-style tag pattern: tags it does not match are dropped; the others are ordered on what it extracts.
    pub extract: Option<Extract>,
    /// Platforms whose image must exist (and whose build time counts for `newest-build`); empty = `linux/amd64`.
    pub platforms: Vec<Platform>,
    /// `pin-digest`: render the chosen tag as `tag@<digest>`, the digest the tag names when resolved (for a
    /// multi-platform image, its index's). Only for strategies other than `digest`, which always renders one.
    /// Changes no choice, only what is written.
    pub pin_digest: bool,
}

impl Policy {
    /// A policy with the given strategy and no filters.
    pub fn new(strategy: Strategy) -> Self {
        Policy {
            strategy,
            allow: AllowTags::Any,
            ignore: IgnoreTags::none(),
            extract: None,
            platforms: Vec::new(),
            pin_digest: false,
        }
    }

    /// Whether the image is rendered `tag@<digest>`: the `digest` strategy, or `pin-digest`. Resolving it must
    /// learn the winner's digest, and a lock file entry under it must record one.
    pub fn renders_digest(&self) -> bool {
        self.strategy.needs_digest() || self.pin_digest
    }

    /// [`Policy::renders_digest`] of the policy whose summary (its `Display`, as a lock file entry records it)
    /// is `summary`: for an image whose policy `generate` cannot see, only its lock file entry. Every quoted
    /// value of a summary ends in `'`, so a trailing `, pin-digest` is the flag's own.
    pub fn summary_renders_digest(summary: &str) -> bool {
        summary == "strategy digest"
            || summary.starts_with("strategy digest,")
            || summary.ends_with(", pin-digest")
    }

    /// Picks the tag this policy allows, from tags in any order. Pure: the input is not changed.
    pub fn select<'a>(&self, tags: &'a [Tag]) -> Selection<'a> {
        self.select_except(tags, &HashSet::new())
    }

    /// [`Policy::select`], where the tags in `unavailable` (no image for the wanted platforms) are dropped after
    /// the filters, before the strategy.
    pub fn select_except<'a>(
        &self,
        tags: &'a [Tag],
        unavailable: &HashSet<String>,
    ) -> Selection<'a> {
        self.select_inner(tags, unavailable, &mut Interrupt::never())
    }

    /// [`Policy::select_except`] over a list that may be long (millions of tags), giving up when `out_of_time`
    /// says so; it is asked every few thousand tags. The clock stays the caller's: the policy reads none.
    pub fn select_within<'a>(
        &self,
        tags: &'a [Tag],
        unavailable: &HashSet<String>,
        out_of_time: &dyn Fn() -> bool,
    ) -> Result<Selection<'a>, OutOfTime> {
        let mut interrupt = Interrupt::new(out_of_time);
        let selection = self.select_inner(tags, unavailable, &mut interrupt);
        interrupt.result(tags.len()).map(|()| selection)
    }

    fn select_inner<'a>(
        &self,
        tags: &'a [Tag],
        unavailable: &HashSet<String>,
        interrupt: &mut Interrupt<'_>,
    ) -> Selection<'a> {
        let mut dropped = Dropped::default();
        let mut candidates = Vec::with_capacity(tags.len());
        for tag in tags {
            if interrupt.step() {
                break;
            }
            match self.admit(tag) {
                Ok(_) if unavailable.contains(tag.name.as_str()) => {
                    dropped.no_platform.push(&tag.name)
                }
                Ok(candidate) => candidates.push(candidate),
                Err(step) => step.record(&mut dropped, &tag.name),
            }
        }
        let winner = self.strategy.pick(&candidates, &mut dropped, interrupt);
        Selection {
            winner,
            considered: tags.len(),
            dropped,
        }
    }

    /// The tags that pass `allow-tags`, `ignore-tags` and the tag pattern: what the strategy will look at, and so
    /// the tags whose build time `newest-build` needs.
    pub fn filter<'a>(&self, tags: &'a [Tag]) -> Vec<&'a Tag> {
        tags.iter().filter(|tag| self.admit(tag).is_ok()).collect()
    }

    /// [`Policy::filter`], giving up when `out_of_time` says so (asked every few thousand tags).
    pub fn filter_within<'a>(
        &self,
        tags: &'a [Tag],
        out_of_time: &dyn Fn() -> bool,
    ) -> Result<Vec<&'a Tag>, OutOfTime> {
        let mut interrupt = Interrupt::new(out_of_time);
        let passed = tags
            .iter()
            .take_while(|_| !interrupt.step())
            .filter(|tag| self.admit(tag).is_ok())
            .collect();
        interrupt.result(tags.len()).map(|()| passed)
    }

    /// Runs the filters on one tag: the candidate with its ordering key, or the step that dropped it.
    fn admit<'a>(&self, tag: &'a Tag) -> Result<Candidate<'a>, FilterStep> {
        let name = tag.name.as_str();
        if !self.allow.allows(name) {
            return Err(FilterStep::AllowTags);
        }
        if self.ignore.matching(name).is_some()
            || (self.strategy.skips_signature_tags() && is_signature_tag(name))
        {
            return Err(FilterStep::IgnoreTags);
        }
        let key = match &self.extract {
            Some(extract) => Cow::Owned(extract.apply(name).ok_or(FilterStep::TagPattern)?),
            None => Cow::Borrowed(name),
        };
        Ok(Candidate { tag, key })
    }
}

/// A tag that names a signature or attestation rather than an image: Flux's default exclusion (`*.sig`) and the
/// tags cosign pushes beside an image (`sha256-<digest>.sig`, `.att`, `.sbom`).
pub fn is_signature_tag(name: &str) -> bool {
    name.ends_with(".sig")
        || (name.starts_with("sha256-") && (name.ends_with(".att") || name.ends_with(".sbom")))
}

/// Tags (or candidates) handled between two questions to the caller's clock: rare enough to cost nothing,
/// often enough to stop within milliseconds.
const CHECK_EVERY: usize = 1 << 14;

/// Selection gave up because the caller's time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("choosing among {tags} tags did not finish in time")]
pub struct OutOfTime {
    pub tags: usize,
}

/// How a long loop learns that it must stop: asks the caller every [`CHECK_EVERY`] steps, and keeps the answer.
pub(crate) struct Interrupt<'f> {
    out_of_time: Option<&'f dyn Fn() -> bool>,
    steps: usize,
    stopped: bool,
}

impl<'f> Interrupt<'f> {
    fn never() -> Self {
        Interrupt {
            out_of_time: None,
            steps: 0,
            stopped: false,
        }
    }

    fn new(out_of_time: &'f dyn Fn() -> bool) -> Self {
        Interrupt {
            out_of_time: Some(out_of_time),
            ..Interrupt::never()
        }
    }

    /// Counts one step; true once the loop must stop.
    pub(crate) fn step(&mut self) -> bool {
        self.steps += 1;
        if !self.stopped
            && self.steps.is_multiple_of(CHECK_EVERY)
            && let Some(out_of_time) = self.out_of_time
        {
            self.stopped = out_of_time();
        }
        self.stopped
    }

    fn result(&self, tags: usize) -> Result<(), OutOfTime> {
        if self.stopped {
            Err(OutOfTime { tags })
        } else {
            Ok(())
        }
    }
}

/// The filter that dropped a tag.
enum FilterStep {
    AllowTags,
    IgnoreTags,
    TagPattern,
}

impl FilterStep {
    fn record<'a>(&self, dropped: &mut Dropped<'a>, name: &'a str) {
        match self {
            FilterStep::AllowTags => dropped.not_allowed.push(name),
            FilterStep::IgnoreTags => dropped.ignored.push(name),
            FilterStep::TagPattern => dropped.no_pattern_match.push(name),
        }
    }
}

/// A tag that passed the filters, with the text the strategy orders on: the tag itself, or what the tag pattern
/// extracted from it.
#[derive(Debug)]
pub struct Candidate<'a> {
    pub tag: &'a Tag,
    pub key: Cow<'a, str>,
}

/// Tags that did not make it, by the step that dropped them (in the order of the input).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dropped<'a> {
    /// Not matched by `allow-tags`.
    pub not_allowed: Vec<&'a str>,
    /// Matched by a glob of `ignore-tags`.
    pub ignored: Vec<&'a str>,
    /// Not matched by the tag pattern.
    pub no_pattern_match: Vec<&'a str>,
    /// No image for the wanted platforms.
    pub no_platform: Vec<&'a str>,
    /// Not readable by the strategy (not a version for `semver`, not a number for `numerical`).
    pub unparsable: Vec<&'a str>,
    /// Readable, but outside the strategy's constraint (the semver constraint; for `digest`, any other tag).
    pub outside_constraint: Vec<&'a str>,
}

impl Dropped<'_> {
    pub fn total(&self) -> usize {
        self.not_allowed.len()
            + self.ignored.len()
            + self.no_pattern_match.len()
            + self.no_platform.len()
            + self.unparsable.len()
            + self.outside_constraint.len()
    }
}

/// The outcome of [`Policy::select`].
#[derive(Clone, Debug)]
pub struct Selection<'a> {
    pub winner: Option<&'a Tag>,
    /// How many tags were looked at.
    pub considered: usize,
    pub dropped: Dropped<'a>,
}

impl Selection<'_> {
    /// How many tags passed every step (the winner was picked among these).
    pub fn candidates(&self) -> usize {
        self.considered - self.dropped.total()
    }
}

impl fmt::Display for Policy {
    /// A one-line summary for messages and annotations: `strategy semver, constraint '^1.2', allow-tags '…'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "strategy {}", self.strategy)?;
        if let AllowTags::Regexp(re) = &self.allow {
            write!(f, ", allow-tags 'regexp:{}'", re.as_str())?;
        }
        if !self.ignore.globs().is_empty() {
            let globs: Vec<&str> = self.ignore.globs().iter().map(Glob::as_str).collect();
            write!(f, ", ignore-tags '{}'", globs.join(", "))?;
        }
        if let Some(extract) = &self.extract {
            write!(f, ", tag pattern '{}'", extract.pattern().as_str())?;
        }
        if !self.platforms.is_empty() {
            let platforms: Vec<String> = self.platforms.iter().map(ToString::to_string).collect();
            write!(f, ", platforms '{}'", platforms.join(","))?;
        }
        if self.pin_digest {
            f.write_str(", pin-digest")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
