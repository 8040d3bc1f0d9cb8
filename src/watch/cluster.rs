//! The daemon's side of the Kubernetes API: the Applications discovery finds (each with its action) and the hard
//! refresh of a render-time Application, over one kube-rs client.

use std::future::Future;
use std::pin::Pin;

use super::{Action, Applications, Refresh, Tracked, action_of};
use crate::argo_api::{self, Discovery};
use crate::commit::AppSpec;

/// Discovery and refresh through one client.
pub struct Cluster {
    pub client: kube::Client,
    pub discovery: Discovery,
    /// Argo CD's control-plane namespace: where an Application named without a namespace prefix lives.
    pub control_plane_namespace: String,
}

impl Applications for Cluster {
    fn current(&self) -> Vec<Tracked> {
        self.discovery
            .snapshot()
            .into_iter()
            .map(|spec| Tracked {
                action: action_of(&spec, Action::Refresh),
                spec,
            })
            .collect()
    }

    fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.discovery.changes()
    }
}

impl Refresh for Cluster {
    fn hard_refresh<'a>(
        &'a self,
        app: &'a AppSpec,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>> {
        Box::pin(async move {
            let (namespace, name) = application_of(app.name(), &self.control_plane_namespace);
            argo_api::hard_refresh(&self.client, namespace, name)
                .await
                .map(|refreshed| refreshed == argo_api::Refreshed::Requested)
                .map_err(|e| e.to_string())
        })
    }
}

/// The Application an `ARGOCD_APP_NAME` names: `<namespace>_<name>` outside the control plane's namespace (names
/// hold no `_`), else `<name>` there.
pub fn application_of<'a>(app_name: &'a str, control_plane: &'a str) -> (&'a str, &'a str) {
    app_name
        .split_once('_')
        .unwrap_or((control_plane, app_name))
}

#[cfg(test)]
mod tests {
    use super::application_of;

    #[test]
    fn an_app_name_names_its_application() {
        assert_eq!(application_of("web", "argocd"), ("argocd", "web"));
        assert_eq!(application_of("team-a_web", "argocd"), ("team-a", "web"));
    }
}
