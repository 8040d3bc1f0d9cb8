//! Showing text from outside (an Application's values, a registry's tags, a tool's output) to a person: the
//! characters that could hide or disguise text escaped, long values cut. The one escaper every message and log
//! line uses, so a NUL reads `\0` wherever it is shown.
//!
//! Argo CD shows a failing plugin's stderr in the Application's conditions, and much of what errors quote is
//! written by whoever edits the Application or runs a registry: a NUL, an escape sequence or a U+202E there must
//! show as what it is.

/// Whether `c` must not reach a reader raw: control characters (C0, DEL, C1), and the format characters that
/// change how text around them reads (bidirectional overrides and isolates, zero-width characters, the BOM, line
/// and paragraph separators, tag characters).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `c` as Rust writes it in a string literal: `\n`, `\t`, `\r`, `\0`, else `\u{202e}`.
pub fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// `text` with every [`is_unsafe`] character escaped (newlines too), and backslashes left as they are.
///
/// ```
/// use argocd_image_resolver_core::escape::escape;
/// assert_eq!(escape("a\u{202e}b\nc\0"), r"a\u{202e}b\nc\0");
/// ```
pub fn escape(text: &str) -> String {
    escape_except(text, |_| false)
}

pub fn escape_except(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` [`escape`]d and cut after `max_chars` characters (an ellipsis and the full count then follow), for
/// quoting a value in a one-paragraph message however long or hostile it is. A URL in it loses its credentials
/// ([`crate::redact::redact_url`]): whatever a value was meant to be, a password pasted into it is not repeated.
///
/// ```
/// use argocd_image_resolver_core::escape::shown;
/// assert_eq!(shown("a\u{202e}b", 10), r"a\u{202e}b");
/// assert_eq!(shown("abcdef", 3), "abc… (6 characters)");
/// assert_eq!(shown("web=https://bob:pw@h/web", 64), "web=https://<redacted>@h/web");
/// ```
pub fn shown(text: &str, max_chars: usize) -> String {
    let redacted;
    let text = if text.contains("://") {
        redacted = crate::redact::redact_url(text);
        redacted.as_str()
    } else {
        text
    };
    match text.char_indices().nth(max_chars) {
        None => escape(text),
        Some((cut, _)) => format!(
            "{}… ({} characters)",
            escape(&text[..cut]),
            text.chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_and_cuts() {
        for (name, input, max, want) in [
            ("plain", "v1.2", 64, "v1.2".to_string()),
            ("newline", "a\nb", 64, r"a\nb".to_string()),
            ("nul", "a\0b", 64, r"a\0b".to_string()),
            ("bidi override", "a\u{202e}b", 64, r"a\u{202e}b".to_string()),
            ("non-ASCII kept", "é", 64, "é".to_string()),
            ("exactly the limit", "xyz", 3, "xyz".to_string()),
            (
                "cut at characters, not bytes",
                "ééééé",
                2,
                "éé… (5 characters)".to_string(),
            ),
            (
                "long",
                &"x".repeat(70),
                64,
                format!("{}… (70 characters)", "x".repeat(64)),
            ),
        ] {
            assert_eq!(shown(input, max), want, "{name}");
        }
    }
}
