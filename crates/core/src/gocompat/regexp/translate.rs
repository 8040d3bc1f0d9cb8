//! The one-pass translator from a Go pattern to a `regex` pattern, following Go's `regexp/syntax` parser.

use super::syntax::{
    class_char, class_of, parse_counted, parse_escape, perl_class, posix_class, push_range,
    unicode_class,
};

/// Go's limit on any repetition count and on the product of nested counts.
const MAX_REPEAT: i64 = 1000;
/// Matches nothing, even case-insensitively: what a Go literal surrogate (`\x{D800}`) can match in UTF-8 text.
const NEVER: &str = r"[^\x00-\x{10FFFF}]";
const ANY_CHAR: &str = r"[\x00-\x{10FFFF}]";

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

/// A translated pattern: the `regex` syntax and the capture names by group index (index 0 is the whole match).
pub(super) struct Translation {
    pub(super) rust: String,
    pub(super) names: Vec<Option<String>>,
}

/// A one-pass translation of a Go pattern, following the structure of Go's `regexp/syntax` parser so that its
/// errors and its special cases come out the same.
pub(super) struct Translator<'p> {
    src: &'p str,
    pos: usize,
    out: String,
    frames: Vec<Frame>,
    names: Vec<Option<String>>,
    /// Where the previous item started, if it was a repetition operator (Go's `lastRepeat`).
    last_repeat: Option<usize>,
}

impl<'p> Translator<'p> {
    pub(super) fn new(src: &'p str) -> Self {
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

    pub(super) fn run(mut self) -> Result<Translation, String> {
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
