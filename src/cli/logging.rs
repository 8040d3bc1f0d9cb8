//! Logging: `tracing` to stderr in the chosen level and format, and warnings condensed so that one kind repeated
//! thousands of times is logged a few times and counted.

use std::io::{self, IsTerminal};

use super::{GlobalArgs, LogFormat, message};

/// Sends `tracing` events to stderr at the requested level and format.
pub fn init_logging(global: &GlobalArgs) {
    let ansi = colour(io::stderr().is_terminal(), std::env::var_os("NO_COLOR"));
    let json = global.log_format == LogFormat::Json;
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::from(global.log_level))
        .with_writer(move || message::SafeStderr { json, ansi })
        .with_ansi(ansi)
        .with_target(false);
    // A second initialisation (tests calling this twice) is harmless, so its error is ignored.
    let _ = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Whether log lines get colour codes: only for a person at a terminal (Argo CD shows a failing command's stderr
/// in its UI), and not when `NO_COLOR` is set to anything but the empty string (no-color.org).
pub(super) fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// How many warnings of one kind are shown before the rest are only counted.
const REPEATED_WARNINGS: usize = 3;

/// `warnings` as the lines to log: each kind of warning (the same text once quoted values are left out) at most
/// [`REPEATED_WARNINGS`] times, then one line counting the rest, after the last one shown. A 10,000-entry
/// image-list must not print 10,000 lines into the sidecar's log.
pub fn condensed(warnings: impl IntoIterator<Item = impl ToString>) -> Vec<String> {
    /// The warning with each '…' quoted value replaced by an ellipsis.
    fn kind(warning: &str) -> String {
        let mut out = String::with_capacity(warning.len());
        let mut quoted = false;
        for c in warning.chars() {
            if c == '\'' {
                quoted = !quoted;
                out.push_str(if quoted { "'…" } else { "'" });
            } else if !quoted {
                out.push(c);
            }
        }
        out
    }
    let mut kinds: Vec<(String, usize, usize)> = Vec::new(); // kind, count, index of the last line shown
    let mut lines: Vec<String> = Vec::new();
    for warning in warnings {
        let warning = warning.to_string();
        let this = kind(&warning);
        match kinds.iter_mut().find(|(k, _, _)| *k == this) {
            Some((_, count, _)) if *count >= REPEATED_WARNINGS => *count += 1,
            Some((_, count, last)) => {
                *count += 1;
                lines.push(warning);
                *last = lines.len() - 1;
            }
            None => {
                lines.push(warning);
                kinds.push((this, 1, lines.len() - 1));
            }
        }
    }
    // Insert the counts from the end, so the recorded positions stay right.
    kinds.sort_by_key(|(_, _, last)| std::cmp::Reverse(*last));
    for (kind, count, last) in kinds {
        if count > REPEATED_WARNINGS {
            lines.insert(
                last + 1,
                format!("{} more warnings like: {kind}", count - REPEATED_WARNINGS),
            );
        }
    }
    lines
}

/// Logs `warnings`, each prefixed, [`condensed`].
pub fn warn_all(prefix: &str, warnings: impl IntoIterator<Item = impl ToString>) {
    for line in condensed(warnings) {
        tracing::warn!("{prefix}{line}");
    }
}
