//! Source write-back, as argocd-image-updater users configure it: the application's write-back keys read into a
//! [`WriteBack`] (`config`), each image's into an [`ImageWriteBack`] (`image`), branch names and templates
//! (`branch`), and the pure editors the committer uses — a kustomization's `images:` ([`set_kustomize_image`]) and
//! a Helm values file's values ([`set_helm_value`]) — which change only the bytes of the changed values.
//!
//! The editors read the file into a whole tree with byte positions (`yaml`), decide the edits (`kustomize`,
//! `helm`, with what they share in `edit`), and splice them with the manifest scanner's splice: comments, blank
//! lines, key order, quoting, flow and block styles, line breaks (CRLF too) and multi-byte text stay byte for
//! byte. Nothing here reads a file or runs git: the committer does, around them.

mod apply;
mod branch;
mod config;
mod edit;
mod helm;
mod image;
mod kustomize;
mod yaml;

pub use apply::{ApplyError, Planned, ResolvedImage, Skip, TargetKind, plan as plan_target};
pub use branch::{
    BranchChange, BranchContext, BranchProblem, BranchTemplate, MAX_BRANCH_BYTES, changes_sha256,
    check_branch_name, target_key,
};
pub use config::{
    DEFAULT_VALUES_FILE, GitBranch, GitCredentials, GitRepository, GitWriteBack, LOCK_FILE, Method,
    Problem, Target, TargetPath, Transport, WriteBack, WriteBackError, WriteBackSpec,
};
pub use edit::{EditError, FileEditError};
pub use helm::{set_helm_value, set_helm_values};
pub use image::{
    DEFAULT_HELM_NAME, DEFAULT_HELM_TAG, ImageWriteBack, KustomizeImage, NewImage, Step, ValuePath,
    ValuePathError, written_name,
};
pub use kustomize::set_kustomize_image;

/// The file names kustomize reads a kustomization from, in the order it looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[cfg(test)]
mod tests;
