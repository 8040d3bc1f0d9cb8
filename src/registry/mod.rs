//! The OCI distribution client: the I/O edge that lists tags and reads manifests from registries.

pub mod credentials;
