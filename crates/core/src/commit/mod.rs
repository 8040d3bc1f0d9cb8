//! The committer's pure halves: its commit messages and the trailers it recognises its own commits by
//! (`message`), its configuration file (`config`), and the Argo CD Applications it finds in the cluster
//! (`application`). The main crate's `commit` runs git around them.
//!
//! `template` reads the part of Go's `text/template` that argocd-image-updater's templates use; `git-branch`
//! templates ([`crate::writeback::BranchTemplate`]) share it.

mod application;
mod config;
mod message;
pub(crate) mod template;
#[cfg(test)]
mod tests;

pub use application::{
    AppKey, ApplicationError, ApplicationProblem, DEFAULT_CONTROL_PLANE_NAMESPACE,
    DEFAULT_PLUGIN_NAME, Matching, PluginSource, plugin_sources,
};
pub use config::{
    AppConfig, Author, CommitConfig, ConfigError, ConfigProblem, DEFAULT_AUTHOR_EMAIL,
    DEFAULT_AUTHOR_NAME, DEFAULT_INTERVAL, DEFAULT_REVIEW_BRANCH, DEFAULT_REVISION, GitSettings,
    MIN_INTERVAL, RepoCredential, SecretFile, Username,
};
pub use message::{
    Change, DEFAULT_TEMPLATE, MessageContext, MessageTemplate, NO_OLD_TAG, REJECT_TRAILER,
    Rejection, Trailer, UPDATE_TRAILER, UPSTREAM_DEFAULT_TEMPLATE, parse_trailers,
};
pub use template::{TemplateError, TemplateProblem};
