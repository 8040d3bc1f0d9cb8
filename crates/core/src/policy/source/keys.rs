//! The key vocabulary: argocd-image-updater's annotation keys, this plugin's additions, and how each source spells them.

use std::fmt;

/// The prefix of every annotation key (argocd-image-updater's), including the `/`.
pub const PREFIX: &str = "argocd-image-updater.argoproj.io/";

/// The prefix Argo CD puts before the name of every plugin env entry of an Application.
pub const ENV_PREFIX: &str = "ARGOCD_ENV_";

/// Plugin env names under this prefix are the plugin's own command-line options (see the configuration convention),
/// never policy keys, even when they end like one (`IMAGE_RESOLVER_ALLOW_TAGS`).
const OWN_OPTIONS_PREFIX: &str = "IMAGE_RESOLVER_";

/// argocd-image-updater's application-wide write-back settings: how the committer records resolved tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WriteBackKey {
    Method,
    Target,
    Branch,
    Repository,
}

impl WriteBackKey {
    pub const ALL: [WriteBackKey; 4] = [
        WriteBackKey::Method,
        WriteBackKey::Target,
        WriteBackKey::Branch,
        WriteBackKey::Repository,
    ];

    /// The key as annotations spell it, without prefix.
    pub fn name(self) -> &'static str {
        match self {
            WriteBackKey::Method => "write-back-method",
            WriteBackKey::Target => "write-back-target",
            WriteBackKey::Branch => "git-branch",
            WriteBackKey::Repository => "git-repository",
        }
    }
}

/// One per-image option: the part of a key after `<alias>.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Opt {
    UpdateStrategy,
    AllowTags,
    /// argocd-image-updater's deprecated name of `allow-tags`, read only when no `allow-tags` applies.
    TagMatch,
    IgnoreTags,
    Platforms,
    PullSecret,
    ForceUpdate,
    KustomizeImageName,
    HelmImageName,
    HelmImageTag,
    HelmImageSpec,
    Pin,
    Hold,
    TagPattern,
    Extract,
    Order,
    IncludePrerelease,
    StrictSemver,
    PinDigest,
}

impl Opt {
    pub const ALL: [Opt; 19] = [
        Opt::UpdateStrategy,
        Opt::AllowTags,
        Opt::TagMatch,
        Opt::IgnoreTags,
        Opt::Platforms,
        Opt::PullSecret,
        Opt::ForceUpdate,
        Opt::KustomizeImageName,
        Opt::HelmImageName,
        Opt::HelmImageTag,
        Opt::HelmImageSpec,
        Opt::Pin,
        Opt::Hold,
        Opt::TagPattern,
        Opt::Extract,
        Opt::Order,
        Opt::IncludePrerelease,
        Opt::StrictSemver,
        Opt::PinDigest,
    ];

    /// The option as annotation keys spell it after the alias.
    pub fn suffix(self) -> &'static str {
        match self {
            Opt::UpdateStrategy => "update-strategy",
            Opt::AllowTags => "allow-tags",
            Opt::TagMatch => "tag-match",
            Opt::IgnoreTags => "ignore-tags",
            Opt::Platforms => "platforms",
            Opt::PullSecret => "pull-secret",
            Opt::ForceUpdate => "force-update",
            Opt::KustomizeImageName => "kustomize.image-name",
            Opt::HelmImageName => "helm.image-name",
            Opt::HelmImageTag => "helm.image-tag",
            Opt::HelmImageSpec => "helm.image-spec",
            Opt::Pin => "pin",
            Opt::Hold => "hold",
            Opt::TagPattern => "tag-pattern",
            Opt::Extract => "extract",
            Opt::Order => "order",
            Opt::IncludePrerelease => "include-prerelease",
            Opt::StrictSemver => "strict-semver",
            Opt::PinDigest => "pin-digest",
        }
    }

    /// Whether the key without alias (`update-strategy`) is a default for every image. argocd-image-updater has
    /// such defaults for `update-strategy`, `allow-tags`, `ignore-tags`, `force-update` (ignored here) and
    /// `pull-secret`; the plugin adds them for its own policy options. Options that name one image's tag or
    /// parameters have none.
    pub fn app_wide(self) -> bool {
        !matches!(
            self,
            Opt::TagMatch
                | Opt::KustomizeImageName
                | Opt::HelmImageName
                | Opt::HelmImageTag
                | Opt::HelmImageSpec
                | Opt::Pin
        )
    }

    /// Whether this is upstream's `force-update` (write an image back even where the application does not run
    /// it): known, and not used; the committer writes back the images it finds.
    pub fn is_ignored_upstream_option(self) -> bool {
        matches!(self, Opt::ForceUpdate)
    }

    /// The upper-snake spelling of plugin env names: `UPDATE_STRATEGY`, `HELM_IMAGE_NAME`.
    pub fn snake(self) -> String {
        snake(self.suffix())
    }
}

/// What a key means, once its source's spelling is read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    ImageList,
    /// A key without alias: the default of an option for every image.
    App(Opt),
    /// `<alias>.<option>`, the alias in key form (a `/` of the alias written `_`).
    Alias(String, Opt),
    /// Plugin env's upper-snake `<ALIAS>_<OPTION>`: the alias is known only up to case and punctuation, so it is
    /// matched against the aliases of the image list when images are built.
    Snake(String, Opt),
    /// An option that only makes sense per image (`pin`, `helm.image-name`, …), given without alias.
    NeedsAlias(Opt),
    /// One of argocd-image-updater's application-wide write-back settings.
    WriteBack(WriteBackKey),
    /// Under our prefix, but nothing known (the key without prefix).
    Unknown(String),
}

impl Key {
    /// Reads a key without prefix as annotations and parameters spell it; `None` when it is not a policy key.
    pub fn parse(rest: &str) -> Option<Key> {
        if rest == "image-list" {
            return Some(Key::ImageList);
        }
        if let Some(key) = WriteBackKey::ALL.into_iter().find(|k| k.name() == rest) {
            return Some(Key::WriteBack(key));
        }
        option_or_aliased(rest, '.', |opt| opt.suffix().to_string(), Key::Alias)
    }

    /// Reads an annotation key or parameter name: the prefix is optional; with it, anything unknown is
    /// [`Key::Unknown`]; without it, `None` (the name may belong to someone else, such as the renderer).
    pub fn parse_name(name: &str) -> Option<Key> {
        match name.strip_prefix(PREFIX) {
            Some(rest) => Some(Key::parse(rest).unwrap_or_else(|| Key::Unknown(rest.to_string()))),
            None => Key::parse(name),
        }
    }

    /// Reads the name of a plugin env variable after `ARGOCD_ENV_`: an exact key (`web.update-strategy`, with or
    /// without prefix), or the upper-snake form (`IMAGE_LIST`, `UPDATE_STRATEGY`, `WEB_UPDATE_STRATEGY`).
    pub fn parse_env(name: &str) -> Option<Key> {
        if let Some(key) = Key::parse_name(name) {
            return Some(key);
        }
        let upper_snake = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !upper_snake || name.starts_with(OWN_OPTIONS_PREFIX) {
            return None;
        }
        if name == "IMAGE_LIST" {
            return Some(Key::ImageList);
        }
        if let Some(key) = WriteBackKey::ALL
            .into_iter()
            .find(|k| snake(k.name()) == name)
        {
            return Some(Key::WriteBack(key));
        }
        option_or_aliased(name, '_', Opt::snake, Key::Snake)
    }
}

/// `name` as a bare option (an app-wide default, or one that needs an alias), else as
/// `<alias><separator><option>` in the spelling `spell` gives, made into a key by `aliased`. The longest matching
/// option wins, so `x.helm.image-name` is alias `x`, never alias `x.helm`.
fn option_or_aliased(
    name: &str,
    separator: char,
    spell: impl Fn(Opt) -> String,
    aliased: impl Fn(String, Opt) -> Key,
) -> Option<Key> {
    if let Some(opt) = Opt::ALL.into_iter().find(|o| spell(*o) == name) {
        return Some(if opt.app_wide() {
            Key::App(opt)
        } else {
            Key::NeedsAlias(opt)
        });
    }
    Opt::ALL
        .into_iter()
        .filter_map(|opt| {
            let alias = name
                .strip_suffix(spell(opt).as_str())?
                .strip_suffix(separator)?;
            (!alias.is_empty()).then(|| (opt, alias.to_string()))
        })
        .max_by_key(|(opt, _)| opt.suffix().len())
        .map(|(opt, alias)| aliased(alias, opt))
}

impl fmt::Display for Key {
    /// The canonical annotation key; the upper-snake form as written, since its alias is not known yet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::ImageList => write!(f, "{PREFIX}image-list"),
            Key::App(opt) | Key::NeedsAlias(opt) => write!(f, "{PREFIX}{}", opt.suffix()),
            Key::Alias(alias, opt) => write!(f, "{PREFIX}{alias}.{}", opt.suffix()),
            Key::Snake(alias, opt) => write!(f, "{ENV_PREFIX}{alias}_{}", opt.snake()),
            Key::WriteBack(key) => write!(f, "{PREFIX}{}", key.name()),
            Key::Unknown(rest) => write!(f, "{PREFIX}{rest}"),
        }
    }
}

/// The canonical key of `opt` for an alias (in key form).
pub fn alias_key(alias_key: &str, opt: Opt) -> String {
    Key::Alias(alias_key.to_string(), opt).to_string()
}

/// The alias as keys spell it: Kubernetes annotation names cannot hold `/`, so argocd-image-updater writes it `_`.
pub fn key_form(alias: &str) -> String {
    alias.replace('/', "_")
}

/// Upper-snake form: ASCII upper case, every other character than a letter or digit as `_`.
pub fn snake(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `alias` can name an image in `image-list` and in keys: ASCII letters, digits, `-`, `_`, `.` and `/`,
/// beginning and ending with a letter or digit (an annotation name must).
pub fn is_valid_alias(alias: &str) -> bool {
    let bytes = alias.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(b))
        }
        _ => false,
    }
}
