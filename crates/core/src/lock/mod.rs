//! `image-resolver.lock.yaml`: the tag (and digest) each tracked image of an application runs, recorded in git
//! beside the application, so that what runs is named in a commit and `git revert` is a rollback.
//!
//! ```yaml
//! version: 1
//! images:
//!   web=ghcr.io/shop/web:                 # [alias=]repository, the repository canonical
//!     tag: 1.4.2                          # what generate renders
//!     digest: sha256:0f3a…                # the digest the tag named when resolved
//!     policy: "strategy semver, constraint '^1'"   # the policy it was resolved under
//!     pin: 1.4.0                          # optional: render this tag instead, whatever the policy says
//!     hold: true                          # optional: the committer leaves the entry alone
//!     rejected: [1.4.3]                   # optional: tags a revert took back, never applied again
//! ```
//!
//! An entry's key is the image as the policy names it: its repository in canonical form (registry and full
//! path, `docker.io/library/nginx`, the same whatever registries.conf's defaults are), after the image-list
//! alias and `=` when it has one — an application may track one repository under two aliases. `generate`
//! renders each image whose entry exists exactly as the entry says, asking no registry; the committer (to
//! come) advances the entries in commits.
//!
//! [`LockFile::parse`] reads the file (serde and `serde_norway`, then each value checked: tags and digests as
//! the rest of the core checks them); [`edit`] changes it for the committer by splicing only the changed
//! bytes, so comments, blank lines, key order and quoting survive; [`write`] writes a new file in a fixed,
//! commented layout. `layout` finds the byte spans the edits need, with the same span-aware parser as the
//! manifest scan.

pub mod edit;
mod layout;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::escape::shown;
use crate::image::{ImageRef, ImageRefError};
use crate::policy::source::TrackedImage;
use crate::tag::{InvalidTag, TagName};

pub use edit::{EditError, Resolved, write};

/// The lock file's name, in the application's directory.
pub const FILE_NAME: &str = "image-resolver.lock.yaml";

/// The format version this crate reads and writes.
pub const VERSION: u64 = 1;

/// Which tracked image an entry is for: the image-list alias (when there is one) and the repository the policy
/// resolves tags from, canonical. Written `alias=repository`, or the repository alone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockKey {
    alias: Option<String>,
    repository: String,
}

/// Why an entry's key is not `[alias=]repository`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error(
        "alias '{}' is not one image-list allows: ASCII letters, digits, '-', '_', '.' and '/', beginning and \
         ending with a letter or digit",
        shown(.0, 64)
    )]
    Alias(String),
    #[error("{0}")]
    Repository(ImageRefError),
    #[error(
        "'{}' names a tag or digest; the key is the repository alone (write '{suggestion}')",
        shown(.written, 64)
    )]
    TagOrDigest { written: String, suggestion: String },
    #[error(
        "repository '{}' is not written in canonical form, with its registry and full path: write \
         '{canonical}'",
        shown(.written, 64)
    )]
    NotCanonical { written: String, canonical: String },
}

impl LockKey {
    /// The key of `repository` (tag and digest ignored) tracked under `alias`.
    pub fn new(alias: Option<&str>, repository: &ImageRef) -> LockKey {
        LockKey {
            alias: alias.map(str::to_owned),
            repository: repository.name(),
        }
    }

    /// The key of a tracked image: its alias and the repository its policy resolves (not the one
    /// `kustomize.image-name` matches in the manifests).
    pub fn of(tracked: &TrackedImage) -> LockKey {
        LockKey::new(tracked.alias.as_deref(), &tracked.image)
    }

    /// Reads `[alias=]repository`. The repository must be canonical (Docker's defaults: `docker.io/library/…`
    /// for Docker Hub), so that one image has one key whatever registries.conf says.
    ///
    /// ```
    /// use argocd_image_resolver_core::lock::LockKey;
    /// let key = LockKey::parse("web=ghcr.io/shop/web").unwrap();
    /// assert_eq!((key.alias(), key.repository()), (Some("web"), "ghcr.io/shop/web"));
    /// assert_eq!(
    ///     LockKey::parse("nginx").unwrap_err().to_string(),
    ///     "repository 'nginx' is not written in canonical form, with its registry and full path: write \
    ///      'docker.io/library/nginx'"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<LockKey, KeyError> {
        let (alias, repository) = match text.split_once('=') {
            Some((alias, repository)) => (Some(alias), repository),
            None => (None, text),
        };
        if let Some(alias) = alias
            && !crate::policy::source::is_valid_alias(alias)
        {
            return Err(KeyError::Alias(alias.to_owned()));
        }
        let image = ImageRef::parse(repository).map_err(KeyError::Repository)?;
        if image.tag().is_some() || image.digest().is_some() {
            return Err(KeyError::TagOrDigest {
                written: repository.to_owned(),
                suggestion: image.name(),
            });
        }
        if image.name() != repository {
            return Err(KeyError::NotCanonical {
                written: repository.to_owned(),
                canonical: image.name(),
            });
        }
        Ok(LockKey {
            alias: alias.map(str::to_owned),
            repository: repository.to_owned(),
        })
    }

    pub fn alias(&self) -> Option<&str> {
        self.alias.as_deref()
    }

    /// The canonical repository: `ghcr.io/shop/web`.
    pub fn repository(&self) -> &str {
        &self.repository
    }
}

impl fmt::Display for LockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(alias) = &self.alias {
            write!(f, "{alias}=")?;
        }
        f.write_str(&self.repository)
    }
}

/// One tracked image's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockEntry {
    pub key: LockKey,
    /// The tag the image was resolved to.
    pub tag: TagName,
    /// The digest `tag` named when it was resolved (`sha256:…`), when known.
    pub digest: Option<String>,
    /// The display form of the policy `tag` was resolved under (`strategy semver, constraint '^1'`), so that a
    /// change of policy shows; absent in entries written by hand.
    pub policy: Option<String>,
    /// Render this tag instead of `tag`, whatever the policy says.
    pub pin: Option<TagName>,
    /// The committer leaves the entry as it is; `generate` renders it as always.
    pub hold: bool,
    /// Tags a revert took back: the committer never moves the entry to one of them again.
    pub rejected: Vec<TagName>,
}

impl LockEntry {
    /// The entry of an image just resolved: no pin, hold or rejected tags.
    pub fn new(key: LockKey, resolved: &Resolved<'_>) -> LockEntry {
        LockEntry {
            key,
            tag: resolved.tag.clone(),
            digest: resolved.digest.map(str::to_owned),
            policy: Some(resolved.policy.to_owned()),
            pin: None,
            hold: false,
            rejected: Vec::new(),
        }
    }

    /// The tag `generate` renders: the pin when there is one, else the resolved tag.
    pub fn rendered_tag(&self) -> &TagName {
        self.pin.as_ref().unwrap_or(&self.tag)
    }

    /// Whether the policy the entry was resolved under renders the digest with the tag (the `digest` strategy,
    /// `pin-digest`): what `generate` writes for an image it sees no policy for. An entry without `policy`
    /// (written by hand) renders the tag alone.
    pub fn policy_renders_digest(&self) -> bool {
        self.policy
            .as_deref()
            .is_some_and(crate::policy::Policy::summary_renders_digest)
    }

    /// The digest of [`LockEntry::rendered_tag`], when the entry records it: a pin to another tag has none.
    pub fn rendered_digest(&self) -> Option<&str> {
        match &self.pin {
            Some(pin) if *pin != self.tag => None,
            _ => self.digest.as_deref(),
        }
    }
}

/// A parsed lock file: its entries in the order written, each key once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockFile {
    entries: Vec<Arc<LockEntry>>,
}

impl LockFile {
    /// A lock file of these entries (keys are not checked for duplicates: the caller's to ensure).
    pub fn from_entries(entries: impl IntoIterator<Item = LockEntry>) -> LockFile {
        LockFile {
            entries: entries.into_iter().map(Arc::new).collect(),
        }
    }

    /// Reads the text of a lock file: serde for the YAML, then every value checked.
    ///
    /// ```
    /// use argocd_image_resolver_core::lock::{LockFile, LockKey};
    /// let lock = LockFile::parse(
    ///     "version: 1\nimages:\n  web=ghcr.io/shop/web:\n    tag: 1.4.2\n    pin: 1.4.0\n",
    /// ).unwrap();
    /// let web = lock.get(&LockKey::parse("web=ghcr.io/shop/web").unwrap()).unwrap();
    /// assert_eq!((web.tag.as_str(), web.rendered_tag().as_str()), ("1.4.2", "1.4.0"));
    /// assert_eq!(
    ///     LockFile::parse("version: 1\nimages:\n  nginx:\n    tag: 1.27\n").unwrap_err().to_string(),
    ///     "image-resolver.lock.yaml: entry 'nginx': repository 'nginx' is not written in canonical form, with \
    ///      its registry and full path: write 'docker.io/library/nginx'"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// The text is not YAML, not a lock file of this version, has an unknown key, an entry or key twice, or a
    /// value that is not what its key needs; the message names the file, the entry and the key.
    pub fn parse(text: &str) -> Result<LockFile, LockError> {
        parse::parse(text)
    }

    pub fn entries(&self) -> &[Arc<LockEntry>] {
        &self.entries
    }

    pub fn get(&self, key: &LockKey) -> Option<&Arc<LockEntry>> {
        self.entries.iter().find(|e| e.key == *key)
    }

    /// The entries of `repository` (canonical), whatever their alias, in the order written.
    pub fn entries_of<'a>(
        &'a self,
        repository: &'a str,
    ) -> impl Iterator<Item = &'a Arc<LockEntry>> {
        self.entries
            .iter()
            .filter(move |e| e.key.repository() == repository)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why a text is not a lock file: the file, then the entry and the key at fault when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{FILE_NAME}{}: {problem}", place(.entry.as_deref(), .key.as_deref()))]
pub struct LockError {
    /// The entry's key as written.
    pub entry: Option<String>,
    pub key: Option<String>,
    pub problem: Problem,
}

fn place(entry: Option<&str>, key: Option<&str>) -> String {
    let mut place = String::new();
    if let Some(entry) = entry {
        place.push_str(&format!(": entry '{}'", shown(entry, 100)));
    }
    if let Some(key) = key {
        place.push_str(&format!(
            "{} key '{}'",
            if entry.is_some() { "," } else { ":" },
            shown(key, 64)
        ));
    }
    place
}

/// What is wrong in a lock file.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Problem {
    /// Not YAML, or a value of the wrong type: `serde_norway`'s message, with its line and column.
    #[error("{0}")]
    Yaml(String),
    #[error("the file is empty; a lock file starts with `version: 1`")]
    Empty,
    #[error("no `version`; a lock file starts with `version: {VERSION}`")]
    NoVersion,
    #[error(
        "version {0} is not one this argocd-image-resolver reads (it reads version {VERSION}): upgrade the \
         plugin, or write the file again"
    )]
    Version(u64),
    #[error("unknown key; {known}")]
    UnknownKey { known: &'static str },
    #[error("written twice")]
    Duplicate,
    #[error("{0}")]
    Key(KeyError),
    #[error("no `tag`: every entry names the tag it renders")]
    NoTag,
    #[error("{0}")]
    Tag(InvalidTag),
    #[error(
        "invalid digest '{}': write '<algorithm>:<hex>', such as 'sha256:' and 64 lower-case hex digits",
        shown(.0, 80)
    )]
    Digest(String),
    #[error(
        "lists the entry's own tag {0}: the committer would never leave it; take it out of `rejected`, or \
         set `tag` to another tag"
    )]
    TagRejected(TagName),
    #[error("lists {0} twice")]
    RejectedTwice(TagName),
}
