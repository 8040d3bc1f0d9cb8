//! The pure core of argocd-image-resolver: everything that decides, none of what talks. Image references
//! ([`image`]), Masterminds versions and constraints ([`version`], [`constraint`]), tags and platforms, policies
//! and where they come from ([`policy`]), exact ports of Go's regexp, globs and expand templates ([`gocompat`]), the
//! rendered stream's scan and splice ([`manifest`]), credential spec syntax ([`credential_spec`]), Go durations,
//! the lock file's format and its edits ([`lock`]), the planning and applying halves of `generate`, and the
//! committer's messages and configuration ([`commit`]), credentials taken out of URLs before they are shown
//! ([`redact`]), and registry webhooks: who sent them and which repositories they name ([`webhook`]).
//!
//! No tokio, no HTTP client, no process spawning, no file or network access: the main crate's `tests/core_purity.rs`
//! fails if any enters this crate's dependency tree or sources. Everything here is tested with tables in
//! milliseconds.

pub mod argo;
pub mod commit;
pub mod constraint;
pub mod credential_spec;
pub mod duration;
pub mod escape;
pub mod generate;
pub mod gocompat;
pub mod image;
pub mod lock;
pub mod manifest;
pub mod platform;
pub mod policy;
pub mod redact;
pub mod size;
pub mod tag;
pub mod version;
pub mod webhook;
pub mod writeback;
