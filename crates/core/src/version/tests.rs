//! Table tests of the three parsers, display, parts and SemVer precedence, and properties of the order.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use proptest::prelude::*;

use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Masterminds v3.4.0 `TestNewVersion` ("With loose NewVersion"): input, whether parsing fails.
#[test]
fn lenient_accepts_and_rejects_like_masterminds() {
    let cases = [
        ("1.2.3", false),
        ("1.2.3-alpha.01", true),
        ("1.2.3+test.01", false),
        ("1.2.3-alpha.-1", false),
        ("v1.2.3", false),
        ("1.0", false),
        ("v1.0", false),
        ("1", false),
        ("v1", false),
        ("1.2.beta", true),
        ("v1.2.beta", true),
        ("foo", true),
        ("1.2-5", false),
        ("v1.2-5", false),
        ("1.2-beta.5", false),
        ("v1.2-beta.5", false),
        ("\n1.2", true),
        ("\nv1.2", true),
        ("1.2.0-x.Y.0+metadata", false),
        ("v1.2.0-x.Y.0+metadata", false),
        ("1.2.0-x.Y.0+metadata-width-hypen", false),
        ("v1.2.0-x.Y.0+metadata-width-hypen", false),
        ("1.2.3-rc1-with-hypen", false),
        ("v1.2.3-rc1-with-hypen", false),
        ("1.2.3.4", true),
        ("v1.2.3.4", true),
        ("1.2.2147483648", false),
        ("1.2147483648.3", false),
        ("2147483648.3.0", false),
        ("12.3.4.1234", true),
        ("12.23.4.1234", true),
        ("12.3.34.1234", true),
        ("20221209-update-renovatejson-v4", false),
        ("1.1.2+.123", true),
        ("1.0.0-alpha_beta", true),
        ("1.0.0-alpha..", true),
        ("1.0.0-alpha..1", true),
        ("9.8.7+meta+meta", true),
        ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
        ("01.1.1", false),
        ("1.01.1", false),
        ("1.1.01", false),
    ];
    for (input, fails) in cases {
        assert_eq!(
            Version::parse(input).is_err(),
            fails,
            "{input:?}: {:?}",
            Version::parse(input)
        );
    }
}

/// Masterminds v3.4.0 `TestStrictNewVersion`: input, whether parsing fails.
#[test]
fn strict_accepts_and_rejects_like_masterminds() {
    let cases = [
        ("1.2.3", false),
        ("1.2.3-alpha.01", true),
        ("1.2.3+test.01", false),
        ("1.2.3-alpha.-1", false),
        ("v1.2.3", true),
        ("1.0", true),
        ("v1.0", true),
        ("1", true),
        ("v1", true),
        ("1.2", true),
        ("1.2.beta", true),
        ("v1.2.beta", true),
        ("foo", true),
        ("1.2-5", true),
        ("v1.2-5", true),
        ("1.2-beta.5", true),
        ("v1.2-beta.5", true),
        ("\n1.2", true),
        ("\nv1.2", true),
        ("1.2.0-x.Y.0+metadata", false),
        ("v1.2.0-x.Y.0+metadata", true),
        ("1.2.0-x.Y.0+metadata-width-hypen", false),
        ("v1.2.0-x.Y.0+metadata-width-hypen", true),
        ("1.2.3-rc1-with-hypen", false),
        ("v1.2.3-rc1-with-hypen", true),
        ("1.2.3.4", true),
        ("v1.2.3.4", true),
        ("1.2.2147483648", false),
        ("1.2147483648.3", false),
        ("2147483648.3.0", false),
        ("20221209-update-renovatejson-v4", true),
        ("1.1.2+.123", true),
        ("1.0.0-alpha_beta", true),
        ("1.0.0-alpha..", true),
        ("1.0.0-alpha..1", true),
        ("01.1.1", true),
        ("1.01.1", true),
        ("1.1.01", true),
        ("9.8.7+meta+meta", true),
        ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
        ("1.2.3-0123", true),
        ("1.2.3-0123.0123", true),
        ("+invalid", true),
        ("-invalid", true),
        ("-invalid.01", true),
        ("alpha+beta", true),
        ("1.2.3-alpha_beta+foo", true),
        // Beyond Masterminds' table: empty prerelease or metadata, checked against Masterminds v3.4.0.
        ("1.2.3-", true),
        ("1.2.3+", true),
        ("1.2.3-+b", true),
        ("0.0.0", false),
    ];
    for (input, fails) in cases {
        assert_eq!(
            Version::parse_strict(input).is_err(),
            fails,
            "{input:?}: {:?}",
            Version::parse_strict(input)
        );
    }
}

/// The Flux policy rule: three numeric parts, an optional `v`, leading zeros read as decimal.
#[test]
fn three_part_requires_major_minor_patch() {
    let cases = [
        ("plain", "1.2.3", Some("1.2.3")),
        ("v prefix", "v1.2.3", Some("1.2.3")),
        (
            "prerelease and metadata",
            "v1.2.3-rc.1+build.5",
            Some("1.2.3-rc.1+build.5"),
        ),
        ("calver with leading zeros", "v2025.02.03", Some("2025.2.3")),
        ("two parts", "1.2", None),
        ("two parts with prerelease", "1.2-rc.1", None),
        ("one part", "v1", None),
        ("four parts", "1.2.3.4", None),
        ("capital V", "V1.2.3", None),
        ("empty", "", None),
    ];
    for (name, input, want) in cases {
        let got = Version::parse_three_part(input).ok().map(|v| v.to_string());
        assert_eq!(got.as_deref(), want, "{name}: {input:?}");
    }
}

/// Masterminds `TestCoerceString` and `TestOriginal`: the canonical form, and the text kept as given.
#[test]
fn display_is_canonical_and_original_is_kept() {
    let cases = [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("1.0", "1.0.0"),
        ("v1.0", "1.0.0"),
        ("1", "1.0.0"),
        ("v1", "1.0.0"),
        ("1.2-5", "1.2.0-5"),
        ("v1.2-5", "1.2.0-5"),
        ("1.2-beta.5", "1.2.0-beta.5"),
        ("v1.2-beta.5", "1.2.0-beta.5"),
        ("1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
        ("v1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
        (
            "1.2.0-x.Y.0+metadata-width-hypen",
            "1.2.0-x.Y.0+metadata-width-hypen",
        ),
        (
            "v1.2.0-x.Y.0+metadata-width-hypen",
            "1.2.0-x.Y.0+metadata-width-hypen",
        ),
        ("1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
        ("v1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
        ("2024.01.05", "2024.1.5"),
        ("1.2+build", "1.2.0+build"),
    ];
    for (input, canonical) in cases {
        let version = v(input);
        assert_eq!(version.to_string(), canonical, "{input}");
        assert_eq!(version.original(), input, "{input}");
        assert_eq!(
            input.parse::<Version>().map(|p| p.to_string()).as_deref(),
            Ok(canonical),
            "{input}"
        );
    }
}

/// Masterminds `TestParts`, plus the parts of partial versions.
#[test]
fn parts_are_exposed() {
    let cases = [
        (
            "1.2.3-beta.1+build.123",
            (1, 2, 3, "beta.1", "build.123", true),
        ),
        ("v4", (4, 0, 0, "", "", false)),
        ("0.7+linux", (0, 7, 0, "", "linux", false)),
        (
            "18446744073709551615.0.1-0",
            (u64::MAX, 0, 1, "0", "", true),
        ),
    ];
    for (input, (major, minor, patch, pre, meta, is_pre)) in cases {
        let version = v(input);
        assert_eq!(
            (
                version.major(),
                version.minor(),
                version.patch(),
                version.prerelease(),
                version.metadata()
            ),
            (major, minor, patch, pre, meta),
            "{input}"
        );
        assert_eq!(version.is_prerelease(), is_pre, "{input}");
    }
}

/// Masterminds `TestCompare` and `TestGreaterThan`: -1, 0 or 1 for `a` against `b`.
#[test]
fn ordering_follows_semver_precedence() {
    let cases = [
        ("1.2.3", "1.5.1", -1),
        ("2.2.3", "1.5.1", 1),
        ("2.2.3", "2.2.2", 1),
        ("3.2-beta", "3.2-beta", 0),
        ("1.3", "1.1.4", 1),
        ("4.2", "4.2-beta", 1),
        ("4.2-beta", "4.2", -1),
        ("4.2-alpha", "4.2-beta", -1),
        ("4.2-alpha", "4.2-alpha", 0),
        ("4.2-beta.2", "4.2-beta.1", 1),
        ("4.2-beta2", "4.2-beta1", 1),
        ("4.2-beta", "4.2-beta.2", -1),
        ("4.2-beta", "4.2-beta.foo", -1),
        ("4.2-beta.2", "4.2-beta", 1),
        ("4.2-beta.foo", "4.2-beta", 1),
        ("1.2+bar", "1.2+baz", 0),
        ("1.0.0-beta.4", "1.0.0-beta.-2", -1),
        ("1.0.0-beta.-2", "1.0.0-beta.-3", -1),
        ("1.0.0-beta.-3", "1.0.0-beta.5", 1),
        ("3.2.0-beta.1", "3.2.0-beta.5", -1),
        ("3.2-beta.4", "3.2-beta.2", 1),
        ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.103", -1),
        ("7.43.0-SNAPSHOT.FOO", "7.43.0-SNAPSHOT.103", 1),
        ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.BAR", -1),
        ("v1.0", "1.0.0", 0),
        ("01.1.1", "1.1.1", 0),
        // Digits beyond 64 bits compare as text, as in Masterminds (checked against v3.4.0).
        (
            "1.0.0-100000000000000000000",
            "1.0.0-99999999999999999999",
            -1,
        ),
        ("1.0.0-99999999999999999999", "1.0.0-5", 1),
    ];
    for (a, b, want) in cases {
        let got = v(a).cmp(&v(b)) as i8;
        assert_eq!(got, want, "{a} vs {b}");
        assert_eq!(v(b).cmp(&v(a)) as i8, -want, "{b} vs {a}");
        assert_eq!(v(a) == v(b), want == 0, "{a} == {b}");
    }
}

#[test]
fn errors_name_the_input() {
    type Parser = fn(&str) -> Result<Version, VersionError>;
    let cases: [(&str, Parser, &str); 11] = [
        (
            "empty",
            Version::parse,
            "invalid version '': the string is empty",
        ),
        (
            "1.2.3.4",
            Version::parse,
            "invalid version '1.2.3.4': expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with numeric \
             parts, e.g. 'v1.2.3' or '1.2'",
        ),
        (
            "1.2.3-alpha.01",
            Version::parse,
            "invalid version '1.2.3-alpha.01': numeric prerelease identifier '01' must not start with 0",
        ),
        (
            "1.0.0-alpha_beta",
            Version::parse,
            "invalid version '1.0.0-alpha_beta': prerelease 'alpha_beta' must be non-empty identifiers of \
             [0-9A-Za-z-] separated by dots",
        ),
        (
            "1.1.2+.123",
            Version::parse,
            "invalid version '1.1.2+.123': build metadata '.123' must be non-empty identifiers of [0-9A-Za-z-] \
             separated by dots",
        ),
        (
            "1.99999999999999999999",
            Version::parse,
            "invalid version '1.99999999999999999999': '99999999999999999999' is larger than \
             18446744073709551615",
        ),
        (
            "v1.2.3",
            Version::parse_strict,
            "invalid version 'v1.2.3': expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a 'v' prefix, \
             e.g. '1.2.3'",
        ),
        (
            "1.02.3",
            Version::parse_strict,
            "invalid version '1.02.3': '02' must not start with 0 in a strict semantic version",
        ),
        (
            "1.2.3-",
            Version::parse_strict,
            "invalid version '1.2.3-': prerelease '' must be non-empty identifiers of [0-9A-Za-z-] separated by \
             dots",
        ),
        (
            "1.2",
            Version::parse_three_part,
            "invalid version '1.2': expected exactly three numeric parts, \
             [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 'v1.2.3'",
        ),
        (
            "1.2.x",
            Version::parse_three_part,
            "invalid version '1.2.x': expected [v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] with numeric \
             parts, e.g. 'v1.2.3' or '1.2'",
        ),
    ];
    for (input, parse, want) in cases {
        let text = if input == "empty" { "" } else { input };
        assert_eq!(parse(text).unwrap_err().to_string(), want, "{input}");
    }
}

fn hash_of(version: &Version) -> u64 {
    let mut hasher = DefaultHasher::new();
    version.hash(&mut hasher);
    hasher.finish()
}

/// Versions built from small parts, so that equal and near-equal versions are common.
fn version_strategy() -> impl Strategy<Value = Version> {
    let number = prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("2".to_owned()),
        "[0-9]{1,3}"
    ];
    let identifier = prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("10".to_owned()),
        Just("alpha".to_owned()),
        Just("beta".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999".to_owned()),
        "[1-9][0-9]{0,2}",
        "[a-zA-Z-][0-9a-zA-Z-]{0,3}",
    ];
    let prerelease = prop::collection::vec(identifier, 0..3).prop_map(|ids| ids.join("."));
    let metadata = prop_oneof![Just(String::new()), "[0-9a-z]{1,3}"];
    (
        prop::bool::ANY,
        prop::collection::vec(number, 1..=3),
        prerelease,
        metadata,
    )
        .prop_map(|(v, numbers, pre, meta)| {
            let mut text = format!("{}{}", if v { "v" } else { "" }, numbers.join("."));
            if !pre.is_empty() {
                text = format!("{text}-{pre}");
            }
            if !meta.is_empty() {
                text = format!("{text}+{meta}");
            }
            Version::parse(&text).unwrap_or_else(|e| panic!("generated {text}: {e}"))
        })
}

proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC{0,40}|[v0-9.+x-]{0,20}") {
        let _ = Version::parse(&s);
        let _ = Version::parse_strict(&s);
        let _ = Version::parse_three_part(&s);
    }

    #[test]
    fn strict_versions_are_lenient_versions(s in "[v0-9.+a-z-]{0,16}") {
        if let Ok(strict) = Version::parse_strict(&s) {
            let lenient = Version::parse(&s).expect("strict implies lenient");
            prop_assert_eq!(strict.to_string(), lenient.to_string());
        }
    }

    #[test]
    fn order_is_total_and_agrees_with_eq_and_hash(
        a in version_strategy(), b in version_strategy(), c in version_strategy()
    ) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
        prop_assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)));
        if a == b {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
        if a <= b && b <= c {
            prop_assert!(a <= c, "{} <= {} <= {} but not {} <= {}", a, b, c, a, c);
        }
    }

    #[test]
    fn display_parses_back_to_an_equal_version(a in version_strategy()) {
        let again = Version::parse(&a.to_string()).expect("canonical form parses");
        prop_assert_eq!(&again, &a);
        prop_assert_eq!(again.metadata(), a.metadata());
    }
}
