//! Property tests: splicing changes only the edited bytes, and a re-scan finds the new values where they were put.

use proptest::prelude::*;

use super::*;

/// How a generated image is written.
#[derive(Clone, Copy, Debug)]
enum Style {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    Block,
    BlockSameIndent,
    Flow,
    Json,
}

fn plain_value() -> impl Strategy<Value = String> {
    "[a-z]{1,8}(/[a-z0-9]{1,5})?:[a-z0-9.]{0,5}[a-z0-9]"
}

/// Any text, weighted towards what breaks YAML: quotes, escapes, comment and flow indicators, line breaks,
/// multi-byte and unprintable characters.
fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        plain_value(),
        proptest::collection::vec(
            prop_oneof![
                Just("a".to_owned()),
                Just(":".to_owned()),
                Just(" ".to_owned()),
                Just(" #".to_owned()),
                Just("'".to_owned()),
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just(",".to_owned()),
                Just("{".to_owned()),
                Just("]".to_owned()),
                Just("\n".to_owned()),
                Just("\t".to_owned()),
                Just("é".to_owned()),
                Just("😀".to_owned()),
                Just("漢".to_owned()),
                Just("\u{1}".to_owned()),
                Just("\u{2028}".to_owned()),
                Just("- ".to_owned()),
                Just("1".to_owned()),
            ],
            1..8
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// A value and the style it is written in (plain only for values that are plain-safe by construction).
fn written_value() -> impl Strategy<Value = (String, Style)> {
    prop_oneof![
        plain_value().prop_map(|v| (v, Style::Plain)),
        any_value().prop_map(|v| (v, Style::Double)),
        any_value()
            .prop_filter(
                "single-quoted values have no line break or control character",
                |v| { !v.contains(['\n', '\u{1}', '\u{2028}']) }
            )
            .prop_map(|v| (v, Style::Single)),
    ]
}

fn write(value: &str, style: Style) -> String {
    match style {
        Style::Plain => value.to_owned(),
        // serde_json writes a JSON string, which is also a YAML double-quoted scalar; U+2028 escaped as Go's
        // encoder writes it, since readers disagree whether a raw one breaks the line (the scan refuses it).
        Style::Double => serde_json::to_string(value)
            .unwrap()
            .replace('\u{2028}', "\\u2028"),
        Style::Single => format!("'{}'", value.replace('\'', "''")),
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::Block),
        Just(Layout::BlockSameIndent),
        Just(Layout::Flow),
        Just(Layout::Json)
    ]
}

/// One Deployment with these images, a multi-byte comment and annotation before them and a comment after each.
fn document(images: &[(String, Style)], layout: Layout, n: usize) -> String {
    match layout {
        Layout::Json => {
            let containers: Vec<String> = images
                .iter()
                .enumerate()
                .map(|(i, (v, _))| {
                    format!(
                        "{{\"name\": \"c{i}\", \"image\": {}}}",
                        write(v, Style::Double)
                    )
                })
                .collect();
            format!(
                "{{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {{\"name\": \"d{n}\", \"annotations\": {{\"note\": \"é😀\"}}}},\n \"spec\": {{\"template\": {{\"spec\": {{\"containers\": [{}]}}}}}}}}\n",
                containers.join(",\n   ")
            )
        }
        Layout::Flow => {
            let containers: Vec<String> = images
                .iter()
                .enumerate()
                .map(|(i, (v, s))| format!("{{name: c{i}, image: {}}}", write(v, *s)))
                .collect();
            format!(
                "# café 漢字 😀\nkind: Deployment\nmetadata: {{name: d{n}, annotations: {{note: 'é'}}}}\nspec: {{template: {{spec: {{containers: [{}]}}}}}} # end\n",
                containers.join(", ")
            )
        }
        Layout::Block | Layout::BlockSameIndent => {
            let pad = if matches!(layout, Layout::Block) {
                "  "
            } else {
                ""
            };
            let mut out = format!(
                "# café 漢字 😀\nkind: Deployment\nmetadata:\n  name: d{n}\n  annotations:\n    note: \"日本 😀\"\nspec:\n  template:\n    spec:\n      containers:\n"
            );
            for (i, (v, s)) in images.iter().enumerate() {
                out.push_str(&format!(
                    "      {pad}- name: c{i}\n      {pad}  image: {}  # é {i}\n",
                    write(v, *s)
                ));
            }
            out
        }
    }
}

fn stream() -> impl Strategy<Value = (String, Vec<String>)> {
    let doc = (proptest::collection::vec(written_value(), 1..4), layout());
    (
        proptest::collection::vec(doc, 1..4),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        any::<bool>(),
    )
        .prop_map(|(docs, line_break, ends)| {
            let mut src = String::from("# leading comment ü\n");
            let mut values = Vec::new();
            for (n, (images, layout)) in docs.iter().enumerate() {
                src.push_str("---\n");
                src.push_str(&document(images, *layout, n));
                if ends {
                    src.push_str("...\n");
                }
                values.extend(images.iter().map(|(v, _)| v.clone()));
            }
            // Every line break YAML knows. Values hold no raw line break (double-quoted ones are escaped), so only
            // the layout changes.
            src = src.replace('\n', line_break);
            (src, values)
        })
}

/// Checks that `out` is `src` with exactly `edits` applied: every byte outside them is unchanged.
fn assert_only_edited(src: &str, out: &str, edits: &[Edit]) {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.range.start);
    let (mut from, mut to) = (0, 0);
    for edit in sorted {
        let keep = edit.range.start - from;
        assert_eq!(
            &out.as_bytes()[to..to + keep],
            &src.as_bytes()[from..edit.range.start],
            "bytes before {:?}",
            edit.range
        );
        to += keep;
        assert_eq!(
            &out[to..to + edit.text.len()],
            edit.text,
            "edit {:?}",
            edit.range
        );
        to += edit.text.len();
        from = edit.range.end;
    }
    assert_eq!(
        &out.as_bytes()[to..],
        &src.as_bytes()[from..],
        "bytes after the last edit"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn splice_changes_only_the_images((src, values) in stream(), new in proptest::collection::vec(any_value(), 12)) {
        let found = scan(&src, &[]).unwrap();
        let got: Vec<&str> = found.images.iter().map(|i| i.value.as_str()).collect();
        prop_assert_eq!(got, values.iter().map(String::as_str).collect::<Vec<_>>());
        let edits: Vec<Edit> = found.images.iter().zip(new.iter().cycle()).map(|(i, v)| i.replace(v)).collect();
        let out = splice(&src, &edits).unwrap();
        assert_only_edited(&src, &out, &edits);

        let again = scan(&out, &[]).unwrap();
        prop_assert_eq!(again.images.len(), found.images.len());
        let mut shift: isize = 0;
        for ((before, after), (edit, want)) in found.images.iter().zip(&again.images).zip(edits.iter().zip(new.iter().cycle())) {
            let start = before.span.start.checked_add_signed(shift).unwrap();
            prop_assert_eq!(after.span.clone(), start..start + edit.text.len());
            prop_assert_eq!(&after.value, want);
            prop_assert_eq!(&after.path, &before.path);
            shift += edit.text.len() as isize - before.span.len() as isize;
        }
    }

    #[test]
    fn annotations_and_images_together((src, _) in stream(), key in "[a-z]{1,6}(\\.io/[a-z]{1,6})?", value in any_value()) {
        let found = scan(&src, &[]).unwrap();
        let mut edits: Vec<Edit> = found.images.iter().map(|i| i.replace("reg.io/new:1")).collect();
        for object in &found.objects {
            edits.push(object.set_annotation(&key, &value).unwrap());
        }
        let out = splice(&src, &edits).unwrap();
        assert_only_edited(&src, &out, &edits);
        let again = scan(&out, &[]).unwrap();
        prop_assert_eq!(again.objects.len(), found.objects.len());
        for object in &again.objects {
            prop_assert_eq!(object.annotation(&key), Some(value.as_str()));
            prop_assert_eq!(object.annotation("note").is_some(), object.kind.is_some());
        }
        prop_assert!(again.images.iter().all(|i| i.value == "reg.io/new:1"));
        prop_assert_eq!(again.images.len(), found.images.len());
    }

    #[test]
    fn scan_never_panics(src in proptest::collection::vec(
        prop_oneof![
            Just("kind: Pod\n"), Just("spec:\n"), Just("  containers:\n"), Just("  - image: "), Just("x:1"),
            Just("'"), Just("\""), Just("\\"), Just("{"), Just("}"), Just("["), Just("]"), Just(", "), Just(": "),
            Just("&a "), Just("*a"), Just("!!str "), Just("|\n"), Just("# é\n"), Just("---\n"), Just("...\n"),
            Just("\n"), Just("\r\n"), Just("  "), Just("\t"), Just("😀"), Just("? "), Just("- "), Just("%YAML 1.2\n"),
            Just("\u{feff}"), Just("metadata:\n  annotations:\n    "), Just("template:\n"), Just("<<: "), Just("\r"),
            Just("&b "), Just("*b"),
        ],
        0..40,
    ).prop_map(|parts| parts.concat())) {
        if let Ok(found) = scan(&src, &[]) {
            let values = vec![Some("n:2".to_owned()); found.images.len()];
            let mut edits: Vec<Edit> = replace_images(&found, &values).unwrap_or_default();
            edits.extend(found.objects.iter().filter_map(|o| o.set_annotation("k", "v").ok()));
            if let Ok(out) = splice(&src, &edits) {
                assert_only_edited(&src, &out, &edits);
                // What was valid stays valid, and every image is where it was put.
                let again = scan(&out, &[]);
                prop_assert!(again.is_ok(), "{:?}\n{:?}\n{:?}", again, src, out);
            }
        }
    }
}

/// How one container of [`anchored_pod`] writes its image.
#[derive(Clone, Debug)]
enum Written {
    Literal,
    Anchor,
    /// An alias of the n-th anchor written so far (modulo their number; a literal when there is none).
    Alias(usize),
}

/// A Pod whose images share text through anchors: per container a literal, an anchor or an alias; maybe an env
/// value reading one anchor (a place that is no image), maybe `initContainers` repeating the whole list.
/// Returns the text and the value of each container's image, by container name.
fn anchored_pod(
    written: &[(Written, String)],
    env: Option<usize>,
    repeat_list: bool,
) -> (String, Vec<(String, String)>) {
    let mut anchors: Vec<(String, String)> = Vec::new();
    let mut out = String::from("kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:");
    out.push_str(if repeat_list { " &list\n" } else { "\n" });
    let mut values = Vec::new();
    for (i, (how, value)) in written.iter().enumerate() {
        let (text, value) = match how {
            Written::Alias(n) if !anchors.is_empty() => {
                let (name, value) = &anchors[n % anchors.len()];
                (format!("*{name}"), value.clone())
            }
            Written::Anchor => {
                anchors.push((format!("a{i}"), value.clone()));
                (format!("&a{i} {value}"), value.clone())
            }
            _ => (value.clone(), value.clone()),
        };
        out.push_str(&format!("  - name: c{i}\n    image: {text}\n"));
        values.push((format!("c{i}"), value));
    }
    if let Some(n) = env
        && !anchors.is_empty()
    {
        let (name, _) = &anchors[n % anchors.len()];
        out.push_str(&format!("    env: [{{name: X, value: *{name}}}]\n"));
    }
    if repeat_list {
        out.push_str("  initContainers: *list\n");
    }
    (out, values)
}

/// What a YAML reader that resolves aliases sees: each container's image by name, and the env value.
fn meaning(src: &str) -> (Vec<(String, String)>, Option<String>) {
    let doc: serde_norway::Value = serde_norway::from_str(src).unwrap();
    let mut images = Vec::new();
    let mut env = None;
    for list in ["containers", "initContainers"] {
        for c in doc["spec"][list].as_sequence().into_iter().flatten() {
            let name = c["name"].as_str().unwrap().to_owned();
            images.push((name, c["image"].as_str().unwrap().to_owned()));
            if let Some(value) = c["env"][0]["value"].as_str() {
                env = Some(value.to_owned());
            }
        }
    }
    (images, env)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Writing new images through anchors either gives every container exactly its new image and leaves the
    /// place that is no image as it was, or is refused, and then only because such a place shares the text.
    #[test]
    fn anchors_keep_their_meaning(
        written in proptest::collection::vec(
            (
                prop_oneof![Just(Written::Literal), Just(Written::Anchor), (0..4usize).prop_map(Written::Alias)],
                prop_oneof![Just("a:1".to_owned()), Just("b:1".to_owned())],
            ),
            1..5,
        ),
        env in proptest::option::of(0..4usize),
        repeat_list in any::<bool>(),
        new in proptest::collection::vec(proptest::option::of(prop_oneof![Just("a:1"), Just("a:2"), Just("needs quotes: x")]), 5),
    ) {
        let (src, _) = anchored_pod(&written, env, repeat_list);
        let (before, env_before) = meaning(&src);
        let found = scan(&src, &[]).unwrap();
        prop_assert_eq!(found.images.len(), before.len());
        let want_of = |name: &str| {
            let i: usize = name[1..].parse().unwrap();
            new[i].map(str::to_owned)
        };
        let values: Vec<Option<String>> = found
            .images
            .iter()
            .map(|i| want_of(i.container.as_deref().unwrap()))
            .collect();
        match replace_images(&found, &values) {
            Ok(edits) => {
                let out = splice(&src, &edits).unwrap();
                assert_only_edited(&src, &out, &edits);
                let (after, env_after) = meaning(&out);
                for ((name, old), (name_after, now)) in before.iter().zip(&after) {
                    prop_assert_eq!(name, name_after);
                    let want = want_of(name).unwrap_or_else(|| old.clone());
                    prop_assert_eq!(now, &want, "{} in\n{}", name, out);
                }
                prop_assert_eq!(env_after, env_before, "the env value in\n{}", out);
                let again = scan(&out, &[]).unwrap();
                prop_assert_eq!(again.images.len(), found.images.len());
            }
            Err(e) => {
                prop_assert!(env_before.is_some(), "refused without a place that is no image: {}\n{}", e, src);
                prop_assert!(matches!(e, ReplaceError::Shared { .. }), "{}", e);
            }
        }
    }
}

/// Regression (proptest `scan_never_panics`): a byte order mark, an explicit key `? ` and an image in a block
/// sequence under it.
#[test]
fn a_byte_order_mark_then_an_explicit_key_holding_an_image() {
    let src = "\u{feff}?   - image: ";
    if let Ok(found) = scan(src, &[]) {
        let values = vec![Some("n:2".to_owned()); found.images.len()];
        let mut edits: Vec<Edit> = replace_images(&found, &values).unwrap_or_default();
        edits.extend(
            found
                .objects
                .iter()
                .filter_map(|o| o.set_annotation("k", "v").ok()),
        );
        if let Ok(out) = splice(src, &edits) {
            assert_only_edited(src, &out, &edits);
            let again = scan(&out, &[]);
            assert!(again.is_ok(), "{again:?}\n{src:?}\n{out:?}");
        }
    }
}
