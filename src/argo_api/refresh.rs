//! A hard refresh of one Application: what `argocd app get --hard-refresh` does, a merge patch setting the
//! annotation `argocd.argoproj.io/refresh: hard`. Argo CD's controller then renders the Application again without
//! its manifest cache (so the plugin runs and resolves the newest tag) and removes the annotation.

use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::{Client, Error};
use thiserror::Error;

use super::{AppKey, application_resource};

/// The annotation Argo CD's controller reads a refresh request from (`normal` or `hard`).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// Why an Application could not be refreshed. The next change of its images asks again.
#[derive(Debug, Error)]
pub enum RefreshError {
    #[error("application {app}: not found, so not refreshed (deleted since it was discovered?)")]
    NotFound { app: AppKey },
    #[error(
        "application {app}: the service account may not patch applications.argoproj.io in namespace {}: \
         {message}; grant it patch on applications there",
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

/// Asks Argo CD to render the Application `namespace/name` again, bypassing its manifest cache: one
/// `PATCH …/namespaces/{namespace}/applications/{name}` with `Content-Type: application/merge-patch+json` and the
/// body `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`.
///
/// # Errors
///
/// [`RefreshError`]: the Application is gone, the service account may not patch it, or the API failed.
pub async fn hard_refresh(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<(), RefreshError> {
    let app = AppKey::new(namespace, name);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &application_resource());
    let patch = serde_json::json!({"metadata": {"annotations": {REFRESH_ANNOTATION: "hard"}}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            tracing::info!(app = %app, "asked Argo CD for a hard refresh");
            Ok(())
        }
        Err(Error::Api(status)) if status.code == 404 => Err(RefreshError::NotFound { app }),
        Err(Error::Api(status)) if status.is_forbidden() => Err(RefreshError::Forbidden {
            app,
            message: status.message.clone(),
        }),
        Err(source) => Err(RefreshError::Api { app, source }),
    }
}
