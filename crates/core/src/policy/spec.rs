//! The one policy builder: raw option values, each with where it was written, turned into a validated [`Policy`]
//! and warnings in one place, whichever front-end filled them in (`resolve`'s flags, or the annotations,
//! parameters and plugin env that [`super::source`] merges).
//!
//! A front-end reads its own spelling of the keys and decides which value applies (precedence, aliases, the
//! deprecated `tag-match`); everything about the values themselves is decided here: strategy names (ignoring case,
//! with the old names `latest` and `name`), `order`, `allow-tags`, `ignore-tags`, the tag pattern and its `extract`
//! template, `platforms`, the booleans, and the options a strategy does not use. A message names the value at
//! fault by its [`ValueOrigin`], so each front-end keeps its wording: `invalid --allow-tags: …` for a flag,
//! `annotation <key> = '<value>' (on Deployment/web): …` for a key.

use std::fmt;

use super::filter::{AllowTags, Extract, FilterError, IgnoreTags};
use super::source::{Located, PREFIX};
use super::strategy::StrategyError;
use super::{Order, Platform, Policy, Strategy};
use crate::platform::PlatformError;

/// Where a value of a [`PolicySpec`] was written: what its messages name.
///
/// Not [`super::source::Origin`]: a message names the key and the value along with the source ([`Located`]), and
/// command-line arguments are no source of that kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOrigin {
    /// An argument of the `resolve` command (or its `IMAGE_RESOLVER_*` variable), by the name its messages give it:
    /// `--allow-tags`, or `policy` for what the image argument, `--constraint` and `--strategy` decide together.
    /// An argument is given for the one image being resolved, so one the strategy does not use is an error.
    Arg(&'static str),
    /// A policy key as a source wrote it. `default`: a key without alias, the default for every image, which is
    /// never reported as having no effect on one image's strategy (an alias's own key is, with a warning).
    Key { at: Box<Located>, default: bool },
}

/// One raw value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecValue {
    pub text: String,
    pub origin: ValueOrigin,
}

impl SpecValue {
    pub fn new(text: impl Into<String>, origin: ValueOrigin) -> SpecValue {
        SpecValue {
            text: text.into(),
            origin,
        }
    }

    /// An error about this value.
    fn error(&self, problem: Problem) -> PolicyError {
        PolicyError {
            at: self.origin.clone(),
            problem: Box::new(problem),
        }
    }
}

/// How messages ask for an option that was not given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Naming {
    /// By the `resolve` command's flag: `--tag-pattern`.
    Flags,
    /// By the image's own annotation key (`<prefix>web.tag-pattern`, the alias in key form), or without alias the
    /// default's (`<prefix>tag-pattern`).
    Keys { alias_key: Option<String> },
}

impl Naming {
    /// The name of `option` (as annotation keys spell it after the alias: `tag-pattern`).
    pub fn option(&self, option: &str) -> String {
        match self {
            Naming::Flags => format!("--{option}"),
            Naming::Keys {
                alias_key: Some(alias),
            } => format!("{PREFIX}{alias}.{option}"),
            Naming::Keys { alias_key: None } => format!("{PREFIX}{option}"),
        }
    }
}

/// One image's policy options as given, not yet validated; unset options are `None`. Fill in what the front-end
/// read, then [`PolicySpec::build`].
///
/// ```
/// use argocd_image_resolver_core::policy::spec::{Naming, PolicySpec, SpecValue, ValueOrigin};
///
/// let mut spec = PolicySpec::new(ValueOrigin::Arg("policy"), Naming::Flags);
/// spec.constraint = Some("^1.2".to_string());
/// spec.allow_tags = Some(SpecValue::new("regexp:^1", ValueOrigin::Arg("--allow-tags")));
/// let (policy, warnings) = spec.build().unwrap();
/// assert_eq!(policy.to_string(), "strategy semver, constraint '^1.2', allow-tags 'regexp:^1'");
/// assert!(warnings.is_empty());
///
/// spec.platforms = Some(SpecValue::new("linux", ValueOrigin::Arg("--platforms")));
/// assert_eq!(
///     spec.build().unwrap_err().to_string(),
///     "invalid --platforms: platform 'linux' is not os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySpec {
    /// Where the image was named, with its constraint: an `image-list` entry, or `resolve`'s arguments.
    pub image: ValueOrigin,
    /// The version constraint for `semver`, the tag to track for `digest` (the tag part of `app:^1`, or
    /// `--constraint`). Its messages name [`PolicySpec::image`].
    pub constraint: Option<String>,
    /// `update-strategy`; unset: `semver`.
    pub strategy: Option<SpecValue>,
    /// `asc` or `desc`, for `alphabetical` and `numerical`; unset: `asc`.
    pub order: Option<SpecValue>,
    /// `regexp:<expression>` or `any`.
    pub allow_tags: Option<SpecValue>,
    /// Comma-separated globs.
    pub ignore_tags: Option<SpecValue>,
    /// Flux's tag pattern; `extract` needs it.
    pub tag_pattern: Option<SpecValue>,
    pub extract: Option<SpecValue>,
    /// Comma-separated `os/arch[/variant]`.
    pub platforms: Option<SpecValue>,
    /// `true` or `false`, for `semver`.
    pub include_prerelease: Option<SpecValue>,
    /// `true` or `false`, for `semver`.
    pub strict_semver: Option<SpecValue>,
    /// `true` or `false`: render `tag@<digest>`; for every strategy but `digest` (which always does).
    pub pin_digest: Option<SpecValue>,
    /// How messages ask for an option that is missing.
    pub naming: Naming,
}

/// Why a [`PolicySpec`] cannot be built: the value at fault, where it was written, and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub at: ValueOrigin,
    /// Boxed: errors travel in `Result`s, and some problems carry a whole parse error.
    pub problem: Box<Problem>,
}

/// What is wrong with a value, worded to follow `<where>: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    Strategy(StrategyError),
    #[error("{0}")]
    Filter(FilterError),
    #[error("{0}")]
    Platform(PlatformError),
    #[error("expected 'true' or 'false'")]
    Bool,
    #[error("extract needs a tag pattern to take groups from; set {pattern} too")]
    ExtractWithoutPattern {
        /// The tag pattern's name in the front-end (see [`Naming`]).
        pattern: String,
    },
    /// An option the strategy does not use, given as an argument.
    #[error("applies to {applies_to} only, not to {strategy}")]
    Inapplicable {
        /// `the semver strategy`.
        applies_to: &'static str,
        strategy: &'static str,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.at, &*self.problem) {
            (ValueOrigin::Key { at, .. }, problem) => write!(f, "{at}: {problem}"),
            (ValueOrigin::Arg(name), problem @ Problem::Inapplicable { .. }) => {
                write!(f, "{name} {problem}")
            }
            (ValueOrigin::Arg(name), problem) => write!(f, "invalid {name}: {problem}"),
        }
    }
}

// The message already holds the problem's own message, so it is no `source`.
impl std::error::Error for PolicyError {}

/// Something questionable that does not stop the policy from being built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub at: ValueOrigin,
    pub note: Note,
}

/// What a [`Warning`] says, worded to follow `<where>: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Note {
    #[error("the {strategy} strategy takes no version constraint; '{constraint}' is ignored")]
    ConstraintIgnored {
        strategy: &'static str,
        constraint: String,
    },
    #[error("has no effect on the {strategy} strategy")]
    NoEffect { strategy: &'static str },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.at, &self.note) {
            (ValueOrigin::Key { at, .. }, note) => write!(f, "{at}: {note}"),
            // `resolve` logs it about the one image it resolves; the strategy and constraint are its arguments.
            (ValueOrigin::Arg(_), note @ Note::ConstraintIgnored { .. }) => write!(f, "{note}"),
            (ValueOrigin::Arg(name), note) => write!(f, "{name} {note}"),
        }
    }
}

/// A boolean option's value: `true` or `false`, nothing else (argocd-image-updater reads anything but `true` as
/// false, silently).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl PolicySpec {
    /// A spec with nothing set: the default policy (`semver`, any version, no filters).
    pub fn new(image: ValueOrigin, naming: Naming) -> PolicySpec {
        PolicySpec {
            image,
            constraint: None,
            strategy: None,
            order: None,
            allow_tags: None,
            ignore_tags: None,
            tag_pattern: None,
            extract: None,
            platforms: None,
            include_prerelease: None,
            strict_semver: None,
            pin_digest: None,
            naming,
        }
    }

    /// Validates every value into the policy, with warnings about options that change nothing. The first error
    /// found is returned, checking the strategy, then `pin-digest`, `allow-tags`, `ignore-tags`, the tag pattern and `platforms`.
    pub fn build(&self) -> Result<(Policy, Vec<Warning>), PolicyError> {
        let mut warnings = Vec::new();
        let mut policy = Policy::new(self.strategy(&mut warnings)?);
        if let Some(value) = &self.pin_digest
            && self.boolean(Some(value))?
        {
            if policy.strategy.needs_digest() {
                inapplicable(
                    value,
                    // The digest strategy renders `tag@digest` already.
                    "the semver, newest-build, alphabetical and numerical strategies",
                    &policy.strategy,
                    &mut warnings,
                )?;
            } else {
                policy.pin_digest = true;
            }
        }
        if let Some(value) = &self.allow_tags {
            policy.allow =
                AllowTags::parse(&value.text).map_err(|e| value.error(Problem::Filter(e)))?;
        }
        if let Some(value) = &self.ignore_tags {
            policy.ignore =
                IgnoreTags::parse(&value.text).map_err(|e| value.error(Problem::Filter(e)))?;
        }
        policy.extract = self.extract()?;
        if let Some(value) = &self.platforms {
            policy.platforms =
                Platform::parse_list(&value.text).map_err(|e| value.error(Problem::Platform(e)))?;
        }
        Ok((policy, warnings))
    }

    /// The strategy with its constraint, order and semver options.
    fn strategy(&self, warnings: &mut Vec<Warning>) -> Result<Strategy, PolicyError> {
        let order = match &self.order {
            Some(value) => {
                Order::parse(&value.text).map_err(|e| value.error(Problem::Strategy(e)))?
            }
            None => Order::default(),
        };
        // argocd-image-updater reads the name ignoring case.
        let name = self
            .strategy
            .as_ref()
            .map_or_else(String::new, |value| value.text.to_lowercase());
        let mut strategy =
            Strategy::parse(&name, self.constraint.as_deref(), order).map_err(|source| {
                // An unknown name is the strategy's fault; anything else, the constraint's.
                let at = match (&source, &self.strategy) {
                    (StrategyError::Unknown(_) | StrategyError::UnknownOrder(_), Some(value)) => {
                        value.origin.clone()
                    }
                    _ => self.image.clone(),
                };
                PolicyError {
                    at,
                    problem: Box::new(Problem::Strategy(source)),
                }
            })?;
        let prerelease = self.boolean(self.include_prerelease.as_ref())?;
        let strict = self.boolean(self.strict_semver.as_ref())?;
        if let Strategy::Semver {
            include_prerelease,
            strict: strict_versions,
            ..
        } = &mut strategy
        {
            *include_prerelease = prerelease;
            *strict_versions = strict;
        } else {
            for (value, set) in [
                (&self.include_prerelease, prerelease),
                (&self.strict_semver, strict),
            ] {
                if let Some(value) = value.as_ref().filter(|_| set) {
                    inapplicable(value, "the semver strategy", &strategy, warnings)?;
                }
            }
        }
        if let (
            Strategy::NewestBuild | Strategy::Alphabetical { .. } | Strategy::Numerical { .. },
            Some(constraint),
        ) = (&strategy, &self.constraint)
        {
            warnings.push(Warning {
                at: self.image.clone(),
                note: Note::ConstraintIgnored {
                    strategy: strategy.name(),
                    constraint: constraint.clone(),
                },
            });
        }
        if let Some(value) = &self.order
            && !matches!(
                strategy,
                Strategy::Alphabetical { .. } | Strategy::Numerical { .. }
            )
        {
            inapplicable(
                value,
                "the alphabetical and numerical strategies",
                &strategy,
                warnings,
            )?;
        }
        Ok(strategy)
    }

    /// A boolean option; unset is false.
    fn boolean(&self, value: Option<&SpecValue>) -> Result<bool, PolicyError> {
        value.map_or(Ok(false), |value| {
            parse_bool(&value.text).ok_or_else(|| value.error(Problem::Bool))
        })
    }

    /// The tag pattern with its extract template, checked together.
    fn extract(&self) -> Result<Option<Extract>, PolicyError> {
        match (&self.tag_pattern, &self.extract) {
            (Some(pattern), extract) => {
                let template = extract.as_ref().map_or("", |e| e.text.as_str());
                Extract::checked(&pattern.text, template)
                    .map(Some)
                    .map_err(|source| {
                        // A group the pattern lacks is the template's fault.
                        let at = match (&source, extract) {
                            (FilterError::UnknownGroup(_), Some(extract)) => extract,
                            _ => pattern,
                        };
                        at.error(Problem::Filter(source))
                    })
            }
            (None, Some(extract)) => Err(extract.error(Problem::ExtractWithoutPattern {
                pattern: self.naming.option("tag-pattern"),
            })),
            (None, None) => Ok(None),
        }
    }
}

/// An option `strategy` does not use: an error for an argument, a warning for an image's own key, nothing for a
/// default for every image.
fn inapplicable(
    value: &SpecValue,
    applies_to: &'static str,
    strategy: &Strategy,
    warnings: &mut Vec<Warning>,
) -> Result<(), PolicyError> {
    match &value.origin {
        ValueOrigin::Arg(_) => Err(value.error(Problem::Inapplicable {
            applies_to,
            strategy: strategy.name(),
        })),
        ValueOrigin::Key { default: false, .. } => {
            warnings.push(Warning {
                at: value.origin.clone(),
                note: Note::NoEffect {
                    strategy: strategy.name(),
                },
            });
            Ok(())
        }
        ValueOrigin::Key { default: true, .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests;
