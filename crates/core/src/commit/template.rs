//! The part of Go's `text/template` that argocd-image-updater's templates use, read once for both kinds: commit
//! messages ([`super::MessageTemplate`]) and `git-branch` push branches ([`crate::writeback::BranchTemplate`]).
//!
//! Text; `{{.Field}}` and `{{$.Field}}` naming one of the template's fields; one level of
//! `{{range .List}}…{{end}}` with the list item's fields (`{{.Field}}`) and the outer ones (`{{$.Field}}`)
//! inside; `{{/* comments */}}`; and the trim markers, as Go's lexer reads them: `{{- ` (the `-` followed by an
//! ASCII space, tab, CR or LF) drops all such white space before the action, ` -}}` all after it, comments
//! included. A comment starts right after `{{` (or `{{- `) and ends right before `}}` (or ` -}}`), as in Go.
//! Anything else — conditions, `with`, pipelines, functions, variables, literals — is refused here, at parse
//! time, with the action as written and its line and column: a template never fails when it is rendered.

use thiserror::Error;

/// The fields and the list a template may name: one per template kind.
pub(crate) struct Vocabulary {
    /// `commit message template`, `branch template`: for messages.
    pub(crate) what: &'static str,
    /// The list `range` goes over, with its dot: `.AppChanges`.
    pub(crate) list: &'static str,
    /// The outer fields, without dot; [`Node::Field`] holds an index into it.
    pub(crate) fields: &'static [&'static str],
    /// The list item's fields, without dot; [`Node::ItemField`] holds an index into it.
    pub(crate) item_fields: &'static [&'static str],
}

/// A parsed template: what rendering does, in order. `ItemField` appears only inside `Range`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Text(String),
    Field(usize),
    ItemField(usize),
    Range(Vec<Node>),
}

/// A template action outside the supported subset, or a template that is not well formed: where, and what.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{what}, line {line}, column {column}: {problem}")]
pub struct TemplateError {
    /// `commit message template`, `branch template`.
    pub what: &'static str,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub problem: TemplateProblem,
}

/// What is wrong at a [`TemplateError`]'s position. `action` is the action as written, braces included.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TemplateProblem {
    #[error("unsupported action '{action}'; supported: {supported}")]
    Unsupported {
        action: String,
        /// The template kind's fields, in words.
        supported: String,
    },
    #[error(
        "'{action}' inside {{{{range {list}}}}} names a field of the item; write {{{{$.{field}}}}} for the outer one"
    )]
    OuterField {
        action: String,
        field: String,
        list: &'static str,
    },
    #[error("'{action}' names a field of {list}'s items outside {{{{range {list}}}}}…{{{{end}}}}")]
    ItemFieldOutside { action: String, list: &'static str },
    #[error("'{{{{' is never closed by '}}}}'")]
    Unclosed,
    #[error("a comment '{{{{/*' is never closed by '*/}}}}'")]
    UnclosedComment,
    #[error("a comment must end right before '}}}}' or ' -}}}}'")]
    CommentNotAtClose,
    #[error("{{{{range {list}}}}} without {{{{end}}}}")]
    UnclosedRange { list: &'static str },
    #[error("{{{{end}}}} without {{{{range {list}}}}}")]
    StrayEnd { list: &'static str },
    #[error("{{{{range}}}} inside {{{{range}}}} is not supported")]
    NestedRange,
    #[error("a NUL character, which git refuses in a commit message")]
    Nul,
}

/// Go's white space for `{{-` and `-}}`: space, tab, CR, LF.
pub(crate) fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Line and column (1-based, columns in characters) of byte `offset` of `text`.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Whether `s` starts with Go's right trim marker and the closing delimiter: ASCII white space, `-`, `}}`.
fn right_trim_then_close(s: &str) -> bool {
    s.starts_with(is_go_space) && s[1..].starts_with("-}}")
}

impl Vocabulary {
    fn error(&self, text: &str, offset: usize, problem: TemplateProblem) -> TemplateError {
        let (line, column) = position(text, offset);
        TemplateError {
            what: self.what,
            line,
            column,
            problem,
        }
    }

    /// `{{.A}}, {{.B}} and {{range .List}}…{{end}} with {{.C}}, {{.D}} inside`.
    pub(crate) fn supported(&self) -> String {
        let dotted = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("{{{{.{n}}}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{} and {{{{range {}}}}}…{{{{end}}}} with {} inside",
            dotted(self.fields),
            self.list,
            dotted(self.item_fields)
        )
    }

    /// Reads `text` into nodes, adjacent text merged.
    pub(crate) fn parse(&self, text: &str) -> Result<Vec<Node>, TemplateError> {
        let mut top: Vec<Node> = Vec::new();
        // The open range's body and the offset of its action.
        let mut range: Option<(Vec<Node>, usize)> = None;
        let mut pos = 0;
        let mut trim_next = false;
        loop {
            let rest = &text[pos..];
            let open = rest.find("{{");
            let mut literal = &rest[..open.unwrap_or(rest.len())];
            if trim_next {
                literal = literal.trim_start_matches(is_go_space);
            }
            let body = match &mut range {
                Some((body, _)) => body,
                None => &mut top,
            };
            let Some(open) = open else {
                push_text(body, literal);
                break;
            };
            let at = pos + open;
            let mut inner_start = at + 2;
            let after = &text[inner_start..];
            if after.starts_with('-') && after[1..].starts_with(is_go_space) {
                literal = literal.trim_end_matches(is_go_space);
                inner_start += 2;
            }
            push_text(body, literal);
            let after = &text[inner_start..];
            if let Some(comment) = after.strip_prefix("/*") {
                let close = comment
                    .find("*/")
                    .ok_or_else(|| self.error(text, at, TemplateProblem::UnclosedComment))?;
                let end = inner_start + 2 + close + 2;
                let tail = &text[end..];
                (pos, trim_next) = if tail.starts_with("}}") {
                    (end + 2, false)
                } else if right_trim_then_close(tail) {
                    (end + 4, true)
                } else {
                    return Err(self.error(text, at, TemplateProblem::CommentNotAtClose));
                };
                continue;
            }
            let close = after
                .find("}}")
                .ok_or_else(|| self.error(text, at, TemplateProblem::Unclosed))?;
            let mut inner = &after[..close];
            trim_next = inner.len() >= 2
                && inner.ends_with('-')
                && inner[..inner.len() - 1].ends_with(is_go_space);
            if trim_next {
                inner = &inner[..inner.len() - 1];
            }
            pos = inner_start + close + 2;
            let action = &text[at..pos];
            self.action(text, at, action, inner, &mut top, &mut range)?;
        }
        if let Some((_, at)) = range {
            return Err(self.error(text, at, TemplateProblem::UnclosedRange { list: self.list }));
        }
        Ok(top)
    }

    /// One action: `inner` is what is between the delimiters and trim markers; `action` the whole, as written.
    fn action(
        &self,
        text: &str,
        at: usize,
        action: &str,
        inner: &str,
        top: &mut Vec<Node>,
        range: &mut Option<(Vec<Node>, usize)>,
    ) -> Result<(), TemplateError> {
        let fail = |problem| Err(self.error(text, at, problem));
        let unsupported = || TemplateProblem::Unsupported {
            action: action.to_string(),
            supported: self.supported(),
        };
        let field = |name: &str| self.fields.iter().position(|f| *f == name);
        let item_field = |name: &str| self.item_fields.iter().position(|f| *f == name);
        let words: Vec<&str> = inner.split_whitespace().collect();
        match (words.as_slice(), range.is_some()) {
            (["range", list], false) if *list == self.list => *range = Some((Vec::new(), at)),
            (["range", ..], true) => return fail(TemplateProblem::NestedRange),
            (["end"], true) => {
                let (body, _) = range.take().unwrap_or_default();
                top.push(Node::Range(body));
            }
            (["end"], false) => return fail(TemplateProblem::StrayEnd { list: self.list }),
            ([word], inside) => {
                let node = if let Some(i) = word.strip_prefix("$.").and_then(field) {
                    Node::Field(i)
                } else {
                    let Some(name) = word.strip_prefix('.') else {
                        return fail(unsupported());
                    };
                    match (inside, field(name), item_field(name)) {
                        (false, Some(i), _) => Node::Field(i),
                        (true, _, Some(i)) => Node::ItemField(i),
                        (true, Some(_), None) => {
                            return fail(TemplateProblem::OuterField {
                                action: action.to_string(),
                                field: name.to_string(),
                                list: self.list,
                            });
                        }
                        (false, None, Some(_)) => {
                            return fail(TemplateProblem::ItemFieldOutside {
                                action: action.to_string(),
                                list: self.list,
                            });
                        }
                        _ => return fail(unsupported()),
                    }
                };
                match range {
                    Some((body, _)) => body.push(node),
                    None => top.push(node),
                }
            }
            _ => return fail(unsupported()),
        }
        Ok(())
    }
}

fn push_text(body: &mut Vec<Node>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Node::Text(last)) = body.last_mut() {
        last.push_str(text);
    } else {
        body.push(Node::Text(text.to_string()));
    }
}

/// Renders `nodes` into `out`: `field` writes an outer field, `item_field` one of an item of `items`, which
/// `range` goes over.
pub(crate) fn render<I>(
    nodes: &[Node],
    items: &[I],
    out: &mut String,
    field: &dyn Fn(usize, &mut String),
    item_field: &dyn Fn(&I, usize, &mut String),
) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Field(i) => field(*i, out),
            // Only inside a range, where `render_item` handles it.
            Node::ItemField(_) => {}
            Node::Range(body) => {
                for item in items {
                    for node in body {
                        match node {
                            Node::Text(text) => out.push_str(text),
                            Node::Field(i) => field(*i, out),
                            Node::ItemField(i) => item_field(item, *i, out),
                            Node::Range(_) => {}
                        }
                    }
                }
            }
        }
    }
}
