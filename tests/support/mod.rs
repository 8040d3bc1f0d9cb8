//! Test harness shared by the integration tests: a real `docker-registry` (plain, htpasswd, bearer token, TLS),
//! a token server, test certificates, push helpers, and recording in-process mock servers.
//!
//! Each test binary compiles this module and uses a part of it, so unused-item warnings are silenced here.
#![allow(dead_code, unused_imports)]

pub mod mock;
pub mod pki;
pub mod push;
pub mod registry;
pub mod token;

pub use mock::{MockServer, Seen};
pub use push::{ImageSpec, PushedImage, Pusher};
pub use registry::TestRegistry;
pub use token::TokenServer;
