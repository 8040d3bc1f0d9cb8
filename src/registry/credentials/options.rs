//! Options of the credential store: where to look, how long to wait, and the injectable clock and environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::SecretScope;
use super::gcp::DEFAULT_METADATA_HOST;

/// Reads an environment variable; injectable so tests need not touch the process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The source of "now" for expiries; injectable so tests can step over an expiry without sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Where credentials are looked for, and how long results and programs may take. [`Default`] configures no
/// discovered source (only explicit specs work); [`CredentialOptions::from_env`] adds docker's and Google's
/// defaults.
#[derive(Clone)]
pub struct CredentialOptions {
    /// Directory holding `config.json` (`--docker-config`); `None` skips the docker config.
    pub docker_config_dir: Option<PathBuf>,
    /// Directory of mounted secrets (`--pull-secrets-dir`, layout in the module docs); `None` skips the scan and
    /// makes `pullsecret:`/`secret:` specs an error.
    pub pull_secrets_dir: Option<PathBuf>,
    /// The one namespace the secrets mounted flat (`<dir>/<name>/`) come from (`--pull-secrets-flat-namespace`):
    /// they are read as that namespace's, and only for it. `None`: the flat layout is not read.
    pub pull_secrets_flat_namespace: Option<String>,
    /// Which namespaces' mounted secrets may be used, explicitly or found by the scan; `None`: all of them (the
    /// operator's own commands).
    pub pull_secret_scope: Option<SecretScope>,
    /// `host[:port]` of the GCP metadata server; `None` disables that source.
    pub gcp_metadata_host: Option<String>,
    /// `PATH` to find `docker-credential-*` helpers in, also given to helpers and `ext:` scripts; `None` = the
    /// process's `PATH`.
    pub search_path: Option<OsString>,
    /// Reads `env:` variables.
    pub env: EnvLookup,
    pub clock: Arc<dyn Clock>,
    /// Limit for one run of an `ext:` script or credential helper.
    pub command_timeout: Duration,
    /// How long a credential (or its absence) found by sources 2–5 is reused before looking again.
    pub discovery_ttl: Duration,
    /// Connect limit for the metadata server: outside GCP nothing answers, and lookups must not hang on it.
    pub metadata_connect_timeout: Duration,
    /// Limit for a whole metadata-server request.
    pub metadata_timeout: Duration,
    /// After the metadata server gave no token, how long to use anonymous access before asking again.
    pub metadata_retry_after: Duration,
}

impl Default for CredentialOptions {
    fn default() -> Self {
        CredentialOptions {
            docker_config_dir: None,
            pull_secrets_dir: None,
            pull_secrets_flat_namespace: None,
            pull_secret_scope: None,
            gcp_metadata_host: None,
            search_path: None,
            env: Arc::new(|name| std::env::var(name).ok()),
            clock: Arc::new(SystemClock),
            // argocd-image-updater's limit for ext scripts.
            command_timeout: Duration::from_secs(10),
            discovery_ttl: Duration::from_secs(300),
            metadata_connect_timeout: Duration::from_secs(1),
            metadata_timeout: Duration::from_secs(3),
            metadata_retry_after: Duration::from_secs(300),
        }
    }
}

impl CredentialOptions {
    /// Defaults from the process environment: `DOCKER_CONFIG`, else `$HOME/.docker`; `GCE_METADATA_HOST`, else
    /// [`DEFAULT_METADATA_HOST`]. Command-line options override these fields.
    pub fn from_env() -> CredentialOptions {
        CredentialOptions::from_env_lookup(CredentialOptions::default().env)
    }

    /// [`CredentialOptions::from_env`] reading variables through `env`, which is also used for `env:` specs.
    pub fn from_env_lookup(env: EnvLookup) -> CredentialOptions {
        let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
        let docker_config_dir = non_empty("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".docker")));
        let gcp_metadata_host =
            Some(non_empty("GCE_METADATA_HOST").unwrap_or_else(|| DEFAULT_METADATA_HOST.into()));
        CredentialOptions {
            docker_config_dir,
            gcp_metadata_host,
            ..CredentialOptions {
                env,
                ..Default::default()
            }
        }
    }
}

impl fmt::Debug for CredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialOptions")
            .field("docker_config_dir", &self.docker_config_dir)
            .field("pull_secrets_dir", &self.pull_secrets_dir)
            .field(
                "pull_secrets_flat_namespace",
                &self.pull_secrets_flat_namespace,
            )
            .field("pull_secret_scope", &self.pull_secret_scope)
            .field("gcp_metadata_host", &self.gcp_metadata_host)
            .field("search_path", &self.search_path)
            .field("command_timeout", &self.command_timeout)
            .field("discovery_ttl", &self.discovery_ttl)
            .field("metadata_connect_timeout", &self.metadata_connect_timeout)
            .field("metadata_timeout", &self.metadata_timeout)
            .field("metadata_retry_after", &self.metadata_retry_after)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&'static str, &'static str)]) -> EnvLookup {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Arc::new(move |name| vars.get(name).map(|v| (*v).to_string()))
    }

    #[test]
    fn options_from_environment() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: [(&str, Vars, Option<&str>, &str); 5] = [
            ("nothing set", &[], None, DEFAULT_METADATA_HOST),
            (
                "home only",
                &[("HOME", "/home/argocd")],
                Some("/home/argocd/.docker"),
                DEFAULT_METADATA_HOST,
            ),
            (
                "DOCKER_CONFIG wins over HOME",
                &[
                    ("HOME", "/home/argocd"),
                    ("DOCKER_CONFIG", "/etc/docker-auth"),
                ],
                Some("/etc/docker-auth"),
                DEFAULT_METADATA_HOST,
            ),
            (
                "empty DOCKER_CONFIG ignored",
                &[("DOCKER_CONFIG", ""), ("HOME", "/h")],
                Some("/h/.docker"),
                DEFAULT_METADATA_HOST,
            ),
            (
                "metadata host override",
                &[("GCE_METADATA_HOST", "127.0.0.1:8080")],
                None,
                "127.0.0.1:8080",
            ),
        ];
        for (name, vars, docker, metadata) in cases {
            let options = CredentialOptions::from_env_lookup(lookup(vars));
            assert_eq!(
                options.docker_config_dir.as_deref(),
                docker.map(Path::new),
                "{name}"
            );
            assert_eq!(
                options.gcp_metadata_host.as_deref(),
                Some(metadata),
                "{name}"
            );
            assert_eq!(options.pull_secrets_dir, None, "{name}");
        }
    }

    #[test]
    fn env_specs_read_through_the_given_lookup() {
        let options = CredentialOptions::from_env_lookup(lookup(&[("CREDS", "u:p")]));
        assert_eq!((options.env)("CREDS").as_deref(), Some("u:p"));
        assert_eq!(
            (options.env)("PATH"),
            None,
            "the process environment is not consulted"
        );
    }

    #[test]
    fn default_options_discover_nothing() {
        let options = CredentialOptions::default();
        let shown = format!("{options:?}");
        assert_eq!(
            shown,
            "CredentialOptions { docker_config_dir: None, pull_secrets_dir: None, \
             pull_secrets_flat_namespace: None, pull_secret_scope: None, gcp_metadata_host: None, \
             search_path: None, command_timeout: 10s, discovery_ttl: 300s, metadata_connect_timeout: 1s, \
             metadata_timeout: 3s, metadata_retry_after: 300s, .. }"
        );
    }
}
