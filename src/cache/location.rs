//! `--cache`: the Redis server the cache lives in, as a `redis://` or `rediss://` URL, read without I/O. A URL may
//! carry a password, so nothing here ever repeats the URL as given: errors name the part at fault, and the
//! target shows itself without its password.

use std::fmt;

use url::Url;

/// The port Redis listens on unless told otherwise.
pub const DEFAULT_REDIS_PORT: u16 = 6379;

/// A Redis password. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisPassword(String);

impl RedisPassword {
    /// The password as given; empty is no password.
    pub fn new(password: impl Into<String>) -> Option<Self> {
        let password = password.into();
        (!password.is_empty()).then_some(RedisPassword(password))
    }

    /// A password file's contents (a mounted Secret): one trailing newline removed, as editors and `echo` add it.
    pub fn from_file_contents(contents: &str) -> Option<Self> {
        let trimmed = contents
            .strip_suffix('\n')
            .map_or(contents, |c| c.strip_suffix('\r').unwrap_or(c));
        RedisPassword::new(trimmed)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RedisPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisPassword(<redacted>)")
    }
}

/// A Redis server and how to log in to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisTarget {
    /// `rediss://`: TLS, the server's certificate checked against the system's roots.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The logical database (`/N`), 0 by default.
    pub db: i64,
    /// The ACL user (Redis 6+); none: the `default` user.
    pub username: Option<String>,
    pub password: Option<RedisPassword>,
}

/// Why a `--cache` value is not a Redis URL. Never quotes the value, which may hold a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedisUrlError {
    #[error(
        "--cache is not a URL; write redis://[user[:password]@]host[:port][/db] or rediss://… for TLS"
    )]
    NotAUrl,
    #[error("--cache: the scheme '{0}' is not redis:// or rediss://")]
    Scheme(String),
    #[error("--cache: the URL names no host")]
    NoHost,
    #[error("--cache: what follows the host is not a database number (redis://host:port/0)")]
    Database,
    #[error("--cache: query parameters and fragments are not read; remove them")]
    Extra,
    #[error("--cache: the user name or password is not valid percent-encoding")]
    Encoding,
}

impl RedisTarget {
    /// Reads a `redis://[user[:password]@]host[:port][/db]` or `rediss://…` URL; user and password are
    /// percent-decoded.
    pub fn parse(text: &str) -> Result<RedisTarget, RedisUrlError> {
        let url = Url::parse(text.trim()).map_err(|_| RedisUrlError::NotAUrl)?;
        let tls = match url.scheme() {
            "redis" => false,
            "rediss" => true,
            other => return Err(RedisUrlError::Scheme(other.to_owned())),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(RedisUrlError::NoHost)?;
        // An IPv6 literal comes bracketed; the connection wants it bare.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if url.query().is_some() || url.fragment().is_some() {
            return Err(RedisUrlError::Extra);
        }
        let path = url.path().trim_start_matches('/');
        let db = if path.is_empty() {
            0
        } else {
            path.parse::<u32>()
                .map(i64::from)
                .map_err(|_| RedisUrlError::Database)?
        };
        let decode = |part: &str| percent_decode(part).ok_or(RedisUrlError::Encoding);
        let username = Some(decode(url.username())?).filter(|u| !u.is_empty());
        let password = url
            .password()
            .map(decode)
            .transpose()?
            .and_then(RedisPassword::new);
        Ok(RedisTarget {
            tls,
            host,
            port: url.port().unwrap_or(DEFAULT_REDIS_PORT),
            db,
            username,
            password,
        })
    }

    /// `host:port`, as messages name the server.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The URL without its user or password: `redis://PASSWORD@host`, a password written where the user goes, is a
/// common slip, and the server is named well enough without either.
impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "rediss" } else { "redis" };
        write!(f, "{scheme}://{}/{}", self.address(), self.db)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls() {
        let target = |tls, host: &str, port, db, user: Option<&str>, password: Option<&str>| {
            Ok(RedisTarget {
                tls,
                host: host.to_owned(),
                port,
                db,
                username: user.map(str::to_owned),
                password: password.and_then(RedisPassword::new),
            })
        };
        for (text, want) in [
            (
                "redis://argocd-redis:6379",
                target(false, "argocd-redis", 6379, 0, None, None),
            ),
            (
                "redis://argocd-redis",
                target(false, "argocd-redis", 6379, 0, None, None),
            ),
            (
                "rediss://cache.example:6380/2",
                target(true, "cache.example", 6380, 2, None, None),
            ),
            (
                "redis://:s%40cret@127.0.0.1:7000/0",
                target(false, "127.0.0.1", 7000, 0, None, Some("s@cret")),
            ),
            (
                "redis://resolver:pw@10.0.0.1/3",
                target(false, "10.0.0.1", 6379, 3, Some("resolver"), Some("pw")),
            ),
            (
                "redis://[::1]:6379",
                target(false, "::1", 6379, 0, None, None),
            ),
            (
                " redis://argocd-redis:6379/ ",
                target(false, "argocd-redis", 6379, 0, None, None),
            ),
            (
                "argocd-redis:6379",
                Err(RedisUrlError::Scheme("argocd-redis".to_owned())),
            ),
            (
                "http://argocd-redis",
                Err(RedisUrlError::Scheme("http".to_owned())),
            ),
            ("not a url", Err(RedisUrlError::NotAUrl)),
            ("redis://", Err(RedisUrlError::NoHost)),
            ("redis://h/db1", Err(RedisUrlError::Database)),
            ("redis://h/-1", Err(RedisUrlError::Database)),
            ("redis://h/0?password=x", Err(RedisUrlError::Extra)),
            ("redis://:%ff@h", Err(RedisUrlError::Encoding)),
        ] {
            assert_eq!(RedisTarget::parse(text), want, "{text}");
        }
    }

    #[test]
    fn a_password_never_shows() {
        let target = RedisTarget::parse("redis://bot:hunter2-secret@h:1/4").unwrap();
        assert_eq!(target.to_string(), "redis://h:1/4");
        assert!(!format!("{target:?}").contains("hunter2"));
        let slip = RedisTarget::parse("redis://hunter2-secret@h").unwrap();
        assert_eq!(
            slip.to_string(),
            "redis://h:6379/0",
            "a password where the user goes"
        );
        for bad in [
            "redis://:hunter2-secret@h/x",
            "ftp://:hunter2-secret@h",
            "redis://default:4711/hunter2-secret@h:6379",
        ] {
            let error = RedisTarget::parse(bad).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
        assert_eq!(
            RedisTarget::parse("rediss://[::1]:7/0")
                .unwrap()
                .to_string(),
            "rediss://[::1]:7/0"
        );
    }

    #[test]
    fn password_files_lose_one_trailing_newline() {
        for (contents, want) in [
            ("pw\n", Some("pw")),
            ("pw\r\n", Some("pw")),
            ("pw\n\n", Some("pw\n")),
            ("pw", Some("pw")),
            ("\n", None),
            ("", None),
        ] {
            assert_eq!(
                RedisPassword::from_file_contents(contents)
                    .as_ref()
                    .map(RedisPassword::expose),
                want,
                "{contents:?}"
            );
        }
    }
}
