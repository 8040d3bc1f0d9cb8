//! Reading Kubernetes secrets mounted as files under the pull-secrets directory.
//!
//! Layout (the sidecar has no API access, so secrets arrive as volumes):
//!
//! ```text
//! <pull-secrets-dir>/<namespace>/<name>/<key>   preferred: one volume per secret, grouped by namespace
//! <pull-secrets-dir>/<name>/<key>               accepted: when all secrets come from one namespace
//! ```
//!
//! `<key>` is `.dockerconfigjson` for `kubernetes.io/dockerconfigjson` secrets, or the field named by a
//! `secret:` spec. Entries whose name starts with `..` are the kubelet's atomic-update machinery (`..data`,
//! `..2024_…`) and are never scanned.

use std::io;
use std::path::{Path, PathBuf};

use super::dockerconfig::DockerConfig;
use super::{Credential, CredentialError, SecretScope};

/// The key a `kubernetes.io/dockerconfigjson` secret keeps its document under.
pub(super) const DOCKERCONFIGJSON: &str = ".dockerconfigjson";

/// Reads `<dir>/<namespace>/<name>/<key>`, else `<dir>/<name>/<key>`; returns the path read and its bytes.
/// `spec` only names the reference in the error when neither file exists.
pub(super) async fn read_mounted(
    dir: &Path,
    namespace: &str,
    name: &str,
    key: &str,
    spec: &str,
) -> Result<(PathBuf, Vec<u8>), CredentialError> {
    let candidates = [
        dir.join(namespace).join(name).join(key),
        dir.join(name).join(key),
    ];
    for path in &candidates {
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
    Err(CredentialError::SecretNotMounted {
        spec: spec.to_string(),
        tried: candidates.to_vec(),
    })
}

/// Looks through every `.dockerconfigjson` under `dir` (both layouts, in sorted path order) for an `auths` entry
/// for `registry`; the first file that has one wins. A missing directory is empty. A malformed file is skipped
/// with a warning rather than failing every registry: it may belong to a different one. With a `scope`, secrets
/// under a namespace directory it does not permit are never read.
pub(super) async fn scan_pull_secrets(
    dir: &Path,
    registry: &str,
    scope: Option<&SecretScope>,
) -> Result<Option<(PathBuf, Credential)>, CredentialError> {
    for (namespace, path) in dockerconfigjson_files(dir).await? {
        if let (Some(scope), Some(namespace)) = (scope, &namespace)
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
