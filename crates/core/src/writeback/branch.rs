//! Branch names for `git-branch`: git's rules for a branch name, and the template of the branch to push to
//! (`base:<template>`), which argocd-image-updater evaluates with Go's `text/template`.
//!
//! The template language here is the part of `text/template` its documentation offers for branch names: text,
//! `{{.SHA256}}`, `{{.AppName}}`, `{{.AppNamespace}}`, `{{.TargetKey}}`, and `{{range .Images}}…{{end}}` with
//! `{{.Name}}`, `{{.Alias}}`, `{{.OldTag}}`, `{{.NewTag}}` inside (and `{{$.SHA256}}` etc. for the outer
//! fields), plus `{{/* comments */}}` and the `{{-`/`-}}` white-space trimming. Anything else (conditions,
//! functions, pipelines, variables) is refused when the key is read, naming the action, rather than failing at
//! the first commit. Commit message templates share the reader (`crate::commit::template`), so both read Go's
//! trim markers and comments alike. Rendered names longer than 255 bytes are cut, as upstream cuts them, and must
//! then be a valid branch name.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::commit::template::{Node, TemplateError, TemplateProblem, Vocabulary, render};
use crate::image::ImageRef;

/// The longest branch name a template renders to; longer ones are cut (upstream's limit).
pub const MAX_BRANCH_BYTES: usize = 255;

/// A parsed `git-branch` push template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchTemplate {
    text: String,
    parts: Vec<Node>,
}

/// The fields a branch template names, in the order [`Node::Field`] and [`Node::ItemField`] count them.
const VOCABULARY: Vocabulary = Vocabulary {
    what: "branch template",
    list: ".Images",
    fields: &["SHA256", "AppName", "AppNamespace", "TargetKey"],
    item_fields: &["Name", "Alias", "OldTag", "NewTag"],
};

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
    /// A comment not written as Go reads one.
    #[error("{0}")]
    Syntax(TemplateError),
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
    /// A change of `image` (the image-list entry's repository) from `old` to `new`, each a tag or `tag@digest`;
    /// the latter is taken as its digest alone, as upstream shows an image that has one (and hashes it for
    /// `.SHA256`).
    pub fn new(image: &ImageRef, alias: Option<&str>, old: &str, new: &str) -> BranchChange {
        let shown = |tag: &str| {
            tag.split_once('@')
                .map_or(tag, |(_, digest)| digest)
                .to_string()
        };
        BranchChange {
            name: upstream_name(image),
            alias: alias.unwrap_or_default().to_string(),
            old_tag: shown(old),
            new_tag: shown(new),
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
        let parts = VOCABULARY
            .parse(text)
            .map_err(|e| match e.problem.clone() {
                TemplateProblem::Unsupported { action, .. } => {
                    BranchProblem::Unsupported { action }
                }
                TemplateProblem::OuterField { action, field, .. } => {
                    BranchProblem::OuterField { action, field }
                }
                TemplateProblem::ItemFieldOutside { action, .. } => {
                    BranchProblem::ImageFieldOutside { action }
                }
                TemplateProblem::Unclosed => BranchProblem::Unclosed,
                TemplateProblem::UnclosedRange { .. } => BranchProblem::UnclosedRange,
                TemplateProblem::StrayEnd { .. } => BranchProblem::StrayEnd,
                TemplateProblem::NestedRange => BranchProblem::NestedRange,
                TemplateProblem::UnclosedComment
                | TemplateProblem::CommentNotAtClose
                | TemplateProblem::Nul => BranchProblem::Syntax(e),
            })?;
        check_text(&parts)?;
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
        let app = |field: usize, out: &mut String| match field {
            0 => out.push_str(&changes_sha256(&context.changes)),
            1 => out.push_str(&context.app_name),
            2 => out.push_str(&context.app_namespace),
            _ => out.push_str(&context.target_key),
        };
        let image = |change: &BranchChange, field: usize, out: &mut String| {
            out.push_str(match field {
                0 => &change.name,
                1 => &change.alias,
                2 => &change.old_tag,
                _ => &change.new_tag,
            });
        };
        let mut out = String::new();
        render(&self.parts, &context.changes, &mut out, &app, &image);
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
        self.parts.iter().all(|part| matches!(part, Node::Text(_)))
    }

    /// Whether the name depends on the changes (`.SHA256`, `range .Images`): each proposal gets a branch of its
    /// own, which cannot be named without its changes.
    pub fn names_changes(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Node::Field(0) | Node::ItemField(_) | Node::Range(_)))
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

/// Refuses literal text no branch name may hold, wherever the template has it.
fn check_text(parts: &[Node]) -> Result<(), BranchProblem> {
    for part in parts {
        match part {
            Node::Text(text) => {
                if let Some(reason) = text.chars().find_map(forbidden_char) {
                    return Err(BranchProblem::Name {
                        name: text.clone(),
                        reason,
                    });
                }
            }
            Node::Range(body) => check_text(body)?,
            Node::Field(_) | Node::ItemField(_) => {}
        }
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
