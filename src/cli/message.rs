//! What a person reads when a command fails: one paragraph on stderr, prefixed with the program's name, with the
//! characters that could hide or disguise text escaped, and clap's usage errors rewritten in that form, naming the
//! environment variable a bad value came from.
//!
//! Argo CD shows a failing plugin's stderr in the Application's conditions, and much of what errors quote (image
//! references, annotation values, file contents) is written by whoever edits the Application: a NUL, an escape
//! sequence or a U+202E there must show as what it is.

use std::ffi::OsString;
use std::io;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::escape::{escape, escape_except, is_unsafe, push_escaped};

/// What every diagnostic line starts with.
pub const PREFIX: &str = "argocd-image-resolver: ";

/// `message` as the one paragraph printed for a failure: prefixed, unsafe characters escaped except line breaks,
/// no blank line inside (a tool's stderr quoted in it may have some), ending with a newline.
pub fn paragraph(message: &str) -> String {
    let lines: Vec<String> = message
        .lines()
        .map(|line| escape_except(line, |c| c == '\n').trim_end().to_string())
        .filter(|line| !line.is_empty())
        .collect();
    let body = lines.join("\n");
    let body = body.strip_prefix(PREFIX).unwrap_or(&body);
    format!("{PREFIX}{body}\n")
}

/// The options whose values can come from the environment, by long flag: `(--flag, variable)`, as `command` reads
/// them (Argo CD's `ARGOCD_ENV_` spelling where the Application set one).
fn env_of(command: &clap::Command, long: &str) -> Option<String> {
    let own = command.get_arguments().find_map(|arg| {
        (arg.get_long() == Some(long))
            .then(|| arg.get_env()?.to_str().map(String::from))
            .flatten()
    });
    own.or_else(|| command.get_subcommands().find_map(|sub| env_of(sub, long)))
}

/// Whether `long` was written on the command line `args` (as `--flag`, `--flag=…`, before any `--`).
fn given(args: &[OsString], long: &str) -> bool {
    let flag = format!("--{long}");
    args.iter()
        .skip(1)
        .map(|a| a.to_string_lossy())
        .take_while(|a| a != "--")
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

/// How a message names the option clap calls `shown` (`--budget <BUDGET>`, `<IMAGE>`): `--budget`, or
/// `ARGOCD_ENV_IMAGE_RESOLVER_BUDGET (--budget)` when its value came from that variable.
fn option_name(shown: &str, command: &clap::Command, args: &[OsString]) -> String {
    let first = shown.split_whitespace().next().unwrap_or(shown);
    let Some(long) = first.strip_prefix("--") else {
        return escape(shown);
    };
    match env_of(command, long) {
        Some(var) if !given(args, long) && std::env::var_os(&var).is_some() => {
            format!("{var} (--{long})")
        }
        _ => format!("--{long}"),
    }
}

fn string(error: &clap::Error, kind: ContextKind) -> Option<String> {
    match error.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => Some(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(error: &clap::Error, kind: ContextKind) -> Vec<String> {
    match error.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The first paragraph of clap's own rendering of `error`, on one line, without its `error: `.
fn clap_text(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or_default();
    let text = first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    text.strip_prefix("error: ").unwrap_or(&text).to_string()
}

/// clap's `error` (for the command line `args`, parsed with `command`) as one short sentence: what is wrong, the
/// option at fault named as the user gave it (flag or environment variable), and the fix where clap knows it.
/// Not for `--help` and `--version`, which are not errors.
pub fn usage(error: &clap::Error, command: &clap::Command, args: &[OsString]) -> String {
    let arg = string(error, ContextKind::InvalidArg)
        .map(|shown| option_name(&shown, command, args))
        .unwrap_or_else(|| "an option".to_string());
    let value = string(error, ContextKind::InvalidValue).map(|v| escape(&v));
    let suggested = |kind| {
        string(error, kind)
            .map(|s| format!(" (did you mean '{}'?)", escape(&s)))
            .unwrap_or_default()
    };
    let help = "; see --help";
    match error.kind() {
        ErrorKind::ValueValidation => {
            let reason = std::error::Error::source(error)
                .map(|e| format!(": {}", escape(&e.to_string())))
                .unwrap_or_default();
            format!(
                "invalid value '{}' for {arg}{reason}",
                value.unwrap_or_default()
            )
        }
        ErrorKind::InvalidValue => {
            let valid = strings(error, ContextKind::ValidValue);
            let value = value.unwrap_or_default();
            let what = if value.is_empty() {
                format!("{arg} needs a value")
            } else {
                format!("invalid value '{value}' for {arg}")
            };
            if valid.is_empty() {
                format!("{what}{help}")
            } else {
                let valid: Vec<String> = valid.iter().map(|v| format!("'{v}'")).collect();
                format!(
                    "{what}: use {}{}",
                    either(&valid),
                    suggested(ContextKind::SuggestedValue)
                )
            }
        }
        ErrorKind::UnknownArgument => {
            // clap's tips, such as "to pass '-x' as a value, use '-- -x'".
            let tips: String = match error.get(ContextKind::Suggested) {
                Some(ContextValue::StyledStrs(tips)) => tips
                    .iter()
                    .map(|tip| format!("; {}", escape(&tip.to_string())))
                    .collect(),
                _ => String::new(),
            };
            format!(
                "unexpected argument '{arg}'{}{tips}{help}",
                suggested(ContextKind::SuggestedArg)
            )
        }
        ErrorKind::InvalidSubcommand => {
            let given = string(error, ContextKind::InvalidSubcommand)
                .map(|s| escape(&s))
                .unwrap_or_default();
            format!(
                "unknown command '{given}'{}; the commands are {}",
                suggested(ContextKind::SuggestedSubcommand),
                either(&commands(command))
            )
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            format!("a command is needed: {}{help}", either(&commands(command)))
        }
        ErrorKind::MissingRequiredArgument => {
            // Not clap's usage line: it lists options with defaults from the environment as if required.
            let missing: Vec<String> = strings(error, ContextKind::InvalidArg)
                .iter()
                .map(|shown| option_name(shown, command, args))
                .collect();
            format!("missing {}{help}", either(&missing))
        }
        ErrorKind::ArgumentConflict => {
            let prior: Vec<String> = strings(error, ContextKind::PriorArg)
                .iter()
                .map(|shown| option_name(shown, command, args))
                .collect();
            if prior.is_empty() || prior == [arg.clone()] {
                format!("{arg} is given more than once")
            } else {
                format!("{arg} cannot be used with {}", either(&prior))
            }
        }
        ErrorKind::TooManyValues => format!(
            "unexpected value '{}' for {arg}{help}",
            value.unwrap_or_default()
        ),
        ErrorKind::InvalidUtf8 => {
            format!(
                "{} is not UTF-8 text",
                non_utf8(command, args).unwrap_or(arg)
            )
        }
        _ => escape(&clap_text(error)),
    }
}

/// The subcommands of `command`, for messages.
fn commands(command: &clap::Command) -> Vec<String> {
    command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The first option value that is not UTF-8: an argument, else the environment variable of an option.
fn non_utf8(command: &clap::Command, args: &[OsString]) -> Option<String> {
    if let Some(arg) = args.iter().skip(1).find(|a| a.to_str().is_none()) {
        return Some(format!("the argument '{}'", escape(&arg.to_string_lossy())));
    }
    fn vars(command: &clap::Command, out: &mut Vec<String>) {
        out.extend(
            command
                .get_arguments()
                .filter_map(|a| a.get_env()?.to_str().map(String::from)),
        );
        for sub in command.get_subcommands() {
            vars(sub, out);
        }
    }
    let mut all = Vec::new();
    vars(command, &mut all);
    all.into_iter()
        .find(|var| std::env::var_os(var).is_some_and(|v| v.to_str().is_none()))
}

/// Writes `tracing`'s lines to stderr with [`is_unsafe`] characters escaped (all but each line's final newline,
/// and the colour codes of a terminal). In JSON lines they are written as JSON's `\uXXXX` escapes, so each line
/// stays valid JSON.
pub struct SafeStderr {
    pub json: bool,
    pub ansi: bool,
}

impl io::Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let mut out = String::with_capacity(buf.len());
        for c in body.chars() {
            if !is_unsafe(c) || (self.ansi && c == '\u{1b}') {
                out.push(c);
            } else if self.json {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            } else {
                push_escaped(&mut out, c);
            }
        }
        out.push_str(end);
        io::stderr().lock().write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_hide_text() {
        for (name, input, want) in [
            ("plain", "nginx:1.27", "nginx:1.27"),
            ("NUL", "a\0b", r"a\0b"),
            ("SOH", "a\u{1}b", r"a\u{1}b"),
            ("escape sequence", "\u{1b}[31mred", r"\u{1b}[31mred"),
            ("newline", "a\nb", r"a\nb"),
            ("tab and CR", "a\tb\r", r"a\tb\r"),
            ("DEL and C1", "\u{7f}\u{85}", r"\u{7f}\u{85}"),
            (
                "right-to-left override",
                "abc\u{202e}fed",
                r"abc\u{202e}fed",
            ),
            ("isolate", "\u{2066}x\u{2069}", r"\u{2066}x\u{2069}"),
            ("zero width space", "a\u{200b}b", r"a\u{200b}b"),
            ("BOM", "\u{feff}x", r"\u{feff}x"),
            ("line separator", "a\u{2028}b", r"a\u{2028}b"),
            ("tag character", "a\u{e0041}", r"a\u{e0041}"),
            ("letters of any script stay", "é日本ß", "é日本ß"),
            ("backslashes stay", r"a\b", r"a\b"),
        ] {
            assert_eq!(escape(input), want, "{name}");
        }
    }

    #[test]
    fn paragraphs() {
        for (name, input, want) in [
            ("plain", "no tag", "argocd-image-resolver: no tag\n"),
            (
                "already prefixed",
                "argocd-image-resolver: no tag",
                "argocd-image-resolver: no tag\n",
            ),
            (
                "a tool's stderr with blank lines",
                "helm failed:\n\nError: bad\n  \n",
                "argocd-image-resolver: helm failed:\nError: bad\n",
            ),
            (
                "control characters in a line",
                "image 'a\u{202e}b\u{1}' is bad",
                "argocd-image-resolver: image 'a\\u{202e}b\\u{1}' is bad\n",
            ),
            (
                "a lone CR is not a line break",
                "a\rb",
                "argocd-image-resolver: a\\rb\n",
            ),
        ] {
            assert_eq!(paragraph(input), want, "{name}");
        }
    }
}
