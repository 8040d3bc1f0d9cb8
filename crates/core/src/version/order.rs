//! SemVer 2.0 precedence, as Masterminds' `Compare`: build metadata ignored, a prerelease before its release,
//! numeric prerelease identifiers compared as numbers.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use super::Version;
use super::parse::is_all_digits;

impl Version {
    /// Orders `self` against a version given by parts, by SemVer precedence; constraints use this to compare
    /// tags with their bounds without building a [`Version`].
    pub(crate) fn cmp_parts(
        &self,
        major: u64,
        minor: u64,
        patch: u64,
        prerelease: &str,
    ) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(major, minor, patch))
            .then_with(|| compare_prerelease(self.prerelease(), prerelease))
    }
}

/// Orders two prereleases (without their `-`) by SemVer precedence, `""` meaning a release.
///
/// An identifier counts as numeric only when it is all digits and fits in 64 bits; a longer run of digits
/// compares as text, as in Masterminds.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let (mut xs, mut ys) = (a.split('.'), b.split('.'));
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => match compare_identifier(x, y) {
                        Ordering::Equal => {}
                        other => return other,
                    },
                }
            }
        }
    }
}

fn compare_identifier(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    let number = |s: &str| {
        if is_all_digits(s) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (number(x), number(y)) {
        (Some(m), Some(n)) => m.cmp(&n),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => x.as_bytes().cmp(y.as_bytes()),
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    // Precedence equality is equality of the numbers and the prerelease text (valid prereleases have no
    // numeric identifiers with leading zeros), so hashing those agrees with `Eq`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch, self.prerelease()).hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_parts(other.major, other.minor, other.patch, other.prerelease())
    }
}
