//! `ARGOCD_APP_PARAMETERS` read once: the JSON list Argo CD passes, checked item by item so that a wrong type names
//! the parameter and what it should hold, not a column of the JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::SourceError;

/// One Application parameter as Argo CD passes it: a name and at most one value (checked by the policy sources
/// where it matters; Argo CD itself only ever sets one). Serialises back to Argo CD's form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Parameter {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<BTreeMap<String, String>>,
}

/// The JSON type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses the text of `ARGOCD_APP_PARAMETERS`: a JSON list of `{"name": …, "string" | "array" | "map": …}`;
/// blank text or `null` is no parameters.
///
/// ```
/// use argocd_image_resolver_core::policy::source::parse_parameters;
///
/// let parameters = parse_parameters(r#"[{"name": "web.pin", "string": "1.2.3"}]"#).unwrap();
/// assert_eq!(parameters[0].string.as_deref(), Some("1.2.3"));
/// assert_eq!(
///     parse_parameters(r#"[{"name": "image-list", "string": 1}]"#).unwrap_err().to_string(),
///     "parameter image-list: its \"string\" is a number, but must be a string"
/// );
/// ```
pub fn parse_parameters(json: &str) -> Result<Vec<Parameter>, SourceError> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(json).map_err(|e| SourceError::ParametersJson {
        reason: e.to_string(),
    })?;
    parameters_from_value(value)
}

/// The same list already read as JSON: an Application's `spec.source.plugin.parameters` as the Kubernetes API
/// serves it, which is what Argo CD passes as `ARGOCD_APP_PARAMETERS`. `null` is no parameters.
pub fn parameters_from_value(value: Value) -> Result<Vec<Parameter>, SourceError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(SourceError::ParametersJson {
                reason: format!("it is {}, not a list", kind(&other)),
            });
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parameter(index + 1, item))
        .collect()
}

fn parameter(index: usize, item: Value) -> Result<Parameter, SourceError> {
    let Value::Object(mut fields) = item else {
        return Err(SourceError::ParametersJson {
            reason: format!("item {index} is {}, not an object", kind(&item)),
        });
    };
    let name = match fields.remove("name") {
        Some(Value::String(name)) => name,
        other => {
            return Err(SourceError::ParametersJson {
                reason: format!(
                    "item {index} has {} for \"name\", not a string",
                    other.as_ref().map_or("nothing", kind)
                ),
            });
        }
    };
    // `is`: "is" for the value itself, "holds" for an item of it.
    let wrong = |field: &'static str, is: &str, given: &Value, expected: &'static str| {
        SourceError::ParameterValue {
            name: name.clone(),
            field,
            given: format!("{is} {}", kind(given)),
            expected,
        }
    };
    let mut parameter = Parameter {
        name: name.clone(),
        ..Parameter::default()
    };
    match fields.remove("string") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => parameter.string = Some(s),
        Some(other) => return Err(wrong("string", "is", &other, "a string")),
    }
    match fields.remove("array") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut strings = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => strings.push(s),
                    other => return Err(wrong("array", "holds", &other, "an array of strings")),
                }
            }
            parameter.array = Some(strings);
        }
        Some(other) => return Err(wrong("array", "is", &other, "an array of strings")),
    }
    match fields.remove("map") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            let mut map = BTreeMap::new();
            for (key, value) in entries {
                match value {
                    Value::String(s) => {
                        map.insert(key, s);
                    }
                    other => return Err(wrong("map", "holds", &other, "a map of strings")),
                }
            }
            parameter.map = Some(map);
        }
        Some(other) => return Err(wrong("map", "is", &other, "a map of strings")),
    }
    Ok(parameter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_argo_cd_passes() {
        let json = r#"[{"name":"a","string":"x"},{"name":"b","array":["1","2"]},{"name":"c","map":{"k":"v"}},
            {"name":"d"}]"#;
        let got = parse_parameters(json).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].string.as_deref(), Some("x"));
        assert_eq!(
            got[1].array.as_deref(),
            Some(&["1".to_string(), "2".to_string()][..])
        );
        assert_eq!(got[2].map.as_ref().unwrap()["k"], "v");
        assert_eq!(
            got[3],
            Parameter {
                name: "d".into(),
                ..Parameter::default()
            }
        );
        for (name, json) in [("blank", " "), ("null", "null"), ("empty list", "[]")] {
            assert!(parse_parameters(json).unwrap().is_empty(), "{name}");
        }
        assert_eq!(
            serde_json::to_string(&got[0]).unwrap(),
            r#"{"name":"a","string":"x"}"#,
            "serialises as Argo CD writes it"
        );
    }

    #[test]
    fn names_the_parameter_and_the_type_it_needs() {
        let expected =
            "; expected a JSON list of {\"name\": …, \"string\" | \"array\" | \"map\": …} or null";
        for (name, json, want) in [
            (
                "regression: a number for image-list was reported only as column 35",
                r#"[{"name":"image-list","string":1}]"#,
                "parameter image-list: its \"string\" is a number, but must be a string".to_string(),
            ),
            (
                "an array of numbers",
                r#"[{"name":"image-list","array":["a",2]}]"#,
                "parameter image-list: its \"array\" holds a number, but must be an array of strings".to_string(),
            ),
            (
                "a map of booleans",
                r#"[{"name":"policy","map":{"hold":true}}]"#,
                "parameter policy: its \"map\" holds a boolean, but must be a map of strings".to_string(),
            ),
            (
                "a string for a map",
                r#"[{"name":"set","map":"a=b"}]"#,
                "parameter set: its \"map\" is a string, but must be a map of strings".to_string(),
            ),
            (
                "an object",
                r#"{"name":"x"}"#,
                format!("invalid ARGOCD_APP_PARAMETERS: it is an object, not a list{expected}"),
            ),
            (
                "a list of numbers",
                "[1]",
                format!("invalid ARGOCD_APP_PARAMETERS: item 1 is a number, not an object{expected}"),
            ),
            (
                "no name",
                r#"[{"name":"a"},{"string":"x"}]"#,
                format!("invalid ARGOCD_APP_PARAMETERS: item 2 has nothing for \"name\", not a string{expected}"),
            ),
            (
                "a number for a name",
                r#"[{"name":1}]"#,
                format!("invalid ARGOCD_APP_PARAMETERS: item 1 has a number for \"name\", not a string{expected}"),
            ),
        ] {
            assert_eq!(parse_parameters(json).unwrap_err().to_string(), want, "{name}");
        }
    }
}
