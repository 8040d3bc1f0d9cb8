//! Table tests of write-back: the keys, branch templates, and both editors with exact expected bytes for every
//! style; a property test re-reads edited files with a full YAML reader.

mod apply;
mod branch;
mod config;
mod edit;
mod helm;
mod kustomize;
mod proptests;
