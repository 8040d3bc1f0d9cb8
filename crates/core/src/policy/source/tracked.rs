//! What the sources make of an image list: the images tracked, each with its policy, pin, hold, pull secret and
//! the keys that shaped it.

use super::keys::{Opt, alias_key, key_form};
use super::{Located, Origin};
use crate::credential_spec::CredentialSpec;
use crate::image::ImageRef;
use crate::policy::Policy;
use crate::writeback::ImageWriteBack;

/// One `image-list` entry with everything that applies to it, validated.
#[derive(Clone, Debug)]
pub struct TrackedImage {
    /// The alias as written in `image-list`.
    pub alias: Option<String>,
    /// The repository to resolve tags from (no tag, no digest).
    pub image: ImageRef,
    /// The repository whose images in the rendered output this policy governs: `kustomize.image-name` when set,
    /// else `image` (no tag, no digest). With `kustomize.image-name`, images of `image` are governed too: see
    /// [`TrackedImage::governs`].
    pub match_name: ImageRef,
    pub policy: Policy,
    /// Use exactly this tag (the rollback from the UI); wins over everything else.
    pub pin: Option<String>,
    /// Leave the image as rendered.
    pub hold: bool,
    pub pull_secret: Option<CredentialSpec>,
    /// Where the committer writes its tag back in the source (`kustomize.image-name`, `helm.image-*`).
    pub write_back: ImageWriteBack,
    /// Each key that shaped this image, `image-list` first: what `explain` shows as the policy's origins.
    pub origins: Vec<KeyOrigin>,
}

/// One key that shaped a tracked image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOrigin {
    /// The canonical key (`web.ignore-tags`, `image-list`), however it was spelt.
    pub key: String,
    /// The value it gave; for `image-list`, the entry that lists the image.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

impl KeyOrigin {
    /// The key, its value and where it was written, as messages show them (escaped and cut).
    pub fn located(&self) -> Located {
        Located {
            origin: self.origin.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            entry: false,
        }
    }
}

/// What to do with an image, with `pin` winning over `hold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    Pin(&'a str),
    Hold,
    Resolve,
}

impl TrackedImage {
    /// The one place that decides between `pin`, `hold` and resolving, so every caller agrees.
    pub fn action(&self) -> Action<'_> {
        match (&self.pin, self.hold) {
            (Some(tag), _) => Action::Pin(tag),
            (None, true) => Action::Hold,
            (None, false) => Action::Resolve,
        }
    }

    /// Whether this policy governs a rendered `image` (whatever its tag or digest): one of [`Self::match_name`],
    /// or one of [`Self::image`]. With `kustomize.image-name`, the first is the name before the kustomization's
    /// `newName` is in place, the second the name kustomize renders after the committer wrote it (as
    /// argocd-image-updater matches the image-list's image against the running ones).
    pub fn governs(&self, image: &ImageRef) -> bool {
        self.match_name.same_repository(image) || self.image.same_repository(image)
    }

    /// The key that pinned the image, with where it was written: what a message about the pin names.
    pub fn pin_origin(&self) -> Option<&KeyOrigin> {
        self.pin.as_ref()?;
        // A pin is per alias (never an app-wide default), recorded under the alias's canonical key however the
        // source spelt it.
        let key = alias_key(&key_form(self.alias.as_deref()?), Opt::Pin);
        self.origins.iter().find(|o| o.key == key)
    }
}

/// The images of one merged [`Settings`], most authoritative first (entries of later sources, then list order),
/// and the warnings noticed while building them.
#[derive(Clone, Debug, Default)]
pub struct Tracked {
    pub images: Vec<TrackedImage>,
    pub warnings: Vec<String>,
}

/// The tracked image that governs `image` (whatever tag or digest it carries), by normalised repository
/// ([`TrackedImage::governs`]); the first one when several match.
pub fn find<'a>(tracked: &'a [TrackedImage], image: &ImageRef) -> Option<&'a TrackedImage> {
    tracked.iter().find(|candidate| candidate.governs(image))
}
