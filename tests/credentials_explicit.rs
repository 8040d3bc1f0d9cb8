//! Explicit credential specs (`env:`, `ext:`, `pullsecret:`, `secret:`) against real files and scripts, and the
//! cache around them.

mod credentials_support;

use std::time::Duration;

use argocd_image_resolver::registry::credentials::{
    Clock as _, Credential, CredentialOptions, CredentialSpec, CredentialStore,
};
use credentials_support::{Sandbox, assert_hidden, auth_field, basic};

const SECRET: &str = "s3cr3t-Pa55";

fn spec(s: &str) -> CredentialSpec {
    CredentialSpec::parse(s).unwrap()
}

#[tokio::test]
async fn env_specs() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(sandbox.options(&[
        ("GOOD_CREDS", &format!("robot:{SECRET}")),
        ("BAD_CREDS", SECRET),
        ("NEWLINE_CREDS", &format!("robot:{SECRET}\n")),
    ]));
    let ok = [
        ("plain", "env:GOOD_CREDS", "GOOD_CREDS"),
        ("trailing newline", "env:NEWLINE_CREDS", "NEWLINE_CREDS"),
    ];
    for (name, input, var) in ok {
        let got = store
            .credential_for("ghcr.io", Some(&spec(input)))
            .await
            .unwrap()
            .expect(name);
        assert_eq!(got.credential, basic("robot", SECRET), "{name}");
        assert_eq!(
            (got.source.kind, got.source.name.as_str()),
            ("env", var),
            "{name}"
        );
        assert_eq!(got.expires_at, None, "{name}: no credsexpire, no expiry");
        assert_hidden(name, &got.source, SECRET);
        assert!(!format!("{got:?}").contains(SECRET), "{name}: Debug leaks");
    }
    let failing = [
        (
            "not set",
            "env:MISSING_CREDS",
            "environment variable MISSING_CREDS named by credential spec 'env:MISSING_CREDS' is not set; set it to 'user:pass'",
        ),
        (
            "not user:pass",
            "env:BAD_CREDS",
            "environment variable BAD_CREDS named by credential spec 'env:BAD_CREDS' does not hold 'user:pass'",
        ),
    ];
    for (name, input, want) in failing {
        let err = store
            .credential_for("ghcr.io", Some(&spec(input)))
            .await
            .expect_err(name);
        assert_eq!(err.to_string(), want, "{name}");
        assert_hidden(name, &err, SECRET);
    }
}

#[tokio::test]
async fn ext_script_success_runs_without_shell_or_arguments() {
    let sandbox = Sandbox::new();
    // A path a shell would split and expand: proves the script is executed directly.
    let script = sandbox.script(
        "my scripts/auth $HOME.sh",
        &format!(
            "[ $# -eq 0 ] || exit 7\necho 'logging in...'\necho\necho \"robot:{SECRET}\"\necho"
        ),
    );
    let store = CredentialStore::new(sandbox.options(&[]));
    let input = format!("ext:{}", script.display());
    let got = store
        .credential_for("ghcr.io", Some(&spec(&input)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.credential, basic("robot", SECRET));
    assert_eq!(
        (got.source.kind, got.source.name),
        ("ext", script.display().to_string())
    );
}

#[tokio::test]
async fn ext_script_sees_the_configured_path() {
    let sandbox = Sandbox::new();
    let script = sandbox.script("path.sh", "echo \"path:$PATH\"");
    let store = CredentialStore::new(sandbox.options(&[]));
    let got = store
        .credential_for("ghcr.io", Some(&spec(&format!("ext:{}", script.display()))))
        .await
        .unwrap();
    assert_eq!(
        got.unwrap().credential,
        basic("path", &sandbox.search_path())
    );
}

#[tokio::test]
async fn ext_script_failures_name_the_script_not_its_output() {
    let sandbox = Sandbox::new();
    let leak = format!("echo \"robot:{SECRET}\"; echo \"+ echo robot:{SECRET}\" >&2");
    let failing = sandbox.script("failing.sh", &format!("{leak}\nexit 3"));
    let killed = sandbox.script("killed.sh", &format!("{leak}\nkill -9 $$"));
    let malformed = sandbox.script(
        "malformed.sh",
        &format!("echo \"robot:{SECRET}\"\necho {SECRET}"),
    );
    let empty = sandbox.script("empty.sh", "true");
    let not_executable = sandbox.file("plain.sh", "#!/bin/sh\necho robot:x\n");
    let missing = sandbox.path().join("missing.sh");
    let d = |p: &std::path::Path| p.display().to_string();
    let cases = [
        (
            "non-zero exit",
            &failing,
            format!(
                "ext script {} failed (exit status: 3); run it by hand to see its output",
                d(&failing)
            ),
        ),
        (
            "killed",
            &killed,
            format!(
                "ext script {} failed (signal: 9 (SIGKILL)); run it by hand to see its output",
                d(&killed)
            ),
        ),
        (
            "last line not user:pass",
            &malformed,
            format!(
                "ext script {} did not print 'user:pass' on its last line",
                d(&malformed)
            ),
        ),
        (
            "no output",
            &empty,
            format!(
                "ext script {} did not print 'user:pass' on its last line",
                d(&empty)
            ),
        ),
        (
            "not executable",
            &not_executable,
            format!(
                "cannot run ext script {}: Permission denied (os error 13)",
                d(&not_executable)
            ),
        ),
        (
            "missing",
            &missing,
            format!(
                "cannot run ext script {}: No such file or directory (os error 2)",
                d(&missing)
            ),
        ),
    ];
    let store = CredentialStore::new(sandbox.options(&[]));
    for (name, script, want) in cases {
        let err = store
            .credential_for("ghcr.io", Some(&spec(&format!("ext:{}", script.display()))))
            .await;
        let err = err.expect_err(name);
        assert_eq!(err.to_string(), want, "{name}");
        assert_hidden(name, &err, SECRET);
    }
}

#[tokio::test]
async fn ext_script_is_killed_after_the_timeout() {
    let sandbox = Sandbox::new();
    let script = sandbox.script("slow.sh", "exec sleep 30");
    let store = CredentialStore::new(CredentialOptions {
        command_timeout: Duration::from_millis(200),
        ..sandbox.options(&[])
    });
    // The exact message proves the kill path: a script left to finish would print nothing and fail otherwise.
    let err = store
        .credential_for("ghcr.io", Some(&spec(&format!("ext:{}", script.display()))))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "ext script {} did not finish within 200ms",
            script.display()
        )
    );
}

/// Issue 10: scripts used to run outside a process group, so on timeout a child they forked lived on.
#[tokio::test]
async fn timed_out_ext_script_is_killed_with_its_children() {
    let sandbox = Sandbox::new();
    let pid_file = sandbox.path().join("child.pid");
    let script = sandbox.script("hang.sh", &credentials_support::hang_with_child(&pid_file));
    let pid = credentials_support::child_of_timed_out_program(&pid_file, |timeout| {
        let store = CredentialStore::new(CredentialOptions {
            command_timeout: timeout,
            ..sandbox.options(&[])
        });
        let script = script.clone();
        async move {
            let err = store
                .credential_for("ghcr.io", Some(&spec(&format!("ext:{}", script.display()))))
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "ext script {} did not finish within {timeout:?}",
                    script.display()
                )
            );
        }
    })
    .await;
    assert!(
        credentials_support::process_gone(pid),
        "the script's child {pid} outlived it"
    );
}

fn dockerconfigjson(registry_key: &str, user: &str, pass: &str) -> String {
    format!(
        r#"{{"auths":{{"{registry_key}":{{"auth":"{}"}}}}}}"#,
        auth_field(user, pass)
    )
}

#[tokio::test]
async fn mounted_secret_specs() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("pull-secrets");
    let namespaced = sandbox.file(
        "pull-secrets/argocd/ghcr/.dockerconfigjson",
        &dockerconfigjson("https://ghcr.io", "robot", SECRET),
    );
    let flat = sandbox.file(
        "pull-secrets/hub/.dockerconfigjson",
        &dockerconfigjson("https://index.docker.io/v1/", "hubber", SECRET),
    );
    let field = sandbox.file(
        "pull-secrets/argocd/quay/creds",
        &format!("quayer:{SECRET}\n"),
    );
    // The operator says the flat secrets are argocd's.
    let store = CredentialStore::new(CredentialOptions {
        pull_secrets_dir: Some(dir.clone()),
        pull_secrets_flat_namespace: Some("argocd".into()),
        ..sandbox.options(&[])
    });
    let cases = [
        (
            "pull secret, namespaced layout",
            "ghcr.io",
            "pullsecret:argocd/ghcr",
            basic("robot", SECRET),
            "pull-secret",
            &namespaced,
        ),
        (
            "pull secret, flat layout of the namespace the operator names",
            "docker.io",
            "pullsecret:argocd/hub",
            basic("hubber", SECRET),
            "pull-secret",
            &flat,
        ),
        (
            "secret field",
            "quay.io",
            "secret:argocd/quay#creds",
            basic("quayer", SECRET),
            "secret",
            &field,
        ),
        (
            "prefixed spec for this registry",
            "index.docker.io",
            "docker.io=pullsecret:argocd/hub",
            basic("hubber", SECRET),
            "pull-secret",
            &flat,
        ),
    ];
    for (name, registry, input, want, kind, path) in cases {
        let got = store
            .credential_for(registry, Some(&spec(input)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = got.expect(name);
        assert_eq!(got.credential, want, "{name}");
        assert_eq!(
            (got.source.kind, got.source.name),
            (kind, path.display().to_string()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn mounted_secret_failures() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("pull-secrets");
    let ghcr = sandbox.file(
        "pull-secrets/argocd/ghcr/.dockerconfigjson",
        &dockerconfigjson("ghcr.io", "robot", SECRET),
    );
    let broken = sandbox.file(
        "pull-secrets/argocd/broken/.dockerconfigjson",
        &format!(r#"{{"auths":{{"ghcr.io":"{SECRET}"}}}}"#),
    );
    let field = sandbox.file("pull-secrets/argocd/quay/token", SECRET);
    let flat = sandbox.file(
        "pull-secrets/hub/.dockerconfigjson",
        &dockerconfigjson("https://index.docker.io/v1/", "hubber", SECRET),
    );
    let with_dir = CredentialStore::new(CredentialOptions {
        pull_secrets_dir: Some(dir.clone()),
        ..sandbox.options(&[])
    });
    let flat_argocd = CredentialStore::new(CredentialOptions {
        pull_secrets_dir: Some(dir.clone()),
        pull_secrets_flat_namespace: Some("argocd".into()),
        ..sandbox.options(&[])
    });
    let without_dir = CredentialStore::new(sandbox.options(&[]));
    let d = |p: &std::path::Path| p.display().to_string();
    let cases = [
        (
            "no entry for the registry",
            &with_dir,
            "quay.io",
            "pullsecret:argocd/ghcr",
            format!("pull secret {} has no auths entry with a credential for registry quay.io", d(&ghcr)),
        ),
        (
            "not mounted",
            &with_dir,
            "ghcr.io",
            "pullsecret:team/regcred",
            format!(
                "the secret of credential spec 'pullsecret:team/regcred' is not mounted: {} does not exist",
                d(&dir.join("team/regcred/.dockerconfigjson")),
            ),
        ),
        (
            "not mounted, in either layout of the flat namespace",
            &flat_argocd,
            "ghcr.io",
            "pullsecret:argocd/regcred",
            format!(
                "the secret of credential spec 'pullsecret:argocd/regcred' is not mounted: none of {}, {} exists",
                d(&dir.join("argocd/regcred/.dockerconfigjson")),
                d(&dir.join("regcred/.dockerconfigjson"))
            ),
        ),
        // Regression (issue 11, item 7): `<dir>/<name>/` answered for every namespace.
        (
            "mounted flat, and no flat namespace named",
            &with_dir,
            "docker.io",
            "pullsecret:argocd/hub",
            format!(
                "the secret of credential spec 'pullsecret:argocd/hub' is not mounted: {} does not exist; {} is \
                 mounted without a namespace directory, which is read for no namespace unless \
                 --pull-secrets-flat-namespace (IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE) names the one \
                 namespace such secrets come from; mount the secret as <pull-secrets-dir>/argocd/<name>/, or set \
                 that option",
                d(&dir.join("argocd/hub/.dockerconfigjson")),
                d(&flat),
            ),
        ),
        (
            "mounted flat, for another namespace",
            &flat_argocd,
            "docker.io",
            "pullsecret:kube-system/hub",
            format!(
                "the secret of credential spec 'pullsecret:kube-system/hub' is not mounted: {} does not exist; {} \
                 is mounted without a namespace directory, so it is a secret of namespace argocd \
                 (--pull-secrets-flat-namespace), not of kube-system; mount kube-system's secret as \
                 <pull-secrets-dir>/kube-system/<name>/",
                d(&dir.join("kube-system/hub/.dockerconfigjson")),
                d(&flat),
            ),
        ),
        (
            "a secret: field mounted flat, for another namespace",
            &flat_argocd,
            "docker.io",
            "secret:kube-system/hub#.dockerconfigjson",
            format!(
                "the secret of credential spec 'secret:kube-system/hub#.dockerconfigjson' is not mounted: {} does \
                 not exist; {} is mounted without a namespace directory, so it is a secret of namespace argocd \
                 (--pull-secrets-flat-namespace), not of kube-system; mount kube-system's secret as \
                 <pull-secrets-dir>/kube-system/<name>/",
                d(&dir.join("kube-system/hub/.dockerconfigjson")),
                d(&flat),
            ),
        ),
        (
            "malformed document",
            &with_dir,
            "ghcr.io",
            "pullsecret:argocd/broken",
            format!("docker config {} is not valid JSON of the expected shape (line 1, column {})", d(&broken), 20 + SECRET.len() + 2),
        ),
        (
            "field not user:pass",
            &with_dir,
            "quay.io",
            "secret:argocd/quay#token",
            format!("secret file {} does not hold 'user:pass'", d(&field)),
        ),
        (
            "no pull-secrets dir",
            &without_dir,
            "ghcr.io",
            "pullsecret:argocd/ghcr",
            "credential spec 'pullsecret:argocd/ghcr' reads a mounted secret, but no pull-secrets directory is set (--pull-secrets-dir)".to_string(),
        ),
        (
            "prefix names another registry",
            &with_dir,
            "quay.io",
            "ghcr.io=pullsecret:argocd/ghcr",
            "credential spec 'ghcr.io=pullsecret:argocd/ghcr' is for registry ghcr.io, not quay.io; fix or remove the 'ghcr.io=' prefix".to_string(),
        ),
    ];
    for (name, store, registry, input, want) in cases {
        let err = store
            .credential_for(registry, Some(&spec(input)))
            .await
            .expect_err(name);
        assert_eq!(err.to_string(), want, "{name}");
        assert_hidden(name, &err, SECRET);
    }
}

/// A script that appends a line to `count` on each run, and fails while `fail` exists.
fn counting_script(sandbox: &Sandbox) -> CredentialSpec {
    let dir = sandbox.path().display();
    let script = sandbox.script(
        "counting.sh",
        &format!(
            "echo run >> '{dir}/count'\n[ -e '{dir}/fail' ] && exit 1\necho \"robot:{SECRET}\""
        ),
    );
    spec(&format!("ext:{}", script.display()))
}

#[tokio::test]
async fn credsexpire_rereads_after_expiry() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(sandbox.options(&[]));
    let spec = counting_script(&sandbox).with_expiry(Duration::from_secs(60));
    let start = sandbox.clock.now();

    let first = store
        .credential_for("ghcr.io", Some(&spec))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.expires_at, Some(start + Duration::from_secs(60)));
    sandbox.clock.advance(Duration::from_secs(59));
    store
        .credential_for("ghcr.io", Some(&spec))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sandbox.count("count"), 1, "cached within credsexpire");

    sandbox.clock.advance(Duration::from_secs(1));
    let again = store
        .credential_for("ghcr.io", Some(&spec))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sandbox.count("count"), 2, "re-read at credsexpire");
    assert_eq!(again.expires_at, Some(start + Duration::from_secs(120)));
}

#[tokio::test]
async fn without_credsexpire_only_invalidate_rereads() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(sandbox.options(&[]));
    let spec = counting_script(&sandbox);

    store.credential_for("ghcr.io", Some(&spec)).await.unwrap();
    sandbox.clock.advance(Duration::from_secs(30 * 24 * 3600));
    store.credential_for("ghcr.io", Some(&spec)).await.unwrap();
    assert_eq!(sandbox.count("count"), 1, "cached for a month");

    store.invalidate("quay.io");
    store.credential_for("ghcr.io", Some(&spec)).await.unwrap();
    assert_eq!(
        sandbox.count("count"),
        1,
        "another registry's invalidation keeps it"
    );

    store.invalidate("https://ghcr.io/v2/");
    store.credential_for("ghcr.io", Some(&spec)).await.unwrap();
    assert_eq!(sandbox.count("count"), 2, "invalidated");

    store.credential_for("quay.io", Some(&spec)).await.unwrap();
    assert_eq!(sandbox.count("count"), 3, "cached per registry");
}

#[tokio::test]
async fn failures_are_not_cached() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(sandbox.options(&[]));
    let spec = counting_script(&sandbox);
    sandbox.file("fail", "");

    store
        .credential_for("ghcr.io", Some(&spec))
        .await
        .unwrap_err();
    std::fs::remove_file(sandbox.path().join("fail")).unwrap();
    let got = store
        .credential_for("ghcr.io", Some(&spec))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.credential, basic("robot", SECRET));
    assert_eq!(sandbox.count("count"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_run_the_script_once() {
    let sandbox = Sandbox::new();
    let store = CredentialStore::new(sandbox.options(&[]));
    let spec = counting_script(&sandbox);
    let lookups: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let spec = spec.clone();
            tokio::spawn(async move { store.credential_for("ghcr.io", Some(&spec)).await })
        })
        .collect();
    for lookup in lookups {
        let got = lookup.await.unwrap().unwrap().unwrap();
        assert!(matches!(got.credential, Credential::Basic { .. }));
    }
    assert_eq!(sandbox.count("count"), 1);
}
