//! The committer's configuration file: what it reads, and an error naming the key path for each problem.

use std::time::Duration;

use crate::commit::{CommitConfig, SecretFile, Username};
use crate::writeback::Transport;

const APP: &str = "- name: web\n  repository: https://git.example.org/org/deploy.git\n";

fn with_app(extra: &str) -> String {
    format!("applications:\n{APP}{extra}")
}

#[test]
fn reads_a_full_file_and_fills_in_defaults() {
    let config = CommitConfig::parse(
        "interval: 1m30s
git:
  author: {name: bot, email: bot@example.org}
  signingKey: /etc/git-signing/key
  commitMessageTemplate: 'deploy {{ .AppName }}'
  knownHostsFile: /etc/ssh/ssh_known_hosts
  caFile: /etc/ssl/git-ca.pem
  secretsDir: /var/run/secrets/git
  credentials:
  - url: https://git.example.org/
    tokenFile: /run/token
  - url: https://git.example.org/org/
    usernameFile: /run/user
    passwordFile: /run/password
  - url: ssh://git@git.example.org/
    sshPrivateKeyFile: /run/key
applications:
- name: web
  namespace: web
  repository: ssh://git@git.example.org/org/deploy.git
  targetRevision: main
  path: ./apps//web/../web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:^1
    argocd-image-updater.argoproj.io/write-back-method: git:secret:web/deploy-key
    argocd-image-updater.argoproj.io/write-back-target: kustomization
    note: anything
  parameters:
    web.allow-tags: 'regexp:^1'
  env:
    WEB_PIN: 1.2.3
  reviewBranch: true
- name: team_api
  repository: git@git.example.org:org/api.git
",
    )
    .unwrap();
    assert_eq!(config.interval, Duration::from_secs(90));
    assert_eq!(config.git.author.name, "bot");
    assert_eq!(
        config.git.commit_message_template.as_str(),
        "deploy {{ .AppName }}"
    );
    let chosen = |url: &str| config.git.credential_for(url).map(|c| c.secret.clone());
    assert_eq!(
        chosen("https://git.example.org/org/deploy.git"),
        Some(SecretFile::Password("/run/password".into()))
    );
    assert_eq!(
        config.git.credentials[1].username,
        Some(Username::File("/run/user".into()))
    );
    assert_eq!(
        chosen("https://git.example.org/other/x.git"),
        Some(SecretFile::Token("/run/token".into()))
    );
    assert_eq!(chosen("https://elsewhere.org/x.git"), None);
    let web = &config.applications[0];
    assert_eq!(web.path, "apps/web");
    assert_eq!(web.repository.transport(), Transport::Ssh);
    assert_eq!(
        web.review_branch.as_ref().map(|b| b.as_str()),
        Some("image-resolver/{{.AppName}}")
    );
    assert!(web.write_back.git().is_some());
    let request = web.request();
    assert_eq!(request.app_name.as_deref(), Some("web"));
    assert_eq!(request.namespace.as_deref(), Some("web"));
    assert_eq!(
        request.repo_url.as_deref(),
        Some("ssh://git@git.example.org/org/deploy.git")
    );
    assert_eq!(request.parameters.len(), 4, "{:?}", request.parameters);
    assert_eq!(
        request.plugin_env,
        [("ARGOCD_ENV_WEB_PIN".to_string(), "1.2.3".to_string())]
    );
    let api = &config.applications[1];
    assert_eq!(
        (api.target_revision.as_str(), api.path.as_str()),
        ("HEAD", ".")
    );
    assert!(api.review_branch.is_none() && api.write_back.git().is_none());

    let defaults = CommitConfig::parse(&with_app("")).unwrap();
    assert_eq!(defaults.interval, Duration::from_secs(120));
    assert_eq!(
        (
            defaults.git.author.name.as_str(),
            defaults.git.author.email.as_str()
        ),
        ("argocd-image-resolver", "noreply@argocd-image-resolver")
    );
}

#[test]
fn every_problem_names_its_key_path() {
    let git = |body: &str| format!("git:\n{body}applications:\n{APP}");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "empty",
            String::new(),
            "the file is empty; it needs at least `applications`",
        ),
        (
            "no applications",
            "interval: 1m\n".into(),
            "applications: lists no applications; the committer has nothing to do (write `applications: []` \
             when `watch --application-namespaces` finds them)",
        ),
        (
            "not YAML",
            "applications: [\n".into(),
            "did not find expected node content at line 2 column 1, while parsing a flow node",
        ),
        (
            "unknown top key",
            format!("intervall: 1m\napplications:\n{APP}"),
            "unknown field `intervall`, expected one of `interval`, `git`, `applications` at line 1 column 1",
        ),
        (
            "unknown app key",
            with_app("  targetrevision: main\n"),
            "applications[0]: unknown field `targetrevision`, expected one of `name`, `namespace`, `repository`, `targetRevision`, `path`, `annotations`, `parameters`, `env`, `reviewBranch` at line 4 column 3",
        ),
        (
            "missing repository",
            "applications:\n- name: web\n".into(),
            "applications[0]: missing field `repository` at line 2 column 3",
        ),
        (
            "parameter not a string",
            with_app("  parameters:\n    image-list: [a, b]\n"),
            "applications[0].parameters.image-list: invalid type: sequence, expected a string at line 5 column 17",
        ),
        (
            "parameter twice",
            with_app("  parameters:\n    a: x\n    a: y\n"),
            "applications[0].parameters: a is written twice at line 5 column 5",
        ),
        (
            "interval",
            format!("interval: 5\napplications:\n{APP}"),
            "interval: invalid duration '5': a number lacks its unit (ns, us, ms, s, m or h); use a Go duration such as 30s or 2m",
        ),
        (
            "interval too short",
            format!("interval: 500ms\napplications:\n{APP}"),
            "interval: 500ms is too short; poll at most once a second",
        ),
        (
            "author",
            git("  author: {name: 'a <b>'}\n"),
            "git.author.name: 'a <b>' may not hold '<', '>' or a control character, which git's author line cannot carry",
        ),
        (
            "author empty",
            git("  author: {email: ' '}\n"),
            "git.author.email: is empty",
        ),
        (
            "relative file",
            git("  knownHostsFile: ssh/known_hosts\n"),
            "git.knownHostsFile: 'ssh/known_hosts' is not an absolute path; the committer reads it in its own file system, so write it from '/'",
        ),
        (
            "template",
            git("  commitMessageTemplate: \"x {{ if .AppName }}\"\n"),
            "git.commitMessageTemplate: commit message template, line 1, column 3: unsupported action '{{ if .AppName }}'; supported: {{.AppName}}, {{.AppNamespace}}, {{.Branch}}, {{.File}} and {{range .AppChanges}}…{{end}} with {{.Image}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}}, {{.Policy}} inside",
        ),
        (
            "credential url",
            git("  credentials:\n  - url: https://bot:pw@git.example.org/\n    tokenFile: /t\n"),
            "git.credentials[0].url: credentials do not belong in the repository URL, which logs and messages show; remove them and name a secret: write-back-method: git:secret:[<namespace>/]<name>",
        ),
        (
            "no secret",
            git("  credentials:\n  - url: https://git.example.org/\n    username: bot\n"),
            "git.credentials[0]: gives none; give exactly one of passwordFile, tokenFile and sshPrivateKeyFile",
        ),
        (
            "two secrets",
            git(
                "  credentials:\n  - url: https://git.example.org/\n    tokenFile: /t\n    passwordFile: /p\n",
            ),
            "git.credentials[0]: gives more than one; give exactly one of passwordFile, tokenFile and sshPrivateKeyFile",
        ),
        (
            "two usernames",
            git(
                "  credentials:\n  - url: https://git.example.org/\n    username: a\n    usernameFile: /u\n    passwordFile: /p\n",
            ),
            "git.credentials[0]: gives both username and usernameFile; give one",
        ),
        (
            "password without username",
            git("  credentials:\n  - url: https://git.example.org/\n    passwordFile: /p\n"),
            "git.credentials[0]: passwordFile needs a username (username or usernameFile)",
        ),
        (
            "ssh with username",
            git(
                "  credentials:\n  - url: ssh://git@git.example.org/\n    username: a\n    sshPrivateKeyFile: /k\n",
            ),
            "git.credentials[0]: sshPrivateKeyFile takes no username: the ssh user is the url's (ssh://git@host/…)",
        ),
        (
            "ssh key for https",
            git("  credentials:\n  - url: https://git.example.org/\n    sshPrivateKeyFile: /k\n"),
            "git.credentials[0]: sshPrivateKeyFile is for ssh urls, and this url is https",
        ),
        (
            "token for ssh",
            git("  credentials:\n  - url: git@git.example.org:org/\n    tokenFile: /t\n"),
            "git.credentials[0]: tokenFile is for http(s) urls, and this url is ssh",
        ),
        (
            "relative secret",
            git("  credentials:\n  - url: https://git.example.org/\n    tokenFile: t\n"),
            "git.credentials[0].tokenFile: 't' is not an absolute path; the committer reads it in its own file system, so write it from '/'",
        ),
        (
            "credential twice",
            git(
                "  credentials:\n  - url: https://g.org/\n    tokenFile: /t\n  - url: https://g.org/\n    tokenFile: /u\n",
            ),
            "git.credentials[1].url: https://g.org/ is listed twice; the longest matching url wins, so each is listed once",
        ),
        (
            "app name",
            "applications:\n- name: Web\n  repository: https://g.org/r.git\n".into(),
            "applications[0].name: 'Web' is not an Application name: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters), or <namespace>_<name> for an Application outside Argo CD's namespace",
        ),
        (
            "app twice",
            format!("applications:\n{APP}{APP}"),
            "applications[1].name: application web is listed twice (first at applications[0]); list each once",
        ),
        (
            "namespace",
            with_app("  namespace: Web\n"),
            "applications[0].namespace: 'Web' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)",
        ),
        (
            "repository",
            "applications:\n- name: web\n  repository: ftp://g.org/r\n".into(),
            "applications[0].repository: unknown transport; use https://, http://, ssh://, git://, file:// or user@host:path",
        ),
        (
            "revision",
            with_app("  targetRevision: a..b\n"),
            "applications[0].targetRevision: 'a..b' is not a valid branch name: it holds '..'",
        ),
        (
            "revision ref",
            with_app("  targetRevision: refs/heads/main\n"),
            "applications[0].targetRevision: 'refs/heads/main' names a ref; write the branch name alone (without refs/heads/), or HEAD for the remote's default branch",
        ),
        (
            "revision commit",
            with_app(&format!("  targetRevision: {}\n", "ab".repeat(20))),
            "applications[0].targetRevision: 'abababababababababababababababababababab' is a commit; the committer pushes to a branch: write a branch name, or HEAD for the remote's default branch",
        ),
        (
            "absolute path",
            with_app("  path: /apps\n"),
            "applications[0].path: '/apps' is relative to the repository's root; remove the leading '/'",
        ),
        (
            "escaping path",
            with_app("  path: apps/../..\n"),
            "applications[0].path: 'apps/../..' leaves the repository; write a path inside it",
        ),
        (
            "empty parameter name",
            with_app("  parameters:\n    '': x\n"),
            "applications[0].parameters: a name is empty",
        ),
        (
            "env name",
            with_app("  env:\n    'A=B': x\n"),
            "applications[0].env: 'A=B' cannot be an environment variable's name (it holds '=' or a control character)",
        ),
        (
            "annotation and parameter",
            with_app(
                "  annotations:\n    argocd-image-updater.argoproj.io/web.pin: '1'\n  parameters:\n    web.pin: '2'\n",
            ),
            "applications[0].parameters.web.pin: sets web.pin, as applications[0].annotations.argocd-image-updater.argoproj.io/web.pin does; set it in one place",
        ),
        (
            "policy keys twice in one source",
            with_app(
                "  parameters:\n    web.pin: '1'\n    argocd-image-updater.argoproj.io/web.pin: '2'\n",
            ),
            "applications[0]: parameter web.pin = '1' and parameter argocd-image-updater.argoproj.io/web.pin = '2' both set argocd-image-updater.argoproj.io/web.pin; remove one",
        ),
        (
            "write-back method",
            with_app(
                "  annotations:\n    argocd-image-updater.argoproj.io/write-back-method: gti\n",
            ),
            "applications[0]: parameter argocd-image-updater.argoproj.io/write-back-method = 'gti': unknown write-back method; use 'argocd' (tags resolved at render time, nothing written back) or 'git', 'git:repocreds', 'git:secret:[<namespace>/]<name>'",
        ),
        (
            "review branch",
            with_app("  reviewBranch: 'x{{ .Foo }}'\n"),
            "applications[0].reviewBranch: unsupported template action '{{ .Foo }}' in branch template; supported: {{.SHA256}}, {{.AppName}}, {{.AppNamespace}}, {{.TargetKey}} and {{range .Images}}…{{end}} with {{.Name}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}} inside",
        ),
        (
            "review branch name",
            with_app("  reviewBranch: 'a b'\n"),
            "applications[0].reviewBranch: 'a b' is not a valid branch name: it holds a space",
        ),
        (
            "review branch is the target",
            with_app("  targetRevision: main\n  reviewBranch: main\n"),
            "applications[0].reviewBranch: is the target revision main itself; a review branch is another branch, kept one commit ahead of it",
        ),
        (
            "review branch and git-branch",
            with_app(
                "  reviewBranch: true\n  parameters:\n    write-back-method: git\n    git-branch: 'main:bump'\n",
            ),
            "applications[0].reviewBranch: and git-branch 'bump' both name a branch to push to; keep one (reviewBranch, or git-branch's <base>:<branch>)",
        ),
        (
            "review branch type",
            with_app("  reviewBranch: [a]\n"),
            "applications[0].reviewBranch: invalid type: sequence, expected true, false or a branch template at line 4 column 17",
        ),
    ];
    for (name, text, want) in cases {
        let got = CommitConfig::parse(&text)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(got, want, "{name}");
    }
}

/// `watch --application-namespaces` finds the applications in the cluster: its file lists none, on purpose
/// (manifests/components/watch/watch.yaml).
#[test]
fn an_empty_application_list_written_out_is_accepted() {
    let config = CommitConfig::parse(
        "git:\n  author: {name: bot, email: bot@example.org}\napplications: []\n",
    )
    .unwrap();
    assert!(config.applications.is_empty());
    assert_eq!(config.git.author.name, "bot");
}
