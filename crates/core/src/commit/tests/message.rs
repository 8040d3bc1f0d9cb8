//! Commit messages: the template subset as Go reads it, the message's fixed parts, and the trailers read back.

use proptest::prelude::*;

use crate::commit::{
    Change, DEFAULT_TEMPLATE, MessageContext, MessageTemplate, Rejection, Trailer,
    UPSTREAM_DEFAULT_TEMPLATE, parse_trailers,
};
use crate::lock::LockKey;

fn key(text: &str) -> LockKey {
    LockKey::parse(text).unwrap()
}

fn changes() -> Vec<Change> {
    vec![
        Change {
            key: key("web=ghcr.io/org/web"),
            image: "ghcr.io/org/web".into(),
            alias: Some("web".into()),
            old: Some("1.2.3".into()),
            new: "1.2.4".into(),
            policy: "strategy semver, constraint '^1'".into(),
        },
        Change {
            key: key("docker.io/library/nginx"),
            image: "nginx".into(),
            alias: None,
            old: None,
            new: format!("1.27.1@sha256:{}", "a".repeat(64)),
            policy: "strategy semver".into(),
        },
    ]
}

fn rejections() -> Vec<Rejection> {
    vec![Rejection {
        key: key("web=ghcr.io/org/web"),
        image: "ghcr.io/org/web".into(),
        alias: Some("web".into()),
        tag: "1.2.5".into(),
        reverted_in: "0a1b2c3".into(),
    }]
}

fn context<'a>(changes: &'a [Change], rejections: &'a [Rejection]) -> MessageContext<'a> {
    MessageContext {
        app_name: "shop",
        app_namespace: Some("team"),
        branch: "main",
        file: "apps/shop/image-resolver.lock.yaml",
        changes,
        rejections,
    }
}

const NGINX_NEW: &str =
    "1.27.1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[test]
fn default_templates_render_a_subject_a_line_per_change_and_the_trailers() {
    let (changes, rejections) = (changes(), rejections());
    for (name, template, rejected, want) in [
        (
            "ours",
            DEFAULT_TEMPLATE,
            false,
            format!(
                "image-resolver: update shop\n\n\
                 web: 1.2.3 → 1.2.4 (strategy semver, constraint '^1')\n\
                 nginx: (none) → {NGINX_NEW} (strategy semver)\n\n\
                 Image-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n\
                 Image-Resolver-Update: docker.io/library/nginx - {NGINX_NEW}\n"
            ),
        ),
        (
            "upstream's",
            UPSTREAM_DEFAULT_TEMPLATE,
            false,
            format!(
                "build: automatic update of shop\n\n\
                 updates image ghcr.io/org/web tag '1.2.3' to '1.2.4'\n\
                 updates image nginx tag '(none)' to '{NGINX_NEW}'\n\n\
                 Image-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n\
                 Image-Resolver-Update: docker.io/library/nginx - {NGINX_NEW}\n"
            ),
        ),
        (
            "upstream's, with a rejection",
            UPSTREAM_DEFAULT_TEMPLATE,
            true,
            format!(
                "build: automatic update of shop\n\n\
                 updates image ghcr.io/org/web tag '1.2.3' to '1.2.4'\n\
                 updates image nginx tag '(none)' to '{NGINX_NEW}'\n\n\
                 Rejected web: 1.2.5, reverted in 0a1b2c3; it is not applied again.\n\n\
                 Image-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n\
                 Image-Resolver-Update: docker.io/library/nginx - {NGINX_NEW}\n\
                 Image-Resolver-Reject: web=ghcr.io/org/web 1.2.5\n"
            ),
        ),
    ] {
        let rejections: &[Rejection] = if rejected { &rejections } else { &[] };
        let template = MessageTemplate::parse(template).unwrap();
        assert_eq!(
            template.render(&context(&changes, rejections)),
            want,
            "{name}"
        );
    }
    assert_eq!(MessageTemplate::default().as_str(), DEFAULT_TEMPLATE);
}

#[test]
fn rejections_alone_still_make_a_message() {
    let rejections = rejections();
    for (template, want) in [
        (
            DEFAULT_TEMPLATE,
            "image-resolver: update shop\n\n\
             Rejected web: 1.2.5, reverted in 0a1b2c3; it is not applied again.\n\n\
             Image-Resolver-Reject: web=ghcr.io/org/web 1.2.5\n",
        ),
        (
            // Renders only white space: the default's subject stands in.
            "{{ range .AppChanges }}{{ .NewTag }}{{ end }}\n  \n",
            "image-resolver: update shop\n\n\
             Rejected web: 1.2.5, reverted in 0a1b2c3; it is not applied again.\n\n\
             Image-Resolver-Reject: web=ghcr.io/org/web 1.2.5\n",
        ),
        (
            "",
            "image-resolver: update shop\n\nRejected web: 1.2.5, reverted in 0a1b2c3; it is not applied again.\n\nImage-Resolver-Reject: web=ghcr.io/org/web 1.2.5\n",
        ),
    ] {
        let template = MessageTemplate::parse(template).unwrap();
        assert_eq!(
            template.render(&context(&[], &rejections)),
            want,
            "{template:?}"
        );
    }
}

#[test]
fn renders_fields_and_trims_as_go_does() {
    let changes = changes();
    for (template, want) in [
        ("plain", "plain"),
        (
            "{{.AppName}}/{{ .AppNamespace }} on {{.Branch}}: {{ .File }}",
            "shop/team on main: apps/shop/image-resolver.lock.yaml",
        ),
        (
            "{{range .AppChanges}}[{{.Image}}|{{.Alias}}|{{.OldTag}}|{{$.AppName}}]{{end}}",
            "[ghcr.io/org/web|web|1.2.3|shop][nginx|nginx|(none)|shop]",
        ),
        (
            "s{{ range .AppChanges }}{{ .Policy }};{{ end }}",
            "sstrategy semver, constraint '^1';strategy semver;",
        ),
        ("a \n\t {{- .AppName -}} \r\n b", "ashopb"),
        // A trim marker's white space may be a newline, on either side.
        ("a\n{{-\n.AppName\n-}}\nb", "ashopb"),
        // `{{-` without white space after it is no trim marker, nor `-}}` without white space before.
        ("x {{/* c */}} y", "x  y"),
        ("x {{- /* c */ -}} y", "xy"),
        ("x {{/* c */ -}}\n\n y", "x y"),
        ("x {{- /* multi\nline }} */}} y", "x y"),
        ("{{$.AppName}}", "shop"),
        (
            "t\n{{ range .AppChanges -}}\n- {{ .Alias }}\n{{ end -}}\nend",
            "t\n- web\n- nginx\nend",
        ),
        ("{{range .AppChanges}}{{end}}x", "x"),
        ("é {{.AppName}} ü", "é shop ü"),
    ] {
        let parsed =
            MessageTemplate::parse(template).unwrap_or_else(|e| panic!("{template:?}: {e}"));
        let message = parsed.render(&context(&changes, &[]));
        let rendered = message.split("\n\nImage-Resolver-Update").next().unwrap();
        assert_eq!(rendered, want, "{template:?}");
    }
    // No NUL reaches git.
    let mut with_nul = changes.clone();
    with_nul[0].policy = "a\0b".into();
    let message = MessageTemplate::default().render(&context(&with_nul, &[]));
    assert!(message.contains("(a\u{fffd}b)"), "{message}");
}

#[test]
fn refuses_what_go_would_refuse_or_what_it_does_not_support() {
    const SUPPORTED: &str = "supported: {{.AppName}}, {{.AppNamespace}}, {{.Branch}}, {{.File}} and \
                             {{range .AppChanges}}…{{end}} with {{.Image}}, {{.Alias}}, {{.OldTag}}, {{.NewTag}}, \
                             {{.Policy}} inside";
    let at = |line: u32, column: u32, problem: &str| {
        format!("commit message template, line {line}, column {column}: {problem}")
    };
    for (name, template, want) in [
        (
            "if",
            "{{ if .AppChanges }}x{{ end }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ if .AppChanges }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "with",
            "a\nb {{with .AppName}}{{.}}{{end}}",
            at(
                2,
                3,
                &format!("unsupported action '{{{{with .AppName}}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "pipeline",
            "{{ .AppName | printf \"%q\" }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ .AppName | printf \"%q\" }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "function",
            "{{ len .AppChanges }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ len .AppChanges }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "variable",
            "{{ range $c := .AppChanges }}{{ end }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ range $c := .AppChanges }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "unknown field",
            "é{{ .Foo }}",
            at(
                1,
                2,
                &format!("unsupported action '{{{{ .Foo }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "range over something else",
            "{{ range .Images }}{{ end }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ range .Images }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "dash without white space is no trim marker",
            "{{-.AppName}}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{-.AppName}}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "a comment with white space before it is no comment",
            "{{ /* c */ }}",
            at(
                1,
                1,
                &format!("unsupported action '{{{{ /* c */ }}}}'; {SUPPORTED}"),
            ),
        ),
        (
            "empty action",
            "{{}}",
            at(1, 1, &format!("unsupported action '{{{{}}}}'; {SUPPORTED}")),
        ),
        (
            "item field outside",
            "{{ .NewTag }}",
            at(
                1,
                1,
                "'{{ .NewTag }}' names a field of .AppChanges's items outside {{range .AppChanges}}…{{end}}",
            ),
        ),
        (
            "outer field inside",
            "{{ range .AppChanges }}\n  {{ .AppName }}{{ end }}",
            at(
                2,
                3,
                "'{{ .AppName }}' inside {{range .AppChanges}} names a field of the item; write {{$.AppName}} for \
                 the outer one",
            ),
        ),
        (
            "unclosed",
            "a {{ .AppName",
            at(1, 3, "'{{' is never closed by '}}'"),
        ),
        (
            "unclosed comment",
            "{{/* c }}",
            at(1, 1, "a comment '{{/*' is never closed by '*/}}'"),
        ),
        (
            "comment not at the close",
            "{{/* c */ .AppName}}",
            at(1, 1, "a comment must end right before '}}' or ' -}}'"),
        ),
        (
            "unclosed range",
            "x\n{{ range .AppChanges }}",
            at(2, 1, "{{range .AppChanges}} without {{end}}"),
        ),
        (
            "stray end",
            "{{ end }}",
            at(1, 1, "{{end}} without {{range .AppChanges}}"),
        ),
        (
            "nested range",
            "{{range .AppChanges}}{{range .AppChanges}}{{end}}{{end}}",
            at(1, 22, "{{range}} inside {{range}} is not supported"),
        ),
        (
            "NUL",
            "ab\ncd\0",
            at(
                2,
                3,
                "a NUL character, which git refuses in a commit message",
            ),
        ),
    ] {
        assert_eq!(
            MessageTemplate::parse(template)
                .map(|_| ())
                .unwrap_err()
                .to_string(),
            want,
            "{name}"
        );
    }
}

#[test]
fn trailers_are_read_from_the_last_paragraph_only() {
    let update = |k: &str, old: Option<&str>, new: &str| Trailer::Update {
        key: key(k),
        old: old.map(String::from),
        new: new.into(),
    };
    for (name, message, want) in [
        (
            "ours",
            "s\n\nbody\n\nImage-Resolver-Update: web=ghcr.io/org/web 1.2.3 1.2.4\n\
             Image-Resolver-Reject: web=ghcr.io/org/web 1.2.5\n",
            vec![
                update("web=ghcr.io/org/web", Some("1.2.3"), "1.2.4"),
                Trailer::Reject {
                    key: key("web=ghcr.io/org/web"),
                    tag: "1.2.5".into(),
                },
            ],
        ),
        (
            "keys in any case, CRLF, trailing blank lines, other trailers beside",
            "s\r\n\r\nimage-resolver-update:  docker.io/library/nginx  -  1.27\r\nSigned-off-by: x\r\n\r\n\n",
            vec![update("docker.io/library/nginx", None, "1.27")],
        ),
        (
            "an earlier paragraph is not the trailer block",
            "s\n\nImage-Resolver-Update: docker.io/library/nginx - 1.27\n\nReviewed.\n",
            vec![],
        ),
        (
            "the subject alone is never a trailer block",
            "Image-Resolver-Update: docker.io/library/nginx - 1.27\n",
            vec![],
        ),
        (
            "what does not parse is skipped",
            "s\n\nImage-Resolver-Update: nginx - 1.27\n\
             Image-Resolver-Update: docker.io/library/nginx 1.27\n\
             Image-Resolver-Update: docker.io/library/nginx - 1.27 extra\n\
             Image-Resolver-Update: docker.io/library/nginx -bad 1.27\n\
             Image-Resolver-Update: docker.io/library/nginx - 1.27@sha256:short\n\
             Image-Resolver-Reject: docker.io/library/nginx 1.27@sha256:aaaa\n\
             Image-Resolver-Reject docker.io/library/nginx 1.27\n\
             Image-Resolver-Reject: docker.io/library/nginx 1.28\n",
            vec![Trailer::Reject {
                key: key("docker.io/library/nginx"),
                tag: "1.28".into(),
            }],
        ),
        ("empty", "", vec![]),
        ("blank", " \n\n \n", vec![]),
    ] {
        assert_eq!(parse_trailers(message), want, "{name}");
    }
}

#[test]
fn values_no_trailer_can_carry_are_left_out() {
    let mut bad = changes();
    bad[0].new = "1.2 4".into();
    bad[1].old = Some(String::new());
    let message = MessageTemplate::default().render(&context(&bad, &[]));
    assert!(!message.contains("Image-Resolver-Update"), "{message}");
    assert!(parse_trailers(&message).is_empty());
}

fn arb_key() -> impl Strategy<Value = LockKey> {
    (
        proptest::option::of("[a-z][a-z0-9-]{0,6}[a-z0-9]"),
        prop_oneof![
            Just("docker.io/library/nginx".to_string()),
            "ghcr\\.io/[a-z0-9]{1,8}/[a-z0-9]{1,8}",
            "registry\\.example\\.org:5000/[a-z0-9]{1,8}",
        ],
    )
        .prop_map(|(alias, repository)| {
            let text = match alias {
                Some(alias) => format!("{alias}={repository}"),
                None => repository,
            };
            LockKey::parse(&text).unwrap()
        })
}

fn arb_tag() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}",
        proptest::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(tag, digest)| match digest {
            Some(hex) => format!("{tag}@sha256:{hex}"),
            None => tag,
        })
}

/// A template of any supported pieces, with any text between them.
fn arb_template() -> impl Strategy<Value = String> {
    let text = "(?s).{0,12}".prop_map(|t: String| t.replace(['{', '\0'], ""));
    let trim = |s: &'static str| prop_oneof![Just(""), Just(s)];
    let field = prop_oneof![
        Just(".AppName"),
        Just(".AppNamespace"),
        Just(".Branch"),
        Just(".File")
    ];
    let item = prop_oneof![
        Just(".Image"),
        Just(".Alias"),
        Just(".OldTag"),
        Just(".NewTag"),
        Just(".Policy"),
        Just("$.AppName")
    ];
    let piece = prop_oneof![
        text.clone(),
        (trim("- "), field, trim(" -")).prop_map(|(l, f, r)| format!("{{{{{l}{f}{r}}}}}")),
        (trim("- "), trim(" -")).prop_map(|(l, r)| format!("{{{{{l}/* c\n}} */{r}}}}}")),
        (
            trim("- "),
            proptest::collection::vec((text, item), 0..3),
            trim(" -")
        )
            .prop_map(|(l, body, r)| {
                let body: String = body
                    .into_iter()
                    .map(|(t, i)| format!("{t}{{{{ {i} }}}}"))
                    .collect();
                format!("{{{{{l}range .AppChanges{r}}}}}{body}{{{{end}}}}")
            }),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn trailers_round_trip_whatever_the_template(
        template in arb_template(),
        updates in proptest::collection::vec(
            (arb_key(), proptest::option::of(arb_tag()), arb_tag()), 0..4),
        rejected in proptest::collection::vec((arb_key(), "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"), 0..3),
    ) {
        let template = MessageTemplate::parse(&template).unwrap();
        let changes: Vec<Change> = updates
            .iter()
            .map(|(key, old, new)| Change {
                key: key.clone(),
                image: key.repository().to_string(),
                alias: key.alias().map(String::from),
                old: old.clone(),
                new: new.clone(),
                policy: "strategy semver".into(),
            })
            .collect();
        let rejections: Vec<Rejection> = rejected
            .iter()
            .map(|(key, tag)| Rejection {
                key: key.clone(),
                image: key.repository().to_string(),
                alias: None,
                tag: tag.clone(),
                reverted_in: "0a1b2c3".into(),
            })
            .collect();
        let message = template.render(&context(&changes, &rejections));
        prop_assert!(!message.contains('\0'));
        prop_assert!(!message.trim().is_empty());
        let want: Vec<Trailer> = updates
            .into_iter()
            .map(|(key, old, new)| Trailer::Update { key, old, new })
            .chain(rejected.into_iter().map(|(key, tag)| Trailer::Reject { key, tag: tag.to_string() }))
            .collect();
        prop_assert_eq!(parse_trailers(&message), want, "{}", message);
    }
}
