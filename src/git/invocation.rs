//! How every git command is run: the argument vector and the complete, isolated environment — config only from
//! here (no system, global or repository hooks; transports limited to the remote's own), credentials only as file
//! paths for the askpass or `ssh`. Pure given its inputs, so the argv and environment are checked in unit tests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::askpass;
use super::credentials::{GitCredentials, SigningKey, SshCredentials};
use super::remote::Transport;
use crate::process::Env;

/// Variables passed through from this process's environment: only where programs are found and temp files go.
pub(super) const PASSED: [&str; 2] = ["PATH", "TMPDIR"];

/// What one git command is run with, besides its arguments.
#[derive(Clone, Debug)]
pub(super) struct Setting<'a> {
    /// The sidecar's environment, of which only [`PASSED`] is handed on.
    pub source: &'a Env,
    /// git's private `HOME` (mode 0700): nothing in it but what git writes itself.
    pub home: &'a Path,
    /// The program git runs as `GIT_ASKPASS`: this binary (see [`askpass`]).
    pub askpass: &'a Path,
    /// `ssh`, when the remote is reached over SSH.
    pub ssh: Option<&'a Path>,
    pub transport: Transport,
    /// The remote's origin (`scheme://host:port`) for HTTP credentials.
    pub origin: Option<&'a str>,
    pub credentials: &'a GitCredentials,
    /// The clone this command works in, trusted as `safe.directory` (it may be owned by another user: a volume).
    pub clone_dir: Option<&'a Path>,
    /// `ssh-keygen` and the key, when this command signs a commit.
    pub signing: Option<(&'a Path, &'a SigningKey)>,
    /// The CA certificates an `https://` remote's certificate must chain to, instead of the system's.
    pub ca_file: Option<&'a Path>,
}

/// The config every command runs with, as `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n` (command-line scope: above any
/// repository's own config, and handed to the git processes it starts).
pub(super) fn config(setting: &Setting<'_>) -> Vec<(String, String)> {
    let mut config: Vec<(String, String)> = vec![
        // Only the remote's own transports: no ext::, fd::, and file only for a file:// remote.
        ("protocol.allow".into(), "never".into()),
    ];
    for protocol in setting.transport.protocols() {
        config.push((format!("protocol.{protocol}.allow"), "always".into()));
    }
    for (key, value) in [
        // No hooks from anywhere (a clone's .git/hooks, a template, a hooksPath a repository sets).
        ("core.hooksPath", "/dev/null"),
        ("core.fsmonitor", "false"),
        // Only the askpass answers credential prompts: no helper stores or supplies any.
        ("credential.helper", ""),
        ("transfer.credentialsInUrl", "die"),
        ("submodule.recurse", "false"),
        ("fetch.recurseSubmodules", "false"),
        // Automatic gc runs in the foreground, within the command's deadline and process group.
        ("gc.autoDetach", "false"),
        ("maintenance.autoDetach", "false"),
        ("core.autocrlf", "false"),
        ("advice.detachedHead", "false"),
        ("init.defaultBranch", "main"),
    ] {
        config.push((key.into(), value.into()));
    }
    if let Some(dir) = setting.clone_dir {
        config.push(("safe.directory".into(), dir.to_string_lossy().into_owned()));
    }
    if setting.transport == Transport::Ssh {
        config.push(("ssh.variant".into(), "ssh".into()));
    }
    if let Transport::Http { .. } = setting.transport {
        config.push(("http.sslVerify".into(), "true".into()));
        if let Some(ca_file) = setting.ca_file {
            config.push((
                "http.sslCAInfo".into(),
                ca_file.to_string_lossy().into_owned(),
            ));
        }
    }
    match setting.signing {
        Some((program, SigningKey::Ssh { key_file })) => {
            config.push(("gpg.format".into(), "ssh".into()));
            config.push((
                "gpg.ssh.program".into(),
                program.to_string_lossy().into_owned(),
            ));
            config.push((
                "user.signingKey".into(),
                key_file.to_string_lossy().into_owned(),
            ));
            config.push(("commit.gpgSign".into(), "true".into()));
        }
        None => config.push(("commit.gpgSign".into(), "false".into())),
    }
    config
}

/// The complete environment of one git command.
pub(super) fn environment(setting: &Setting<'_>) -> Env {
    let mut env = setting.source.allowed(&PASSED);
    let home = setting.home;
    env.set("HOME", home)
        .set("XDG_CONFIG_HOME", home.join(".config"))
        .set("GIT_CONFIG_NOSYSTEM", "1")
        .set("GIT_CONFIG_GLOBAL", "/dev/null")
        .set("GIT_TERMINAL_PROMPT", "0")
        .set("GIT_LITERAL_PATHSPECS", "1")
        .set("GIT_NO_REPLACE_OBJECTS", "1")
        .set("LC_ALL", "C")
        .set("LANG", "C");
    let config = config(setting);
    env.set("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.into_iter().enumerate() {
        env.set(format!("GIT_CONFIG_KEY_{i}"), key);
        env.set(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    match setting.credentials {
        GitCredentials::Http(http) => {
            env.set("GIT_ASKPASS", setting.askpass)
                .set(askpass::ORIGIN_VAR, setting.origin.unwrap_or_default())
                .set(askpass::USERNAME_VAR, http.username())
                .set(askpass::PASSWORD_FILE_VAR, http.password_file());
        }
        GitCredentials::Ssh(ssh) => {
            if let Some(program) = setting.ssh {
                env.set(
                    "GIT_SSH_COMMAND",
                    shell_words(&ssh_command(program, Some(ssh))),
                );
            }
        }
        GitCredentials::None => {
            if let (Transport::Ssh, Some(program)) = (setting.transport, setting.ssh) {
                env.set("GIT_SSH_COMMAND", shell_words(&ssh_command(program, None)));
            }
        }
    }
    env
}

/// The `ssh` argument vector git runs (it adds `-p PORT` from the URL, the user and host, and the remote command):
/// no config file, no agent, only the given key, only the given known_hosts, strict host key checking, never a
/// prompt, nothing forwarded.
pub(super) fn ssh_command(program: &Path, credentials: Option<&SshCredentials>) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![program.into(), "-F".into(), "/dev/null".into()];
    if let Some(credentials) = credentials {
        argv.push("-i".into());
        argv.push(escape_percent(credentials.key_file()));
        argv.push("-o".into());
        argv.push("IdentitiesOnly=yes".into());
    }
    let known_hosts = credentials.map_or_else(
        || PathBuf::from("/dev/null"),
        |c| c.known_hosts_file().to_path_buf(),
    );
    let mut known = OsString::from("UserKnownHostsFile=");
    known.push(escape_percent(&known_hosts));
    for option in [
        known,
        "GlobalKnownHostsFile=/dev/null".into(),
        "StrictHostKeyChecking=yes".into(),
        "UpdateHostKeys=no".into(),
        "BatchMode=yes".into(),
        "IdentityAgent=none".into(),
        "PasswordAuthentication=no".into(),
        "KbdInteractiveAuthentication=no".into(),
        "ControlMaster=no".into(),
        "ControlPath=none".into(),
        "ForwardAgent=no".into(),
        "ForwardX11=no".into(),
        "ClearAllForwardings=yes".into(),
        "PermitLocalCommand=no".into(),
    ] {
        argv.push("-o".into());
        argv.push(option);
    }
    argv
}

/// ssh expands `%` tokens in `IdentityFile` and `UserKnownHostsFile`: `%%` is a literal `%`.
fn escape_percent(path: &Path) -> OsString {
    path.to_string_lossy().replace('%', "%%").into()
}

/// An argument vector as one `sh` command line, each word single-quoted: git runs `GIT_SSH_COMMAND` through
/// `sh -c`, and this is the only way it takes options; quoted so, no word is split or expanded.
pub(super) fn shell_words(argv: &[OsString]) -> String {
    argv.iter()
        .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::process::Command;

    use super::*;
    use crate::git::credentials::HttpCredentials;

    const SECRET: &str = "s3cr3t-Hunter2";

    fn setting<'a>(
        source: &'a Env,
        transport: Transport,
        credentials: &'a GitCredentials,
    ) -> Setting<'a> {
        Setting {
            source,
            home: Path::new("/cache/git/home"),
            askpass: Path::new("/usr/bin/argocd-image-resolver"),
            ssh: Some(Path::new("/usr/bin/ssh")),
            transport,
            origin: Some("https://git.example.com:443"),
            credentials,
            clone_dir: Some(Path::new("/cache/git/clones/config-0123")),
            signing: None,
            ca_file: None,
        }
    }

    fn config_of(env: &Env) -> Vec<(String, String)> {
        let count: usize = env
            .get("GIT_CONFIG_COUNT")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        (0..count)
            .map(|i| {
                let get = |name: String| env.get(&name).unwrap().to_string_lossy().into_owned();
                (
                    get(format!("GIT_CONFIG_KEY_{i}")),
                    get(format!("GIT_CONFIG_VALUE_{i}")),
                )
            })
            .collect()
    }

    #[test]
    fn only_the_remotes_transports_are_allowed() {
        let source = Env::new();
        let none = GitCredentials::None;
        let cases: [(&str, Transport, &[&str]); 5] = [
            ("file", Transport::File, &["file"]),
            ("git", Transport::Git, &["git"]),
            ("http", Transport::Http { tls: false }, &["http", "https"]),
            ("https", Transport::Http { tls: true }, &["https"]),
            ("ssh", Transport::Ssh, &["ssh"]),
        ];
        for (name, transport, want) in cases {
            let config = config_of(&environment(&setting(&source, transport, &none)));
            assert_eq!(
                config[0],
                ("protocol.allow".into(), "never".into()),
                "case {name}"
            );
            let allowed: Vec<&str> = config
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.strip_prefix("protocol.")?.strip_suffix(".allow")?;
                    (v == "always").then_some(name)
                })
                .collect();
            assert_eq!(allowed, want, "case {name}");
            assert!(
                config.contains(&("core.hooksPath".into(), "/dev/null".into())),
                "case {name}"
            );
        }
    }

    #[test]
    fn the_environment_is_isolated() {
        let source: Env = [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/root"),
            ("GIT_DIR", "/elsewhere"),
            ("GIT_SSH_COMMAND", "evil"),
            ("GIT_CONFIG_PARAMETERS", "'core.hookspath'='/x'"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("IMAGE_RESOLVER_GIT_PASSWORD", SECRET),
        ]
        .into_iter()
        .collect();
        let none = GitCredentials::None;
        let env = environment(&setting(&source, Transport::File, &none));
        let names: Vec<String> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .filter(|k| !k.starts_with("GIT_CONFIG_KEY_") && !k.starts_with("GIT_CONFIG_VALUE_"))
            .collect();
        assert_eq!(
            names,
            [
                "GIT_CONFIG_COUNT",
                "GIT_CONFIG_GLOBAL",
                "GIT_CONFIG_NOSYSTEM",
                "GIT_LITERAL_PATHSPECS",
                "GIT_NO_REPLACE_OBJECTS",
                "GIT_TERMINAL_PROMPT",
                "HOME",
                "LANG",
                "LC_ALL",
                "PATH",
                "XDG_CONFIG_HOME",
            ]
        );
        assert_eq!(env.get("HOME").unwrap(), "/cache/git/home");
    }

    /// Credentials reach git as paths only: no secret in what `ps` shows (the argv) or in the environment.
    #[test]
    fn secrets_are_in_no_argument_and_no_variable() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        let key = dir.path().join("id_ed25519");
        let known_hosts = dir.path().join("known_hosts");
        fs::write(&password, format!("{SECRET}\n")).unwrap();
        fs::write(
            &key,
            format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n"),
        )
        .unwrap();
        fs::write(&known_hosts, "[127.0.0.1]:2222 ssh-ed25519 AAAA\n").unwrap();
        let source: Env = [("PATH", "/usr/bin")].into_iter().collect();
        let http = GitCredentials::Http(HttpCredentials::new("alice", &password).unwrap());
        let ssh = GitCredentials::Ssh(SshCredentials::new(&key, &known_hosts).unwrap());

        let env = environment(&setting(&source, Transport::Http { tls: true }, &http));
        assert_eq!(
            env.get("GIT_ASKPASS").unwrap(),
            "/usr/bin/argocd-image-resolver"
        );
        assert_eq!(
            env.get(askpass::ORIGIN_VAR).unwrap(),
            "https://git.example.com:443"
        );
        assert_eq!(env.get(askpass::USERNAME_VAR).unwrap(), "alice");
        assert_eq!(
            env.get(askpass::PASSWORD_FILE_VAR).unwrap(),
            password.as_os_str()
        );
        let env_ssh = environment(&setting(&source, Transport::Ssh, &ssh));
        let ssh_argv = ssh_command(
            Path::new("/usr/bin/ssh"),
            match &ssh {
                GitCredentials::Ssh(s) => Some(s),
                _ => None,
            },
        );
        for (name, env) in [("http", &env), ("ssh", &env_ssh)] {
            for (key, value) in env.iter() {
                assert!(
                    !value.to_string_lossy().contains(SECRET),
                    "case {name}: {key:?} holds the secret"
                );
            }
        }
        for word in &ssh_argv {
            assert!(
                !word.to_string_lossy().contains(SECRET),
                "ssh argv: {word:?}"
            );
        }
    }

    #[test]
    fn ssh_options_pin_the_key_and_the_known_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key%h");
        let known_hosts = dir.path().join("known_hosts");
        fs::write(&key, "k").unwrap();
        fs::write(&known_hosts, "h").unwrap();
        let creds = SshCredentials::new(&key, &known_hosts).unwrap();
        let argv: Vec<String> = ssh_command(Path::new("/usr/bin/ssh"), Some(&creds))
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let key_arg = format!("{}/key%%h", dir.path().display());
        let known_arg = format!("UserKnownHostsFile={}", known_hosts.display());
        for want in [
            ["-F", "/dev/null"],
            ["-i", &key_arg],
            ["-o", "IdentitiesOnly=yes"],
            ["-o", &known_arg],
            ["-o", "StrictHostKeyChecking=yes"],
            ["-o", "BatchMode=yes"],
            ["-o", "IdentityAgent=none"],
        ] {
            assert!(
                argv.windows(2).any(|w| w == want),
                "{want:?} missing from {argv:?}"
            );
        }
        assert_eq!(argv[0], "/usr/bin/ssh");
    }

    /// `sh` reads the quoted command line back into exactly the argument vector.
    #[test]
    fn shell_words_read_back_as_the_argv() {
        let argv: Vec<OsString> = [
            "/usr/bin/ssh",
            "-i",
            "/k/it's a key",
            "$(touch /tmp/x)",
            "a\"b`c`",
            "",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let line = shell_words(&argv);
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {line}; do printf '%s\\0' \"$w\"; done"))
            .output()
            .unwrap();
        let words: Vec<OsString> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|_| true)
            .map(|w| OsString::from(String::from_utf8_lossy(w).into_owned()))
            .collect();
        assert_eq!(&words[..argv.len()], &argv[..], "{line}");
    }

    #[test]
    fn signing_sets_the_ssh_format_and_key() {
        let source = Env::new();
        let none = GitCredentials::None;
        let key = SigningKey::Ssh {
            key_file: PathBuf::from("/keys/signing"),
        };
        let mut s = setting(&source, Transport::File, &none);
        s.signing = Some((Path::new("/usr/bin/ssh-keygen"), &key));
        let config = config_of(&environment(&s));
        for want in [
            ("gpg.format", "ssh"),
            ("gpg.ssh.program", "/usr/bin/ssh-keygen"),
            ("user.signingKey", "/keys/signing"),
            ("commit.gpgSign", "true"),
        ] {
            assert!(
                config.contains(&(want.0.into(), want.1.into())),
                "{want:?} missing from {config:?}"
            );
        }
    }
}
