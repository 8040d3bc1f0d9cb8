//! The leaf parsers of Go's `regexp/syntax` the translator shares: escapes, Perl, POSIX and Unicode classes (spelled
//! out as Go defines them), and `{n,m}` repetition counts.

use regex::Regex;

pub(super) type Ranges = &'static [(u32, u32)];
const DIGIT: Ranges = &[(0x30, 0x39)];
const SPACE: Ranges = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: Ranges = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// Go's Perl classes (`\d \s \w`, upper case negated), which are ASCII-only.
pub(super) fn perl_class(s: &str) -> Option<(bool, Ranges)> {
    let class = match s.get(..2)? {
        r"\d" | r"\D" => DIGIT,
        r"\s" | r"\S" => SPACE,
        r"\w" | r"\W" => WORD,
        _ => return None,
    };
    Some((s.as_bytes()[1].is_ascii_uppercase(), class))
}

/// Go's POSIX classes for `[[:name:]]`, spelled out so that Rust's definitions cannot differ.
pub(super) fn posix_class(name: &str) -> Option<(bool, Ranges)> {
    let (negated, name) = match name.strip_prefix("[:^") {
        Some(rest) => (true, rest),
        None => (false, name.strip_prefix("[:")?),
    };
    let ranges: Ranges = match name.strip_suffix(":]")? {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "ascii" => &[(0x00, 0x7F)],
        "blank" => &[(0x09, 0x09), (0x20, 0x20)],
        "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "digit" => DIGIT,
        "graph" => &[(0x21, 0x7E)],
        "lower" => &[(0x61, 0x7A)],
        "print" => &[(0x20, 0x7E)],
        "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "space" => &[(0x09, 0x0D), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5A)],
        "word" => WORD,
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    };
    Some((negated, ranges))
}

/// Appends `lo-hi` in class syntax, leaving out surrogates (Go accepts them as code points; they match nothing).
/// Returns whether anything was appended.
pub(super) fn push_range(out: &mut String, lo: u32, hi: u32) -> bool {
    let mut pushed = false;
    for (lo, hi) in [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)] {
        if lo <= hi {
            out.push_str(&format!(r"\x{{{lo:X}}}"));
            if hi > lo {
                out.push_str(&format!(r"-\x{{{hi:X}}}"));
            }
            pushed = true;
        }
    }
    pushed
}

/// A bracketed class of `ranges`, negated if asked; nested inside an outer class when used there.
pub(super) fn class_of(negated: bool, ranges: Ranges) -> String {
    let mut out = String::from(if negated { "[^" } else { "[" });
    for &(lo, hi) in ranges {
        push_range(&mut out, lo, hi);
    }
    out.push(']');
    out
}

/// One character of a class, escaped or not.
pub(super) fn class_char(src: &str, i: usize) -> Result<(u32, usize), String> {
    match src[i..].chars().next() {
        None => Err("missing closing ]".to_string()),
        Some('\\') => parse_escape(src, i),
        Some(c) => Ok((c as u32, i + c.len_utf8())),
    }
}

/// Go's `parseEscape` for a single-character escape at `src[i]`: returns the code point and the position after it.
pub(super) fn parse_escape(src: &str, i: usize) -> Result<(u32, usize), String> {
    let t = i + 1;
    let Some(c) = src[t..].chars().next() else {
        return Err("trailing backslash at end of expression".to_string());
    };
    let mut j = t + c.len_utf8();
    let invalid = |end: usize| Err(format!("invalid escape sequence '{}'", &src[i..end]));
    let octal_at = |k: usize| {
        src.as_bytes()
            .get(k)
            .filter(|b| (b'0'..=b'7').contains(b))
            .map(|b| u32::from(b - b'0'))
    };
    match c {
        // A lone non-zero digit would be a backreference, which Go does not support.
        '1'..='7' if octal_at(j).is_none() => invalid(j),
        '0'..='7' => {
            let mut code = c as u32 - '0' as u32;
            for _ in 0..2 {
                let Some(digit) = octal_at(j) else { break };
                code = code * 8 + digit;
                j += 1;
            }
            Ok((code, j))
        }
        'x' => {
            let Some(c) = src[j..].chars().next() else {
                return invalid(j);
            };
            j += c.len_utf8();
            if c == '{' {
                let mut code = 0u32;
                let mut digits = 0;
                loop {
                    let Some(c) = src[j..].chars().next() else {
                        return invalid(j);
                    };
                    j += c.len_utf8();
                    if c == '}' {
                        break;
                    }
                    let Some(value) = c.to_digit(16) else {
                        return invalid(j);
                    };
                    code = code * 16 + value;
                    if code > 0x10FFFF {
                        return invalid(j);
                    }
                    digits += 1;
                }
                return if digits == 0 {
                    invalid(j)
                } else {
                    Ok((code, j))
                };
            }
            let high = c.to_digit(16);
            let Some(c) = src[j..].chars().next() else {
                return invalid(j);
            };
            j += c.len_utf8();
            match (high, c.to_digit(16)) {
                (Some(high), Some(low)) => Ok((high * 16 + low, j)),
                _ => invalid(j),
            }
        }
        'a' => Ok((0x07, j)),
        'f' => Ok((0x0C, j)),
        'n' => Ok((0x0A, j)),
        'r' => Ok((0x0D, j)),
        't' => Ok((0x09, j)),
        'v' => Ok((0x0B, j)),
        // Escaped ASCII punctuation is always itself (`\<` is '<', not Rust's start-of-word).
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c as u32, j)),
        _ => invalid(j),
    }
}

/// Go's `parseUnicodeClass` for `\pL`, `\p{Greek}`, `\P{…}`, `\p{^…}` at `src[i]`: the Rust form and the end.
pub(super) fn unicode_class(src: &str, i: usize) -> Result<(String, usize), String> {
    let t = &src[i..];
    let mut negated = t.as_bytes()[1] == b'P';
    let (mut name, len) = match t[2..].chars().next() {
        None => ("", 2),
        Some('{') => match t.find('}') {
            Some(end) => (&t[3..end], end + 1),
            None => return Err(format!("invalid character class range '{t}'")),
        },
        Some(c) => (&t[2..2 + c.len_utf8()], 2 + c.len_utf8()),
    };
    if let Some(rest) = name.strip_prefix('^') {
        negated = !negated;
        name = rest;
    }
    // Go knows general categories, scripts, Any/ASCII/Assigned and category aliases, never `name=value` forms.
    let known = !name.is_empty()
        && !name.contains(['=', ':'])
        && Regex::new(&format!(r"\p{{{name}}}")).is_ok();
    if !known {
        return Err(format!("unknown Unicode class '{}'", &t[..len]));
    }
    Ok((
        format!(r"\{}{{{name}}}", if negated { 'P' } else { 'p' }),
        i + len,
    ))
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` at the start of `s` as (min, max or -1, length); a count too large
/// to read gives min -1. `None` means the `{` is a literal.
pub(super) fn parse_counted(s: &str) -> Option<(i64, i64, usize)> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let int = |i: &mut usize| -> Option<i64> {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        let digits = &bytes[start..*i];
        // Go refuses leading zeros, which makes the `{` a literal.
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        let mut value: i64 = 0;
        for &d in digits {
            if value >= 100_000_000 {
                return Some(-1);
            }
            value = value * 10 + i64::from(d - b'0');
        }
        Some(value)
    };
    let mut min = int(&mut i)?;
    let max = match bytes.get(i)? {
        b',' => {
            i += 1;
            match bytes.get(i)? {
                b'}' => -1,
                _ => {
                    let max = int(&mut i)?;
                    if max < 0 {
                        min = -1;
                    }
                    max
                }
            }
        }
        _ => min,
    };
    (bytes.get(i)? == &b'}').then_some((min, max, i + 1))
}
