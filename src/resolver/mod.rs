//! Resolving an image's tag from its registry: list the tags, read what the strategy needs (build times for
//! `newest-build`, the digest for `digest`), pick, and confirm the winner exists for the wanted platforms.
//!
//! The choice itself is [`Policy::select_except`]'s, so a registry answer and a tag list given by hand resolve
//! alike. Requests are kept to what the strategy needs: `semver`, `alphabetical` and `numerical` cost one tag
//! listing, plus one manifest read of the winner when platforms are named. With a [`RegistryCache`], the listing
//! comes from a short-lived cache that every render shares, and `newest-build` reads only the build times of images
//! it has not seen before.
//!
//! A pinned tag is not resolved but checked ([`check_pin`]): a fresh cached tag list or one `HEAD` says it exists.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::cache::{self, Cache, ImageMetadata, KnownImages, MetadataKey, TagsKey};
use crate::image::{ImageRef, is_valid_digest};
use crate::metrics::CacheKind;
use crate::platform::Platform;
use crate::policy::{Policy, Selection};
use crate::registry::{RegistryClient, RegistryError, RegistryErrorKind, TagSortMode};
use crate::tag::Tag;

mod choice;
mod pin;

pub use choice::{Choice, ChoiceNames, Detail};
pub use pin::{NEAREST_SHOWN, PinCheck, check_pin};

/// The tags of a repository as far as the policy needed to read them.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// As listed, with `created` and `digest` filled in where they were read.
    pub tags: Vec<Tag>,
    /// Tags with no image for the wanted platforms.
    pub unavailable: HashSet<String>,
    /// Pages of the tag listing this call fetched (0 when the list came from the [`RegistryCache`]).
    pub pages: u32,
    /// Names the registry listed that are not valid tags, skipped (0 when the list came from the cache, which
    /// holds only valid ones).
    pub invalid_tags: usize,
    /// The tags' `created` times are only their places in a list the registry sends in build order
    /// (registries.conf `tagsortmode`), not dates.
    pub dated_by_position: bool,
    pub elapsed: Duration,
    /// The policy's choice over `tags`, made once here.
    pub choice: Choice,
}

impl Resolution {
    /// Makes [`Resolution::choice`] from the tags as they are, as [`resolve`] does: for a resolution put together
    /// by hand (tests, a tag list given on the command line).
    pub fn choose(&mut self, policy: &Policy, detail: Detail) {
        let selection = policy.select_except(&self.tags, &self.unavailable);
        let winner = selection.winner.map(|w| {
            self.tags
                .iter()
                .position(|t| t.name == w.name)
                .expect("the winner is one of the tags")
        });
        self.choice = Choice::of(&selection, &self.tags, winner, detail);
    }
}

impl Resolution {
    /// A resolution of `tags` as given, nothing read from a registry yet and nothing chosen.
    pub fn of_tags(tags: Vec<Tag>) -> Resolution {
        Resolution {
            tags,
            unavailable: HashSet::new(),
            pages: 0,
            invalid_tags: 0,
            dated_by_position: false,
            elapsed: Duration::ZERO,
            choice: Choice::default(),
        }
    }

    /// The tag [`resolve`] chose and confirmed.
    pub fn winner(&self) -> Option<&Tag> {
        self.choice.winner.map(|i| &self.tags[i])
    }

    /// The policy's choice among these tags made again (the same answer [`resolve`] confirmed, which
    /// [`Resolution::choice`] already holds).
    pub fn select<'a>(&'a self, policy: &Policy) -> Selection<'a> {
        policy.select_except(&self.tags, &self.unavailable)
    }
}

/// The cache in front of the registries: a tag list younger than `tags_ttl` answers every render that needs it
/// (concurrent renders of one repository wait for one fetch; lists are kept per credential source; a zero TTL
/// always asks), and build times are kept per image digest. Any [`Cache`] backend serves; share one instance
/// between a process's tasks, so that their fetches of one list join.
#[derive(Clone)]
pub struct RegistryCache {
    pub cache: Arc<dyn Cache>,
    pub tags_ttl: Duration,
}

/// Lists `image`'s tags (through `cache` when given) and resolves `policy` over them. A winner that turns
/// out to have no image for the policy's platforms is dropped and the next one tried.
pub async fn resolve(
    client: &RegistryClient,
    image: &ImageRef,
    policy: &Policy,
    cache: Option<&RegistryCache>,
) -> Result<Resolution, RegistryError> {
    resolve_with(client, image, policy, cache, Detail::Counts).await
}

/// [`resolve`], keeping in [`Resolution::choice`] as much as `detail` asks for.
pub async fn resolve_with(
    client: &RegistryClient,
    image: &ImageRef,
    policy: &Policy,
    cache: Option<&RegistryCache>,
    detail: Detail,
) -> Result<Resolution, RegistryError> {
    let started = std::time::Instant::now();
    // Choosing among millions of tags is long CPU work, which no timer can cut short: it asks the clock itself.
    let deadline = started + client.inner.options.deadline;
    let out_of_time = || std::time::Instant::now() >= deadline;
    let too_late = |_| {
        let op = client.inner.op(image.repository(), "choosing a tag");
        client.inner.fail_deadline(&op)
    };
    let repository = image.repository();
    let (tags, pages, invalid_tags) = list_tags(client, image, cache).await?;
    let mut resolution = Resolution {
        tags,
        unavailable: HashSet::new(),
        pages,
        invalid_tags,
        dated_by_position: false,
        elapsed: Duration::ZERO,
        choice: Choice::default(),
    };
    let platforms = wanted_platforms(policy);
    let tag_sort = client.endpoint().tag_sort;
    // Build times read from configs already say which tags have an image for the platforms.
    let mut read_builds = false;
    if policy.strategy.needs_creation_time() {
        if tag_sort == TagSortMode::None {
            let wanted = policy
                .filter_within(&resolution.tags, &out_of_time)
                .map_err(too_late)?
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            read_build_times(client, image, wanted, &platforms, &mut resolution, cache).await?;
            read_builds = true;
        } else {
            date_by_position(&mut resolution.tags, tag_sort);
            resolution.dated_by_position = true;
        }
    }
    let check_platform = !policy.platforms.is_empty() && !read_builds;
    resolution.choice = loop {
        let selection = policy
            .select_within(&resolution.tags, &resolution.unavailable, &out_of_time)
            .map_err(too_late)?;
        let Some(name) = selection.winner.map(|t| t.name.clone()) else {
            break Choice::of(&selection, &resolution.tags, None, detail);
        };
        let index = resolution
            .tags
            .iter()
            .position(|t| t.name == name)
            .expect("the winner is one of the tags");
        let choice = Choice::of(&selection, &resolution.tags, Some(index), detail);
        if check_platform {
            match client.image_config(repository, &name, &platforms).await {
                Ok(config) => resolution.tags[index].digest = Some(config.digest),
                Err(e) if matches!(e.kind(), RegistryErrorKind::PlatformNotFound { .. }) => {
                    tracing::info!(tag = %name, "no image for the wanted platforms; trying the next tag");
                    resolution.unavailable.insert(name.to_string());
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else if policy.renders_digest() && resolution.tags[index].digest.is_none() {
            let digest = tag_digest(client, image, &name, &platforms, cache).await?;
            resolution.tags[index].digest = Some(digest);
        }
        break choice;
    };
    resolution.elapsed = started.elapsed();
    Ok(resolution)
}

/// The digest `tag` names now (what `HEAD /v2/<repository>/manifests/<tag>` answers: for a multi-platform image,
/// its index's), for the `digest` strategy and `pin-digest`. With a cache, the digest each tag named is kept with
/// the repository's images for `platforms` ([`KnownImages::tags`], which `newest-build` keeps too) and trusted
/// for the tag-list TTL, as the list itself is: within it no `HEAD`; past it one, and a re-pushed tag's new digest
/// is what renders.
async fn tag_digest(
    client: &RegistryClient,
    image: &ImageRef,
    tag: &str,
    platforms: &[Platform],
    cache: Option<&RegistryCache>,
) -> Result<String, RegistryError> {
    let repository = image.repository();
    let Some(cache) = cache.filter(|c| !c.tags_ttl.is_zero()) else {
        return client.digest(repository, tag).await;
    };
    let key = MetadataKey::new(image.name(), platforms);
    let mut known = cache.cache.image_metadata(&key).await;
    let now = cache.cache.now();
    let fresh = known.tags_fresh(now, cache.tags_ttl);
    if fresh && let Some(digest) = known.tags.get(tag) {
        crate::metrics::count_cache_lookups(CacheKind::Digests, 1, 0);
        return Ok(digest.clone());
    }
    crate::metrics::count_cache_lookups(CacheKind::Digests, 0, 1);
    let digest = client.digest(repository, tag).await?;
    if !fresh {
        known.tags.clear();
        known.tags_checked_at = Some(now);
    }
    known.tags.insert(tag.to_string(), digest.clone());
    if let Err(e) = cache.cache.store_image_metadata(&key, &known).await {
        tracing::warn!(repository = %key.repository, error = %e, "cannot cache the digest of a tag");
    }
    Ok(digest)
}

/// `image`'s tags, the pages this call fetched for them and the invalid names it skipped.
/// The names of `image`'s tags, through `cache`, trusting a stored list no older than `max_age`: the daemon's poll
/// (the interval: one request per repository however many applications share it) and a webhook's (a moment: the
/// list is fetched again, and stored for the renders that follow).
pub async fn poll_tags(
    client: &RegistryClient,
    image: &ImageRef,
    cache: &RegistryCache,
    max_age: Duration,
) -> Result<Vec<String>, RegistryError> {
    let polling = RegistryCache {
        cache: Arc::clone(&cache.cache),
        tags_ttl: max_age.max(Duration::from_millis(1)),
    };
    let (tags, _, _) = list_tags(client, image, Some(&polling)).await?;
    Ok(tags.into_iter().map(|t| t.name.to_string()).collect())
}

async fn list_tags(
    client: &RegistryClient,
    image: &ImageRef,
    cache: Option<&RegistryCache>,
) -> Result<(Vec<Tag>, u32, usize), RegistryError> {
    let repository = image.repository();
    let Some(cache) = cache.filter(|c| !c.tags_ttl.is_zero()) else {
        let listing = client.tags(repository).await?;
        return Ok((listing.tags, listing.pages, listing.invalid));
    };
    let key = TagsKey::read_with(image, client.credential_source());
    let (mut pages, mut invalid) = (0, 0);
    let fetch = async {
        let listing = client.tags(repository).await?;
        (pages, invalid) = (listing.pages, listing.invalid);
        Ok(listing.tags)
    };
    let outcome = cache::tags_or_fetch(&*cache.cache, &key, cache.tags_ttl, fetch)
        .await
        .map_err(|e: Arc<RegistryError>| RegistryError::clone(&e))?;
    tracing::debug!(repository = %key, source = ?outcome.source, fetched_at = %outcome.tags.fetched_at, "tag list");
    Ok((outcome.tags.tags, pages, invalid))
}

/// Dates tags by their place in a list the registry sends in build order (registries.conf `tagsortmode`), as
/// argocd-image-updater does: `newest-build` then needs no config read. Only the order of the dates means anything.
fn date_by_position(tags: &mut [Tag], order: TagSortMode) {
    let count = tags.len() as i64;
    for (i, tag) in tags.iter_mut().enumerate() {
        let position = if order == TagSortMode::LatestFirst {
            count - i as i64
        } else {
            i as i64
        };
        tag.created = DateTime::from_timestamp(position, 0);
    }
}

/// The platforms to read images for: the policy's, else `linux/amd64` (argocd-image-updater's default).
fn wanted_platforms(policy: &Policy) -> Vec<Platform> {
    if policy.platforms.is_empty() {
        vec![Platform::linux_amd64()]
    } else {
        policy.platforms.clone()
    }
}

/// Reads the build time of every tag in `wanted` (those that passed the filters), concurrently (the client enforces the registry's
/// concurrency and rate limits). Tags without an image for the platforms become unavailable.
///
/// With a cache, build times are kept by image digest, and which digest each tag names is trusted for the tag-list
/// TTL, as the list itself is. Within it, only tags not seen before are read; past it, one `HEAD` per tag (which
/// Docker Hub does not count as a pull) says which images are new, and only theirs are read. A re-pushed tag names
/// a new digest, so once its mapping is checked again its new build time is read.
async fn read_build_times(
    client: &RegistryClient,
    image: &ImageRef,
    wanted: Vec<String>,
    platforms: &[Platform],
    resolution: &mut Resolution,
    cache: Option<&RegistryCache>,
) -> Result<(), RegistryError> {
    let repository = image.repository();
    let key = MetadataKey::new(image.name(), platforms);
    let known = match cache {
        Some(c) => c.cache.image_metadata(&key).await,
        None => KnownImages::default(),
    };
    let now = cache.map(|c| c.cache.now());
    let trusted = cache
        .zip(now)
        .is_some_and(|(c, now)| known.tags_fresh(now, c.tags_ttl));
    // Nothing known (no cache, or its first render): each tag's config read names its digest anyway. Otherwise a
    // HEAD says which image each tag names, for the tags a trusted mapping does not answer for.
    let (mut digests, checked_at) = if trusted {
        (known.tags.clone(), known.tags_checked_at)
    } else {
        (BTreeMap::new(), now)
    };
    if !known.images.is_empty() {
        let unmapped: Vec<String> = wanted
            .iter()
            .filter(|name| !digests.contains_key(*name))
            .cloned()
            .collect();
        digests.extend(head_each(client, repository, &unmapped).await?);
    }
    let index: HashMap<String, usize> = resolution
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_string(), i))
        .collect();
    let mut seen = Seen::default();
    let mut to_read = Vec::new();
    for name in wanted {
        let digest = digests.get(&name);
        match digest.and_then(|d| Some((d, *known.images.get(d)?))) {
            Some((digest, metadata)) => {
                record(resolution, index[&name], digest, metadata);
                seen.insert(name, digest.clone(), metadata);
            }
            // By digest when it is known: the tag may have moved since.
            None => to_read.push((name.clone(), digest.cloned().unwrap_or(name))),
        }
    }
    if cache.is_some() {
        let read = to_read.len() as u64;
        crate::metrics::count_cache_lookups(CacheKind::Digests, seen.tags.len() as u64, read);
    }

    let mut reads = JoinSet::new();
    for (name, reference) in to_read {
        let (client, repository, platforms) =
            (client.clone(), repository.to_string(), platforms.to_vec());
        reads.spawn(async move {
            let config = client
                .image_config(&repository, &reference, &platforms)
                .await;
            (name, reference, config)
        });
    }
    while let Some(joined) = reads.join_next().await {
        let (name, reference, config) = joined.expect("a config read does not panic");
        let (digest, metadata) = match config {
            Ok(config) => (
                config.digest,
                ImageMetadata::Built {
                    created: config.created,
                },
            ),
            // Kept only when read by digest: by tag, which image lacked the platforms is unknown.
            Err(e)
                if matches!(e.kind(), RegistryErrorKind::PlatformNotFound { .. })
                    && !is_valid_digest(&reference) =>
            {
                resolution.unavailable.insert(name);
                continue;
            }
            Err(e) if matches!(e.kind(), RegistryErrorKind::PlatformNotFound { .. }) => {
                (reference, ImageMetadata::NoImageForPlatforms)
            }
            // Dropping the set aborts the reads still running.
            Err(e) => return Err(e),
        };
        record(resolution, index[&name], &digest, metadata);
        seen.insert(name, digest, metadata);
    }

    if let Some(cache) = cache {
        let listed: HashSet<&str> = resolution.tags.iter().map(|t| t.name.as_str()).collect();
        let next = next_known(&known, trusted, seen, checked_at, &listed);
        if next != known
            && let Err(e) = cache.cache.store_image_metadata(&key, &next).await
        {
            tracing::warn!(repository = %key.repository, error = %e, "cannot cache build times");
        }
    }
    Ok(())
}

/// What one resolution learnt: the images of the tags it looked at, and which digest each tag named.
#[derive(Default)]
struct Seen {
    images: BTreeMap<String, ImageMetadata>,
    tags: BTreeMap<String, String>,
}

impl Seen {
    fn insert(&mut self, tag: String, digest: String, metadata: ImageMetadata) {
        self.tags.insert(tag, digest.clone());
        self.images.insert(digest, metadata);
    }
}

/// What to keep after a resolution. Images: what was known and what was seen, unless that has grown well past
/// the repository's tags (images whose tags moved on or were deleted), then only what was seen. Tags: what was
/// seen, plus the still trusted mappings of tags that are still listed (another policy on the repository may
/// filter other tags), checked at `checked_at`.
fn next_known(
    known: &KnownImages,
    trusted: bool,
    seen: Seen,
    checked_at: Option<DateTime<Utc>>,
    listed: &HashSet<&str>,
) -> KnownImages {
    // Bounded by the repository, not by one policy's share of it: policies filtering different tags of one
    // repository must not evict each other's images.
    let limit = (2 * listed.len()).max(MIN_METADATA_KEPT);
    let mut images = known.images.clone();
    images.extend(seen.images.iter().map(|(d, m)| (d.clone(), *m)));
    if images.len() > limit {
        images = seen.images;
    }
    let mut tags: BTreeMap<String, String> = if trusted {
        known
            .tags
            .iter()
            .filter(|(name, _)| listed.contains(name.as_str()))
            .map(|(name, digest)| (name.clone(), digest.clone()))
            .collect()
    } else {
        BTreeMap::new()
    };
    tags.extend(seen.tags);
    KnownImages {
        images,
        tags,
        tags_checked_at: checked_at,
    }
}

/// The digest of each tag in `names`, by one `HEAD` each, concurrently.
async fn head_each(
    client: &RegistryClient,
    repository: &str,
    names: &[String],
) -> Result<BTreeMap<String, String>, RegistryError> {
    let mut heads = JoinSet::new();
    for name in names {
        let (client, repository, name) = (client.clone(), repository.to_string(), name.clone());
        heads.spawn(async move {
            let digest = client.digest(&repository, &name).await;
            (name, digest)
        });
    }
    let mut digests = BTreeMap::new();
    while let Some(joined) = heads.join_next().await {
        let (name, digest) = joined.expect("a HEAD does not panic");
        digests.insert(name, digest?);
    }
    Ok(digests)
}

fn record(resolution: &mut Resolution, index: usize, digest: &str, metadata: ImageMetadata) {
    let tag = &mut resolution.tags[index];
    match metadata {
        ImageMetadata::Built { created } => {
            tag.created = created;
            tag.digest = Some(digest.to_string());
        }
        ImageMetadata::NoImageForPlatforms => {
            resolution.unavailable.insert(tag.name.to_string());
        }
    }
}

/// Images whose build times are kept per repository and platforms however few tags it lists now.
const MIN_METADATA_KEPT: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lists_date_tags_by_position() {
        for (name, order, want) in [
            ("latest first", TagSortMode::LatestFirst, "a"),
            ("latest last", TagSortMode::LatestLast, "c"),
        ] {
            let mut tags: Vec<Tag> = ["a", "b", "c"].map(|n| Tag::parse(n).unwrap()).into();
            date_by_position(&mut tags, order);
            let newest = tags.iter().max_by_key(|t| t.created).unwrap();
            assert_eq!(newest.name, want, "{name}");
            assert!(
                tags.iter().all(|t| t.created.is_some()),
                "{name}: all dated"
            );
        }
    }

    fn digest(n: usize) -> String {
        format!("sha256:{n:064x}")
    }

    /// Tags `t<n>` naming images `n` for each `n` in `range`.
    fn seen(range: std::ops::Range<usize>) -> Seen {
        let mut seen = Seen::default();
        for n in range {
            seen.insert(
                format!("t{n}"),
                digest(n),
                ImageMetadata::Built { created: None },
            );
        }
        seen
    }

    fn known(range: std::ops::Range<usize>) -> KnownImages {
        let seen = seen(range);
        KnownImages {
            images: seen.images,
            tags: seen.tags,
            tags_checked_at: Some(DateTime::UNIX_EPOCH),
        }
    }

    fn names(map: &BTreeMap<String, String>) -> Vec<&str> {
        map.keys().map(String::as_str).collect()
    }

    #[test]
    fn kept_images_grow_until_they_dwarf_the_repositorys_tags() {
        let cases = [
            ("first render", 3, known(0..0), seen(0..3), 3),
            ("nothing new", 3, known(0..3), seen(1..3), 3),
            ("new images join", 5, known(0..3), seen(2..5), 5),
            (
                "past the floor of 1000: only those seen",
                3,
                known(0..999),
                seen(998..1001),
                3,
            ),
            (
                "policies sharing a repository of 1200 tags keep each other's",
                1200,
                known(0..800),
                seen(800..1200),
                1200,
            ),
            (
                "past twice the repository's tags",
                700,
                known(0..1500),
                seen(0..700),
                700,
            ),
        ];
        for (name, listed, known, seen, want) in cases {
            let listed: Vec<String> = (0..listed).map(|i| format!("t{i}")).collect();
            let listed: HashSet<&str> = listed.iter().map(String::as_str).collect();
            let next = next_known(&known, false, seen, None, &listed);
            assert_eq!(next.images.len(), want, "{name}");
        }
    }

    #[test]
    fn trusted_tag_mappings_are_kept_while_their_tags_are_listed() {
        let listed: HashSet<&str> = ["t0", "t1", "t5"].into();
        let checked = Some(DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(60));
        let next = next_known(&known(0..3), true, seen(5..6), checked, &listed);
        assert_eq!(
            names(&next.tags),
            ["t0", "t1", "t5"],
            "t2 is no longer listed"
        );
        assert_eq!(next.tags_checked_at, checked);

        let next = next_known(&known(0..3), false, seen(5..6), checked, &listed);
        assert_eq!(names(&next.tags), ["t5"], "untrusted mappings are dropped");
    }
}
