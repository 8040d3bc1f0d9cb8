//! Who may send a webhook: each sender's own check against the one shared secret configured for it.
//!
//! - GitHub signs: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>` (GitHub Docs, "Validating webhook
//!   deliveries"), verified with `hmac`'s constant-time `verify_slice`.
//! - distribution, Harbor and ACR send a header the operator configures (distribution's endpoint `headers`,
//!   Harbor's "Auth Header", ACR's custom headers): `Authorization: <secret>` or `Authorization: Bearer <secret>`.
//! - Docker Hub, Quay and Alibaba Cloud sign nothing and send no header the operator can set, so the secret
//!   travels in the webhook URL they are given: `?token=<secret>` (or `?secret=`, as Alibaba's documentation
//!   writes it), percent-encoded as any query value. Anyone who sees that URL can send; keep it out of logs.
//! - CloudEvents senders: the `Authorization` header (an EventBridge API destination's API-key connection) or
//!   `?token=` (a Pub/Sub push endpoint cannot set headers; Google's documentation suggests a URL token too).
//!
//! Shared secrets are compared in constant time on their SHA-256 digests, so neither the content nor the length
//! of the secret shows in timing. A header or parameter given twice is refused rather than picked from.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Source, header};

/// The shared secret of one webhook source. `Debug` never shows it; it is never part of an error.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

/// A webhook secret must not be empty: an empty one would accept an empty token.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("the webhook secret is empty; set a random value of at least 16 characters")]
pub struct EmptySecret;

impl WebhookSecret {
    /// The secret as given, byte for byte.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, EmptySecret> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(EmptySecret);
        }
        Ok(WebhookSecret(secret))
    }

    /// The secret from a file's contents (a mounted Secret): one trailing `\n` or `\r\n` removed, since editors
    /// and `echo` add it and no sender sends it.
    pub fn from_file_contents(contents: &[u8]) -> Result<Self, EmptySecret> {
        let trimmed = contents
            .strip_suffix(b"\n")
            .map_or(contents, |c| c.strip_suffix(b"\r").unwrap_or(c));
        WebhookSecret::new(trimmed)
    }

    /// Whether `given` is the secret, in time independent of both.
    fn matches(&self, given: &[u8]) -> bool {
        Sha256::digest(given)
            .as_slice()
            .ct_eq(Sha256::digest(&self.0).as_slice())
            .into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// How a source's requests prove they come from the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// GitHub's `X-Hub-Signature-256` HMAC of the body.
    Signature,
    /// `Authorization: <secret>` or `Authorization: Bearer <secret>`.
    AuthorizationHeader,
    /// `?token=<secret>` (or `?secret=`) in the URL.
    QueryToken,
    /// The `Authorization` header or the query token, whichever is the secret.
    HeaderOrQueryToken,
}

impl Source {
    /// How this source's requests are authenticated (see the module documentation for why).
    pub fn auth_method(self) -> AuthMethod {
        match self {
            Source::GitHub => AuthMethod::Signature,
            Source::Distribution | Source::Harbor | Source::Acr => AuthMethod::AuthorizationHeader,
            Source::DockerHub | Source::Quay | Source::Alibaba => AuthMethod::QueryToken,
            Source::CloudEvents => AuthMethod::HeaderOrQueryToken,
        }
    }
}

/// Why a webhook request is not accepted as coming from its sender.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("{sender} webhook: {problem}")]
pub struct AuthError {
    pub sender: Source,
    pub problem: AuthProblem,
}

/// What is wrong with a request's credentials; never quotes them.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum AuthProblem {
    #[error("no X-Hub-Signature-256 header; set the webhook's secret in GitHub")]
    MissingSignature,
    #[error("the X-Hub-Signature-256 header is not 'sha256=' and 64 hex digits")]
    MalformedSignature,
    #[error("the X-Hub-Signature-256 signature does not match the body and the configured secret")]
    BadSignature,
    #[error("no Authorization header; configure the sender to send the secret in it")]
    MissingHeader,
    #[error("the Authorization header is not the configured secret")]
    WrongHeader,
    #[error(
        "no 'token' query parameter; add '?token=<secret>' to the webhook URL given to the sender"
    )]
    MissingToken,
    #[error("the '{name}' query parameter is not the configured secret")]
    WrongToken { name: &'static str },
    #[error("{what} is given more than once")]
    Repeated { what: &'static str },
}

/// The query parameters that carry a token.
const TOKEN_PARAMETERS: [&str; 2] = ["token", "secret"];

/// Whether a request comes from `source`'s sender, by that sender's method ([`Source::auth_method`]). `headers`
/// have lower-case names; `query` is the raw query string without `?`; `body` the raw bytes as received (the
/// signature covers them exactly).
///
/// ```
/// use argocd_image_resolver_core::webhook::{Source, WebhookSecret, authenticate};
///
/// let secret = WebhookSecret::new("0d6f1c2a9b7e4c11").unwrap();
/// assert!(authenticate(Source::DockerHub, &secret, &[], "token=0d6f1c2a9b7e4c11", b"{}").is_ok());
/// let err = authenticate(Source::DockerHub, &secret, &[], "token=guess", b"{}").unwrap_err();
/// assert_eq!(err.to_string(), "dockerhub webhook: the 'token' query parameter is not the configured secret");
/// ```
pub fn authenticate(
    source: Source,
    secret: &WebhookSecret,
    headers: &[(String, String)],
    query: &str,
    body: &[u8],
) -> Result<(), AuthError> {
    let result = match source.auth_method() {
        AuthMethod::Signature => signature(secret, headers, body),
        AuthMethod::AuthorizationHeader => authorization(secret, headers),
        AuthMethod::QueryToken => query_token(secret, query),
        AuthMethod::HeaderOrQueryToken => header_or_token(secret, headers, query),
    };
    result.map_err(|problem| AuthError {
        sender: source,
        problem,
    })
}

fn signature(
    secret: &WebhookSecret,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), AuthProblem> {
    let value = single_header(
        headers,
        "x-hub-signature-256",
        "the X-Hub-Signature-256 header",
    )?
    .ok_or(AuthProblem::MissingSignature)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or(AuthProblem::MalformedSignature)?;
    let expected = decode_hex(hex).ok_or(AuthProblem::MalformedSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC accepts a key of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| AuthProblem::BadSignature)
}

fn authorization(secret: &WebhookSecret, headers: &[(String, String)]) -> Result<(), AuthProblem> {
    let value = single_header(headers, "authorization", "the Authorization header")?
        .ok_or(AuthProblem::MissingHeader)?;
    let bearer = value
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        .map(|_| &value[7..]);
    // Both comparisons always run, so that which form was sent does not show in timing either.
    let plain = secret.matches(value.as_bytes());
    let with_scheme = secret.matches(bearer.unwrap_or_default().as_bytes()) && bearer.is_some();
    if plain | with_scheme {
        Ok(())
    } else {
        Err(AuthProblem::WrongHeader)
    }
}

/// Either credential will do: a Pub/Sub push with OIDC authentication sends its own `Authorization: Bearer <JWT>`
/// beside the URL's token. Both are checked against the same secret, so accepting either is no weaker than one.
/// When neither matches, the error is about the token if there is one, else the header.
fn header_or_token(
    secret: &WebhookSecret,
    headers: &[(String, String)],
    query: &str,
) -> Result<(), AuthProblem> {
    let header = authorization(secret, headers);
    let token = query_token(secret, query);
    match (header, token) {
        // A repeated header or parameter is refused whatever the other says.
        (Err(repeated @ AuthProblem::Repeated { .. }), _)
        | (_, Err(repeated @ AuthProblem::Repeated { .. })) => Err(repeated),
        (Ok(()), _) | (_, Ok(())) => Ok(()),
        (Err(header), Err(AuthProblem::MissingToken)) if header != AuthProblem::MissingHeader => {
            Err(header)
        }
        (_, Err(token)) => Err(token),
    }
}

fn query_token(secret: &WebhookSecret, query: &str) -> Result<(), AuthProblem> {
    let mut found: Option<(&'static str, Vec<u8>)> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(name) = TOKEN_PARAMETERS
            .into_iter()
            .find(|t| percent_decode(name).as_deref() == Some(t.as_bytes()))
        else {
            continue;
        };
        if found.is_some() {
            return Err(AuthProblem::Repeated {
                what: "the token query parameter",
            });
        }
        // A value that does not decode cannot be the secret; it is compared as it is, and fails.
        found = Some((
            name,
            percent_decode(value).unwrap_or_else(|| value.as_bytes().to_vec()),
        ));
    }
    let (name, given) = found.ok_or(AuthProblem::MissingToken)?;
    if secret.matches(&given) {
        Ok(())
    } else {
        Err(AuthProblem::WrongToken { name })
    }
}

/// The one header `name`, `None` when absent, an error when repeated.
fn single_header<'h>(
    headers: &'h [(String, String)],
    name: &str,
    what: &'static str,
) -> Result<Option<&'h str>, AuthProblem> {
    match headers.iter().filter(|(n, _)| n == name).count() {
        0 => Ok(None),
        1 => Ok(header(headers, name)),
        _ => Err(AuthProblem::Repeated { what }),
    }
}

/// Lower- or upper-case hex digits as bytes; `None` for anything else or an odd length.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

/// A query component as `application/x-www-form-urlencoded` decodes it (`%XX`, `+` for a space); `None` for a
/// `%` not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let digit = |b: u8| char::from(b).to_digit(16);
                out.push(u8::try_from(digit(hex[0])? * 16 + digit(hex[1])?).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        for (name, input, want) in [
            ("plain", "abc", Some(b"abc".to_vec())),
            ("escape", "a%2Fb%3d", Some(b"a/b=".to_vec())),
            ("plus is a space", "a+b", Some(b"a b".to_vec())),
            ("truncated escape", "a%2", None),
            ("not hex", "a%zz", None),
            ("multi-byte", "%C3%A9", Some("é".as_bytes().to_vec())),
        ] {
            assert_eq!(percent_decode(input), want, "{name}");
        }
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex(&"aB".repeat(32)), Some(vec![0xab; 32]));
        assert_eq!(decode_hex(&"g0".repeat(32)), None);
        assert_eq!(decode_hex("ab"), None);
        assert_eq!(decode_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn secret_from_file_contents() {
        for (name, input, want) in [
            ("newline", &b"s3cret\n"[..], &b"s3cret"[..]),
            ("crlf", b"s3cret\r\n", b"s3cret"),
            ("only one newline", b"s3cret\n\n", b"s3cret\n"),
            ("as is", b"s3cret ", b"s3cret "),
        ] {
            assert_eq!(
                WebhookSecret::from_file_contents(input).unwrap().0,
                want,
                "{name}"
            );
        }
        assert_eq!(
            WebhookSecret::from_file_contents(b"\n").unwrap_err(),
            EmptySecret
        );
        assert_eq!(WebhookSecret::new(Vec::new()).unwrap_err(), EmptySecret);
    }

    #[test]
    fn debug_is_redacted() {
        let secret = WebhookSecret::new("hunter2-hunter2").unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }
}
