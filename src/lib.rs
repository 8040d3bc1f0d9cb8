//! argocd-image-resolver: resolve container image tags from OCI registries while Argo CD renders an application.
//!
//! The pure core ([`image`], [`version`], [`constraint`], [`policy`], [`platform`], [`tag`], [`manifest`]) does no
//! I/O and is tested with tables. The I/O edges are narrow: [`registry`] talks to OCI registries, [`render`] runs
//! Kustomize and Helm through the one [`process`] runner, and [`resolver`] joins a policy to a registry.
//! `src/main.rs` only parses the command line and dispatches to [`cli`].

pub mod cache;
pub mod cli;
pub mod constraint;
pub mod escape;
pub mod generate;
pub mod image;
pub mod manifest;
pub mod platform;
pub mod policy;
pub mod process;
pub mod registry;
pub mod render;
pub mod resolver;
pub mod size;
pub mod tag;
pub mod version;
