//! The half before the registries: scan the rendered text, work out each object's policies, match every image
//! to the tracked image that governs it, and refuse pull secrets the application may not use.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{AppContext, GenerateError, Plan, PlannedImage};
use crate::credential_spec::SecretScope;
use crate::image::ImageRef;
use crate::manifest;
use crate::policy::source::{self, Settings, TrackedImage};

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
    let app_wide = app
        .app_wide_settings()
        .map_err(|e| GenerateError::Policy(Box::new(e)))?;
    let mut plan = Plan {
        images: Vec::with_capacity(scan.images.len()),
        warnings: Vec::new(),
        scan,
    };
    let mut per_object: HashMap<usize, Arc<[Arc<TrackedImage>]>> = HashMap::new();
    // Objects without policy annotations of their own all get the app-wide policies: worked out once, shared.
    let mut app_wide_only: Option<Arc<[Arc<TrackedImage>]>> = None;
    let mut aliases: Vec<String> = Vec::new();
    // Every image-list entry met, in order, and those an image matched: an entry nothing matches is a typo (or an
    // image only in `args`), which must not pass in silence.
    let mut listed: Vec<(EntryId, Arc<TrackedImage>)> = Vec::new();
    let mut listed_ids: HashSet<EntryId> = HashSet::new();
    let mut matched: HashSet<EntryId> = HashSet::new();
    let total = plan.scan.images.len();
    for (index, field) in plan.scan.images.iter().enumerate() {
        if index % IMAGES_PER_STOP_CHECK == IMAGES_PER_STOP_CHECK - 1 && stop() {
            return Err(GenerateError::OutOfTime { done: index, total });
        }
        let object = &plan.scan.objects[field.object];
        let image = match ImageRef::parse_with(&field.value, &app.image_defaults) {
            Ok(image) => image,
            Err(e) => {
                let warning = format!(
                    "{object}: {} is not an image reference, left as is: {e}",
                    field.path
                );
                plan.warnings.push(warning);
                continue;
            }
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = per_object.entry(field.object) {
            let own = object
                .annotations
                .iter()
                .any(|(key, _)| key.starts_with(source::PREFIX));
            let shared = if own { None } else { app_wide_only.clone() };
            let tracked = match shared {
                Some(tracked) => tracked,
                None => {
                    let label = object_label(object);
                    let settings = Settings::from_annotations(&label, &object.annotations)
                        .overridden_by(&app_wide);
                    let tracked =
                        settings
                            .tracked_images_in(&app.image_defaults)
                            .map_err(|source| GenerateError::ObjectPolicy {
                                object: object.to_string(),
                                source: Box::new(source),
                            })?;
                    if let Some(scope) = &app.secret_scope {
                        tracked
                            .images
                            .iter()
                            .try_for_each(|t| check_secret_scope(t, scope))?;
                    }
                    aliases.extend(tracked.images.iter().filter_map(|t| t.alias.clone()));
                    plan.warnings.extend(tracked.warnings);
                    let tracked: Arc<[Arc<TrackedImage>]> =
                        tracked.images.into_iter().map(Arc::new).collect();
                    for t in tracked.iter() {
                        let id = entry_id(t);
                        if listed_ids.insert(id.clone()) {
                            listed.push((id, Arc::clone(t)));
                        }
                    }
                    if !own {
                        app_wide_only = Some(Arc::clone(&tracked));
                    }
                    tracked
                }
            };
            slot.insert(tracked);
        }
        let tracked = per_object[&field.object]
            .iter()
            .find(|candidate| candidate.match_name.same_repository(&image))
            .cloned();
        if let Some(t) = &tracked {
            matched.insert(entry_id(t));
        }
        plan.images.push(PlannedImage {
            field: index,
            image,
            tracked,
        });
    }
    for (id, t) in &listed {
        if !matched.contains(id) {
            let entry = &t.origins[0];
            plan.warnings.push(format!(
                "{} lists '{}', which matches no image in the rendered manifests (only `image:` fields are \
                 tracked, not args or env): check its spelling",
                entry.origin, entry.value
            ));
        }
    }
    let in_use: Vec<&str> = aliases.iter().map(String::as_str).collect();
    plan.warnings.extend(app_wide.app_wide_warnings(&in_use));
    let mut seen = HashSet::new();
    plan.warnings.retain(|w| seen.insert(w.clone()));
    Ok(plan)
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
