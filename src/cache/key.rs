//! The cache's keys and their stable encodings: what names an entry in every backend (a file stem here, a key
//! suffix in a shared store), built from values, never from message text.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::image::ImageRef;
use crate::platform::Platform;
use crate::policy::{Policy, PolicyKey, platform_key};
use crate::registry::CredentialSource;
use crate::registry::credentials::{CredentialSpec, SecretScope};

/// The version of [`ResolutionKey`]'s encoding, hashed with every key: a change to the key's fields or to what
/// they mean bumps it, so entries written under the old scheme are never read as answers under the new one.
pub const RESOLUTION_KEY_VERSION: u32 = 1;

/// Which last-known-good answer: one image repository under one policy, read with one credential in one scope.
///
/// Structured, with a versioned encoding ([`ResolutionKey::encode`]): a reworded policy summary leaves every key
/// as it was, and every field that changes the answer changes the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResolutionKey {
    /// The registry, normalised: `docker.io`.
    pub registry: String,
    /// The repository inside it, normalised: `library/nginx`.
    pub repository: String,
    /// The policy's canonical fields: a new constraint must not reuse the answer of the old one.
    pub policy: PolicyKey,
    /// The pull secret an Application named for the image, in the spec's canonical syntax
    /// (`pullsecret:team-a/regcred`): an answer read with one Application's secret must not stand in for
    /// another's.
    pub credential: Option<String>,
    /// The label of the scope secrets were looked up in ([`SecretScope::label`]): one namespace's secrets never
    /// answer another namespace's Application, not even as a last-known-good tag.
    pub scope: Option<String>,
}

/// What [`ResolutionKey::encode`] serialises: the key under its version.
#[derive(Serialize)]
struct Versioned<'a, K> {
    v: u32,
    key: &'a K,
}

impl ResolutionKey {
    /// The key of `image` resolved under `policy` with the sidecar's own credentials and no secret scope.
    pub fn new(image: &ImageRef, policy: &Policy) -> Self {
        Self::with_credentials(image, policy, None, None)
    }

    /// The key of `image` resolved under `policy` with the pull secret an Application named (if any), in `scope`
    /// (if secrets are scoped).
    pub fn with_credentials(
        image: &ImageRef,
        policy: &Policy,
        credential: Option<&CredentialSpec>,
        scope: Option<&SecretScope>,
    ) -> Self {
        ResolutionKey {
            registry: image.registry().to_string(),
            repository: image.repository().to_string(),
            policy: policy.key(),
            credential: credential.map(ToString::to_string),
            scope: scope.map(SecretScope::label),
        }
    }

    /// The repository with its registry: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The stable encoding: compact JSON of `{"v": RESOLUTION_KEY_VERSION, "key": {…}}`, fields in declaration
    /// order. Pinned by a golden test; change it only with the version.
    pub fn encode(&self) -> String {
        let versioned = Versioned {
            v: RESOLUTION_KEY_VERSION,
            key: self,
        };
        serde_json::to_string(&versioned).expect("a key of strings and flags serialises")
    }

    /// The name of the entry: the lower-case hex SHA-256 of [`ResolutionKey::encode`].
    pub fn file_stem(&self) -> String {
        sha256_hex(&[&self.encode()])
    }
}

impl fmt::Display for ResolutionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(credential) = &self.credential {
            write!(f, " (read with {credential})")?;
        }
        Ok(())
    }
}

/// Which tag list: one image repository as read with one credential. Tags do not depend on the policy, so every
/// policy shares the list; they may depend on who asks (a list fetched with one Application's pull secret must not
/// answer another that has no access).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagsKey {
    /// The normalised repository with its registry: `docker.io/library/nginx`.
    pub repository: String,
    /// The credential source the list is read with (its kind and name, never a secret); `None`: anonymous.
    pub credentials: Option<String>,
}

impl TagsKey {
    /// The key of `repository` read anonymously.
    pub fn new(repository: impl Into<String>) -> Self {
        TagsKey {
            repository: repository.into(),
            credentials: None,
        }
    }

    /// The key of `repository` read with `credentials`.
    pub fn with_credentials(repository: impl Into<String>, credentials: Option<String>) -> Self {
        TagsKey {
            repository: repository.into(),
            credentials,
        }
    }

    /// The key of `image`'s repository read with the credential from `source`: its kind and name, joined by one
    /// space, spelled here rather than by the source's `Display`, which is free to change.
    pub fn read_with(image: &ImageRef, source: Option<&CredentialSource>) -> Self {
        Self::with_credentials(
            image.name(),
            source.map(|s| format!("{} {}", s.kind, s.name)),
        )
    }

    /// The file name stem: the lower-case hex SHA-256 of the repository, and of a NUL byte and the credential
    /// source when there is one.
    pub fn file_stem(&self) -> String {
        match &self.credentials {
            None => sha256_hex(&[&self.repository]),
            Some(credentials) => sha256_hex(&[&self.repository, credentials]),
        }
    }
}

impl fmt::Display for TagsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            None => f.write_str(&self.repository),
            Some(credentials) => write!(f, "{} (read with {credentials})", self.repository),
        }
    }
}

/// Which images' metadata: one repository's, as read for one list of platforms (an index's build time is that of
/// the platform image chosen from it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetadataKey {
    /// The normalised repository with its registry: `docker.io/library/nginx`.
    pub repository: String,
    /// The wanted platforms in order, comma-separated: `linux/amd64,linux/arm64`.
    pub platforms: String,
}

impl MetadataKey {
    pub fn new(repository: impl Into<String>, platforms: &[Platform]) -> Self {
        MetadataKey {
            repository: repository.into(),
            platforms: platforms
                .iter()
                .map(platform_key)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The file name stem: the lower-case hex SHA-256 of `repository`, a NUL byte, and `platforms`.
    pub fn file_stem(&self) -> String {
        sha256_hex(&[&self.repository, &self.platforms])
    }
}

/// The lower-case hex SHA-256 of `parts` joined by NUL bytes (NUL occurs in none of them, so no two lists of parts
/// share a hash by moving text from one part to the next).
pub(super) fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests;
