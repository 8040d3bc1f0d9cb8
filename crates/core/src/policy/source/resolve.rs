//! Turning merged settings into validated [`TrackedImage`]s: the joined image list, then each option looked up for
//! each image (the alias's own key from the latest source, else the default without alias). The policy options'
//! values are validated by [`PolicySpec::build`], as `resolve`'s flags are; only the key vocabulary is decided here.

use std::collections::HashSet;

use super::keys::{Key, Opt, alias_key, is_valid_alias, key_form, snake};
use super::{Entry, KeyOrigin, Located, Origin, Settings, SourceError, Tracked, TrackedImage};
use crate::credential_spec::{CredentialSpec, SpecSource};
use crate::image::{self, ImageDefaults, ImageRef};
use crate::policy::Policy;
use crate::policy::spec::{Naming, PolicySpec, SpecValue, ValueOrigin, parse_bool};
use crate::writeback::{ImageWriteBack, Problem, ValuePath, WriteBackError, written_name};

/// Characters that start a comparison and never an image or alias.
const COMPARISON_START: &[char] = &['<', '>', '=', '!', '~', '^', '|'];

/// Whether a list entry is the rest of a constraint that held a `,` (`<2.0` of `app:>=1.0,<2.0`): comparison
/// characters, then a version.
fn is_constraint_rest(text: &str) -> bool {
    let rest = text.trim_start_matches(|c: char| COMPARISON_START.contains(&c) || c == ' ');
    rest.len() < text.len()
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || "vVxX*".contains(c))
}

/// One parsed entry of an image list.
struct ListItem<'a> {
    entry: &'a Entry,
    /// The entry as written.
    text: String,
    alias: Option<String>,
    /// The alias in key form (`/` as `_`).
    alias_key: Option<String>,
    image: ImageRef,
    constraint: Option<String>,
    /// The image as written, without alias, constraint or digest.
    written: String,
}

impl ListItem<'_> {
    fn located(&self) -> Box<Located> {
        self.entry.located_item(&self.text)
    }

    /// What identifies the entry across sources: its alias, or without alias its repository.
    fn identity(&self) -> String {
        match &self.alias_key {
            Some(alias) => format!("alias {alias}"),
            None => format!("image {}", self.image.name()),
        }
    }
}

impl Settings {
    /// One validated [`TrackedImage`] per entry of the joined image lists, most authoritative first, with the
    /// warnings about annotation keys and about each image (see the module documentation).
    pub fn tracked_images(&self) -> Result<Tracked, SourceError> {
        self.tracked_images_in(&ImageDefaults::default())
    }

    /// [`Settings::tracked_images`], naming images as `defaults` says (registries.conf's `default` registry and
    /// `defaultns`).
    pub fn tracked_images_in(&self, defaults: &ImageDefaults) -> Result<Tracked, SourceError> {
        let mut warnings = Vec::new();
        let items = self.image_list(defaults, &mut warnings)?;
        let snake = self.snake_targets(&items)?;
        let mut images = Vec::with_capacity(items.len());
        for item in &items {
            images.push(self.build(item, &snake, defaults, &mut warnings)?);
        }
        let alias_keys: Vec<&str> = items
            .iter()
            .filter_map(|i| i.alias_key.as_deref())
            .collect();
        let annotation_entries = self
            .entries
            .iter()
            .filter(|e| matches!(e.origin, Origin::Annotation { .. }));
        key_warnings(annotation_entries, &alias_keys, &[], &mut warnings);
        overlap_warnings(&images, &mut warnings);
        Ok(Tracked { images, warnings })
    }

    /// Warnings about the parameter and env keys of these settings, given the aliases of every object's images
    /// (so an option for an alias that only one object lists is not reported for the others): unknown keys,
    /// options for aliases no image has, options that need an alias.
    pub fn app_wide_warnings(&self, aliases_in_use: &[&str]) -> Vec<String> {
        let alias_keys: Vec<String> = aliases_in_use.iter().map(|a| key_form(a)).collect();
        let alias_keys: Vec<&str> = alias_keys.iter().map(String::as_str).collect();
        let snakes: Vec<String> = aliases_in_use.iter().map(|a| snake(a)).collect();
        let mut warnings = Vec::new();
        let app_wide = self
            .entries
            .iter()
            .filter(|e| !matches!(e.origin, Origin::Annotation { .. }));
        key_warnings(app_wide, &alias_keys, &snakes, &mut warnings);
        warnings
    }

    /// The joined image lists: entries of later sources first, each replacing earlier entries with its identity.
    fn image_list(
        &self,
        defaults: &ImageDefaults,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<ListItem<'_>>, SourceError> {
        let mut lists: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.key == Key::ImageList)
            .collect();
        lists.sort_by_key(|e| std::cmp::Reverse(e.layer));
        let mut items = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        for entry in lists {
            let mut here: HashSet<String> = HashSet::new();
            for text in &entry.items {
                let item = parse_item(entry, text, defaults, warnings)?;
                let identity = item.identity();
                if !here.insert(identity.clone()) {
                    return Err(match &item.alias {
                        Some(alias) => SourceError::DuplicateAlias {
                            at: item.located(),
                            alias: alias.clone(),
                        },
                        None => SourceError::DuplicateImage {
                            at: item.located(),
                            image: item.image.name(),
                        },
                    });
                }
                if !taken.contains(&identity) {
                    items.push(item);
                }
            }
            taken.extend(here);
        }
        Ok(items)
    }

    /// Each upper-snake env entry whose alias part reads as exactly one listed alias, with that alias's key form.
    fn snake_targets(&self, items: &[ListItem]) -> Result<Vec<(&Entry, String)>, SourceError> {
        let mut targets = Vec::new();
        for entry in &self.entries {
            let Key::Snake(pattern, opt) = &entry.key else {
                continue;
            };
            let matching: Vec<&ListItem> = items
                .iter()
                .filter(|i| i.alias.as_deref().is_some_and(|a| snake(a) == *pattern))
                .collect();
            match matching.as_slice() {
                [] => {}
                [one] => targets.push((entry, one.alias_key.clone().unwrap_or_default())),
                [first, ..] => {
                    let aliases: Vec<String> = matching
                        .iter()
                        .filter_map(|i| i.alias.as_deref())
                        .map(|a| format!("'{a}'"))
                        .collect();
                    return Err(SourceError::AmbiguousEnv {
                        at: entry.located(),
                        aliases: aliases.join(" and "),
                        example: format!(
                            "{}{}.{}",
                            super::keys::ENV_PREFIX,
                            first.alias_key.as_deref().unwrap_or_default(),
                            opt.suffix()
                        ),
                    });
                }
            }
        }
        Ok(targets)
    }

    /// Builds and validates one image's policy and options.
    fn build(
        &self,
        item: &ListItem,
        snake: &[(&Entry, String)],
        defaults: &ImageDefaults,
        warnings: &mut Vec<String>,
    ) -> Result<TrackedImage, SourceError> {
        let mut get = Lookup {
            settings: self,
            item,
            snake,
            origins: vec![KeyOrigin {
                key: Key::ImageList.to_string(),
                value: item.text.clone(),
                origin: item.entry.origin.clone(),
            }],
        };
        let policy = get.policy(warnings)?;
        let pin_entry = get.get(Opt::Pin)?;
        if let Some(e) = pin_entry
            && !image::is_valid_tag(&e.value)
        {
            return Err(SourceError::Pin { at: e.located() });
        }
        let hold_entry = get.get(Opt::Hold)?;
        let hold = flag(hold_entry)?;
        if let (Some(pin), Some(held)) = (pin_entry, hold_entry.filter(|_| hold)) {
            warnings.push(format!(
                "{} wins over {}: the image runs the pinned tag",
                pin.located(),
                held.located()
            ));
        }
        let pull_secret = match get.get(Opt::PullSecret)? {
            Some(e) => Some(app_credential(e)?),
            None => None,
        };
        let kustomize_name = get.get(Opt::KustomizeImageName)?;
        let match_name = match kustomize_name {
            Some(e) => ImageRef::parse_with(&e.value, defaults)
                .map(|image| image.repository_only())
                .map_err(|source| SourceError::Image {
                    at: e.located(),
                    source,
                })?,
            None => item.image.clone(),
        };
        let write_back = ImageWriteBack {
            written: item.written.clone(),
            kustomize_name: kustomize_name.map(|e| e.value.clone()),
            helm_name: get.value_path(Opt::HelmImageName)?,
            helm_tag: get.value_path(Opt::HelmImageTag)?,
            helm_spec: get.value_path(Opt::HelmImageSpec)?,
        };
        if write_back.helm_spec.is_some() {
            for opt in [Opt::HelmImageName, Opt::HelmImageTag] {
                if let Some(e) = get.get(opt)? {
                    warnings.push(format!(
                        "{}: ignored: {} sets the whole image",
                        e.located(),
                        alias_key(
                            item.alias_key.as_deref().unwrap_or_default(),
                            Opt::HelmImageSpec
                        )
                    ));
                }
            }
        }
        Ok(TrackedImage {
            alias: item.alias.clone(),
            image: item.image.clone(),
            match_name,
            policy,
            pin: pin_entry.map(|e| e.value.clone()),
            hold,
            pull_secret,
            write_back,
            origins: get.origins,
        })
    }
}

/// The credential an application names for an image. Only a mounted pull secret: its auths say which registries
/// it belongs to, so it can only be sent there. `env:`, `secret:` and `ext:` carry no registry (and `ext:` runs a
/// program), so letting whoever writes an app's manifests or parameters name them would let them send the
/// sidecar's secrets to any host they list as a registry; they belong in the operator's registries.conf.
fn app_credential(entry: &Entry) -> Result<CredentialSpec, SourceError> {
    let invalid = |reason: String| SourceError::PullSecret {
        at: entry.located(),
        reason,
    };
    let spec = CredentialSpec::parse(&entry.value).map_err(|e| invalid(e.to_string()))?;
    match spec.source() {
        SpecSource::PullSecret { .. } => Ok(spec),
        _ => Err(invalid(
            "an application may only name a mounted pull secret (pullsecret:<namespace>/<name>), which is sent \
             only to the registries it has auths for; env:, secret: and ext: credentials are the operator's, set \
             in registries.conf"
                .to_string(),
        )),
    }
}

/// Looks up options for one image and records where each value came from.
struct Lookup<'s, 'i> {
    settings: &'s Settings,
    item: &'i ListItem<'s>,
    snake: &'i [(&'s Entry, String)],
    origins: Vec<KeyOrigin>,
}

impl<'s> Lookup<'s, '_> {
    /// The entry that sets `opt` for the image: the alias's own key from the latest source (exact and upper-snake
    /// spellings alike), else the default without alias from the latest source.
    fn get(&mut self, opt: Opt) -> Result<Option<&'s Entry>, SourceError> {
        let mut best: Option<&'s Entry> = None;
        if let Some(alias) = &self.item.alias_key {
            let exact = self
                .settings
                .entries
                .iter()
                .filter(|e| matches!(&e.key, Key::Alias(a, o) if a == alias && *o == opt));
            let snaked = self
                .snake
                .iter()
                .filter(|(e, a)| a == alias && matches!(e.key, Key::Snake(_, o) if o == opt))
                .map(|(e, _)| *e);
            for entry in exact.chain(snaked) {
                match best {
                    Some(b) if b.layer == entry.layer => {
                        return Err(SourceError::Twice {
                            key: alias_key(alias, opt),
                            first: b.located(),
                            second: entry.located(),
                        });
                    }
                    Some(b) if b.layer > entry.layer => {}
                    _ => best = Some(entry),
                }
            }
            if let Some(e) = best {
                self.origins.push(KeyOrigin {
                    key: alias_key(alias, opt),
                    value: e.value.clone(),
                    origin: e.origin.clone(),
                });
            }
        }
        if best.is_none() && opt.app_wide() {
            best = self
                .settings
                .entries
                .iter()
                .filter(|e| e.key == Key::App(opt))
                .max_by_key(|e| e.layer);
            if let Some(e) = best {
                self.origins.push(KeyOrigin {
                    key: e.key.to_string(),
                    value: e.value.clone(),
                    origin: e.origin.clone(),
                });
            }
        }
        Ok(best)
    }

    /// A Helm values path option (`helm.image-tag`, …), validated.
    fn value_path(&mut self, opt: Opt) -> Result<Option<ValuePath>, SourceError> {
        let Some(e) = self.get(opt)? else {
            return Ok(None);
        };
        ValuePath::parse(&e.value).map(Some).map_err(|problem| {
            SourceError::WriteBack(WriteBackError {
                at: e.located(),
                problem: Problem::ValuePath(problem),
            })
        })
    }

    /// The value of `opt` for the image, with where it was written, for the policy builder.
    fn value(&mut self, opt: Opt) -> Result<Option<SpecValue>, SourceError> {
        Ok(self.get(opt)?.map(spec_value))
    }

    /// The image's policy: each option's entry looked up here, validated by [`PolicySpec::build`].
    fn policy(&mut self, warnings: &mut Vec<String>) -> Result<Policy, SourceError> {
        let mut spec = PolicySpec::new(
            ValueOrigin::Key {
                at: self.item.located(),
                default: false,
            },
            Naming::Keys {
                alias_key: self.item.alias_key.clone(),
            },
        );
        spec.constraint.clone_from(&self.item.constraint);
        spec.strategy = self.value(Opt::UpdateStrategy)?;
        spec.order = self.value(Opt::Order)?;
        spec.include_prerelease = self.value(Opt::IncludePrerelease)?;
        spec.strict_semver = self.value(Opt::StrictSemver)?;
        spec.pin_digest = self.value(Opt::PinDigest)?;
        let mut deprecated = None;
        spec.allow_tags = match self.get(Opt::AllowTags)? {
            Some(e) => Some(e),
            None => {
                deprecated = self.get(Opt::TagMatch)?;
                deprecated
            }
        }
        .map(spec_value);
        spec.ignore_tags = self.value(Opt::IgnoreTags)?;
        spec.tag_pattern = self.value(Opt::TagPattern)?;
        spec.extract = self.value(Opt::Extract)?;
        spec.platforms = self.value(Opt::Platforms)?;
        let (policy, notes) = spec.build()?;
        warnings.extend(notes.iter().map(ToString::to_string));
        if let Some(e) = deprecated {
            warnings.push(format!(
                "{}: tag-match is deprecated; write {} instead",
                e.located(),
                alias_key(
                    self.item.alias_key.as_deref().unwrap_or_default(),
                    Opt::AllowTags
                )
            ));
        }
        Ok(policy)
    }
}

/// An entry as a policy value: an alias's own key, or the default for every image (never reported as having no
/// effect on one image's strategy).
fn spec_value(entry: &Entry) -> SpecValue {
    SpecValue::new(
        entry.value.clone(),
        ValueOrigin::Key {
            at: entry.located(),
            default: !matches!(entry.key, Key::Alias(..) | Key::Snake(..)),
        },
    )
}

/// Parses one image-list entry: `[alias=]image[:constraint]`.
fn parse_item<'a>(
    entry: &'a Entry,
    text: &str,
    defaults: &ImageDefaults,
    warnings: &mut Vec<String>,
) -> Result<ListItem<'a>, SourceError> {
    let at = || entry.located_item(text);
    if entry.split && is_constraint_rest(text) {
        return Err(SourceError::ConstraintSplit { at: at() });
    }
    // A `:` before the first `=` means the `=` belongs to a constraint (`nginx:>=1.2`), not to an alias. An empty
    // alias (`=reg/img`) is no alias, as argocd-image-updater reads it.
    let (alias, reference) = match text.split_once('=') {
        Some((alias, rest)) if !alias.contains(':') => {
            (Some(alias.trim()).filter(|a| !a.is_empty()), rest.trim())
        }
        _ => (None, text),
    };
    if let Some(alias) = alias.filter(|a| !is_valid_alias(a)) {
        return Err(SourceError::Alias {
            at: at(),
            alias: alias.to_string(),
        });
    }
    let image_error = |source| SourceError::Image { at: at(), source };
    let (image, constraint) =
        image::split_constraint_with(reference, defaults).map_err(image_error)?;
    let image = if image.digest().is_some() {
        warnings.push(format!(
            "{}: the digest is ignored; a policy applies to the repository {}",
            at(),
            image.name()
        ));
        image.repository_only()
    } else {
        image
    };
    Ok(ListItem {
        entry,
        text: text.to_string(),
        alias: alias.map(String::from),
        alias_key: alias.map(key_form),
        image,
        constraint: constraint.map(|c| c.trim().to_string()),
        written: written_name(reference).to_string(),
    })
}

/// A boolean option (`hold`): `true` or `false`; unset is false.
fn flag(entry: Option<&Entry>) -> Result<bool, SourceError> {
    entry.map_or(Ok(false), |e| {
        parse_bool(&e.value).ok_or_else(|| SourceError::Bool { at: e.located() })
    })
}

/// Warnings about keys that set nothing: unknown, upstream's `force-update`, write-back settings on an object's
/// annotations, per-image options without alias,
/// and options for aliases that no image has (`alias_keys` in key form, `snakes` in upper-snake form).
fn key_warnings<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    alias_keys: &[&str],
    snakes: &[String],
    warnings: &mut Vec<String>,
) {
    for entry in entries {
        let why = match &entry.key {
            Key::App(opt) | Key::Alias(_, opt) | Key::Snake(_, opt) | Key::NeedsAlias(opt)
                if opt.is_ignored_upstream_option() =>
            {
                format!(
                    "ignored: argocd-image-updater uses {} to write back images the application does not run; \
                     this plugin writes back the images it finds in the rendered output",
                    opt.suffix()
                )
            }
            Key::Unknown(_) => {
                "ignored: argocd-image-updater and this plugin know no such key".to_string()
            }
            Key::WriteBack(key) if matches!(entry.origin, Origin::Annotation { .. }) => format!(
                "ignored: {} applies to the whole application, not to one object; set it as a plugin \
                 parameter or plugin env",
                key.name()
            ),
            Key::WriteBack(_) => continue,
            Key::NeedsAlias(opt) => format!(
                "ignored: {0} applies to one image; write <alias>.{0}",
                opt.suffix()
            ),
            Key::Alias(alias, _) if !alias_keys.contains(&alias.as_str()) => {
                format!("ignored: no image-list entry has the alias '{alias}'")
            }
            Key::Snake(pattern, _) if !snakes.contains(pattern) => {
                format!("ignored: no image-list entry has an alias that reads as '{pattern}'")
            }
            _ => continue,
        };
        warnings.push(format!("{}: {why}", entry.located()));
    }
}

/// Warns when two tracked images govern the same repository: only the first one is ever found.
fn overlap_warnings(images: &[TrackedImage], warnings: &mut Vec<String>) {
    let label = |image: &TrackedImage| match &image.alias {
        Some(alias) => format!("alias '{alias}'"),
        None => format!("entry '{}'", image.image.familiar_name()),
    };
    for (i, later) in images.iter().enumerate() {
        // Each repository the later image governs (two with kustomize.image-name), checked against the earlier ones.
        let names = [&later.match_name, &later.image];
        let overlap = images[..i].iter().find_map(|first| {
            let name = names.into_iter().find(|name| first.governs(name))?;
            Some((first, name))
        });
        if let Some((first, name)) = overlap {
            warnings.push(format!(
                "{} and {} both match the images of {}; {} governs them",
                label(first),
                label(later),
                name.name(),
                label(first)
            ));
        }
    }
}
