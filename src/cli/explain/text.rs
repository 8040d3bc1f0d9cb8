//! `explain`'s text output: a numbered block per image, then warnings and a summary line.

use std::fmt::Write as _;

use super::{Report, Status, TrackedReport};
use crate::lock::FILE_NAME;
use crate::pipeline::trace::{LockTrace, PinEvidence, PinTrace, RequestTrace};

/// How many tags of one list the text output shows before "… and N more".
const TEXT_LIST_LIMIT: usize = 10;

/// The human report: a numbered block per image, then warnings and a summary line.
pub(super) fn text(report: &Report) -> String {
    let mut out = String::new();
    let mut first_of_request: Vec<(usize, usize)> = Vec::new();
    for (n, image) in report.images.iter().enumerate() {
        let number = n + 1;
        let _ = write!(out, "[{number}] {} · {}", image.object.text, image.path);
        let _ = match (&image.file, image.file_line) {
            (Some(file), Some(line)) => write!(out, " ({file} line {line})"),
            (Some(file), None) => write!(out, " ({file}; line {} of the output)", image.line),
            (None, _) => write!(out, " (line {})", image.line),
        };
        if let Some(container) = &image.container {
            let _ = write!(out, " · container {container}");
        }
        out.push('\n');
        let Some(tracked) = &image.tracked else {
            let text = match (&image.lock_entry, &image.new_image) {
                (Some(entry), Some(new)) => format!(
                    "{} → {new} (from {FILE_NAME} entry '{entry}', no registry asked: no image-list the plugin \
                     reads tracks it)",
                    image.image
                ),
                _ => format!("{} (not tracked: no image-list entry matches)", image.image),
            };
            row(&mut out, "image", &text);
            out.push('\n');
            continue;
        };
        let target = match (&image.new_image, image.status) {
            (Some(new), Status::LastKnownGood) => {
                let when = tracked
                    .resolution
                    .as_ref()
                    .and_then(|r| r.fallback.as_ref())
                    .map(|f| f.resolved_at.as_str())
                    .unwrap_or_default();
                format!("{new} (last known good, resolved {when})")
            }
            (Some(new), Status::Pin) => format!("{new} (pinned)"),
            (Some(new), Status::Hold) => {
                format!("{new} (held: left as rendered, no registry asked)")
            }
            (Some(new), Status::Lock) => format!("{new} (from {FILE_NAME}, no registry asked)"),
            (Some(new), Status::Source) => format!(
                "{new} (as written in the source, no registry asked: the committer writes tags to {})",
                report.write_back.target_text()
            ),
            (Some(new), _) => format!("{new} (resolved from the registry)"),
            (None, _) if tracked.policy.pin.is_some() => {
                "not rendered: the registry does not have the pinned tag".to_string()
            }
            (None, _) => {
                "not resolved: no tag was resolved before, so there is nothing to fall back to"
                    .to_string()
            }
        };
        row(&mut out, "image", &format!("{} → {target}", image.image));
        policy_rows(&mut out, tracked);
        if let Some(lock) = &tracked.lock {
            row(&mut out, "lock", &lock_text(lock));
        }
        if let (Some(resolution), Some(request)) = (&tracked.resolution, tracked.request) {
            match first_of_request.iter().find(|(r, _)| *r == request) {
                Some((_, first)) => row(
                    &mut out,
                    "registry",
                    &format!("the same request as [{first}]: resolved once"),
                ),
                None => {
                    first_of_request.push((request, number));
                    resolution_rows(&mut out, resolution);
                }
            }
        }
        out.push('\n');
    }
    report.write_back.rows(&mut out);
    if !report.warnings.is_empty() {
        out.push_str("warnings\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
        out.push('\n');
    }
    out.push_str(&summary(report));
    out
}

/// `  label      value`, the label column as wide as the longest label (`candidates`).
pub(super) fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "  {label:<10} {value}");
}

fn policy_rows(out: &mut String, tracked: &TrackedReport) {
    row(out, "policy", &tracked.policy.summary);
    let key_width = tracked
        .origins
        .iter()
        .map(|o| o.key.len())
        .max()
        .unwrap_or(0);
    // Long values (a whole image list) would push every origin far right; align on the common short ones.
    let value_width = tracked
        .origins
        .iter()
        .map(|o| o.value.as_deref().map_or(1, str::len))
        .filter(|&w| w <= 40)
        .max()
        .unwrap_or(0);
    for origin in &tracked.origins {
        let value = origin.value.as_deref().unwrap_or("?");
        row(
            out,
            "",
            &format!(
                "{:<key_width$} = {value:<value_width$}   ({})",
                origin.key, origin.text
            ),
        );
    }
}

fn resolution_rows(out: &mut String, resolution: &RequestTrace) {
    let r = &resolution.registry;
    let mut registry = r.registry.clone();
    if let Some(url) = &r.api_url {
        let _ = write!(registry, " → {url}");
    }
    let mut notes = Vec::new();
    if let Some(entry) = r.entry.as_ref().filter(|e| **e != r.registry) {
        notes.push(format!("registries.conf entry '{entry}'"));
    }
    notes.push(match &r.credential {
        Some(source) => format!("credential {source}"),
        None => "anonymous".to_string(),
    });
    let plural = if r.requests == 1 { "" } else { "s" };
    let _ = write!(
        registry,
        " ({}), {} request{plural}",
        notes.join(", "),
        r.requests
    );
    row(out, "registry", &registry);
    if let Some(pin) = &resolution.pin {
        row(out, "pin", &pin_text(pin));
        return;
    }
    if let Some(error) = &resolution.error {
        row(out, "error", &error.to_string());
    }
    let Some(tags) = &resolution.tags else {
        return;
    };
    let mut line = format!("{} listed", tags.listed);
    if tags.pages > 1 {
        let _ = write!(line, " in {} pages", tags.pages);
    }
    if tags.invalid > 0 {
        let _ = write!(line, " ({} invalid names skipped)", tags.invalid);
    }
    let _ = write!(line, ", {} candidates", tags.candidates.len());
    match &tags.winner {
        Some(w) => {
            let _ = write!(line, ": winner {} ({})", w.tag, w.reason);
        }
        None => line.push_str(": no winner"),
    }
    row(out, "tags", &line);
    if !tags.candidates.is_empty() {
        row(out, "candidates", &truncated(&tags.candidates));
    }
    let steps: Vec<_> = tags
        .dropped
        .steps()
        .into_iter()
        .filter(|(_, tags)| !tags.is_empty())
        .collect();
    let width = steps
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (n, (label, dropped)) in steps.iter().enumerate() {
        let heading = if n == 0 { "dropped" } else { "" };
        row(
            out,
            heading,
            &format!("{label:<width$}  {}", truncated(dropped)),
        );
    }
}

/// An image's lock file entry: `entry 'web=…': tag 1.4.2, digest sha256:…, resolved under …; rejected 1.4.3`.
fn lock_text(lock: &LockTrace) -> String {
    let mut text = format!("entry '{}': tag {}", lock.entry, lock.tag);
    if let Some(digest) = &lock.digest {
        let _ = write!(text, ", digest {digest}");
    }
    match (&lock.policy, lock.policy_changed) {
        (Some(policy), true) => {
            let _ = write!(
                text,
                ", resolved under another policy ({policy}) than the image's now"
            );
        }
        (Some(_), false) => text.push_str(", resolved under this policy"),
        (None, _) => {}
    }
    if let Some(pin) = &lock.pin {
        let _ = write!(text, "; pinned to {pin}");
    }
    if lock.hold {
        text.push_str("; held: the committer leaves it");
    }
    if !lock.rejected.is_empty() {
        let _ = write!(text, "; rejected {}", truncated(&lock.rejected));
    }
    if !lock.decided {
        text.push_str(" (not used: the Application pins the image)");
    }
    text
}

/// What the check of a pinned tag found: `1.2.0 verified: …`, `1.2.9 not found; nearest existing tags: …`.
fn pin_text(pin: &PinTrace) -> String {
    match pin {
        PinTrace::Verified {
            tag,
            by: PinEvidence::CachedTagList,
            ..
        } => format!("{tag} verified: the cached tag list holds it"),
        PinTrace::Verified {
            tag,
            by: PinEvidence::Head,
            digest,
        } => match digest {
            Some(digest) => format!("{tag} verified: the registry has it, as {digest}"),
            None => format!("{tag} verified: the registry has it"),
        },
        PinTrace::NotFound {
            tag,
            nearest,
            unlisted,
        } => {
            let mut text = format!("{tag} not found: the registry does not have it");
            let _ = match (nearest.is_empty(), unlisted) {
                (false, _) => write!(text, "; nearest existing tags: {}", truncated(nearest)),
                (true, Some(reason)) => write!(text, "; its tags could not be listed: {reason}"),
                (true, None) => write!(text, "; the repository has no tags"),
            };
            text
        }
        PinTrace::NotVerified { tag, reason } => {
            format!("{tag} not verified, rendered as pinned: {reason}")
        }
    }
}

/// The first [`TEXT_LIST_LIMIT`] names joined with ` · `, then "… and N more".
pub(super) fn truncated(names: &[String]) -> String {
    let shown = names.len().min(TEXT_LIST_LIMIT);
    let mut text = names[..shown].join(" · ");
    if names.len() > shown {
        let _ = write!(text, " … and {} more", names.len() - shown);
    }
    text
}

/// `summary    4 images: 1 resolved from the registry, 1 pinned, 2 not tracked`.
fn summary(report: &Report) -> String {
    let count = |status| report.images.iter().filter(|i| i.status == status).count();
    let parts: Vec<String> = [
        (Status::Registry, "resolved from the registry"),
        (Status::LastKnownGood, "last known good"),
        (Status::Lock, "from the lock file"),
        (Status::Source, "as written in the source"),
        (Status::Pin, "pinned"),
        (Status::Hold, "held"),
        (Status::Failed, "failed"),
        (Status::NotTracked, "not tracked"),
    ]
    .into_iter()
    .map(|(status, label)| (count(status), label))
    .filter(|(n, _)| *n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    let images = report.images.len();
    let plural = if images == 1 { "" } else { "s" };
    if parts.is_empty() {
        return format!("summary    no images found in {}\n", report.app_dir);
    }
    format!(
        "summary    {images} image{plural} in {}: {}\n",
        report.app_dir,
        parts.join(", ")
    )
}
