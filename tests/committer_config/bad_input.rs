//! Bad input fails before anything is pushed: exit 2, one paragraph on stderr naming the application, the file
//! and the key at fault, and the remote's tip unchanged.

use crate::{
    App, Operator, Origin, Run, WEB_LOCK, config, deployment, registry_with, shop_origin,
    write_config,
};

fn tip(origin: &Origin) -> String {
    origin.git(&["rev-parse", "main"])
}

/// The error paragraph: stderr without the lines of log records other than the error's.
fn paragraph(run: &Run) -> String {
    run.stderr.trim().to_owned()
}

/// `run` failed with exit 2 and one paragraph holding every one of `names`; the remote is as it was.
fn assert_refused(case: &str, run: &Run, origin: &Origin, before: &str, names: &[&str]) {
    assert_eq!(run.code, 2, "{case}: {}{}", run.stdout, run.stderr);
    let text = paragraph(run);
    eprintln!("{case}: {text}");
    assert!(
        !text.contains("\n\n"),
        "{case}: more than one paragraph:\n{text}"
    );
    for name in names {
        assert!(
            text.contains(name),
            "{case}: '{name}' not named in:\n{text}"
        );
    }
    assert_eq!(tip(origin), before, "{case}: something was pushed");
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
        let before = tip(&origin);
        let written = write_config(&operator, &text);
        let run = operator.commit(&["--config", written.to_str().unwrap()]);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_refused(case, &run, &origin, &before, &names);
    }

    // The same branch on the command line.
    let before = tip(&origin);
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
    let before = tip(&origin);
    let file = write_config(
        &operator,
        &config("", &[App::web(&origin.url(), "newest-build")]),
    );
    let run = operator.commit(&["--config", file.to_str().unwrap()]);
    assert_refused(
        "unparsable lock file",
        &run,
        &origin,
        &before,
        &[
            "application web",
            WEB_LOCK,
            "entry 'web=apps.test/shop/web'",
        ],
    );
}
