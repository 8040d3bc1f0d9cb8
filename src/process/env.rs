//! The environment a child gets: built from a snapshot of this process's by allowing names, never inherited
//! whole, and never shown with its values.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;

/// A set of environment variables: either what a child gets, or a source (a snapshot of this process's
/// environment) to look tools up in and to pick allowed variables from.
///
/// `Debug` shows only the names: values may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of this process's environment. Hand a child only [`Env::allowed`] parts of it.
    pub fn current() -> Self {
        std::env::vars_os().collect()
    }

    /// Sets (or replaces) one variable; returns `self` for chaining.
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// The variables whose names `allow` lists: exact names, or prefixes ending in `*` (`HELM_*`).
    pub fn allowed(&self, allow: &[&str]) -> Env {
        let permitted = |name: &OsStr| {
            let Some(name) = name.to_str() else {
                return false;
            };
            allow.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
        };
        self.vars
            .iter()
            .filter(|(name, _)| permitted(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}
