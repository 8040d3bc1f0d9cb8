//! Version constraints with the exact semantics of Masterminds/semver v3 (`^`, `~`, wildcards, ranges, `||`).
