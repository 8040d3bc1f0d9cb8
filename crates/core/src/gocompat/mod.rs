//! Exact ports of the Go standard library behaviour that users' patterns were written against.
//!
//! argocd-image-updater compiles `allow-tags` with Go's [`regexp`][go-regexp] and matches `ignore-tags` with
//! Go's [`path/filepath.Match`][go-match]; Flux's image-reflector-controller filters tags with Go's `regexp` and
//! orders them by [`Regexp.Expand`][go-expand]. Users copy those patterns over unchanged, so a pattern must mean here exactly what it meant
//! there: the Rust `regex` crate's own syntax and semantics differ (Unicode `\d`, `[a&&b]`, `\<`, `{` literals,
//! `$1x`), and a tag that silently matches differently picks a different image. Each file ports one Go concept,
//! following its upstream algorithm closely enough that Go's tables and quirks carry over as tests:
//!
//! - [`regexp`]: [`GoRegex`](regexp::GoRegex), Go [RE2 syntax] translated into an equivalent `regex` pattern;
//! - [`glob`]: [`Glob`](glob::Glob), a hand-written port of `filepath.Match` (Unix rules);
//! - [`expand`]: [`Template`](expand::Template), `Regexp.Expand`'s `$name` / `${1}` templates.
//!
//! The policy filters built on them (`allow-tags`, `ignore-tags`, tag pattern and extract) are in
//! [`crate::policy::filter`].
//!
//! [go-regexp]: https://pkg.go.dev/regexp
//! [go-match]: https://pkg.go.dev/path/filepath#Match
//! [go-expand]: https://pkg.go.dev/regexp#Regexp.Expand
//! [RE2 syntax]: https://pkg.go.dev/regexp/syntax

pub mod expand;
pub mod glob;
pub mod regexp;
