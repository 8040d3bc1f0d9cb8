//! Reading Kubernetes secrets mounted as files under the pull-secrets directory.
//!
//! Layout (the sidecar has no API access, so secrets arrive as volumes):
//!
//! ```text
//! <pull-secrets-dir>/<namespace>/<name>/<key>   one volume per secret, under the namespace it comes from
//! <pull-secrets-dir>/<name>/<key>               flat: read only when the operator names the one namespace all
//!                                               such secrets come from (--pull-secrets-flat-namespace)
//! ```
//!
//! A secret's namespace is what `pullsecret:<namespace>/<name>` and an Application's [`SecretScope`] are checked
//! against, so it must come from the mount, never be assumed: a flat secret is that namespace's alone, and without
//! the option it is no one's (never read). `<key>` is `.dockerconfigjson` for `kubernetes.io/dockerconfigjson`
//! secrets, or the field named by a `secret:` spec. Entries whose name starts with `..` are the kubelet's
//! atomic-update machinery (`..data`, `..2024_…`) and are never scanned.

use std::io;
use std::path::{Path, PathBuf};

use super::dockerconfig::DockerConfig;
use super::{Credential, CredentialError, SecretScope};

/// The key a `kubernetes.io/dockerconfigjson` secret keeps its document under.
pub(super) const DOCKERCONFIGJSON: &str = ".dockerconfigjson";

/// Where the secret `<namespace>/<name>` is looked for under `dir`.
#[derive(Debug, PartialEq, Eq)]
struct MountedPaths {
    /// Read in this order, the first that exists wins: `<dir>/<namespace>/<name>/<key>`, then
    /// `<dir>/<name>/<key>` when flat secrets are `namespace`'s.
    read: Vec<PathBuf>,
    /// `<dir>/<name>/<key>` when flat secrets are not `namespace`'s: never read for it, only named in the error
    /// when it exists and nothing else does (the operator mounted it without its namespace directory).
    flat_elsewhere: Option<PathBuf>,
}

/// The path decision for `<namespace>/<name>`, given the namespace flat secrets belong to (`None`: no one).
fn mounted_paths(
    dir: &Path,
    flat_namespace: Option<&str>,
    namespace: &str,
    name: &str,
    key: &str,
) -> MountedPaths {
    let namespaced = dir.join(namespace).join(name).join(key);
    let flat = dir.join(name).join(key);
    if flat_namespace == Some(namespace) {
        MountedPaths {
            read: vec![namespaced, flat],
            flat_elsewhere: None,
        }
    } else {
        MountedPaths {
            read: vec![namespaced],
            flat_elsewhere: Some(flat),
        }
    }
}

/// Reads the secret `<namespace>/<name>`'s `key` (see [`mounted_paths`]); returns the path read and its bytes.
/// `spec` only names the reference in the error when no file is there.
pub(super) async fn read_mounted(
    dir: &Path,
    flat_namespace: Option<&str>,
    namespace: &str,
    name: &str,
    key: &str,
    spec: &str,
) -> Result<(PathBuf, Vec<u8>), CredentialError> {
    let paths = mounted_paths(dir, flat_namespace, namespace, name, key);
    for path in &paths.read {
        match tokio::fs::read(path).await {
            Ok(bytes) => return Ok((path.clone(), bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CredentialError::ReadFile {
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    if let Some(flat) = paths.flat_elsewhere
        && tokio::fs::metadata(&flat).await.is_ok_and(|m| m.is_file())
    {
        return Err(CredentialError::SecretMountedFlat {
            spec: spec.to_string(),
            namespace: namespace.to_string(),
            expected: paths.read.into_iter().next().unwrap_or_default(),
            flat,
            flat_namespace: flat_namespace.map(String::from),
        });
    }
    Err(CredentialError::SecretNotMounted {
        spec: spec.to_string(),
        tried: paths.read,
    })
}

/// Whose secret a `.dockerconfigjson` the scan found is: the namespace directory it is mounted under, else (mounted
/// flat) the operator's `flat_namespace`; `None`: no one's, and it is not used.
fn owner<'a>(namespace_dir: Option<&'a str>, flat_namespace: Option<&'a str>) -> Option<&'a str> {
    namespace_dir.or(flat_namespace)
}

/// Looks through every `.dockerconfigjson` under `dir` (both layouts, in sorted path order) for an `auths` entry
/// for `registry`; the first file that has one wins. A missing directory is empty. A malformed file is skipped
/// with a warning rather than failing every registry: it may belong to a different one. A secret mounted flat is
/// `flat_namespace`'s, and skipped with a warning without one. With a `scope`, secrets of a namespace it does not
/// permit are never read.
pub(super) async fn scan_pull_secrets(
    dir: &Path,
    flat_namespace: Option<&str>,
    registry: &str,
    scope: Option<&SecretScope>,
) -> Result<Option<(PathBuf, Credential)>, CredentialError> {
    for (namespace_dir, path) in dockerconfigjson_files(dir).await? {
        let Some(namespace) = owner(namespace_dir.as_deref(), flat_namespace) else {
            tracing::warn!(
                path = %path.display(),
                "skipping a pull secret mounted without its namespace directory: mount it as \
                 <pull-secrets-dir>/<namespace>/<name>/, or set --pull-secrets-flat-namespace \
                 (IMAGE_RESOLVER_PULL_SECRETS_FLAT_NAMESPACE) to the namespace such secrets come from"
            );
            continue;
        };
        if let Some(scope) = scope
            && !scope.permits(namespace)
        {
            continue;
        }
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "skipping unreadable pull secret");
                continue;
            }
        };
        let found =
            DockerConfig::parse(&bytes, &path).and_then(|config| config.auth_for(registry, &path));
        match found {
            Ok(Some(credential)) => return Ok(Some((path, credential))),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "skipping pull secret"),
        }
    }
    Ok(None)
}

/// `<dir>/*/.dockerconfigjson` and `<dir>/<namespace>/*/.dockerconfigjson` (with that namespace), following
/// symlinks, sorted by path.
async fn dockerconfigjson_files(
    dir: &Path,
) -> Result<Vec<(Option<String>, PathBuf)>, CredentialError> {
    let mut found = Vec::new();
    let top = match subdirectories(dir).await {
        Ok(top) => top,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            tracing::warn!(dir = %dir.display(), "pull-secrets directory does not exist");
            return Ok(found);
        }
        Err(source) => {
            return Err(CredentialError::ReadFile {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for first in top {
        push_if_file(&mut found, None, first.join(DOCKERCONFIGJSON)).await;
        let namespace = first.file_name().map(|n| n.to_string_lossy().into_owned());
        let nested = subdirectories(&first)
            .await
            .map_err(|source| CredentialError::ReadFile {
                path: first.clone(),
                source,
            })?;
        for second in nested {
            push_if_file(&mut found, namespace.clone(), second.join(DOCKERCONFIGJSON)).await;
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

async fn push_if_file(
    found: &mut Vec<(Option<String>, PathBuf)>,
    namespace: Option<String>,
    path: PathBuf,
) {
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        found.push((namespace, path));
    }
}

/// Directories (or symlinks to them) directly in `dir`, except the kubelet's `..`-prefixed ones.
async fn subdirectories(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries = tokio::fs::read_dir(dir).await?;
    let mut dirs = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        if entry.file_name().to_string_lossy().starts_with("..") {
            continue;
        }
        let path = entry.path();
        if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
            dirs.push(path);
        }
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 11, item 7): `<dir>/<name>/` was read for `pullsecret:<any namespace>/<name>`, so with the
    /// shipped install `pullsecret:kube-system/<name>` resolved with a secret that came from `argocd`.
    #[test]
    fn flat_secrets_are_read_only_for_the_namespace_the_operator_names() {
        let dir = Path::new("/s");
        let p = |s: &str| PathBuf::from(s);
        for (name, flat_namespace, namespace, read, flat_elsewhere) in [
            (
                "no flat namespace: the namespaced layout only",
                None,
                "argocd",
                vec![p("/s/argocd/regcred/k")],
                Some(p("/s/regcred/k")),
            ),
            (
                "the flat namespace: namespaced first, then flat",
                Some("argocd"),
                "argocd",
                vec![p("/s/argocd/regcred/k"), p("/s/regcred/k")],
                None,
            ),
            (
                "another namespace never reads the flat layout",
                Some("argocd"),
                "kube-system",
                vec![p("/s/kube-system/regcred/k")],
                Some(p("/s/regcred/k")),
            ),
        ] {
            assert_eq!(
                mounted_paths(dir, flat_namespace, namespace, "regcred", "k"),
                MountedPaths {
                    read,
                    flat_elsewhere
                },
                "{name}"
            );
        }
    }

    #[test]
    fn a_scanned_secret_belongs_to_its_namespace_directory_or_the_flat_namespace() {
        for (name, namespace_dir, flat_namespace, want) in [
            ("namespaced", Some("team-b"), None, Some("team-b")),
            (
                "namespaced, whatever the flat namespace",
                Some("team-b"),
                Some("argocd"),
                Some("team-b"),
            ),
            (
                "flat, with a flat namespace",
                None,
                Some("argocd"),
                Some("argocd"),
            ),
            ("flat, without one: no one's", None, None, None),
        ] {
            assert_eq!(owner(namespace_dir, flat_namespace), want, "{name}");
        }
    }
}
