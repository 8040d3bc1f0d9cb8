//! Table tests of constraints, mostly Masterminds v3.4.0's own: how text parses (`parse`), which versions
//! match (`check`), and properties over generated constraints (`proptests`).

use super::*;

mod check;
mod parse;
mod proptests;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn c(s: &str) -> Constraint {
    Constraint::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn check_rows(rows: &[(&str, &str, bool)], include_prerelease: bool) {
    for &(constraint, version, want) in rows {
        let (parsed, version_parsed) = (c(constraint), v(version));
        let got = if include_prerelease {
            parsed.matches_including_prerelease(&version_parsed)
        } else {
            parsed.matches(&version_parsed)
        };
        assert_eq!(
            got, want,
            "constraint {constraint:?} with version {version:?}"
        );
    }
}
