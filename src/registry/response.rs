//! The one response choke point: every registry and token-server reply passes through [`check`], which turns a
//! status, headers and body into either the response or a classified [`Failure`] carrying the OCI error envelope.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use url::Url;

use super::challenge::{self, Challenge, ChallengeError};
use super::urls::redact;

/// A complete HTTP response: the body is read before classification so error envelopes can be shown.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The URL that answered (after redirects).
    pub url: Url,
}

impl Response {
    /// A header as text; `None` when missing or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All values of a header that are visible ASCII, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

/// One entry of the OCI error envelope `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OciError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(serde::Deserialize)]
struct Envelope {
    errors: Vec<OciError>,
}

/// What kind of failure a status means to the client: drives retrying and the error the caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 401: credentials missing, expired or wrong; the challenges say what to send.
    Unauthorized,
    /// 403: authenticated but not allowed.
    Denied,
    /// 404.
    NotFound,
    /// 429 (or 408): back off, honouring `Retry-After`.
    RateLimited,
    /// 500, 502, 503, 504: transient server trouble.
    Server,
    /// Anything else that is not a success (400, 405, 501, unfollowed 3xx, …): not retried.
    Rejected,
}

/// A non-success response, classified, with everything an error message needs.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub status: StatusCode,
    /// The URL that answered, without userinfo.
    pub url: String,
    /// The OCI error envelope, when the body carried one.
    pub errors: Vec<OciError>,
    /// A short excerpt of a body that was not an envelope (HTML error pages, plain text), else empty.
    pub excerpt: String,
    /// Parsed `WWW-Authenticate` challenges of a 401 (an unreadable header is kept as the error).
    pub challenges: Result<Vec<Challenge>, ChallengeError>,
    /// `Retry-After`, as a delay from now.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// Whether sending the same request again may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self.kind, FailureKind::RateLimited | FailureKind::Server)
    }

    /// Whether the envelope carries `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.code.eq_ignore_ascii_case(code))
    }
}

/// `HTTP 404 (NAME_UNKNOWN: repository name not known to registry)`.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status.as_u16())?;
        if !self.errors.is_empty() {
            let parts: Vec<String> = self
                .errors
                .iter()
                .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                    (false, false) => format!("{}: {}", e.code, e.message),
                    (false, true) => e.code.clone(),
                    _ => e.message.clone(),
                })
                .collect();
            write!(f, " ({})", parts.join("; "))?;
        } else if !self.excerpt.is_empty() {
            write!(f, " ({})", self.excerpt)?;
        }
        Ok(())
    }
}

/// Longest body excerpt kept in a [`Failure`].
const EXCERPT_CHARS: usize = 200;

/// Passes a 2xx response through and classifies anything else; `now` is the clock for `Retry-After` dates.
pub fn check(response: Response, now: SystemTime) -> Result<Response, Box<Failure>> {
    if response.status.is_success() {
        return Ok(response);
    }
    let status = response.status;
    let kind = match status.as_u16() {
        401 => FailureKind::Unauthorized,
        403 => FailureKind::Denied,
        404 => FailureKind::NotFound,
        408 | 429 => FailureKind::RateLimited,
        500 | 502 | 503 | 504 => FailureKind::Server,
        _ => FailureKind::Rejected,
    };
    let errors = serde_json::from_slice::<Envelope>(&response.body)
        .map(|e| e.errors)
        .unwrap_or_default();
    let excerpt = if errors.is_empty() {
        excerpt(&response.body)
    } else {
        String::new()
    };
    let challenges = if kind == FailureKind::Unauthorized {
        challenge::parse_all(response.header_all(WWW_AUTHENTICATE.as_str()))
    } else {
        Ok(Vec::new())
    };
    let retry_after = response
        .header(RETRY_AFTER.as_str())
        .and_then(|v| parse_retry_after(v, now));
    Err(Box::new(Failure {
        kind,
        status,
        url: redact(&response.url),
        errors,
        excerpt,
        challenges,
        retry_after,
    }))
}

/// The first characters of a text body with whitespace collapsed; empty for binary or empty bodies.
fn excerpt(body: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(body) else {
        return String::new();
    };
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > EXCERPT_CHARS {
        let cut: String = collapsed.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

/// `Retry-After` as delay-seconds or an HTTP date; a date in the past means "now", garbage means "unknown".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
            url: Url::parse("https://u:p@r.example/v2/a/tags/list").unwrap(),
        }
    }

    fn now() -> SystemTime {
        // Wed, 21 Oct 2015 07:28:00 GMT
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn success_passes_through() {
        let ok = check(response(200, &[], "{}"), now()).unwrap();
        assert_eq!(ok.body, b"{}");
    }

    #[test]
    fn classifies_failures() {
        let envelope = r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"a"}}]}"#;
        for (name, status, headers, body, kind, shown, retryable) in [
            (
                "not found with envelope",
                404,
                vec![],
                envelope,
                FailureKind::NotFound,
                "HTTP 404 (NAME_UNKNOWN: repository name not known to registry)",
                false,
            ),
            (
                "unauthorized",
                401,
                vec![("www-authenticate", r#"Basic realm="r""#)],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                FailureKind::Unauthorized,
                "HTTP 401 (UNAUTHORIZED: authentication required)",
                false,
            ),
            (
                "denied, two errors",
                403,
                vec![],
                r#"{"errors":[{"code":"DENIED","message":"no"},{"code":"X"}]}"#,
                FailureKind::Denied,
                "HTTP 403 (DENIED: no; X)",
                false,
            ),
            (
                "rate limited",
                429,
                vec![("retry-after", "3")],
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
                FailureKind::RateLimited,
                "HTTP 429 (TOOMANYREQUESTS: slow down)",
                true,
            ),
            (
                "server error with html",
                503,
                vec![],
                "<html>\n  <body>Service   Unavailable</body></html>",
                FailureKind::Server,
                "HTTP 503 (<html> <body>Service Unavailable</body></html>)",
                true,
            ),
            (
                "empty body",
                500,
                vec![],
                "",
                FailureKind::Server,
                "HTTP 500",
                true,
            ),
            (
                "bad request with code",
                400,
                vec![],
                r#"{"errors":[{"code":"TOO_MANY_TAGS_REQUESTED","message":"n too large"}]}"#,
                FailureKind::Rejected,
                "HTTP 400 (TOO_MANY_TAGS_REQUESTED: n too large)",
                false,
            ),
            (
                "not implemented",
                501,
                vec![],
                "",
                FailureKind::Rejected,
                "HTTP 501",
                false,
            ),
            (
                "unfollowed redirect",
                302,
                vec![],
                "",
                FailureKind::Rejected,
                "HTTP 302",
                false,
            ),
        ] {
            let failure = check(response(status, &headers, body), now()).unwrap_err();
            assert_eq!(failure.kind, kind, "{name}");
            assert_eq!(failure.to_string(), shown, "{name}");
            assert_eq!(failure.retryable(), retryable, "{name}");
            assert_eq!(failure.url, "https://r.example/v2/a/tags/list", "{name}");
        }
    }

    #[test]
    fn keeps_challenges_codes_and_long_excerpts() {
        let failure = check(
            response(
                401,
                &[
                    (
                        "www-authenticate",
                        r#"Bearer realm="https://a/t",service="s""#,
                    ),
                    ("www-authenticate", "Basic"),
                ],
                "",
            ),
            now(),
        )
        .unwrap_err();
        let challenges = failure.challenges.unwrap();
        assert_eq!(challenges.len(), 2);
        assert_eq!(challenges[0].param("realm"), Some("https://a/t"));

        let bad = check(
            response(401, &[("www-authenticate", "Bearer realm=\"x")], ""),
            now(),
        )
        .unwrap_err();
        assert!(bad.challenges.is_err());

        let coded = check(
            response(
                400,
                &[],
                r#"{"errors":[{"code":"too_many_tags_requested"}]}"#,
            ),
            now(),
        )
        .unwrap_err();
        assert!(coded.has_code("TOO_MANY_TAGS_REQUESTED"));
        assert!(!coded.has_code("DENIED"));

        let long = check(response(500, &[], &"x".repeat(300)), now()).unwrap_err();
        assert_eq!(long.excerpt, format!("{}…", "x".repeat(200)));
    }

    #[test]
    fn retry_after_values() {
        for (name, value, want) in [
            ("seconds", "120", Some(Duration::from_secs(120))),
            ("zero", "0", Some(Duration::ZERO)),
            (
                "date in future",
                "Wed, 21 Oct 2015 07:28:05 GMT",
                Some(Duration::from_secs(5)),
            ),
            (
                "date in past",
                "Wed, 21 Oct 2015 07:27:00 GMT",
                Some(Duration::ZERO),
            ),
            ("negative", "-1", None),
            ("garbage", "soon", None),
        ] {
            assert_eq!(parse_retry_after(value, now()), want, "{name}");
        }
        let limited = check(response(429, &[("retry-after", "7")], ""), now()).unwrap_err();
        assert_eq!(limited.retry_after, Some(Duration::from_secs(7)));
    }
}
