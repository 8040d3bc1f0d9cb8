//! Parses `WWW-Authenticate` challenges (RFC 7235): which scheme a registry wants and where its token server is.

use std::fmt;

/// One authentication challenge: a scheme and its parameters (names lower-cased, values unquoted).
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (`Bearer`, `Basic`); compare with [`Challenge::is`].
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Case-insensitive scheme test.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of a parameter (`realm`, `service`, `scope`, `error`), by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Shown as it would be sent, for error messages (challenges carry no secrets).
impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, (name, value)) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { "," };
            write!(f, "{sep}{name}=\"{value}\"")?;
        }
        Ok(())
    }
}

/// Why a `WWW-Authenticate` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("www-authenticate header '{header}' is malformed at byte {at}: {reason}")]
    Malformed {
        header: String,
        at: usize,
        reason: &'static str,
    },
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Parses every challenge in one header value; several challenges may share a value, separated by commas.
///
/// ```
/// use argocd_image_resolver::registry::challenge::parse_challenges;
/// let all = parse_challenges(r#"Bearer realm="https://auth/token",service="reg", Basic realm="x""#).unwrap();
/// assert_eq!(all[0].param("service"), Some("reg"));
/// assert!(all[1].is("basic"));
/// ```
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let malformed = |at: usize, reason| ChallengeError::Malformed {
        header: header.to_string(),
        at,
        reason,
    };
    let chars: Vec<(usize, char)> = header.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(header.len(), |(b, _)| *b);
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|(_, c)| *c == ' ' || *c == '\t') {
            *i += 1;
        }
    };
    loop {
        while chars
            .get(i)
            .is_some_and(|(_, c)| *c == ' ' || *c == '\t' || *c == ',')
        {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while chars.get(i).is_some_and(|(_, c)| is_token_char(*c)) {
            i += 1;
        }
        if i == start {
            return Err(malformed(at(i), "expected a scheme or parameter name"));
        }
        let token: String = chars[start..i].iter().map(|(_, c)| c).collect();
        skip_ws(&mut i);
        if chars.get(i).is_some_and(|(_, c)| *c == '=') {
            i += 1;
            skip_ws(&mut i);
            let value = if chars.get(i).is_some_and(|(_, c)| *c == '"') {
                i += 1;
                let mut value = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(malformed(at(i), "unterminated quoted string")),
                        Some((_, '"')) => {
                            i += 1;
                            break;
                        }
                        Some((_, '\\')) => {
                            let Some((_, escaped)) = chars.get(i + 1) else {
                                return Err(malformed(at(i), "unterminated quoted string"));
                            };
                            value.push(*escaped);
                            i += 2;
                        }
                        Some((_, c)) => {
                            value.push(*c);
                            i += 1;
                        }
                    }
                }
                value
            } else {
                let value_start = i;
                while chars.get(i).is_some_and(|(_, c)| is_token_char(*c)) {
                    i += 1;
                }
                chars[value_start..i].iter().map(|(_, c)| c).collect()
            };
            let Some(current) = challenges.last_mut() else {
                return Err(malformed(at(start), "parameter before any scheme"));
            };
            current.params.push((token.to_ascii_lowercase(), value));
            skip_ws(&mut i);
            if chars.get(i).is_some_and(|(_, c)| *c != ',') {
                return Err(malformed(at(i), "expected ',' after a parameter"));
            }
        } else {
            challenges.push(Challenge {
                scheme: token,
                params: Vec::new(),
            });
        }
    }
    Ok(challenges)
}

/// Parses all `WWW-Authenticate` header values of one response into one list.
pub fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Challenge>, ChallengeError> {
    let mut all = Vec::new();
    for value in values {
        all.extend(parse_challenges(value)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_string(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn parses_challenges() {
        for (name, header, want) in [
            (
                "docker hub bearer",
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
                vec![ch(
                    "Bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/nginx:pull"),
                    ],
                )],
            ),
            (
                "basic",
                r#"Basic realm="Registry Realm""#,
                vec![ch("Basic", &[("realm", "Registry Realm")])],
            ),
            ("bare scheme", "Basic", vec![ch("Basic", &[])]),
            (
                "two challenges in one header",
                r#"Bearer realm="https://a/token",service="s", Basic realm="r""#,
                vec![
                    ch("Bearer", &[("realm", "https://a/token"), ("service", "s")]),
                    ch("Basic", &[("realm", "r")]),
                ],
            ),
            (
                "quoted comma and escaped quote",
                r#"Bearer realm="https://a/token",scope="repository:a:pull,push",error="say \"hi\"""#,
                vec![ch(
                    "Bearer",
                    &[
                        ("realm", "https://a/token"),
                        ("scope", "repository:a:pull,push"),
                        ("error", "say \"hi\""),
                    ],
                )],
            ),
            (
                "token values, spaces around equals, upper-case names",
                r#"bearer Realm = "https://a/t" , Service=reg"#,
                vec![ch(
                    "bearer",
                    &[("realm", "https://a/t"), ("service", "reg")],
                )],
            ),
            ("empty", "", vec![]),
            (
                "scheme after scheme",
                "Negotiate, Basic realm=x",
                vec![ch("Negotiate", &[]), ch("Basic", &[("realm", "x")])],
            ),
        ] {
            assert_eq!(parse_challenges(header), Ok(want), "{name}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for (name, header, want) in [
            (
                "unterminated quote",
                r#"Bearer realm="https://a"#,
                "www-authenticate header 'Bearer realm=\"https://a' is malformed at byte 23: unterminated quoted string",
            ),
            (
                "parameter first",
                "realm=x",
                "www-authenticate header 'realm=x' is malformed at byte 0: parameter before any scheme",
            ),
            (
                "junk after value",
                r#"Bearer realm="a" b"#,
                "www-authenticate header 'Bearer realm=\"a\" b' is malformed at byte 17: expected ',' after a parameter",
            ),
            (
                "stray character",
                "Bearer @",
                "www-authenticate header 'Bearer @' is malformed at byte 7: expected a scheme or parameter name",
            ),
        ] {
            assert_eq!(
                parse_challenges(header).unwrap_err().to_string(),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn accessors_and_display() {
        let all = parse_all([r#"Bearer realm="r",service="s""#, "Basic realm=b"]).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].is("BEARER"));
        assert_eq!(all[0].param("Realm"), Some("r"));
        assert_eq!(all[0].param("scope"), None);
        assert_eq!(all[0].to_string(), r#"Bearer realm="r",service="s""#);
        assert_eq!(all[1].to_string(), r#"Basic realm="b""#);
    }
}
