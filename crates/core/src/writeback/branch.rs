//! Branch names for `git-branch`: git's rules for a branch name, and the template of the branch to push to
//! (`base:<template>`), which argocd-image-updater evaluates with Go's `text/template`.
//!
//! The template language here is the part of `text/template` its documentation offers for branch names: text,
//! `{{.SHA256}}`, `{{.AppName}}`, `{{.AppNamespace}}`, `{{.TargetKey}}`, and `{{range .Images}}…{{end}}` with
//! `{{.Name}}`, `{{.Alias}}`, `{{.OldTag}}`, `{{.NewTag}}` inside (and `{{$.SHA256}}` etc. for the outer
//! fields), plus `{{/* comments */}}` and the `{{-`/`-}}` white-space trimming. Anything else (conditions,
//! functions, pipelines, variables) is refused when the key is read, naming the action, rather than failing at
//! the first commit. Rendered names longer than 255 bytes are cut, as upstream cuts them, and must then be a valid
//! branch name.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::image::ImageRef;

/// The longest branch name a template renders to; longer ones are cut (upstream's limit).
pub const MAX_BRANCH_BYTES: usize = 255;

/// A parsed `git-branch` push template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(AppField),
    Images(Vec<ImagePart>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ImagePart {
    Text(String),
    Field(ImageField),
    App(AppField),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppField {
    Sha256,
    AppName,
    AppNamespace,
    TargetKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ImageField {
    Name,
    Alias,
    OldTag,
    NewTag,
}

/// What a branch name or template is refused for.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BranchProblem {
    #[error("'{name}' is not a valid branch name: {reason}")]
    Name { name: String, reason: &'static str },
    #[error(
        "unsupported template action '{action}' in branch template; supported: {{{{.SHA256}}}}, {{{{.AppName}}}}, \
         {{{{.AppNamespace}}}}, {{{{.TargetKey}}}} and {{{{range .Images}}}}…{{{{end}}}} with {{{{.Name}}}}, \
         {{{{.Alias}}}}, {{{{.OldTag}}}}, {{{{.NewTag}}}} inside"
    )]
    Unsupported { action: String },
    #[error(
        "'{action}' inside {{{{range .Images}}}} names an image's field; write {{{{$.{field}}}}} for the application's"
    )]
    OuterField { action: String, field: String },
    #[error("'{action}' names an image's field outside {{{{range .Images}}}}…{{{{end}}}}")]
    ImageFieldOutside { action: String },
    #[error("a '{{{{' in the branch template is never closed by '}}}}'")]
    Unclosed,
    #[error("{{{{range .Images}}}} without {{{{end}}}} in the branch template")]
    UnclosedRange,
    #[error("{{{{end}}}} without {{{{range .Images}}}} in the branch template")]
    StrayEnd,
    #[error("{{{{range}}}} inside {{{{range}}}} is not supported in the branch template")]
    NestedRange,
    #[error("the branch template renders '{rendered}', which is not a valid branch name: {reason}")]
    Rendered {
        rendered: String,
        reason: &'static str,
    },
}

/// One changed image, as a branch template sees it (argocd-image-updater's `.Images` entries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BranchChange {
    /// The repository path without registry (upstream's `ImageName`): `org/web`, `nginx`.
    pub name: String,
    pub alias: String,
    /// The tag before, or its digest when it had one (upstream's `ImageTag.String()`).
    pub old_tag: String,
    pub new_tag: String,
}

/// What a template is rendered with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchContext {
    pub app_name: String,
    pub app_namespace: String,
    /// [`target_key`] of the write-back target.
    pub target_key: String,
    pub changes: Vec<BranchChange>,
}

impl BranchChange {
    /// A change of `image` (the image-list entry's repository) from `old` to `new`, each a tag or, when the image
    /// carries one, a digest.
    pub fn new(image: &ImageRef, alias: Option<&str>, old: &str, new: &str) -> BranchChange {
        BranchChange {
            name: upstream_name(image),
            alias: alias.unwrap_or_default().to_string(),
            old_tag: old.to_string(),
            new_tag: new.to_string(),
        }
    }
}

/// The repository path as argocd-image-updater's `ImageName` holds it: without registry, and without Docker
/// Hub's implicit `library/`.
fn upstream_name(image: &ImageRef) -> String {
    let repository = image.repository();
    if image.registry() == "docker.io"
        && let Some(rest) = repository.strip_prefix("library/")
        && !rest.contains('/')
    {
        return rest.to_string();
    }
    repository.to_string()
}

/// The SHA-256 of a set of changes, lower-case hex, as upstream computes `.SHA256`: over
/// `<name>-<old>-<new>,` per change, in order.
pub fn changes_sha256(changes: &[BranchChange]) -> String {
    let mut hasher = Sha256::new();
    for change in changes {
        hasher.update(format!("{}-{}-{},", change.name, change.old_tag, change.new_tag).as_bytes());
    }
    hex(&hasher.finalize())
}

/// Upstream's `.TargetKey`: the first 8 hex digits of the SHA-256 of `<repository>|<branch>|<target path>`,
/// naming one write-back target whatever the changes.
pub fn target_key(repository: &str, branch: &str, target: &str) -> String {
    let digest = Sha256::digest(format!("{repository}|{branch}|{target}").as_bytes());
    hex(&digest)[..8].to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        out
    })
}

impl BranchTemplate {
    /// Parses a template (the part of `git-branch` after `:`).
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::{BranchChange, BranchContext, BranchTemplate};
    ///
    /// let template = BranchTemplate::parse("image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}").unwrap();
    /// let context = BranchContext {
    ///     changes: vec![BranchChange {
    ///         name: "foo/bar".into(), alias: "bar".into(), old_tag: "1.0".into(), new_tag: "1.1".into(),
    ///     }],
    ///     ..BranchContext::default()
    /// };
    /// assert_eq!(template.render(&context).unwrap(), "image-updater-foo/bar-1.1");
    /// assert!(BranchTemplate::parse("x-{{if .Images}}y{{end}}").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// An action outside the supported subset, an unclosed `{{` or `range`, or literal text no branch name may
    /// hold.
    pub fn parse(text: &str) -> Result<BranchTemplate, BranchProblem> {
        let mut parts: Vec<Part> = Vec::new();
        let mut range: Option<Vec<ImagePart>> = None;
        let mut rest = text;
        let mut trim_next = false;
        loop {
            let (literal, action) = match rest.find("{{") {
                Some(open) => (&rest[..open], Some(&rest[open + 2..])),
                None => (rest, None),
            };
            let mut literal = if trim_next {
                literal.trim_start_matches(is_go_space)
            } else {
                literal
            };
            let Some(after_open) = action else {
                push_text(&mut parts, &mut range, literal)?;
                break;
            };
            let trim_before = after_open.starts_with('-')
                && after_open[1..].starts_with(|c: char| is_go_space(c));
            if trim_before {
                literal = literal.trim_end_matches(is_go_space);
            }
            push_text(&mut parts, &mut range, literal)?;
            let close = after_open.find("}}").ok_or(BranchProblem::Unclosed)?;
            let mut inner = &after_open[..close];
            if trim_before {
                inner = &inner[1..];
            }
            trim_next = inner.ends_with('-')
                && inner[..inner.len() - 1].ends_with(|c: char| is_go_space(c));
            if trim_next {
                inner = &inner[..inner.len() - 1];
            }
            rest = &after_open[close + 2..];
            action_into(inner.trim_matches(is_go_space), &mut parts, &mut range)?;
        }
        if range.is_some() {
            return Err(BranchProblem::UnclosedRange);
        }
        Ok(BranchTemplate {
            text: text.to_string(),
            parts,
        })
    }

    /// The branch name for `context`, cut to [`MAX_BRANCH_BYTES`].
    ///
    /// # Errors
    ///
    /// What it renders to is no valid branch name (an image's fields can hold anything a tag can).
    pub fn render(&self, context: &BranchContext) -> Result<String, BranchProblem> {
        let app = |field: AppField| match field {
            AppField::Sha256 => changes_sha256(&context.changes),
            AppField::AppName => context.app_name.clone(),
            AppField::AppNamespace => context.app_namespace.clone(),
            AppField::TargetKey => context.target_key.clone(),
        };
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(&app(*field)),
                Part::Images(body) => {
                    for change in &context.changes {
                        for part in body {
                            match part {
                                ImagePart::Text(text) => out.push_str(text),
                                ImagePart::App(field) => out.push_str(&app(*field)),
                                ImagePart::Field(field) => out.push_str(match field {
                                    ImageField::Name => &change.name,
                                    ImageField::Alias => &change.alias,
                                    ImageField::OldTag => &change.old_tag,
                                    ImageField::NewTag => &change.new_tag,
                                }),
                            }
                        }
                    }
                }
            }
        }
        if out.len() > MAX_BRANCH_BYTES {
            let mut cut = MAX_BRANCH_BYTES;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
        check_branch_name(&out).map_err(|problem| match problem {
            BranchProblem::Name { name, reason } => BranchProblem::Rendered {
                rendered: name,
                reason,
            },
            other => other,
        })?;
        Ok(out)
    }

    /// Whether it has no actions: the same name whatever changed.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|part| matches!(part, Part::Text(_)))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for BranchTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Go's white space for `{{-` and `-}}`: space, tab, CR, LF.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn push_text(
    parts: &mut Vec<Part>,
    range: &mut Option<Vec<ImagePart>>,
    text: &str,
) -> Result<(), BranchProblem> {
    if text.is_empty() {
        return Ok(());
    }
    if let Some(reason) = text.chars().find_map(forbidden_char) {
        return Err(BranchProblem::Name {
            name: text.to_string(),
            reason,
        });
    }
    match range {
        Some(body) => body.push(ImagePart::Text(text.to_string())),
        None => parts.push(Part::Text(text.to_string())),
    }
    Ok(())
}

fn action_into(
    action: &str,
    parts: &mut Vec<Part>,
    range: &mut Option<Vec<ImagePart>>,
) -> Result<(), BranchProblem> {
    if action.starts_with("/*") && action.ends_with("*/") && action.len() >= 4 {
        return Ok(());
    }
    let unsupported = || BranchProblem::Unsupported {
        action: format!("{{{{{action}}}}}"),
    };
    let app_field = |name: &str| match name {
        "SHA256" => Some(AppField::Sha256),
        "AppName" => Some(AppField::AppName),
        "AppNamespace" => Some(AppField::AppNamespace),
        "TargetKey" => Some(AppField::TargetKey),
        _ => None,
    };
    let image_field = |name: &str| match name {
        "Name" => Some(ImageField::Name),
        "Alias" => Some(ImageField::Alias),
        "OldTag" => Some(ImageField::OldTag),
        "NewTag" => Some(ImageField::NewTag),
        _ => None,
    };
    let words: Vec<&str> = action.split_whitespace().collect();
    match (words.as_slice(), range.as_mut()) {
        (["range", ".Images"], None) => *range = Some(Vec::new()),
        (["range", ..], Some(_)) => return Err(BranchProblem::NestedRange),
        (["end"], Some(_)) => {
            let body = range.take().unwrap_or_default();
            parts.push(Part::Images(body));
        }
        (["end"], None) => return Err(BranchProblem::StrayEnd),
        ([word], body) => {
            if let Some(field) = word.strip_prefix("$.").and_then(app_field) {
                match body {
                    Some(body) => body.push(ImagePart::App(field)),
                    None => parts.push(Part::Field(field)),
                }
                return Ok(());
            }
            let name = word.strip_prefix('.').ok_or_else(unsupported)?;
            match (body, app_field(name), image_field(name)) {
                (None, Some(field), _) => parts.push(Part::Field(field)),
                (Some(body), _, Some(field)) => body.push(ImagePart::Field(field)),
                (Some(_), Some(_), None) => {
                    return Err(BranchProblem::OuterField {
                        action: format!("{{{{{action}}}}}"),
                        field: name.to_string(),
                    });
                }
                (None, None, Some(_)) => {
                    return Err(BranchProblem::ImageFieldOutside {
                        action: format!("{{{{{action}}}}}"),
                    });
                }
                _ => return Err(unsupported()),
            }
        }
        _ => return Err(unsupported()),
    }
    Ok(())
}

/// Why `c` may appear nowhere in a branch name (`git check-ref-format`), if it may not.
fn forbidden_char(c: char) -> Option<&'static str> {
    if c.is_ascii_control() {
        Some("it holds a control character")
    } else if c == ' ' {
        Some("it holds a space")
    } else if "~^:?*[\\".contains(c) {
        Some("it holds one of ~ ^ : ? * [ \\")
    } else {
        None
    }
}

/// Checks a branch name by git's rules (`git check-ref-format --branch`).
///
/// # Errors
///
/// The rule it breaks.
pub fn check_branch_name(name: &str) -> Result<(), BranchProblem> {
    let refuse = |reason| {
        Err(BranchProblem::Name {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if let Some(reason) = name.chars().find_map(forbidden_char) {
        return refuse(reason);
    }
    if name.starts_with('-') {
        return refuse("it starts with '-'");
    }
    if name == "@" || name.contains("@{") {
        return refuse("it is '@' or holds '@{'");
    }
    if name.contains("..") {
        return refuse("it holds '..'");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return refuse("it starts or ends with '/', or holds '//'");
    }
    if name.ends_with('.') {
        return refuse("it ends with '.'");
    }
    if name
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return refuse("a part of it starts with '.' or ends with '.lock'");
    }
    Ok(())
}
