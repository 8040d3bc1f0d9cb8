//! Go's `path/filepath.Match` (<https://pkg.go.dev/path/filepath#Match>), Unix rules, ported by hand: [`Glob`].

/// Why a glob was rejected: where Go would report `ErrBadPattern`, with how to write what was probably meant.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("invalid glob '{pattern}': {reason}")]
pub struct GlobError {
    pub pattern: String,
    pub reason: String,
}

/// A Go `path/filepath.Match` pattern (Unix rules): `*` matches any run of characters but `/`, `?` one character
/// but `/`, `[…]` a class with ranges and `^` negation (`!` is a plain character), `\` escapes the next character.
///
/// Malformed patterns are rejected here, where Go would report `ErrBadPattern` only when matching reached them.
/// Matching reproduces Go's algorithm exactly, including its quirk that after a `*` it resumes at every byte, so a
/// class can meet half of a multi-byte character as U+FFFD (`*[^é]` matches `é`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    chunks: Vec<Chunk>,
}

/// Go's chunk: an optional leading star and a run of single-character items.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Chunk {
    star: bool,
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Byte(u8),
    AnyChar,
    Class {
        negated: bool,
        ranges: Vec<(u32, u32)>,
    },
}

const SEPARATOR: u8 = b'/';

impl Glob {
    /// Compiles a glob, checking all of it.
    ///
    /// ```
    /// use argocd_image_resolver_core::gocompat::glob::Glob;
    ///
    /// let glob = Glob::parse("*-rc[0-9]").unwrap();
    /// assert!(glob.matches("1.2.0-rc1"));
    /// assert!(!glob.matches("1.2.0"));
    /// assert_eq!(Glob::parse("v[").unwrap_err().to_string(), "invalid glob 'v[': missing closing ]");
    /// ```
    pub fn parse(pattern: &str) -> Result<Glob, GlobError> {
        let error = |reason: &str| GlobError {
            pattern: pattern.to_string(),
            reason: reason.to_string(),
        };
        let mut rest = pattern.as_bytes();
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            let (star, chunk, after) = scan_chunk(rest);
            chunks.push(Chunk {
                star,
                items: compile_chunk(chunk).map_err(error)?,
            });
            rest = after;
        }
        Ok(Glob {
            pattern: pattern.to_string(),
            chunks,
        })
    }

    /// Whether the whole of `s` matches (Go's `filepath.Match(pattern, s)`).
    pub fn matches(&self, s: &str) -> bool {
        let mut name = s.as_bytes();
        'chunks: for (index, chunk) in self.chunks.iter().enumerate() {
            let last = index + 1 == self.chunks.len();
            if chunk.star && chunk.items.is_empty() {
                // A trailing star matches the rest unless it holds a separator.
                return !name.contains(&SEPARATOR);
            }
            if let Some(rest) =
                match_chunk(&chunk.items, name).filter(|rest| rest.is_empty() || !last)
            {
                name = rest;
                continue;
            }
            if chunk.star {
                // Retry after skipping i+1 bytes, never skipping a separator.
                let mut i = 0;
                while i < name.len() && name[i] != SEPARATOR {
                    // The last chunk must also use up the name.
                    if let Some(rest) =
                        match_chunk(&chunk.items, &name[i + 1..]).filter(|r| !last || r.is_empty())
                    {
                        name = rest;
                        continue 'chunks;
                    }
                    i += 1;
                }
            }
            return false;
        }
        name.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// Go's `scanChunk`: leading stars, then everything up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// The syntax half of Go's `matchChunk`: the items of a chunk, or why it is malformed.
fn compile_chunk(mut chunk: &[u8]) -> Result<Vec<Item>, &'static str> {
    let mut items = Vec::new();
    while let Some(&b) = chunk.first() {
        chunk = &chunk[1..];
        match b {
            b'[' => {
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut ranges = Vec::new();
                loop {
                    if chunk.first() == Some(&b']') && !ranges.is_empty() {
                        chunk = &chunk[1..];
                        break;
                    }
                    let lo = class_rune(&mut chunk, false)?;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        chunk = &chunk[1..];
                        hi = class_rune(&mut chunk, true)?;
                    }
                    ranges.push((lo, hi));
                }
                items.push(Item::Class { negated, ranges });
            }
            b'?' => items.push(Item::AnyChar),
            b'\\' => {
                let Some((&escaped, rest)) = chunk.split_first() else {
                    return Err("trailing backslash; write '\\\\' to match a backslash");
                };
                items.push(Item::Byte(escaped));
                chunk = rest;
            }
            _ => items.push(Item::Byte(b)),
        }
    }
    Ok(items)
}

/// Go's `getEsc`: one possibly escaped character of a class (a range's upper end when `range_end`); the class must
/// continue after it. An unescaped `]` here can only be the first character: later ones close the class.
fn class_rune(chunk: &mut &[u8], range_end: bool) -> Result<u32, &'static str> {
    match chunk.first() {
        None => return Err("missing closing ]"),
        Some(b']' | b'-') if range_end => {
            return Err("range has no upper end; write '\\-' to match '-'");
        }
        Some(b']') => return Err("empty character class; write '\\]' to match ']'"),
        Some(b'-') => return Err("range has no lower end; write '\\-' to match '-'"),
        Some(b'\\') => {
            *chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err("missing closing ]");
            }
        }
        Some(_) => {}
    }
    let (rune, len) = decode_rune(chunk);
    *chunk = &chunk[len..];
    if chunk.is_empty() {
        return Err("missing closing ]");
    }
    Ok(rune)
}

/// Go's `utf8.DecodeRune` on bytes cut from valid UTF-8: a cut inside a character reads as U+FFFD, one byte long.
fn decode_rune(bytes: &[u8]) -> (u32, usize) {
    let len = match bytes.first() {
        None => return (0xFFFD, 0),
        Some(&b) if b < 0x80 => return (u32::from(b), 1),
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(&b) if b >= 0xC0 => 2,
        Some(_) => return (0xFFFD, 1),
    };
    match bytes
        .get(..len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c as u32, len),
        None => (0xFFFD, 1),
    }
}

/// The matching half of Go's `matchChunk`: the rest of `s` after the chunk, if the chunk matches its start.
fn match_chunk<'s>(items: &[Item], mut s: &'s [u8]) -> Option<&'s [u8]> {
    for item in items {
        match item {
            Item::Byte(b) => {
                if s.first() != Some(b) {
                    return None;
                }
                s = &s[1..];
            }
            Item::AnyChar => {
                if s.first().is_none_or(|&b| b == SEPARATOR) {
                    return None;
                }
                s = &s[decode_rune(s).1..];
            }
            Item::Class { negated, ranges } => {
                if s.is_empty() {
                    return None;
                }
                let (rune, len) = decode_rune(s);
                s = &s[len..];
                if ranges.iter().any(|&(lo, hi)| lo <= rune && rune <= hi) == *negated {
                    return None;
                }
            }
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Go's own `path/filepath` match_test.go table (Unix), then cases for Go's quirks.
    #[test]
    fn globs_match_like_go() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("*x", "xxx", true),
            // Beyond Go's table.
            ("", "", true),
            ("", "a", false),
            ("**", "abc", true),
            ("*", "", true),
            ("*", "a/b", false),
            ("v*-rc*", "v1.2.0-rc1", true),
            ("[!a]", "!", true),
            ("[!a]", "b", false),
            ("[^a]", "b", true),
            ("\\é", "é", true),
            ("[*]", "*", true),
            ("[é-é]x", "éx", true),
            ("[z-a]", "m", false),
            ("*[^é]", "é", true),
            ("[^é]", "é", false),
        ];
        for &(pattern, name, want) in cases {
            let glob = Glob::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(glob.matches(name), want, "Match({pattern:?}, {name:?})");
        }
    }

    /// Go's ErrBadPattern cases from match_test.go, with the reason we give.
    #[test]
    fn rejects_bad_globs() {
        let cases = [
            ("[]a]", "empty character class; write '\\]' to match ']'"),
            ("[-]", "range has no lower end; write '\\-' to match '-'"),
            ("[x-]", "range has no upper end; write '\\-' to match '-'"),
            ("[-x]", "range has no lower end; write '\\-' to match '-'"),
            (
                "\\",
                "trailing backslash; write '\\\\' to match a backslash",
            ),
            (
                "[a-b-c]",
                "range has no lower end; write '\\-' to match '-'",
            ),
            ("[", "missing closing ]"),
            ("[^", "missing closing ]"),
            ("[^bc", "missing closing ]"),
            ("a[", "missing closing ]"),
            ("a/b[", "missing closing ]"),
            ("[]", "empty character class; write '\\]' to match ']'"),
            ("[\\", "missing closing ]"),
            ("[a\\", "missing closing ]"),
            ("ok*[", "missing closing ]"),
            ("[a-\\", "missing closing ]"),
        ];
        for (pattern, reason) in cases {
            match Glob::parse(pattern) {
                Ok(glob) => panic!("{pattern}: parsed as {glob:?}"),
                Err(e) => assert_eq!(
                    e.to_string(),
                    format!("invalid glob '{pattern}': {reason}"),
                    "{pattern}"
                ),
            }
        }
    }

    fn glob_syntax() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = r"\[]^!-*?/aé☺z".chars().collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..16)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn glob_never_panics(pattern in glob_syntax(), name in "[a/é☺!\\-\\]\\[*?z]{0,10}") {
            if let Ok(glob) = Glob::parse(&pattern) {
                let _ = glob.matches(&name);
            }
        }

        #[test]
        fn escaped_glob_matches_itself(text in "\\PC{0,16}") {
            let escaped: String = text.chars().flat_map(|c| ['\\', c]).collect();
            prop_assert!(Glob::parse(&escaped).unwrap().matches(&text));
        }
    }
}
