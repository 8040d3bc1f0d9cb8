//! Resolving an image's tag from its registry: list the tags, read what the strategy needs (build times for
//! `newest-build`, the digest for `digest`), pick, and confirm the winner exists for the wanted platforms.
//!
//! The choice itself is [`Policy::select_except`]'s, so a registry answer and a tag list given by hand resolve
//! alike. Requests are kept to what the strategy needs: `semver`, `alphabetical` and `numerical` cost one tag
//! listing, plus one manifest read of the winner when platforms are named. With [`SharedTags`], the listing comes
//! from a short-lived cache that every render shares.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::cache::{FileCache, TagsKey};
use crate::image::ImageRef;
use crate::platform::Platform;
use crate::policy::{Policy, Selection};
use crate::registry::{RegistryClient, RegistryError};
use crate::tag::Tag;

/// The tags of a repository as far as the policy needed to read them.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// As listed, with `created` and `digest` filled in where they were read.
    pub tags: Vec<Tag>,
    /// Tags with no image for the wanted platforms.
    pub unavailable: HashSet<String>,
    /// Pages of the tag listing this call fetched (0 when the list came from [`SharedTags`]).
    pub pages: u32,
    pub elapsed: Duration,
}

impl Resolution {
    /// The policy's choice among these tags (the same answer [`resolve`] confirmed).
    pub fn select<'a>(&'a self, policy: &Policy) -> Selection<'a> {
        policy.select_except(&self.tags, &self.unavailable)
    }
}

/// A tag-list cache in front of the registries: a list younger than `ttl` answers every render that needs it, and
/// concurrent renders of one repository wait for one fetch. Lists are kept per credential source.
#[derive(Clone)]
pub struct SharedTags {
    pub cache: Arc<FileCache>,
    pub ttl: Duration,
}

/// Lists `image`'s tags (from `shared` when given and fresh) and resolves `policy` over them. A winner that turns
/// out to have no image for the policy's platforms is dropped and the next one tried.
pub async fn resolve(
    client: &RegistryClient,
    image: &ImageRef,
    policy: &Policy,
    shared: Option<&SharedTags>,
) -> Result<Resolution, RegistryError> {
    let started = std::time::Instant::now();
    let repository = image.repository();
    let (tags, pages) = list_tags(client, image, shared).await?;
    let mut resolution = Resolution {
        tags,
        unavailable: HashSet::new(),
        pages,
        elapsed: Duration::ZERO,
    };
    let platforms = wanted_platforms(policy);
    if policy.strategy.needs_creation_time() {
        read_build_times(client, repository, policy, &platforms, &mut resolution).await?;
    }
    let check_platform = !policy.platforms.is_empty() && !policy.strategy.needs_creation_time();
    while let Some(name) = resolution.select(policy).winner.map(|t| t.name.clone()) {
        let index = resolution
            .tags
            .iter()
            .position(|t| t.name == name)
            .expect("the winner is one of the tags");
        if check_platform {
            match client.image_config(repository, &name, &platforms).await {
                Ok(config) => resolution.tags[index].digest = Some(config.digest),
                Err(RegistryError::PlatformNotFound { .. }) => {
                    tracing::info!(tag = %name, "no image for the wanted platforms; trying the next tag");
                    resolution.unavailable.insert(name);
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else if policy.strategy.needs_digest() && resolution.tags[index].digest.is_none() {
            resolution.tags[index].digest = Some(client.digest(repository, &name).await?);
        }
        break;
    }
    resolution.elapsed = started.elapsed();
    Ok(resolution)
}

/// `image`'s tags and the pages this call fetched for them.
async fn list_tags(
    client: &RegistryClient,
    image: &ImageRef,
    shared: Option<&SharedTags>,
) -> Result<(Vec<Tag>, u32), RegistryError> {
    let repository = image.repository();
    let Some(shared) = shared else {
        let listing = client.tags(repository).await?;
        return Ok((listing.tags.iter().map(Tag::new).collect(), listing.pages));
    };
    let key = TagsKey::with_credentials(
        image.name(),
        client.credential_source().map(ToString::to_string),
    );
    let mut pages = 0;
    let fetch = async {
        let listing = client.tags(repository).await?;
        pages = listing.pages;
        Ok(listing.tags.iter().map(Tag::new).collect())
    };
    let outcome = shared
        .cache
        .tags_or_fetch(&key, shared.ttl, fetch)
        .await
        .map_err(|e: Arc<RegistryError>| RegistryError::clone(&e))?;
    tracing::debug!(repository = %key, source = ?outcome.source, fetched_at = %outcome.tags.fetched_at, "tag list");
    Ok((outcome.tags.tags, pages))
}

/// The platforms to read images for: the policy's, else `linux/amd64` (argocd-image-updater's default).
fn wanted_platforms(policy: &Policy) -> Vec<Platform> {
    if policy.platforms.is_empty() {
        vec![Platform::linux_amd64()]
    } else {
        policy.platforms.clone()
    }
}

/// Reads the build time of every tag that passed the filters, concurrently (the client enforces the registry's
/// concurrency and rate limits). Tags without an image for the platforms become unavailable.
async fn read_build_times(
    client: &RegistryClient,
    repository: &str,
    policy: &Policy,
    platforms: &[Platform],
    resolution: &mut Resolution,
) -> Result<(), RegistryError> {
    let wanted: Vec<String> = policy
        .filter(&resolution.tags)
        .into_iter()
        .map(|t| t.name.clone())
        .collect();
    let mut reads = JoinSet::new();
    for name in wanted {
        let (client, repository, platforms) =
            (client.clone(), repository.to_string(), platforms.to_vec());
        reads.spawn(async move {
            let config = client.image_config(&repository, &name, &platforms).await;
            (name, config)
        });
    }
    let index: std::collections::HashMap<String, usize> = resolution
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    while let Some(joined) = reads.join_next().await {
        let (name, config) = joined.expect("a config read does not panic");
        match config {
            Ok(config) => {
                let tag = &mut resolution.tags[index[&name]];
                tag.created = config.created;
                tag.digest = Some(config.digest);
            }
            Err(RegistryError::PlatformNotFound { .. }) => {
                resolution.unavailable.insert(name);
            }
            // Dropping the set aborts the reads still running.
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
