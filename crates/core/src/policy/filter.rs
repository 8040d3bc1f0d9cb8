//! Tag filters: `allow-tags` regular expressions with Go RE2 semantics, `ignore-tags` globs, Flux-style extraction.
//!
//! argocd-image-updater compiles `allow-tags` with Go's `regexp` and matches `ignore-tags` with Go's
//! `path/filepath.Match`; Flux's image-reflector-controller filters with Go's `regexp` and `Regexp.Expand`. Users copy
//! those patterns over unchanged, so this module reproduces Go's behaviour rather than the Rust `regex` crate's:
//! [`GoRegex`] translates Go syntax into an equivalent `regex` pattern, [`Glob`] is a hand-written port of
//! `filepath.Match`, and [`Extract`] expands templates by Go's rules.

use std::sync::LazyLock;

use regex::Regex;

/// Why a filter pattern or annotation value was rejected. The caller adds the annotation key.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    #[error("invalid regular expression '{pattern}': {reason}")]
    Regex { pattern: String, reason: String },
    #[error("invalid glob '{pattern}': {reason}")]
    Glob { pattern: String, reason: String },
    #[error(
        "invalid allow-tags value '{value}': expected 'any' or 'regexp:<expression>' \
         (argocd-image-updater would silently allow no tag)"
    )]
    AllowTags { value: String },
    #[error(
        "extract template '{}' refers to group '{}', which tag pattern '{}' does not have ({}){}",
        .0.template, .0.group, .0.pattern, .0.groups, .0.hint
    )]
    UnknownGroup(Box<UnknownGroup>),
}

/// An extract template's reference to a group its pattern lacks (boxed in [`FilterError`] to keep it small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGroup {
    pub template: String,
    pub group: String,
    pub pattern: String,
    /// The groups the pattern has, as references: `its groups: $1, $2 ($ts)`.
    pub groups: String,
    /// How to write what was probably meant, after `; `, or nothing.
    pub hint: String,
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
    /// use argocd_image_resolver_core::policy::filter::GoRegex;
    ///
    /// let re = GoRegex::new(r"^v\d+\.\d+$").unwrap();
    /// assert!(re.is_match("v1.25"));
    /// assert!(!re.is_match("v١.٢")); // Arabic-Indic digits are not \d in Go
    /// assert_eq!(
    ///     GoRegex::new("v[0-9").unwrap_err().to_string(),
    ///     "invalid regular expression 'v[0-9': missing closing ]"
    /// );
    /// ```
    pub fn new(pattern: &str) -> Result<GoRegex, FilterError> {
        let error = |reason: String| FilterError::Regex {
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

/// Go's limit on any repetition count and on the product of nested counts.
const MAX_REPEAT: i64 = 1000;
/// Matches nothing, even case-insensitively: what a Go literal surrogate (`\x{D800}`) can match in UTF-8 text.
const NEVER: &str = r"[^\x00-\x{10FFFF}]";
const ANY_CHAR: &str = r"[\x00-\x{10FFFF}]";

type Ranges = &'static [(u32, u32)];
const DIGIT: Ranges = &[(0x30, 0x39)];
const SPACE: Ranges = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: Ranges = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// Go's Perl classes (`\d \s \w`, upper case negated), which are ASCII-only.
fn perl_class(s: &str) -> Option<(bool, Ranges)> {
    let class = match s.get(..2)? {
        r"\d" | r"\D" => DIGIT,
        r"\s" | r"\S" => SPACE,
        r"\w" | r"\W" => WORD,
        _ => return None,
    };
    Some((s.as_bytes()[1].is_ascii_uppercase(), class))
}

/// Go's POSIX classes for `[[:name:]]`, spelled out so that Rust's definitions cannot differ.
fn posix_class(name: &str) -> Option<(bool, Ranges)> {
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
fn push_range(out: &mut String, lo: u32, hi: u32) -> bool {
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
fn class_of(negated: bool, ranges: Ranges) -> String {
    let mut out = String::from(if negated { "[^" } else { "[" });
    for &(lo, hi) in ranges {
        push_range(&mut out, lo, hi);
    }
    out.push(']');
    out
}

/// Go's flags: `i` (case folding), `m` (multi-line `^ $`), `s` (`.` matches `\n`), `U` (swap greediness).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Flags {
    fold: bool,
    multi_line: bool,
    dot_nl: bool,
    ungreedy: bool,
}

impl Flags {
    /// All four flags spelled out (`i-msU`), so the Rust state never depends on what came before.
    fn rust(self) -> String {
        let (mut on, mut off) = (String::new(), String::new());
        for (set, flag) in [
            (self.fold, 'i'),
            (self.multi_line, 'm'),
            (self.dot_nl, 's'),
            (self.ungreedy, 'U'),
        ] {
            if set { on.push(flag) } else { off.push(flag) }
        }
        if off.is_empty() {
            on
        } else {
            format!("{on}-{off}")
        }
    }
}

/// The item a repetition operator would apply to.
struct Atom {
    /// Where the atom starts in the Rust output, so it can be wrapped in a group.
    start: usize,
    /// The least `n` for which Go's `repeatIsValid(atom, n)` holds: the product of nested repetition counts.
    factor: u64,
    /// Whether the atom already ends in a repetition operator.
    repeated: bool,
}

/// An open group (the whole pattern is the outermost one).
struct Frame {
    /// Go's flags at this point of the pattern.
    flags: Flags,
    /// The flags in force in the Rust output so far; flag changes are written lazily, just before the next item, so
    /// that a repetition operator after a flag group still applies to the atom before it, as in Go.
    emitted: Flags,
    last: Option<Atom>,
    /// The largest factor of the finished atoms in this group.
    factor: u64,
    /// Where the group's `(` is in the Rust output.
    open: usize,
}

struct Translation {
    rust: String,
    names: Vec<Option<String>>,
}

/// A one-pass translation of a Go pattern, following the structure of Go's `regexp/syntax` parser so that its
/// errors and its special cases come out the same.
struct Translator<'p> {
    src: &'p str,
    pos: usize,
    out: String,
    frames: Vec<Frame>,
    names: Vec<Option<String>>,
    /// Where the previous item started, if it was a repetition operator (Go's `lastRepeat`).
    last_repeat: Option<usize>,
}

impl<'p> Translator<'p> {
    fn new(src: &'p str) -> Self {
        let root = Frame {
            flags: Flags::default(),
            emitted: Flags::default(),
            last: None,
            factor: 0,
            open: 0,
        };
        Translator {
            src,
            pos: 0,
            out: String::new(),
            frames: vec![root],
            names: vec![None],
            last_repeat: None,
        }
    }

    fn run(mut self) -> Result<Translation, String> {
        while let Some(c) = self.src[self.pos..].chars().next() {
            let mut repeat = None;
            match c {
                '(' => self.open_group()?,
                ')' => self.close_group()?,
                '|' => {
                    self.flush_flags();
                    self.finish_atom();
                    self.out.push('|');
                    self.pos += 1;
                }
                '^' | '$' | '.' => {
                    self.start_atom();
                    self.out.push(c);
                    self.pos += 1;
                }
                '[' => {
                    let (class, next) = self.class()?;
                    self.start_atom();
                    self.out.push_str(&class);
                    self.pos = next;
                }
                '*' | '+' | '?' => {
                    repeat = Some(self.pos);
                    self.repeat(c.to_string(), 1, None)?;
                }
                '{' => match parse_counted(&self.src[self.pos..]) {
                    Some((min, max, len)) => {
                        repeat = Some(self.pos);
                        let text = &self.src[self.pos..self.pos + len];
                        if !(0..=MAX_REPEAT).contains(&min)
                            || max > MAX_REPEAT
                            || (max >= 0 && min > max)
                        {
                            return Err(format!("invalid repeat count '{text}'"));
                        }
                        let rust = match max {
                            -1 => format!("{{{min},}}"),
                            _ if max == min => format!("{{{min}}}"),
                            _ => format!("{{{min},{max}}}"),
                        };
                        self.repeat(rust, len, Some((min, max)))?;
                    }
                    None => self.literal('{' as u32, 1),
                },
                '\\' => self.escape()?,
                _ => self.literal(c as u32, c.len_utf8()),
            }
            self.last_repeat = repeat;
        }
        if self.frames.len() > 1 {
            return Err("missing closing )".to_string());
        }
        Ok(Translation {
            rust: self.out,
            names: self.names,
        })
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("the outermost frame is never popped")
    }

    fn flush_flags(&mut self) {
        let frame = self.frame();
        if frame.flags != frame.emitted {
            let flags = frame.flags;
            frame.emitted = flags;
            self.out.push_str(&format!("(?{})", flags.rust()));
        }
    }

    fn finish_atom(&mut self) {
        let frame = self.frame();
        if let Some(atom) = frame.last.take() {
            frame.factor = frame.factor.max(atom.factor);
        }
    }

    /// Begins a new item at the current end of the output.
    fn start_atom(&mut self) {
        self.flush_flags();
        self.finish_atom();
        let start = self.out.len();
        self.frame().last = Some(Atom {
            start,
            factor: 0,
            repeated: false,
        });
    }

    /// Writes one literal character consumed from `len` bytes of the pattern.
    fn literal(&mut self, code: u32, len: usize) {
        self.start_atom();
        match char::from_u32(code) {
            Some(c) if "\\.+*?()|[]{}^$#&-~".contains(c) => {
                self.out.push('\\');
                self.out.push(c);
            }
            Some(c) => self.out.push(c),
            None => self.out.push_str(NEVER),
        }
        self.pos += len;
    }

    /// Applies a repetition operator of `len` pattern bytes (`counts` for `{n,m}`), as Go's `parser.repeat` does.
    fn repeat(
        &mut self,
        mut rust: String,
        len: usize,
        counts: Option<(i64, i64)>,
    ) -> Result<(), String> {
        let start = self.pos;
        let mut end = start + len;
        if self.src[end..].starts_with('?') {
            end += 1;
            rust.push('?');
        }
        if let Some(previous) = self.last_repeat {
            return Err(format!(
                "invalid nested repetition operator '{}'",
                &self.src[previous..end]
            ));
        }
        let text = &self.src[start..end];
        let Some(atom) = self.frames.last_mut().and_then(|frame| frame.last.as_mut()) else {
            return Err(format!("missing argument to repetition operator '{text}'"));
        };
        if let Some((min, max)) = counts {
            // Go's repeatIsValid: the product of nested counts may not exceed 1000.
            let count = u64::try_from(if max == -1 { min } else { max }).unwrap_or(0);
            atom.factor = match count {
                _ if max == 0 => 0,
                0 => atom.factor,
                _ => count.max(count.saturating_mul(atom.factor)),
            };
            if (min >= 2 || max >= 2) && atom.factor > MAX_REPEAT.unsigned_abs() {
                return Err(format!("invalid repeat count '{text}'"));
            }
        }
        // Only reachable when an empty item (a flag group, `\Q\E`) separated two operators, which Go allows.
        let wrap = atom.repeated;
        atom.repeated = true;
        let atom_start = atom.start;
        if wrap {
            self.out.insert_str(atom_start, "(?:");
            self.out.push(')');
        }
        self.out.push_str(&rust);
        self.pos = end;
        Ok(())
    }

    fn open_group(&mut self) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        if !rest.starts_with("(?") {
            self.push_frame(None, true);
            self.pos += 1;
            return Ok(());
        }
        let bytes = rest.as_bytes();
        let python_name = bytes.len() > 4 && bytes[2] == b'P' && bytes[3] == b'<';
        let perl_name = bytes.len() > 3 && bytes[2] == b'<';
        if python_name || perl_name {
            let Some(end) = rest.find('>') else {
                return Err(format!("invalid named capture '{rest}'"));
            };
            let name = &rest[if python_name { 4 } else { 3 }..end];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("invalid named capture '{}'", &rest[..=end]));
            }
            self.push_frame(Some(name.to_string()), true);
            self.pos += end + 1;
            return Ok(());
        }
        // Flags, and maybe a non-capturing group: (?i) (?i-s:…) (?:…).
        let mut flags = self.frame().flags;
        let mut negate = false;
        let mut saw_flag = false;
        let mut j = 2;
        while let Some(c) = rest[j..].chars().next() {
            j += c.len_utf8();
            let target = match c {
                'i' => &mut flags.fold,
                'm' => &mut flags.multi_line,
                's' => &mut flags.dot_nl,
                'U' => &mut flags.ungreedy,
                '-' if !negate => {
                    negate = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' if !negate || saw_flag => {
                    if c == ':' {
                        self.push_frame(None, false);
                        let frame = self.frame();
                        frame.flags = flags;
                        frame.emitted = flags;
                        self.out.push_str(&format!("(?{}:", flags.rust()));
                    } else {
                        self.frame().flags = flags;
                    }
                    self.pos += j;
                    return Ok(());
                }
                _ => break,
            };
            *target = !negate;
            saw_flag = true;
        }
        Err(format!(
            "invalid or unsupported Perl syntax '{}'",
            &rest[..j]
        ))
    }

    /// Opens a group; a capturing one (named or not) is written as a plain `(`, its name kept in `names`.
    fn push_frame(&mut self, name: Option<String>, capture: bool) {
        self.flush_flags();
        self.finish_atom();
        let parent = self.frame();
        let (flags, emitted) = (parent.flags, parent.emitted);
        let open = self.out.len();
        if capture {
            self.names.push(name);
            self.out.push('(');
        }
        self.frames.push(Frame {
            flags,
            emitted,
            last: None,
            factor: 0,
            open,
        });
    }

    fn close_group(&mut self) -> Result<(), String> {
        if self.frames.len() == 1 {
            return Err("unexpected )".to_string());
        }
        self.finish_atom();
        let frame = self.frames.pop().expect("checked above");
        self.out.push(')');
        self.frame().last = Some(Atom {
            start: frame.open,
            factor: frame.factor,
            repeated: false,
        });
        self.pos += 1;
        Ok(())
    }

    fn escape(&mut self) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        let item = match rest.as_bytes().get(1) {
            Some(b'A') => r"\A",
            Some(b'z') => r"\z",
            // Go's word boundaries are ASCII; the `regex` crate's default ones are Unicode.
            Some(b'b') => r"(?-u:\b)",
            Some(b'B') => r"(?-u:\B)",
            Some(b'C') => return Err(r"invalid escape sequence '\C'".to_string()),
            Some(b'Q') => {
                let body = &rest[2..];
                let (quoted, len) = match body.find(r"\E") {
                    Some(end) => (&body[..end], end + 4),
                    None => (body, rest.len()),
                };
                let end = self.pos + len;
                self.pos += 2;
                for c in quoted.chars() {
                    self.literal(c as u32, c.len_utf8());
                }
                self.pos = end;
                return Ok(());
            }
            Some(b'p' | b'P') => {
                let (class, next) = unicode_class(self.src, self.pos)?;
                self.start_atom();
                self.out.push_str(&class);
                self.pos = next;
                return Ok(());
            }
            _ => {
                if let Some((negated, ranges)) = perl_class(rest) {
                    self.start_atom();
                    self.out.push_str(&class_of(negated, ranges));
                    self.pos += 2;
                    return Ok(());
                }
                let (code, next) = parse_escape(self.src, self.pos)?;
                self.literal(code, next - self.pos);
                return Ok(());
            }
        };
        self.start_atom();
        self.out.push_str(item);
        self.pos += 2;
        Ok(())
    }

    /// Go's `parseClass`: returns the class in Rust syntax and the position after its `]`.
    fn class(&self) -> Result<(String, usize), String> {
        let src = self.src;
        let mut i = self.pos + 1;
        let negated = src[i..].starts_with('^');
        if negated {
            i += 1;
        }
        let mut out = String::from(if negated { "[^" } else { "[" });
        let mut nonempty = false;
        let mut first = true;
        loop {
            let t = &src[i..];
            if t.is_empty() {
                return Err("missing closing ]".to_string());
            }
            if t.starts_with(']') && !first {
                i += 1;
                break;
            }
            first = false;
            if let Some(end) = t
                .strip_prefix("[:")
                .filter(|rest| !rest.is_empty())
                .and_then(|rest| rest.find(":]"))
            {
                let name = &t[..end + 4];
                let Some((negated, ranges)) = posix_class(name) else {
                    return Err(format!("invalid character class range '{name}'"));
                };
                out.push_str(&class_of(negated, ranges));
                nonempty = true;
                i += name.len();
                continue;
            }
            if t.starts_with(r"\p") || t.starts_with(r"\P") {
                let (class, next) = unicode_class(src, i)?;
                out.push_str(&class);
                nonempty = true;
                i = next;
                continue;
            }
            if let Some((negated, ranges)) = perl_class(t) {
                if negated {
                    out.push_str(&class_of(true, ranges));
                } else {
                    ranges
                        .iter()
                        .for_each(|&(lo, hi)| _ = push_range(&mut out, lo, hi));
                }
                nonempty = true;
                i += 2;
                continue;
            }
            let range_start = i;
            let (lo, next) = class_char(src, i)?;
            let mut hi = lo;
            i = next;
            let t = &src[i..];
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, next) = class_char(src, i + 1)?;
                if h < lo {
                    return Err(format!(
                        "invalid character class range '{}'",
                        &src[range_start..next]
                    ));
                }
                hi = h;
                i = next;
            }
            nonempty |= push_range(&mut out, lo, hi);
        }
        if !nonempty {
            // Only surrogates were listed: the class can match nothing (or, negated, anything).
            return Ok((if negated { ANY_CHAR } else { NEVER }.to_string(), i));
        }
        out.push(']');
        Ok((out, i))
    }
}

/// One character of a class, escaped or not.
fn class_char(src: &str, i: usize) -> Result<(u32, usize), String> {
    match src[i..].chars().next() {
        None => Err("missing closing ]".to_string()),
        Some('\\') => parse_escape(src, i),
        Some(c) => Ok((c as u32, i + c.len_utf8())),
    }
}

/// Go's `parseEscape` for a single-character escape at `src[i]`: returns the code point and the position after it.
fn parse_escape(src: &str, i: usize) -> Result<(u32, usize), String> {
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
fn unicode_class(src: &str, i: usize) -> Result<(String, usize), String> {
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
fn parse_counted(s: &str) -> Option<(i64, i64, usize)> {
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

/// An `allow-tags` value: which tags may be considered at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowTags {
    Any,
    Regexp(GoRegex),
}

impl AllowTags {
    /// Parses `any` or `regexp:<expression>`, case-insensitively in the keyword, as argocd-image-updater does.
    ///
    /// argocd-image-updater logs a warning for any other value (and for an expression that does not compile) and
    /// then allows no tag at all, which silently stops updates; here both are errors.
    pub fn parse(value: &str) -> Result<AllowTags, FilterError> {
        if value.to_lowercase() == "any" {
            return Ok(AllowTags::Any);
        }
        match value.split_once(':') {
            Some((kind, expression)) if kind.to_lowercase() == "regexp" => {
                GoRegex::new(expression).map(AllowTags::Regexp)
            }
            _ => Err(FilterError::AllowTags {
                value: value.to_string(),
            }),
        }
    }

    pub fn allows(&self, tag: &str) -> bool {
        match self {
            AllowTags::Any => true,
            AllowTags::Regexp(regex) => regex.is_match(tag),
        }
    }
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
    /// use argocd_image_resolver_core::policy::filter::Glob;
    ///
    /// let glob = Glob::parse("*-rc[0-9]").unwrap();
    /// assert!(glob.matches("1.2.0-rc1"));
    /// assert!(!glob.matches("1.2.0"));
    /// assert_eq!(Glob::parse("v[").unwrap_err().to_string(), "invalid glob 'v[': missing closing ]");
    /// ```
    pub fn parse(pattern: &str) -> Result<Glob, FilterError> {
        let error = |reason: &str| FilterError::Glob {
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

/// An `ignore-tags` value: globs, any of which excludes a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreTags {
    globs: Vec<Glob>,
}

impl IgnoreTags {
    /// Parses a comma-separated list, trimming spaces and skipping empty entries as argocd-image-updater does.
    pub fn parse(value: &str) -> Result<IgnoreTags, FilterError> {
        let globs = value
            .trim()
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(Glob::parse);
        Ok(IgnoreTags {
            globs: globs.collect::<Result<_, _>>()?,
        })
    }

    /// Ignores nothing.
    pub fn none() -> IgnoreTags {
        IgnoreTags::default()
    }

    /// The first glob that matches `tag`, if any: the one to name when explaining why a tag was dropped.
    pub fn matching(&self, tag: &str) -> Option<&Glob> {
        self.globs.iter().find(|glob| glob.matches(tag))
    }

    pub fn globs(&self) -> &[Glob] {
        &self.globs
    }
}

/// Flux's `filterTags`: a tag is a candidate when `pattern` matches it, and strategies order candidates by the
/// extracted text (or the whole tag when `extract` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extract {
    regex: GoRegex,
    template: String,
    pieces: Vec<Piece>,
}

/// A parsed piece of an expansion template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
    /// The groups with a referenced name, in order; the first that took part in the match is used.
    Named(Vec<usize>),
}

/// A reference name after `$`: Unicode letters and decimal digits and `_`, as Go's `extract` reads them.
static REFERENCE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A[\p{L}\p{Nd}_]+").expect("a constant pattern compiles"));

impl Extract {
    /// Compiles `pattern` (Go syntax) and parses `extract` by Go's `Regexp.Expand` rules: `$name`, `${name}`,
    /// `$1`, `${1}`; `$$` is a `$`; the longest run of letters, digits and `_` is the name, so `$1x` means the group
    /// named `1x` (write `${1}x`); a number with a leading zero is a name; an unknown group expands to nothing; a `$`
    /// not followed by a valid reference stays as it is.
    ///
    /// ```
    /// use argocd_image_resolver_core::policy::filter::Extract;
    ///
    /// let extract = Extract::new(r"^main-[a-f0-9]+-(?P<ts>\d+)$", "$ts").unwrap();
    /// assert_eq!(extract.apply("main-3f2a1b0-1700000000").as_deref(), Some("1700000000"));
    /// assert_eq!(extract.apply("v1.2.3"), None);
    /// ```
    pub fn new(pattern: &str, extract: &str) -> Result<Extract, FilterError> {
        let regex = GoRegex::new(pattern)?;
        let pieces = parse_template(extract, regex.subexp_names());
        Ok(Extract {
            regex,
            template: extract.to_string(),
            pieces,
        })
    }

    /// [`Extract::new`] for a template someone wrote: a reference to a group the pattern lacks is refused. Go
    /// expands it to nothing, so every tag would order by the same text (`$nope`, or `$1x` meant as `${1}x`): never
    /// what was meant, and otherwise reported only as "not versions".
    ///
    /// ```
    /// use argocd_image_resolver_core::policy::filter::Extract;
    ///
    /// assert!(Extract::checked(r"^(?P<ts>\d+)$", "$ts").is_ok());
    /// assert!(Extract::checked(r"^(\d+)$", "$nope").is_err());
    /// ```
    pub fn checked(pattern: &str, extract: &str) -> Result<Extract, FilterError> {
        let checked = Extract::new(pattern, extract)?;
        let names = checked.regex.subexp_names();
        let Some(group) = unknown_reference(extract, names) else {
            return Ok(checked);
        };
        let groups: Vec<String> = (1..names.len())
            .map(|i| match &names[i] {
                Some(name) => format!("${i} (${name})"),
                None => format!("${i}"),
            })
            .collect();
        let digits = group.bytes().take_while(u8::is_ascii_digit).count();
        let hint = if digits > 0 && digits < group.len() {
            format!(
                "; to follow group {} with text, write '${{{}}}{}'",
                &group[..digits],
                &group[..digits],
                &group[digits..]
            )
        } else {
            String::new()
        };
        Err(FilterError::UnknownGroup(Box::new(UnknownGroup {
            template: extract.to_string(),
            group: group.to_string(),
            pattern: pattern.to_string(),
            groups: if groups.is_empty() {
                "it has no groups".to_string()
            } else {
                format!("its groups: {}", groups.join(", "))
            },
            hint,
        })))
    }

    /// The text to order `tag` by, or `None` when the pattern does not match it. Expansion uses the first match.
    pub fn apply(&self, tag: &str) -> Option<String> {
        if self.template.is_empty() {
            return self.regex.is_match(tag).then(|| tag.to_string());
        }
        if !self
            .pieces
            .iter()
            .any(|piece| !matches!(piece, Piece::Literal(_)))
        {
            return self
                .regex
                .is_match(tag)
                .then(|| self.pieces.iter().map(piece_literal).collect());
        }
        let captures = self.regex.captures(tag)?;
        let mut out = String::new();
        for piece in &self.pieces {
            let group = match piece {
                Piece::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Group(index) => captures.get(*index),
                Piece::Named(indices) => indices.iter().find_map(|&index| captures.get(index)),
            };
            if let Some(group) = group {
                out.push_str(group.as_str());
            }
        }
        Some(out)
    }

    pub fn pattern(&self) -> &GoRegex {
        &self.regex
    }

    pub fn extract(&self) -> &str {
        &self.template
    }
}

fn piece_literal(piece: &Piece) -> &str {
    match piece {
        Piece::Literal(text) => text,
        Piece::Group(_) | Piece::Named(_) => "",
    }
}

/// Go's `Regexp.expand` with the template parsed ahead of matching; references to groups that do not exist are
/// dropped here, since they always expand to nothing.
fn parse_template(template: &str, names: &[Option<String>]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        literal.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            literal.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            literal.push('$');
            continue;
        };
        rest = after;
        let piece = match reference_number(name) {
            Some(index) if index < names.len() => Piece::Group(index),
            Some(_) => continue,
            None => {
                let indices: Vec<usize> = (1..names.len())
                    .filter(|&i| names[i].as_deref() == Some(name))
                    .collect();
                if indices.is_empty() {
                    continue;
                }
                Piece::Named(indices)
            }
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// The first reference in `template` to a group that `names` (the pattern's, index 0 the whole match) lacks.
fn unknown_reference<'t>(template: &'t str, names: &[Option<String>]) -> Option<&'t str> {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            continue;
        };
        rest = after;
        let known = match reference_number(name) {
            Some(index) => index < names.len(),
            None => names.iter().skip(1).any(|n| n.as_deref() == Some(name)),
        };
        if !known {
            return Some(name);
        }
    }
    None
}

/// Go's `extract`: the name of a `name` or `{name}` reference at the start of `s`, and the text after it.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let name = REFERENCE_NAME.find(body)?.as_str();
    let after = &body[name.len()..];
    let after = if braced {
        after.strip_prefix('}')?
    } else {
        after
    };
    Some((name, after))
}

/// The group number a reference name denotes, if it is one: ASCII digits, no leading zero, below Go's 1e8 cap.
fn reference_number(name: &str) -> Option<usize> {
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    let mut number: usize = 0;
    for b in name.bytes() {
        if !b.is_ascii_digit() || number >= 100_000_000 {
            return None;
        }
        number = number * 10 + usize::from(b - b'0');
    }
    Some(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn parses_allow_tags() {
        let cases = [
            ("any", "any", "", true),
            ("any upper case", "ANY", "", true),
            ("regexp", "regexp:^v1\\.", "v1.2", true),
            ("regexp rejects", "regexp:^v1\\.", "v2.0", false),
            ("keyword case-insensitive", "RegExp:^v1", "v1", true),
            ("expression keeps its colons", "regexp:^a:b$", "a:b", true),
            ("empty expression allows all", "regexp:", "anything", true),
            ("Go semantics apply", "regexp:^\\d+$", "١٢", false),
        ];
        for (name, value, tag, want) in cases {
            let allow = AllowTags::parse(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(allow.allows(tag), want, "{name}");
        }
        assert_eq!(
            AllowTags::parse("any"),
            Ok(AllowTags::Any),
            "any parses to Any"
        );
    }

    #[test]
    fn rejects_allow_tags() {
        let hint = "expected 'any' or 'regexp:<expression>' (argocd-image-updater would silently allow no tag)";
        let cases = [
            (
                "unknown function",
                "glob:v*",
                format!("invalid allow-tags value 'glob:v*': {hint}"),
            ),
            (
                "no colon",
                "regexp",
                format!("invalid allow-tags value 'regexp': {hint}"),
            ),
            ("empty", "", format!("invalid allow-tags value '': {hint}")),
            (
                "padded any",
                " any",
                format!("invalid allow-tags value ' any': {hint}"),
            ),
            (
                "bad expression",
                "regexp:v[0-9",
                "invalid regular expression 'v[0-9': missing closing ]".to_string(),
            ),
        ];
        for (name, value, want) in cases {
            match AllowTags::parse(value) {
                Ok(allow) => panic!("{name}: parsed as {allow:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "{name}"),
            }
        }
    }

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

    #[test]
    fn parses_ignore_tags() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "list with spaces and empties",
                " latest, dev ,, *-rc* ",
                &["latest", "dev", "*-rc*"],
            ),
            ("single", "latest", &["latest"]),
            ("empty", "", &[]),
            ("only commas", " , ,", &[]),
        ];
        for &(name, value, want) in cases {
            let ignore = IgnoreTags::parse(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<&str> = ignore.globs().iter().map(Glob::as_str).collect();
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(
            IgnoreTags::parse("latest, v[").unwrap_err().to_string(),
            "invalid glob 'v[': missing closing ]",
            "bad glob in the list"
        );
        assert_eq!(
            IgnoreTags::none(),
            IgnoreTags::parse("").unwrap(),
            "none is the empty list"
        );
    }

    #[test]
    fn names_the_matching_glob() {
        let ignore = IgnoreTags::parse("latest, *-rc*, v1.*").unwrap();
        let cases = [
            ("exact", "latest", Some("latest")),
            ("first of two matching", "v1.0-rc1", Some("*-rc*")),
            ("second glob", "v1.2", Some("v1.*")),
            ("none", "v2.0", None),
        ];
        for (name, tag, want) in cases {
            assert_eq!(ignore.matching(tag).map(Glob::as_str), want, "{name}");
        }
        assert_eq!(
            IgnoreTags::none().matching("latest"),
            None,
            "none ignores nothing"
        );
    }

    /// Go `Regexp.Expand` rules, plus Flux's filter_test.go cases.
    #[test]
    fn extracts_like_go_expand() {
        let cases = [
            ("flux: no pattern keeps the tag", "", "", "a", Some("a")),
            ("flux: pattern filters", "^ver", "", "ver1", Some("ver1")),
            ("flux: pattern rejects", "^ver", "", "rel1", None),
            ("flux: capture group", r"ver(\d+)", "$1", "ver3", Some("3")),
            ("braced number", r"(\d+)", "${1}", "v12", Some("12")),
            ("first match is used", r"(\d+)", "$1", "a12b34", Some("12")),
            (
                "named group",
                r"(?P<ts>\d+)$",
                "$ts",
                "main-abc-1700000000",
                Some("1700000000"),
            ),
            (
                "braced name with suffix",
                r"(?P<major>\d+)\.(?P<minor>\d+)",
                "${major}x${minor}",
                "1.2",
                Some("1x2"),
            ),
            (
                "longest name: $1x is group '1x'",
                r"(\d)",
                "$1x",
                "7",
                Some(""),
            ),
            ("braces end a name", r"(\d)", "${1}x", "7", Some("7x")),
            ("dollar dollar", r"(\d)", "$$1", "7", Some("$1")),
            ("dollar at end", r"(\d)", "$1$", "7", Some("7$")),
            (
                "dollar before punctuation",
                r"(\d)",
                "$-$1",
                "7",
                Some("$-7"),
            ),
            ("unclosed brace", r"(\d)", "${1", "7", Some("${1")),
            ("empty braces", r"(\d)", "${}", "7", Some("${}")),
            ("group 0 is the match", r"\d+", "<$0>", "v42", Some("<42>")),
            ("leading zero is a name", r"(\d)", "$01", "7", Some("")),
            ("missing group number", r"(\d)", "[$2]", "7", Some("[]")),
            ("unknown name", r"(\d)", "[$name]", "7", Some("[]")),
            ("non-participating group", r"(a)?b", "[$1]", "b", Some("[]")),
            ("Unicode digits end no name", r"(\d)", "$1١", "7", Some("")),
            ("letters after a digit", r"(\d)", "$1é.", "7", Some(".")),
            ("dot ends a name", r"(\d)", "$1.0", "7", Some("7.0")),
            (
                "duplicate names take the one that matched",
                r"(?P<v>a)|(?P<v>b)",
                "$v",
                "b",
                Some("b"),
            ),
            (
                "group named with a leading digit",
                r"(?P<1a>x)",
                "$1a",
                "x",
                Some("x"),
            ),
            ("literal-only template", r"^v", "fixed", "v1", Some("fixed")),
            (
                "literal-only template needs a match",
                r"^v",
                "fixed",
                "x1",
                None,
            ),
            ("expansion may be empty", r"^v", "$9", "v1", Some("")),
            ("ungreedy flag", r"(?U)(a+)", "$1", "aaa", Some("a")),
        ];
        for (name, pattern, template, tag, want) in cases {
            let extract = Extract::new(pattern, template).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(extract.apply(tag).as_deref(), want, "{name}");
        }
        let extract = Extract::new(r"(\d+)", "$1").unwrap();
        assert_eq!(
            (extract.pattern().as_str(), extract.extract()),
            (r"(\d+)", "$1"),
            "accessors"
        );
        assert_eq!(
            Extract::new("(", "$1").unwrap_err().to_string(),
            "invalid regular expression '(': missing closing )",
            "bad pattern"
        );
    }

    #[test]
    fn checked_templates_refer_to_groups_the_pattern_has() {
        let ok = [
            ("number", r"(\d+)", "$1"),
            ("braced number", r"(\d+)", "${1}x"),
            ("name", r"(?P<ts>\d+)", "$ts"),
            ("whole match", r"\d+", "$0"),
            ("dollar", r"\d+", "$$1"),
            ("lone dollar", r"\d+", "a$"),
            ("no template", r"\d+", ""),
        ];
        for (name, pattern, template) in ok {
            assert!(Extract::checked(pattern, template).is_ok(), "{name}");
        }
        let refused = [
            (
                "regression: an unknown name was reported as 'N not versions'",
                r"^(\d+)\.(\d+)$",
                "$nope",
                "extract template '$nope' refers to group 'nope', which tag pattern '^(\\d+)\\.(\\d+)$' does not have \
                 (its groups: $1, $2)",
            ),
            (
                "number past the last group",
                r"^(?P<v>\d+)",
                "$2",
                "extract template '$2' refers to group '2', which tag pattern '^(?P<v>\\d+)' does not have (its \
                 groups: $1 ($v))",
            ),
            (
                "text after a number",
                r"^(\d+)",
                "$1x",
                "extract template '$1x' refers to group '1x', which tag pattern '^(\\d+)' does not have (its \
                 groups: $1); to follow group 1 with text, write '${1}x'",
            ),
            (
                "no groups",
                r"^v",
                "${1}",
                "extract template '${1}' refers to group '1', which tag pattern '^v' does not have (it has no \
                 groups)",
            ),
        ];
        for (name, pattern, template, want) in refused {
            assert_eq!(
                Extract::checked(pattern, template).unwrap_err().to_string(),
                want,
                "{name}"
            );
        }
    }

    /// Characters that steer the translator, for patterns dense in special cases.
    fn regex_syntax() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = r"\()[]{}*+?|^$.-:,<>=!PpQEdDwWsSbBxzAC0123aé٣^&~_ "
            .chars()
            .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..24)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn glob_syntax() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = r"\[]^!-*?/aé☺z".chars().collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..16)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn regex_never_panics(pattern in regex_syntax(), haystack in "\\PC{0,12}") {
            if let Ok(re) = GoRegex::new(&pattern) {
                let _ = re.is_match(&haystack);
            }
            if let Ok(extract) = Extract::new(&pattern, "$1${a}$$x$") {
                let _ = extract.apply(&haystack);
            }
        }

        #[test]
        fn regex_never_panics_on_any_text(pattern in "\\PC{0,24}", template in "\\PC{0,12}") {
            if let Ok(extract) = Extract::new(&pattern, &template) {
                let _ = extract.apply(&pattern);
            }
        }

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

        #[test]
        fn glob_never_panics(pattern in glob_syntax(), name in "[a/é☺!\\-\\]\\[*?z]{0,10}") {
            if let Ok(glob) = Glob::parse(&pattern) {
                let _ = glob.matches(&name);
            }
        }

        #[test]
        fn glob_never_panics_on_any_text(pattern in "\\PC{0,20}", name in "\\PC{0,20}") {
            if let Ok(glob) = Glob::parse(&pattern) {
                let _ = glob.matches(&name);
            }
            let _ = IgnoreTags::parse(&pattern);
            let _ = AllowTags::parse(&pattern);
        }

        #[test]
        fn escaped_glob_matches_itself(text in "\\PC{0,16}") {
            let escaped: String = text.chars().flat_map(|c| ['\\', c]).collect();
            prop_assert!(Glob::parse(&escaped).unwrap().matches(&text));
        }
    }
}
