//! Reading docker `config.json` / `.dockerconfigjson` documents and credential-helper replies, and normalising the
//! registry keys they use.
//!
//! Pure: callers read the bytes. Parse errors carry only a line and column, never serde's message, because that
//! message quotes the offending value, which may be a password.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use serde::Deserialize;

use super::{Credential, CredentialError, Secret};

/// The registry key every source is matched by: the host (and port), lower-cased, without scheme or path, with
/// Docker Hub's aliases folded into `docker.io`.
///
/// ```
/// use argocd_image_resolver::registry::credentials::normalize_registry;
///
/// assert_eq!(normalize_registry("https://index.docker.io/v1/"), "docker.io");
/// assert_eq!(normalize_registry("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
/// ```
pub fn normalize_registry(key: &str) -> String {
    let key = key.trim();
    let without_scheme = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            key.get(..scheme.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
                .map(|_| &key[scheme.len()..])
        })
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

/// The server URL a credential helper is asked about: Docker Hub's historical key, else the host itself, as the
/// docker CLI does.
pub(super) fn helper_server_url(registry: &str) -> String {
    if registry == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

/// The parts of a docker config that say where credentials are; unknown fields are ignored.
#[derive(Deserialize, Default)]
pub(super) struct DockerConfig {
    #[serde(default)]
    auths: Option<BTreeMap<String, AuthEntry>>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

/// One `auths` entry. Holds secrets, so it has no `Debug`.
#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl DockerConfig {
    /// Parses a `config.json` or `.dockerconfigjson`; `path` only names the file in errors.
    pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<DockerConfig, CredentialError> {
        // serde reads a JSON array into a struct field by field, so `[]` would pass as a config with nothing in
        // it, and a broken mount would look like "no credentials": only an object is a docker config.
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        if let Some(start) = start
            && bytes[start] != b'{'
        {
            let before = &bytes[..start];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = start
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            return Err(CredentialError::DockerConfigSyntax {
                path: path.to_path_buf(),
                line,
                column,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| CredentialError::DockerConfigSyntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
        })
    }

    /// The helper named in `credHelpers` for this registry (keys normalised like the registry).
    pub(super) fn helper_for<'a>(&'a self, registry: &'a str) -> Option<&'a str> {
        let helpers = self.cred_helpers.as_ref()?;
        ordered_matches(helpers, registry)
            .next()
            .map(|(_, helper)| helper.as_str())
    }

    /// The global `credsStore` helper, if set to a non-empty name.
    pub(super) fn creds_store(&self) -> Option<&str> {
        self.creds_store.as_deref().filter(|s| !s.is_empty())
    }

    /// The first `auths` entry for this registry that holds a credential: the key equal to the registry first,
    /// then other keys that normalise to it in sorted order. Entries without data (`{}`, markers left by a
    /// `credsStore`) are skipped; a malformed one is an error naming the key.
    pub(super) fn auth_for(
        &self,
        registry: &str,
        path: &Path,
    ) -> Result<Option<Credential>, CredentialError> {
        let Some(auths) = &self.auths else {
            return Ok(None);
        };
        for (key, entry) in ordered_matches(auths, registry) {
            if let Some(credential) = entry.credential(key, path)? {
                return Ok(Some(credential));
            }
        }
        Ok(None)
    }
}

/// Entries whose key normalises to `registry`, the exact key first.
fn ordered_matches<'a, V>(
    map: &'a BTreeMap<String, V>,
    registry: &'a str,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    let exact = map.get_key_value(registry);
    let others = map
        .iter()
        .filter(move |(key, _)| key.as_str() != registry && normalize_registry(key) == registry);
    exact.into_iter().chain(others)
}

impl AuthEntry {
    /// `identitytoken` wins (the docker CLI then ignores the user name), then `auth`, then `username`+`password`.
    fn credential(&self, key: &str, path: &Path) -> Result<Option<Credential>, CredentialError> {
        let malformed = |problem| CredentialError::AuthEntry {
            path: path.to_path_buf(),
            key: key.to_string(),
            problem,
        };
        if let Some(token) = self.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(Secret::new(token))));
        }
        if let Some(auth) = self.auth.as_deref().filter(|a| !a.trim().is_empty()) {
            let decoded = STANDARD_PAD_INDIFFERENT
                .decode(auth.trim())
                .map_err(|_| malformed("'auth' is not base64"))?;
            let decoded =
                String::from_utf8(decoded).map_err(|_| malformed("'auth' is not UTF-8 text"))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| malformed("'auth' does not decode to 'user:pass'"))?;
            return Ok(Some(Credential::Basic {
                username: username.to_string(),
                password: Secret::new(password),
            }));
        }
        match (self.username.as_deref(), self.password.as_deref()) {
            (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
                Ok(Some(Credential::Basic {
                    username: username.to_string(),
                    password: Secret::new(password),
                }))
            }
            _ => Ok(None),
        }
    }
}

/// A credential helper's `get` reply.
#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// The credential in a helper's reply: `<token>` as user name marks an identity token, as in docker's protocol.
/// An empty secret means the helper has nothing for this registry.
pub(super) fn parse_helper_reply(
    stdout: &[u8],
    helper: &str,
) -> Result<Option<Credential>, CredentialError> {
    let reply: HelperReply =
        serde_json::from_slice(stdout).map_err(|_| CredentialError::HelperOutput {
            helper: helper.to_string(),
        })?;
    if reply.secret.is_empty() {
        return Ok(None);
    }
    if reply.username == "<token>" {
        return Ok(Some(Credential::IdentityToken(Secret::new(reply.secret))));
    }
    Ok(Some(Credential::Basic {
        username: reply.username,
        password: Secret::new(reply.secret),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> Credential {
        Credential::Basic {
            username: user.into(),
            password: Secret::new(pass),
        }
    }

    #[test]
    fn normalises_registry_keys() {
        let cases = [
            (
                "docker hub v1 url",
                "https://index.docker.io/v1/",
                "docker.io",
            ),
            ("docker hub index host", "index.docker.io", "docker.io"),
            (
                "docker hub registry host",
                "registry-1.docker.io",
                "docker.io",
            ),
            ("docker hub short", "docker.io", "docker.io"),
            ("docker hub http", "http://index.docker.io", "docker.io"),
            ("https with v1 path", "https://ghcr.io/v1/", "ghcr.io"),
            ("http scheme", "http://ghcr.io", "ghcr.io"),
            ("bare host", "ghcr.io", "ghcr.io"),
            ("upper-case scheme and host", "HTTPS://GHCR.IO/", "ghcr.io"),
            (
                "host with port and path",
                "127.0.0.1:5000/v2/",
                "127.0.0.1:5000",
            ),
            (
                "artifact registry",
                "europe-docker.pkg.dev",
                "europe-docker.pkg.dev",
            ),
            ("surrounding space", "  quay.io ", "quay.io"),
            (
                "lookalike host kept apart",
                "docker.io.example.com",
                "docker.io.example.com",
            ),
            ("empty", "", ""),
        ];
        for (name, input, want) in cases {
            assert_eq!(normalize_registry(input), want, "{name}");
            assert_eq!(normalize_registry(want), want, "{name}: idempotent");
        }
    }

    #[test]
    fn only_a_json_object_is_a_docker_config() {
        let path = Path::new("/cfg/config.json");
        for (name, input, want) in [
            ("object", "{}", None),
            ("object after blank lines", "\n\n  {\"auths\":{}}", None),
            ("empty array", "[]", Some((1, 1))),
            ("array of fields", "[{}, {}, null]", Some((1, 1))),
            ("array on line 3", "\n\n  []", Some((3, 3))),
            ("string", "\"auths\"", Some((1, 1))),
            ("number", "1", Some((1, 1))),
            ("null", "null", Some((1, 1))),
        ] {
            let got = DockerConfig::parse(input.as_bytes(), path)
                .err()
                .map(|e| match e {
                    CredentialError::DockerConfigSyntax { line, column, .. } => (line, column),
                    other => panic!("{name}: {other}"),
                });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn helper_server_urls() {
        assert_eq!(
            helper_server_url("docker.io"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(helper_server_url("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn finds_auth_entries() {
        let path = Path::new("/cfg/config.json");
        // "dXNlcjpwYXNz" = base64("user:pass"); "dXNlcjpwYXNz" without padding is the same here, so use a padded one.
        let cases: Vec<(&str, &str, &str, Option<Credential>)> = vec![
            (
                "auth field",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#,
                "ghcr.io",
                Some(basic("user", "pass")),
            ),
            (
                "auth without padding",
                r#"{"auths":{"ghcr.io":{"auth":"dTpwMQ"}}}"#,
                "ghcr.io",
                Some(basic("u", "p1")),
            ),
            (
                "username and password",
                r#"{"auths":{"https://ghcr.io/v1/":{"username":"u","password":"p"}}}"#,
                "ghcr.io",
                Some(basic("u", "p")),
            ),
            (
                "identity token wins",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz","identitytoken":"refresh"}}}"#,
                "ghcr.io",
                Some(Credential::IdentityToken(Secret::new("refresh"))),
            ),
            (
                "docker hub alias",
                r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"}}}"#,
                "docker.io",
                Some(basic("user", "pass")),
            ),
            (
                "exact key preferred over alias",
                r#"{"auths":{"https://index.docker.io/v1/":{"username":"alias","password":"p"},"docker.io":{"username":"exact","password":"p"}}}"#,
                "docker.io",
                Some(basic("exact", "p")),
            ),
            (
                "empty marker skipped for a later key",
                r#"{"auths":{"docker.io":{},"https://index.docker.io/v1/":{"username":"u","password":"p"}}}"#,
                "docker.io",
                Some(basic("u", "p")),
            ),
            (
                "other registry",
                r#"{"auths":{"quay.io":{"auth":"dXNlcjpwYXNz"}}}"#,
                "ghcr.io",
                None,
            ),
            (
                "marker only",
                r#"{"auths":{"ghcr.io":{}},"credsStore":"desktop"}"#,
                "ghcr.io",
                None,
            ),
            ("no auths", r#"{"credsStore":"desktop"}"#, "ghcr.io", None),
            ("null auths", r#"{"auths":null}"#, "ghcr.io", None),
            (
                "unknown fields ignored",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz","email":"x"}},"psFormat":"x"}"#,
                "ghcr.io",
                Some(basic("user", "pass")),
            ),
        ];
        for (name, json, registry, want) in cases {
            let config = DockerConfig::parse(json.as_bytes(), path)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = config
                .auth_for(registry, path)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn rejects_malformed_auth_entries_without_their_value() {
        let path = Path::new("/cfg/config.json");
        let cases = [
            (
                "not base64",
                r#"{"auths":{"ghcr.io":{"auth":"s3cr3t!!"}}}"#,
                "auth entry 'ghcr.io' in /cfg/config.json is malformed: 'auth' is not base64",
            ),
            (
                "no colon",
                // base64("s3cr3t")
                r#"{"auths":{"ghcr.io":{"auth":"czNjcjN0"}}}"#,
                "auth entry 'ghcr.io' in /cfg/config.json is malformed: 'auth' does not decode to 'user:pass'",
            ),
            (
                "not utf-8",
                r#"{"auths":{"ghcr.io":{"auth":"//8="}}}"#,
                "auth entry 'ghcr.io' in /cfg/config.json is malformed: 'auth' is not UTF-8 text",
            ),
        ];
        for (name, json, want) in cases {
            let config = DockerConfig::parse(json.as_bytes(), path).unwrap();
            let err = config.auth_for("ghcr.io", path).expect_err(name);
            assert_eq!(err.to_string(), want, "{name}");
            assert!(
                !format!("{err:?}").contains("s3cr3t"),
                "{name}: debug leaks"
            );
        }
    }

    #[test]
    fn syntax_errors_hide_the_value() {
        let path = Path::new("/cfg/config.json");
        let cases = [
            (
                "wrong type quotes the value in serde's message",
                r#"{"auths":{"ghcr.io":"s3cr3t"}}"#,
                "docker config /cfg/config.json is not valid JSON of the expected shape (line 1, column 28)",
            ),
            (
                "truncated",
                "{\"auths\":",
                "docker config /cfg/config.json is not valid JSON of the expected shape (line 1, column 9)",
            ),
        ];
        for (name, json, want) in cases {
            let err = DockerConfig::parse(json.as_bytes(), path)
                .err()
                .expect(name);
            assert_eq!(err.to_string(), want, "{name}");
            assert!(
                !format!("{err:?}").contains("s3cr3t"),
                "{name}: debug leaks"
            );
        }
    }

    #[test]
    fn finds_helpers() {
        let path = Path::new("/cfg/config.json");
        let json = r#"{"credHelpers":{"https://europe-docker.pkg.dev":"gcloud","index.docker.io":"hub"},"credsStore":"desktop"}"#;
        let config = DockerConfig::parse(json.as_bytes(), path).unwrap();
        let cases = [
            ("scheme in key", "europe-docker.pkg.dev", Some("gcloud")),
            ("docker hub alias", "docker.io", Some("hub")),
            ("absent", "ghcr.io", None),
        ];
        for (name, registry, want) in cases {
            assert_eq!(config.helper_for(registry), want, "{name}");
        }
        assert_eq!(config.creds_store(), Some("desktop"));
        let empty_store = DockerConfig::parse(br#"{"credsStore":""}"#, path).unwrap();
        assert_eq!(empty_store.creds_store(), None);
    }

    #[test]
    fn parses_helper_replies() {
        let cases = [
            (
                "basic",
                r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
                Ok(Some(basic("u", "s"))),
            ),
            (
                "identity token",
                r#"{"ServerURL":"ghcr.io","Username":"<token>","Secret":"refresh"}"#,
                Ok(Some(Credential::IdentityToken(Secret::new("refresh")))),
            ),
            (
                "empty secret",
                r#"{"ServerURL":"ghcr.io","Username":"","Secret":""}"#,
                Ok(None),
            ),
            (
                "not json",
                "s3cr3t",
                Err(
                    "credential helper docker-credential-x printed something other than its JSON reply",
                ),
            ),
        ];
        for (name, stdout, want) in cases {
            let got = parse_helper_reply(stdout.as_bytes(), "docker-credential-x")
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{name}");
        }
    }
}
