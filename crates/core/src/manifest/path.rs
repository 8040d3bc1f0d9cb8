//! User-declared image paths for custom resources (`spec.image`, `MyKind:spec.containers[*].image`).

use std::fmt;
use std::str::FromStr;

use super::tree::Step;

/// Where a custom resource keeps an image, beyond the pod specs the scanner knows.
///
/// Syntax: `[Kind:]field(.field)*`, where a field may carry `[*]` (every item of a sequence) or `[N]` (item N),
/// e.g. `spec.image`, `spec.containers[*].image`, `Workflow:spec.templates[*].container.image`. With a kind, only
/// objects of that exact `kind` are searched. The value found must be a string scalar.
///
/// ```
/// use argocd_image_resolver_core::manifest::ImagePath;
/// let path: ImagePath = "MyKind:spec.containers[*].image".parse().unwrap();
/// assert_eq!(path.kind(), Some("MyKind"));
/// assert_eq!(path.to_string(), "MyKind:spec.containers[*].image");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePath {
    kind: Option<String>,
    steps: Vec<Step>,
}

/// Why an image path does not parse; every message quotes the path and shows the syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImagePathError {
    #[error("image path '{text}' is empty; {SYNTAX}")]
    Empty { text: String },
    #[error(
        "image path '{text}' has an invalid kind '{kind}': a kind is letters and digits; {SYNTAX}"
    )]
    Kind { text: String, kind: String },
    #[error("image path '{text}' has an empty field name at character {at}; {SYNTAX}")]
    EmptyField { text: String, at: usize },
    #[error(
        "image path '{text}' has an invalid index '[{index}]' at character {at}: use '[*]' or a number; {SYNTAX}"
    )]
    Index {
        text: String,
        index: String,
        at: usize,
    },
    #[error("image path '{text}' has a '[' at character {at} that is never closed; {SYNTAX}")]
    Unclosed { text: String, at: usize },
    #[error("image path '{text}' has an unexpected '{found}' at character {at}; {SYNTAX}")]
    Unexpected {
        text: String,
        found: char,
        at: usize,
    },
}

const SYNTAX: &str =
    "write it like 'spec.image', 'spec.containers[*].image' or 'MyKind:spec.image'";

impl ImagePath {
    /// Parses a path (surrounding white space is ignored).
    ///
    /// # Errors
    ///
    /// When the text is not `[Kind:]field(.field)*` with optional `[*]`/`[N]` after fields.
    pub fn parse(text: &str) -> Result<Self, ImagePathError> {
        let text = text.trim();
        let owned = || text.to_owned();
        if text.is_empty() {
            return Err(ImagePathError::Empty { text: owned() });
        }
        let (kind, path, offset) = match text.split_once(':') {
            Some((kind, path)) => {
                if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ImagePathError::Kind {
                        text: owned(),
                        kind: kind.to_owned(),
                    });
                }
                (Some(kind.to_owned()), path, kind.chars().count() + 1)
            }
            None => (None, text, 0),
        };
        let chars: Vec<char> = path.chars().collect();
        if chars.is_empty() {
            return Err(ImagePathError::Empty { text: owned() });
        }
        let at = |i: usize| offset + i + 1;
        let mut steps = Vec::new();
        let mut i = 0;
        loop {
            // A field name, then any number of `[..]`, then `.` or the end.
            let start = i;
            while i < chars.len() && !matches!(chars[i], '.' | '[' | ']') {
                let c = chars[i];
                if c.is_whitespace() || matches!(c, ':' | '*') {
                    return Err(ImagePathError::Unexpected {
                        text: owned(),
                        found: c,
                        at: at(i),
                    });
                }
                i += 1;
            }
            if i == start {
                return Err(ImagePathError::EmptyField {
                    text: owned(),
                    at: at(i),
                });
            }
            steps.push(Step::Key(chars[start..i].iter().collect()));
            while i < chars.len() && chars[i] == '[' {
                let open = i;
                let Some(close) = chars[i..].iter().position(|&c| c == ']').map(|n| i + n) else {
                    return Err(ImagePathError::Unclosed {
                        text: owned(),
                        at: at(open),
                    });
                };
                let index: String = chars[open + 1..close].iter().collect();
                steps.push(match index.as_str() {
                    "*" => Step::AnyIndex,
                    n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                        match n.parse() {
                            Ok(n) => Step::Index(n),
                            Err(_) => {
                                return Err(ImagePathError::Index {
                                    text: owned(),
                                    index,
                                    at: at(open),
                                });
                            }
                        }
                    }
                    _ => {
                        return Err(ImagePathError::Index {
                            text: owned(),
                            index,
                            at: at(open),
                        });
                    }
                });
                i = close + 1;
            }
            match chars.get(i) {
                None => break,
                Some('.') => i += 1,
                Some(&c) => {
                    return Err(ImagePathError::Unexpected {
                        text: owned(),
                        found: c,
                        at: at(i),
                    });
                }
            }
        }
        Ok(Self { kind, steps })
    }

    /// The only `kind` this path applies to, if restricted.
    #[must_use]
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl FromStr for ImagePath {
    type Err = ImagePathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(kind) = &self.kind {
            write!(f, "{kind}:")?;
        }
        for (n, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(k) if n == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
                Step::AnyKey => f.write_str(".*")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key(k.to_owned())
    }

    #[test]
    fn parses() {
        let cases = [
            (
                "one field",
                "spec.image",
                None,
                vec![key("spec"), key("image")],
                "spec.image",
            ),
            (
                "every item",
                "spec.containers[*].image",
                None,
                vec![key("spec"), key("containers"), Step::AnyIndex, key("image")],
                "spec.containers[*].image",
            ),
            (
                "one item, list of strings",
                "spec.images[2]",
                None,
                vec![key("spec"), key("images"), Step::Index(2)],
                "spec.images[2]",
            ),
            (
                "kind",
                "MyKind:spec.image",
                Some("MyKind"),
                vec![key("spec"), key("image")],
                "MyKind:spec.image",
            ),
            (
                "nested indices",
                "a[*][0].b",
                None,
                vec![key("a"), Step::AnyIndex, Step::Index(0), key("b")],
                "a[*][0].b",
            ),
            (
                "white space around",
                "  image \n",
                None,
                vec![key("image")],
                "image",
            ),
            (
                "dashes and slashes",
                "x-y/z_w",
                None,
                vec![key("x-y/z_w")],
                "x-y/z_w",
            ),
        ];
        for (name, text, kind, steps, shown) in cases {
            let path = ImagePath::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(path.kind(), kind, "{name}: kind");
            assert_eq!(path.steps(), steps.as_slice(), "{name}: steps");
            assert_eq!(path.to_string(), shown, "{name}: display");
        }
    }

    #[test]
    fn rejects() {
        let s = "write it like 'spec.image', 'spec.containers[*].image' or 'MyKind:spec.image'";
        let cases = [
            ("empty", " ", format!("image path '' is empty; {s}")),
            (
                "kind only",
                "MyKind:",
                format!("image path 'MyKind:' is empty; {s}"),
            ),
            (
                "empty kind",
                ":spec.image",
                format!(
                    "image path ':spec.image' has an invalid kind '': a kind is letters and digits; {s}"
                ),
            ),
            (
                "kind with dot",
                "my.Kind:spec",
                format!(
                    "image path 'my.Kind:spec' has an invalid kind 'my.Kind': a kind is letters and digits; {s}"
                ),
            ),
            (
                "double dot",
                "spec..image",
                format!("image path 'spec..image' has an empty field name at character 6; {s}"),
            ),
            (
                "leading dot",
                ".spec",
                format!("image path '.spec' has an empty field name at character 1; {s}"),
            ),
            (
                "trailing dot",
                "spec.",
                format!("image path 'spec.' has an empty field name at character 6; {s}"),
            ),
            (
                "leading index",
                "[*].image",
                format!("image path '[*].image' has an empty field name at character 1; {s}"),
            ),
            (
                "bad index",
                "a[x].b",
                format!(
                    "image path 'a[x].b' has an invalid index '[x]' at character 2: use '[*]' or a number; {s}"
                ),
            ),
            (
                "empty index",
                "a[]",
                format!(
                    "image path 'a[]' has an invalid index '[]' at character 2: use '[*]' or a number; {s}"
                ),
            ),
            (
                "unclosed index",
                "a[1",
                format!("image path 'a[1' has a '[' at character 2 that is never closed; {s}"),
            ),
            (
                "huge index",
                "a[99999999999999999999999]",
                format!(
                    "image path 'a[99999999999999999999999]' has an invalid index '[99999999999999999999999]' at character 2: use '[*]' or a number; {s}"
                ),
            ),
            (
                "second colon",
                "K:a:b",
                format!("image path 'K:a:b' has an unexpected ':' at character 4; {s}"),
            ),
            (
                "space inside",
                "spec. image",
                format!("image path 'spec. image' has an unexpected ' ' at character 6; {s}"),
            ),
            (
                "text after index",
                "a[0]b",
                format!("image path 'a[0]b' has an unexpected 'b' at character 5; {s}"),
            ),
            (
                "stray bracket",
                "a]b",
                format!("image path 'a]b' has an unexpected ']' at character 2; {s}"),
            ),
            (
                "star field",
                "spec.*",
                format!("image path 'spec.*' has an unexpected '*' at character 6; {s}"),
            ),
        ];
        for (name, text, want) in cases {
            let err = ImagePath::parse(text).expect_err(name);
            assert_eq!(err.to_string(), want, "{name}");
        }
    }
}
