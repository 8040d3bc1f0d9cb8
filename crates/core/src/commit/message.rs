//! The committer's commit messages: a template argocd-image-updater users already write (its
//! `git.commit-message-template`), rendered with the changes, then a paragraph per rejected tag and the
//! machine-readable trailers by which the committer recognises its own commits in the history.
//!
//! # The template
//!
//! The part of Go's `text/template` upstream's template uses (read by `super::template`): text;
//! `{{ .AppName }}`, `{{ .AppNamespace }}` (empty when unknown), `{{ .Branch }}` (the branch pushed to),
//! `{{ .File }}` (the edited file, from the repository's root); `{{ range .AppChanges }}…{{ end }}` with, inside,
//! `{{ .Image }}` (the image as the image-list writes it), `{{ .Alias }}` (the image-list alias, or the image when
//! it has none), `{{ .OldTag }}` (the tag before, `tag@digest` when it had a digest; `(none)` for an image newly
//! recorded), `{{ .NewTag }}`, `{{ .Policy }}` (the policy, as `explain` shows it), and the outer fields as
//! `{{ $.AppName }}` etc.; `{{/* comments */}}`; `{{-` and `-}}`, which trim white space (newlines included) as Go
//! trims it. Anything else is refused when the template is parsed, naming the action and its line and column.
//! Upstream's default template reads here as there; three fields print more than upstream's: `.Image` keeps the
//! registry (upstream prints the repository path alone, `org/web`), `.OldTag`/`.NewTag` are `tag@digest` where
//! upstream prints the digest alone, and `.OldTag` is `(none)` where upstream has no tag. Upstream's `.Labels` (the
//! new image's labels, read with `index`) is not offered: a template using it is refused.
//!
//! # The message
//!
//! 1. the rendered template, with trailing white space removed (a template that renders only white space is
//!    replaced by the first line of [`DEFAULT_TEMPLATE`], so that git gets a subject);
//! 2. per rejected tag, whatever the template, a paragraph: `Rejected web: 1.4.3, reverted in 0a1b2c3; it is not
//!    applied again.` — so that a commit recording only rejections says so even with upstream's template;
//! 3. the trailers, the last paragraph, one line each, as `git interpret-trailers --parse` reads them:
//!    `Image-Resolver-Update: <lock key> <old or -> <new>` per change, `Image-Resolver-Reject: <lock key> <tag>`
//!    per rejection. [`parse_trailers`] reads them back.
//!
//! A message never holds a NUL (git refuses one): a template holding one is refused, and a NUL in a value is
//! written U+FFFD.

use std::fmt;

use super::template::{Node, TemplateError, TemplateProblem, Vocabulary, position, render};
use crate::image::is_valid_digest;
use crate::lock::LockKey;
use crate::tag::TagName;

/// This committer's default template: a subject naming the application, then a line per change.
pub const DEFAULT_TEMPLATE: &str = "image-resolver: update {{ .AppName }}

{{ range .AppChanges -}}
{{ .Alias }}: {{ .OldTag }} → {{ .NewTag }} ({{ .Policy }})
{{ end -}}
";

/// argocd-image-updater's default `git.commit-message-template`, which renders here as there.
pub const UPSTREAM_DEFAULT_TEMPLATE: &str = "build: automatic update of {{ .AppName }}

{{ range .AppChanges -}}
updates image {{ .Image }} tag '{{ .OldTag }}' to '{{ .NewTag }}'
{{ end -}}
";

/// The trailer key of one change.
pub const UPDATE_TRAILER: &str = "Image-Resolver-Update";

/// The trailer key of one rejected tag.
pub const REJECT_TRAILER: &str = "Image-Resolver-Reject";

/// What `{{ .OldTag }}` prints for an image the commit records for the first time.
pub const NO_OLD_TAG: &str = "(none)";

const VOCABULARY: Vocabulary = Vocabulary {
    what: "commit message template",
    list: ".AppChanges",
    fields: &["AppName", "AppNamespace", "Branch", "File"],
    item_fields: &["Image", "Alias", "OldTag", "NewTag", "Policy"],
};

/// One image the commit moves (or records for the first time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The lock file key, `[alias=]canonical-repository`: what the trailer names.
    pub key: LockKey,
    /// The image as written in the image-list: `ghcr.io/org/web`.
    pub image: String,
    pub alias: Option<String>,
    /// The tag before, `tag@digest` when it had one; `None`: newly recorded.
    pub old: Option<String>,
    /// The tag after, `tag@digest` when rendered with its digest.
    pub new: String,
    /// The policy it was resolved under, as `explain` shows it: `strategy semver, constraint '^1'`.
    pub policy: String,
}

/// A tag a human reverted, which the commit records as rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub key: LockKey,
    /// The image as written in the image-list.
    pub image: String,
    pub alias: Option<String>,
    pub tag: String,
    /// The commit that reverted it (a short id is enough).
    pub reverted_in: String,
}

/// What a message is rendered with.
#[derive(Clone, Copy, Debug)]
pub struct MessageContext<'a> {
    pub app_name: &'a str,
    /// The application's destination namespace; `{{ .AppNamespace }}` is empty without one.
    pub app_namespace: Option<&'a str>,
    /// The branch the commit is pushed to.
    pub branch: &'a str,
    /// The edited file, from the repository's root.
    pub file: &'a str,
    pub changes: &'a [Change],
    pub rejections: &'a [Rejection],
}

/// A parsed commit message template (`git.commitMessageTemplate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplate {
    text: String,
    nodes: Vec<Node>,
}

/// A trailer the committer wrote, read back from a commit message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trailer {
    /// `Image-Resolver-Update: <key> <old or -> <new>`.
    Update {
        key: LockKey,
        old: Option<String>,
        new: String,
    },
    /// `Image-Resolver-Reject: <key> <tag>`.
    Reject { key: LockKey, tag: String },
}

impl Default for MessageTemplate {
    /// [`DEFAULT_TEMPLATE`].
    fn default() -> MessageTemplate {
        MessageTemplate::parse(DEFAULT_TEMPLATE).unwrap_or_else(|e| unreachable!("{e}"))
    }
}

impl MessageTemplate {
    /// Parses a template: see the module documentation for what it may hold.
    ///
    /// ```
    /// use argocd_image_resolver_core::commit::{Change, MessageContext, MessageTemplate};
    /// use argocd_image_resolver_core::lock::LockKey;
    ///
    /// let template = MessageTemplate::parse(
    ///     "deploy {{ .AppName }}:{{ range .AppChanges }} {{ .Alias }} {{ .NewTag }}{{ end }}",
    /// )
    /// .unwrap();
    /// let changes = [Change {
    ///     key: LockKey::parse("web=ghcr.io/org/web").unwrap(),
    ///     image: "ghcr.io/org/web".into(),
    ///     alias: Some("web".into()),
    ///     old: Some("1.2.3".into()),
    ///     new: "1.2.4".into(),
    ///     policy: "strategy semver, constraint '^1'".into(),
    /// }];
    /// let context = MessageContext {
    ///     app_name: "shop",
    ///     app_namespace: None,
    ///     branch: "main",
    ///     file: "apps/shop/image-resolver.lock.yaml",
    ///     changes: &changes,
    ///     rejections: &[],
    /// };
    /// assert_eq!(
    ///     template.render(&context),
    ///     "deploy shop: web 1.2.4\n\nImage-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n",
    /// );
    /// assert_eq!(
    ///     MessageTemplate::parse("x\n  {{ if .AppChanges }}").unwrap_err().to_string(),
    ///     "commit message template, line 2, column 3: unsupported action '{{ if .AppChanges }}'; supported: \
    ///      {{.AppName}}, {{.AppNamespace}}, {{.Branch}}, {{.File}} and {{range .AppChanges}}…{{end}} with \
    ///      {{.Image}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}}, {{.Policy}} inside",
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// An action outside the subset, an unclosed `{{`, comment or `range`, a stray `{{ end }}`, a NUL.
    pub fn parse(text: &str) -> Result<MessageTemplate, TemplateError> {
        if let Some(offset) = text.find('\0') {
            let (line, column) = position(text, offset);
            return Err(TemplateError {
                what: VOCABULARY.what,
                line,
                column,
                problem: TemplateProblem::Nul,
            });
        }
        Ok(MessageTemplate {
            text: text.to_string(),
            nodes: VOCABULARY.parse(text)?,
        })
    }

    /// The whole commit message: the rendered template, the rejections, the trailers (see the module
    /// documentation). Ends with a newline; never empty, never holds a NUL.
    pub fn render(&self, context: &MessageContext<'_>) -> String {
        let mut body = String::new();
        self.render_template(context, &mut body);
        let mut message = without_blank_start(body.trim_end()).to_string();
        if message.is_empty() {
            MessageTemplate::default().render_subject(context, &mut message);
        }
        for rejection in context.rejections {
            message.push_str(&format!(
                "\n\nRejected {}: {}, reverted in {}; it is not applied again.",
                rejection.alias.as_deref().unwrap_or(&rejection.image),
                rejection.tag,
                rejection.reverted_in
            ));
        }
        let trailers: Vec<String> = context
            .changes
            .iter()
            .filter_map(update_trailer)
            .chain(context.rejections.iter().filter_map(reject_trailer))
            .collect();
        if !trailers.is_empty() {
            message.push_str("\n\n");
            message.push_str(&trailers.join("\n"));
        }
        message.push('\n');
        if message.contains('\0') {
            message = message.replace('\0', "\u{fffd}");
        }
        message
    }

    fn render_template(&self, context: &MessageContext<'_>, out: &mut String) {
        let field = |i: usize, out: &mut String| {
            out.push_str(match i {
                0 => context.app_name,
                1 => context.app_namespace.unwrap_or_default(),
                2 => context.branch,
                _ => context.file,
            });
        };
        let item = |change: &Change, i: usize, out: &mut String| {
            out.push_str(match i {
                0 => &change.image,
                1 => change.alias.as_deref().unwrap_or(&change.image),
                2 => change.old.as_deref().unwrap_or(NO_OLD_TAG),
                3 => &change.new,
                _ => &change.policy,
            });
        };
        render(&self.nodes, context.changes, out, &field, &item);
    }

    /// The first line of the rendered template.
    fn render_subject(&self, context: &MessageContext<'_>, out: &mut String) {
        let mut all = String::new();
        self.render_template(context, &mut all);
        out.push_str(all.lines().next().unwrap_or_default().trim_end());
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for MessageTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `text` from its first line that is not blank.
fn without_blank_start(text: &str) -> &str {
    let mut rest = text;
    while let Some((line, after)) = rest.split_once('\n') {
        if !line.trim().is_empty() {
            break;
        }
        rest = after;
    }
    if rest.trim().is_empty() { "" } else { rest }
}

/// Whether `text` is a tag, or `tag@digest`: one word a trailer can carry and be read back.
fn is_trailer_tag(text: &str, digest_allowed: bool) -> bool {
    let (tag, digest) = match text.split_once('@') {
        Some((tag, digest)) if digest_allowed => (tag, Some(digest)),
        Some(_) => return false,
        None => (text, None),
    };
    TagName::new(tag).is_ok() && digest.is_none_or(is_valid_digest)
}

/// Whether `key` reads back as itself (a key built from an invalid alias would not).
fn is_trailer_key(key: &LockKey) -> bool {
    LockKey::parse(&key.to_string()).is_ok_and(|read| read == *key)
}

/// The change's trailer; `None` for values no trailer can carry (white space, not a tag), which a valid change
/// never holds.
fn update_trailer(change: &Change) -> Option<String> {
    let old_ok = change
        .old
        .as_deref()
        .is_none_or(|old| is_trailer_tag(old, true));
    (is_trailer_key(&change.key) && old_ok && is_trailer_tag(&change.new, true)).then(|| {
        format!(
            "{UPDATE_TRAILER}: {} {} {}",
            change.key,
            change.old.as_deref().unwrap_or("-"),
            change.new
        )
    })
}

fn reject_trailer(rejection: &Rejection) -> Option<String> {
    (is_trailer_key(&rejection.key) && is_trailer_tag(&rejection.tag, false))
        .then(|| format!("{REJECT_TRAILER}: {} {}", rejection.key, rejection.tag))
}

/// The committer's trailers in a commit message, in order: only those of its last paragraph (git's trailer
/// block; a message of one paragraph has none), keys matched regardless of case as git matches them. A line that
/// is not one of the two trailers, or whose values do not parse, is skipped: a person may have written anything.
///
/// ```
/// use argocd_image_resolver_core::commit::{Trailer, parse_trailers};
///
/// let message = "image-resolver: update shop\n\nweb: 1.2.3 → 1.2.4\n\n\
///                Image-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n\
///                Signed-off-by: someone\n\
///                Image-Resolver-Reject: docker.io/library/nginx 1.27.1\n";
/// let trailers = parse_trailers(message);
/// assert_eq!(trailers.len(), 2);
/// assert!(matches!(&trailers[0], Trailer::Update { old: Some(old), new, .. } if old == "1.2.3" && new == "1.2.4"));
/// assert!(matches!(&trailers[1], Trailer::Reject { tag, .. } if tag == "1.27.1"));
/// ```
pub fn parse_trailers(message: &str) -> Vec<Trailer> {
    let lines: Vec<&str> = message.lines().collect();
    let Some(last) = lines.iter().rposition(|line| !line.trim().is_empty()) else {
        return Vec::new();
    };
    let Some(blank) = lines[..last]
        .iter()
        .rposition(|line| line.trim().is_empty())
    else {
        return Vec::new();
    };
    lines[blank + 1..=last]
        .iter()
        .filter_map(|line| parse_trailer(line))
        .collect()
}

fn parse_trailer(line: &str) -> Option<Trailer> {
    let (name, value) = line.split_once(':')?;
    let words: Vec<&str> = value.split_whitespace().collect();
    let name = name.trim_end();
    if name.eq_ignore_ascii_case(UPDATE_TRAILER) {
        let [key, old, new] = words.as_slice() else {
            return None;
        };
        let old = match *old {
            "-" => None,
            old if is_trailer_tag(old, true) => Some(old.to_string()),
            _ => return None,
        };
        is_trailer_tag(new, true).then_some(())?;
        Some(Trailer::Update {
            key: LockKey::parse(key).ok()?,
            old,
            new: (*new).to_string(),
        })
    } else if name.eq_ignore_ascii_case(REJECT_TRAILER) {
        let [key, tag] = words.as_slice() else {
            return None;
        };
        is_trailer_tag(tag, false).then_some(())?;
        Some(Trailer::Reject {
            key: LockKey::parse(key).ok()?,
            tag: (*tag).to_string(),
        })
    } else {
        None
    }
}
