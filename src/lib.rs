//! argocd-image-resolver: resolve container image tags from OCI registries while Argo CD renders an application.
//!
//! The pure core (image references, versions, constraints, policies, tags, the manifest scan and splice, the
//! lock file, the planning and applying halves of `generate`) is the `argocd-image-resolver-core` crate,
//! re-exported here module by module so that one path names each item. This crate holds the I/O edges: [`registry`] talks to OCI
//! registries, [`render`] runs Kustomize and Helm through the one [`process`] runner, [`resolver`] joins a policy
//! to a registry, [`cache`] keeps answers, [`git`] wraps the `git` CLI for the committer, and [`generate::resolve_plan`] asks the registries for a plan.
//! `src/main.rs` only parses the command line and dispatches to [`cli`].

pub use argocd_image_resolver_core::{
    argo, constraint, duration, escape, gocompat, image, lock, manifest, platform, policy, redact,
    size, tag, version, webhook, writeback,
};

pub mod argo_api;
pub mod cache;
pub mod cli;
pub mod commit;
pub mod generate;
pub mod git;
pub mod metrics;
pub mod pipeline;
pub mod process;
pub mod registry;
pub mod render;
pub mod resolver;
pub mod server;
pub mod spool;
pub mod watch;
