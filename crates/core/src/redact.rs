//! Credentials taken out of URLs before they are shown: the one redaction every message, log line and tool output
//! that may quote a repository or registry URL goes through.
//!
//! A URL's userinfo (`user:password@`, or a token as user name) and its query and fragment (`?access_token=…`)
//! become `<redacted>`; what is left (scheme, host, path) still says which URL is meant.

/// What a secret part of a URL is replaced with.
pub const REDACTED: &str = "<redacted>";

/// `text` with the userinfo, query and fragment of every `scheme://` URL in it replaced by `<redacted>`: for a
/// URL that was refused, or a tool's output that might quote one. A URL ends at white space or a quote.
///
/// ```
/// use argocd_image_resolver_core::redact::redact_url;
/// assert_eq!(
///     redact_url("fatal: unable to access 'https://bob:pw@h/r.git?access_token=t'"),
///     "fatal: unable to access 'https://<redacted>@h/r.git?<redacted>'"
/// );
/// ```
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        out.push_str(&redact_address(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A repository URL that is shown (refused, or named in a message): [`redact_url`]'s redaction, and for the
/// scp-like `user@host:path` the part before the last `@` too (`user:password@host:path` has no other place for
/// a secret).
///
/// ```
/// use argocd_image_resolver_core::redact::redact_remote;
/// assert_eq!(redact_remote("u:hunter2@host:org/r.git"), "<redacted>@host:org/r.git");
/// assert_eq!(redact_remote("git@host:org/r.git"), "<redacted>@host:org/r.git");
/// assert_eq!(redact_remote("https://host/r.git"), "https://host/r.git");
/// ```
pub fn redact_remote(text: &str) -> String {
    if text.contains("://") {
        redact_url(text)
    } else {
        redact_address(text)
    }
}

/// One URL without its scheme (`user:pw@host/path?query`): the userinfo ends at the last `@`, so that a password
/// holding a raw `/` is hidden whole; the query or fragment starts at the first `?` or `#`. When such a
/// character comes before the last `@`, which part is secret is unclear, and all of it is hidden.
fn redact_address(address: &str) -> String {
    match (address.rfind('@'), address.find(['?', '#'])) {
        (Some(at), Some(query)) if query < at => REDACTED.to_string(),
        (at, query) => {
            let mut out = String::with_capacity(address.len());
            let host = match at {
                Some(at) => {
                    out.push_str(REDACTED);
                    out.push('@');
                    at + 1
                }
                None => 0,
            };
            match query {
                Some(query) => {
                    out.push_str(&address[host..=query]);
                    out.push_str(REDACTED);
                }
                None => out.push_str(&address[host..]),
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_and_query_in_text() {
        for (name, text, want) in [
            (
                "none",
                "fatal: unable to access 'https://h/r.git/'",
                "fatal: unable to access 'https://h/r.git/'",
            ),
            (
                "user and password",
                "x https://u:p@h:1/r y",
                "x https://<redacted>@h:1/r y",
            ),
            (
                "two urls",
                "http://a@h/ and ssh://b:c@i/",
                "http://<redacted>@h/ and ssh://<redacted>@i/",
            ),
            ("quoted", "'http://u:p@h'", "'http://<redacted>@h'"),
            ("no scheme", "user@host:path", "user@host:path"),
            (
                "query",
                "https://h/x.git?access_token=hunter2",
                "https://h/x.git?<redacted>",
            ),
            (
                "fragment",
                "https://h/x.git#hunter2",
                "https://h/x.git#<redacted>",
            ),
            (
                "query without a path",
                "https://h?access_token=hunter2 next",
                "https://h?<redacted> next",
            ),
            (
                "password and query",
                "https://bob:hunter2@h/x.git?token=hunter2",
                "https://<redacted>@h/x.git?<redacted>",
            ),
            (
                "a raw '/' in the password",
                "https://bob:hun/ter2@h/x.git",
                "https://<redacted>@h/x.git",
            ),
            (
                "a raw '?' in the password",
                "https://bob:hun?ter2@h/x.git",
                "https://<redacted>",
            ),
            (
                "an '@' in the query",
                "https://h/x.git?token=hun@ter2",
                "https://<redacted>",
            ),
        ] {
            assert_eq!(redact_url(text), want, "{name}");
        }
    }

    #[test]
    fn redacts_remotes_in_either_form() {
        for (name, text, want) in [
            ("https", "https://h/r.git", "https://h/r.git"),
            (
                "https with a token",
                "https://hunter2@h/r.git",
                "https://<redacted>@h/r.git",
            ),
            ("scp-like", "git@h:org/r.git", "<redacted>@h:org/r.git"),
            (
                "scp-like with a password",
                "u:hunter2@h:org/r.git",
                "<redacted>@h:org/r.git",
            ),
            ("scp-like without user", "h:org/r.git", "h:org/r.git"),
            (
                "scp-like with a query",
                "h:org/r.git?token=hunter2",
                "h:org/r.git?<redacted>",
            ),
        ] {
            assert_eq!(redact_remote(text), want, "{name}");
        }
    }
}
