//! Byte-level reading and writing of YAML scalars: where one starts and ends in the text, and how to write a value.
//!
//! The parser's markers count characters and its end markers are unreliable (a single-quoted scalar followed by a
//! comment "ends" after the comment), so positions are recomputed here from the text, the start marker and the
//! scalar's style.

use std::fmt::Write as _;

/// Turns the parser's character offsets into byte offsets.
///
/// Events arrive in text order, so a cursor that walks forward (and, rarely, back) costs one pass over the text in
/// total; an ASCII text needs no walking at all.
pub(crate) struct CharCursor<'a> {
    /// The whole stream, which positions index.
    src: &'a str,
    /// The part of it the parser reads (all of it, or one run: see `scan`), whose characters the parser counts.
    text: &'a str,
    /// Where `text` starts in `src`.
    offset: usize,
    ascii: bool,
    chars: usize,
    byte: usize,
}

impl<'a> CharCursor<'a> {
    #[cfg(test)]
    pub(crate) fn new(src: &'a str) -> Self {
        Self::within(src, 0..src.len())
    }

    /// A cursor for a parser that reads `src[run]`: it counts characters from the start of the run, and the byte
    /// offsets it gives are in `src`.
    pub(crate) fn within(src: &'a str, run: std::ops::Range<usize>) -> Self {
        let text = &src[run.clone()];
        Self {
            src,
            text,
            offset: run.start,
            ascii: text.is_ascii(),
            chars: 0,
            byte: 0,
        }
    }

    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// The byte offset (in the whole stream) of the character at `char_index` (counted from the start of the
    /// run), or `None` past the end of the run.
    pub(crate) fn byte_of(&mut self, char_index: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        if self.ascii {
            return (char_index <= bytes.len()).then_some(self.offset + char_index);
        }
        while self.chars < char_index {
            // A window of as many bytes as characters are missing holds at most that many characters, so counting
            // them (fast in std) never overshoots; repeat for what the multi-byte ones left.
            let mut end = (self.byte + (char_index - self.chars)).min(bytes.len());
            while !self.text.is_char_boundary(end) {
                end += 1;
            }
            if end == self.byte {
                return None;
            }
            self.chars += self.text[self.byte..end].chars().count();
            self.byte = end;
        }
        while self.chars > char_index {
            self.byte -= 1;
            while self.byte > 0 && (bytes[self.byte] & 0xC0) == 0x80 {
                self.byte -= 1;
            }
            self.chars -= 1;
        }
        (self.byte <= bytes.len()).then_some(self.offset + self.byte)
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// YAML's line breaks: `\n`, `\r\n` and a lone `\r` (a CR-only text is as valid as any other).
const BREAKS: [char; 2] = ['\r', '\n'];

/// The line break ending the line that holds `at` (`\n` when the text ends first): what inserted lines use.
pub(crate) fn line_break_at(src: &str, at: usize) -> &'static str {
    let rest = &src[at.min(src.len())..];
    match rest.find(BREAKS).map(|n| &rest[n..]) {
        Some(r) if r.starts_with("\r\n") => "\r\n",
        Some(r) if r.starts_with('\r') => "\r",
        _ => "\n",
    }
}

/// How many line breaks `text` holds, as a YAML parser counts lines: `\r\n` once, a lone `\r` too.
///
/// ```
/// assert_eq!(argocd_image_resolver_core::manifest::line_breaks("a\r\nb\rc\nd"), 3);
/// ```
pub fn line_breaks(text: &str) -> usize {
    let b = text.as_bytes();
    // Every `\n`, plus each `\r` that is not the start of a `\r\n` (rare: found with memchr, not byte by byte).
    let lone_cr = memchr::memchr_iter(b'\r', b)
        .filter(|&i| b.get(i + 1) != Some(&b'\n'))
        .count();
    memchr::memchr_iter(b'\n', b).count() + lone_cr
}

/// The end of the line holding `at` (before its break) and the start of the next one.
pub(crate) fn line_end(src: &str, at: usize) -> (usize, usize) {
    match src[at..].find(BREAKS) {
        Some(n) if src[at + n..].starts_with("\r\n") => (at + n, at + n + 2),
        Some(n) => (at + n, at + n + 1),
        None => (src.len(), src.len()),
    }
}

/// Skips the anchor and tag in front of a node (`&a !!str x` → `x`) and the white space and comments after them.
/// Call it only for a node that has properties: a plain scalar cannot start with `&` or `!`, but the parser says
/// whether there are any.
pub(crate) fn skip_properties(src: &str, mut at: usize) -> usize {
    let b = src.as_bytes();
    while at < b.len() && matches!(b[at], b'&' | b'!') {
        if src[at..].starts_with("!<") {
            // A verbatim tag is a URI in angle brackets and may hold flow indicators.
            at = src[at..].find('>').map_or(b.len(), |n| at + n + 1);
        }
        // Anchor names and tags end at white space or a flow indicator.
        while at < b.len() && !is_space(b[at]) && !matches!(b[at], b',' | b'[' | b']' | b'{' | b'}')
        {
            at += 1;
        }
        at = skip_separation(src, at);
    }
    at
}

/// The name of the anchor among the properties at `at` (`&base !!str x` → `base`), or of the alias at `at`
/// (`*base` → `base`); empty when there is none.
pub(crate) fn anchor_name(src: &str, mut at: usize) -> &str {
    let b = src.as_bytes();
    let token_end = |mut i: usize| {
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b',' | b'[' | b']' | b'{' | b'}') {
            i += 1;
        }
        i
    };
    loop {
        match b.get(at) {
            Some(b'&' | b'*') => return &src[at + 1..token_end(at + 1)],
            Some(b'!') if src[at..].starts_with("!<") => {
                at = src[at..].find('>').map_or(b.len(), |n| at + n + 1);
                at = skip_separation(src, token_end(at));
            }
            Some(b'!') => at = skip_separation(src, token_end(at)),
            _ => return "",
        }
    }
}

/// Skips white space, line breaks and comments.
pub(crate) fn skip_separation(src: &str, mut at: usize) -> usize {
    let b = src.as_bytes();
    while at < b.len() {
        if is_space(b[at]) {
            at += 1;
        } else if b[at] == b'#' {
            at = line_end(src, at).0;
        } else {
            break;
        }
    }
    at
}

/// The end (exclusive) of a double- or single-quoted scalar whose opening quote is at `start`.
pub(crate) fn quoted_end(src: &str, start: usize, quote: u8) -> Option<usize> {
    let b = src.as_bytes();
    if b.get(start) != Some(&quote) {
        return None;
    }
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            // UTF-8 continuation bytes are never `\` or a quote, so stepping over one byte is safe.
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end (exclusive) of a plain scalar starting at `start` whose parsed value is `value`.
///
/// A plain scalar has no escapes: its text holds every non-blank character of the value, in order, and folding
/// only changes the blanks and line breaks between them. Walking both side by side finds the last character, and
/// stops short of any trailing comment or `:`/`,` indicator. `None` when the text does not hold the value.
pub(crate) fn plain_end(src: &str, start: usize, value: &str) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = start;
    let mut end = start;
    for c in value.chars() {
        if matches!(c, ' ' | '\t' | '\n') {
            continue;
        }
        if i > start {
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
        }
        if !src.get(i..)?.starts_with(c) {
            return None;
        }
        i += c.len_utf8();
        end = i;
    }
    Some(end)
}

/// The end (exclusive) of a block scalar (`|` or `>`) whose indicator is at `start`, inside a block collection
/// indented by `parent_indent` columns: its last line that is indented deeper, without the line break. Trailing
/// blank lines and a comment on the header line are left where they are.
pub(crate) fn block_end(src: &str, start: usize, parent_indent: usize) -> usize {
    let b = src.as_bytes();
    let mut i = start + 1;
    while i < b.len() && matches!(b[i], b'+' | b'-' | b'0'..=b'9') {
        i += 1;
    }
    let mut end = i;
    let mut line_start = line_end(src, i).1;
    while line_start < b.len() {
        let (line_end, next) = line_end(src, line_start);
        let line = &src[line_start..line_end];
        let indent = line.bytes().take_while(|&c| c == b' ').count();
        if indent == line.len() {
            // A blank line belongs to the scalar only if more content follows.
        } else if indent > parent_indent {
            end = line_end;
        } else {
            break;
        }
        line_start = next;
    }
    end
}

/// The position just after the `:` that follows a mapping key ending at `key_end`.
pub(crate) fn after_colon(src: &str, key_end: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = key_end;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

/// The first character of the value after the `:` at `colon_end` (past blanks, comments and properties): where a
/// block scalar's indicator is, since the parser's marker for a block scalar points at its first content line.
pub(crate) fn value_start(src: &str, colon_end: usize) -> usize {
    skip_properties(src, skip_separation(src, colon_end))
}

/// Column (in characters) of byte offset `at` in its line; a byte order mark takes no column (YAML drops it).
pub(crate) fn column(src: &str, at: usize) -> usize {
    let line_start = line_start(src, at);
    src[line_start..at]
        .trim_start_matches('\u{feff}')
        .chars()
        .count()
}

/// Byte offset of the start of the line holding `at`.
pub(crate) fn line_start(src: &str, at: usize) -> usize {
    src[..at].rfind(BREAKS).map_or(0, |n| n + 1)
}

/// Whether YAML 1.2 (core schema) reads an untagged plain scalar as a string rather than null, bool or number.
pub(crate) fn plain_is_string(value: &str) -> bool {
    !(is_core_null(value) || is_core_bool(value) || is_core_int(value) || is_core_float(value))
}

/// Whether a plain scalar means null: empty (`key:`), `~` or `null`.
pub(crate) fn is_core_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

fn is_core_bool(value: &str) -> bool {
    matches!(
        value,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    )
}

fn is_core_int(value: &str) -> bool {
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = value.strip_prefix("0x") {
        return digits(hex, 16);
    }
    if let Some(oct) = value.strip_prefix("0o") {
        return digits(oct, 8);
    }
    digits(value.strip_prefix(['-', '+']).unwrap_or(value), 10)
}

fn is_core_float(value: &str) -> bool {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(value, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        // `.5`, `1.`, `1.5`
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Whether `value` can be written as a plain scalar that every YAML reader (1.1 as well as 1.2) reads back as this
/// same string. Deliberately narrow: the characters of image references and annotation keys, starting with a
/// letter or digit; a leading digit only with a `/` (no number or date has one), and none of YAML 1.1's booleans.
/// None of the allowed characters is a flow indicator, so the answer holds in block and flow context alike.
pub(crate) fn plain_ok(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let charset_ok = value.bytes().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b':' | b'@' | b'-' | b'+')
    });
    if !charset_ok || !first.is_ascii_alphanumeric() || value.ends_with(':') {
        return false;
    }
    if first.is_ascii_digit() {
        return value.contains('/');
    }
    let lower = value.to_ascii_lowercase();
    !matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    )
}

/// Whether a character may appear unescaped in a YAML scalar (YAML's printable set, minus line breaks).
pub(crate) fn is_plain_printable(c: char) -> bool {
    matches!(c, '\t' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// `value` as a single-quoted scalar, or `None` when it cannot be one (line breaks and unprintable characters have
/// no escape in that style).
pub(crate) fn single_quoted(value: &str) -> Option<String> {
    if !value.chars().all(is_plain_printable) {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    Some(out)
}

/// `value` as a double-quoted scalar that is also a valid JSON string: only JSON's escapes, on one line.
pub(crate) fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_plain_printable(c) => out.push(c),
            // Everything left is in the Basic Multilingual Plane (controls, DEL, C1, U+2028/9, U+FEFF, U+FFFE/F).
            c => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// A mapping key as written by this crate: plain when that is unambiguous, else double-quoted.
pub(crate) fn key_text(key: &str, flow: bool) -> String {
    if !flow && plain_ok(key) {
        key.to_owned()
    } else {
        double_quoted(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_cursor_maps_characters_to_bytes() {
        let src = "aé😀漢b";
        let cases = [
            ("start", 0, Some(0)),
            ("after é", 2, Some(3)),
            ("after emoji", 3, Some(7)),
            ("after CJK", 4, Some(10)),
            ("end", 5, Some(11)),
            ("back to é", 1, Some(1)),
            ("past end", 6, None),
        ];
        let mut cursor = CharCursor::new(src);
        for (name, index, want) in cases {
            assert_eq!(cursor.byte_of(index), want, "{name}");
        }
        for (name, index, want) in [
            ("jump over all multi-byte", 4, Some(10)),
            ("jump past end", 9, None),
        ] {
            assert_eq!(CharCursor::new(src).byte_of(index), want, "{name}");
        }
        // A run of the stream: characters count from the run's start, bytes from the stream's.
        let stream = format!("é\n{src}");
        for (name, index, want) in [
            ("run start", 0, Some(3)),
            ("run, after CJK", 4, Some(13)),
            ("run end", 5, Some(14)),
        ] {
            assert_eq!(
                CharCursor::within(&stream, 3..stream.len()).byte_of(index),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn counts_and_finds_line_breaks() {
        let cases = [
            ("none", "a", 0, "\n"),
            ("lf", "a\nb\n", 2, "\n"),
            ("crlf", "a\r\nb\r\n", 2, "\r\n"),
            ("lone cr", "a\rb\r", 2, "\r"),
            ("mixed", "a\r\rb\n\r\n", 4, "\r"),
            ("cr at the end", "a\r", 1, "\r"),
        ];
        for (name, src, breaks, first) in cases {
            assert_eq!(line_breaks(src), breaks, "{name}: count");
            assert_eq!(line_break_at(src, 0), first, "{name}: first");
        }
    }

    #[test]
    fn scalar_ends() {
        let cases: [(&str, &str, usize, Option<usize>); 9] = [
            ("double with comment", r#""x:1"  # c"#, 0, Some(5)),
            ("double with escaped quote", r#""a\"b" x"#, 0, Some(6)),
            (
                "double with escaped backslash last",
                r#""a\\" x"#,
                0,
                Some(5),
            ),
            ("double unterminated", r#""abc"#, 0, None),
            ("single with comment", "'x:1' # c", 0, Some(5)),
            ("single with doubled quote", "'it''s' # c", 0, Some(7)),
            ("single unterminated", "'it''", 0, None),
            ("not a quote", "x", 0, None),
            ("multi-line double", "\"a\n  b\" c", 0, Some(7)),
        ];
        for (name, src, start, want) in cases {
            let quote = if src.starts_with('\'') { b'\'' } else { b'"' };
            assert_eq!(quoted_end(src, start, quote), want, "{name}");
        }
    }

    #[test]
    fn plain_ends() {
        let cases = [
            ("comment", "x:1 # c", "x:1", Some(3)),
            ("flow comma", "x:1, b]", "x:1", Some(3)),
            ("multi-byte", "é😀:1\n", "é😀:1", Some(8)),
            ("folded lines", "a\n   b\r\n   c\nd: e", "a b c", Some(12)),
            ("trailing blanks", "x  \n", "x", Some(1)),
            ("mismatch", "y", "x", None),
        ];
        for (name, src, value, want) in cases {
            assert_eq!(plain_end(src, 0, value), want, "{name}");
        }
    }

    #[test]
    fn block_ends() {
        let cases = [
            ("literal", "k: |\n  a\n\n  b\n\nn: 1", 3, 0, 13),
            (
                "stops at a comment at the parent's indent",
                "k: >-\n   a\n# c\n",
                3,
                0,
                10,
            ),
            ("header only", "k: |+\nn: 1", 3, 0, 5),
            ("content at end of text", "  k: |\n    a", 5, 2, 12),
            ("crlf", "k: |\r\n  a\r\nn: 1", 3, 0, 9),
        ];
        for (name, src, start, parent, want) in cases {
            assert_eq!(block_end(src, start, parent), want, "{name}");
        }
    }

    #[test]
    fn properties_are_skipped() {
        let cases = [
            ("anchor", "&a x", 0, 3),
            ("tag and anchor", "!!str &a x", 0, 9),
            ("tag then line break", "!!str\n  x", 0, 8),
            ("anchor then comment", "&a # c\n x", 0, 8),
            ("verbatim tag", "!<tag:yaml.org,2002:str> x", 0, 25),
            ("flow item ends at a comma", "[&a , x]", 1, 4),
        ];
        for (name, src, start, want) in cases {
            assert_eq!(skip_properties(src, start), want, "{name}");
        }
    }

    #[test]
    fn plain_strings_by_core_schema() {
        let cases = [
            ("image", "nginx:1.2", true),
            ("empty", "", false),
            ("tilde", "~", false),
            ("null", "null", false),
            ("bool", "True", false),
            ("yes is a string in 1.2", "yes", true),
            ("int", "-12", false),
            ("hex", "0x1F", false),
            ("octal", "0o17", false),
            ("float", "1.5e3", false),
            ("leading dot float", ".5", false),
            ("trailing dot float", "1.", false),
            ("inf", "-.inf", false),
            ("nan", ".NaN", false),
            ("version", "1.2.3", true),
            ("lone dot", ".", true),
            ("e alone", "e5", true),
        ];
        for (name, value, want) in cases {
            assert_eq!(plain_is_string(value), want, "{name}");
        }
    }

    #[test]
    fn plain_safety() {
        let cases = [
            ("image", "quay.io/argoproj/argocd:v2.1", true),
            ("digest", "nginx@sha256:abc", true),
            (
                "ecr",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
                true,
            ),
            ("number", "123", false),
            ("sexagesimal", "1:20", false),
            ("date", "2001-12-14", false),
            ("yaml 1.1 bool", "On", false),
            ("null", "null", false),
            ("trailing colon", "x:", false),
            ("space", "a b", false),
            ("comment", "a#b", false),
            ("leading dash", "-x", false),
            ("comma", "a,b", false),
            ("empty", "", false),
            ("non-ascii", "é", false),
        ];
        for (name, value, want) in cases {
            assert_eq!(plain_ok(value), want, "{name}");
        }
    }

    #[test]
    fn quoting() {
        let cases = [
            ("plain", "x:1", "\"x:1\"", Some("'x:1'")),
            ("quotes", r#"a"b'c"#, r#""a\"b'c""#, Some("'a\"b''c'")),
            ("backslash", r"a\b", r#""a\\b""#, Some(r"'a\b'")),
            ("newline", "a\nb", r#""a\nb""#, None),
            ("control", "a\u{1}b", r#""a\u0001b""#, None),
            ("line separator", "a\u{2028}", r#""a\u2028""#, None),
            ("tab", "a\tb", r#""a\tb""#, Some("'a\tb'")),
            ("multi-byte", "é😀漢", "\"é😀漢\"", Some("'é😀漢'")),
        ];
        for (name, value, double, single) in cases {
            assert_eq!(double_quoted(value), double, "{name}: double");
            assert_eq!(single_quoted(value).as_deref(), single, "{name}: single");
            let json: String = serde_json::from_str(&double_quoted(value)).expect(name);
            assert_eq!(json, value, "{name}: double-quoted is JSON");
        }
    }
}
