//! The Kubernetes API, for Argo CD's `Application`s: find the ones that name this plugin and keep them current
//! ([`Discovery`], a list + watch per namespace with kube-rs's `watcher`), and ask Argo CD to render one again
//! ([`hard_refresh`]).
//!
//! What an Application object means for the plugin is decided by the pure core
//! ([`crate::commit::plugin_sources`], table-tested there); this module is the I/O around it. Applications are a
//! custom resource, read as [`DynamicObject`]s through [`application_resource`]: an object the core cannot read is
//! skipped and reported, never a deserialisation error that would stop the watch.
//!
//! Named `argo_api` rather than `kube` so that `kube::…` paths keep meaning the kube-rs crate.

mod discovery;
mod refresh;

use kube::core::{ApiResource, DynamicObject, GroupVersionKind};

pub use discovery::{
    Discovery, DiscoveryOptions, DiscoveryProblem, ProblemHook, RetryBackoff, Scope, ScopeStatus,
};
pub use refresh::{REFRESH_ANNOTATION, RefreshError, Refreshed, hard_refresh};

pub use argocd_image_resolver_core::commit::{
    AppKey, ApplicationError, ApplicationProblem, DEFAULT_CONTROL_PLANE_NAMESPACE,
    DEFAULT_PLUGIN_NAME, Matching, PluginSource, plugin_sources,
};

/// `argoproj.io/v1alpha1` `Application`, plural `applications`: what every request of this module names.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    )
}

/// The object's key, `namespace/name` (empty parts when the API left them out, which it does not).
fn key_of(object: &DynamicObject) -> AppKey {
    AppKey::new(
        object.metadata.namespace.clone().unwrap_or_default(),
        object.metadata.name.clone().unwrap_or_default(),
    )
}
