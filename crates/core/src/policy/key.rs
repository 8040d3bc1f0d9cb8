//! A policy's canonical fields, for keys that must outlive a process (the cache): built from the policy's values,
//! never from its `Display` summary, so rewording a message cannot change a key.

use serde::{Deserialize, Serialize};

use super::filter::AllowTags;
use super::{Order, Platform, Policy, Strategy};

/// Everything that decides a policy's answer, field by field. Two policies have equal keys exactly when they pick
/// the same tag from every list: options that only spell a default (`order: asc`, an empty constraint) do not
/// differ.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyKey {
    pub strategy: StrategyKey,
    /// The `allow-tags` regular expression as given; `None`: any tag.
    pub allow_tags: Option<String>,
    /// The `ignore-tags` globs as given, in order.
    pub ignore_tags: Vec<String>,
    /// The tag pattern and its extract template.
    pub tag_pattern: Option<TagPatternKey>,
    /// The wanted platforms in order, each `os/arch[/variant]`.
    pub platforms: Vec<String>,
    /// `pin-digest`: the answer must carry the winner's digest. Left out of the encoding when false, so the keys
    /// of policies without it are those written before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pin_digest: bool,
}

/// A strategy with its parameters, tagged by the strategy's canonical name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum StrategyKey {
    Semver {
        /// The constraint text as given; `None`: any version.
        constraint: Option<String>,
        include_prerelease: bool,
        strict: bool,
    },
    NewestBuild,
    Alphabetical {
        descending: bool,
    },
    Numerical {
        descending: bool,
    },
    Digest {
        tag: String,
    },
}

/// Flux's `filterTags`: the pattern and what it extracts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TagPatternKey {
    pub pattern: String,
    pub extract: String,
}

impl Policy {
    /// The policy's canonical fields (see [`PolicyKey`]).
    pub fn key(&self) -> PolicyKey {
        let strategy = match &self.strategy {
            Strategy::Semver {
                constraint,
                include_prerelease,
                strict,
            } => StrategyKey::Semver {
                constraint: (!constraint.is_any()).then(|| constraint.as_str().to_string()),
                include_prerelease: *include_prerelease,
                strict: *strict,
            },
            Strategy::NewestBuild => StrategyKey::NewestBuild,
            Strategy::Alphabetical { order } => StrategyKey::Alphabetical {
                descending: *order == Order::Desc,
            },
            Strategy::Numerical { order } => StrategyKey::Numerical {
                descending: *order == Order::Desc,
            },
            Strategy::Digest { tag } => StrategyKey::Digest { tag: tag.clone() },
        };
        PolicyKey {
            strategy,
            allow_tags: match &self.allow {
                AllowTags::Any => None,
                AllowTags::Regexp(re) => Some(re.as_str().to_string()),
            },
            ignore_tags: (self.ignore.globs().iter())
                .map(|g| g.as_str().to_string())
                .collect(),
            tag_pattern: self.extract.as_ref().map(|e| TagPatternKey {
                pattern: e.pattern().as_str().to_string(),
                extract: e.extract().to_string(),
            }),
            platforms: self.platforms.iter().map(platform_key).collect(),
            pin_digest: self.pin_digest,
        }
    }
}

/// A platform's canonical text for keys, `os/arch[/variant]` (what the `platforms` option parses back), built
/// from its fields rather than by its `Display`.
pub fn platform_key(platform: &Platform) -> String {
    let variant = platform.variant.as_deref().filter(|v| !v.is_empty());
    [
        Some(platform.os.as_str()),
        Some(platform.architecture.as_str()),
        variant,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("/")
}
