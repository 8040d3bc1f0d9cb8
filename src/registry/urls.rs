//! Pure builders for distribution-API URLs and token scopes, and the `Link` header reader for tag pages.
//!
//! Nothing here does I/O: every request URL the client sends is built (and every `next` link is judged) by a
//! function in this file, so the rules (same origin only, no userinfo in logs) are tested with tables.

use url::Url;

/// The media types a manifest request accepts: a registry answers 404/400 when the stored type is missing here.
pub const MANIFEST_ACCEPT: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Why a repository, reference, URL or `Link` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error(
        "repository name '{0}' is invalid: use lower-case path components such as 'library/nginx' \
         ([a-z0-9] separated by '.', '_', '__' or '-', joined by '/')"
    )]
    Repository(String),
    #[error(
        "reference '{0}' is neither a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}) nor a digest (algorithm:hex)"
    )]
    Reference(String),
    #[error("token realm '{0}' is not an http(s) URL")]
    Realm(String),
    #[error("link header '{0}' is malformed: expected '<url>; rel=\"next\"'")]
    Link(String),
    #[error("next page link '{link}' leaves {origin}: refusing to follow it to another origin")]
    CrossOrigin { link: String, origin: String },
}

/// Checks a repository path against the distribution grammar, so it can be put into a URL path verbatim.
pub fn validate_repository(repository: &str) -> Result<(), UrlError> {
    let bad = || UrlError::Repository(repository.to_string());
    if repository.is_empty() || repository.len() > 255 {
        return Err(bad());
    }
    for component in repository.split('/') {
        if !valid_component(component) {
            return Err(bad());
        }
    }
    Ok(())
}

/// One path component: `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(separator == "." || separator == "_" || separator == "__" || dashes) {
            return false;
        }
    }
    true
}

/// Checks a tag or digest, so it can be put into a URL path verbatim.
pub fn validate_reference(reference: &str) -> Result<(), UrlError> {
    // One grammar for tags and digests, the image reference's: what is asked for is what can be written back.
    if crate::image::is_valid_digest(reference) || crate::image::is_valid_tag(reference) {
        Ok(())
    } else {
        Err(UrlError::Reference(reference.to_string()))
    }
}

/// Appends `/v2/<rest>` to the API base, keeping any path prefix the base has (registries behind a path).
fn v2_url(base: &Url, rest: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/v2/{rest}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// `GET /v2/`: the ping that tells whether and how the registry wants authentication.
pub fn ping_url(base: &Url) -> Url {
    v2_url(base, "")
}

/// `GET /v2/<repository>/tags/list[?n=…&last=…]`.
pub fn tags_url(base: &Url, repository: &str, page_size: Option<u32>, last: Option<&str>) -> Url {
    let mut url = v2_url(base, &format!("{repository}/tags/list"));
    if page_size.is_some() || last.is_some() {
        let mut query = url.query_pairs_mut();
        if let Some(n) = page_size {
            query.append_pair("n", &n.to_string());
        }
        if let Some(last) = last {
            query.append_pair("last", last);
        }
    }
    url
}

/// `/v2/<repository>/manifests/<reference>` (tag or digest).
pub fn manifest_url(base: &Url, repository: &str, reference: &str) -> Url {
    v2_url(base, &format!("{repository}/manifests/{reference}"))
}

/// `/v2/<repository>/blobs/<digest>`.
pub fn blob_url(base: &Url, repository: &str, digest: &str) -> Url {
    v2_url(base, &format!("{repository}/blobs/{digest}"))
}

/// The token scope that allows reading one repository.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// `GET realm?service=…&scope=…`: the token request of the Docker token protocol.
pub fn token_url(realm: &str, service: Option<&str>, scope: &str) -> Result<Url, UrlError> {
    let mut url = parse_realm(realm)?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = service {
            query.append_pair("service", service);
        }
        query.append_pair("scope", scope);
    }
    Ok(url)
}

/// A realm as a URL (only http and https are acceptable token endpoints).
pub fn parse_realm(realm: &str) -> Result<Url, UrlError> {
    let url = Url::parse(realm).map_err(|_| UrlError::Realm(realm.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(UrlError::Realm(realm.to_string()));
    }
    Ok(url)
}

/// Same scheme, host and port: the only places a registry credential or a next-page request may go.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `scheme://host[:port]` for messages.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The URL without user name and password, for logs and error messages.
pub fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    // Both setters only fail for URLs that cannot carry userinfo, which then have none to hide.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// Finds the `rel="next"` target among `Link` header values, resolved against the request URL.
///
/// A relative link (ACR sends `</v2/…?last=…>`) keeps the request's scheme, host and port; an absolute link to
/// another origin is an error, because following it would send the registry's credential elsewhere.
///
/// ```
/// use argocd_image_resolver::registry::urls::next_link;
/// let base = url::Url::parse("https://r.example:5000/v2/app/tags/list?n=2").unwrap();
/// let next = next_link(&["</v2/app/tags/list?n=2&last=b>; rel=\"next\""], &base).unwrap();
/// assert_eq!(next.unwrap().as_str(), "https://r.example:5000/v2/app/tags/list?n=2&last=b");
/// ```
pub fn next_link(values: &[&str], base: &Url) -> Result<Option<Url>, UrlError> {
    for value in values {
        for (target, rels) in parse_link_header(value)? {
            if !rels
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
            {
                continue;
            }
            let url = base
                .join(&target)
                .map_err(|_| UrlError::Link(value.to_string()))?;
            if !same_origin(&url, base) {
                return Err(UrlError::CrossOrigin {
                    link: redact(&url),
                    origin: origin(base),
                });
            }
            return Ok(Some(url));
        }
    }
    Ok(None)
}

/// Splits one `Link` header value into `(target, rel)` pairs; links without `rel` get an empty one.
fn parse_link_header(value: &str) -> Result<Vec<(String, String)>, UrlError> {
    let malformed = || UrlError::Link(value.to_string());
    let mut links = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        let after_open = rest.strip_prefix('<').ok_or_else(malformed)?;
        let close = after_open.find('>').ok_or_else(malformed)?;
        let target = after_open[..close].trim().to_string();
        rest = &after_open[close + 1..];
        let mut rel = String::new();
        // Parameters: `; name=value` or `; name="quoted, value"` until the next `,` outside quotes.
        loop {
            rest = rest.trim_start();
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start();
                break;
            }
            let Some(after_semicolon) = rest.strip_prefix(';') else {
                if rest.is_empty() {
                    break;
                }
                return Err(malformed());
            };
            let param = after_semicolon.trim_start();
            let eq = param.find('=').ok_or_else(malformed)?;
            let name = param[..eq].trim();
            let raw = param[eq + 1..].trim_start();
            let (param_value, remainder) = if let Some(quoted) = raw.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(malformed)?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = raw.find([';', ',']).unwrap_or(raw.len());
                (raw[..end].trim(), &raw[end..])
            };
            if name.eq_ignore_ascii_case("rel") {
                rel = param_value.to_string();
            }
            rest = remainder;
        }
        links.push((target, rel));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn repository_names() {
        for (name, repository, ok) in [
            ("single component", "nginx", true),
            ("two components", "library/nginx", true),
            ("deep path", "a/b/c/d", true),
            ("dots underscores dashes", "my.org/app_1/x__y/a--b", true),
            ("empty", "", false),
            ("upper case", "Library/nginx", false),
            ("leading slash", "/nginx", false),
            ("trailing slash", "nginx/", false),
            ("double slash", "a//b", false),
            ("dot dot", "a/../b", false),
            ("triple underscore", "a___b", false),
            ("leading dash", "-a", false),
            ("query injection", "a?b", false),
            ("space", "a b", false),
        ] {
            assert_eq!(validate_repository(repository).is_ok(), ok, "{name}");
        }
        assert_eq!(
            validate_repository("A").unwrap_err().to_string(),
            "repository name 'A' is invalid: use lower-case path components such as 'library/nginx' \
             ([a-z0-9] separated by '.', '_', '__' or '-', joined by '/')"
        );
    }

    #[test]
    fn references() {
        let sha = format!("sha256:{}", "a".repeat(64));
        for (name, reference, ok) in [
            ("simple tag", "v1.2.3", true),
            ("underscore start", "_x", true),
            ("latest", "latest", true),
            ("digest", sha.as_str(), true),
            ("short sha256", "sha256:abc", false),
            (
                "upper hex sha256",
                &format!("sha256:{}", "A".repeat(64)),
                false,
            ),
            ("sha512", &format!("sha512:{}", "b".repeat(128)), true),
            // One grammar with image references: a digest that could not be written back is not asked for.
            ("short sha512", "sha512:abcdef", false),
            ("dot start", ".x", false),
            ("dash start", "-x", false),
            ("slash", "a/b", false),
            ("empty", "", false),
            ("too long", &"a".repeat(129), false),
            ("max length", &"a".repeat(128), true),
        ] {
            assert_eq!(validate_reference(reference).is_ok(), ok, "{name}");
        }
        assert_eq!(
            validate_reference("a/b").unwrap_err().to_string(),
            "reference 'a/b' is neither a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) nor a digest (algorithm:hex)"
        );
    }

    #[test]
    fn builders() {
        let base = url("https://registry-1.docker.io");
        let prefixed = url("https://art.example/artifactory/api/docker/repo/");
        for (name, got, want) in [
            ("ping", ping_url(&base), "https://registry-1.docker.io/v2/"),
            (
                "ping under prefix",
                ping_url(&prefixed),
                "https://art.example/artifactory/api/docker/repo/v2/",
            ),
            (
                "tags plain",
                tags_url(&base, "library/nginx", None, None),
                "https://registry-1.docker.io/v2/library/nginx/tags/list",
            ),
            (
                "tags with n",
                tags_url(&base, "library/nginx", Some(100), None),
                "https://registry-1.docker.io/v2/library/nginx/tags/list?n=100",
            ),
            (
                "tags with n and last",
                tags_url(&base, "a", Some(10), Some("v1+b")),
                "https://registry-1.docker.io/v2/a/tags/list?n=10&last=v1%2Bb",
            ),
            (
                "manifest",
                manifest_url(&url("http://127.0.0.1:5000"), "a/b", "v1"),
                "http://127.0.0.1:5000/v2/a/b/manifests/v1",
            ),
            (
                "blob under prefix",
                blob_url(&prefixed, "a", "sha256:00"),
                "https://art.example/artifactory/api/docker/repo/v2/a/blobs/sha256:00",
            ),
            (
                "token",
                token_url(
                    "https://auth.docker.io/token",
                    Some("registry.docker.io"),
                    "repository:a/b:pull",
                )
                .unwrap(),
                "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Aa%2Fb%3Apull",
            ),
            (
                "token realm with query",
                token_url("https://ghcr.io/token?x=1", None, "repository:a:pull").unwrap(),
                "https://ghcr.io/token?x=1&scope=repository%3Aa%3Apull",
            ),
        ] {
            assert_eq!(got.as_str(), want, "{name}");
        }
        assert_eq!(pull_scope("library/nginx"), "repository:library/nginx:pull");
    }

    #[test]
    fn realms() {
        for (name, realm, want) in [
            ("https", "https://auth.example/token", Ok(())),
            ("http", "http://127.0.0.1:1/token", Ok(())),
            (
                "ftp",
                "ftp://x/token",
                Err(UrlError::Realm("ftp://x/token".into())),
            ),
            ("relative", "/token", Err(UrlError::Realm("/token".into()))),
            ("empty", "", Err(UrlError::Realm(String::new()))),
        ] {
            assert_eq!(parse_realm(realm).map(|_| ()), want, "{name}");
        }
    }

    #[test]
    fn origins_and_redaction() {
        for (name, a, b, same) in [
            ("identical", "https://a/x", "https://a/y", true),
            (
                "default port spelled out",
                "https://a/x",
                "https://a:443/y",
                true,
            ),
            (
                "other port",
                "http://127.0.0.1:1/",
                "http://127.0.0.1:2/",
                false,
            ),
            ("other scheme", "http://a/", "https://a/", false),
            ("other host", "https://a/", "https://b/", false),
        ] {
            assert_eq!(same_origin(&url(a), &url(b)), same, "{name}");
        }
        assert_eq!(
            redact(&url("https://u:p@host:1/v2/?n=1")),
            "https://host:1/v2/?n=1"
        );
        assert_eq!(redact(&url("https://host/v2/")), "https://host/v2/");
    }

    #[test]
    fn next_links() {
        let base = url("https://r.example:5000/v2/app/tags/list?n=2");
        for (name, values, want) in [
            ("none", vec![], Ok(None)),
            (
                "relative path (ACR)",
                vec![r#"</v2/app/tags/list?last=b&n=2&orderby=>; rel="next""#],
                Ok(Some(
                    "https://r.example:5000/v2/app/tags/list?last=b&n=2&orderby=",
                )),
            ),
            (
                "query only",
                vec![r#"<?n=2&last=b>; rel="next""#],
                Ok(Some("https://r.example:5000/v2/app/tags/list?n=2&last=b")),
            ),
            (
                "absolute same origin",
                vec![r#"<https://r.example:5000/v2/app/tags/list?next_page=tok>; rel="next""#],
                Ok(Some(
                    "https://r.example:5000/v2/app/tags/list?next_page=tok",
                )),
            ),
            (
                "unquoted rel and extra params",
                vec![r#"</v2/app/tags/list?last=c>; title="a, b"; rel=next"#],
                Ok(Some("https://r.example:5000/v2/app/tags/list?last=c")),
            ),
            (
                "prev then next in one value",
                vec![
                    r#"</v2/app/tags/list?last=a>; rel="prev", </v2/app/tags/list?last=z>; rel="next""#,
                ],
                Ok(Some("https://r.example:5000/v2/app/tags/list?last=z")),
            ),
            (
                "next in second header",
                vec![
                    r#"</x>; rel="first""#,
                    r#"</v2/app/tags/list?last=q>; rel="next""#,
                ],
                Ok(Some("https://r.example:5000/v2/app/tags/list?last=q")),
            ),
            (
                "only prev",
                vec![r#"</v2/app/tags/list?last=a>; rel="prev""#],
                Ok(None),
            ),
            (
                "other host",
                vec![r#"<https://evil.example/v2/app/tags/list?last=b>; rel="next""#],
                Err(UrlError::CrossOrigin {
                    link: "https://evil.example/v2/app/tags/list?last=b".into(),
                    origin: "https://r.example:5000".into(),
                }),
            ),
            (
                "other port",
                vec![r#"<https://r.example:5001/v2/x>; rel="next""#],
                Err(UrlError::CrossOrigin {
                    link: "https://r.example:5001/v2/x".into(),
                    origin: "https://r.example:5000".into(),
                }),
            ),
            (
                "scheme downgrade",
                vec![r#"<http://r.example:5000/v2/x>; rel="next""#],
                Err(UrlError::CrossOrigin {
                    link: "http://r.example:5000/v2/x".into(),
                    origin: "https://r.example:5000".into(),
                }),
            ),
            (
                "missing brackets",
                vec![r#"/v2/x; rel="next""#],
                Err(UrlError::Link(r#"/v2/x; rel="next""#.into())),
            ),
            (
                "unclosed bracket",
                vec![r#"</v2/x; rel="next""#],
                Err(UrlError::Link(r#"</v2/x; rel="next""#.into())),
            ),
        ] {
            let got = next_link(&values, &base).map(|u| u.map(|u| u.to_string()));
            assert_eq!(got, want.map(|o| o.map(str::to_string)), "{name}");
        }
    }
}
