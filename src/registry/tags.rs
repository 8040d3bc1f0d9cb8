//! Tag listing with pagination: follows `Link: <…>; rel="next"` on the same origin, falls back to `?last=` when a
//! page is exactly full and carries no link (Quay caps `n`), de-duplicates, and caps the number of pages.
//! Pages are never assumed to be sorted: the fallback stops as soon as a page brings no new tag.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::client::{Call, Purpose, RegistryClient, validate};
use super::config::QUAY_PAGE_SIZE;
use super::error::RegistryError;
use super::urls::{self, redact};

/// Largest tag-list page read (distribution returns every tag in one page).
const MAX_TAGS_BODY: usize = 64 << 20;

/// The tags of one repository and what listing them cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList {
    /// In the order the registry sent them (which `tagsortmode` may describe), duplicates removed.
    pub tags: Vec<String>,
    /// Pages read.
    pub pages: u32,
    /// HTTP requests sent for this listing, token requests and retries included.
    pub requests: u32,
    pub elapsed: Duration,
}

#[derive(Deserialize)]
struct TagsBody {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Lists every tag of `repository` (e.g. `library/nginx`), within the operation deadline.
    ///
    /// A registry that rejects the page size (`TOO_MANY_TAGS_REQUESTED` or `PAGINATION_NUMBER_INVALID`) is asked
    /// again once with `n=100` before the error is returned.
    pub async fn tags(&self, repository: &str) -> Result<TagList, RegistryError> {
        let inner = &self.inner;
        let op = inner.op(repository, "tags/list");
        validate(&op, repository, None)?;
        let scope = urls::pull_scope(repository);
        let base = &inner.endpoint.api_url;
        let mut page_size = inner.endpoint.page_size.max(1);
        let mut url = urls::tags_url(base, repository, Some(page_size), None);
        let mut visited = HashSet::from([url.clone()]);
        let mut seen: HashSet<String> = HashSet::new();
        let mut tags = Vec::new();
        let mut pages = 0u32;
        loop {
            if pages >= inner.options.max_pages {
                return Err(RegistryError::TooManyPages {
                    target: op.target.clone(),
                    max_pages: inner.options.max_pages,
                });
            }
            let purpose = Purpose::TagPage { page_size };
            let call = Call {
                method: Method::GET,
                url: &url,
                accept: "application/json",
                scope: &scope,
                purpose,
                max_body: MAX_TAGS_BODY,
            };
            let response = match inner.registry_request(&op, call).await {
                Ok(response) => response,
                Err(RegistryError::PageSizeRejected { .. }) if page_size > QUAY_PAGE_SIZE => {
                    tracing::debug!(url = %redact(&url), page_size, "page size rejected; retrying with n=100");
                    page_size = QUAY_PAGE_SIZE;
                    let last = url
                        .query_pairs()
                        .find(|(k, _)| k == "last")
                        .map(|(_, v)| v.into_owned());
                    url = urls::tags_url(base, repository, Some(page_size), last.as_deref());
                    visited.insert(url.clone());
                    continue;
                }
                Err(error) => return Err(error),
            };
            pages += 1;
            let body: TagsBody = serde_json::from_slice(&response.body).map_err(|e| {
                RegistryError::InvalidResponse {
                    target: op.target.clone(),
                    url: redact(&url),
                    reason: format!("tag list is not {{\"tags\": [...]}} JSON: {e}"),
                }
            })?;
            let page = body.tags.unwrap_or_default();
            let page_len = page.len();
            let last_of_page = page.last().cloned();
            let mut new_tags = 0usize;
            for tag in page {
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                    new_tags += 1;
                }
            }
            let links = response.header_all("link");
            // Relative links resolve against the URL we asked, keeping its host and port.
            let next = urls::next_link(&links, &url).map_err(|source| RegistryError::Url {
                target: op.target.clone(),
                source,
            })?;
            if let Some(next) = next {
                if !visited.insert(next.clone()) {
                    return Err(RegistryError::InvalidResponse {
                        target: op.target.clone(),
                        url: redact(&url),
                        reason: format!("next page link {} was already followed", redact(&next)),
                    });
                }
                url = next;
                continue;
            }
            // No link, but exactly `n` tags: the registry may have capped the page without saying so. A page
            // with more than `n` tags means the registry ignored `n` (distribution 2.8) and sent everything.
            match last_of_page {
                Some(last) if page_len == page_size as usize && new_tags > 0 => {
                    url = urls::tags_url(base, repository, Some(page_size), Some(&last));
                    visited.insert(url.clone());
                }
                _ => break,
            }
        }
        Ok(TagList {
            tags,
            pages,
            requests: op.requests.load(std::sync::atomic::Ordering::Relaxed),
            elapsed: op.started.elapsed(),
        })
    }
}
