//! The `generate` pipeline's pieces under one name: the pure planning and applying halves (the core crate's
//! `generate`) and the step between them that asks the registries ([`resolve_plan`], from [`crate::pipeline`]).

pub use argocd_image_resolver_core::generate::*;

pub use crate::pipeline::resolve::{OUTPUT_MARGIN, resolve_plan};
