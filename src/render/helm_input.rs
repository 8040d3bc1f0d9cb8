//! The values an Application controls that reach `helm template` as flag values or positionals, each parsed into a
//! type that holds only what helm would accept, so that none can start with `-` and be read as a flag.
//!
//! The command line is built so that this would not matter either (`--flag=value` forms, `--` before the
//! positionals): the checks give a clear error before helm runs instead of helm's, and keep values out of argv that
//! helm would misread.

use std::fmt;
use std::str::FromStr;

/// A value that is not what it should be: `expected` says what it should be, as a noun phrase.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{}' is not {expected}", shown(value))]
pub struct InvalidInput {
    pub value: String,
    pub expected: &'static str,
}

/// At most this many characters of a bad value go into a message, which must stay one short paragraph.
const SHOWN_MAX_CHARS: usize = 80;

/// `value` for a message: escaped, so it cannot forge lines or reorder what the Argo CD UI shows, and cut short.
pub fn shown(value: &str) -> String {
    crate::escape::shown(value, SHOWN_MAX_CHARS)
}

use crate::registry::credentials::is_dns_label as is_label;

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $expected:expr, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// What a valid value looks like, for messages.
            pub const EXPECTED: &'static str = $expected;

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let valid: fn(&str) -> bool = $valid;
                if valid(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(InvalidInput {
                        value: value.to_owned(),
                        expected: Self::EXPECTED,
                    })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A release name as helm accepts it (`chartutil.ValidateReleaseName`): at most 53 characters, dot-separated
    /// DNS-1123 labels.
    ///
    /// ```
    /// use argocd_image_resolver::render::ReleaseName;
    /// assert!("shop.v2".parse::<ReleaseName>().is_ok());
    /// assert!("--post-renderer=/bin/sh".parse::<ReleaseName>().is_err());
    /// ```
    ReleaseName,
    "a Helm release name (at most 53 characters: lower-case letters, digits, '-' and '.', starting and ending \
     with a letter or digit)",
    |s| s.len() <= 53 && s.split('.').all(is_label)
);

checked_string!(
    /// A namespace name: a DNS-1123 label, as Kubernetes requires.
    Namespace,
    "a Kubernetes namespace (at most 63 characters: lower-case letters, digits and '-', starting and ending with \
     a letter or digit)",
    is_label
);

checked_string!(
    /// A Kubernetes version for `.Capabilities.KubeVersion`: `[v]MAJOR.MINOR[.PATCH]`, then an optional
    /// pre-release (`-…`) and build (`+…`) of letters, digits, `.` and `-`, as the versions clusters report.
    KubeVersion,
    "a Kubernetes version such as 1.29.3, v1.30 or 1.28.4+k3s1",
    is_kube_version
);

checked_string!(
    /// An entry of `.Capabilities.APIVersions`: `version`, `group/version` or `group/version/Kind` (Argo CD's
    /// `KUBE_API_VERSIONS` lists both shapes, the core group as `v1` and `v1/Pod`).
    ApiVersion,
    "an API version such as v1, apps/v1 or apps/v1/Deployment",
    is_api_version
);

fn is_kube_version(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, rest) = s.split_at(s.find(['-', '+']).unwrap_or(s.len()));
    let numbers: Vec<&str> = core.split('.').collect();
    let numeric = |n: &&str| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit());
    let suffix_ok = rest.is_empty()
        || (rest.len() > 1
            && rest.len() <= 100
            && rest[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+')));
    (2..=3).contains(&numbers.len()) && numbers.iter().all(numeric) && suffix_ok
}

fn is_api_version(s: &str) -> bool {
    let segments: Vec<&str> = s.split('/').collect();
    let segment = |seg: &&str| {
        let bytes = seg.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 253
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    (1..=3).contains(&segments.len()) && segments.iter().all(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T: FromStr>(value: &str) -> bool {
        value.parse::<T>().is_ok()
    }

    #[test]
    fn release_names_follow_helm() {
        let long = "a".repeat(53);
        let too_long = "a".repeat(54);
        for (name, value, want) in [
            ("simple", "shop", true),
            ("digits and dashes", "shop-2", true),
            ("dotted", "shop.v2", true),
            ("53 characters", long.as_str(), true),
            ("54 characters", too_long.as_str(), false),
            ("empty", "", false),
            ("flag", "--post-renderer=/bin/sh", false),
            ("leading dash", "-shop", false),
            ("trailing dash", "shop-", false),
            ("upper case", "Shop", false),
            ("underscore", "my_shop", false),
            ("empty label", "a..b", false),
            ("trailing dot", "shop.", false),
            ("space", "my shop", false),
            ("slash", "a/b", false),
        ] {
            assert_eq!(ok::<ReleaseName>(value), want, "{name}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        let long = "n".repeat(63);
        let too_long = "n".repeat(64);
        for (name, value, want) in [
            ("simple", "shop", true),
            ("63 characters", long.as_str(), true),
            ("64 characters", too_long.as_str(), false),
            ("dot", "a.b", false),
            ("flag", "--namespace=x", false),
            ("empty", "", false),
            ("upper case", "Shop", false),
        ] {
            assert_eq!(ok::<Namespace>(value), want, "{name}");
        }
    }

    #[test]
    fn kube_versions_are_versions() {
        for (name, value, want) in [
            ("three parts", "1.29.3", true),
            ("v prefix", "v1.30.0", true),
            ("two parts", "1.30", true),
            ("k3s build", "1.28.4+k3s1", true),
            ("eks pre-release", "v1.29.0-eks-5e0fdde", true),
            ("one part", "1", false),
            ("four parts", "1.2.3.4", false),
            ("flag", "--output-dir=/x", false),
            ("empty", "", false),
            ("letters", "one.two", false),
            ("empty suffix", "1.29.3+", false),
            ("space in suffix", "1.29.3-a b", false),
        ] {
            assert_eq!(ok::<KubeVersion>(value), want, "{name}");
        }
    }

    #[test]
    fn api_versions_are_group_version_kind() {
        for (name, value, want) in [
            ("core", "v1", true),
            ("core kind", "v1/Pod", true),
            ("group", "apps/v1", true),
            (
                "dotted group and kind",
                "networking.k8s.io/v1/Ingress",
                true,
            ),
            ("four parts", "a/b/c/d", false),
            ("flag", "--post-renderer=x", false),
            ("empty", "", false),
            ("empty part", "apps//v1", false),
            ("comma", "apps/v1,x", false),
            ("space", "apps/v1 x", false),
        ] {
            assert_eq!(ok::<ApiVersion>(value), want, "{name}");
        }
    }

    #[test]
    fn messages_show_values_safely() {
        let long = "x".repeat(100);
        for (name, value, want) in [
            ("plain", "--x", "--x"),
            ("newline", "a\nb", r"a\nb"),
            ("right-to-left override", "a\u{202e}b", r"a\u{202e}b"),
            ("nul", "a\0b", r"a\0b"),
            ("non-ASCII kept", "é", "é"),
        ] {
            assert_eq!(shown(value), want, "{name}");
        }
        assert_eq!(
            shown(&long),
            format!("{}… (100 characters)", "x".repeat(80))
        );
        assert_eq!(
            "Web".parse::<ReleaseName>().unwrap_err().to_string(),
            "'Web' is not a Helm release name (at most 53 characters: lower-case letters, digits, '-' and '.', \
             starting and ending with a letter or digit)"
        );
    }
}
