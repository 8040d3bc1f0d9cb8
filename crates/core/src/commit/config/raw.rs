//! The file as `serde_norway` reads it: values kept as written (`1.10` stays `1.10`), unknown keys refused,
//! mappings kept in order with each key once; validated by `mod` and `app`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawFile {
    pub(super) interval: Option<String>,
    pub(super) git: Option<RawGit>,
    pub(super) applications: Option<Vec<RawApp>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawGit {
    pub(super) author: Option<RawAuthor>,
    pub(super) signing_key: Option<String>,
    pub(super) commit_message_template: Option<String>,
    pub(super) known_hosts_file: Option<String>,
    pub(super) ca_file: Option<String>,
    pub(super) secrets_dir: Option<String>,
    pub(super) credentials: Option<Vec<RawCredential>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthor {
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCredential {
    pub(super) url: String,
    pub(super) username: Option<String>,
    pub(super) username_file: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) token_file: Option<String>,
    pub(super) ssh_private_key_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawApp {
    pub(super) name: String,
    pub(super) namespace: Option<String>,
    pub(super) repository: String,
    pub(super) target_revision: Option<String>,
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) annotations: Pairs,
    #[serde(default)]
    pub(super) parameters: Pairs,
    #[serde(default)]
    pub(super) env: Pairs,
    pub(super) review_branch: Option<RawReview>,
}

/// A mapping of strings kept in the order written, each key once; null is empty.
#[derive(Default)]
pub(super) struct Pairs(pub(super) Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Pairs, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Pairs, E> {
                Ok(Pairs::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Pairs, D::Error> {
                d.deserialize_map(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs: Vec<(String, String)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if pairs.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("{key} is written twice")));
                    }
                    let value = map.next_value::<String>()?;
                    pairs.push((key, value));
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_option(V)
    }
}

/// `reviewBranch`: a boolean or a template.
pub(super) enum RawReview {
    Flag(bool),
    Template(String),
}

impl<'de> Deserialize<'de> for RawReview {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawReview, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawReview;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a branch template")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawReview, E> {
                Ok(RawReview::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawReview, E> {
                Ok(RawReview::Template(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
