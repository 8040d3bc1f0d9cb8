//! Argo CD's request to the plugin, read once from the CMP environment: which application, where it deploys, the
//! cluster it renders for, and what its author set (parameters, plugin env).
//!
//! Pure: the caller hands over the variables (the main crate reads the process environment), and only the
//! variables Argo CD sets are kept — never the rest of the environment, where `env:VAR` credentials live.

use std::ffi::OsString;

use thiserror::Error;

use crate::policy::source::{Parameter, SourceError, parse_parameters};

/// The prefix Argo CD gives an Application's plugin env (`spec.source.plugin.env`).
pub const PLUGIN_ENV_PREFIX: &str = "ARGOCD_ENV_";

/// One request of Argo CD to the plugin, as its CMP server passes it in the environment. Empty variables count
/// as unset, as they do for Argo CD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgoRequest {
    /// `ARGOCD_APP_NAME`: `<name>`, or `<namespace>_<name>` for an Application outside the control plane's
    /// namespace.
    pub app_name: Option<String>,
    /// `ARGOCD_APP_NAMESPACE`: the destination namespace.
    pub namespace: Option<String>,
    /// `ARGOCD_APP_REVISION`: the commit being rendered.
    pub revision: Option<String>,
    /// `ARGOCD_APP_SOURCE_REPO_URL`.
    pub repo_url: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`: the application's directory inside the repository.
    pub source_path: Option<String>,
    /// `KUBE_VERSION`: the destination cluster's version.
    pub kube_version: Option<String>,
    /// `KUBE_API_VERSIONS`: the API versions the destination serves.
    pub api_versions: Vec<String>,
    /// `ARGOCD_APP_PARAMETERS`, checked item by item.
    pub parameters: Vec<Parameter>,
    /// The Application's plugin env: the `ARGOCD_ENV_*` variables, sorted by name so that messages do not depend
    /// on the order of the environment.
    pub plugin_env: Vec<(String, String)>,
}

/// Why Argo CD's environment cannot be read as a request.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ArgoError {
    #[error(
        "{name} is not UTF-8 text: Argo CD passes the Application's parameters and plugin env as text"
    )]
    NotText { name: String },
    #[error("{}{source}", prefix(app.as_deref()))]
    Parameters {
        app: Option<String>,
        source: Box<SourceError>,
    },
}

impl ArgoRequest {
    /// Reads a request from environment variables (`std::env::vars_os()` in the binary). What the Application
    /// sets (its parameters, its plugin env) must be text and the parameters a JSON list of the expected shape,
    /// else the error names the variable or parameter. Variables that are not Argo CD's are dropped.
    ///
    /// ```
    /// use argocd_image_resolver_core::argo::ArgoRequest;
    ///
    /// let request = ArgoRequest::from_vars([
    ///     ("ARGOCD_APP_NAME".into(), "shop".into()),
    ///     ("ARGOCD_ENV_IMAGE_LIST".into(), "web=acme/web".into()),
    ///     ("HOME".into(), "/root".into()),
    /// ])
    /// .unwrap();
    /// assert_eq!(request.prefix(), "application shop: ");
    /// assert_eq!(request.plugin_env, [("ARGOCD_ENV_IMAGE_LIST".to_string(), "web=acme/web".to_string())]);
    /// ```
    pub fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<ArgoRequest, ArgoError> {
        let mut request = ArgoRequest::default();
        let mut parameters = None;
        for (name, value) in vars {
            // Variables whose names are not text are no one's input to this plugin.
            let Ok(name) = name.into_string() else {
                continue;
            };
            let application_sets =
                name == "ARGOCD_APP_PARAMETERS" || name.starts_with(PLUGIN_ENV_PREFIX);
            let value = match value.into_string() {
                Ok(value) => value,
                Err(_) if application_sets => return Err(ArgoError::NotText { name }),
                Err(_) => continue,
            };
            if name.starts_with(PLUGIN_ENV_PREFIX) {
                request.plugin_env.push((name, value));
                continue;
            }
            if value.is_empty() {
                continue;
            }
            let slot = match name.as_str() {
                "ARGOCD_APP_NAME" => &mut request.app_name,
                "ARGOCD_APP_NAMESPACE" => &mut request.namespace,
                "ARGOCD_APP_REVISION" => &mut request.revision,
                "ARGOCD_APP_SOURCE_REPO_URL" => &mut request.repo_url,
                "ARGOCD_APP_SOURCE_PATH" => &mut request.source_path,
                "KUBE_VERSION" => &mut request.kube_version,
                "KUBE_API_VERSIONS" => {
                    request.api_versions = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    continue;
                }
                "ARGOCD_APP_PARAMETERS" => &mut parameters,
                _ => continue,
            };
            *slot = Some(value);
        }
        request.plugin_env.sort();
        request.parameters =
            parse_parameters(parameters.as_deref().unwrap_or_default()).map_err(|source| {
                ArgoError::Parameters {
                    app: request.app_name.clone(),
                    source: Box::new(source),
                }
            })?;
        Ok(request)
    }

    /// A message prefix naming the application, as Argo CD shows it in the UI: `application shop: `, or nothing
    /// when Argo CD did not name one.
    pub fn prefix(&self) -> String {
        prefix(self.app_name.as_deref())
    }

    /// The parameter named `name`, if the Application sets it.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

fn prefix(app: Option<&str>) -> String {
    app.map(|n| format!("application {n}: "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn reads_what_argo_cd_sets_and_nothing_else() {
        let request = ArgoRequest::from_vars(vars(&[
            ("ARGOCD_APP_NAME", "team_shop"),
            ("ARGOCD_APP_NAMESPACE", "team"),
            ("ARGOCD_APP_REVISION", "0123abc"),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example/shop.git"),
            ("ARGOCD_APP_SOURCE_PATH", "apps/shop"),
            ("KUBE_VERSION", "1.31.0"),
            ("KUBE_API_VERSIONS", "v1, apps/v1,,batch/v1 "),
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"web.pin","string":"1.2.3"}]"#,
            ),
            ("ARGOCD_ENV_WEB_HOLD", "true"),
            ("ARGOCD_ENV_IMAGE_LIST", "web=acme/web"),
            ("REGISTRY_PASSWORD", "s3cret"),
            ("HOME", "/root"),
        ]))
        .unwrap();
        assert_eq!(
            request,
            ArgoRequest {
                app_name: Some("team_shop".into()),
                namespace: Some("team".into()),
                revision: Some("0123abc".into()),
                repo_url: Some("https://git.example/shop.git".into()),
                source_path: Some("apps/shop".into()),
                kube_version: Some("1.31.0".into()),
                api_versions: vec!["v1".into(), "apps/v1".into(), "batch/v1".into()],
                parameters: vec![Parameter {
                    name: "web.pin".into(),
                    string: Some("1.2.3".into()),
                    ..Parameter::default()
                }],
                plugin_env: vec![
                    ("ARGOCD_ENV_IMAGE_LIST".into(), "web=acme/web".into()),
                    ("ARGOCD_ENV_WEB_HOLD".into(), "true".into()),
                ],
            }
        );
        // Regression (issue 10): the whole environment, credentials included, used to travel with the request.
        assert!(!format!("{request:?}").contains("s3cret"));
    }

    #[test]
    fn empty_variables_are_unset() {
        let request = ArgoRequest::from_vars(vars(&[
            ("ARGOCD_APP_NAME", ""),
            ("ARGOCD_APP_NAMESPACE", ""),
            ("ARGOCD_APP_PARAMETERS", ""),
            ("KUBE_API_VERSIONS", ""),
        ]))
        .unwrap();
        assert_eq!(request, ArgoRequest::default());
        assert_eq!(request.prefix(), "");
    }

    #[test]
    fn refuses_what_the_application_sets_unless_it_is_valid() {
        use std::os::unix::ffi::OsStringExt;
        let not_text = || OsString::from_vec(vec![0x66, 0xff]);
        type Vars = Vec<(OsString, OsString)>;
        let cases: Vec<(&str, Vars, &str)> = vec![
            (
                "parameters not text",
                vec![("ARGOCD_APP_PARAMETERS".into(), not_text())],
                "ARGOCD_APP_PARAMETERS is not UTF-8 text: Argo CD passes the Application's parameters and plugin env \
                 as text",
            ),
            (
                "plugin env not text",
                vec![("ARGOCD_ENV_X".into(), not_text())],
                "ARGOCD_ENV_X is not UTF-8 text: Argo CD passes the Application's parameters and plugin env as text",
            ),
            (
                "parameters of the wrong shape, named by application",
                vars(&[
                    ("ARGOCD_APP_NAME", "shop"),
                    ("ARGOCD_APP_PARAMETERS", r#"{"name":"x"}"#),
                ]),
                "application shop: invalid ARGOCD_APP_PARAMETERS: it is an object, not a list; expected a JSON list \
                 of {\"name\": …, \"string\" | \"array\" | \"map\": …} or null",
            ),
        ];
        for (name, vars, want) in cases {
            let err = ArgoRequest::from_vars(vars).expect_err(name).to_string();
            assert_eq!(err, want, "{name}");
        }
        // Someone else's variable that is not text is simply not read.
        let mut others = vars(&[("ARGOCD_APP_NAME", "shop")]);
        others.push(("LANG".into(), not_text()));
        assert!(ArgoRequest::from_vars(others).is_ok());
    }

    #[test]
    fn finds_parameters_by_name() {
        let request = ArgoRequest::from_vars(vars(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"release-name","string":"web"},{"name":"set","map":{"a":"1"}}]"#,
        )]))
        .unwrap();
        assert_eq!(
            request
                .parameter("release-name")
                .and_then(|p| p.string.as_deref()),
            Some("web")
        );
        assert!(request.parameter("values-files").is_none());
    }
}
