use super::*;

fn dependency(repository: Option<&str>) -> ChartDependency {
    ChartDependency {
        name: "sub".to_owned(),
        repository: repository.map(str::to_owned),
    }
}

#[test]
fn repositories_are_classified_as_helm_reads_them() {
    let scheme = "dependency sub of /c/Chart.yaml has repository 'R': a dependency comes from an http://, \
                  https:// or oci:// chart repository, a file:// directory of the repository, or a repository the \
                  sidecar's helm knows by name (@name or alias:name)";
    let not_url = "dependency sub of /c/Chart.yaml has repository 'R': not a URL with a host";
    let credentials = "dependency sub of /c/Chart.yaml has repository 'R': a chart repository URL may not carry \
                       a user name or password; configure the repository's credentials in the sidecar's helm \
                       repository file (HELM_REPOSITORY_CONFIG) instead";
    // (name, repository, the source or the message's template and the repository as shown in it)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Result<Source<'a>, (&'a str, &'a str)>,
    );
    let cases: [Case; 17] = [
        ("no repository", None, Ok(Source::Charts)),
        ("empty repository", Some(""), Ok(Source::Charts)),
        (
            "file",
            Some("file://../common"),
            Ok(Source::Local("../common")),
        ),
        ("at name", Some("@stable"), Ok(Source::Named("stable"))),
        (
            "alias name",
            Some("alias:stable"),
            Ok(Source::Named("stable")),
        ),
        ("oci", Some("oci://ghcr.io/acme/charts"), Ok(Source::Oci)),
        (
            "https",
            Some("https://argoproj.github.io/argo-helm"),
            Ok(Source::Http("https://argoproj.github.io/argo-helm")),
        ),
        (
            "http with port, kept as written",
            Some("http://127.0.0.1:8080/charts/"),
            Ok(Source::Http("http://127.0.0.1:8080/charts/")),
        ),
        ("bare name", Some("stable"), Err((scheme, "stable"))),
        (
            "flag",
            Some("--post-renderer=/bin/sh"),
            Err((scheme, "--post-renderer=/bin/sh")),
        ),
        (
            "plugin scheme",
            Some("s3://bucket/charts"),
            Err((scheme, "s3://bucket/charts")),
        ),
        (
            "upper-case scheme",
            Some("HTTPS://example.com"),
            Err((scheme, "HTTPS://example.com")),
        ),
        (
            "newline escaped in the message",
            Some("ftp://x\nError: forged"),
            Err((scheme, r"ftp://x\nError: forged")),
        ),
        ("no host", Some("https://"), Err((not_url, "https://"))),
        (
            "bad port",
            Some("https://example.com:99999/"),
            Err((not_url, "https://example.com:99999/")),
        ),
        (
            "password, shown without it",
            Some("https://user:hunter2@example.com/charts"),
            Err((credentials, "https://example.com/charts")),
        ),
        (
            "user name",
            Some("oci://robot@ghcr.io/acme"),
            Err((credentials, "oci://ghcr.io/acme")),
        ),
    ];
    let file = Path::new("/c/Chart.yaml");
    for (name, repository, want) in cases {
        let dep = dependency(repository);
        let got = classify(file, &dep).map_err(|e| e.to_string());
        let want = want.map_err(|(message, shown)| message.replace("'R'", &format!("'{shown}'")));
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn repository_names_are_stable_valid_and_distinct() {
    // Pinned: the first 8 bytes of the URL's SHA-256, the same in every release.
    let a = repository_name("https://charts.example/stable");
    assert_eq!(a, "argocd-image-resolver-bd9e291f32dde6f2");
    assert_eq!(
        repository_name("https://charts.example/stable/"),
        a,
        "trailing slash"
    );
    assert_ne!(repository_name("https://charts.example/incubator"), a);
}

#[test]
fn the_operators_entries_the_chart_names_are_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let from = tmp.path().join("repositories.yaml");
    let to = tmp.path().join("private.yaml");
    std::fs::write(
        &from,
        "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n\
         - name: stable\n  url: https://charts.example/stable\n  username: robot\n  password: hunter2\n\
         - name: corp\n  url: https://charts.corp.example/\n  username: ci\n  password: s3cret\n\
         - name: other\n  url: https://other.example\n",
    )
    .unwrap();
    let urls = ["https://charts.corp.example"];
    let names: BTreeSet<&str> = ["stable"].into_iter().collect();

    let got = copy_entries(&from, &to, &urls, &names).unwrap();
    assert_eq!(
        got,
        [
            "https://charts.example/stable",
            "https://charts.corp.example/"
        ]
    );
    let written: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&to).unwrap()).unwrap();
    let want: serde_norway::Value = serde_norway::from_str(
        "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n\
         - name: stable\n  url: https://charts.example/stable\n  username: robot\n  password: hunter2\n\
         - name: corp\n  url: https://charts.corp.example/\n  username: ci\n  password: s3cret\n",
    )
    .unwrap();
    assert_eq!(written, want);

    let none_wanted = tmp.path().join("none.yaml");
    for (name, file, urls) in [
        ("no entry named", &from, &["https://unknown.example"][..]),
        ("no file", &tmp.path().join("missing.yaml"), &urls[..]),
    ] {
        let got = copy_entries(file, &none_wanted, urls, &BTreeSet::new()).unwrap();
        assert!(got.is_empty(), "case {name}: {got:?}");
        assert!(!none_wanted.exists(), "case {name}: wrote a file");
    }

    std::fs::write(&from, "repositories: {name: x}\n").unwrap();
    let err = copy_entries(&from, &to, &urls, &names).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot parse helm's repository file {}: `repositories` is not a list",
            from.display()
        )
    );
}
