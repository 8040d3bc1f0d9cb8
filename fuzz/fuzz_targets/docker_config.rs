//! Docker `config.json` and `kubernetes.io/dockerconfigjson` pull secrets, read through the credential store as
//! the sidecar reads them (from files). Any document is either a credential or an error, never a panic, and no
//! password, token or `auth` value from the document ever shows in an error or in a found credential's `Debug`.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use argocd_image_resolver::registry::credentials::{
    CredentialOptions, CredentialSpec, CredentialStore, normalize_registry,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    docker_config_dir: PathBuf,
    pull_secrets_dir: PathBuf,
    /// Empty: no `docker-credential-*` helper is ever found, so nothing is run.
    empty_path: PathBuf,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let docker_config_dir = dir.path().join("docker");
        let pull_secrets_dir = dir.path().join("secrets");
        let empty_path = dir.path().join("bin");
        for d in [
            &docker_config_dir,
            &pull_secrets_dir.join("ns/regcred"),
            &empty_path,
        ] {
            std::fs::create_dir_all(d).expect("fixture dirs");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        Fixture {
            docker_config_dir,
            pull_secrets_dir,
            empty_path,
            runtime,
            _dir: dir,
        }
    })
}

/// The strings of `auths` entries that are secrets, and those long and odd enough that finding one in a message
/// means it leaked rather than that a message word or a key happens to equal it.
fn secrets(doc: &Value, path: &Path, registries: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    // Messages name the registry asked for, which may equal a secret.
    let mut public = registries.to_vec();
    fn walk(v: &Value, in_secret: bool, found: &mut Vec<String>, public: &mut Vec<String>) {
        match v {
            Value::String(s) if in_secret => {
                found.push(s.clone());
                // `auth` is base64 of `user:pass`: the user name is shown, the password never.
                let decoded = STANDARD_PAD_INDIFFERENT.decode(s.trim()).ok();
                if let Some((user, pass)) = decoded
                    .as_deref()
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.split_once(':'))
                {
                    public.push(user.to_string());
                    found.push(pass.to_string());
                }
            }
            Value::String(s) => public.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, in_secret, found, public)),
            Value::Object(map) => {
                for (k, v) in map {
                    public.push(k.clone());
                    walk(
                        v,
                        in_secret || matches!(k.as_str(), "auth" | "password" | "identitytoken"),
                        found,
                        public,
                    );
                }
            }
            _ => {}
        }
    }
    walk(doc, false, &mut found, &mut public);
    let path = path.display().to_string();
    found.retain(|s| {
        s.chars().count() >= 8
            && !s.chars().all(|c| c.is_ascii_lowercase() || c == ' ')
            && !path.contains(s.as_str())
            && !public.iter().any(|p| p.contains(s.as_str()))
    });
    found
}

fn store(f: &Fixture, pull_secrets: bool) -> CredentialStore {
    CredentialStore::new(CredentialOptions {
        docker_config_dir: (!pull_secrets).then(|| f.docker_config_dir.clone()),
        pull_secrets_dir: pull_secrets.then(|| f.pull_secrets_dir.clone()),
        search_path: Some(f.empty_path.clone().into_os_string()),
        env: Arc::new(|_| None),
        ..CredentialOptions::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let config = f.docker_config_dir.join("config.json");
    let secret = f.pull_secrets_dir.join("ns/regcred/.dockerconfigjson");
    std::fs::write(&config, data).expect("write config.json");
    std::fs::write(&secret, data).expect("write pull secret");
    let doc: Option<Value> = serde_json::from_slice(data).ok();
    // Ask for every registry the document names (a few), and for Docker Hub.
    let mut registries: Vec<String> = doc
        .iter()
        .flat_map(|d| {
            ["auths", "credHelpers"]
                .into_iter()
                .filter_map(|k| d.get(k)?.as_object())
        })
        .flat_map(|m| m.keys().map(|k| normalize_registry(k)))
        .take(4)
        .collect();
    registries.push("docker.io".to_string());
    let secrets = doc
        .as_ref()
        .map(|d| secrets(d, f.docker_config_dir.parent().unwrap(), &registries))
        .unwrap_or_default();
    let spec = CredentialSpec::parse("pullsecret:ns/regcred").expect("valid spec");
    for registry in &registries {
        for (pull_secrets, explicit) in [(false, None), (true, None), (true, Some(&spec))] {
            let answer = f
                .runtime
                .block_on(store(f, pull_secrets).credential_for(registry, explicit));
            let shown = match &answer {
                Ok(found) => format!("{found:?}"),
                Err(e) => format!("{e} {e:?}"),
            };
            for s in &secrets {
                assert!(
                    !shown.contains(s.as_str()),
                    "secret {s:?} shown for {registry:?}: {shown}"
                );
            }
        }
    }
});
