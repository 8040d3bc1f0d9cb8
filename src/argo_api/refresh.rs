//! A hard refresh of one Application: what `argocd app get --hard-refresh` does, a merge patch setting the
//! annotation `argocd.argoproj.io/refresh: hard`. Argo CD's controller then renders the Application again without
//! its manifest cache (so the plugin runs and resolves the newest tag) and removes the annotation.
//!
//! A hard refresh already pending (the annotation still there) is not asked again: the render it brings comes
//! after the tag list this daemon just stored, so it already shows the new tag. This is also what keeps replicas
//! that notice the same push together from each refreshing the Application.

use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::{Client, Error};
use thiserror::Error;

use super::{AppKey, application_resource};

/// The annotation Argo CD's controller reads a refresh request from (`normal` or `hard`).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// What a refresh request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The annotation was patched on.
    Requested,
    /// A hard refresh was pending already.
    AlreadyPending,
}

/// Why an Application could not be refreshed. The next change of its images asks again.
#[derive(Debug, Error)]
pub enum RefreshError {
    #[error("application {app}: not found, so not refreshed (deleted since it was discovered?)")]
    NotFound { app: AppKey },
    #[error(
        "application {app}: the service account may not get or patch applications.argoproj.io in namespace {}: \
         {message}; grant it get and patch on applications there",
        app.namespace
    )]
    Forbidden { app: AppKey, message: String },
    #[error("application {app}: the refresh request failed: {source}")]
    Api {
        app: AppKey,
        #[source]
        source: Error,
    },
}

/// Asks Argo CD to render the Application `namespace/name` again, bypassing its manifest cache, unless a hard
/// refresh is pending: a `GET …/namespaces/{namespace}/applications/{name}`, then one `PATCH` of it with
/// `Content-Type: application/merge-patch+json` and the body
/// `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`.
///
/// # Errors
///
/// [`RefreshError`]: the Application is gone, the service account may not read or patch it, or the API failed.
pub async fn hard_refresh(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Refreshed, RefreshError> {
    let app = AppKey::new(namespace, name);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &application_resource());
    let current = api.get(name).await.map_err(|e| error(&app, e))?;
    let pending = current
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REFRESH_ANNOTATION))
        .is_some_and(|value| value == "hard");
    if pending {
        tracing::info!(app = %app, "a hard refresh is pending already");
        return Ok(Refreshed::AlreadyPending);
    }
    let patch = serde_json::json!({"metadata": {"annotations": {REFRESH_ANNOTATION: "hard"}}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            tracing::info!(app = %app, "asked Argo CD for a hard refresh");
            Ok(Refreshed::Requested)
        }
        Err(e) => Err(error(&app, e)),
    }
}

fn error(app: &AppKey, error: Error) -> RefreshError {
    let app = app.clone();
    match error {
        Error::Api(status) if status.code == 404 => RefreshError::NotFound { app },
        Error::Api(status) if status.is_forbidden() => RefreshError::Forbidden {
            app,
            message: status.message,
        },
        source => RefreshError::Api { app, source },
    }
}
