//! What an Application sets for the plugin's commands.

/// One Application using the plugin: what Argo CD puts into the environment of the plugin's commands.
#[derive(Clone, Debug)]
pub struct Application {
    /// `ARGOCD_APP_NAME` as Argo CD sets it (`<namespace>_<name>` for apps outside the control plane's namespace).
    pub name: String,
    /// The destination namespace.
    pub namespace: String,
    pub project: String,
    pub repo_url: String,
    /// `spec.source.path`: the app's directory inside the repository.
    pub path: String,
    pub target_revision: String,
    pub revision: String,
    pub kube_version: String,
    pub api_versions: Vec<String>,
    /// `spec.source.plugin.env`, names as written (Argo CD adds `ARGOCD_ENV_`).
    pub plugin_env: Vec<(String, String)>,
    /// `spec.source.plugin.parameters`, each `{"name": …, "string" | "array" | "map": …}`.
    pub parameters: Vec<serde_json::Value>,
}

impl Application {
    pub fn new(name: &str, path: &str) -> Application {
        Application {
            name: name.into(),
            namespace: "shop".into(),
            project: "default".into(),
            repo_url: "https://git.example/org/deploy.git".into(),
            path: path.into(),
            target_revision: "HEAD".into(),
            revision: "3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39".into(),
            kube_version: "1.29.3".into(),
            api_versions: vec![
                "v1".into(),
                "apps/v1".into(),
                "apps/v1/Deployment".into(),
                "batch/v1".into(),
            ],
            plugin_env: Vec::new(),
            parameters: Vec::new(),
        }
    }

    /// Adds a string parameter.
    pub fn string(mut self, name: &str, value: &str) -> Application {
        self.parameters
            .push(serde_json::json!({"name": name, "string": value}));
        self
    }

    /// Adds an array parameter.
    pub fn array(mut self, name: &str, items: &[&str]) -> Application {
        self.parameters
            .push(serde_json::json!({"name": name, "array": items}));
        self
    }

    /// Adds a map parameter.
    pub fn map(mut self, name: &str, entries: &[(&str, &str)]) -> Application {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        self.parameters
            .push(serde_json::json!({"name": name, "map": map}));
        self
    }

    /// Adds a plugin env entry (Argo CD passes it as `ARGOCD_ENV_<name>`).
    pub fn env(mut self, name: &str, value: &str) -> Application {
        self.plugin_env.push((name.into(), value.into()));
        self
    }

    /// What the Application's `spec.source.plugin` contributes: `ARGOCD_ENV_*` (entries with empty values are
    /// dropped, as argocd-cmp-server drops them), `ARGOCD_APP_PARAMETERS` (`null` without parameters, as Go
    /// marshals a nil list) and the `PARAM_*` variables.
    fn plugin_vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self
            .plugin_env
            .iter()
            .map(|(k, v)| (format!("ARGOCD_ENV_{k}"), v.clone()))
            .collect();
        let json = if self.parameters.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&self.parameters).unwrap()
        };
        vars.push(("ARGOCD_APP_PARAMETERS".into(), json));
        let escaped = |name: &str| -> String {
            name.chars()
                .map(|c| {
                    let c = c.to_ascii_uppercase();
                    if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        for parameter in &self.parameters {
            let base = format!("PARAM_{}", escaped(parameter["name"].as_str().unwrap()));
            if let Some(s) = parameter["string"].as_str() {
                vars.push((base.clone(), s.into()));
            }
            for (key, value) in parameter["map"].as_object().into_iter().flatten() {
                let value = value.as_str().unwrap().to_string();
                vars.push((format!("{base}_{}", escaped(key)), value));
            }
            for (i, value) in parameter["array"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                vars.push((format!("{base}_{i}"), value.as_str().unwrap().into()));
            }
        }
        vars.retain(|(_, v)| !v.is_empty());
        vars
    }

    /// The variables of `init` and `generate`.
    pub fn generate_vars(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision[..n].to_string();
        let mut vars = vec![
            ("ARGOCD_APP_NAME".to_string(), self.name.clone()),
            ("ARGOCD_APP_NAMESPACE".into(), self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME".into(), self.project.clone()),
            ("ARGOCD_APP_REVISION".into(), self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT".into(), short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8".into(), short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL".into(), self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
                self.target_revision.clone(),
            ),
            ("KUBE_VERSION".into(), self.kube_version.clone()),
            ("KUBE_API_VERSIONS".into(), self.api_versions.join(",")),
        ];
        vars.extend(self.plugin_vars());
        vars
    }

    /// The reduced variables of the dynamic `parameters` command: no revision, namespace, project or `KUBE_*`.
    pub fn parameters_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("ARGOCD_APP_NAME".to_string(), self.name.clone()),
            ("ARGOCD_APP_SOURCE_REPO_URL".into(), self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
                self.target_revision.clone(),
            ),
        ];
        vars.extend(self.plugin_vars());
        vars
    }
}
