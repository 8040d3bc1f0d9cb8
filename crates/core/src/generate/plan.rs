//! The half before the registries: scan the rendered text, work out each object's policies, match every image
//! to the tracked image that governs it (and to its lock file entry, when the application has a lock file; or to
//! the source, when the committer writes tags there), and refuse pull secrets the application may not use.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{AppContext, GenerateError, Plan, PlannedImage};
use crate::credential_spec::SecretScope;
use crate::image::ImageRef;
use crate::lock::{FILE_NAME, LockEntry, LockKey};
use crate::manifest;
use crate::policy::source::{self, Action, Settings, SourceError, TrackedImage};
use crate::writeback::WriteBack;

/// The `Kind/name` label policy messages (and [`source::Origin::Annotation`]) use for an object.
pub fn object_label(object: &manifest::Object) -> String {
    format!(
        "{}/{}",
        object.kind.as_deref().unwrap_or("object"),
        object.name.as_deref().unwrap_or("(unnamed)")
    )
}

/// Scans `rendered` and decides, for every image, which policy governs it: the object's own annotations,
/// overridden key by key by the Application's parameters, then its plugin env.
pub fn plan(rendered: &str, app: &AppContext) -> Result<Plan, GenerateError> {
    plan_until(rendered, app, &mut || false)
}

/// How many images pass between two questions to [`plan_until`]'s `stop`: an object's policy costs microseconds.
const IMAGES_PER_STOP_CHECK: usize = 64;

/// [`plan`] that asks `stop` now and then (while scanning, and between images) whether to give up, so that the
/// caller's deadline holds however large the stream; the core reads no clock, the caller's `stop` does.
///
/// # Errors
///
/// As [`plan`], and [`GenerateError::OutOfTime`] (or a [`manifest::ScanError::Stopped`]) once `stop` says so.
pub fn plan_until(
    rendered: &str,
    app: &AppContext,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Plan, GenerateError> {
    let scan = manifest::scan_until(rendered, &app.extra_paths, stop)?;
    let mut planner = Planner::new(app)?;
    let images = planner.plan_scan(&scan, stop)?;
    let write_back = planner.write_back().clone();
    Ok(Plan {
        scan,
        images,
        warnings: planner.finish(),
        write_back,
    })
}

/// [`plan_until`] a document at a time, keeping nothing of a document once planned: `each` gets each image of
/// the stream in text order with the tracked image that governs it, and the plan's warnings are returned. The
/// first pass of a stream too large to hold planned whole; see [`super::apply_each`] for the second.
///
/// # Errors
///
/// As [`plan_until`].
pub fn plan_each(
    rendered: &str,
    app: &AppContext,
    stop: &mut dyn FnMut() -> bool,
    each: &mut dyn FnMut(&PlannedImage),
) -> Result<Vec<String>, GenerateError> {
    let mut planner = match Planner::new(app) {
        Ok(planner) => planner,
        // The stream's own errors first, as when it is planned whole.
        Err(e) => {
            manifest::scan_each(rendered, &app.extra_paths, stop, &mut |_, _| {
                Ok::<_, GenerateError>(())
            })?;
            return Err(e);
        }
    };
    manifest::scan_each(rendered, &app.extra_paths, stop, &mut |document, stop| {
        for planned in planner.plan_scan(&document, stop)? {
            each(&planned);
        }
        Ok::<_, GenerateError>(())
    })?;
    Ok(planner.finish())
}

/// Decides which policy governs each image, a [`manifest::Scan`] (a stream, or a part of one) at a time; what it
/// keeps between parts is the app-wide policies and what the warnings need.
pub struct Planner<'a> {
    app: &'a AppContext,
    app_wide: Settings,
    write_back: WriteBack,
    /// The `write-back-target` when the committer edits the source and there is no lock file: resolved images
    /// then render as the source writes them ([`PlannedImage::source`]).
    source: Option<Arc<str>>,
    /// Objects without policy annotations of their own all get the app-wide policies: worked out once, shared.
    app_wide_only: Option<Arc<[Arc<TrackedImage>]>>,
    /// The aliases of every tracked image met.
    aliases: HashSet<String>,
    /// Image-list entries of the parameters and the plugin env, in the order met, and those an image matched:
    /// an entry nothing matches is a typo (or an image only in `args`), which must not pass in silence. Entries
    /// of an object's annotations can only match in that object, so they are settled part by part.
    app_wide_entries: Vec<(EntryId, Arc<TrackedImage>)>,
    app_wide_ids: HashSet<EntryId>,
    matched: HashSet<EntryId>,
    warnings: Vec<String>,
    seen_warnings: HashSet<String>,
    /// Images planned so far, for the deadline's message.
    done: usize,
    /// The lock file's entries some tracked image has (whatever decides it): the others are warned about.
    locked: HashSet<LockKey>,
}

impl<'a> Planner<'a> {
    /// # Errors
    ///
    /// The Application's parameters or plugin env are wrong: a policy key, or a write-back key (its git
    /// credentials in a namespace the application may not use, too).
    pub fn new(app: &'a AppContext) -> Result<Planner<'a>, GenerateError> {
        let policy = |e: SourceError| GenerateError::Policy(Box::new(e));
        let app_wide = app.app_wide_settings().map_err(policy)?;
        let (write_back, write_back_warnings) = app_wide
            .write_back_spec()
            .build()
            .map_err(|e| policy(e.into()))?;
        if let Some(scope) = &app.secret_scope {
            write_back
                .check_scope(scope)
                .map_err(|e| policy(e.into()))?;
        }
        let target = write_back.source_target().and_then(|t| t.key_value());
        let lock_file_wins = target.is_some() && app.lock.is_some();
        let source = target
            .as_deref()
            .filter(|_| app.lock.is_none() && !app.live)
            .map(Arc::from);
        let mut planner = Planner {
            app,
            app_wide,
            source,
            write_back,
            app_wide_only: None,
            aliases: HashSet::new(),
            app_wide_entries: Vec::new(),
            app_wide_ids: HashSet::new(),
            matched: HashSet::new(),
            warnings: Vec::new(),
            seen_warnings: HashSet::new(),
            done: 0,
            locked: HashSet::new(),
        };
        for warning in write_back_warnings {
            planner.warn(warning);
        }
        if lock_file_wins && let Some(target) = target {
            planner.warn(format!(
                "the application has a {FILE_NAME} and write-back-target is '{target}': the lock file decides the \
                 images it has an entry for (and the others are resolved from their registries), while the \
                 committer writes tags to the source; delete {FILE_NAME} to render the source as written"
            ));
        }
        Ok(planner)
    }

    /// The application's write-back settings, read from its parameters and plugin env.
    pub fn write_back(&self) -> &WriteBack {
        &self.write_back
    }

    fn warn(&mut self, warning: String) {
        if self.seen_warnings.insert(warning.clone()) {
            self.warnings.push(warning);
        }
    }

    /// Every image of `scan` that parses as an image reference, in text order, with the tracked image that
    /// governs it.
    ///
    /// # Errors
    ///
    /// An object's policy annotations are wrong, it names a pull secret the application may not use, or `stop`
    /// said to give up.
    pub fn plan_scan(
        &mut self,
        scan: &manifest::Scan,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<PlannedImage>, GenerateError> {
        let mut planned = Vec::with_capacity(scan.images.len());
        let mut per_object: HashMap<usize, Arc<[Arc<TrackedImage>]>> = HashMap::new();
        // The annotation entries of the document being planned (see `app_wide_entries`): settled when it ends,
        // so that a stream planned whole and one planned a document at a time warn alike.
        let mut own_entries: Vec<(EntryId, Arc<TrackedImage>)> = Vec::new();
        let mut own_ids: HashSet<EntryId> = HashSet::new();
        let mut document = None;
        for (index, field) in scan.images.iter().enumerate() {
            self.done += 1;
            if self.done.is_multiple_of(IMAGES_PER_STOP_CHECK) && stop() {
                return Err(GenerateError::OutOfTime {
                    done: self.done - 1,
                });
            }
            let object = &scan.objects[field.object];
            if document
                .replace(object.document)
                .is_some_and(|d| d != object.document)
            {
                own_ids.clear();
                self.settle(std::mem::take(&mut own_entries));
            }
            let image = match ImageRef::parse_with(&field.value, &self.app.image_defaults) {
                Ok(image) => image,
                Err(e) => {
                    self.warn(format!(
                        "{object}: {} is not an image reference, left as is: {e}",
                        field.path
                    ));
                    continue;
                }
            };
            if let Entry::Vacant(slot) = per_object.entry(field.object) {
                let tracked = self.tracked_of(object)?;
                for t in tracked.iter() {
                    let id = entry_id(t);
                    let own = matches!(t.origins[0].origin, source::Origin::Annotation { .. });
                    if own && own_ids.insert(id.clone()) {
                        own_entries.push((id, Arc::clone(t)));
                    } else if !own && self.app_wide_ids.insert(id.clone()) {
                        self.app_wide_entries.push((id, Arc::clone(t)));
                    }
                }
                slot.insert(tracked);
            }
            let tracked = per_object[&field.object]
                .iter()
                .find(|candidate| candidate.governs(&image))
                .cloned();
            if let Some(t) = &tracked {
                self.matched.insert(entry_id(t));
            }
            let lock = match &tracked {
                Some(t) => self.lock_of(t)?,
                None => self.lock_of_untracked(&image, object)?,
            };
            let source = match &tracked {
                Some(t) if t.action() == Action::Resolve => self.source.clone(),
                _ => None,
            };
            planned.push(PlannedImage {
                field: index,
                image,
                tracked,
                lock,
                source,
            });
        }
        self.settle(own_entries);
        Ok(planned)
    }

    /// The lock file's entry that decides `tracked`, when there is one and the Application does not pin the image
    /// (a hold keeps what runs, which is the entry's tag: the committer leaves the entry as it is); warns about an
    /// image the lock file lacks (resolved from the registry until the committer adds it) and about an entry
    /// resolved under another policy (rendered all the same: the committer resolves it again).
    ///
    /// # Errors
    ///
    /// The entry lacks the digest its policy renders.
    fn lock_of(&mut self, tracked: &TrackedImage) -> Result<Option<Arc<LockEntry>>, GenerateError> {
        let app = self.app;
        let Some(lock) = &app.lock else {
            return Ok(None);
        };
        let key = LockKey::of(tracked);
        let entry = lock.get(&key).cloned();
        if entry.is_some() {
            self.locked.insert(key.clone());
        }
        let held = match tracked.action() {
            Action::Pin(_) => return Ok(None),
            Action::Hold => true,
            Action::Resolve => false,
        };
        let Some(entry) = entry else {
            if held {
                return Ok(None);
            }
            self.warn(format!(
                "{FILE_NAME} has no entry '{key}': image {} is resolved from its registry at each render until \
                 the committer adds it",
                tracked.image.familiar_name()
            ));
            return Ok(None);
        };
        let policy = tracked.policy.to_string();
        if tracked.policy.renders_digest()
            && entry.rendered_digest().is_none()
            && entry.pin.is_none()
        {
            return Err(GenerateError::LockDigestMissing {
                entry: key.to_string(),
                policy,
            });
        }
        if let Some(resolved_under) = entry.policy.as_deref().filter(|p| *p != policy) {
            self.warn(format!(
                "{FILE_NAME} entry '{key}' was resolved under another policy ({resolved_under}) than the \
                 image's now ({policy}): its tag {} renders until the committer resolves it again",
                entry.tag
            ));
        }
        Ok(Some(entry))
    }

    /// The lock file's entry that decides an image no policy visible here tracks: the entry of its repository.
    /// The committer may know the policy from the Application's annotations, which Argo CD never passes to the
    /// plugin; the entry then says all there is to render. Entries of the repository under several aliases that
    /// would render differently leave the image as rendered, with a warning.
    ///
    /// # Errors
    ///
    /// The entry lacks the digest its policy renders.
    fn lock_of_untracked(
        &mut self,
        image: &ImageRef,
        object: &manifest::Object,
    ) -> Result<Option<Arc<LockEntry>>, GenerateError> {
        let app = self.app;
        let Some(lock) = &app.lock else {
            return Ok(None);
        };
        let repository = image.name();
        let entries: Vec<&Arc<LockEntry>> = lock.entries_of(&repository).collect();
        let Some(&first) = entries.first() else {
            return Ok(None);
        };
        for entry in &entries {
            self.locked.insert(entry.key.clone());
        }
        let renders = |e: &LockEntry| {
            let digest = e.rendered_digest().filter(|_| e.policy_renders_digest());
            (e.rendered_tag().clone(), digest.map(str::to_owned))
        };
        if let Some(other) = entries.iter().find(|e| renders(e) != renders(first)) {
            self.warn(format!(
                "{FILE_NAME} entries '{}' and '{}' both name {repository} but render it differently, and no \
                 image-list the plugin reads tracks the image in {object}: it is left as rendered; track it with \
                 image-list in the plugin's parameters",
                first.key, other.key
            ));
            return Ok(None);
        }
        if first.policy_renders_digest() && first.rendered_digest().is_none() && first.pin.is_none()
        {
            return Err(GenerateError::LockDigestMissing {
                entry: first.key.to_string(),
                policy: first.policy.clone().unwrap_or_default(),
            });
        }
        Ok(Some(Arc::clone(first)))
    }

    /// Warns about the entries of a document's annotations no image matched.
    fn settle(&mut self, entries: Vec<(EntryId, Arc<TrackedImage>)>) {
        for (id, t) in entries {
            if !self.matched.remove(&id) {
                self.warn(unmatched_entry(&t));
            }
        }
    }

    /// The tracked images of `object`: its own annotations overridden by the app-wide settings.
    fn tracked_of(
        &mut self,
        object: &manifest::Object,
    ) -> Result<Arc<[Arc<TrackedImage>]>, GenerateError> {
        let own = object
            .annotations
            .iter()
            .any(|(key, _)| key.starts_with(source::PREFIX));
        if !own && let Some(shared) = &self.app_wide_only {
            return Ok(Arc::clone(shared));
        }
        let label = object_label(object);
        let settings =
            Settings::from_annotations(&label, &object.annotations).overridden_by(&self.app_wide);
        let tracked = settings
            .tracked_images_in(&self.app.image_defaults)
            .map_err(|source| GenerateError::ObjectPolicy {
                object: object.to_string(),
                source: Box::new(source),
            })?;
        if let Some(scope) = &self.app.secret_scope {
            tracked
                .images
                .iter()
                .try_for_each(|t| check_secret_scope(t, scope))?;
        }
        for alias in tracked.images.iter().filter_map(|t| t.alias.as_ref()) {
            if !self.aliases.contains(alias) {
                self.aliases.insert(alias.clone());
            }
        }
        for warning in tracked.warnings {
            self.warn(warning);
        }
        let tracked: Arc<[Arc<TrackedImage>]> = tracked.images.into_iter().map(Arc::new).collect();
        if !own {
            self.app_wide_only = Some(Arc::clone(&tracked));
        }
        Ok(tracked)
    }

    /// The warnings of everything planned: each once, in the order met, then the app-wide entries no image
    /// matched, the lock file's entries no tracked image has, and the app-wide keys of aliases no image has.
    #[must_use]
    pub fn finish(mut self) -> Vec<String> {
        for (id, t) in std::mem::take(&mut self.app_wide_entries) {
            if !self.matched.contains(&id) {
                self.warn(unmatched_entry(&t));
            }
        }
        let app = self.app;
        if let Some(lock) = &app.lock {
            for entry in lock.entries() {
                if !self.locked.contains(&entry.key) {
                    self.warn(format!(
                        "{FILE_NAME} entry '{}' is for no image tracked in the rendered manifests: remove it, or \
                         check the image-list that should track it",
                        entry.key
                    ));
                }
            }
        }
        let mut in_use: Vec<&str> = self.aliases.iter().map(String::as_str).collect();
        in_use.sort_unstable();
        for warning in self.app_wide.app_wide_warnings(&in_use) {
            if self.seen_warnings.insert(warning.clone()) {
                self.warnings.push(warning);
            }
        }
        self.warnings
    }
}

fn unmatched_entry(tracked: &TrackedImage) -> String {
    let entry = &tracked.origins[0];
    format!(
        "{} lists '{}', which matches no image in the rendered manifests (only `image:` fields are tracked, not \
         args or env): check its spelling",
        entry.origin, entry.value
    )
}

/// Which image-list entry a tracked image comes from: where the list was written and the repository it names
/// (of several entries of one list naming one repository, the first governs and speaks for them). Objects share
/// the app-wide entries, each with its own copy.
type EntryId = (String, String);

fn entry_id(tracked: &TrackedImage) -> EntryId {
    (tracked.origins[0].origin.to_string(), tracked.image.name())
}

/// Refuses, before anything is resolved, a pull secret the application may not use. Only where the destination
/// namespace is known: elsewhere (the parameters command) the credential store refuses such a secret per image.
fn check_secret_scope(tracked: &TrackedImage, scope: &SecretScope) -> Result<(), GenerateError> {
    let (Some(spec), Some(_)) = (&tracked.pull_secret, scope.destination()) else {
        return Ok(());
    };
    let Some(namespace) = spec.namespace().filter(|ns| !scope.permits(ns)) else {
        return Ok(());
    };
    let origin = tracked
        .origins
        .iter()
        .rev()
        .find(|o| o.key.ends_with("pull-secret"))
        .map_or_else(
            || "the policy".to_string(),
            |o| format!("{} ({})", o.origin, o.key),
        );
    Err(GenerateError::PullSecretNamespace {
        origin,
        spec: spec.to_string(),
        image: tracked.image.to_string(),
        namespace: namespace.to_string(),
        reason: scope.refusal(namespace),
    })
}
