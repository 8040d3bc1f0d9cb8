use proptest::prelude::*;

use super::*;

fn regex(pattern: &str) -> GoRegex {
    GoRegex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// Cases where Go's `regexp` and the `regex` crate's defaults disagree; `want` is Go's answer.
#[test]
fn matches_like_go() {
    let cases = [
        ("\\d is ASCII: Arabic-Indic digit", r"\d", "١", false),
        ("\\d is ASCII: fullwidth digit", r"\d", "５", false),
        ("\\d matches ASCII digit", r"^\d$", "5", true),
        ("\\D matches a non-ASCII digit", r"^\D$", "١", true),
        ("\\d inside a class", r"[\d]", "١", false),
        ("negated class of \\d", r"^[^\d]$", "١", true),
        ("\\D inside a class", r"[\D]", "5", false),
        ("\\D inside a class with other items", r"^[x\D]$", "é", true),
        ("\\w is ASCII", r"^\w+$", "é", false),
        ("\\w word characters", r"^\w+$", "a_Z9", true),
        ("\\W matches non-ASCII letter", r"^\W$", "é", true),
        ("\\s excludes vertical tab", r"\s", "\u{b}", false),
        ("\\s excludes NEL", r"\s", "\u{85}", false),
        ("\\s excludes no-break space", r"\s", "\u{a0}", false),
        ("\\s matches tab", r"\s", "\t", true),
        ("\\S matches no-break space", r"^\S$", "\u{a0}", true),
        ("\\b is an ASCII word boundary", r"\bfoo\b", "éfooé", true),
        ("\\B next to a non-ASCII letter", r"\Bfoo", "éfoo", false),
        ("\\B inside a word", r"o\Bo", "foo", true),
        ("\\Q…\\E is literal", r"^\Q.*\E$", ".*", true),
        (
            "\\Q…\\E does not match as a pattern",
            r"\Q.*\E",
            "ab",
            false,
        ),
        ("\\Q without \\E quotes the rest", r"^\Qa.b", "a.b", true),
        ("\\Q without \\E is literal", r"^\Qa.b", "axb", false),
        (
            "repetition after \\Q…\\E applies to its last character",
            r"^\Qab\E+$",
            "abbb",
            true,
        ),
        ("[[:alpha:]] is ASCII", r"[[:alpha:]]", "é", false),
        (
            "[[:^alpha:]] matches non-ASCII",
            r"^[[:^alpha:]]$",
            "é",
            true,
        ),
        (
            "[[:space:]] includes vertical tab",
            r"[[:space:]]",
            "\u{b}",
            true,
        ),
        (
            "explicit Unicode class stays Unicode",
            r"^\p{Nd}$",
            "١",
            true,
        ),
        ("\\pL", r"^\pL$", "é", true),
        ("\\PL", r"^\PL$", "1", true),
        ("\\p{Greek}", r"^\p{Greek}$", "α", true),
        ("\\p{^Greek} is negated", r"^\p{^Greek}$", "α", false),
        ("\\P{^Greek} is double negation", r"^\P{^Greek}$", "α", true),
        ("Unicode class in a class", r"^[\p{Greek}\d]+$", "α1", true),
        ("&& is literal in a class", r"^[a&&b]$", "&", true),
        (
            "-- builds a range from '-' in a class",
            r"^[a-c--e]$",
            "d",
            true,
        ),
        ("~~ is literal in a class", r"^[~~]$", "~", true),
        ("[ is literal in a class", r"^[[]$", "[", true),
        ("] first in a class is literal", r"^[]a]$", "]", true),
        (
            "] first in a negated class is literal",
            r"^[^]a]$",
            "]",
            false,
        ),
        ("{,5} is literal", r"^x{,5}$", "x{,5}", true),
        ("{,5} is not a repetition", r"^x{,5}$", "xx", false),
        ("lone { is literal", r"^a{$", "a{", true),
        ("{} is literal", r"^{}$", "{}", true),
        ("leading zero makes { literal", r"^a{01}$", "a{01}", true),
        ("\\< is a plain <", r"\<", "<", true),
        ("\\< is not a word start", r"\<", "a", false),
        ("\\_ is an underscore", r"^\_$", "_", true),
        ("octal escape", r"^\101$", "A", true),
        ("octal zero", r"^\0$", "\0", true),
        ("short hex escape", r"^\x41$", "A", true),
        ("braced hex escape", r"^\x{263a}$", "☺", true),
        ("bell escape", r"^\a$", "\u{7}", true),
        ("vertical tab escape", r"^\v$", "\u{b}", true),
        (
            "surrogate escape never matches",
            r"\x{D800}",
            "\u{FFFD}",
            false,
        ),
        (
            "range across the surrogates",
            r"^[\x{D7FF}-\x{E000}]$",
            "\u{E000}",
            true,
        ),
        (
            "class of surrogates only matches nothing",
            r"[\x{D800}-\x{DFFF}]",
            "a",
            false,
        ),
        (
            "negated class of surrogates matches anything",
            r"^[^\x{D800}]$",
            "a",
            true,
        ),
        (
            "case folding includes the Kelvin sign",
            r"(?i)k",
            "\u{212A}",
            true,
        ),
        ("flags apply to their group", r"^(?i:a)b$", "Ab", true),
        ("flags end with their group", r"^(?i:a)b$", "AB", false),
        ("flags persist across |", r"a(?i)b|c", "C", true),
        ("negated flag", r"(?i)a(?-i)b", "Ab", true),
        ("negated flag applies", r"(?i)a(?-i)b", "AB", false),
        ("s flag", r"(?s)^.$", "\n", true),
        ("dot excludes newline", r"^.$", "\n", false),
        ("m flag", r"(?m)^b", "a\nb", true),
        ("no m flag", r"^b", "a\nb", false),
        (
            "repetition after a flag group applies to the atom before it",
            r"^a(?i)*$",
            "aaa",
            true,
        ),
        (
            "the flag group still changes what follows",
            r"^a(?i)*b$",
            "aaB",
            true,
        ),
        (
            "repetition before the flag group keeps case",
            r"^a(?i)*$",
            "AAA",
            false,
        ),
        (
            "repetition of a repetition through an empty item",
            r"^a*(?i)*$",
            "aa",
            true,
        ),
        ("empty flag group", r"^a(?)b$", "ab", true),
        ("empty alternative", r"^(a|)$", "", true),
        ("empty group", r"^()$", "", true),
        ("repeated start anchor", r"^*a", "a", true),
        ("search is unanchored", r"1\.2", "v1.2.3", true),
        ("lazy repetition", r"^a+?$", "aaa", true),
        (
            "repeat count 1000 is allowed",
            r"^a{1000}$",
            &"a".repeat(1000),
            true,
        ),
        (
            "nested counts with product 1000",
            r"^(?:a{10}){100}$",
            &"a".repeat(1000),
            true,
        ),
        (
            "named group starting with a digit",
            r"^(?P<1a>x)$",
            "x",
            true,
        ),
        ("duplicate group names", r"^(?P<v>a)|(?P<v>b)$", "b", true),
        ("Perl-style named group", r"^(?<v>a)$", "a", true),
    ];
    for (name, pattern, haystack, want) in cases {
        assert_eq!(
            regex(pattern).is_match(haystack),
            want,
            "{name}: {pattern} on {haystack:?}"
        );
    }
}

#[test]
fn rejects_what_go_rejects() {
    let cases = [
        ("unclosed class", "v[0-9", "missing closing ]"),
        ("unclosed negated class", "[^", "missing closing ]"),
        ("unclosed class after ]", "[]", "missing closing ]"),
        ("unclosed group", "(a", "missing closing )"),
        ("unclosed named group", "(?P<n>a", "missing closing )"),
        ("unopened group", "a)", "unexpected )"),
        (
            "nested star",
            "a**",
            "invalid nested repetition operator '**'",
        ),
        (
            "nested after lazy",
            "a*?+",
            "invalid nested repetition operator '*?+'",
        ),
        (
            "possessive",
            "a++",
            "invalid nested repetition operator '++'",
        ),
        (
            "nested counts",
            "a{2}{3}",
            "invalid nested repetition operator '{2}{3}'",
        ),
        (
            "count then star",
            "a{2}*",
            "invalid nested repetition operator '{2}*'",
        ),
        (
            "star at start",
            "*a",
            "missing argument to repetition operator '*'",
        ),
        (
            "star after bar",
            "a|*",
            "missing argument to repetition operator '*'",
        ),
        (
            "star after open paren",
            "(*)",
            "missing argument to repetition operator '*'",
        ),
        (
            "lazy question at start",
            "??",
            "missing argument to repetition operator '??'",
        ),
        (
            "star after flags at start",
            "(?i)*",
            "missing argument to repetition operator '*'",
        ),
        (
            "star after empty quote at start",
            r"\Q\E*",
            "missing argument to repetition operator '*'",
        ),
        (
            "count at start",
            "{2}",
            "missing argument to repetition operator '{2}'",
        ),
        (
            "count over 1000",
            "a{1001}",
            "invalid repeat count '{1001}'",
        ),
        (
            "max over 1000",
            "a{1,1001}",
            "invalid repeat count '{1,1001}'",
        ),
        (
            "count too large to read",
            "a{100000000000}",
            "invalid repeat count '{100000000000}'",
        ),
        ("min over max", "a{2,1}", "invalid repeat count '{2,1}'"),
        (
            "nested product over 1000",
            "(a{100}){100}",
            "invalid repeat count '{100}'",
        ),
        (
            "nested product just over 1000",
            "(?:a{10}){101}",
            "invalid repeat count '{101}'",
        ),
        ("backreference", r"(a)\1", r"invalid escape sequence '\1'"),
        ("eight is not octal", r"\8", r"invalid escape sequence '\8'"),
        ("one then eight", r"\18", r"invalid escape sequence '\1'"),
        (
            "unknown letter escape",
            r"\i",
            r"invalid escape sequence '\i'",
        ),
        ("any byte", r"\C", r"invalid escape sequence '\C'"),
        ("escaped non-ASCII", r"\é", r"invalid escape sequence '\é'"),
        (
            "backspace in a class",
            r"[\b]",
            r"invalid escape sequence '\b'",
        ),
        ("quote in a class", r"[\Q]", r"invalid escape sequence '\Q'"),
        (
            "hex beyond Unicode",
            r"\x{110000}",
            r"invalid escape sequence '\x{110000'",
        ),
        ("bad short hex", r"\xZ1", r"invalid escape sequence '\xZ1'"),
        ("short hex at end", r"\x4", r"invalid escape sequence '\x4'"),
        (
            "empty braced hex",
            r"\x{}",
            r"invalid escape sequence '\x{}'",
        ),
        (
            "unclosed braced hex",
            r"\x{41",
            r"invalid escape sequence '\x{41'",
        ),
        (
            "trailing backslash",
            "a\\",
            "trailing backslash at end of expression",
        ),
        (
            "trailing backslash in a class",
            "[a\\",
            "trailing backslash at end of expression",
        ),
        (
            "lookahead",
            "(?=a)",
            "invalid or unsupported Perl syntax '(?='",
        ),
        (
            "negative lookahead",
            "(?!a)",
            "invalid or unsupported Perl syntax '(?!'",
        ),
        (
            "x flag",
            "(?x)a",
            "invalid or unsupported Perl syntax '(?x'",
        ),
        (
            "dangling negation",
            "(?i-)a",
            "invalid or unsupported Perl syntax '(?i-)'",
        ),
        (
            "double negation",
            "(?-i-s)a",
            "invalid or unsupported Perl syntax '(?-i-'",
        ),
        (
            "unterminated flags",
            "(?i",
            "invalid or unsupported Perl syntax '(?i'",
        ),
        (
            "short P",
            "(?P<",
            "invalid or unsupported Perl syntax '(?P'",
        ),
        ("lookbehind", "(?<=a)b", "invalid named capture '(?<=a)b'"),
        (
            "bad group name",
            "(?P<na-me>x)",
            "invalid named capture '(?P<na-me>'",
        ),
        (
            "empty group name",
            "(?P<>x)",
            "invalid named capture '(?P<>'",
        ),
        (
            "non-ASCII group name",
            "(?<é>x)",
            "invalid named capture '(?<é>'",
        ),
        (
            "reversed range",
            "[z-a]",
            "invalid character class range 'z-a'",
        ),
        (
            "reversed escaped range",
            r"[\x{42}-A]",
            r"invalid character class range '\x{42}-A'",
        ),
        (
            "unknown POSIX class",
            "[[:foo:]]",
            "invalid character class range '[:foo:]'",
        ),
        (
            "unknown Unicode class",
            r"\p{Foo}",
            r"unknown Unicode class '\p{Foo}'",
        ),
        (
            "Unicode property with value",
            r"\p{Script=Greek}",
            r"unknown Unicode class '\p{Script=Greek}'",
        ),
        (
            "empty Unicode class",
            r"\p{}",
            r"unknown Unicode class '\p{}'",
        ),
        ("bare \\p", r"\p", r"unknown Unicode class '\p'"),
        (
            "unclosed Unicode class",
            r"\p{Greek",
            r"invalid character class range '\p{Greek'",
        ),
        (
            "unknown Unicode class in a class",
            r"[\p{Foo}]",
            r"unknown Unicode class '\p{Foo}'",
        ),
    ];
    for (name, pattern, reason) in cases {
        match GoRegex::new(pattern) {
            Ok(_) => panic!("{name}: {pattern} compiled"),
            Err(e) => assert_eq!(
                e.to_string(),
                format!("invalid regular expression '{pattern}': {reason}"),
                "{name}"
            ),
        }
    }
}

#[test]
fn reports_capture_names() {
    let re = regex(r"(a)(?P<x>b)(?:c)(?<y>d)");
    let want = [None, None, Some("x".to_string()), Some("y".to_string())];
    assert_eq!(re.subexp_names(), &want, "names by group index");
    assert_eq!(
        re.as_str(),
        r"(a)(?P<x>b)(?:c)(?<y>d)",
        "as_str gives the Go pattern"
    );
    let captures = re.captures("zabcd").expect("matches");
    assert_eq!(
        captures.get(3).map(|m| m.as_str()),
        Some("d"),
        "groups numbered as in Go"
    );
}

proptest! {
    #[test]
    fn quoted_text_matches_itself(text in "\\PC{0,16}") {
        // Go's regexp.QuoteMeta escapes these; the result must match exactly the text.
        let quoted: String = text.chars().flat_map(|c| {
            let meta = r"\.+*?()|[]{}^$".contains(c);
            [meta.then_some('\\'), Some(c)].into_iter().flatten()
        }).collect();
        let re = GoRegex::new(&format!("^{quoted}$")).unwrap();
        prop_assert!(re.is_match(&text));
        let literal = GoRegex::new(&format!(r"^\Q{}\E$", text.replace(r"\E", ""))).unwrap();
        prop_assert!(literal.is_match(&text.replace(r"\E", "")));
    }
}
