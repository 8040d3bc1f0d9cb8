//! The committer (`commit`) end to end, as an operator runs it: a real bare git repository (served over
//! `file://`), a real `docker-registry` holding the
//! images, and the binary. A tag pushed to the registry becomes a commit naming it; a person's revert sticks;
//! pushes race; bad settings fail with one paragraph and push nothing.
//!
//! Needs git, docker-registry and openssh (`scripts/install-test-deps`). Every server binds a random loopback
//! port; every repository, cache and clone lives in the test's own temp dirs.

#[path = "../committer_support/mod.rs"]
mod committer_support;
mod lock;
#[path = "../support/redis.rs"]
mod redis_support;
mod report;
mod revert;
mod source;
mod stale;
#[path = "../support/mod.rs"]
mod support;

pub use committer_support::*;
