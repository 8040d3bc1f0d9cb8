//! Explicit credential specs (`env:`, `ext:`, `pullsecret:`, `secret:`) and whose pull secrets an application may
//! use: syntax only, no I/O (reading what a spec names is the main crate's credential store).
//!
//! The syntax is argocd-image-updater's, so a `registries.conf` `credentials:` field or a `pull-secret`
//! annotation written for it means the same here.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// An explicit credential reference, validated: names that end up in file paths are Kubernetes names, so a spec
/// can never point outside the pull-secrets directory.
///
/// ```
/// use argocd_image_resolver_core::credential_spec::{CredentialSpec, SpecSource};
///
/// let spec = CredentialSpec::parse("ghcr.io=secret:argocd/ghcr#creds").unwrap();
/// assert_eq!(spec.registry(), Some("ghcr.io"));
/// assert_eq!(
///     spec.source(),
///     &SpecSource::Secret { namespace: "argocd".into(), name: "ghcr".into(), field: "creds".into() }
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CredentialSpec {
    registry: Option<String>,
    source: SpecSource,
    expiry: Option<Duration>,
}

/// Where an explicit spec reads its `user:pass` (or docker config) from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpecSource {
    /// `env:VAR`: the variable holds `user:pass`.
    Env { var: String },
    /// `ext:/path/to/script`: the script, run without arguments, prints `user:pass` on its last line.
    Ext { script: PathBuf },
    /// `pullsecret:<namespace>/<name>`: a mounted `kubernetes.io/dockerconfigjson` secret.
    PullSecret { namespace: String, name: String },
    /// `secret:<namespace>/<name>#<field>`: one key of a mounted secret, holding `user:pass`.
    Secret {
        namespace: String,
        name: String,
        field: String,
    },
}

/// A credential spec that does not parse, with why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid credential spec '{spec}': {problem}")]
pub struct SpecError {
    pub spec: String,
    pub problem: SpecProblem,
}

/// Why a credential spec was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecProblem {
    /// Not `<source>:<reference>` with exactly one `:`.
    Shape,
    /// The part before `:` is not one of the four sources.
    UnknownSource(String),
    /// `pullsecret:` without exactly `<namespace>/<name>`.
    PullSecretReference,
    /// `secret:` without exactly `<namespace>/<name>#<field>`.
    SecretReference,
    /// Not a Kubernetes namespace name.
    Namespace(String),
    /// Not a Kubernetes secret name.
    SecretName(String),
    /// Not a Kubernetes secret key.
    Field(String),
    /// `ext:` with a relative path, which would depend on the working directory.
    RelativeScript,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecProblem::Shape => f.write_str(
                "expected env:VAR, ext:/path/to/script, pullsecret:<namespace>/<name> or \
                 secret:<namespace>/<name>#<field>, optionally after '<registry>='",
            ),
            SpecProblem::UnknownSource(kind) => {
                write!(
                    f,
                    "unknown source '{kind}'; use env, ext, pullsecret or secret"
                )
            }
            SpecProblem::PullSecretReference => {
                f.write_str("expected pullsecret:<namespace>/<name>")
            }
            SpecProblem::SecretReference => {
                f.write_str("expected secret:<namespace>/<name>#<field>")
            }
            SpecProblem::Namespace(ns) => write!(
                f,
                "'{ns}' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)"
            ),
            SpecProblem::SecretName(name) => write!(
                f,
                "'{name}' is not a secret name (lower-case letters, digits, '-' and '.', at most 253 characters)"
            ),
            SpecProblem::Field(field) => write!(
                f,
                "'{field}' is not a secret key (letters, digits, '-', '_' and '.', not starting with '..')"
            ),
            SpecProblem::RelativeScript => f.write_str("the ext: script path must be absolute"),
        }
    }
}

impl CredentialSpec {
    /// Parses `[<registry>=]<source>:<reference>`; the source name is case-insensitive, as in argocd-image-updater.
    pub fn parse(input: &str) -> Result<CredentialSpec, SpecError> {
        let invalid = |problem| SpecError {
            spec: input.to_string(),
            problem,
        };
        let (registry, definition) = match input.split_once('=') {
            Some((registry, definition)) if !registry.is_empty() && !definition.is_empty() => {
                (Some(registry.to_string()), definition)
            }
            _ => (None, input),
        };
        let mut parts = definition.split(':');
        let (Some(kind), Some(reference), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(SpecProblem::Shape));
        };
        if kind.is_empty() || reference.is_empty() {
            return Err(invalid(SpecProblem::Shape));
        }
        let source = match kind.to_ascii_lowercase().as_str() {
            "env" => SpecSource::Env {
                var: reference.to_string(),
            },
            "ext" => {
                if !Path::new(reference).is_absolute() {
                    return Err(invalid(SpecProblem::RelativeScript));
                }
                SpecSource::Ext {
                    script: PathBuf::from(reference),
                }
            }
            "pullsecret" => {
                let Some((namespace, name)) = split_exact(reference, '/') else {
                    return Err(invalid(SpecProblem::PullSecretReference));
                };
                check_names(namespace, name).map_err(invalid)?;
                SpecSource::PullSecret {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }
            "secret" => {
                let Some((secret, field)) = split_exact(reference, '#') else {
                    return Err(invalid(SpecProblem::SecretReference));
                };
                let Some((namespace, name)) = split_exact(secret, '/') else {
                    return Err(invalid(SpecProblem::SecretReference));
                };
                check_names(namespace, name).map_err(invalid)?;
                if !is_secret_key(field) {
                    return Err(invalid(SpecProblem::Field(field.to_string())));
                }
                SpecSource::Secret {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    field: field.to_string(),
                }
            }
            _ => return Err(invalid(SpecProblem::UnknownSource(kind.to_string()))),
        };
        Ok(CredentialSpec {
            registry,
            source,
            expiry: None,
        })
    }

    /// Re-read the credential after `expiry` (`credsexpire`); zero means never, as in argocd-image-updater.
    #[must_use]
    pub fn with_expiry(mut self, expiry: Duration) -> CredentialSpec {
        self.expiry = (!expiry.is_zero()).then_some(expiry);
        self
    }

    /// The registry named by a `<registry>=` prefix, as written; the credential is refused for any other registry.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    pub fn source(&self) -> &SpecSource {
        &self.source
    }

    /// How long a credential read from this spec is used before it is read again; `None` = until invalidated.
    pub fn expiry(&self) -> Option<Duration> {
        self.expiry
    }
}

impl FromStr for CredentialSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialSpec::parse(s)
    }
}

/// The spec in canonical form (source name lower-cased); the expiry is not part of the syntax.
impl fmt::Display for CredentialSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(registry) = &self.registry {
            write!(f, "{registry}=")?;
        }
        match &self.source {
            SpecSource::Env { var } => write!(f, "env:{var}"),
            SpecSource::Ext { script } => write!(f, "ext:{}", script.display()),
            SpecSource::PullSecret { namespace, name } => {
                write!(f, "pullsecret:{namespace}/{name}")
            }
            SpecSource::Secret {
                namespace,
                name,
                field,
            } => write!(f, "secret:{namespace}/{name}#{field}"),
        }
    }
}

impl CredentialSpec {
    /// The namespace of the mounted secret a `pullsecret:` or `secret:` spec reads; `None` for `env:` and `ext:`.
    pub fn namespace(&self) -> Option<&str> {
        match &self.source {
            SpecSource::PullSecret { namespace, .. } | SpecSource::Secret { namespace, .. } => {
                Some(namespace)
            }
            SpecSource::Env { .. } | SpecSource::Ext { .. } => None,
        }
    }
}

/// Which namespaces' mounted secrets one Application may have the sidecar use: those of its own destination
/// namespace and those the operator shares with every application. Without it, whoever can edit an Application
/// in `team-a` could name `pullsecret:team-b/regcred` and read team-b's private tag lists.
///
/// ```
/// use argocd_image_resolver_core::credential_spec::SecretScope;
///
/// let scope = SecretScope::new(Some("team-a".into()), vec!["argocd".into()]);
/// assert!(scope.permits("team-a") && scope.permits("argocd") && !scope.permits("team-b"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SecretScope {
    /// The Application's destination namespace (`ARGOCD_APP_NAMESPACE`); `None` where Argo CD does not say (it
    /// gives the dynamic-parameters command no namespace).
    destination: Option<String>,
    /// The namespaces the operator shares with every application (`--pull-secret-namespaces`); `*` shares all.
    shared: Vec<String>,
}

impl SecretScope {
    pub fn new(destination: Option<String>, shared: Vec<String>) -> SecretScope {
        SecretScope {
            destination: destination.filter(|d| !d.is_empty()),
            shared,
        }
    }

    pub fn destination(&self) -> Option<&str> {
        self.destination.as_deref()
    }

    pub fn permits(&self, namespace: &str) -> bool {
        self.destination.as_deref() == Some(namespace)
            || self.shared.iter().any(|s| s == "*" || s == namespace)
    }

    /// Why a secret in `namespace` is refused, for a message that goes on after "pull secret X is in namespace N".
    pub fn refusal(&self, namespace: &str) -> String {
        let shared = if self.shared.is_empty() {
            "none".to_string()
        } else {
            self.shared.join(", ")
        };
        let allowed = match &self.destination {
            Some(destination) => format!(
                "an application deploying to namespace {destination} may only use pull secrets of {destination} \
                 and of the namespaces the operator shares"
            ),
            None => "Argo CD does not tell this command the application's destination namespace, so it may only \
                     use pull secrets of the namespaces the operator shares"
                .to_string(),
        };
        format!(
            "{allowed} (--pull-secret-namespaces: {shared}); ask the operator to add {namespace} there, or use a \
             secret of the application's own namespace"
        )
    }

    /// A stable name of the scope for cache keys, so answers read with one scope's secrets never answer another.
    pub fn label(&self) -> String {
        format!(
            "scope:{}+{}",
            self.destination.as_deref().unwrap_or(""),
            self.shared.join(",")
        )
    }
}

/// Splits at `sep`, which must occur exactly once with text on both sides.
fn split_exact(s: &str, sep: char) -> Option<(&str, &str)> {
    let (left, right) = s.split_once(sep)?;
    (!left.is_empty() && !right.is_empty() && !right.contains(sep)).then_some((left, right))
}

fn check_names(namespace: &str, name: &str) -> Result<(), SpecProblem> {
    if !is_dns_label(namespace) {
        return Err(SpecProblem::Namespace(namespace.to_string()));
    }
    if !is_secret_name(name) {
        return Err(SpecProblem::SecretName(name.to_string()));
    }
    Ok(())
}

/// A Kubernetes secret name: an RFC 1123 subdomain (dot-separated labels, at most 253 characters).
pub fn is_secret_name(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// RFC 1123 label, as Kubernetes requires of namespaces (and of each dot-separated part of a secret name).
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Kubernetes secret data key; `.`, `..` and a leading `..` are refused there too, so a key is always a plain file.
fn is_secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with("..")
        && s != "."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(namespace: &str, name: &str) -> SpecSource {
        SpecSource::PullSecret {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn parses_valid_specs() {
        let secret = |ns: &str, name: &str, field: &str| SpecSource::Secret {
            namespace: ns.into(),
            name: name.into(),
            field: field.into(),
        };
        let cases: Vec<(&str, &str, Option<&str>, SpecSource, &str)> = vec![
            (
                "env",
                "env:REGISTRY_CREDS",
                None,
                SpecSource::Env {
                    var: "REGISTRY_CREDS".into(),
                },
                "env:REGISTRY_CREDS",
            ),
            (
                "ext",
                "ext:/app/auth/ecr-login.sh",
                None,
                SpecSource::Ext {
                    script: "/app/auth/ecr-login.sh".into(),
                },
                "ext:/app/auth/ecr-login.sh",
            ),
            (
                "pull secret",
                "pullsecret:argocd/regcred",
                None,
                pull("argocd", "regcred"),
                "pullsecret:argocd/regcred",
            ),
            (
                "secret with dotted name and field",
                "secret:argocd/my.creds#.token_v1",
                None,
                secret("argocd", "my.creds", ".token_v1"),
                "secret:argocd/my.creds#.token_v1",
            ),
            (
                "source is case-insensitive",
                "PullSecret:argocd/regcred",
                None,
                pull("argocd", "regcred"),
                "pullsecret:argocd/regcred",
            ),
            (
                "registry prefix",
                "gcr.io=pullsecret:argocd/gcr",
                Some("gcr.io"),
                pull("argocd", "gcr"),
                "gcr.io=pullsecret:argocd/gcr",
            ),
            (
                "registry prefix with port",
                "127.0.0.1:5000=env:LOCAL",
                Some("127.0.0.1:5000"),
                SpecSource::Env {
                    var: "LOCAL".into(),
                },
                "127.0.0.1:5000=env:LOCAL",
            ),
        ];
        for (name, input, registry, source, display) in cases {
            let spec = CredentialSpec::parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(spec.registry(), registry, "{name}");
            assert_eq!(spec.source(), &source, "{name}");
            assert_eq!(spec.expiry(), None, "{name}");
            assert_eq!(spec.to_string(), display, "{name}");
        }
    }

    #[test]
    fn rejects_invalid_specs_naming_them() {
        let shape = "expected env:VAR, ext:/path/to/script, pullsecret:<namespace>/<name> or \
                     secret:<namespace>/<name>#<field>, optionally after '<registry>='";
        let cases = [
            ("empty", "", shape.to_string()),
            ("no colon", "regcred", shape.to_string()),
            ("empty reference", "env:", shape.to_string()),
            ("empty source", ":VAR", shape.to_string()),
            ("two colons (as argocd-image-updater)", "ext:/a:b", shape.to_string()),
            ("empty registry prefix is no prefix", "=env:X", "unknown source '=env'; use env, ext, pullsecret or secret".into()),
            ("unknown source", "vault:kv/x", "unknown source 'vault'; use env, ext, pullsecret or secret".into()),
            ("relative script", "ext:auth.sh", "the ext: script path must be absolute".into()),
            ("pull secret without namespace", "pullsecret:regcred", "expected pullsecret:<namespace>/<name>".into()),
            ("pull secret with three parts", "pullsecret:a/b/c", "expected pullsecret:<namespace>/<name>".into()),
            ("secret without field", "secret:argocd/creds", "expected secret:<namespace>/<name>#<field>".into()),
            ("secret with two fields", "secret:argocd/creds#a#b", "expected secret:<namespace>/<name>#<field>".into()),
            ("secret with empty field", "secret:argocd/creds#", "expected secret:<namespace>/<name>#<field>".into()),
            (
                "namespace traversal",
                "pullsecret:../etc",
                "'..' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)".into(),
            ),
            (
                "upper-case namespace",
                "secret:ArgoCD/creds#f",
                "'ArgoCD' is not a namespace name (lower-case letters, digits and '-', at most 63 characters)".into(),
            ),
            (
                "name traversal",
                "pullsecret:argocd/..",
                "'..' is not a secret name (lower-case letters, digits, '-' and '.', at most 253 characters)".into(),
            ),
            (
                "field traversal",
                "secret:argocd/creds#..",
                "'..' is not a secret key (letters, digits, '-', '_' and '.', not starting with '..')".into(),
            ),
            (
                "field with slash",
                "secret:argocd/creds#a/b",
                "'a/b' is not a secret key (letters, digits, '-', '_' and '.', not starting with '..')".into(),
            ),
        ];
        for (name, input, problem) in cases {
            let err = CredentialSpec::parse(input).expect_err(name);
            assert_eq!(
                err.to_string(),
                format!("invalid credential spec '{input}': {problem}"),
                "{name}"
            );
        }
    }

    #[test]
    fn expiry_zero_means_never() {
        let spec = CredentialSpec::parse("env:X").unwrap();
        assert_eq!(
            spec.clone().with_expiry(Duration::from_secs(90)).expiry(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(spec.with_expiry(Duration::ZERO).expiry(), None);
    }

    #[test]
    fn secret_scopes_permit_the_destination_and_the_shared_namespaces() {
        let scope = |destination: Option<&str>, shared: &[&str]| {
            SecretScope::new(
                destination.map(String::from),
                shared.iter().map(|s| s.to_string()).collect(),
            )
        };
        for (name, scope, namespace, want) in [
            ("own namespace", scope(Some("team-a"), &[]), "team-a", true),
            ("another team", scope(Some("team-a"), &[]), "team-b", false),
            ("shared", scope(Some("team-a"), &["argocd"]), "argocd", true),
            ("all shared", scope(Some("team-a"), &["*"]), "team-b", true),
            (
                "unknown destination",
                scope(None, &["argocd"]),
                "team-a",
                false,
            ),
            (
                "empty destination is unknown",
                scope(Some(""), &[]),
                "",
                false,
            ),
        ] {
            assert_eq!(scope.permits(namespace), want, "{name}");
        }
    }

    #[test]
    fn secret_scope_refusals_say_what_is_allowed_and_how_to_change_it() {
        let known = SecretScope::new(Some("team-a".into()), vec!["argocd".into(), "ci".into()]);
        assert_eq!(
            known.refusal("team-b"),
            "an application deploying to namespace team-a may only use pull secrets of team-a and of the \
             namespaces the operator shares (--pull-secret-namespaces: argocd, ci); ask the operator to add \
             team-b there, or use a secret of the application's own namespace"
        );
        let unknown = SecretScope::new(None, Vec::new());
        assert_eq!(
            unknown.refusal("team-b"),
            "Argo CD does not tell this command the application's destination namespace, so it may only use \
             pull secrets of the namespaces the operator shares (--pull-secret-namespaces: none); ask the \
             operator to add team-b there, or use a secret of the application's own namespace"
        );
    }
}
