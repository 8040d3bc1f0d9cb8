//! What the committer writes into its target file for the images it resolved: the lock file's entries, a
//! kustomization's `images:` or a Helm values file's values, each change spliced by the editors so that the rest of
//! the file stays byte for byte.
//!
//! [`plan`] is called twice in a round: first with no rejections, to learn which images would move; then, once the
//! committer has looked in the history whether a person took one of those tags back, with those tags rejected. A
//! rejected tag is recorded in the lock file (`rejected:`) and is never written; in a source file it is only left
//! out, the history being where the revert stays visible.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use super::edit::FileEditError;
use super::image::{ImageWriteBack, NewImage};
use super::{kustomize, set_helm_values, set_kustomize_image};
use crate::commit::Change;
use crate::lock::{self, LockEntry, LockFile, LockKey};
use crate::tag::TagName;

/// Which kind of file the committer edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    LockFile,
    Kustomization,
    HelmValues,
}

/// One tracked image as the committer resolved it from its registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedImage {
    pub key: LockKey,
    pub alias: Option<String>,
    /// Where and how its tag is written in a source file.
    pub write_back: ImageWriteBack,
    /// The tag the render has now (with `@digest` when it has one): what a source file's change moves from.
    pub rendered: Option<String>,
    pub tag: TagName,
    /// The digest the policy renders with the tag (`tag@digest`): the `digest` strategy's.
    pub digest: Option<String>,
    /// Otherwise the digest the tag names now, recorded in a lock file but not rendered.
    pub digest_recorded: Option<String>,
    /// The display form of the policy it was resolved under.
    pub policy: String,
}

impl ResolvedImage {
    /// The digest a lock entry records: the rendered one, else the one only recorded.
    fn lock_digest(&self) -> Option<&str> {
        self.digest.as_deref().or(self.digest_recorded.as_deref())
    }

    /// The tag as it is written: `tag@digest` when the policy pins the digest.
    pub fn written(&self) -> String {
        NewImage {
            tag: self.tag.as_str(),
            digest: self.digest.as_deref(),
        }
        .tag_with_digest()
    }

    /// The alias, else the image as its image-list entry writes it: how messages name the image.
    pub fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.write_back.written)
    }
}

/// Why an image does not move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `hold: true` in its lock entry.
    Held,
    /// `pin:` in its lock entry.
    Pinned(TagName),
    /// Its newest tag was taken back by a person (in the lock entry's `rejected:`, or found in the history now).
    Rejected(TagName),
}

/// The new text of the target file and what changed in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Planned {
    /// The file's new text; equal to the old one when nothing changed (`None` in, nothing to write: `None` out).
    pub text: Option<String>,
    pub changes: Vec<Change>,
    /// Tags newly recorded as rejected in the lock file.
    pub rejected: Vec<(LockKey, TagName)>,
    pub skipped: Vec<(LockKey, Skip)>,
}

impl Planned {
    /// Whether the file changes.
    pub fn changes_file(&self) -> bool {
        !self.changes.is_empty() || !self.rejected.is_empty()
    }
}

/// Why the target file cannot be changed: the file and what in it, one paragraph.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplyError {
    #[error("{}", lock_message(file, source))]
    Lock {
        file: String,
        source: Box<lock::edit::EditError>,
    },
    #[error(transparent)]
    Source(#[from] FileEditError),
    #[error(
        "{file}: images {first} and {second} both write the value {path}; give each image an alias in image-list \
         and its own <alias>.helm.image-name and <alias>.helm.image-tag (or <alias>.helm.image-spec)"
    )]
    SharedValue {
        file: String,
        path: String,
        first: String,
        second: String,
    },
}

/// A lock file's error, named by its path in the repository rather than its bare name.
fn lock_message(file: &str, source: &lock::edit::EditError) -> String {
    let text = source.to_string();
    match text.strip_prefix(lock::FILE_NAME) {
        Some(rest) => format!("{file}{rest}"),
        None => format!("{file}: {text}"),
    }
}

/// The target file `file` (its path as messages show it) with `text` (`None`: it does not exist) changed for
/// `images`; tags in `rejections` are not written (and are recorded in a lock file). Images are taken in order, one
/// change each, the first of each key only.
///
/// # Errors
///
/// The file cannot be read as its kind, or an image's place in it cannot be changed in place; nothing is changed.
pub fn plan(
    kind: TargetKind,
    file: &str,
    text: Option<&str>,
    images: &[ResolvedImage],
    rejections: &HashSet<(LockKey, TagName)>,
) -> Result<Planned, ApplyError> {
    let mut seen = HashSet::new();
    let images: Vec<&ResolvedImage> = images
        .iter()
        .filter(|image| seen.insert(image.key.clone()))
        .collect();
    match kind {
        TargetKind::LockFile => plan_lock(file, text, &images, rejections),
        TargetKind::Kustomization | TargetKind::HelmValues => {
            plan_source(kind, file, text.unwrap_or_default(), &images, rejections)
        }
    }
}

fn plan_lock(
    file: &str,
    text: Option<&str>,
    images: &[&ResolvedImage],
    rejections: &HashSet<(LockKey, TagName)>,
) -> Result<Planned, ApplyError> {
    let lock_error = |source: lock::edit::EditError| ApplyError::Lock {
        file: file.to_owned(),
        source: Box::new(source),
    };
    let mut planned = Planned::default();
    let Some(src) = text else {
        // No lock file yet: one with every image not rejected.
        let mut entries = Vec::new();
        for image in images {
            if rejections.contains(&(image.key.clone(), image.tag.clone())) {
                if let Some(entry) = reject_new(image, &mut planned) {
                    entries.push(entry);
                }
                continue;
            }
            entries.push(LockEntry::new(image.key.clone(), &resolved(image)));
            planned.changes.push(change(image, None));
        }
        if !entries.is_empty() {
            planned.text = Some(lock::edit::write(&entries));
        }
        return Ok(planned);
    };
    let lock = LockFile::parse(src).map_err(|e| lock_error(e.into()))?;
    let mut out = src.to_owned();
    for image in images {
        let Some(entry) = lock.get(&image.key) else {
            if rejections.contains(&(image.key.clone(), image.tag.clone())) {
                if let Some(entry) = reject_new(image, &mut planned) {
                    out = lock::edit::add_entry(&out, &entry).map_err(lock_error)?;
                }
                continue;
            }
            out = lock::edit::add_entry(&out, &LockEntry::new(image.key.clone(), &resolved(image)))
                .map_err(lock_error)?;
            planned.changes.push(change(image, None));
            continue;
        };
        if entry.hold {
            planned.skipped.push((image.key.clone(), Skip::Held));
            continue;
        }
        if let Some(pin) = &entry.pin {
            planned
                .skipped
                .push((image.key.clone(), Skip::Pinned(pin.clone())));
            continue;
        }
        // A digest that could not be learnt this time is not a change: the entry keeps the one it has.
        let digest = image
            .lock_digest()
            .or(entry.digest.as_deref().filter(|_| entry.tag == image.tag));
        let unchanged = entry.tag == image.tag
            && entry.digest.as_deref() == digest
            && entry.policy.as_deref() == Some(image.policy.as_str());
        if unchanged {
            continue;
        }
        if entry.rejected.contains(&image.tag) {
            planned
                .skipped
                .push((image.key.clone(), Skip::Rejected(image.tag.clone())));
            continue;
        }
        if entry.tag != image.tag && rejections.contains(&(image.key.clone(), image.tag.clone())) {
            out = lock::edit::add_rejected(&out, &image.key, &image.tag).map_err(lock_error)?;
            planned
                .rejected
                .push((image.key.clone(), image.tag.clone()));
            continue;
        }
        let resolved = lock::edit::Resolved {
            digest,
            ..resolved(image)
        };
        out = lock::edit::set_resolved(&out, &image.key, &resolved).map_err(lock_error)?;
        // As it rendered: with its digest only when the policy renders one.
        let old = NewImage {
            tag: entry.tag.as_str(),
            digest: entry.digest.as_deref().filter(|_| image.digest.is_some()),
        }
        .tag_with_digest();
        planned.changes.push(change(image, Some(old)));
    }
    planned.text = Some(out);
    Ok(planned)
}

fn plan_source(
    kind: TargetKind,
    file: &str,
    src: &str,
    images: &[&ResolvedImage],
    rejections: &HashSet<(LockKey, TagName)>,
) -> Result<Planned, ApplyError> {
    if kind == TargetKind::HelmValues {
        check_paths(file, images)?;
    }
    let mut planned = Planned::default();
    let mut out = src.to_owned();
    for image in images {
        let new = NewImage {
            tag: image.tag.as_str(),
            digest: image.digest.as_deref(),
        };
        let (edited, old) = match kind {
            TargetKind::Kustomization => {
                let entry = image.write_back.kustomize_image(new);
                // The change moves from what the entry says; without a tag there, from the render's (the
                // resources'), which a revert's detection needs, unless that is already the new tag: then only
                // the entry is new (`(none)`, not `0a1b2c3 → 0a1b2c3`).
                let old = kustomize::entry_tag(&out, &entry.name).or_else(|| {
                    image
                        .rendered
                        .clone()
                        .filter(|rendered| *rendered != image.written())
                });
                (set_kustomize_image(file, &out, &entry)?, old)
            }
            _ => (
                set_helm_values(file, &out, &image.write_back.helm_values_in(&out, new))?,
                image.rendered.clone(),
            ),
        };
        if edited == out {
            continue;
        }
        if rejections.contains(&(image.key.clone(), image.tag.clone())) {
            planned
                .skipped
                .push((image.key.clone(), Skip::Rejected(image.tag.clone())));
            continue;
        }
        out = edited;
        planned.changes.push(change(image, old));
    }
    planned.text = Some(out);
    Ok(planned)
}

/// Refuses two images writing one values path (the default `image.name` and `image.tag` of two images without
/// `helm.image-*` keys): each would undo the other, every round. Upstream lets the last one win.
fn check_paths(file: &str, images: &[&ResolvedImage]) -> Result<(), ApplyError> {
    let mut seen: HashMap<String, &ResolvedImage> = HashMap::new();
    for image in images {
        let new = NewImage {
            tag: image.tag.as_str(),
            digest: None,
        };
        for (path, _) in image.write_back.helm_values(new) {
            if let Some(first) = seen.insert(path.to_string(), image) {
                return Err(ApplyError::SharedValue {
                    file: file.to_owned(),
                    path: path.to_string(),
                    first: first.name().to_owned(),
                    second: image.name().to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The entry recording that a person took back the tag the committer first wrote for `image` (they reverted the
/// commit that added its entry, or the file): the image held at the tag it renders now, that tag rejected — left
/// out instead, an image without an entry would follow its policy at render time, to the very tag taken back.
/// `None` when the render names no tag to hold it at (or not the digest its policy renders).
fn rejected_entry(image: &ResolvedImage) -> Option<LockEntry> {
    let rendered = image.rendered.as_deref()?;
    let (tag, digest) = match rendered.split_once('@') {
        Some((tag, digest)) => (tag, Some(digest)),
        None => (rendered, None),
    };
    let tag = TagName::new(tag).ok()?;
    if tag == image.tag || (image.digest.is_some() && digest.is_none()) {
        return None;
    }
    Some(LockEntry {
        key: image.key.clone(),
        tag,
        digest: digest.map(str::to_owned),
        policy: Some(image.policy.clone()),
        pin: None,
        hold: false,
        rejected: vec![image.tag.clone()],
    })
}

/// A new entry's tag taken back: the entry to add ([`rejected_entry`], the rejection then recorded in `planned`),
/// or `None` with the image skipped.
fn reject_new(image: &ResolvedImage, planned: &mut Planned) -> Option<LockEntry> {
    let entry = rejected_entry(image);
    match &entry {
        Some(_) => planned
            .rejected
            .push((image.key.clone(), image.tag.clone())),
        None => planned
            .skipped
            .push((image.key.clone(), Skip::Rejected(image.tag.clone()))),
    }
    entry
}

fn resolved(image: &ResolvedImage) -> lock::edit::Resolved<'_> {
    lock::edit::Resolved {
        tag: &image.tag,
        digest: image.lock_digest(),
        policy: &image.policy,
    }
}

fn change(image: &ResolvedImage, old: Option<String>) -> Change {
    Change {
        key: image.key.clone(),
        alias: image.alias.clone(),
        image: image.write_back.written.clone(),
        old,
        new: image.written(),
        policy: image.policy.clone(),
    }
}
