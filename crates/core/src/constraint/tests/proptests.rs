//! Properties over generated constraints: parsing never panics, and including prereleases only widens.

use proptest::prelude::*;

use super::*;

fn constraint_like() -> impl Strategy<Value = String> {
    let item = "(!=|>=|=>|<=|=<|~>|[=><~^])?[ ]?v?[0-9xX*|]{1,2}(\\.[0-9xX*]{1,2}){0,3}(-[0-9a-z.-]{1,4})?(\\+[0-9a-z]{1,2})?";
    let sep = prop_oneof![
        Just(" "),
        Just(","),
        Just(", "),
        Just(" - "),
        Just(" || "),
        Just("||"),
        Just("  ")
    ];
    (
        prop::collection::vec(item, 1..5),
        prop::collection::vec(sep, 4),
    )
        .prop_map(|(items, seps)| {
            items
                .iter()
                .zip(seps.iter().chain(std::iter::repeat(&" ")))
                .fold(String::new(), |mut acc, (i, s)| {
                    if !acc.is_empty() {
                        acc.push_str(s);
                    }
                    acc.push_str(i);
                    acc
                })
        })
}

fn version_like() -> impl Strategy<Value = Version> {
    "[0-3](\\.[0-3]){0,2}(-(alpha|beta|0|1|rc\\.1))?".prop_map(|s| v(&s))
}

proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC{0,40}") {
        let _ = Constraint::parse(&s);
    }

    #[test]
    fn including_prereleases_only_widens(text in constraint_like(), version in version_like()) {
        if let Ok(parsed) = Constraint::parse(&text) {
            let (plain, wide) = (parsed.matches(&version), parsed.matches_including_prerelease(&version));
            prop_assert!(!plain || wide, "{:?} admits {} only without prereleases", text, version);
            if !version.is_prerelease() {
                prop_assert_eq!(plain, wide, "{:?} with release {}", text, version);
            }
        }
    }
}
