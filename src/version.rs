//! Versions as Masterminds/semver v3 reads them (lenient and strict), ordered by SemVer 2.0 precedence.
