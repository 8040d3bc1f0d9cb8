//! The names git is given, validated once before any git runs: a remote's URL (transport, origin, the form shown
//! in messages), a branch name, an object id and a path inside the repository. Pure: tested with tables.

use std::fmt;

use url::Url;

use super::GitError;

/// How git reaches a remote: the four transports the committer supports. Anything else (`ext::`, `fd::`, bare
/// local paths, `rsync:`) is refused before git sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `file:///srv/git/repo.git`: the only transport that `protocol.file.allow` lets through, and only for a
    /// remote configured with it.
    File,
    /// `git://host[:port]/path` (git daemon): no authentication.
    Git,
    /// `http://` and `https://`: smart HTTP, with basic credentials (a password or a token) from files.
    Http { tls: bool },
    /// `ssh://[user@]host[:port]/path` or scp-like `[user@]host:path`: a private key and a known_hosts file.
    Ssh,
}

impl Transport {
    /// The `protocol.<name>.allow` names this remote needs: its own scheme, and `https` for `http` (a redirect
    /// to TLS is an upgrade; the reverse is never allowed).
    pub fn protocols(self) -> &'static [&'static str] {
        match self {
            Transport::File => &["file"],
            Transport::Git => &["git"],
            Transport::Http { tls: false } => &["http", "https"],
            Transport::Http { tls: true } => &["https"],
            Transport::Ssh => &["ssh"],
        }
    }
}

/// A remote repository's URL, as git is given it. It never holds a password (refused by [`RemoteUrl::parse`]:
/// credentials come from files), so its `Display` is safe for messages and logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RemoteUrl {
    inner: std::sync::Arc<UrlParts>,
}

#[derive(PartialEq, Eq, Hash)]
struct UrlParts {
    text: String,
    transport: Transport,
    /// `scheme://host[:port]`, lower-cased with the default port made explicit, for HTTP: what a credential
    /// prompt must name for the password to be given. `None` for the other transports.
    origin: Option<String>,
}

impl RemoteUrl {
    fn new(text: &str, transport: Transport, origin: Option<String>) -> RemoteUrl {
        RemoteUrl {
            inner: std::sync::Arc::new(UrlParts {
                text: text.to_owned(),
                transport,
                origin,
            }),
        }
    }
}

impl RemoteUrl {
    /// Parses a remote URL. Refused: other transports, a URL starting with `-` (it would read as an option),
    /// control characters or whitespace, a password in the userinfo (any userinfo for HTTP: the user name goes
    /// with its password, in files), a query or fragment, a missing host or path.
    ///
    /// ```
    /// use argocd_image_resolver::git::{RemoteUrl, Transport};
    /// let url = RemoteUrl::parse("git@github.com:org/config.git").unwrap();
    /// assert_eq!(url.transport(), Transport::Ssh);
    /// assert!(RemoteUrl::parse("https://user:secret@example.com/repo.git").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<RemoteUrl, GitError> {
        let invalid = |reason: &str| GitError::InvalidUrl {
            url: redact_remote(text),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.starts_with('-') {
            return Err(invalid(
                "it starts with '-', which git would read as an option",
            ));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("it holds whitespace or control characters"));
        }
        let Some((scheme, _)) = text.split_once("://") else {
            return parse_scp_like(text).map_err(|reason| invalid(&reason));
        };
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "file" => Transport::File,
            "git" => Transport::Git,
            "http" => Transport::Http { tls: false },
            "https" => Transport::Http { tls: true },
            "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
            _ => {
                return Err(invalid(
                    "only file://, git://, http(s):// and ssh:// remotes (or scp-like user@host:path) are supported",
                ));
            }
        };
        let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        if url.password().is_some() {
            return Err(invalid(
                "it carries a password: give credentials in files, never in the URL",
            ));
        }
        if matches!(transport, Transport::Http { .. }) && !url.username().is_empty() {
            return Err(invalid(
                "it carries a user name: give the user name with the password, in files",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it has a query or fragment"));
        }
        if transport == Transport::File {
            if url.host_str().is_some_and(|h| !h.is_empty()) {
                return Err(invalid(
                    "a file:// URL names no host: file:///absolute/path",
                ));
            }
        } else if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it names no host"));
        }
        if url.path().trim_matches('/').is_empty() {
            return Err(invalid("it names no repository path"));
        }
        let origin = matches!(transport, Transport::Http { .. }).then(|| origin_of(&url));
        Ok(RemoteUrl::new(text, transport, origin))
    }

    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The URL exactly as given (it holds no secret): what git is told.
    pub fn as_str(&self) -> &str {
        &self.inner.text
    }

    /// For HTTP remotes, `scheme://host:port` (lower-cased, port explicit): the only origin its credentials go to.
    pub fn origin(&self) -> Option<&str> {
        self.inner.origin.as_deref()
    }

    /// A short, file-name-safe name for this repository (`config`, from `…/config.git`), for the clone's
    /// directory: readable in a listing; the directory also carries a hash of the whole URL.
    pub fn slug(&self) -> String {
        let text = &self.inner.text;
        let path = text.rsplit_once(':').map_or(&**text, |(_, p)| p);
        let last = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let last = last.strip_suffix(".git").unwrap_or(last);
        let slug: String = last
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        if slug.is_empty() {
            "repo".to_owned()
        } else {
            slug
        }
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.text)
    }
}

impl fmt::Debug for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemoteUrl({:?})", self.inner.text)
    }
}

/// `[user@]host:path` as git reads it: no `://`, and a `:` before the first `/`.
fn parse_scp_like(text: &str) -> Result<RemoteUrl, String> {
    // `<helper>::<address>` runs git-remote-<helper> (`ext::` runs any command): never an scp-like remote.
    if text.contains("::") {
        return Err(
            "'<transport>::<address>' remotes are not supported: only file://, git://, http(s):// and ssh://"
                .to_owned(),
        );
    }
    let colon = text.find(':');
    let slash = text.find('/');
    let Some(colon) = colon.filter(|c| slash.is_none_or(|s| *c < s)) else {
        return Err(
            "a bare local path is not a remote: write file:///absolute/path (or ssh://, http(s)://, git://)"
                .to_owned(),
        );
    };
    let (user_host, path) = (&text[..colon], &text[colon + 1..]);
    let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
    if host.is_empty() {
        return Err("it names no host".to_owned());
    }
    // `user:password@host:path` reads to git as host `user`, path `password@host:path`: refused either way.
    if path.contains('@') {
        return Err(
            "it carries a password: give credentials in files, never in the URL".to_owned(),
        );
    }
    if path.trim_matches('/').is_empty() {
        return Err("it names no repository path".to_owned());
    }
    Ok(RemoteUrl::new(text, Transport::Ssh, None))
}

/// `scheme://host:port` of an HTTP URL, the port always written.
fn origin_of(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(host) => host.to_string().to_ascii_lowercase(),
        None => String::new(),
    };
    let port = url.port_or_known_default().unwrap_or(0);
    format!("{}://{host}:{port}", url.scheme())
}

/// The origin a git credential prompt names (`Password for 'http://alice@127.0.0.1:8080': ` → `http://
/// 127.0.0.1:8080`), in [`RemoteUrl::origin`]'s form; `None` when the description is not an HTTP URL.
pub(super) fn prompt_origin(description: &str) -> Option<String> {
    let url = Url::parse(description).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| origin_of(&url))
}

/// A remote URL that was refused, for its message: credentials redacted in either form (`scheme://…@`, a query,
/// scp-like `…@host:path`), control characters escaped.
fn redact_remote(text: &str) -> String {
    crate::escape::shown(&crate::redact::redact_remote(text), 200)
}

/// A branch name (`main`, `image-resolver/shop`) that git accepts (`git check-ref-format --branch`'s rules),
/// without `refs/heads/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchName(String);

impl BranchName {
    /// ```
    /// use argocd_image_resolver::git::BranchName;
    /// assert!(BranchName::new("image-resolver/shop").is_ok());
    /// assert!(BranchName::new("-f").is_err());
    /// ```
    pub fn new(name: &str) -> Result<BranchName, GitError> {
        let invalid = |reason: &str| GitError::InvalidBranch {
            branch: name.to_owned(),
            reason: reason.to_owned(),
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.starts_with('-') {
            return Err(invalid("it starts with '-'"));
        }
        if name.starts_with("refs/") {
            return Err(invalid("write the branch name without 'refs/heads/'"));
        }
        if name == "@" || name.contains("@{") {
            return Err(invalid("it is '@' or holds '@{'"));
        }
        if let Some(c) = name.chars().find(|c| {
            c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        }) {
            return Err(invalid(&format!("it holds {c:?}")));
        }
        if name.contains("..") {
            return Err(invalid("it holds '..'"));
        }
        if name.ends_with('.') {
            return Err(invalid("it ends with '.'"));
        }
        for component in name.split('/') {
            if component.is_empty() {
                return Err(invalid(
                    "it has an empty component ('//', or '/' at an end)",
                ));
            }
            if component.starts_with('.') {
                return Err(invalid("a component starts with '.'"));
            }
            if component.ends_with(".lock") {
                return Err(invalid("a component ends with '.lock'"));
            }
        }
        Ok(BranchName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `refs/heads/<name>`.
    pub fn full_ref(&self) -> String {
        format!("refs/heads/{}", self.0)
    }

    /// `refs/remotes/origin/<name>`: where this clone keeps the remote's tip of the branch.
    pub fn tracking_ref(&self) -> String {
        format!("refs/remotes/origin/{}", self.0)
    }
}

impl fmt::Display for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full commit (or object) id: 40 hex digits (SHA-1) or 64 (SHA-256), lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);

impl Oid {
    pub fn new(hex: &str) -> Result<Oid, GitError> {
        let hex = hex.trim();
        if (hex.len() == 40 || hex.len() == 64)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Oid(hex.to_owned()))
        } else {
            Err(GitError::InvalidOid {
                value: crate::escape::shown(hex, 80),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file's path inside the repository, relative to its root, `/`-separated: no empty, `.` or `..` component,
/// nothing inside `.git`, no control characters. Checked before it reaches git or the file system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    /// ```
    /// use argocd_image_resolver::git::RepoPath;
    /// assert!(RepoPath::new("apps/shop/image-resolver.lock.yaml").is_ok());
    /// assert!(RepoPath::new("../etc/passwd").is_err());
    /// ```
    pub fn new(path: &str) -> Result<RepoPath, GitError> {
        let invalid = |reason: &str| GitError::InvalidPath {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        if path.is_empty() {
            return Err(invalid("it is empty"));
        }
        if path.starts_with('/') {
            return Err(invalid(
                "it is absolute: give it relative to the repository's root",
            ));
        }
        if path.chars().any(char::is_control) {
            return Err(invalid("it holds control characters"));
        }
        for component in path.split('/') {
            match component {
                "" => return Err(invalid("it has an empty component")),
                "." | ".." => return Err(invalid("it has a '.' or '..' component")),
                c if c.eq_ignore_ascii_case(".git") => {
                    return Err(invalid("it is inside '.git'"));
                }
                _ => {}
            }
        }
        Ok(RepoPath(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remote_urls() {
        let http = Transport::Http { tls: false };
        let https = Transport::Http { tls: true };
        let cases: [(&str, &str, Transport, Option<&str>); 10] = [
            ("file", "file:///srv/git/config.git", Transport::File, None),
            (
                "git daemon",
                "git://127.0.0.1:9418/config.git",
                Transport::Git,
                None,
            ),
            (
                "http",
                "http://127.0.0.1:8080/config.git",
                http,
                Some("http://127.0.0.1:8080"),
            ),
            (
                "https default port",
                "https://Git.Example.com/org/config",
                https,
                Some("https://git.example.com:443"),
            ),
            (
                "https ipv6",
                "https://[::1]:8443/r.git",
                https,
                Some("https://[::1]:8443"),
            ),
            (
                "ssh with port",
                "ssh://git@127.0.0.1:2222/srv/config.git",
                Transport::Ssh,
                None,
            ),
            (
                "ssh without user",
                "ssh://example.com/config.git",
                Transport::Ssh,
                None,
            ),
            (
                "git+ssh",
                "git+ssh://git@example.com/config.git",
                Transport::Ssh,
                None,
            ),
            (
                "scp-like",
                "git@github.com:org/config.git",
                Transport::Ssh,
                None,
            ),
            (
                "scp-like without user",
                "example.com:config.git",
                Transport::Ssh,
                None,
            ),
        ];
        for (name, text, transport, origin) in cases {
            let url = RemoteUrl::parse(text).unwrap_or_else(|e| panic!("case {name}: {e}"));
            assert_eq!(url.transport(), transport, "case {name}");
            assert_eq!(url.origin(), origin, "case {name}");
            assert_eq!(url.to_string(), text, "case {name}");
        }
    }

    #[test]
    fn refuses_remote_urls() {
        let cases = [
            ("empty", "", "it is empty"),
            ("option", "-uupload-pack=touch /tmp/x", "it starts with '-'"),
            ("ext", "ext::sh -c touch% /tmp/pwned", "whitespace"),
            (
                "ext without spaces",
                "ext::evil",
                "'<transport>::<address>'",
            ),
            ("fd", "fd::17", "'<transport>::<address>'"),
            ("local path", "/srv/git/config.git", "bare local path"),
            ("relative path", "config.git", "bare local path"),
            (
                "password in http",
                "https://u:hunter2@example.com/r.git",
                "carries a password",
            ),
            (
                "user in http",
                "https://u@example.com/r.git",
                "carries a user name",
            ),
            (
                "password in ssh",
                "ssh://u:hunter2@example.com/r.git",
                "carries a password",
            ),
            (
                "password in scp-like",
                "u:hunter2@example.com:r.git",
                "carries a password",
            ),
            ("query", "https://example.com/r.git?token=hunter2", "query"),
            ("file with host", "file://host/srv/r.git", "names no host"),
            ("no path", "https://example.com/", "no repository path"),
            ("newline", "https://example.com/r\n.git", "control"),
            ("rsync", "rsync://example.com/r.git", "only file://"),
        ];
        for (name, text, want) in cases {
            let err = RemoteUrl::parse(text).expect_err(name).to_string();
            assert!(err.contains(want), "case {name}: {err}");
            assert!(
                !err.contains("hunter2"),
                "case {name} shows the password: {err}"
            );
        }
    }

    #[test]
    fn reads_the_origin_of_a_prompt() {
        let cases = [
            (
                "plain",
                "http://127.0.0.1:8080",
                Some("http://127.0.0.1:8080"),
            ),
            (
                "with user",
                "http://alice@127.0.0.1:8080",
                Some("http://127.0.0.1:8080"),
            ),
            (
                "default port",
                "https://EXAMPLE.com",
                Some("https://example.com:443"),
            ),
            (
                "with path",
                "https://example.com/org/r.git",
                Some("https://example.com:443"),
            ),
            ("not http", "ssh://example.com", None),
            ("garbage", "nonsense", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(prompt_origin(text).as_deref(), want, "case {name}");
        }
    }

    #[test]
    fn checks_branch_names() {
        let good = [
            "main",
            "image-resolver/shop",
            "release-1.2",
            "feature/a_b",
            "v1",
        ];
        for name in good {
            assert!(BranchName::new(name).is_ok(), "{name}");
        }
        let bad = [
            ("empty", ""),
            ("option", "-f"),
            ("full ref", "refs/heads/main"),
            ("double dot", "a..b"),
            ("space", "a b"),
            ("colon", "a:b"),
            ("tilde", "a~1"),
            ("caret", "a^"),
            ("glob", "a*"),
            ("reflog", "a@{1}"),
            ("at", "@"),
            ("trailing slash", "a/"),
            ("double slash", "a//b"),
            ("dot component", "a/.b"),
            ("lock", "a.lock"),
            ("trailing dot", "a."),
            ("newline", "a\nb"),
        ];
        for (name, value) in bad {
            assert!(BranchName::new(value).is_err(), "case {name}");
        }
        let branch = BranchName::new("image-resolver/shop").unwrap();
        assert_eq!(branch.full_ref(), "refs/heads/image-resolver/shop");
        assert_eq!(
            branch.tracking_ref(),
            "refs/remotes/origin/image-resolver/shop"
        );
    }

    #[test]
    fn checks_object_ids() {
        assert!(Oid::new(&"a".repeat(40)).is_ok());
        assert!(Oid::new(&"0".repeat(64)).is_ok());
        for (name, value) in [
            ("short", "abc"),
            ("upper case", &"A".repeat(40)),
            ("not hex", &"g".repeat(40)),
            ("41", &"a".repeat(41)),
        ] {
            assert!(Oid::new(value).is_err(), "case {name}");
        }
    }

    #[test]
    fn checks_repository_paths() {
        for path in ["a", "apps/shop/values.yaml", "a/.gitignore", "a/b.git/c"] {
            assert!(RepoPath::new(path).is_ok(), "{path}");
        }
        for (name, path) in [
            ("empty", ""),
            ("absolute", "/etc/passwd"),
            ("parent", "a/../../b"),
            ("dot", "./a"),
            ("git dir", ".git/config"),
            ("git dir upper case", "a/.GIT/hooks/post-checkout"),
            ("trailing slash", "a/"),
            ("control", "a\u{1b}b"),
        ] {
            assert!(RepoPath::new(path).is_err(), "case {name}");
        }
    }

    #[test]
    fn slugs_name_the_repository() {
        for (url, want) in [
            ("https://example.com/org/config.git", "config"),
            ("git@github.com:org/my.config.git", "my_config"),
            ("file:///srv/git/config/", "config"),
            ("ssh://h:22/x", "x"),
        ] {
            assert_eq!(RemoteUrl::parse(url).unwrap().slug(), want, "{url}");
        }
    }
}
