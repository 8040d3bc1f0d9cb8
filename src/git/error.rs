//! What can go wrong with git, one variant per kind a caller handles differently, and the reading of git's stderr
//! that tells the kinds apart (pure, tested with git's own messages).

use std::path::PathBuf;
use std::time::Duration;

use super::{BranchName, RemoteUrl};
use crate::process::ProcessError;
use crate::redact::redact_url;

/// Errors of the git wrapper. Messages name the repository (its URL holds no secret: [`RemoteUrl`]) and the
/// branch; git's stderr, with any URL userinfo redacted, ends them as the cause.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git not found: install it or set {override_var} to its path")]
    GitNotFound { override_var: &'static str },

    #[error(
        "{program} not found on PATH: it is needed {purpose}; install it (Debian: openssh-client)"
    )]
    ToolNotFound {
        program: &'static str,
        purpose: &'static str,
    },

    #[error(transparent)]
    Tool(ProcessError),

    #[error("git remote URL '{url}' is not usable: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("git branch name {branch:?} is not usable: {reason}")]
    InvalidBranch { branch: String, reason: String },

    #[error("{value:?} is not a full git object id (40 or 64 lower-case hex digits)")]
    InvalidOid { value: String },

    #[error("path {path:?} is not usable inside a repository: {reason}")]
    InvalidPath { path: String, reason: String },

    #[error("git credentials are not usable: {problem}")]
    InvalidCredentials { problem: String },

    #[error("git credentials file {} {problem}", path.display())]
    CredentialFile { path: PathBuf, problem: String },

    #[error("credentials for repository {repo} do not fit it: {problem}")]
    CredentialsMismatch {
        repo: RemoteUrl,
        problem: &'static str,
    },

    #[error("commit {what} is not usable: {problem}")]
    InvalidCommit {
        what: &'static str,
        problem: &'static str,
    },

    #[error(
        "repository {repo} (branch '{branch}') refused the credentials, or needs some and none are configured: \
         check the user name, password or token files, or the ssh key: {cause}"
    )]
    AuthFailed {
        repo: RemoteUrl,
        branch: BranchName,
        cause: String,
    },

    #[error(
        "repository {repo} (branch '{branch}'): the ssh server's host key is not the one the known_hosts file \
         lists (unknown or changed); nothing was sent: {cause}"
    )]
    HostKey {
        repo: RemoteUrl,
        branch: BranchName,
        cause: String,
    },

    #[error("repository {repo} does not exist or is not exported to these credentials: {cause}")]
    RepositoryNotFound { repo: RemoteUrl, cause: String },

    #[error("repository {repo} has no branch '{branch}'")]
    BranchNotFound { repo: RemoteUrl, branch: BranchName },

    #[error("cannot reach repository {repo} (branch '{branch}'): {cause}")]
    Network {
        repo: RemoteUrl,
        branch: BranchName,
        cause: String,
    },

    #[error(
        "push to branch '{branch}' of repository {repo} was rejected as not a fast-forward: someone else pushed \
         first; fetch, re-apply the change on the new tip and push again: {cause}"
    )]
    PushRejected {
        repo: RemoteUrl,
        branch: BranchName,
        cause: String,
    },

    #[error(
        "branch '{branch}' of repository {repo} is no longer where this push expected it ({expected}): someone \
         else moved it, so it was not overwritten"
    )]
    LeaseBroken {
        repo: RemoteUrl,
        branch: BranchName,
        expected: String,
    },

    #[error(
        "repository {repo} declined the push to branch '{branch}' (a protected branch or a server hook): {reason}"
    )]
    PushDeclined {
        repo: RemoteUrl,
        branch: BranchName,
        reason: String,
    },

    #[error(
        "git {operation} of repository {repo} (branch '{branch}') did not finish within its deadline of {:.1}s \
         and was stopped",
        allowed.as_secs_f64()
    )]
    TimedOut {
        repo: RemoteUrl,
        branch: BranchName,
        operation: &'static str,
        allowed: Duration,
    },

    #[error(
        "git {operation} of repository {repo} (branch '{branch}') failed: `{command}` ({status}): {cause}"
    )]
    Failed {
        repo: RemoteUrl,
        branch: BranchName,
        operation: &'static str,
        command: String,
        status: std::process::ExitStatus,
        cause: String,
    },

    #[error(
        "revision {revision} is not in the history of branch '{branch}' of repository {repo}: the branch was \
         rewritten since, or the revision is from elsewhere"
    )]
    NotAncestor {
        repo: RemoteUrl,
        branch: BranchName,
        revision: String,
    },

    #[error("'{path}' at {revision} in repository {repo} is not a regular file ({kind})")]
    NotAFile {
        repo: RemoteUrl,
        path: String,
        revision: String,
        kind: String,
    },

    #[error("cannot write '{path}' in the clone of {repo}: {problem}")]
    UnsafeWrite {
        repo: RemoteUrl,
        path: String,
        problem: String,
    },

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "the clone of repository {repo} at {} is still in use by another checkout (of this or another process) \
         after {:.1}s",
        dir.display(), waited.as_secs_f64()
    )]
    Locked {
        repo: RemoteUrl,
        dir: PathBuf,
        waited: Duration,
    },
}

impl GitError {
    /// Whether a failure while refreshing an existing clone may be the clone's own fault (a half-written or
    /// damaged `.git`), so that cloning afresh may help. Failures of the remote, the credentials, the network or
    /// the deadline are not: a new clone would fail the same way.
    pub(super) fn may_be_the_clone(&self) -> bool {
        matches!(
            self,
            GitError::Failed { .. } | GitError::Io { .. } | GitError::InvalidOid { .. }
        )
    }
}

/// What git's stderr says went wrong, for a command that talked to a remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    HostKey,
    Auth,
    RepositoryNotFound,
    BranchNotFound,
    Network,
    Other,
}

/// Reads the cause out of git's (and ssh's, curl's, the askpass's) stderr. Order matters: ssh's "Permission
/// denied" comes with git's generic "Could not read from remote repository", and git daemon's "access denied or
/// repository not exported" is a missing repository, not bad credentials.
pub(super) fn classify(stderr: &str) -> Cause {
    let text = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if any(&[
        "host key verification failed",
        "remote host identification has changed",
        "host key is known for",
        "host key for",
    ]) {
        Cause::HostKey
    } else if any(&[
        "access denied or repository not exported",
        "does not appear to be a git repository",
        "returned error: 404",
    ]) || (text.contains("repository '") && text.contains("' not found"))
    {
        Cause::RepositoryNotFound
    } else if any(&[
        "authentication failed",
        "permission denied (",
        "permission denied, please try again",
        "could not read username",
        "could not read password",
        "returned error: 401",
        "returned error: 403",
        "askpass: refusing",
        "unprotected private key file",
        "invalid username or password",
        "load key",
    ]) {
        Cause::Auth
    } else if any(&[
        "not found in upstream",
        "couldn't find remote ref",
        "could not find remote branch",
    ]) {
        Cause::BranchNotFound
    } else if any(&[
        "could not resolve host",
        "could not resolve hostname",
        "connection refused",
        "connection timed out",
        "connection reset",
        "timed out",
        "unable to connect",
        "failed to connect",
        "network is unreachable",
        "no route to host",
        "the remote end hung up unexpectedly",
        "early eof",
        "rpc failed",
        "ssh: connect to host",
        "could not read from remote repository",
        "unable to access",
    ]) {
        Cause::Network
    } else {
        Cause::Other
    }
}

/// Git's stderr as an error's cause: trimmed to its end by the process runner, every URL's userinfo redacted, and
/// git's `hint:` lines (advice for people typing commands) dropped.
pub(super) fn cause_text(stderr: &str) -> String {
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("hint:"))
        // ssh's banner around "REMOTE HOST IDENTIFICATION HAS CHANGED!".
        .filter(|l| !l.trim().chars().all(|c| c == '@'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        // git's advice after "Could not read from remote repository.", which says nothing of the cause.
        .filter(|l| {
            !l.starts_with("Please make sure you have the correct access rights")
                && *l != "and the repository exists."
        })
        .collect();
    // One paragraph: the message is shown in Argo CD's UI and in one log line.
    let text = redact_url(&kept.join("; "));
    if text.is_empty() {
        "git printed nothing on stderr".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_what_git_prints() {
        let cases = [
            (
                "http wrong password",
                "remote: Unauthorized\nfatal: Authentication failed for 'http://127.0.0.1:1/r.git/'",
                Cause::Auth,
            ),
            (
                "http no credentials",
                "fatal: could not read Username for 'http://127.0.0.1:1': terminal prompts disabled",
                Cause::Auth,
            ),
            (
                "askpass refusing a redirect",
                "argocd-image-resolver askpass: refusing to send the credentials of http://a:1 to http://b:2\n\
                 error: unable to read askpass response from '/bin/x'\nfatal: could not read Username",
                Cause::Auth,
            ),
            (
                "http 403",
                "fatal: unable to access 'http://h/r/': The requested URL returned error: 403",
                Cause::Auth,
            ),
            (
                "ssh key refused",
                "root@127.0.0.1: Permission denied (publickey).\r\nfatal: Could not read from remote repository.",
                Cause::Auth,
            ),
            (
                "ssh unknown host",
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\n\
                 Host key verification failed.\nfatal: Could not read from remote repository.",
                Cause::HostKey,
            ),
            (
                "ssh changed host",
                "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.",
                Cause::HostKey,
            ),
            (
                "clone of a missing branch",
                "warning: Could not find remote branch nope to clone.\n\
                 fatal: Remote branch nope not found in upstream origin",
                Cause::BranchNotFound,
            ),
            (
                "fetch of a missing branch",
                "fatal: couldn't find remote ref refs/heads/nope",
                Cause::BranchNotFound,
            ),
            (
                "http missing repository",
                "remote: Not Found\nfatal: repository 'http://127.0.0.1:1/nope.git/' not found",
                Cause::RepositoryNotFound,
            ),
            (
                "daemon missing repository",
                "fatal: remote error: access denied or repository not exported: /nope.git",
                Cause::RepositoryNotFound,
            ),
            (
                "file missing repository",
                "fatal: '/tmp/nope.git' does not appear to be a git repository\n\
                 fatal: Could not read from remote repository.",
                Cause::RepositoryNotFound,
            ),
            (
                "http refused",
                "fatal: unable to access 'http://127.0.0.1:1/r.git/': Failed to connect to 127.0.0.1 port 1 after \
                 0 ms: Couldn't connect to server",
                Cause::Network,
            ),
            (
                "daemon refused",
                "fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused",
                Cause::Network,
            ),
            (
                "ssh refused",
                "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nfatal: Could not read from remote \
                 repository.",
                Cause::Network,
            ),
            (
                "corrupt",
                "error: object file .git/objects/ab/cd is empty\nfatal: bad object HEAD",
                Cause::Other,
            ),
        ];
        for (name, stderr, want) in cases {
            assert_eq!(classify(stderr), want, "case {name}");
        }
    }

    #[test]
    fn causes_drop_hints_and_redact_urls() {
        let stderr = "error: failed to push some refs to 'https://u:p@h/r.git'\nhint: Updates were rejected\n\
                      hint: use git pull\n";
        assert_eq!(
            cause_text(stderr),
            "error: failed to push some refs to 'https://<redacted>@h/r.git'"
        );
        assert_eq!(cause_text(" \n"), "git printed nothing on stderr");
        assert_eq!(
            cause_text(
                "@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@\nHost key verification failed.\n"
            ),
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @; Host key verification failed."
        );
        // One paragraph, without git's advice that names no cause.
        assert_eq!(
            cause_text(
                "fatal: '/r.git' does not appear to be a git repository\nfatal: Could not read from remote \
                 repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n"
            ),
            "fatal: '/r.git' does not appear to be a git repository; fatal: Could not read from remote repository."
        );
    }
}
