//! Driving the binary the way argocd-cmp-server does: the repository unpacked into a fresh working directory per
//! call, the app's path inside it as the current directory, the sidecar's environment plus what Argo CD adds for
//! the call (see DESIGN.md, "The CMP contract"), `init` then `generate` in one directory, `parameters` in another
//! with the reduced environment, and the working directory deleted afterwards.
//!
//! ```ignore
//! mod plugin_support;
//! mod support;
//! use plugin_support::{Application, Repo, Sidecar};
//!
//! let registry = support::TestRegistry::plain().await;
//! plugin_support::push_tags(&registry, "team/web", &["1.0.0", "1.2.0"]).await;
//! let sidecar = Sidecar::new(&[("apps.test", &registry)]);     // registries.conf: apps.test → the registry
//! let repo = Repo::new(&[("apps/web/deployment.yaml", "…")]);  // the repository as it is in git
//! let app = Application::new("web", "apps/web");
//! let run = sidecar.generate(&repo, &app).await;                // init, then generate
//! let manifests = run.success();                                // stdout, after checking the exit status
//! ```
//!
//! Needs `kubectl` (its built-in kustomize) on the system PATH and the helm of `scripts/install-helm` (or
//! `IMAGE_RESOLVER_HELM`), besides what `tests/support` needs.
#![allow(dead_code)] // each test binary uses a different part

mod app;
mod charts;
mod fixtures;
mod output;
mod repo;
mod sidecar;

use std::path::{Path, PathBuf};

// Like `dead_code` above: each test binary uses a different part of what is re-exported here.
#[allow(unused_imports)]
pub use self::{
    app::Application,
    charts::{ChartRepository, deployment_chart, lock, push_chart},
    fixtures::{WEB_TAGS, WORKER_TAGS, helm_repo, shop_registry, unreachable_url},
    output::{
        LineDiff, annotated, documents, image_change, image_of_line, images, line_diff,
        only_images_and_annotations, resolved_entries,
    },
    repo::{Repo, copy_tree},
    sidecar::{Run, Sidecar},
};

use crate::support::TestRegistry;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_argocd-image-resolver");

/// The annotation the plugin adds to each object whose images it tracks.
pub const RESOLVED: &str = "argocd-image-resolver/images";

/// The real helm the tests use: `IMAGE_RESOLVER_HELM` when set, else `.tools/bin/helm` in the repository.
pub fn helm_path() -> PathBuf {
    let path = std::env::var_os("IMAGE_RESOLVER_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm"));
    assert!(
        path.is_file(),
        "helm not found at {}: run scripts/install-helm (or set IMAGE_RESOLVER_HELM)",
        path.display()
    );
    path
}

/// Pushes one small image to `repository` and tags it with every tag in `tags`.
pub async fn push_tags(registry: &TestRegistry, repository: &str, tags: &[&str]) {
    registry
        .pusher()
        .image_tagged(repository, "2024-05-01T00:00:00Z", tags)
        .await;
}
