//! Rendering Kustomize applications with the real kustomize inside kubectl, and fake tools for what only they show.

mod support_render;

use std::time::{Duration, Instant};

use argocd_image_resolver::process::ProcessError;
use argocd_image_resolver::render::{AppKind, RenderError, RenderOptions, render};
use support_render::{
    assert_got_proxy_and_ca, fake_tool, generous_deadline, process_ended, system_env,
    with_proxy_and_ca, write_files,
};

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.0
";

fn options() -> RenderOptions {
    RenderOptions {
        env: system_env(),
        ..RenderOptions::default()
    }
}

#[tokio::test]
async fn kustomize_images_override_shows_in_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    // `kubectl` on PATH (no standalone kustomize on these machines) and a `kustomize` wrapper around it: both forms.
    let bin = tmp.path().join("bin");
    fake_tool(
        &bin,
        "kustomize",
        "[ \"$1\" = build ] || exit 64\nshift\nexec kubectl kustomize \"$@\"",
    );
    let mut with_wrapper = system_env();
    with_wrapper.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));

    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("deployment.yaml", DEPLOYMENT),
            (
                "kustomization.yml",
                "resources: [deployment.yaml]\nimages:\n- name: nginx\n  newName: registry.example/nginx\n  newTag: \"1.27\"\n",
            ),
        ],
    );
    for (name, env, want_command) in [
        ("kubectl kustomize", system_env(), "kubectl kustomize ."),
        ("kustomize build", with_wrapper, "kustomize build ."),
    ] {
        let opts = RenderOptions { env, ..options() };
        let rendered = render(&app, &opts, generous_deadline())
            .await
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(rendered.kind, AppKind::Kustomize, "case {name}");
        assert_eq!(
            rendered.command.as_deref(),
            Some(want_command),
            "case {name}"
        );
        assert!(
            rendered
                .output
                .contains("image: registry.example/nginx:1.27\n"),
            "case {name}: {}",
            rendered.output
        );
        assert!(
            !rendered.output.contains("nginx:1.0"),
            "case {name}: {}",
            rendered.output
        );
    }
}

#[tokio::test]
async fn kustomize_extra_args_are_passed() {
    let tmp = tempfile::tempdir().unwrap();
    // A resource outside the kustomization root needs `--load-restrictor LoadRestrictionsNone`.
    write_files(
        tmp.path(),
        &[
            ("shared/deployment.yaml", DEPLOYMENT),
            (
                "app/kustomization.yaml",
                "resources: [../shared/deployment.yaml]\n",
            ),
        ],
    );
    let app = tmp.path().join("app");

    let refused = render(&app, &options(), generous_deadline())
        .await
        .unwrap_err();
    let RenderError::Process(ProcessError::Failed { stderr, .. }) = &refused else {
        panic!("got {refused:?}")
    };
    assert!(stderr.contains("is not in or below"), "stderr: {stderr}");

    let mut opts = options();
    opts.kustomize.extra_args = vec!["--load-restrictor".into(), "LoadRestrictionsNone".into()];
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert_eq!(
        rendered.command.as_deref(),
        Some("kubectl kustomize . --load-restrictor LoadRestrictionsNone")
    );
    assert!(
        rendered.output.contains("image: nginx:1.0\n"),
        "{}",
        rendered.output
    );
}

#[tokio::test]
async fn kustomize_build_error_carries_argv_and_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown field",
            "foo: 1\n",
            "invalid Kustomization: json: unknown field \\\"foo\\\"\"",
        ),
        (
            "missing resource",
            "resources: [missing.yaml]\n",
            "missing.yaml: no such file or directory\"",
        ),
    ];
    for (name, kustomization, want_end) in cases {
        let app = tmp.path().join(name);
        write_files(&app, &[("kustomization.yaml", kustomization)]);
        let err = render(&app, &options(), generous_deadline())
            .await
            .unwrap_err();
        // kubectl prefixes its message with a timestamp and pid: compare the rest exactly.
        let RenderError::Process(ProcessError::Failed { stderr, .. }) = &err else {
            panic!("case {name}: got {err:?}")
        };
        assert_eq!(
            err.to_string(),
            format!("`kubectl kustomize .` failed (exit status 1): {stderr}"),
            "case {name}"
        );
        assert!(stderr.ends_with(want_end), "case {name}: stderr {stderr}");
    }
}

#[tokio::test]
async fn kustomize_missing_or_misconfigured() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("kustomization.yaml", "resources: []\n")]);
    let mut empty_path = system_env();
    empty_path.set("PATH", tmp.path());
    let mut bad_override = system_env();
    bad_override.set("IMAGE_RESOLVER_KUSTOMIZE", "/nonexistent/kustomize");
    let cases = [
        (
            "neither kustomize nor kubectl",
            empty_path,
            "kustomize not found: install kustomize or kubectl, or set IMAGE_RESOLVER_KUSTOMIZE to its path",
        ),
        (
            "override to a missing file",
            bad_override,
            "IMAGE_RESOLVER_KUSTOMIZE=/nonexistent/kustomize is not an executable file: point it at kustomize",
        ),
    ];
    for (name, env, want) in cases {
        let opts = RenderOptions { env, ..options() };
        let err = render(&app, &opts, generous_deadline()).await.unwrap_err();
        assert_eq!(err.to_string(), want, "case {name}");
    }
}

#[tokio::test]
async fn kustomize_override_naming_kubectl_runs_its_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("deployment.yaml", DEPLOYMENT),
            ("Kustomization", "resources: [deployment.yaml]\n"),
        ],
    );
    let bin = tmp.path().join("bin");
    // Named like gcloud's versioned kubectl binaries; records its arguments and defers to the real kubectl.
    let args_file = tmp.path().join("args");
    fake_tool(
        &bin,
        "kubectl.1.99",
        &format!(
            "echo \"$@\" > '{}'\nexec kubectl \"$@\"",
            args_file.display()
        ),
    );
    let mut env = system_env();
    env.set("IMAGE_RESOLVER_KUSTOMIZE", bin.join("kubectl.1.99"));
    let opts = RenderOptions { env, ..options() };
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert_eq!(
        rendered.command.as_deref(),
        Some("kubectl.1.99 kustomize .")
    );
    assert_eq!(
        std::fs::read_to_string(&args_file).unwrap(),
        "kustomize .\n"
    );
    assert!(
        rendered.output.contains("image: nginx:1.0\n"),
        "{}",
        rendered.output
    );
}

#[tokio::test]
async fn empty_kustomize_output_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("kustomization.yaml", "resources: []\n")]);
    let err = render(&app, &options(), generous_deadline())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`kubectl kustomize .` printed no manifests"
    );
}

#[tokio::test]
async fn hung_kustomize_is_killed_at_the_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("kustomization.yaml", "resources: []\n")]);
    let pid_file = tmp.path().join("kustomize.pid");
    let bin = tmp.path().join("bin");
    fake_tool(
        &bin,
        "kustomize",
        &format!("echo $$ > '{}'\nexec sleep 30", pid_file.display()),
    );
    let mut env = system_env();
    env.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    let opts = RenderOptions { env, ..options() };

    let started = Instant::now();
    let err = render(&app, &opts, started + Duration::from_millis(1500))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let RenderError::Process(ProcessError::TimedOut { allowed, .. }) = &err else {
        panic!("got {err:?}")
    };
    assert_eq!(
        err.to_string(),
        format!(
            "`kustomize build .` did not finish within its deadline of {:.1}s and was killed",
            allowed.as_secs_f64()
        )
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("the fake kustomize wrote its pid before the deadline")
        .trim()
        .parse()
        .unwrap();
    assert!(process_ended(pid), "fake kustomize (pid {pid}) still runs");
}

#[tokio::test]
async fn kustomize_gets_a_sanitised_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("kustomization.yaml", "resources: []\n")]);
    let bin = tmp.path().join("bin");
    fake_tool(&bin, "kustomize", "exec /usr/bin/env");
    let mut env = system_env();
    env.set("PATH", &bin)
        .set("REGISTRY_PASSWORD", "hunter2")
        .set("AWS_SECRET_ACCESS_KEY", "wJalr")
        .set("HELM_DEBUG", "1")
        .set("KUSTOMIZE_PLUGIN_HOME", "/plugins")
        .set("KUBECONFIG", "/kube/config");
    let opts = RenderOptions { env, ..options() };
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    let mut lines: Vec<&str> = rendered.output.lines().collect();
    lines.sort();
    let pwd = format!("PWD={}", app.display());
    let want = [
        "HELM_DEBUG=1",
        "HOME=/nonexistent",
        "KUBECONFIG=/kube/config",
        "KUSTOMIZE_PLUGIN_HOME=/plugins",
        &format!("PATH={}", bin.display()),
        &pwd,
    ];
    // Nothing of the test process's own environment either (cargo sets CARGO_MANIFEST_DIR there).
    assert_eq!(lines, want);
}

/// Issue 11, item 2: behind a corporate proxy or with a private CA, remote bases need the proxy and CA variables
/// (in both spellings); they used to be dropped with everything else.
#[tokio::test]
async fn kustomize_gets_the_proxy_and_ca_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("kustomization.yaml", "resources: []\n")]);
    let bin = tmp.path().join("bin");
    fake_tool(&bin, "kustomize", "exec /usr/bin/env");
    let mut env = system_env();
    env.set("PATH", &bin);
    with_proxy_and_ca(&mut env);
    let opts = RenderOptions { env, ..options() };
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert_got_proxy_and_ca(&rendered.output);
}
