//! Argo CD Applications (as the Kubernetes API serves them) → the requests Argo CD would send the plugin: a table
//! of what each shape of Application gives, and one of the message for each Application that is skipped.

use serde_json::{Value, json};

use crate::argo::ArgoRequest;
use crate::commit::{Matching, PluginSource, plugin_sources};
use crate::policy::source::Parameter;

const REPO: &str = "https://git.example.org/org/deploy.git";

fn app(namespace: &str, annotations: Value, spec: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": namespace, "annotations": annotations},
        "spec": spec,
        "status": {"sync": {"status": "Synced"}},
    })
}

fn ours(extra: Value) -> Value {
    let mut plugin = json!({"name": "argocd-image-resolver-v1"});
    plugin
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    plugin
}

fn string(name: &str, value: &str) -> Parameter {
    Parameter {
        name: name.into(),
        string: Some(value.into()),
        ..Parameter::default()
    }
}

fn source(app_name: &str, path: &str, revision: &str, index: Option<usize>) -> PluginSource {
    PluginSource {
        request: ArgoRequest {
            app_name: Some(app_name.into()),
            repo_url: Some(REPO.into()),
            source_path: Some(path.into()),
            ..ArgoRequest::default()
        },
        target_revision: revision.into(),
        index,
    }
}

#[test]
fn maps_each_plugin_source_to_the_request_argo_cd_sends() {
    let unnamed = Matching {
        unnamed: true,
        ..Matching::default()
    };
    let elsewhere = Matching {
        control_plane_namespace: "gitops".into(),
        ..Matching::default()
    };
    let cases: Vec<(&str, Value, Matching, Vec<PluginSource>)> = vec![
        (
            "single source in the control plane's namespace: bare name, HEAD, the root",
            app(
                "argocd",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": ours(json!({}))}}),
            ),
            Matching::default(),
            vec![source("web", ".", "HEAD", None)],
        ),
        (
            "outside the control plane's namespace: <namespace>_<name>; revision, path normalised, destination",
            app(
                "team",
                json!({}),
                json!({
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "web-prod"},
                    "source": {"repoURL": REPO, "targetRevision": "main", "path": "./apps//web/",
                               "plugin": ours(json!({}))},
                }),
            ),
            Matching::default(),
            vec![PluginSource {
                request: ArgoRequest {
                    namespace: Some("web-prod".into()),
                    ..source("team_web", "apps/web", "main", None).request
                },
                ..source("team_web", "apps/web", "main", None)
            }],
        ),
        (
            "empty targetRevision and path are Argo CD's defaults",
            app(
                "argocd",
                Value::Null,
                json!({"source": {"repoURL": REPO, "targetRevision": "", "path": "",
                                  "plugin": ours(json!({}))}}),
            ),
            Matching::default(),
            vec![source("web", ".", "HEAD", None)],
        ),
        (
            "parameters of each type, env, and the prefixed annotations first as string parameters",
            app(
                "argocd",
                json!({
                    "argocd-image-updater.argoproj.io/image-list": "web=ghcr.io/org/web:^1",
                    "argocd-image-updater.argoproj.io/web.update-strategy": "newest-build",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                }),
                json!({"source": {"repoURL": REPO, "plugin": ours(json!({
                    "env": [{"name": "WEB_PIN", "value": "1.2.3"}, {"name": "A", "value": ""}],
                    "parameters": [
                        {"name": "web.allow-tags", "string": "regexp:^1\\."},
                        {"name": "extra", "array": ["a", "b"]},
                        {"name": "policy", "map": {"web.ignore-tags": "*-rc*"}},
                    ],
                }))}}),
            ),
            Matching::default(),
            vec![PluginSource {
                request: ArgoRequest {
                    parameters: vec![
                        string(
                            "argocd-image-updater.argoproj.io/image-list",
                            "web=ghcr.io/org/web:^1",
                        ),
                        string(
                            "argocd-image-updater.argoproj.io/web.update-strategy",
                            "newest-build",
                        ),
                        string("web.allow-tags", "regexp:^1\\."),
                        Parameter {
                            name: "extra".into(),
                            array: Some(vec!["a".into(), "b".into()]),
                            ..Parameter::default()
                        },
                        Parameter {
                            name: "policy".into(),
                            map: Some(
                                [("web.ignore-tags".to_string(), "*-rc*".to_string())].into(),
                            ),
                            ..Parameter::default()
                        },
                    ],
                    plugin_env: vec![
                        ("ARGOCD_ENV_A".into(), String::new()),
                        ("ARGOCD_ENV_WEB_PIN".into(), "1.2.3".into()),
                    ],
                    ..source("web", ".", "HEAD", None).request
                },
                ..source("web", ".", "HEAD", None)
            }],
        ),
        (
            "multi-source: every source naming the plugin, in order, with its index; spec.source ignored",
            app(
                "argocd",
                Value::Null,
                json!({
                    "source": {"repoURL": "https://ignored.example/x.git", "plugin": ours(json!({}))},
                    "sources": [
                        {"repoURL": "https://charts.example/", "chart": "redis", "targetRevision": "19.0.0"},
                        {"repoURL": REPO, "path": "apps/web", "targetRevision": "main", "plugin": ours(json!({}))},
                        {"repoURL": REPO, "path": "apps/other", "plugin": {"name": "other-v1"}},
                        {"repoURL": REPO, "path": "apps/api", "targetRevision": "v2", "plugin": ours(json!({}))},
                    ],
                }),
            ),
            Matching::default(),
            vec![
                source("web", "apps/web", "main", Some(1)),
                source("web", "apps/api", "v2", Some(3)),
            ],
        ),
        (
            "an empty sources list: spec.source is read",
            app(
                "argocd",
                Value::Null,
                json!({"sources": [], "source": {"repoURL": REPO, "plugin": ours(json!({}))}}),
            ),
            Matching::default(),
            vec![source("web", ".", "HEAD", None)],
        ),
        (
            "a plugin without a name, when asked to accept it",
            app(
                "argocd",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": {}}}),
            ),
            unnamed,
            vec![source("web", ".", "HEAD", None)],
        ),
        (
            "another control-plane namespace",
            app(
                "gitops",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": ours(json!({}))}}),
            ),
            elsewhere.clone(),
            vec![source("web", ".", "HEAD", None)],
        ),
        (
            "argocd is then an ordinary namespace",
            app(
                "argocd",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": ours(json!({}))}}),
            ),
            elsewhere,
            vec![source("argocd_web", ".", "HEAD", None)],
        ),
    ];
    for (name, application, matching, want) in cases {
        let got = plugin_sources(&application, &matching);
        assert_eq!(got, Ok(want), "{name}");
    }
}

#[test]
fn names_why_an_application_is_skipped() {
    let plugin = |extra: Value| json!({"source": {"repoURL": REPO, "plugin": ours(extra)}});
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no source at all",
            app("team", Value::Null, json!({"destination": {}})),
            "application team/web: no source names plugin argocd-image-resolver-v1 (it has no source); skipped",
        ),
        (
            "a Helm application",
            app(
                "team",
                Value::Null,
                json!({"source": {"repoURL": REPO, "chart": "web"}}),
            ),
            "application team/web: no source names plugin argocd-image-resolver-v1 (found no plugin); skipped",
        ),
        (
            "another plugin, and the plugin's name without its version",
            app(
                "team",
                Value::Null,
                json!({"sources": [
                    {"repoURL": REPO, "plugin": {"name": "other-v1"}},
                    {"repoURL": REPO, "plugin": {"name": "argocd-image-resolver"}},
                ]}),
            ),
            "application team/web: no source names plugin argocd-image-resolver-v1 (found plugin other-v1, plugin \
             argocd-image-resolver); skipped",
        ),
        (
            "a plugin without a name, not asked for",
            app(
                "team",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": {"env": []}}}),
            ),
            "application team/web: no source names plugin argocd-image-resolver-v1 (found a plugin without a name); \
             skipped",
        ),
        (
            "no name",
            json!({"metadata": {"namespace": "team"}, "spec": plugin(json!({}))}),
            "application team/(no name): metadata.name is missing",
        ),
        (
            "no spec",
            json!({"metadata": {"name": "web", "namespace": "team"}}),
            "application team/web: spec is missing",
        ),
        (
            "sources not a list",
            app("team", Value::Null, json!({"sources": "web"})),
            "application team/web: spec.sources is a string, but must be a list of sources",
        ),
        (
            "plugin not an object",
            app(
                "team",
                Value::Null,
                json!({"source": {"repoURL": REPO, "plugin": "argocd-image-resolver-v1"}}),
            ),
            "application team/web: spec.source.plugin is a string, but must be an object",
        ),
        (
            "no repoURL",
            app(
                "team",
                Value::Null,
                json!({"sources": [{"plugin": ours(json!({}))}]}),
            ),
            "application team/web: spec.sources[0].repoURL is missing",
        ),
        (
            "targetRevision a number",
            app(
                "team",
                Value::Null,
                json!({"source": {"repoURL": REPO, "targetRevision": 1,
                                                         "plugin": ours(json!({}))}}),
            ),
            "application team/web: spec.source.targetRevision is a number, but must be a string",
        ),
        (
            "a path leaving the repository",
            app(
                "team",
                Value::Null,
                json!({"source": {"repoURL": REPO, "path": "../x", "plugin": ours(json!({}))}}),
            ),
            "application team/web: spec.source.path: '../x' leaves the repository; write a path inside it",
        ),
        (
            "parameters not a list",
            app(
                "team",
                Value::Null,
                plugin(json!({"parameters": {"image-list": "web"}})),
            ),
            "application team/web: spec.source.plugin.parameters: invalid ARGOCD_APP_PARAMETERS: it is an object, not a list; expected a JSON list of {\"name\": …, \"string\" | \
             \"array\" | \"map\": …} or null",
        ),
        (
            "a parameter's string a number",
            app(
                "team",
                Value::Null,
                plugin(json!({"parameters": [{"name": "image-list", "string": 1}]})),
            ),
            "application team/web: spec.source.plugin.parameters: parameter image-list: its \"string\" is a number, \
             but must be a string",
        ),
        (
            "env not a list",
            app("team", Value::Null, plugin(json!({"env": {"A": "b"}}))),
            "application team/web: spec.source.plugin.env is an object, but must be a list of {name, value}",
        ),
        (
            "an env name with '='",
            app(
                "team",
                Value::Null,
                plugin(json!({"env": [{"name": "A=B", "value": "c"}]})),
            ),
            "application team/web: spec.source.plugin.env[0].name: 'A=B' cannot be an environment variable's name \
             (it holds '=' or a control character)",
        ),
        (
            "an annotation that is not a string",
            app(
                "team",
                json!({"argocd-image-updater.argoproj.io/image-list": 3}),
                plugin(json!({})),
            ),
            "application team/web: metadata.annotations[argocd-image-updater.argoproj.io/image-list] is a number, \
             but must be a string",
        ),
        (
            "an annotation and a parameter set one key",
            app(
                "team",
                json!({"argocd-image-updater.argoproj.io/image-list": "web=a/web"}),
                plugin(json!({"parameters": [{"name": "image-list", "string": "web=b/web"}]})),
            ),
            "application team/web: spec.source.plugin.parameters[image-list]: sets image-list, as annotation \
             argocd-image-updater.argoproj.io/image-list does; set it in one place",
        ),
        (
            "a write-back key the committer cannot read",
            app(
                "team",
                json!({"argocd-image-updater.argoproj.io/write-back-method": "svn"}),
                plugin(json!({})),
            ),
            "application team/web: spec.source.plugin: parameter argocd-image-updater.argoproj.io/write-back-method \
             = 'svn': unknown write-back method; use 'argocd' (tags resolved at render time, nothing written back) \
             or 'git', 'git:repocreds', 'git:secret:[<namespace>/]<name>'",
        ),
    ];
    for (name, application, want) in cases {
        let err = plugin_sources(&application, &Matching::default())
            .expect_err(name)
            .to_string();
        assert_eq!(err, want, "{name}");
    }
}

#[test]
fn tells_another_plugin_s_application_from_a_malformed_one() {
    let helm = app(
        "team",
        Value::Null,
        json!({"source": {"repoURL": REPO, "chart": "web"}}),
    );
    let broken = app(
        "team",
        Value::Null,
        json!({"source": {"plugin": ours(json!({}))}}),
    );
    let problem = |app: &Value| {
        plugin_sources(app, &Matching::default())
            .unwrap_err()
            .problem
    };
    assert!(!problem(&helm).is_malformed());
    assert!(problem(&broken).is_malformed());
}
