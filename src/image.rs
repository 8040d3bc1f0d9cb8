//! Container image references: parse, normalise and display them as the Docker/OCI tooling does.
