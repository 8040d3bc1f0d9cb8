//! The `generate` pipeline after rendering: find the images, work out each one's policy, resolve the tags, and
//! splice the new image strings (and one annotation per changed object) into the rendered text.
//!
//! The pure halves, shared by `generate`, `parameters` and `explain`: [`plan`] (scan, policies, matching) before
//! the registries are asked, [`apply`] (edits and splice) after. Asking them is the main crate's `resolve_plan`,
//! which fills in the [`Resolutions`] defined here.
//!
//! The types both halves share live here; `plan` and `apply` hold the halves.

mod apply;
mod plan;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use crate::argo::ArgoRequest;
use crate::credential_spec::SecretScope;
use crate::image::{ImageDefaults, ImageRef};
use crate::lock::{LockEntry, LockFile};
use crate::manifest::{self, ImagePath, Scan};
use crate::policy::source::{Action, Located, Parameter, Settings, SourceError, TrackedImage};
use crate::writeback::WriteBack;
use serde::Serialize;
use thiserror::Error;

pub use apply::{apply, apply_each, image_value, new_image_value};
pub use plan::{Planner, object_label, plan, plan_each, plan_until};

/// The annotation each object whose images are tracked gets: a JSON list saying, per container, what the image
/// was rendered as, what it is now, under which policy and how that was decided. Deterministic: no timestamps.
pub const RESOLVED_ANNOTATION: &str = "argocd-image-resolver/images";

/// What the pipeline knows about the application besides its rendered text.
#[derive(Clone, Debug, Default)]
pub struct AppContext {
    /// `ARGOCD_APP_NAME`, for messages.
    pub name: Option<String>,
    /// `ARGOCD_APP_PARAMETERS`: the Application's plugin parameters.
    pub parameters: Vec<Parameter>,
    /// The Application's plugin env (`ARGOCD_ENV_*`; other variables are ignored).
    pub plugin_env: Vec<(String, String)>,
    /// Extra places images live in custom resources.
    pub extra_paths: Vec<ImagePath>,
    /// How image references name registries (registries.conf's `default` and `defaultns`).
    pub image_defaults: ImageDefaults,
    /// Which namespaces' pull secrets the application may name; `None`: any (not an Application's request).
    pub secret_scope: Option<SecretScope>,
    /// The application's lock file (`image-resolver.lock.yaml`), when it has one: each tracked image with an
    /// entry renders as the entry says, unless the Application pins it (see [`PlannedImage::lock`]).
    pub lock: Option<Arc<LockFile>>,
    /// The committer's plan: every tracked image is resolved from its registry, whatever the application's
    /// write-back target says `generate` renders (the committer compares the two itself).
    pub live: bool,
}

impl AppContext {
    /// What Argo CD's request says about the application; the rest (extra paths, image defaults, secret scope)
    /// is the operator's and set by the caller.
    pub fn for_request(request: &ArgoRequest) -> AppContext {
        AppContext {
            name: request.app_name.clone(),
            parameters: request.parameters.clone(),
            plugin_env: request.plugin_env.clone(),
            ..AppContext::default()
        }
    }

    /// The policy keys the Application sets for all its images: its parameters, overridden key by key by its
    /// plugin env. Each object's own annotations are overridden by these.
    ///
    /// # Errors
    ///
    /// A parameter or variable whose value has the wrong type, or a key set twice in the plugin env.
    pub fn app_wide_settings(&self) -> Result<Settings, SourceError> {
        let parameters = Settings::from_parameters(self.parameters.clone())?;
        let env = Settings::from_env(self.plugin_env.iter().cloned())?;
        Ok(parameters.overridden_by(&env))
    }
}

#[derive(Clone, Debug, Error)]
pub enum GenerateError {
    #[error("cannot read the rendered manifests: {0}")]
    Scan(#[from] manifest::ScanError),
    #[error("{0}")]
    Policy(Box<SourceError>),
    // The policy error names its source, and for an annotation the object it is on.
    #[error("{source}")]
    ObjectPolicy {
        object: String,
        source: Box<SourceError>,
    },
    #[error(
        "image {image} ({policy}): {reason}; no tag of it was resolved before, so there is nothing to fall back to"
    )]
    Resolve {
        image: String,
        policy: String,
        reason: String,
    },
    /// The registry answered that the pinned tag does not exist: rendering it would only trade this message for
    /// an `ImagePullBackOff`, on a rollback of all moments.
    #[error(
        "{at} pins image {image} to a tag its registry does not have; {}",
        pin_alternatives(.nearest, .unlisted.as_deref())
    )]
    PinNotFound {
        /// The pin's key, value and where it was written.
        at: Box<Located>,
        image: String,
        tag: String,
        /// The existing tags nearest to the pinned one, nearest first.
        nearest: Vec<String>,
        /// Why the repository's tags could not be listed for `nearest`, when they could not.
        unlisted: Option<String>,
    },
    #[error(
        "{origin} names pull secret '{spec}' for image {image}, which is in namespace {namespace}: {reason}"
    )]
    PullSecretNamespace {
        origin: String,
        spec: String,
        image: String,
        namespace: String,
        reason: String,
    },
    // The annotation error names the object and says why.
    #[error("{0}")]
    Annotate(#[from] manifest::AnnotateError),
    #[error("{0}")]
    Replace(#[from] manifest::ReplaceError),
    #[error("cannot apply the edits: {0}")]
    Splice(#[from] manifest::SpliceError),
    #[error(
        "gave up matching images to their policies after {done} of them: the time allowed ran out"
    )]
    OutOfTime { done: usize },
    /// A lock entry without the digest its policy renders: rendering the tag alone would run whatever the tag
    /// names now, which is what the lock file is there to prevent.
    #[error(
        "{} entry '{entry}' has no digest, which its policy ({policy}) renders with the tag: add the digest \
         the tag named when it was resolved, or take the entry out to resolve the image from its registry",
        crate::lock::FILE_NAME
    )]
    LockDigestMissing { entry: String, policy: String },
}

impl GenerateError {
    /// Whether the caller's time ran out (rather than the input being wrong).
    pub fn is_out_of_time(&self) -> bool {
        matches!(
            self,
            GenerateError::OutOfTime { .. }
                | GenerateError::Scan(manifest::ScanError::Stopped { .. })
        )
    }
}

/// What a [`GenerateError::PinNotFound`] offers instead of the missing tag.
fn pin_alternatives(nearest: &[String], unlisted: Option<&str>) -> String {
    let fix = "or remove the pin to follow the policy again";
    match (nearest, unlisted) {
        ([], None) => format!("the repository has no tags; check the image name, {fix}"),
        ([], Some(reason)) => {
            format!("its tags could not be listed ({reason}); pin an existing tag, {fix}")
        }
        (nearest, _) => format!(
            "nearest existing tags: {}; pin one of those, {fix}",
            nearest.join(", ")
        ),
    }
}

/// One image scalar of the rendered output, with the tracked image that governs it (if any).
#[derive(Clone, Debug)]
pub struct PlannedImage {
    /// Index into [`Scan::images`].
    pub field: usize,
    /// The image as rendered.
    pub image: ImageRef,
    /// Shared by every image the same policy governs (objects without policy annotations share them all).
    pub tracked: Option<Arc<TrackedImage>>,
    /// The lock file's entry that decides this image: the entry of its alias and repository, when the
    /// application has a lock file holding one and does not pin the image (a pin set on the Application wins over
    /// the lock file, as over the registry; a hold keeps the entry's tag, what runs). No registry is asked about
    /// such an image.
    pub lock: Option<Arc<LockEntry>>,
    /// The application's `write-back-target` (`kustomization[:path]`, `helmvalues[:path]`) when the committer
    /// writes this image's tag into the source: the image renders as the source writes it ([`Decision::Source`]),
    /// and no registry is asked. Set for a resolved image (not a pin or a hold, which win as over the registry) of
    /// an application without a lock file (one present decides as in lock mode).
    pub source: Option<Arc<str>>,
}

/// Everything decided before talking to a registry.
#[derive(Debug)]
pub struct Plan {
    pub scan: Scan,
    /// Every image scalar that parses as an image reference, in text order.
    pub images: Vec<PlannedImage>,
    /// Things the user should know (unknown keys, images that do not parse); deduplicated, in order.
    pub warnings: Vec<String>,
    /// The application's write-back settings, for the committer and `explain`.
    pub write_back: WriteBack,
}

/// How an image's new value was decided. Serialised (in the annotation, in `explain`'s JSON) as its
/// [`Decision::name`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Resolved from the registry just now.
    Registry,
    /// The registry could not be asked in time; the last tag resolved for this image and policy.
    LastKnownGood,
    /// Pinned by `<alias>.pin`.
    Pin,
    /// Left as rendered by `<alias>.hold`.
    Hold,
    /// As the lock file's entry says, no registry asked.
    Lock,
    /// As the source writes it, no registry asked: the committer edits the tag in the source
    /// (`write-back-method: git` with this `write-back-target`).
    Source { target: Arc<str> },
}

impl Decision {
    /// The decision's kebab-case name: `registry`, `last-known-good`, `pin`, `hold`, `lock`, `source`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Registry => "registry",
            Decision::LastKnownGood => "last-known-good",
            Decision::Pin => "pin",
            Decision::Hold => "hold",
            Decision::Lock => "lock",
            Decision::Source { .. } => "source",
        }
    }

    /// Whether the image is written back as rendered (held, or as its source writes it), not rebuilt from the
    /// outcome's tag.
    pub fn keeps_rendered(&self) -> bool {
        matches!(self, Decision::Hold | Decision::Source { .. })
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The outcome for one tracked image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub tag: String,
    pub digest: Option<String>,
    pub decision: Decision,
    /// Why the registry was not used, for [`Decision::LastKnownGood`].
    pub fallback_reason: Option<String>,
}

impl Outcome {
    /// The outcome of an image no registry resolves: its lock entry's tag (the pin there is one, else the tag)
    /// and the digest the entry records for that tag; a pin's tag (once the main crate has checked that its
    /// registry has it, or could not); a held image, or one whose source the committer edits, as rendered. `None`
    /// for untracked images and for those a registry resolves.
    pub fn without_registry(planned: &PlannedImage) -> Option<Outcome> {
        if let Some(entry) = &planned.lock {
            return Some(Outcome {
                tag: entry.rendered_tag().to_string(),
                digest: entry.rendered_digest().map(str::to_owned),
                decision: Decision::Lock,
                fallback_reason: None,
            });
        }
        let as_rendered = || {
            (
                planned.image.tag().unwrap_or_default().to_string(),
                planned.image.digest().map(str::to_string),
            )
        };
        let (tag, digest, decision) = match planned.tracked.as_ref()?.action() {
            Action::Resolve => {
                let target = planned.source.as_ref()?;
                let (tag, digest) = as_rendered();
                let decision = Decision::Source {
                    target: Arc::clone(target),
                };
                (tag, digest, decision)
            }
            Action::Pin(tag) => (tag.to_string(), None, Decision::Pin),
            Action::Hold => {
                let (tag, digest) = as_rendered();
                (tag, digest, Decision::Hold)
            }
        };
        Some(Outcome {
            tag,
            digest,
            decision,
            fallback_reason: None,
        })
    }
}

/// What the registries answered (the main crate's `resolve_plan`): the outcome per [`Plan::images`] entry (`None` for
/// untracked images, failed requests and pins to a tag the registry does not have), warnings (fallbacks to
/// last-known-good, pins that could not be checked) and failures.
#[derive(Debug, Default)]
pub struct Resolutions {
    pub outcomes: Vec<Option<Outcome>>,
    pub warnings: Vec<String>,
    /// Requests with no answer at all, neither from the registry nor from the cache, and pins to a tag the
    /// registry does not have, in text order. `generate` must fail on the first: rendering the old tag silently
    /// would look like success, and rendering a missing pin would only fail later, in the cluster.
    pub failures: Vec<GenerateError>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Registry => f.write_str("resolved from the registry"),
            Decision::LastKnownGood => f.write_str("last known good (registry unavailable)"),
            Decision::Pin => f.write_str("pinned"),
            Decision::Hold => f.write_str("held"),
            Decision::Lock => f.write_str("from the lock file"),
            Decision::Source { target } => write!(
                f,
                "as written in the source (write-back-method: git, write-back-target: {target})"
            ),
        }
    }
}
