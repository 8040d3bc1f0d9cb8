//! The write-back keys: every form argocd-image-updater accepts, and every refusal's full message.

use crate::credential_spec::SecretScope;
use crate::policy::source::{Located, Origin, PREFIX};
use crate::writeback::{
    GitBranch, GitCredentials, GitWriteBack, Method, Target, TargetPath, Transport, WriteBack,
    WriteBackSpec,
};

fn at(key: &str, value: &str) -> Located {
    Located {
        origin: Origin::Parameter { name: key.into() },
        key: format!("{PREFIX}{key}"),
        value: value.into(),
        entry: false,
    }
}

fn spec(pairs: &[(&str, &str)]) -> WriteBackSpec {
    let mut spec = WriteBackSpec::default();
    for (key, value) in pairs {
        let slot = match *key {
            "write-back-method" => &mut spec.method,
            "write-back-target" => &mut spec.target,
            "git-branch" => &mut spec.branch,
            "git-repository" => &mut spec.repository,
            _ => unreachable!(),
        };
        *slot = Some(at(key, value));
    }
    spec
}

fn git(pairs: &[(&str, &str)]) -> GitWriteBack {
    let mut pairs = pairs.to_vec();
    if !pairs.iter().any(|(k, _)| *k == "write-back-method") {
        pairs.push(("write-back-method", "git"));
    }
    let (write_back, warnings) = spec(&pairs).build().expect("valid");
    assert!(warnings.is_empty(), "{warnings:?}");
    write_back.git().cloned().expect("git")
}

#[test]
fn methods_and_credentials() {
    let secret = |ns: Option<&str>, name: &str| GitCredentials::Secret {
        namespace: ns.map(String::from),
        name: name.into(),
    };
    for (value, want) in [
        ("git", GitCredentials::RepoCreds),
        ("git:repocreds", GitCredentials::RepoCreds),
        ("git:secret:git-creds", secret(None, "git-creds")),
        (
            "git:secret:argocd/git.creds",
            secret(Some("argocd"), "git.creds"),
        ),
    ] {
        assert_eq!(
            git(&[("write-back-method", value)]).credentials,
            want,
            "{value}"
        );
    }
    assert_eq!(
        spec(&[("write-back-method", "argocd")])
            .build()
            .unwrap()
            .0
            .method,
        Method::RenderTime
    );
    assert_eq!(spec(&[]).build().unwrap().0, WriteBack::default());
}

#[test]
fn targets() {
    let kustomization = |p: TargetPath| Target::Kustomization(p);
    for (value, want) in [
        ("kustomization", kustomization(TargetPath::App(".".into()))),
        (
            "kustomization:../base",
            kustomization(TargetPath::App("../base".into())),
        ),
        (
            "kustomization:/config/overlays/bar",
            kustomization(TargetPath::Repo("config/overlays/bar".into())),
        ),
        (
            "helmvalues",
            Target::HelmValues(TargetPath::App("values.yaml".into())),
        ),
        (
            "helmvalues:../../values.yaml",
            Target::HelmValues(TargetPath::App("../../values.yaml".into())),
        ),
        (
            "helmvalues:/helm/config/test-values.yaml",
            Target::HelmValues(TargetPath::Repo("helm/config/test-values.yaml".into())),
        ),
    ] {
        assert_eq!(git(&[("write-back-target", value)]).target, want, "{value}");
    }
    assert_eq!(git(&[]).target, Target::LockFile);
}

#[test]
fn target_paths_in_the_repository() {
    for (path, app, want) in [
        (TargetPath::App(".".into()), "apps/web", Ok("apps/web")),
        (
            TargetPath::App("../../base".into()),
            "config/overlays/foo",
            Ok("config/base"),
        ),
        (
            TargetPath::App("./values.yaml".into()),
            "/apps/web/",
            Ok("apps/web/values.yaml"),
        ),
        (
            TargetPath::Repo("helm/values.yaml".into()),
            "apps/web",
            Ok("helm/values.yaml"),
        ),
        (
            TargetPath::App("..".into()),
            "",
            Err("'..' leaves the repository from ''"),
        ),
        (
            TargetPath::App("../../x".into()),
            "a",
            Err("'../../x' leaves the repository from 'a'"),
        ),
    ] {
        assert_eq!(
            path.in_repo(app).as_deref().map_err(String::as_str),
            want,
            "{path} from {app}"
        );
    }
}

#[test]
fn branches() {
    for (value, base, write) in [
        ("main", Some("main"), None),
        ("HEAD", Some("HEAD"), None),
        (
            "main:image-updater-{{.SHA256}}",
            Some("main"),
            Some("image-updater-{{.SHA256}}"),
        ),
        (":release/images", None, Some("release/images")),
        ("main:", Some("main"), None),
    ] {
        let branch = git(&[("git-branch", value)]).branch;
        assert_eq!(branch.base.as_deref(), base, "{value}");
        assert_eq!(branch.write.as_ref().map(|w| w.as_str()), write, "{value}");
    }
    assert_eq!(git(&[]).branch, GitBranch::default());
}

#[test]
fn repositories() {
    for (value, transport) in [
        ("https://github.com/org/repo.git", Transport::Https),
        ("http://gitea.local:3000/org/repo", Transport::Http),
        ("ssh://git@github.com/org/repo.git", Transport::Ssh),
        ("git@github.com:org/repo.git", Transport::Ssh),
        ("git://127.0.0.1:9418/repo.git", Transport::Git),
        ("file:///srv/git/repo.git", Transport::File),
    ] {
        let repository = git(&[("git-repository", value)]).repository.expect(value);
        assert_eq!(
            (repository.url(), repository.transport()),
            (value, transport)
        );
    }
}

#[test]
fn refusals_name_key_value_and_source() {
    for (key, value, want) in [
        (
            "write-back-method",
            "gitt",
            "unknown write-back method; use 'argocd' (tags resolved at render time, nothing written back) or 'git', \
             'git:repocreds', 'git:secret:[<namespace>/]<name>'",
        ),
        (
            "write-back-method",
            "Git",
            "unknown write-back method; use 'argocd' (tags resolved at render time, nothing written back) or 'git', 'git:repocreds', 'git:secret:[<namespace>/]<name>'",
        ),
        (
            "write-back-method",
            "git:",
            "unknown git credentials ''; use git (Argo CD's repository credentials), git:repocreds or \
             git:secret:[<namespace>/]<name>",
        ),
        (
            "write-back-method",
            "git:pullsecret:a/b",
            "unknown git credentials 'pullsecret:a/b'; use git (Argo CD's repository credentials), git:repocreds or \
             git:secret:[<namespace>/]<name>",
        ),
        (
            "write-back-method",
            "git:secret:a/b/c",
            "'b/c' is not a secret name (lower-case letters, digits, '-' and '.', at most 253 characters); write \
             git:secret:[<namespace>/]<name>",
        ),
        (
            "write-back-method",
            "git:secret:Team/creds",
            "'Team' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)",
        ),
        (
            "write-back-target",
            ".argocd-source-web.yaml",
            "unknown write-back target; use kustomization[:<directory>] or helmvalues[:<values file>] (relative to \
             the application's directory, or from the repository's root with a leading '/'), or leave it unset to \
             write image-resolver.lock.yaml; argocd-image-updater's other targets are files of Argo CD parameter \
             overrides, which a plugin source cannot use",
        ),
        (
            "write-back-target",
            "kustomizations",
            "unknown write-back target; use kustomization[:<directory>] or helmvalues[:<values file>] (relative to \
             the application's directory, or from the repository's root with a leading '/'), or leave it unset to \
             write image-resolver.lock.yaml; argocd-image-updater's other targets are files of Argo CD parameter \
             overrides, which a plugin source cannot use",
        ),
        (
            "write-back-target",
            "kustomization:",
            "nothing follows 'kustomization:'; write 'kustomization' alone for the default",
        ),
        (
            "write-back-target",
            "helmvalues:/../x.yaml",
            "'/../x.yaml' leaves the repository; write a path inside it",
        ),
        (
            "write-back-target",
            "helmvalues:config/",
            "'config/' names a directory; helmvalues needs the values file, such as config/values.yaml",
        ),
        (
            "git-branch",
            "a:b:c",
            "more than one ':'; write <branch>, or <base branch>:<branch to push to>",
        ),
        (
            "git-branch",
            "ma in",
            "'ma in' is not a valid branch name: it holds a space",
        ),
        (
            "git-branch",
            "-f",
            "'-f' is not a valid branch name: it starts with '-'",
        ),
        (
            "git-branch",
            "main:x..y",
            "'x..y' is not a valid branch name: it holds '..'",
        ),
        (
            "git-branch",
            "main:x-{{.Foo}}",
            "unsupported template action '{{.Foo}}' in branch template; supported: {{.SHA256}}, {{.AppName}}, \
             {{.AppNamespace}}, {{.TargetKey}} and {{range .Images}}…{{end}} with {{.Name}}, {{.Alias}}, \
             {{.OldTag}}, {{.NewTag}} inside",
        ),
        (
            "git-repository",
            "ext::sh -c touch% /tmp/x",
            "a repository URL holds no white space or control characters",
        ),
        (
            "git-repository",
            "ext::sh",
            "git's remote helpers (<transport>::<address>) are not accepted",
        ),
        (
            "git-repository",
            "--upload-pack=x",
            "a repository URL cannot start with '-'",
        ),
        (
            "git-repository",
            "/srv/repo.git",
            "not a repository URL; use https://…, ssh://…, git://…, file://… or user@host:path",
        ),
        (
            "git-repository",
            "ftp://host/repo",
            "unknown transport; use https://, http://, ssh://, git://, file:// or user@host:path",
        ),
    ] {
        let got = spec(&[(key, value)]).build().unwrap_err().to_string();
        assert_eq!(
            got,
            format!("parameter {key} = '{value}': {want}"),
            "{key}={value}"
        );
    }
}

/// Bug (the tester's repro 5): the refusal of a URL with credentials quoted them. Every message shows the URL
/// with `<redacted>` in place of userinfo, query and fragment, whatever the refusal.
#[test]
fn repository_credentials_are_never_shown() {
    let credentials = "credentials do not belong in the repository URL, which logs and messages show; remove them \
                       and name a secret: write-back-method: git:secret:[<namespace>/]<name>";
    let query = "a query or fragment does not belong in the repository URL: a token there is a credential, which \
                 logs and messages show; remove it and name a secret: write-back-method: \
                 git:secret:[<namespace>/]<name>";
    for (name, value, shown, want) in [
        (
            "https user and password",
            "https://bob:hunter2SECRET@git.example.org/org/deploy.git",
            "https://<redacted>@git.example.org/org/deploy.git",
            credentials,
        ),
        (
            "https token as user name",
            "https://hunter2@github.com/org/repo",
            "https://<redacted>@github.com/org/repo",
            credentials,
        ),
        (
            "ssh user and password",
            "ssh://git:hunter2@h/r.git",
            "ssh://<redacted>@h/r.git",
            credentials,
        ),
        (
            "scp-like user and password",
            "git:hunter2@h:org/r.git",
            "<redacted>@h:org/r.git",
            credentials,
        ),
        (
            "token in the query",
            "https://h/r.git?access_token=hunter2",
            "https://h/r.git?<redacted>",
            query,
        ),
        (
            "token in the fragment",
            "https://h/r.git#hunter2",
            "https://h/r.git#<redacted>",
            query,
        ),
        (
            "credentials, refused for white space",
            "https://bob:hunter2@h/r x",
            "https://<redacted>@h/r x",
            "a repository URL holds no white space or control characters",
        ),
        (
            "credentials, refused for the transport",
            "ftp://bob:hunter2@h/r",
            "ftp://<redacted>@h/r",
            "unknown transport; use https://, http://, ssh://, git://, file:// or user@host:path",
        ),
    ] {
        let got = spec(&[("git-repository", value)])
            .build()
            .unwrap_err()
            .to_string();
        assert!(!got.contains("hunter2"), "{name}: a secret shown: {got}");
        assert_eq!(
            got,
            format!("parameter git-repository = '{shown}': {want}"),
            "{name}"
        );
    }
}

#[test]
fn keys_without_git_warn() {
    let (write_back, warnings) = spec(&[
        ("write-back-target", "kustomization"),
        ("git-branch", "main"),
    ])
    .build()
    .unwrap();
    assert_eq!(write_back.method, Method::RenderTime);
    let why = "has no effect: no write-back-method is set, so tags are resolved at render time and nothing is \
               written back; set write-back-method: git to record them in git";
    assert_eq!(
        warnings,
        [
            format!("parameter write-back-target = 'kustomization': {why}"),
            format!("parameter git-branch = 'main': {why}"),
        ]
    );
    let (_, warnings) = spec(&[
        ("write-back-method", "argocd"),
        ("git-repository", "https://h/r"),
    ])
    .build()
    .unwrap();
    assert_eq!(
        warnings,
        [
            "parameter git-repository = 'https://h/r': has no effect: write-back-method 'argocd' resolves tags at \
          render time and writes nothing back"
        ]
    );
}

#[test]
fn secret_scope() {
    let (write_back, _) = spec(&[("write-back-method", "git:secret:team-b/creds")])
        .build()
        .unwrap();
    let scope = SecretScope::new(Some("team-a".into()), vec!["argocd".into()]);
    assert_eq!(
        write_back.check_scope(&scope).unwrap_err().to_string(),
        "parameter write-back-method = 'git:secret:team-b/creds': the git credentials are in namespace team-b, but \
         an application deploying to namespace team-a may only use secrets of team-a and of the namespaces the \
         operator shares (--pull-secret-namespaces); use a secret of team-a, or ask the operator to share team-b"
    );
    for ok in [
        "git:secret:team-a/creds",
        "git:secret:argocd/creds",
        "git:secret:creds",
        "git",
    ] {
        let (write_back, _) = spec(&[("write-back-method", ok)]).build().unwrap();
        assert!(write_back.check_scope(&scope).is_ok(), "{ok}");
    }
    // Where Argo CD does not say the destination (the parameters command), nothing to check against.
    assert!(
        write_back
            .check_scope(&SecretScope::new(None, vec![]))
            .is_ok()
    );
}

#[test]
fn summary() {
    let (write_back, _) = spec(&[
        ("write-back-method", "git:secret:argocd/creds"),
        ("write-back-target", "kustomization:../base"),
        ("git-branch", "main:image-updater-{{.SHA256}}"),
    ])
    .build()
    .unwrap();
    assert_eq!(
        write_back.method.to_string(),
        "git: the images of the kustomization in ../base; branch main, pushed to branch image-updater-{{.SHA256}}; \
         repository of the Application's source; credentials: secret argocd/creds"
    );
    assert_eq!(write_back.origins.len(), 3);
}
