//! How constraint text parses: comparisons, `||` parts, hyphen ranges, the empty constraint, and errors.

use super::*;
use crate::constraint::parse::rewrite_ranges;

/// Masterminds v3.4.0 `TestParseConstraint`: text, operator and bound, or `None` for an error.
#[test]
fn single_comparisons_parse_like_masterminds() {
    let cases = [
        (">= 1.2", Some((Op::GreaterOrEqual, "1.2.0"))),
        ("1.0", Some((Op::Equal, "1.0.0"))),
        ("foo", None),
        ("<= 1.2", Some((Op::LessOrEqual, "1.2.0"))),
        ("=< 1.2", Some((Op::LessOrEqual, "1.2.0"))),
        ("=> 1.2", Some((Op::GreaterOrEqual, "1.2.0"))),
        ("v1.2", Some((Op::Equal, "1.2.0"))),
        ("=1.5", Some((Op::Equal, "1.5.0"))),
        ("> 1.3", Some((Op::Greater, "1.3.0"))),
        ("< 1.4.1", Some((Op::Less, "1.4.1"))),
        ("< 40.50.10", Some((Op::Less, "40.50.10"))),
    ];
    for (input, want) in cases {
        let got = Constraint::parse(input).ok().map(|parsed| {
            let first = &parsed.groups[0].comparisons[0];
            (
                first.op,
                format!("{}.{}.{}", first.major, first.minor, first.patch),
            )
        });
        assert_eq!(
            got,
            want.map(|(op, bound)| (op, bound.to_owned())),
            "{input}"
        );
    }
}

/// Masterminds v3.4.0 `TestNewConstraint`: text, number of `||` alternatives, number of comparisons in the
/// first, or `None` for an error.
#[test]
fn constraints_split_like_masterminds() {
    let cases = [
        (">= 1.1", Some((1, 1))),
        (">40.50.60, < 50.70", Some((1, 2))),
        ("2.0", Some((1, 1))),
        ("v2.3.5-20161202202307-sha.e8fc5e5", Some((1, 1))),
        (">= bar", None),
        ("BAR >= 1.2.3", None),
        (">= 1.2.3 < 2.0", Some((1, 2))),
        (">= 1.2.3 < 2.0 || => 3.0 < 4", Some((2, 2))),
        (">= 1.2.3, < 2.0", Some((1, 2))),
        (">= 1.2.3, < 2.0 || => 3.0, < 4", Some((2, 2))),
        ("3 - 4 || => 3.0, < 4", Some((2, 2))),
        ("12.3.4.1234", None),
        ("12.23.4.1234", None),
        ("12.3.34.1234", None),
        ("12.3.34 ~1.2.3", Some((1, 2))),
        ("12.3.34~ 1.2.3", None),
        ("1.0.0 - 2.0.0, <=2.0.0", Some((1, 3))),
    ];
    for (input, want) in cases {
        let got = Constraint::parse(input)
            .ok()
            .map(|p| (p.groups.len(), p.groups[0].comparisons.len()));
        assert_eq!(got, want, "{input}");
    }
}

/// Masterminds v3.4.0 `TestRewriteRange`: hyphen ranges become `>= A, <= B `.
#[test]
fn hyphen_ranges_are_rewritten_like_masterminds() {
    let cases = [
        ("2 - 3", ">= 2, <= 3 "),
        ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
        ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
        ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
        ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
        ("1.1-3", "1.1-3"),
    ];
    for (input, want) in cases {
        assert_eq!(rewrite_ranges(input), want, "{input}");
    }
}

/// Empty text means `*`, as argocd-image-updater reads it since argocd-image-updater#1758 (before that fix it
/// applied no check, so prereleases won; Masterminds' own `NewConstraint("")` is an error).
#[test]
fn empty_constraint_is_star() {
    for text in ["", " ", "\t\n"] {
        let parsed = c(text);
        assert!(parsed.is_any(), "{text:?}");
        assert_eq!(parsed.as_str(), text, "{text:?}");
        for version in ["1", "4.5.6", "0.0.0"] {
            assert!(parsed.matches(&v(version)), "{text:?} with {version}");
        }
        assert!(
            !parsed.matches(&v("1.2.3-alpha.1")),
            "{text:?} skips prereleases"
        );
        assert!(
            parsed.matches_including_prerelease(&v("1.2.3-alpha.1")),
            "{text:?} with include-prerelease"
        );
    }
    assert!(Constraint::any().is_any());
    assert!(!Constraint::any().matches(&v("0.0.0-0")));
    assert!(!c("*").is_any());
}

#[test]
fn text_is_kept_as_given() {
    for text in [">= 1.2,<2", "1 - 2 || ^3", "~1.x"] {
        let parsed: Constraint = text.parse().unwrap();
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.to_string(), text);
    }
}

#[test]
fn errors_name_the_input() {
    let cases = [
        (
            ">= bar",
            "invalid constraint '>= bar': cannot read '>= bar'; expected comparisons such as '>=1.2 <2', '~1.4', \
             '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between alternatives",
        ),
        (
            "^1 || 12.3.4.1234",
            "invalid constraint '^1 || 12.3.4.1234': cannot read ' 12.3.4.1234'; expected comparisons such as \
             '>=1.2 <2', '~1.4', '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between \
             alternatives",
        ),
        (
            ">=1.2x",
            "invalid constraint '>=1.2x': '2x' in '1.2x' is neither a number (at most 18446744073709551615) nor \
             a wildcard (x, X or *)",
        ),
        (
            "<99999999999999999999",
            "invalid constraint '<99999999999999999999': '99999999999999999999' in '99999999999999999999' is \
             neither a number (at most 18446744073709551615) nor a wildcard (x, X or *)",
        ),
        (
            ">=1.0.0-rc.01",
            "invalid constraint '>=1.0.0-rc.01': prerelease 'rc.01' in '1.0.0-rc.01' has a numeric identifier \
             starting with 0",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            Constraint::parse(input).unwrap_err().to_string(),
            want,
            "{input}"
        );
    }
}
