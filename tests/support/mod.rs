//! Test harness shared by the integration tests: a real `docker-registry` (plain, htpasswd, bearer token, TLS),
//! a token server, test certificates, push helpers, and recording in-process mock servers.
//!
//! Needs `docker-registry`, `apache2-utils` (htpasswd) and `openssl` on the machine
//! (`apt-get install -y docker-registry apache2-utils openssl`). Everything binds random loopback ports and lives
//! in temp dirs, so tests run in parallel with each other and with other test binaries.
//!
//! ```ignore
//! mod support;
//! use support::{ImageSpec, TestRegistry};
//!
//! #[tokio::test]
//! async fn example() {
//!     let registry = TestRegistry::plain().await;           // or htpasswd(u, p), token(users, refresh, ttl), tls()
//!     let pusher = registry.pusher();                       // pushes as the registry's admin
//!     let image = pusher.image("team/app", &ImageSpec::linux("amd64", None, "2024-01-01T00:00:00Z")).await;
//!     pusher.tag("team/app", "v1.0.0", &image).await;       // or tag_many(…, tags, workers), index(…, images)
//!     let endpoint = registry.endpoint();                   // trusts the test CA for tls(), no rate limit
//!     // image references name it `registry.registry` (127.0.0.1:PORT); plain registries are `http://`.
//! }   // the registry process is killed and its temp dir removed here
//! ```
//!
//! For behaviour the real registry cannot show, [`MockServer::start`] serves an axum `Router` on a random port
//! and records each request (method, path and query, `Authorization`); say in the test why a mock is needed.
//! Each test binary compiles this module and uses a part of it, so unused-item warnings are silenced here.
#![allow(dead_code, unused_imports)]

pub mod gitcli;
pub mod kubeapi;
pub mod mock;
pub mod pki;
pub mod proxied;
pub mod push;
pub mod registry;
pub mod token;

pub use mock::{MockServer, Seen};
pub use push::{ImageSpec, PushedImage, Pusher};
pub use registry::TestRegistry;
pub use token::TokenServer;
