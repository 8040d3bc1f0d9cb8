//! Update strategies: how the candidates that passed the filters are ordered, one file per strategy.
//!
//! Names are argocd-image-updater's (`semver`, `newest-build`, `alphabetical`, `digest`, with the old names
//! `latest` and `name`), plus Flux's `numerical`. Every strategy goes through [`best`], so unreadable tags are
//! skipped and counted the same way and ties are broken by the same rule.

mod alphabetical;
mod digest;
mod newest_build;
mod numerical;
mod semver;

use std::fmt;

use thiserror::Error;

use super::{Candidate, Dropped, Interrupt};
use crate::constraint::Constraint;
use crate::tag::Tag;

/// Which end of the ordering wins, for the strategies that let the user choose (Flux's `order`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// The greatest value wins (Flux's default).
    #[default]
    Asc,
    /// The least value wins.
    Desc,
}

/// How the newest allowed tag is chosen, with the parameters that strategy takes.
#[derive(Clone, Debug)]
pub enum Strategy {
    /// The highest version that satisfies the constraint.
    Semver {
        constraint: Constraint,
        /// Let prerelease versions match any constraint (Masterminds' `IncludePrerelease`).
        include_prerelease: bool,
        /// Accept only `MAJOR.MINOR.PATCH` versions (optional `v`), as Flux does; otherwise 1- and 2-part too.
        strict: bool,
    },
    /// The most recently built image; ties broken by tag name.
    NewestBuild,
    /// The lexically last tag (`Order::Desc`: the first).
    Alphabetical { order: Order },
    /// The highest number (`Order::Desc`: the lowest); tags that are not numbers are skipped.
    Numerical { order: Order },
    /// One mutable tag, tracked by its digest.
    Digest { tag: String },
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StrategyError {
    #[error(
        "unknown update strategy '{0}': expected semver, newest-build, alphabetical, digest or numerical (old names: latest, name)"
    )]
    Unknown(String),
    #[error("unknown sort order '{0}': expected asc or desc")]
    UnknownOrder(String),
    // The constraint's own error already quotes it.
    #[error("{source}")]
    Constraint {
        constraint: String,
        source: crate::constraint::ConstraintError,
    },
    #[error("invalid tag to track '{0}' for the digest strategy: give one tag, such as 'latest'")]
    DigestTag(String),
}

impl Order {
    pub fn parse(value: &str) -> Result<Order, StrategyError> {
        match value.trim() {
            "" | "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            other => Err(StrategyError::UnknownOrder(other.to_string())),
        }
    }
}

impl Strategy {
    /// Builds a strategy from its name (argocd-image-updater's `update-strategy` value; empty = `semver`) and the
    /// constraint text (the tag part of an `image-list` entry). The constraint means a version range for `semver`
    /// and the tag to track for `digest` (default `latest`); the other strategies take none.
    pub fn parse(
        name: &str,
        constraint: Option<&str>,
        order: Order,
    ) -> Result<Strategy, StrategyError> {
        let constraint = constraint.map(str::trim).filter(|c| !c.is_empty());
        match name.trim() {
            "" | "semver" => {
                let text = constraint.unwrap_or("");
                let parsed =
                    Constraint::parse(text).map_err(|source| StrategyError::Constraint {
                        constraint: text.to_string(),
                        source,
                    })?;
                Ok(Strategy::Semver {
                    constraint: parsed,
                    include_prerelease: false,
                    strict: false,
                })
            }
            "newest-build" | "latest" => Ok(Strategy::NewestBuild),
            "alphabetical" | "name" => Ok(Strategy::Alphabetical { order }),
            "numerical" => Ok(Strategy::Numerical { order }),
            "digest" => {
                let tag = constraint.unwrap_or("latest");
                if !crate::tag::is_valid_tag(tag) {
                    return Err(StrategyError::DigestTag(tag.to_string()));
                }
                Ok(Strategy::Digest {
                    tag: tag.to_string(),
                })
            }
            other => Err(StrategyError::Unknown(other.to_string())),
        }
    }

    /// The strategy's canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Semver { .. } => "semver",
            Strategy::NewestBuild => "newest-build",
            Strategy::Alphabetical { .. } => "alphabetical",
            Strategy::Numerical { .. } => "numerical",
            Strategy::Digest { .. } => "digest",
        }
    }

    /// The constraint text this strategy applies, if any: the version range, or the tracked tag.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Strategy::Semver { constraint, .. } if !constraint.is_any() => {
                Some(constraint.as_str())
            }
            Strategy::Digest { tag } => Some(tag),
            _ => None,
        }
    }

    /// Whether tags of signatures and attestations (`*.sig`, cosign's `sha256-….att` / `.sbom`) are left out by
    /// default, as Flux does: they sort among real tags by name, number or push time, never by version, and are
    /// never an image to run.
    pub fn skips_signature_tags(&self) -> bool {
        matches!(
            self,
            Strategy::NewestBuild | Strategy::Alphabetical { .. } | Strategy::Numerical { .. }
        )
    }

    /// Whether this strategy needs each candidate's build time (so the registry must read config blobs).
    pub fn needs_creation_time(&self) -> bool {
        matches!(self, Strategy::NewestBuild)
    }

    /// Whether this strategy needs the winner's digest.
    pub fn needs_digest(&self) -> bool {
        matches!(self, Strategy::Digest { .. })
    }

    /// Picks the winner among `candidates`, recording in `dropped` the ones the strategy rejects; stops early
    /// (with a meaningless answer) when `interrupt` says so.
    pub(super) fn pick<'a>(
        &self,
        candidates: &[Candidate<'a>],
        dropped: &mut Dropped<'a>,
        interrupt: &mut Interrupt<'_>,
    ) -> Option<&'a Tag> {
        match self {
            Strategy::Semver {
                constraint,
                include_prerelease,
                strict,
            } => semver::pick(
                candidates,
                dropped,
                interrupt,
                constraint,
                *include_prerelease,
                *strict,
            ),
            Strategy::NewestBuild => newest_build::pick(candidates, dropped, interrupt),
            Strategy::Alphabetical { order } => {
                alphabetical::pick(candidates, dropped, interrupt, *order)
            }
            Strategy::Numerical { order } => {
                numerical::pick(candidates, dropped, interrupt, *order)
            }
            Strategy::Digest { tag } => digest::pick(candidates, dropped, interrupt, tag),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Strategy::Semver {
                constraint,
                include_prerelease,
                strict,
            } => {
                if !constraint.is_any() {
                    write!(f, ", constraint '{}'", constraint.as_str())?;
                }
                if *include_prerelease {
                    f.write_str(", prereleases included")?;
                }
                if *strict {
                    f.write_str(", strict versions")?;
                }
            }
            Strategy::Alphabetical { order: Order::Desc }
            | Strategy::Numerical { order: Order::Desc } => {
                f.write_str(", order desc")?;
            }
            Strategy::Digest { tag } => write!(f, ", tracking '{tag}'")?,
            _ => {}
        }
        Ok(())
    }
}

/// What a strategy makes of one candidate.
enum Verdict<K> {
    /// A candidate, ordered by this key.
    Keep(K),
    /// The strategy cannot read the candidate's key (not a version, not a number).
    Unparsable,
    /// Readable, but excluded by the strategy's constraint.
    Outside,
}

/// The candidate with the greatest key, ties broken by the greater tag name; records the rejected ones.
fn best<'a, K: Ord>(
    candidates: &[Candidate<'a>],
    dropped: &mut Dropped<'a>,
    interrupt: &mut Interrupt<'_>,
    mut judge: impl FnMut(&Candidate<'a>) -> Verdict<K>,
) -> Option<&'a Tag> {
    let mut winner: Option<(K, &'a Tag)> = None;
    for candidate in candidates {
        if interrupt.step() {
            return None;
        }
        match judge(candidate) {
            Verdict::Keep(key) => {
                let better = match &winner {
                    None => true,
                    Some((best_key, best_tag)) => {
                        (&key, candidate.tag.name.as_str()) > (best_key, best_tag.name.as_str())
                    }
                };
                if better {
                    winner = Some((key, candidate.tag));
                }
            }
            Verdict::Unparsable => dropped.unparsable.push(&candidate.tag.name),
            Verdict::Outside => dropped.outside_constraint.push(&candidate.tag.name),
        }
    }
    winner.map(|(_, tag)| tag)
}
