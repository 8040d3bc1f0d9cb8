//! Go's `regexp` (RE2 syntax, <https://pkg.go.dev/regexp/syntax>) on the `regex` crate: [`GoRegex`] translates a Go
//! pattern once into an equivalent `regex` pattern, keeping Go's errors, its capture numbering and names.
//!
//! `translate` follows the structure of Go's `regexp/syntax` parser (groups, flags, repetition, classes);
//! `syntax` holds the leaf parsers it shares (escapes, Perl, POSIX and Unicode classes, `{n,m}` counts).

use regex::Regex;

use translate::Translator;

mod syntax;
#[cfg(test)]
mod tests;
mod translate;

/// Why a Go regular expression was rejected: Go's reason where Go rejects it too.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("invalid regular expression '{pattern}': {reason}")]
pub struct RegexError {
    pub pattern: String,
    pub reason: String,
}

/// A regular expression with Go RE2 (`regexp` package) syntax and semantics, run by the `regex` crate.
///
/// The Go pattern is translated once, at construction:
/// - `\d \w \s \b \B` and their negations are ASCII-only, inside classes too (`\s` is `[\t\n\f\r ]`, without `\v`);
/// - `\Q…\E` quotes literally; octal (`\101`), `\x41`, `\x{263a}` and `\a \f \n \r \t \v` escapes; `\<` is a plain `<`;
/// - class syntax is Go's: `[[a]`, `[a&&b]`, `[a--b]`, `[~~]` are plain characters, not Rust's set operations;
/// - `{` that does not start a valid `{n}`, `{n,}` or `{n,m}` is a literal, as in Go;
/// - `(?P<name>…)` and `(?<name>…)` capture; names may start with a digit and repeat, as Go allows;
/// - flags are Go's `i m s U`; repetition counts above 1000, nested repetition operators (`a**`) and other
///   syntax Go rejects are rejected with Go's reason.
///
/// Matching is unanchored (Go `MatchString`); captures are leftmost-first, like Go's `FindStringSubmatchIndex`.
///
/// Go's quirks are kept too: a flag group between an atom and a repetition operator leaves the operator on the atom
/// (`a(?i)*` is `a*`), and a repetition after `\Q…\E` applies to its last character.
///
/// Known differences, all on exotic patterns: Unicode class names follow the `regex` crate, which also knows
/// properties Go lacks (`\p{Alphabetic}`, `\p{Emoji}`) and may be on another Unicode version; nesting deeper than the
/// `regex` crate's limit of 250 and programs over its 10 MB size limit are rejected where Go allows depth 1000 and
/// 128 MB.
#[derive(Clone, Debug)]
pub struct GoRegex {
    pattern: String,
    regex: Regex,
    /// Capture group names by group index; index 0 is the whole match.
    names: Vec<Option<String>>,
}

impl PartialEq for GoRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for GoRegex {}

impl GoRegex {
    /// Compiles a Go regular expression.
    ///
    /// ```
    /// use argocd_image_resolver_core::gocompat::regexp::GoRegex;
    ///
    /// let re = GoRegex::new(r"^v\d+\.\d+$").unwrap();
    /// assert!(re.is_match("v1.25"));
    /// assert!(!re.is_match("v١.٢")); // Arabic-Indic digits are not \d in Go
    /// assert_eq!(
    ///     GoRegex::new("v[0-9").unwrap_err().to_string(),
    ///     "invalid regular expression 'v[0-9': missing closing ]"
    /// );
    /// ```
    pub fn new(pattern: &str) -> Result<GoRegex, RegexError> {
        let error = |reason: String| RegexError {
            pattern: pattern.to_string(),
            reason,
        };
        let translation = Translator::new(pattern).run().map_err(error)?;
        let regex = Regex::new(&translation.rust).map_err(|e| error(rust_error_reason(&e)))?;
        Ok(GoRegex {
            pattern: pattern.to_string(),
            regex,
            names: translation.names,
        })
    }

    /// Whether the expression matches anywhere in `s`.
    pub fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }

    /// The Go pattern as given.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Capture group names by index, like Go's `SubexpNames` (`None` for index 0 and unnamed groups).
    pub fn subexp_names(&self) -> &[Option<String>] {
        &self.names
    }

    /// The leftmost-first match and its groups, numbered as in the Go pattern.
    pub fn captures<'h>(&self, s: &'h str) -> Option<regex::Captures<'h>> {
        self.regex.captures(s)
    }
}

/// The `regex` crate's own complaint, in one line (its syntax errors are multi-line with a caret diagram).
fn rust_error_reason(error: &regex::Error) -> String {
    match error {
        regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(text)
            .to_string(),
        other => other.to_string(),
    }
}
