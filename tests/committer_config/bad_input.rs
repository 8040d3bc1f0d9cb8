//! Bad input fails before anything is pushed: exit 2 (1 where the git server is at fault), one paragraph on stderr
//! after any log records, naming the application, the file and the key at fault, and every ref of the remote
//! unchanged.

use crate::servers::{SmartHttp, TlsProxy};
use crate::{
    App, Operator, Origin, Run, WEB_LOCK, config, deployment, error_paragraph, helm, registry_with,
    shop_origin, write_config,
};

/// Every ref of the remote with its commit: what "nothing pushed" compares.
fn refs(origin: &Origin) -> String {
    origin.git(&["for-each-ref", "--format=%(objectname) %(refname)"])
}

/// `run` failed with exit `code` and one paragraph holding every one of `names`; the remote's refs are `before`.
fn assert_refused(case: &str, run: &Run, code: i32, origin: &Origin, before: &str, names: &[&str]) {
    assert_eq!(run.code, code, "{case}: {}{}", run.stdout, run.stderr);
    let text = error_paragraph(&run.stderr);
    eprintln!("{case}: {text}");
    for name in names {
        assert!(
            text.contains(name),
            "{case}: '{name}' not named in:\n{text}"
        );
    }
    assert_eq!(refs(origin), before, "{case}: something was pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_with_one_paragraph_and_push_nothing() {
    let registry = registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let url = origin.url();
    let secrets = operator.path().join("no-secrets");
    // The config file every case writes: errors found in it name it.
    let file = operator.path().join("committer.yaml").display().to_string();
    let cases: Vec<(&str, String, Vec<String>)> =
        vec![
            (
                "unknown write-back-target",
                config("", &[App::api(&url).with("write-back-target", "nonsense")]),
                vec![
                    "application api".into(),
                    file.clone(),
                    "write-back-target".into(),
                    "nonsense".into(),
                ],
            ),
            (
                "missing credentials",
                config(
                    "",
                    &[App::web(&url, "newest-build")
                        .with("write-back-method", "git:secret:team/none")],
                ),
                vec![
                    "application web".into(),
                    "git:secret:team/none".into(),
                    "write-back-method".into(),
                ],
            ),
            (
                "missing credentials with a secrets dir",
                config(
                    &format!("  secretsDir: {}\n", secrets.display()),
                    &[App::web(&url, "newest-build")
                        .with("write-back-method", "git:secret:team/none")],
                ),
                vec![
                    "application web".into(),
                    "git:secret:team/none".into(),
                    "write-back-method".into(),
                ],
            ),
            (
                "a branch that does not exist",
                config(
                    "",
                    &[App {
                        revision: "nope",
                        ..App::web(&url, "newest-build")
                    }],
                ),
                vec![
                    "application web".into(),
                    "no branch 'nope'".into(),
                    "targetRevision".into(),
                ],
            ),
            (
                "a values path that does not exist",
                config(
                    "",
                    &[App::web(&url, "newest-build")
                        .with("write-back-target", "helmvalues:missing.yaml")],
                ),
                vec![
                    "application web".into(),
                    "apps/web/missing.yaml".into(),
                    "write-back-target".into(),
                ],
            ),
            (
                "a config file with an unknown key",
                config("", &[App::web(&url, "newest-build")])
                    .replace("targetRevision:", "targetRevison:"),
                vec![
                    "application web".into(),
                    file.clone(),
                    "targetRevison".into(),
                ],
            ),
        ];
    for (case, text, names) in cases {
        let before = refs(&origin);
        let written = write_config(&operator, &text);
        let run = operator.commit(&["--config", written.to_str().unwrap()]);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_refused(case, &run, 2, &origin, &before, &names);
    }

    // The same branch on the command line.
    let before = refs(&origin);
    let run = operator.commit(&[
        "--repo",
        &url,
        "--branch",
        "nope",
        "--path",
        "apps/web",
        "--param",
        "image-list=web=apps.test/shop/web",
        "--param",
        "write-back-method=git",
    ]);
    assert_refused(
        "--branch nope",
        &run,
        2,
        &origin,
        &before,
        &["application web", "no branch 'nope'", "--branch"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_lock_file_fails_naming_it() {
    let registry = registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "apps/web/deployment.yaml",
            &deployment("web", "apps.test/shop/web:0a1b2c3"),
        ),
        (WEB_LOCK, "images:\n  web=apps.test/shop/web: [unclosed\n"),
    ]);
    let before = refs(&origin);
    let file = write_config(
        &operator,
        &config("", &[App::web(&origin.url(), "newest-build")]),
    );
    let run = operator.commit(&["--config", file.to_str().unwrap()]);
    assert_refused(
        "unparsable lock file",
        &run,
        2,
        &origin,
        &before,
        &[
            "application web",
            WEB_LOCK,
            "entry 'web=apps.test/shop/web'",
        ],
    );
}

/// An https repository that needs credentials, and the config file gives none: the server's refusal names the
/// application and the repository (and never looks like a network fault).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_repository_without_credentials_fails_naming_it() {
    let registry = registry_with(&["0a1b2c3", "latest"]).await;
    let operator = Operator::new(&registry);
    let origin = shop_origin();
    let root = origin.bare().parent().unwrap().to_path_buf();
    let server = SmartHttp::start(&root, "shop-bot", "s3cret-Correct-Horse").await;
    let pki = tempfile::tempdir().unwrap();
    let ca = crate::support::pki::TestCa::create(pki.path());
    let tls = TlsProxy::start(server.server.addr, &ca.server_cert, &ca.server_key).await;
    let url = format!("https://127.0.0.1:{}/repo.git", tls.port);
    let before = refs(&origin);
    let file = write_config(
        &operator,
        &config(
            &format!("  caFile: {}\n", ca.ca_cert.display()),
            &[App::web(&url, "newest-build")],
        ),
    );
    let run = operator.commit(&["--config", file.to_str().unwrap()]);
    assert_refused(
        "https without credentials",
        &run,
        2,
        &origin,
        &before,
        &["application web", &url, "credentials"],
    );
    assert!(
        !server.server.seen().is_empty(),
        "the request reached the server (the CA was trusted)"
    );
    assert!(
        server
            .server
            .seen()
            .iter()
            .all(|s| s.authorization.is_none()),
        "no credentials were sent"
    );
}

/// `helm.image-tag` pointing into a value that is a string (`image: <repository>:<tag>`): no key can go there, so
/// the round fails naming the application, the values file and the key, and nothing is pushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_values_path_through_a_scalar_fails_naming_the_file_and_key() {
    let registry = registry_with(&["1.0.0", "1.1.0"]).await;
    let operator = Operator::new(&registry);
    let origin = Origin::new(&[
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        (
            "charts/web/values.yaml",
            "image: apps.test/shop/web:1.0.0\n",
        ),
        (
            "charts/web/templates/deployment.yaml",
            &deployment("web", "{{ .Values.image }}"),
        ),
    ]);
    let before = refs(&origin);
    let app = App {
        name: "web",
        repository: origin.url(),
        revision: "main",
        path: "charts/web",
        annotations: Vec::new(),
    }
    .with("image-list", "web=apps.test/shop/web")
    .with("web.update-strategy", "semver")
    .with("write-back-method", "git")
    .with("write-back-target", "helmvalues:values.yaml")
    .with("web.helm.image-name", "image.repository")
    .with("web.helm.image-tag", "image.tag");
    let file = write_config(&operator, &config("", &[app]));
    let helm = helm();
    let run = operator.run_with_env(
        &["--config", file.to_str().unwrap()],
        &[("IMAGE_RESOLVER_HELM", helm.to_str().unwrap())],
    );
    assert_refused(
        "a values path through a scalar",
        &run,
        2,
        &origin,
        &before,
        &[
            "application web",
            "charts/web/values.yaml",
            "image.repository",
        ],
    );
}
