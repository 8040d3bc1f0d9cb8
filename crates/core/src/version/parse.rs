//! The three readings of a version tag: Masterminds' lenient `NewVersion`, its `StrictNewVersion`, and Flux's
//! three-part rule; hand-written, allocating only the copy of the input.

use super::{Version, VersionError};

impl Version {
    /// Parses a version the way argocd-image-updater reads tags (Masterminds' lenient `NewVersion`).
    ///
    /// Accepts an optional leading `v`, one to three numeric parts (missing ones are 0, leading zeros are
    /// read as decimal), an optional `-prerelease` and an optional `+metadata`. Rejects a fourth numeric part,
    /// letters in the numeric parts, and numeric prerelease identifiers with a leading zero.
    ///
    /// ```
    /// use argocd_image_resolver_core::version::Version;
    ///
    /// let v = Version::parse("v1.2-rc.1").unwrap();
    /// assert_eq!((v.major(), v.minor(), v.patch(), v.prerelease()), (1, 2, 0, "rc.1"));
    /// assert_eq!(v.to_string(), "1.2.0-rc.1");
    /// assert_eq!(v.original(), "v1.2-rc.1");
    /// assert!(Version::parse("1.2.3.4").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        parse_lenient(s).map(|(version, _)| version)
    }

    /// Parses a version as Masterminds' `StrictNewVersion` does: SemVer 2.0 exactly, so no `v` prefix, all
    /// three numeric parts, and no leading zeros.
    pub fn parse_strict(s: &str) -> Result<Version, VersionError> {
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        let b = s.as_bytes();
        let mut numbers = [0u64; 3];
        let mut i = 0;
        for (k, slot) in numbers.iter_mut().enumerate() {
            if k > 0 {
                if b.get(i) != Some(&b'.') {
                    return Err(VersionError::NotStrict {
                        input: s.to_owned(),
                    });
                }
                i += 1;
            }
            let start = i;
            i = skip_digits(b, i);
            let digits = &s[start..i];
            if digits.is_empty() {
                return Err(VersionError::NotStrict {
                    input: s.to_owned(),
                });
            }
            if digits.len() > 1 && digits.starts_with('0') {
                return Err(VersionError::LeadingZero {
                    input: s.to_owned(),
                    number: digits.to_owned(),
                });
            }
            *slot = parse_number(s, digits)?;
        }
        let (pre_start, pre_end, meta_start) = parse_suffix(s, i, || VersionError::NotStrict {
            input: s.to_owned(),
        })?;
        Ok(Version::from_parts(
            s, numbers, pre_start, pre_end, meta_start,
        ))
    }

    /// Parses a tag under the rule Flux applies to semver policies: all three numeric parts are required,
    /// otherwise as [`Version::parse`] (an optional `v`, leading zeros read as decimal so CalVer tags such as
    /// `v2025.02.03` work).
    pub fn parse_three_part(s: &str) -> Result<Version, VersionError> {
        let (version, parts) = parse_lenient(s)?;
        if parts == 3 {
            Ok(version)
        } else {
            Err(VersionError::NotThreePart {
                input: s.to_owned(),
            })
        }
    }
}

/// Lenient parsing; also returns how many numeric parts the text had, for [`Version::parse_three_part`].
fn parse_lenient(s: &str) -> Result<(Version, usize), VersionError> {
    if s.is_empty() {
        return Err(VersionError::Empty);
    }
    let b = s.as_bytes();
    let malformed = || VersionError::Malformed {
        input: s.to_owned(),
    };
    let mut i = usize::from(b[0] == b'v');
    let mut spans = [(0usize, 0usize); 3];
    let mut parts = 0;
    loop {
        let start = i;
        i = skip_digits(b, i);
        if i == start {
            return Err(malformed());
        }
        spans[parts] = (start, i);
        parts += 1;
        if parts < 3 && b.get(i) == Some(&b'.') {
            i += 1;
        } else {
            break;
        }
    }
    // Check the whole shape before the numbers, so that "99999999999999999999.x" is reported as malformed.
    let (pre_start, pre_end, meta_start) = parse_suffix(s, i, malformed)?;
    let mut numbers = [0u64; 3];
    for (slot, &(start, end)) in numbers.iter_mut().zip(&spans[..parts]) {
        *slot = parse_number(s, &s[start..end])?;
    }
    Ok((
        Version::from_parts(s, numbers, pre_start, pre_end, meta_start),
        parts,
    ))
}

/// Reads the optional `-prerelease` and `+metadata` that start at byte `i`; returns the prerelease range and
/// where the metadata starts (`s.len()` when there is none). Any other text at `i` is an error made by `other`.
fn parse_suffix(
    s: &str,
    mut i: usize,
    other: impl FnOnce() -> VersionError,
) -> Result<(usize, usize, usize), VersionError> {
    let b = s.as_bytes();
    let (mut pre_start, mut pre_end) = (i, i);
    if b.get(i) == Some(&b'-') {
        pre_start = i + 1;
        pre_end = b[pre_start..]
            .iter()
            .position(|&c| c == b'+')
            .map_or(b.len(), |p| pre_start + p);
        validate_prerelease(s, &s[pre_start..pre_end])?;
        i = pre_end;
    }
    match b.get(i) {
        None => Ok((pre_start, pre_end, b.len())),
        Some(b'+') => {
            let metadata = &s[i + 1..];
            if identifiers_are_valid(metadata) {
                Ok((pre_start, pre_end, i + 1))
            } else {
                Err(VersionError::Metadata {
                    input: s.to_owned(),
                    metadata: metadata.to_owned(),
                })
            }
        }
        Some(_) => Err(other()),
    }
}

fn validate_prerelease(s: &str, prerelease: &str) -> Result<(), VersionError> {
    if !identifiers_are_valid(prerelease) {
        return Err(VersionError::Prerelease {
            input: s.to_owned(),
            prerelease: prerelease.to_owned(),
        });
    }
    match leading_zero_identifier(prerelease) {
        Some(identifier) => Err(VersionError::PrereleaseLeadingZero {
            input: s.to_owned(),
            identifier: identifier.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether `s` is one or more dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
fn identifiers_are_valid(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_identifier_byte))
}

/// The first numeric prerelease identifier with a leading zero (`01`), which every Masterminds parser rejects.
pub(crate) fn leading_zero_identifier(prerelease: &str) -> Option<&str> {
    prerelease
        .split('.')
        .find(|id| id.len() > 1 && id.starts_with('0') && is_all_digits(id))
}

pub(crate) fn is_identifier_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(super) fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

fn parse_number(input: &str, digits: &str) -> Result<u64, VersionError> {
    digits.parse().map_err(|_| VersionError::NumberTooLarge {
        input: input.to_owned(),
        number: digits.to_owned(),
    })
}
