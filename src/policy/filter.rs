//! Tag filters: `allow-tags` regular expressions with Go RE2 semantics, `ignore-tags` globs, Flux-style extraction.
