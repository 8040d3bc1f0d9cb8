//! Masterminds-style constraints (`>=1.2, <2 || ^3`), from annotations and image-list entries, checked against
//! versions. Checking never panics for any version; a release that matches also matches with prereleases
//! included; the text is kept as given and re-parses to the same meaning.
#![no_main]

use argocd_image_resolver::constraint::Constraint;
use argocd_image_resolver::version::Version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: the constraint; each later line (at most 16): a version to check.
    let mut lines = text.split('\n');
    let Some(written) = lines.next() else {
        return;
    };
    let Ok(constraint) = Constraint::parse(written) else {
        return;
    };
    assert_eq!(constraint.as_str(), written);
    assert_eq!(constraint.to_string(), written);
    assert_eq!(constraint.is_any(), written.trim().is_empty());
    let again = Constraint::parse(&constraint.to_string()).expect("the text as given re-parses");
    for line in lines.take(16) {
        for version in [Version::parse(line), Version::parse_strict(line)]
            .into_iter()
            .flatten()
        {
            let matches = constraint.matches(&version);
            let including = constraint.matches_including_prerelease(&version);
            if matches {
                assert!(
                    including,
                    "{written:?} matches {line:?} only without prereleases"
                );
            }
            if !version.is_prerelease() {
                assert_eq!(matches, including, "{written:?} on release {line:?}");
            }
            assert_eq!(
                matches,
                again.matches(&version),
                "{written:?} re-parsed, on {line:?}"
            );
            // The version's canonical spelling is the same version for the constraint.
            let canonical = Version::parse(&version.to_string()).expect("display re-parses");
            assert_eq!(
                matches,
                constraint.matches(&canonical),
                "{written:?} on {line:?} vs {canonical}"
            );
        }
    }
});
