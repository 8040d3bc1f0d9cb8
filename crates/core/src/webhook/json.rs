//! Walking a JSON body by field path, so that every error names the field as the sender's document writes it
//! (`events[2].target.tag`) and says whether it was missing or of the wrong type.

use serde_json::Value;

use super::WebhookProblem;

/// A place in a JSON document: the value there (`None` when absent) and its path.
#[derive(Clone, Debug)]
pub(super) struct At<'v> {
    value: Option<&'v Value>,
    path: String,
}

impl<'v> At<'v> {
    pub(super) fn root(value: &'v Value) -> Self {
        At {
            value: Some(value),
            path: String::new(),
        }
    }

    /// A value that did not come from a field (decoded from base64, say), named `path` in messages.
    pub(super) fn named(value: &'v Value, path: impl Into<String>) -> Self {
        At {
            value: Some(value),
            path: path.into(),
        }
    }

    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// Field `key`; absent when this place is absent or `null`, an error when it is neither an object nor those.
    pub(super) fn get(&self, key: &str) -> Result<At<'v>, WebhookProblem> {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        let value = match self.value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => map.get(key),
            Some(_) => return Err(self.wrong("an object")),
        };
        Ok(At { value, path })
    }

    /// Whether there is a non-null value here.
    pub(super) fn is_present(&self) -> bool {
        !matches!(self.value, None | Some(Value::Null))
    }

    pub(super) fn str(&self) -> Result<&'v str, WebhookProblem> {
        self.opt_str()?.ok_or_else(|| self.missing())
    }

    pub(super) fn opt_str(&self) -> Result<Option<&'v str>, WebhookProblem> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong("a string")),
        }
    }

    /// The elements of an array, each with its indexed path.
    pub(super) fn items(&self) -> Result<Vec<At<'v>>, WebhookProblem> {
        match self.value {
            None | Some(Value::Null) => Err(self.missing()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| At {
                    value: Some(value),
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            Some(_) => Err(self.wrong("an array")),
        }
    }

    pub(super) fn value(&self) -> Option<&'v Value> {
        self.value
    }

    pub(super) fn missing(&self) -> WebhookProblem {
        WebhookProblem::Missing {
            field: self.path.clone(),
        }
    }

    pub(super) fn wrong(&self, expected: &'static str) -> WebhookProblem {
        if self.path.is_empty() {
            return WebhookProblem::BodyType { expected };
        }
        WebhookProblem::WrongType {
            field: self.path.clone(),
            expected,
        }
    }

    /// An [`WebhookProblem::Invalid`] for this place.
    pub(super) fn invalid(&self, value: &str, what: &'static str) -> WebhookProblem {
        WebhookProblem::invalid(self.path.clone(), value, what)
    }
}
