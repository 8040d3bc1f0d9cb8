//! Whether a pinned tag exists in its registry, at the least cost: a fresh cached tag list that holds it says so
//! without a request (warm renders stay request-free), else one `HEAD` of its manifest (which Docker Hub does not
//! count as a pull). Only when the registry answers that the manifest does not exist are the repository's tags
//! listed (through the cache, as a resolution lists them), to name the nearest ones.

use super::{RegistryCache, list_tags};
use crate::cache::TagsKey;
use crate::image::ImageRef;
use crate::registry::{RegistryClient, RegistryError, RegistryErrorKind};
use crate::tag::{self, Tag};

/// How many existing tags the message about a missing pin offers.
pub const NEAREST_SHOWN: usize = 5;

/// What the registry said of a pinned tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinCheck {
    /// It exists: a fresh cached tag list holds it.
    Cached,
    /// It exists: the registry answered a `HEAD` of its manifest, naming this digest.
    Found { digest: String },
    /// The registry answered that it does not exist.
    Missing {
        /// The existing tags nearest to it, nearest first, at most [`NEAREST_SHOWN`].
        nearest: Vec<String>,
        /// Why the repository's tags could not be listed for `nearest`, when they could not.
        unlisted: Option<RegistryError>,
    },
}

/// Checks that `image` has `tag`, through `cache` when given. Every answer but "it exists" and "it does not"
/// (the registry unreachable or late, a 5xx, a credential refused) is the error: the caller renders the pin
/// anyway, since a pin is for emergencies.
pub async fn check_pin(
    client: &RegistryClient,
    image: &ImageRef,
    tag: &str,
    cache: Option<&RegistryCache>,
) -> Result<PinCheck, RegistryError> {
    if let Some(tags) = fresh_tags(client, image, cache).await
        && tags.iter().any(|t| t.name.as_str() == tag)
    {
        return Ok(PinCheck::Cached);
    }
    // A fresh list without the tag is no proof: the tag may have been pushed since the list was fetched.
    match client.digest(image.repository(), tag).await {
        Ok(digest) => Ok(PinCheck::Found { digest }),
        Err(e) if matches!(e.kind(), RegistryErrorKind::ManifestNotFound { .. }) => {
            Ok(match list_tags(client, image, cache).await {
                Ok((tags, _, _)) => PinCheck::Missing {
                    nearest: nearest(tag, &tags),
                    unlisted: None,
                },
                Err(e) => PinCheck::Missing {
                    nearest: Vec::new(),
                    unlisted: Some(e),
                },
            })
        }
        Err(e) => Err(e),
    }
}

/// The tag list of `image` in `cache` when it is fresh, without asking the registry.
async fn fresh_tags(
    client: &RegistryClient,
    image: &ImageRef,
    cache: Option<&RegistryCache>,
) -> Option<Vec<Tag>> {
    let cache = cache.filter(|c| !c.tags_ttl.is_zero())?;
    let key = TagsKey::read_with(image, client.credential_source());
    Some(cache.cache.tags(&key, cache.tags_ttl).await?.tags)
}

fn nearest(tag: &str, tags: &[Tag]) -> Vec<String> {
    tag::nearest(tag, tags.iter().map(|t| t.name.as_str()), NEAREST_SHOWN)
        .into_iter()
        .map(String::from)
        .collect()
}
