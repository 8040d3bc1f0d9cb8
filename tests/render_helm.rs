//! Rendering Helm charts with the real helm (v3.10.1, installed by `scripts/install-helm`).

mod support_render;

use std::path::Path;

use argocd_image_resolver::process::ProcessError;
use argocd_image_resolver::render::{
    AppKind, ReleaseName, RenderError, RenderOptions, SourceFile, init, render,
};
use argocd_image_resolver::size::ByteSize;
use support_render::{
    assert_got_proxy_and_ca, fake_tool, generous_deadline, helm_env, system_env, with_proxy_and_ca,
    write_files,
};

const CHART: &[(&str, &str)] = &[
    ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
    (
        "values.yaml",
        "image:\n  repository: nginx\n  tag: \"1.0\"\nreplicas: 1\n",
    ),
    ("values-prod.yaml", "image:\n  tag: \"2.0\"\nreplicas: 3\n"),
    (
        "templates/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  annotations:
    kube-version: "{{ .Capabilities.KubeVersion.Version }}"
    has-foo: "{{ .Capabilities.APIVersions.Has "example.com/v1/Foo" }}"
    replicas-kind: "{{ kindOf .Values.replicas }}"
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
"#,
    ),
    (
        "crds/foo.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: foos.example.com\n",
    ),
];

/// The real helm, with its config, cache and data under `tmp`.
fn options(tmp: &Path) -> RenderOptions {
    let mut opts = RenderOptions {
        env: helm_env(),
        ..RenderOptions::default()
    };
    opts.helm.home = Some(tmp.join("helm-home"));
    opts
}

fn chart(dir: &Path) {
    write_files(dir, CHART);
}

#[tokio::test]
async fn helm_template_follows_the_options() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    chart(&app);
    type Edit = fn(&mut RenderOptions);
    let cases: [(&str, Edit, &[&str], &[&str]); 7] = [
        (
            "defaults",
            |_| {},
            &[
                "name: release-name-web\n",
                "namespace: default\n",
                "image: \"nginx:1.0\"\n",
                "replicas: 1\n",
                "has-foo: \"false\"",
                "name: foos.example.com\n",
            ],
            &[],
        ),
        (
            "release name and namespace",
            |o| {
                o.helm.release_name = Some("shop".parse().unwrap());
                o.helm.namespace = Some("prod".parse().unwrap());
            },
            &["name: shop-web\n", "namespace: prod\n"],
            &["release-name"],
        ),
        (
            "values file",
            |o| o.helm.values_files = vec!["values-prod.yaml".into()],
            &["image: \"nginx:2.0\"\n", "replicas: 3\n"],
            &["nginx:1.0"],
        ),
        (
            "set overrides values files",
            |o| {
                o.helm.values_files = vec!["values-prod.yaml".into()];
                o.helm.set = vec!["image.tag=3.0,replicas=5".into()];
            },
            &[
                "image: \"nginx:3.0\"\n",
                "replicas: 5\n",
                "replicas-kind: \"int64\"",
            ],
            &[],
        ),
        (
            "set-string keeps a string",
            |o| o.helm.set_string = vec!["replicas=7".into()],
            &["replicas-kind: \"string\""],
            &[],
        ),
        (
            "capabilities",
            |o| {
                o.helm.kube_version = Some("1.29.3".parse().unwrap());
                o.helm.api_versions = vec![
                    "apps/v1".parse().unwrap(),
                    "example.com/v1/Foo".parse().unwrap(),
                ];
            },
            &["kube-version: \"v1.29.3\"", "has-foo: \"true\""],
            &[],
        ),
        (
            "crds skipped",
            |o| o.helm.include_crds = false,
            &["kind: Deployment"],
            &["CustomResourceDefinition"],
        ),
    ];
    for (name, edit, wants, unwanted) in cases {
        let mut opts = options(tmp.path());
        edit(&mut opts);
        let rendered = render(&app, &opts, generous_deadline())
            .await
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(rendered.kind, AppKind::Helm, "case {name}");
        let (deployment, _) = rendered
            .output
            .lines()
            .position(|l| l.contains("kind: Deployment"))
            .and_then(|i| SourceFile::locate(&rendered.sources, i + 1))
            .unwrap_or_else(|| panic!("case {name}: no source for the Deployment"));
        assert!(
            deployment.path.ends_with(".yaml") && deployment.path.contains("/templates/"),
            "case {name}: the Deployment's template from Helm's '# Source:' comment, got {}",
            deployment.path
        );
        for want in wants {
            assert!(
                rendered.output.contains(want),
                "case {name}: want {want:?} in\n{}",
                rendered.output
            );
        }
        for not in unwanted {
            assert!(
                !rendered.output.contains(not),
                "case {name}: {not:?} in\n{}",
                rendered.output
            );
        }
    }
}

#[tokio::test]
async fn helm_command_line_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    chart(&app);
    let mut opts = options(tmp.path());
    opts.helm.release_name = Some("shop".parse().unwrap());
    opts.helm.namespace = Some("prod".parse().unwrap());
    opts.helm.kube_version = Some("1.29.3".parse().unwrap());
    opts.helm.api_versions = vec![
        "apps/v1".parse().unwrap(),
        "example.com/v1/Foo".parse().unwrap(),
    ];
    opts.helm.values_files = vec!["values-prod.yaml".into()];
    opts.helm.set = vec!["a=b".into()];
    opts.helm.set_string = vec!["c=d e".into()];
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    // The values file as checked: resolved, absolute (never a URL or stdin to helm).
    let values = app.join("values-prod.yaml").canonicalize().unwrap();
    assert_eq!(
        rendered.command.as_deref(),
        Some(
            format!(
                "helm template --namespace=prod --kube-version=1.29.3 --api-versions=apps/v1 \
                 --api-versions=example.com/v1/Foo --include-crds --values={} --set=a=b \
                 '--set-string=c=d e' -- shop .",
                values.display()
            )
            .as_str()
        )
    );
}

/// The release names [`ReleaseName`] accepts are exactly those the real helm accepts: asked directly, with the
/// name after `--` so that even a flag-like name is only a name.
#[test]
fn release_names_are_checked_as_helm_checks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    chart(&app);
    let home = tmp.path().join("helm-home");
    let long = "a".repeat(53);
    let too_long = "a".repeat(54);
    for (name, value) in [
        ("simple", "shop"),
        ("dotted", "shop.v2"),
        ("53 characters", long.as_str()),
        ("54 characters", too_long.as_str()),
        ("flag", "--post-renderer=/bin/sh"),
        ("upper case", "Shop"),
        ("underscore", "my_shop"),
        ("empty label", "a..b"),
        ("trailing dash", "shop-"),
        ("leading digit", "1shop"),
    ] {
        let helm = std::process::Command::new(support_render::helm_path())
            .args(["template", "--", value, "."])
            .current_dir(&app)
            .env_clear()
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .output()
            .unwrap();
        assert_eq!(
            value.parse::<ReleaseName>().is_ok(),
            helm.status.success(),
            "case {name}: helm said {}",
            String::from_utf8_lossy(&helm.stderr)
        );
    }
}

#[tokio::test]
async fn values_files_must_stay_inside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let app = repo.join("apps/app");
    chart(&app);
    write_files(&repo, &[("common/values.yaml", "replicas: 4\n")]);
    write_files(tmp.path(), &[("secret.yaml", "password: hunter2\n")]);
    let link = app.join("linked.yaml");
    let inside_abs = app.join("values-prod.yaml").display().to_string();
    let app_s = app.display().to_string();
    let repo_s = repo.display().to_string();

    let cases: Vec<(&str, bool, String, Result<&str, String>)> = vec![
        (
            "parent escape",
            false,
            "../../../secret.yaml".into(),
            Err(format!(
                "values file '../../../secret.yaml' is outside {app_s}: values files must stay inside the repository"
            )),
        ),
        (
            "sibling in the repo needs the repo root",
            false,
            "../../common/values.yaml".into(),
            Err(format!(
                "values file '../../common/values.yaml' is outside {app_s}: values files must stay inside the repository"
            )),
        ),
        (
            "sibling in the repo",
            true,
            "../../common/values.yaml".into(),
            Ok("replicas: 4\n"),
        ),
        (
            "escape past the repo root",
            true,
            "../../../secret.yaml".into(),
            Err(format!(
                "values file '../../../secret.yaml' is outside {repo_s}: values files must stay inside the repository"
            )),
        ),
        (
            "absolute outside",
            false,
            "/etc/hostname".into(),
            Err(format!(
                "values file '/etc/hostname' is outside {app_s}: values files must stay inside the repository"
            )),
        ),
        (
            "absolute inside",
            false,
            inside_abs.clone(),
            Ok("replicas: 3\n"),
        ),
        (
            "symlink out",
            true,
            "linked.yaml".into(),
            // Refused before helm runs, as any link out of the repository is.
            Err(format!(
                "symlink apps/app/linked.yaml points outside {repo_s}: an application may only use files of its \
                 own repository; replace the link with a copy of what it points to"
            )),
        ),
        (
            "missing",
            false,
            "nope.yaml".into(),
            Err(format!("values file 'nope.yaml' not found in {app_s}")),
        ),
    ];
    for (name, with_root, file, want) in cases {
        let mut opts = options(tmp.path());
        opts.repo_root = with_root.then(|| repo.clone());
        if file == "linked.yaml" {
            std::os::unix::fs::symlink(tmp.path().join("secret.yaml"), &link).unwrap();
        }
        opts.helm.values_files = vec![file];
        let got = render(&app, &opts, generous_deadline()).await;
        let _ = std::fs::remove_file(&link);
        match (got, want) {
            (Ok(rendered), Ok(want)) => assert!(
                rendered.output.contains(want),
                "case {name}: {}",
                rendered.output
            ),
            (Err(err), Err(want)) => assert_eq!(err.to_string(), want, "case {name}"),
            (got, want) => panic!("case {name}: got {got:?}, want {want:?}"),
        }
    }
}

#[tokio::test]
async fn init_builds_local_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        &tmp.path().join("sub"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.2.0\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub-{{ .Release.Name }}\n",
            ),
        ],
    );
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: \">=0.1.0\"\n  repository: file://../sub\n",
            ),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
            ),
        ],
    );
    let mut opts = options(tmp.path());
    // The dependency is elsewhere in the repository, which `file://` may name.
    opts.repo_root = Some(tmp.path().to_path_buf());

    let before = render(&app, &opts, generous_deadline()).await.unwrap_err();
    let RenderError::Process(ProcessError::Failed { stderr, .. }) = &before else {
        panic!("got {before:?}")
    };
    assert!(
        stderr.ends_with("missing in charts/ directory: sub"),
        "stderr: {stderr}"
    );

    init(&app, &opts, generous_deadline()).await.unwrap();
    assert!(
        app.join("charts/sub-0.2.0.tgz").is_file(),
        "helm dependency build wrote no archive"
    );
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert!(
        rendered.output.contains("name: sub-release-name\n"),
        "{}",
        rendered.output
    );

    // Satisfied now: a second init runs no helm at all (there is none to find).
    let mut no_helm = options(tmp.path());
    no_helm.env = system_env();
    no_helm.env.set("PATH", tmp.path());
    init(&app, &no_helm, generous_deadline()).await.unwrap();
}

#[tokio::test]
async fn init_runs_helm_only_when_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut no_helm = options(tmp.path());
    no_helm.env = system_env();
    no_helm.env.set("PATH", tmp.path());
    let helm_missing = "helm not found: install it or set IMAGE_RESOLVER_HELM to its path";
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Result<(), String>);
    let cases: [Case; 7] = [
        ("plain directory", &[("a.yaml", "kind: A\n")], Ok(())),
        ("kustomization", &[("kustomization.yaml", "resources: []\n")], Ok(())),
        ("chart without dependencies", &[("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n")], Ok(())),
        ("dependencies: null", &[("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n")], Ok(())),
        ("dependency unpacked in charts/", &[
            ("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.x\n"),
            ("charts/redis/Chart.yaml", "apiVersion: v2\nname: redis\nversion: 1.2.0\n"),
        ], Ok(())),
        ("requirements.yaml dependency missing", &[
            ("Chart.yaml", "apiVersion: v1\nname: a\nversion: 1.0.0\n"),
            ("requirements.yaml", "dependencies:\n- name: redis\n  version: 1.x\n"),
            ("charts/redis-cache-1.0.0.tgz", ""),
        ], Err(helm_missing.to_owned())),
        ("unparsable Chart.yaml", &[("Chart.yaml", "dependencies: [\n")],
            Err("cannot parse DIR/Chart.yaml: did not find expected node content at line 2 column 1, while parsing a flow node".to_owned())),
    ];
    for (name, files, want) in cases {
        let app = tmp.path().join(name.replace(' ', "-"));
        write_files(&app, files);
        let got = init(&app, &no_helm, generous_deadline())
            .await
            .map_err(|e| e.to_string());
        let want = want.map_err(|w| w.replace("DIR", &app.display().to_string()));
        assert_eq!(got, want, "case {name}");
    }
}

#[tokio::test]
async fn helm_failures_and_empty_output() {
    let tmp = tempfile::tempdir().unwrap();
    let chart_yaml = ("Chart.yaml", "apiVersion: v2\nname: bad\nversion: 0.1.0\n");
    let failing = tmp.path().join("failing");
    write_files(
        &failing,
        &[chart_yaml, ("templates/x.yaml", "x: {{ .Values.a.b }}\n")],
    );
    let empty = tmp.path().join("empty");
    write_files(&empty, &[chart_yaml]);
    let mut missing = options(tmp.path());
    missing.env = system_env();
    missing.env.set("PATH", tmp.path());
    let cases = [
        (
            "template error",
            &failing,
            options(tmp.path()),
            "`helm template --include-crds -- .` failed (exit status 1): Error: template: bad/templates/x.yaml:1:13: \
             executing \"bad/templates/x.yaml\" at <.Values.a.b>: nil pointer evaluating interface {}.b\n\n\
             Use --debug flag to render out invalid YAML",
        ),
        (
            "no templates",
            &empty,
            options(tmp.path()),
            "`helm template --include-crds -- .` printed no manifests",
        ),
        (
            "helm missing",
            &empty,
            missing,
            "helm not found: install it or set IMAGE_RESOLVER_HELM to its path",
        ),
    ];
    for (name, dir, opts, want) in cases {
        let err = render(dir, &opts, generous_deadline()).await.unwrap_err();
        assert_eq!(err.to_string(), want, "case {name}");
    }
}

#[tokio::test]
async fn helm_gets_writable_homes_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n")],
    );
    let bin = tmp.path().join("bin");
    fake_tool(&bin, "helm", "exec /usr/bin/env");
    let home = tmp.path().join("helm-home");
    let tmpdir = tmp.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    let mut source = system_env();
    source
        .set("PATH", &bin)
        .set("REGISTRY_PASSWORD", "hunter2")
        .set("HELM_CACHE_HOME", "/cache");
    let d = |p: &Path| p.display().to_string();
    let shared = tmpdir.join("argocd-image-resolver-helm");

    let cases = [
        (
            "explicit home",
            Some(home.clone()),
            source.clone(),
            vec![
                format!("HELM_CACHE_HOME={}", d(&home.join("cache"))),
                format!("HELM_CONFIG_HOME={}", d(&home.join("config"))),
                format!("HELM_DATA_HOME={}", d(&home.join("data"))),
                "HOME=/nonexistent".to_owned(),
                format!("PATH={}", d(&bin)),
            ],
        ),
        (
            "parent's HELM_CACHE_HOME kept, the rest under TMPDIR",
            None,
            {
                let mut s = source.clone();
                s.set("TMPDIR", &tmpdir);
                s
            },
            vec![
                "HELM_CACHE_HOME=/cache".to_owned(),
                format!("HELM_CONFIG_HOME={}", d(&shared.join("config"))),
                format!("HELM_DATA_HOME={}", d(&shared.join("data"))),
                "HOME=/nonexistent".to_owned(),
                format!("PATH={}", d(&bin)),
                format!("TMPDIR={}", d(&tmpdir)),
            ],
        ),
    ];
    for (name, helm_home, env, mut want) in cases {
        let mut opts = RenderOptions {
            env,
            ..RenderOptions::default()
        };
        opts.helm.home = helm_home;
        let rendered = render(&app, &opts, generous_deadline())
            .await
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        let mut lines: Vec<String> = rendered.output.lines().map(str::to_owned).collect();
        lines.sort();
        want.push(format!("PWD={}", d(&app)));
        want.sort();
        assert_eq!(lines, want, "case {name}");
        for dir in want
            .iter()
            .filter_map(|l| l.strip_prefix("HELM_")?.split_once('='))
            .map(|(_, dir)| dir)
        {
            assert!(
                dir == "/cache" || Path::new(dir).is_dir(),
                "case {name}: {dir} not created"
            );
        }
    }
}

/// Issue 9, item 10: what helm prints is read up to the limit (64Mi unless the operator says otherwise), then helm
/// is stopped; the output is never held whole past it.
#[tokio::test]
async fn helm_output_past_the_size_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n"),
            (
                "templates/many.yaml",
                "{{ range until 500 }}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{ end }}",
            ),
        ],
    );
    let bin = tmp.path().join("bin");
    fake_tool(
        &bin,
        "helm",
        "/usr/bin/head -c 70000000 /dev/zero | /usr/bin/tr '\\0' 'a'",
    );
    let mut fake = options(tmp.path());
    fake.env = system_env();
    fake.env.set("PATH", &bin);
    let mut small = options(tmp.path());
    small.max_manifest_size = ByteSize(4 << 10);
    let mut enough = options(tmp.path());
    enough.max_manifest_size = ByteSize(64 << 10);
    let message = |limit: &str| {
        format!(
            "`helm template --include-crds -- .` printed more than {limit} of manifests and was stopped: raise \
             --max-manifest-size (IMAGE_RESOLVER_MAX_MANIFEST_SIZE) if the application really is that large"
        )
    };
    let cases = [
        ("70 MB past the default limit", fake, Err(message("64Mi"))),
        (
            "real helm past the operator's limit",
            small,
            Err(message("4Ki")),
        ),
        ("real helm within the limit", enough, Ok(500)),
    ];
    for (name, opts, want) in cases {
        let got = render(&app, &opts, generous_deadline())
            .await
            .map(|r| r.output.matches("kind: ConfigMap").count())
            .map_err(|e| e.to_string());
        assert_eq!(got, want, "case {name}");
    }
}

/// Issue 11, item 2: chart dependencies behind a corporate proxy or signed by a private CA need the proxy and CA
/// variables; helm gets them (and its own `HELM_*`), still nothing else of the sidecar's environment.
#[tokio::test]
async fn helm_gets_the_proxy_and_ca_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    chart(&app);
    let bin = tmp.path().join("bin");
    fake_tool(&bin, "helm", "exec /usr/bin/env");
    let mut opts = options(tmp.path());
    opts.env = system_env();
    opts.env.set("PATH", &bin);
    with_proxy_and_ca(&mut opts.env);
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert_got_proxy_and_ca(&rendered.output);
}

/// Issue 11, item 3: `helm dependency build` prints the real cause of a failed download on stdout and only a
/// summary on stderr ("no cached repository"); the error carries both. Since `init` adds a chart's repositories
/// itself (item 1, where `helm repo add` reports an unreachable one), the build refreshes only the operator's
/// repositories: here one that is down.
#[tokio::test]
async fn a_failed_dependency_build_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/charts");
    let chart = format!(
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n  \
         repository: {url}\n"
    );
    write_files(&app, &[("Chart.yaml", chart.as_str())]);
    let repositories = tmp.path().join("repositories.yaml");
    std::fs::write(
        &repositories,
        format!("repositories:\n- name: corp\n  url: {url}\n"),
    )
    .unwrap();
    let mut opts = options(tmp.path());
    opts.env.set("HELM_REPOSITORY_CONFIG", &repositories);
    let err = init(&app, &opts, generous_deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("`helm dependency build` failed"), "{err}");
    assert!(err.contains("no cached repository"), "{err}");
}
