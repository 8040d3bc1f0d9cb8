//! The credential spec syntax lives in the core crate; this file adds what reading a spec's value needs.

pub use argocd_image_resolver_core::credential_spec::{
    CredentialSpec, SecretScope, SpecError, SpecProblem, SpecSource, is_dns_label,
};
pub use argocd_image_resolver_core::duration::{DurationError, parse_go_duration};

use super::Secret;

/// Splits a `user:pass` value at its first `:`; both parts must be non-empty. Trailing line ends are dropped first,
/// since secrets created from files often carry one.
pub(super) fn parse_user_pass(value: &str) -> Option<(String, Secret)> {
    let value = value.trim_end_matches(['\r', '\n']);
    let (user, pass) = value.split_once(':')?;
    (!user.is_empty() && !pass.is_empty()).then(|| (user.to_string(), Secret::new(pass)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_pass_values() {
        let cases = [
            ("plain", "user:pass", Some(("user", "pass"))),
            (
                "password with colons",
                "oauth2accesstoken:a:b:c",
                Some(("oauth2accesstoken", "a:b:c")),
            ),
            (
                "trailing newline dropped",
                "user:pass\n",
                Some(("user", "pass")),
            ),
            (
                "trailing crlf dropped",
                "user:pass\r\n",
                Some(("user", "pass")),
            ),
            ("no colon", "token-only", None),
            ("empty user", ":pass", None),
            ("empty password", "user:", None),
            ("empty", "", None),
        ];
        for (name, input, want) in cases {
            let got = parse_user_pass(input);
            let got = got.as_ref().map(|(u, p)| (u.as_str(), p.expose()));
            assert_eq!(got, want, "{name}");
        }
    }
}
