//! Registries and repositories several test binaries share.

use super::{Repo, push_tags};
use crate::support::TestRegistry;

/// The tags of `team/web` in [`shop_registry`]: semver, a pre-release and a floating tag.
pub const WEB_TAGS: [&str; 7] = [
    "1.0.0",
    "1.0.5",
    "1.2.0",
    "1.3.0-rc.1",
    "2.0.0",
    "2.1.0",
    "latest",
];

/// The tags of `team/worker` in [`shop_registry`]: CalVer, builds and a floating tag.
pub const WORKER_TAGS: [&str; 5] = ["2024.01.01", "2024.06.15", "build-9", "build-10", "latest"];

/// A plain registry holding `team/web` ([`WEB_TAGS`]) and `team/worker` ([`WORKER_TAGS`]).
pub async fn shop_registry() -> TestRegistry {
    let registry = TestRegistry::plain().await;
    push_tags(&registry, "team/web", &WEB_TAGS).await;
    push_tags(&registry, "team/worker", &WORKER_TAGS).await;
    registry
}

/// The URL of a loopback port nothing listens on (bound, read and released): a registry that is down.
pub fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A Helm chart at `apps/web` whose Deployment shows `.Capabilities`, values and `--set` values, and which
/// depends on a library chart elsewhere in the repository through `file://` (so `init` must build it).
const CHART: &str = r#"apiVersion: v2
name: web
version: 0.1.0
dependencies:
- name: common
  version: 0.1.0
  repository: file://../../charts/common
"#;

const CHART_VALUES: &str = r#"replicas: 1
tier: dev
image:
  repository: apps.test/team/web
  tag: 1.0.0
  constraint: "~1.0"
"#;

const CHART_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
  annotations:
    argocd-image-updater.argoproj.io/image-list: web={{ .Values.image.repository }}:{{ .Values.image.constraint }}
    kube-version: {{ .Capabilities.KubeVersion.Version | quote }}
    {{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
    prometheus: "available"
    {{- end }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        env:
        - name: TIER
          value: {{ .Values.tier | quote }}
"#;

/// A library chart elsewhere in the repository, which the app's chart depends on through `file://`.
const LIBRARY_CHART: &str = "apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n";
const LIBRARY_HELPERS: &str = r#"{{- define "common.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

/// A repository holding the chart at `apps/web` (values files `values.yaml`, `values-prod.yaml`), its library, and
/// a values file outside the chart, `env/prod/web.yaml`.
pub fn helm_repo() -> Repo {
    Repo::new(&[
        ("charts/common/Chart.yaml", LIBRARY_CHART),
        ("charts/common/templates/_helpers.tpl", LIBRARY_HELPERS),
        ("apps/web/Chart.yaml", CHART),
        ("apps/web/values.yaml", CHART_VALUES),
        ("apps/web/values-prod.yaml", "replicas: 2\ntier: prod\n"),
        ("apps/web/templates/deployment.yaml", CHART_DEPLOYMENT),
        ("env/prod/web.yaml", "replicas: 3\n"),
    ])
}
