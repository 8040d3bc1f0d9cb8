//! What happened to each registry request of a plan: the registry and credential used, the requests sent, the
//! tags listed, what each step dropped, the winner and why, the failure and the fallback; for a pin, whether its
//! tag exists; and, for an image of an application with a lock file, its entry ([`LockTrace`]). `explain` prints
//! it as it is (the JSON field names are its report's); `generate` needs only the outcome it leads to.

use std::fmt::{self, Write as _};

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::generate::GenerateError;
use crate::lock::LockEntry;
use crate::policy::source::{Located, TrackedImage};
use crate::policy::{Order, Policy, Strategy};
use crate::registry::credentials::CredentialError;
use crate::registry::{AccessError, CredentialSource, RegistryError};
use crate::resolver::Resolution;
use crate::tag::Tag;

/// One distinct request (repository, policy, credentials) and what came of it.
#[derive(Clone, Debug, Serialize)]
pub struct RequestTrace {
    /// The first image of the plan that made this request (others with the same request share the trace).
    #[serde(skip)]
    pub tracked: TrackedImage,
    pub registry: RegistryTrace,
    /// What the registry listed and the policy made of it; `None` when no listing came.
    pub tags: Option<TagsTrace>,
    /// Why no tag came of the request.
    #[serde(serialize_with = "as_text")]
    pub error: Option<ResolveFailure>,
    /// The tag recorded the last time this request got an answer, used when this time it got none.
    pub fallback: Option<FallbackTrace>,
    /// For a pin: whether the registry has the pinned tag (a pin's request lists no tags and has no fallback).
    pub pin: Option<PinTrace>,
}

impl RequestTrace {
    /// For a pin's request whose tag the registry does not have: what `generate` fails with, naming the pin, the
    /// image and the nearest existing tags.
    pub fn pin_not_found(&self) -> Option<GenerateError> {
        let Some(PinTrace::NotFound {
            tag,
            nearest,
            unlisted,
        }) = &self.pin
        else {
            return None;
        };
        Some(GenerateError::PinNotFound {
            at: pin_at(&self.tracked),
            image: self.tracked.image.to_string(),
            tag: tag.clone(),
            nearest: nearest.clone(),
            unlisted: unlisted.clone(),
        })
    }

    /// For a pin's request the registry could not answer: the warning naming the pin and why.
    pub fn pin_not_verified(&self) -> Option<String> {
        let Some(PinTrace::NotVerified { reason, .. }) = &self.pin else {
            return None;
        };
        Some(format!(
            "{} pins image {} to a tag that could not be verified, rendered as pinned: {reason}",
            pin_at(&self.tracked),
            self.tracked.image
        ))
    }
}

/// The pin's key, value and where it was written, for messages.
fn pin_at(tracked: &TrackedImage) -> Box<Located> {
    Box::new(
        tracked
            .pin_origin()
            .expect("a pinned image records where its pin was written")
            .located(),
    )
}

/// What came of checking that a pinned tag exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PinTrace {
    /// The registry has the tag: rendered.
    Verified {
        tag: String,
        by: PinEvidence,
        /// The manifest digest the `HEAD` named (none from a cached tag list).
        digest: Option<String>,
    },
    /// The registry answered that it does not have the tag: the render fails.
    NotFound {
        tag: String,
        /// The existing tags nearest to it, nearest first.
        nearest: Vec<String>,
        /// Why the repository's tags could not be listed, when they could not.
        unlisted: Option<String>,
    },
    /// The registry could not say (unreachable, late, a 5xx, a credential refused): rendered anyway, with a
    /// warning, since a pin is for emergencies.
    NotVerified { tag: String, reason: String },
}

/// What showed that a pinned tag exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinEvidence {
    /// A fresh cached tag list holds it: no request.
    CachedTagList,
    /// A `HEAD` of its manifest.
    Head,
}

/// The registry side of a request.
#[derive(Clone, Debug, Serialize)]
pub struct RegistryTrace {
    pub registry: String,
    /// The registries.conf entry (or the registry itself when none matches); `None` when the configuration
    /// refused it.
    pub entry: Option<String>,
    /// Without userinfo.
    pub api_url: Option<String>,
    pub credential: Option<CredentialSource>,
    /// Requests sent for this request (exact when requests are resolved one at a time, as `explain` does).
    pub requests: u64,
    pub elapsed_ms: u128,
}

/// The tags a registry listed and the policy's choice among them.
#[derive(Clone, Debug, Serialize)]
pub struct TagsTrace {
    pub listed: usize,
    /// Names that are not valid tags, skipped.
    pub invalid: usize,
    pub pages: u32,
    /// The tags every step let through, sorted (empty unless names were asked for).
    pub candidates: Vec<String>,
    pub winner: Option<WinnerTrace>,
    pub dropped: DroppedTrace,
    /// How many tags the steps dropped (also when their names were not kept).
    #[serde(skip)]
    pub dropped_count: usize,
    /// Every tag listed, by name, when asked for (`ResolveOptions::listed`); else empty.
    #[serde(skip)]
    pub listed_names: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WinnerTrace {
    pub tag: String,
    pub digest: Option<String>,
    pub created: Option<String>,
    /// Why the strategy picked it, in words.
    pub reason: String,
}

/// The tags each step dropped, sorted; the same step names as `resolve -o json` uses.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DroppedTrace {
    pub allow_tags: Vec<String>,
    pub ignore_tags: Vec<String>,
    pub tag_pattern: Vec<String>,
    pub platforms: Vec<String>,
    pub unparsable: Vec<String>,
    pub constraint: Vec<String>,
}

impl DroppedTrace {
    /// Each step with the label the text output gives it, in the order selection runs them.
    pub fn steps(&self) -> [(&'static str, &[String]); 6] {
        [
            ("allow-tags", &self.allow_tags),
            ("ignore-tags", &self.ignore_tags),
            ("tag-pattern", &self.tag_pattern),
            ("platforms", &self.platforms),
            ("unparsable", &self.unparsable),
            ("constraint", &self.constraint),
        ]
    }
}

/// An image's entry in its application's lock file, and whether it decided the image.
#[derive(Clone, Debug, Serialize)]
pub struct LockTrace {
    /// The entry's key: `alias=repository`.
    pub entry: String,
    pub tag: String,
    pub digest: Option<String>,
    /// The policy the entry was resolved under, as recorded.
    pub policy: Option<String>,
    /// Whether that policy is not the image's now (the entry renders all the same until the committer moves it).
    pub policy_changed: bool,
    pub pin: Option<String>,
    pub hold: bool,
    pub rejected: Vec<String>,
    /// Whether the entry decided the image; not when the Application pins it.
    pub decided: bool,
}

impl LockTrace {
    /// The trace of `entry` for `tracked`, which it `decided` or not.
    pub fn of(entry: &LockEntry, tracked: &TrackedImage, decided: bool) -> LockTrace {
        LockTrace {
            entry: entry.key.to_string(),
            tag: entry.tag.to_string(),
            digest: entry.digest.clone(),
            policy: entry.policy.clone(),
            policy_changed: entry
                .policy
                .as_deref()
                .is_some_and(|p| p != tracked.policy.to_string()),
            pin: entry.pin.as_ref().map(ToString::to_string),
            hold: entry.hold,
            rejected: entry.rejected.iter().map(ToString::to_string).collect(),
            decided,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FallbackTrace {
    pub tag: String,
    pub digest: Option<String>,
    pub resolved_at: String,
}

/// Why a request got no tag from its registry.
#[derive(Clone, Debug, Error)]
pub enum ResolveFailure {
    /// A pull secret of a namespace the Application may not use: failed outright, with no fallback, since a
    /// last-known-good tag would hand over what that secret once read.
    #[error("pull secret '{spec}' is in namespace {namespace}: {reason}")]
    SecretScope {
        spec: String,
        namespace: String,
        reason: String,
    },
    /// The named secret is mounted only without its namespace directory, for another namespace or for none:
    /// failed outright, with no fallback, since a last-known-good tag kept under that name may have been read
    /// with that flat secret when it still answered for every namespace.
    #[error("{0}")]
    SecretMountedFlat(String),
    #[error("{0}")]
    Access(String),
    #[error("{0}")]
    Registry(Box<RegistryError>),
    #[error("no tag satisfies the policy: the repository has no tags")]
    NoTags,
    #[error(
        "no tag satisfies the policy: of {listed} tags, {dropped} were dropped by its filters or constraint"
    )]
    NoWinner { listed: usize, dropped: usize },
    /// The registry named kept the request waiting past the deadline.
    #[error("registry {registry} did not answer within the time budget (--budget)")]
    TimedOut { registry: String },
}

impl From<AccessError> for ResolveFailure {
    fn from(error: AccessError) -> Self {
        match &error {
            AccessError::Credential {
                source: CredentialError::SecretMountedFlat { .. },
                ..
            } => ResolveFailure::SecretMountedFlat(error.to_string()),
            _ => ResolveFailure::Access(error.to_string()),
        }
    }
}

impl ResolveFailure {
    /// Whether the last-known-good tag may stand in.
    pub fn may_fall_back(&self) -> bool {
        !matches!(
            self,
            ResolveFailure::SecretScope { .. } | ResolveFailure::SecretMountedFlat(_)
        )
    }
}

impl TagsTrace {
    /// The trace of a resolution: its choice (names only if the resolution kept them) and the winner's reason.
    pub fn of(policy: &Policy, resolution: &Resolution) -> TagsTrace {
        let choice = &resolution.choice;
        let (candidates, dropped) = match &choice.names {
            Some(n) => (
                n.candidates.clone(),
                DroppedTrace {
                    allow_tags: n.not_allowed.clone(),
                    ignore_tags: n.ignored.clone(),
                    tag_pattern: n.no_pattern_match.clone(),
                    platforms: n.no_platform.clone(),
                    unparsable: n.unparsable.clone(),
                    constraint: n.outside_constraint.clone(),
                },
            ),
            None => (Vec::new(), DroppedTrace::default()),
        };
        TagsTrace {
            listed: choice.considered,
            invalid: resolution.invalid_tags,
            pages: resolution.pages,
            candidates,
            winner: resolution.winner().map(|winner| WinnerTrace {
                tag: winner.name.to_string(),
                digest: winner.digest.clone(),
                created: winner
                    .created
                    .filter(|_| !resolution.dated_by_position)
                    .map(|c| c.to_rfc3339()),
                reason: if resolution.dated_by_position {
                    "the newest in the order the registry lists its tags (registries.conf tagsortmode)"
                        .to_string()
                } else {
                    winner_reason(policy, winner)
                },
            }),
            dropped,
            dropped_count: choice.dropped,
            listed_names: Vec::new(),
        }
    }

    /// Why there is no winner, when there is none.
    pub fn no_winner(&self) -> Option<ResolveFailure> {
        match (&self.winner, self.listed) {
            (Some(_), _) => None,
            (None, 0) => Some(ResolveFailure::NoTags),
            (None, listed) => Some(ResolveFailure::NoWinner {
                listed,
                dropped: self.dropped_count,
            }),
        }
    }
}

/// Why the strategy picked `winner` among the candidates, in words.
fn winner_reason(policy: &Policy, winner: &Tag) -> String {
    let mut reason = match &policy.strategy {
        Strategy::Semver { .. } => match policy.strategy.constraint() {
            Some(c) => format!("the highest version within '{c}'"),
            None => "the highest version".to_string(),
        },
        Strategy::NewestBuild => match winner.created {
            Some(created) => format!("the most recently built, at {}", created.to_rfc3339()),
            None => "the most recently built".to_string(),
        },
        Strategy::Alphabetical { order: Order::Asc } => "the last in lexical order".to_string(),
        Strategy::Alphabetical { order: Order::Desc } => "the first in lexical order".to_string(),
        Strategy::Numerical { order: Order::Asc } => "the highest number".to_string(),
        Strategy::Numerical { order: Order::Desc } => "the lowest number".to_string(),
        Strategy::Digest { tag } => match &winner.digest {
            Some(digest) => format!("the tracked tag '{tag}', now {digest}"),
            None => format!("the tracked tag '{tag}'"),
        },
    };
    if policy.extract.is_some() && !matches!(policy.strategy, Strategy::Digest { .. }) {
        reason.push_str(", ordered on what the tag pattern extracts");
    }
    if policy.pin_digest
        && let Some(digest) = &winner.digest
    {
        let _ = write!(reason, "; rendered with its digest {digest} (pin-digest)");
    }
    reason
}

fn as_text<S: Serializer, T: fmt::Display>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value
        .as_ref()
        .map(ToString::to_string)
        .serialize(serializer)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::image::ImageDefaults;
    use crate::resolver::Detail;

    fn tag(name: &str) -> Tag {
        Tag::parse(name).unwrap()
    }

    /// The images `Deployment/web` tracks with these annotations (keys without the prefix).
    fn tracked_images(annotations: &[(&str, &str)]) -> Vec<TrackedImage> {
        let annotations: Vec<(String, String)> = annotations
            .iter()
            .map(|(k, v)| {
                (
                    format!("{}{k}", crate::policy::source::PREFIX),
                    (*v).to_string(),
                )
            })
            .collect();
        crate::policy::source::Settings::from_annotations("Deployment/web", &annotations)
            .tracked_images_in(&ImageDefaults::default())
            .unwrap()
            .images
    }

    /// The trace of `resolution` once the policy has chosen, names kept, as `explain` asks.
    fn traced(policy: &Policy, mut resolution: Resolution) -> TagsTrace {
        resolution.choose(policy, Detail::Names);
        TagsTrace::of(policy, &resolution)
    }

    #[test]
    fn winner_reasons_name_the_strategy_rule() {
        let built = Tag {
            created: Some("2024-05-01T10:00:00Z".parse().unwrap()),
            ..tag("b7")
        };
        let digested = Tag {
            digest: Some("sha256:abc".into()),
            ..tag("latest")
        };
        for (name, list, strategy, winner, want) in [
            (
                "semver with constraint",
                "a=x:~1",
                None,
                tag("1.2.0"),
                "the highest version within '~1'",
            ),
            (
                "semver without",
                "a=x",
                None,
                tag("1.2.0"),
                "the highest version",
            ),
            (
                "newest-build",
                "a=x",
                Some("newest-build"),
                built,
                "the most recently built, at 2024-05-01T10:00:00+00:00",
            ),
            (
                "alphabetical",
                "a=x",
                Some("alphabetical"),
                tag("b"),
                "the last in lexical order",
            ),
            (
                "digest",
                "a=x:latest",
                Some("digest"),
                digested,
                "the tracked tag 'latest', now sha256:abc",
            ),
        ] {
            let mut annotations = vec![("image-list", list)];
            if let Some(s) = strategy {
                annotations.push(("a.update-strategy", s));
            }
            let tracked = &tracked_images(&annotations)[0];
            assert_eq!(winner_reason(&tracked.policy, &winner), want, "{name}");
        }
        let tracked = &tracked_images(&[
            ("image-list", "a=x"),
            ("a.update-strategy", "numerical"),
            ("a.order", "desc"),
            ("a.tag-pattern", "^build-(?P<n>[0-9]+)$"),
            ("a.extract", "$n"),
        ])[0];
        assert_eq!(
            winner_reason(&tracked.policy, &tag("build-1")),
            "the lowest number, ordered on what the tag pattern extracts"
        );
    }

    #[test]
    fn tags_traces_list_every_drop_sorted_and_the_candidates() {
        let tracked = &tracked_images(&[
            ("image-list", "web=x:~1"),
            ("web.ignore-tags", "*-debug"),
            ("web.allow-tags", "regexp:^[0-9v]"),
        ])[0];
        let resolution = Resolution {
            unavailable: HashSet::from(["1.1.0".to_string()]),
            pages: 1,
            ..Resolution::of_tags(
                [
                    "2.0.0",
                    "1.3.0-debug",
                    "1.1.0",
                    "latest",
                    "1.0.0",
                    "v1.2.0",
                    "1.0.0-debug",
                ]
                .into_iter()
                .map(tag)
                .collect(),
            )
        };
        let report = traced(&tracked.policy, resolution);
        assert_eq!(report.listed, 7);
        assert_eq!(report.candidates, ["1.0.0", "v1.2.0"]);
        assert_eq!(
            report.winner.as_ref().map(|w| w.tag.as_str()),
            Some("v1.2.0")
        );
        assert_eq!(report.dropped.allow_tags, ["latest"]);
        assert_eq!(report.dropped.ignore_tags, ["1.0.0-debug", "1.3.0-debug"]);
        assert_eq!(report.dropped.platforms, ["1.1.0"]);
        assert_eq!(report.dropped.constraint, ["2.0.0"]);
        assert_eq!(report.dropped_count, 5);
    }

    #[test]
    fn tags_dated_by_their_place_show_no_date() {
        let tracked = &tracked_images(&[
            ("image-list", "web=x"),
            ("web.update-strategy", "newest-build"),
        ])[0];
        let mut tags: Vec<Tag> = ["a", "b"].into_iter().map(tag).collect();
        tags[1].created = Some("1970-01-01T00:00:02Z".parse().unwrap());
        let resolution = Resolution {
            dated_by_position: true,
            ..Resolution::of_tags(tags)
        };
        let winner = traced(&tracked.policy, resolution).winner.unwrap();
        assert_eq!((winner.tag.as_str(), winner.created), ("b", None));
        assert_eq!(
            winner.reason,
            "the newest in the order the registry lists its tags (registries.conf tagsortmode)"
        );
    }

    #[test]
    fn no_winner_message_counts_the_drops() {
        let tracked = &tracked_images(&[("image-list", "web=x:~3")])[0];
        for (name, tags, want) in [
            (
                "empty",
                vec![],
                "no tag satisfies the policy: the repository has no tags",
            ),
            (
                "all dropped",
                vec![tag("1.0.0"), tag("2.0.0")],
                "no tag satisfies the policy: of 2 tags, 2 were dropped by its filters or constraint",
            ),
        ] {
            let resolution = Resolution::of_tags(tags);
            let report = traced(&tracked.policy, resolution);
            assert_eq!(report.no_winner().unwrap().to_string(), want, "{name}");
        }
    }
}
