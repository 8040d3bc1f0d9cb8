//! Whose pull secrets an Application may use: those of its own destination namespace and of the namespaces the
//! operator shares (`--pull-secret-namespaces`), whether it names one (`<alias>.pull-secret`) or the sidecar finds
//! one in the pull-secrets directory. Against a real registry that wants a password.

mod plugin_support;
mod support;

use base64::Engine as _;
use plugin_support::{Application, Repo, Sidecar, images, push_tags};
use support::registry::TestRegistry;

const USER: &str = "team-b-robot";
const PASSWORD: &str = "team-b-password";

/// A Deployment in git tracking `apps.test/team-b/web`, a repository only team-b's secret can read.
fn deployment(pull_secret: Option<&str>) -> String {
    let secret_line = pull_secret
        .map(|s| format!("    argocd-image-updater.argoproj.io/web.pull-secret: {s}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
         argocd-image-updater.argoproj.io/image-list: web=apps.test/team-b/web:~1.0\n{secret_line}spec:\n  \
         template:\n    spec:\n      containers:\n      - name: web\n        image: apps.test/team-b/web:1.0.0\n"
    )
}

/// A sidecar whose pull-secrets directory holds team-b's secret for the registry (mounted per namespace, as
/// manifests/ mounts them), with `shared` as the operator's `--pull-secret-namespaces`.
fn sidecar(registry: &TestRegistry, shared: Option<&str>) -> Sidecar {
    secret_sidecar(
        registry,
        "team-b/regcred",
        shared.map(|s| ("IMAGE_RESOLVER_PULL_SECRET_NAMESPACES", s)),
    )
}

/// A sidecar whose pull-secrets directory holds the registry's secret at `mounted` (below the directory), and
/// the operator's `setting`, if any.
fn secret_sidecar(
    registry: &TestRegistry,
    mounted: &str,
    setting: Option<(&str, &str)>,
) -> Sidecar {
    let mut sidecar = Sidecar::new(&[("apps.test", registry)]);
    let secrets = sidecar.tmp_dir().join("../pull-secrets");
    let dir = secrets.join(mounted);
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        dir.join(".dockerconfigjson"),
        format!(r#"{{"auths":{{"apps.test":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    sidecar.env.push((
        "IMAGE_RESOLVER_PULL_SECRETS_DIR".into(),
        secrets.display().to_string(),
    ));
    if let Some((name, value)) = setting {
        sidecar.env.push((name.into(), value.into()));
    }
    sidecar
}

fn app_in(namespace: &str) -> Application {
    let mut app = Application::new(&format!("{namespace}_web"), "apps/web");
    app.namespace = namespace.into();
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_use_pull_secrets_of_their_namespace_and_the_shared_ones() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7", "2.0.0"]).await;
    let named = Repo::new(&[(
        "apps/web/deployment.yaml",
        &deployment(Some("pullsecret:team-b/regcred")),
    )]);
    let found = Repo::new(&[("apps/web/deployment.yaml", &deployment(None))]);
    let refused = "argocd-image-resolver: application team-a_web: annotation on Deployment/web \
                   (argocd-image-updater.argoproj.io/web.pull-secret) names pull secret 'pullsecret:team-b/regcred' \
                   for image apps.test/team-b/web, which is in namespace team-b: an application deploying to \
                   namespace team-a may only use pull secrets of team-a and of the namespaces the operator shares \
                   (--pull-secret-namespaces: argocd); ask the operator to add team-b there, or use a secret of the \
                   application's own namespace\n";
    for (name, shared, namespace, repo, want) in [
        (
            "its own namespace's secret, named",
            None,
            "team-b",
            &named,
            Ok("apps.test/team-b/web:1.0.7"),
        ),
        (
            "its own namespace's secret, found",
            None,
            "team-b",
            &found,
            Ok("apps.test/team-b/web:1.0.7"),
        ),
        (
            "a namespace the operator shares",
            Some("argocd,team-b"),
            "team-a",
            &named,
            Ok("apps.test/team-b/web:1.0.7"),
        ),
        (
            "every namespace shared",
            Some("*"),
            "team-a",
            &found,
            Ok("apps.test/team-b/web:1.0.7"),
        ),
        (
            "another team's secret, named: refused before any request",
            Some("argocd"),
            "team-a",
            &named,
            Err((2, refused.to_string())),
        ),
        (
            // The scan skips team-b's directory, so the registry sees no credential and says so.
            "another team's secret is never found for it",
            None,
            "team-a",
            &found,
            Err((1, "401".to_string())),
        ),
    ] {
        let sidecar = sidecar(&registry, shared);
        let output = sidecar.generate(repo, &app_in(namespace)).await;
        match want {
            Ok(image) => assert_eq!(images(output.success()), [image], "{name}"),
            Err((code, message)) => {
                assert_eq!(
                    output.status.code(),
                    Some(code),
                    "{name}: {}",
                    output.stderr
                );
                assert_eq!(output.stdout, "", "{name}");
                assert!(
                    output.stderr.contains(&message),
                    "{name}: {}",
                    output.stderr
                );
                assert!(!output.stderr.contains(PASSWORD), "{name}");
            }
        }
    }
}

/// Argo CD gives the dynamic-parameters command no destination namespace, so only the shared namespaces can be
/// checked there: another namespace's secret is not used, and the Parameters tab still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_use_only_shared_secrets() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        &deployment(Some("pullsecret:team-b/regcred")),
    )]);
    for (name, shared, want) in [
        ("shared", Some("team-b"), "1.0.7"),
        ("not shared", None, ""),
    ] {
        let sidecar = sidecar(&registry, shared);
        let output = sidecar.parameters(&repo, &app_in("team-b")).await;
        let announced: serde_json::Value = serde_json::from_str(output.success()).unwrap();
        assert_eq!(announced[0]["name"], "web.pin", "{name}");
        assert_eq!(announced[0]["string"], want, "{name}");
        if want.is_empty() {
            assert!(
                output.stderr.contains("does not tell this command"),
                "{name}: {}",
                output.stderr
            );
        }
    }
}

/// A tag read with one namespace's secrets is kept for that scope only: when the registry is down, another
/// namespace's application gets no last-known-good answer from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_known_good_tags_are_kept_per_secret_scope() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let repo = Repo::new(&[("apps/web/deployment.yaml", &deployment(None))]);
    let sidecar = sidecar(&registry, None);
    let first = sidecar.generate(&repo, &app_in("team-b")).await;
    assert_eq!(images(first.success()), ["apps.test/team-b/web:1.0.7"]);

    // The registry goes away; the cache volume stays.
    let down = plugin_support::unreachable_url();
    std::fs::write(
        &sidecar.registries_conf,
        format!("registries:\n- name: down\n  prefix: apps.test\n  api_url: {down}\n"),
    )
    .unwrap();
    let same_scope = sidecar.generate(&repo, &app_in("team-b")).await;
    assert_eq!(
        images(same_scope.success()),
        ["apps.test/team-b/web:1.0.7"],
        "team-b falls back to its own last-known-good tag"
    );
    let other_scope = sidecar.generate(&repo, &app_in("team-a")).await;
    assert_eq!(other_scope.status.code(), Some(1), "{}", other_scope.stderr);
    assert_eq!(other_scope.stdout, "");
    assert!(
        other_scope
            .stderr
            .contains("no tag of it was resolved before"),
        "{}",
        other_scope.stderr
    );
}

/// registries.conf is the operator's: its `credentials` may name any namespace's secret, for every application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_conf_credentials_are_the_operators() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let repo = Repo::new(&[("apps/web/deployment.yaml", &deployment(None))]);
    let sidecar = sidecar(&registry, None);
    std::fs::write(
        &sidecar.registries_conf,
        format!(
            "registries:\n- name: b\n  prefix: apps.test\n  api_url: {}\n  credentials: \
             pullsecret:team-b/regcred\n",
            registry.base
        ),
    )
    .unwrap();
    let output = sidecar.generate(&repo, &app_in("team-a")).await;
    assert_eq!(images(output.success()), ["apps.test/team-b/web:1.0.7"]);
}

/// Regression (review of issue 9): a pull secret refused for its namespace is a resolution failure like any other,
/// so it fell back to the last-known-good tag recorded under the same spec by the namespace that owns the secret.
/// Where the scope cannot be checked before resolving (the parameters command, an Application without a
/// destination namespace), team-a got team-b's private tag with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pull_secret_never_falls_back_to_its_owners_last_known_good_tag() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        &deployment(Some("pullsecret:team-b/regcred")),
    )]);
    let sidecar = sidecar(&registry, None);
    // team-b resolves with its own secret: the answer is recorded under `pullsecret:team-b/regcred`.
    let owner = sidecar.generate(&repo, &app_in("team-b")).await;
    assert_eq!(images(owner.success()), ["apps.test/team-b/web:1.0.7"]);

    // An Application without a destination namespace (Argo CD passes ARGOCD_APP_NAMESPACE empty).
    let generated = sidecar.generate(&repo, &app_in("")).await;
    assert_eq!(generated.stdout, "", "{}", generated.stderr);
    assert_ne!(generated.status.code(), Some(0), "{}", generated.stderr);

    // The parameters command of another team's Application: no destination namespace, nothing shared.
    let parameters = sidecar.parameters(&repo, &app_in("team-a")).await;
    let announced: serde_json::Value = serde_json::from_str(parameters.success()).unwrap();
    assert_eq!(announced[0]["name"], "web.pin");
    assert_eq!(announced[0]["string"], "", "{}", parameters.stderr);
}

/// Regression (issue 11, item 7): a secret mounted flat (`<dir>/<name>/`, as the shipped component mounted argocd's)
/// answered `pullsecret:<any namespace>/<name>`, so an Application deploying to kube-system read argocd's secret by
/// naming `pullsecret:kube-system/regcred`. The flat layout is now the operator's choice of the one namespace it
/// stands for (`--pull-secrets-flat-namespace`), read for that namespace only; without it, it is not read at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flat_mounted_secrets_are_one_named_namespaces() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let unset = "is mounted without a namespace directory, which is read for no namespace unless \
                 --pull-secrets-flat-namespace (IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE) names the one namespace \
                 such secrets come from";
    let elsewhere = "is mounted without a namespace directory, so it is a secret of namespace argocd \
                     (--pull-secrets-flat-namespace), not of kube-system";
    for (name, flat_namespace, namespace, pull_secret, want) in [
        (
            "no flat namespace: named by the app's own namespace",
            None,
            "kube-system",
            Some("pullsecret:kube-system/regcred"),
            Err((1, unset)),
        ),
        (
            "no flat namespace: named by any namespace",
            None,
            "argocd",
            Some("pullsecret:argocd/regcred"),
            Err((1, unset)),
        ),
        (
            // The scan skips the flat secret, so the registry sees no credential and says so.
            "no flat namespace: never found",
            None,
            "argocd",
            None,
            Err((1, "401")),
        ),
        (
            "the flat namespace: named",
            Some("argocd"),
            "argocd",
            Some("pullsecret:argocd/regcred"),
            Ok(()),
        ),
        (
            "the flat namespace: found",
            Some("argocd"),
            "argocd",
            None,
            Ok(()),
        ),
        (
            "another namespace: named",
            Some("argocd"),
            "kube-system",
            Some("pullsecret:kube-system/regcred"),
            Err((1, elsewhere)),
        ),
        (
            "another namespace: never found",
            Some("argocd"),
            "kube-system",
            None,
            Err((1, "401")),
        ),
    ] {
        let sidecar = flat_sidecar(&registry, flat_namespace);
        let repo = Repo::new(&[("apps/web/deployment.yaml", &deployment(pull_secret))]);
        let output = sidecar.generate(&repo, &app_in(namespace)).await;
        match want {
            Ok(()) => assert_eq!(
                images(output.success()),
                ["apps.test/team-b/web:1.0.7"],
                "{name}"
            ),
            Err((code, message)) => {
                assert_eq!(
                    output.status.code(),
                    Some(code),
                    "{name}: {}",
                    output.stderr
                );
                assert_eq!(output.stdout, "", "{name}");
                assert!(output.stderr.contains(message), "{name}: {}", output.stderr);
                assert!(!output.stderr.contains(PASSWORD), "{name}");
            }
        }
    }

    // The option is the operator's: an Application's plugin env cannot say the flat secrets are its namespace's.
    let sidecar = flat_sidecar(&registry, Some("argocd"));
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        &deployment(Some("pullsecret:kube-system/regcred")),
    )]);
    let app =
        app_in("kube-system").env("IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE", "kube-system");
    let output = sidecar.generate(&repo, &app).await;
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(output.stderr.contains(elsewhere), "{}", output.stderr);
}

/// A sidecar whose pull-secrets directory holds a secret for the registry mounted flat, as `regcred/`, and
/// `flat_namespace` as the operator's `--pull-secrets-flat-namespace`.
fn flat_sidecar(registry: &TestRegistry, flat_namespace: Option<&str>) -> Sidecar {
    secret_sidecar(
        registry,
        "regcred",
        flat_namespace.map(|n| ("IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE", n)),
    )
}

/// A tag read with a flat secret while it stood for the Application's namespace (before this option existed, it
/// stood for every namespace) is not handed out once the secret no longer does: the last-known-good tag kept under
/// `pullsecret:<namespace>/<name>` was read with another namespace's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flat_secret_that_is_not_the_namespaces_never_falls_back_to_what_it_read() {
    let registry = TestRegistry::htpasswd(USER, PASSWORD).await;
    push_tags(&registry, "team-b/web", &["1.0.0", "1.0.7"]).await;
    let repo = Repo::new(&[(
        "apps/web/deployment.yaml",
        &deployment(Some("pullsecret:kube-system/regcred")),
    )]);
    let mut sidecar = flat_sidecar(&registry, Some("kube-system"));
    let before = sidecar.generate(&repo, &app_in("kube-system")).await;
    assert_eq!(images(before.success()), ["apps.test/team-b/web:1.0.7"]);

    // The operator says the flat secrets are argocd's; the cache volume stays.
    sidecar
        .env
        .retain(|(name, _)| name != "IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE");
    sidecar.env.push((
        "IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE".into(),
        "argocd".into(),
    ));
    let after = sidecar.generate(&repo, &app_in("kube-system")).await;
    assert_eq!(after.status.code(), Some(1), "{}", after.stderr);
    assert_eq!(after.stdout, "", "{}", after.stderr);
    assert!(
        after.stderr.contains("a secret of namespace argocd"),
        "{}",
        after.stderr
    );
}
