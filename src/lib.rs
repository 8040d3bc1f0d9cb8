//! argocd-image-resolver: resolve container image tags from OCI registries while Argo CD renders an application.
//!
//! The pure core ([`image`], [`version`], [`constraint`], [`policy`], [`manifest`]) does no I/O and is tested with tables;
//! [`registry`] is the I/O edge that talks to OCI registries. `src/main.rs` only parses the command line and
//! dispatches to [`cli`].

pub mod cli;
pub mod constraint;
pub mod image;
pub mod manifest;
pub mod policy;
pub mod registry;
pub mod version;
