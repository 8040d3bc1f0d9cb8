//! Property tests: random values files and kustomizations in every style (block and flow, quoting, comments,
//! blank lines, CRLF, 2 or 4 spaces, multi-byte text), edited, then read back with a full YAML reader
//! (serde_norway): exactly the one value changed, and every comment is still there.

use proptest::prelude::*;
use serde_norway::{Mapping, Value};

use crate::writeback::{KustomizeImage, ValuePath, set_helm_value, set_kustomize_image};

#[derive(Clone, Debug)]
enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Debug)]
enum Node {
    Str(String, Quote),
    Null,
    Map(Vec<(String, Node)>, bool),
}

const KEYS: [&str; 6] = ["image", "tag", "repository", "a", "ünï", "b-c"];
const PLAIN: [&str; 6] = [
    "nginx",
    "v1.2.3",
    "main-abc",
    "ghcr.io/org/web",
    "é☕",
    "1.2.3",
];
const QUOTED: [&str; 6] = ["1.0", "it's", "a: b", "x # y", "☕", "true"];
const VALUES: [&str; 8] = [
    "1.20", "v9.9.9", "a:b", "yes", "é☕", "x #y", "it's", "main-1",
];

fn scalar() -> impl Strategy<Value = Node> {
    prop_oneof![
        (0..PLAIN.len()).prop_map(|i| Node::Str(PLAIN[i].into(), Quote::Plain)),
        (0..QUOTED.len()).prop_map(|i| Node::Str(QUOTED[i].into(), Quote::Single)),
        (0..QUOTED.len()).prop_map(|i| Node::Str(QUOTED[i].into(), Quote::Double)),
        Just(Node::Null),
    ]
}

fn tree() -> impl Strategy<Value = Node> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        (
            prop::collection::vec((0..KEYS.len(), inner), 1..4),
            any::<bool>(),
        )
            .prop_map(|(entries, flow)| {
                let mut seen = Vec::new();
                let entries = entries
                    .into_iter()
                    .filter(|(k, _)| {
                        let fresh = !seen.contains(k);
                        seen.push(*k);
                        fresh
                    })
                    .map(|(k, v)| (KEYS[k].to_string(), v))
                    .collect();
                Node::Map(entries, flow)
            })
    })
}

/// Layout choices.
#[derive(Clone, Debug)]
struct Style {
    crlf: bool,
    unit: usize,
    comments: bool,
    blank: bool,
    /// Whether the file ends with a line break.
    trailing: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        prop_oneof![Just(2usize), Just(4)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(crlf, unit, comments, blank, trailing)| Style {
            crlf,
            unit,
            comments,
            blank,
            trailing,
        })
}

fn scalar_text(text: &str, quote: &Quote) -> String {
    match quote {
        Quote::Plain => text.to_string(),
        Quote::Single => format!("'{}'", text.replace('\'', "''")),
        Quote::Double => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

fn flow_text(node: &Node) -> String {
    match node {
        Node::Str(text, quote) => scalar_text(text, quote),
        Node::Null => "~".into(),
        Node::Map(entries, _) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow_text(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn block_lines(entries: &[(String, Node)], indent: usize, style: &Style, lines: &mut Vec<String>) {
    for (n, (key, value)) in entries.iter().enumerate() {
        if style.blank && n % 2 == 1 {
            lines.push(String::new());
        }
        if style.comments {
            lines.push(format!("{:indent$}# café ☕ {n}", ""));
        }
        let comment = if style.comments { "  # 图 c" } else { "" };
        match value {
            Node::Map(inner, false) if !inner.is_empty() => {
                lines.push(format!("{:indent$}{key}:{comment}", ""));
                block_lines(inner, indent + style.unit, style, lines);
            }
            Node::Null => lines.push(format!("{:indent$}{key}:{comment}", "")),
            other => lines.push(format!(
                "{:indent$}{key}: {}{comment}",
                "",
                flow_text(other)
            )),
        }
    }
}

fn render(root: &[(String, Node)], style: &Style) -> String {
    let mut lines = Vec::new();
    block_lines(root, 0, style, &mut lines);
    let brk = if style.crlf { "\r\n" } else { "\n" };
    let mut out = lines.join(brk);
    if style.trailing {
        out.push_str(brk);
    }
    out
}

/// Every path to a scalar or null, and to a new key under each block or flow mapping.
fn paths(entries: &[(String, Node)], prefix: &str, out: &mut Vec<String>) {
    out.push(format!("{prefix}new"));
    out.push(format!("{prefix}new.deeper"));
    for (key, value) in entries {
        let path = format!("{prefix}{key}");
        match value {
            Node::Map(inner, _) => paths(inner, &format!("{path}."), out),
            Node::Null => {
                out.push(path.clone());
                out.push(format!("{path}.made"));
            }
            Node::Str(..) => out.push(path),
        }
    }
}

/// What the values should read as after the edit.
fn expected(mut value: Value, path: &str, new: &str) -> Value {
    let keys: Vec<&str> = path.split('.').collect();
    let mut at = &mut value;
    for (i, key) in keys.iter().enumerate() {
        if !at.is_mapping() {
            *at = Value::Mapping(Mapping::new());
        }
        let map = at.as_mapping_mut().unwrap();
        let key = Value::String((*key).to_string());
        if i + 1 == keys.len() {
            map.insert(key, Value::String(new.to_string()));
            break;
        }
        at = map.entry(key).or_insert(Value::Null);
    }
    value
}

/// The generators' comments in `text`, each as often as it occurs (a `#` inside a quoted value is none).
fn comments(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for marker in ["# café ☕", "# 图 c", "# kustomization ☕", "# images"] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at..];
            found.push(rest[..rest.find(['\r', '\n']).unwrap_or(rest.len())].to_string());
        }
    }
    found.sort();
    found
}

/// Whether every comment of `before` is still in `after` (as often).
fn comments_kept(before: &str, after: &str) -> bool {
    let mut kept = comments(after);
    comments(before)
        .into_iter()
        .all(|c| match kept.iter().position(|k| *k == c) {
            Some(i) => {
                kept.remove(i);
                true
            }
            None => false,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn helm_edit_changes_exactly_one_value(
        root in prop::collection::vec((0..KEYS.len(), tree()), 1..5),
        style in style(),
        pick in any::<prop::sample::Index>(),
        new in 0..VALUES.len(),
    ) {
        let mut seen = Vec::new();
        let root: Vec<(String, Node)> = root
            .into_iter()
            .filter(|(k, _)| { let fresh = !seen.contains(k); seen.push(*k); fresh })
            .map(|(k, v)| (KEYS[k].to_string(), v))
            .collect();
        let src = render(&root, &style);
        let before: Value = serde_norway::from_str(&src).expect("generated YAML parses");
        let mut all = Vec::new();
        paths(&root, "", &mut all);
        let path = pick.get(&all);
        let value = VALUES[new];
        let edited = set_helm_value("values.yaml", &src, &ValuePath::parse(path).unwrap(), value)
            .unwrap_or_else(|e| panic!("{e}\n--- path {path}\n{src}"));
        let after: Value = serde_norway::from_str(&edited)
            .unwrap_or_else(|e| panic!("{e}\n--- set {path} = {value}\n{src}\n--- gave\n{edited}"));
        prop_assert_eq!(&after, &expected(before, path, value), "set {} = {}\n{}\n--- gave\n{}", path, value, src, edited);
        prop_assert!(comments_kept(&src, &edited), "a comment was lost\n{}\n--- gave\n{}", src, edited);
        if src.contains("\r\n") {
            prop_assert!(!edited.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF file:\n{:?}", edited);
        }
        // Setting it again changes nothing.
        let again = set_helm_value("values.yaml", &edited, &ValuePath::parse(path).unwrap(), value).unwrap();
        prop_assert_eq!(again, edited);
    }

    #[test]
    fn kustomize_edit_changes_exactly_one_entry(
        entries in prop::collection::vec((0..4usize, prop::option::of(0..3usize), prop::option::of(0..3usize), any::<bool>()), 0..4),
        flow in any::<bool>(),
        indented in any::<bool>(),
        quote in 0..3usize,
        style in style(),
        target in 0..5usize,
        new_name in prop::option::of(0..3usize),
        new_tag in prop::option::of(0..VALUES.len()),
        digest in any::<bool>(),
    ) {
        let names = ["web", "ghcr.io/org/api", "é☕", "nginx"];
        let names_written = ["web", "ghcr.io/org/api", "'é☕'", "\"nginx\""];
        let tags = ["v1", "'1.0'", "\"2\""];
        let sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let mut seen = Vec::new();
        let entries: Vec<_> = entries.into_iter().filter(|e| { let fresh = !seen.contains(&e.0); seen.push(e.0); fresh }).collect();
        let brk = if style.crlf { "\r\n" } else { "\n" };
        let q = |s: &str| match quote { 0 => s.to_string(), 1 => format!("'{s}'"), _ => format!("\"{s}\"") };
        let mut src = format!("# kustomization ☕{brk}resources:{brk}- a.yaml{brk}");
        if style.blank { src.push_str(brk); }
        if flow || entries.is_empty() {
            let items: Vec<String> = entries.iter().map(|(n, nn, t, d)| {
                let mut parts = vec![format!("name: {}", names_written[*n])];
                if let Some(nn) = nn { parts.push(format!("newName: {}", q(&format!("reg/{nn}")))); }
                if let Some(t) = t { parts.push(format!("newTag: {}", tags[*t])); }
                if *d { parts.push(format!("digest: {sha}")); }
                format!("{{{}}}", parts.join(", "))
            }).collect();
            src.push_str(&format!("images: [{}]  # images{brk}", items.join(", ")));
        } else {
            src.push_str(&format!("images:{brk}"));
            let dash = if indented { style.unit } else { 0 };
            for (n, nn, t, d) in &entries {
                let mut fields = vec![format!("name: {}", names_written[*n])];
                if let Some(nn) = nn { fields.push(format!("newName: {}", q(&format!("reg/{nn}")))); }
                if let Some(t) = t { fields.push(format!("newTag: {}", tags[*t])); }
                if *d { fields.push(format!("digest: {sha}")); }
                if *d && *n % 2 == 0 { fields.rotate_right(1); }
                for (i, field) in fields.iter().enumerate() {
                    let lead = if i == 0 { format!("{:dash$}- ", "") } else { format!("{:w$}", "", w = dash + 2) };
                    let comment = if style.comments { "  # é" } else { "" };
                    src.push_str(&format!("{lead}{field}{comment}{brk}"));
                }
            }
        }
        if !style.trailing {
            src.truncate(src.trim_end_matches(['\r', '\n']).len());
        }
        let before: Value = serde_norway::from_str(&src).expect("generated YAML parses");
        let name = names[target % names.len()];
        let image = KustomizeImage {
            name: name.to_string(),
            new_name: new_name.map(|n| format!("new/{n}")),
            new_tag: new_tag.map(|t| VALUES[t].to_string()),
            digest: digest.then(|| sha.to_string()),
        };
        let edited = set_kustomize_image("kustomization.yaml", &src, &image)
            .unwrap_or_else(|e| panic!("{e}\n{src}"));
        let after: Value = serde_norway::from_str(&edited)
            .unwrap_or_else(|e| panic!("{e}\n{src}\n--- gave\n{edited}"));
        let mut want = before.clone();
        let list = want.get_mut("images").unwrap().as_sequence_mut().unwrap();
        let entry = match list.iter_mut().position(|e| e.get("name").and_then(Value::as_str) == Some(name)) {
            Some(i) => &mut list[i],
            None => {
                let mut m = Mapping::new();
                m.insert("name".into(), name.into());
                list.push(Value::Mapping(m));
                list.last_mut().unwrap()
            }
        };
        let map = entry.as_mapping_mut().unwrap();
        for (key, value) in [("newName", &image.new_name), ("newTag", &image.new_tag), ("digest", &image.digest)] {
            match value {
                Some(v) => { map.insert(key.into(), v.as_str().into()); }
                None => { map.remove(key); }
            }
        }
        prop_assert_eq!(&after, &want, "{}\n--- gave\n{}", src, edited);
        prop_assert_eq!(after.get("resources"), before.get("resources"));
        prop_assert!(comments_kept(&src, &edited), "a comment was lost\n{}\n--- gave\n{}", src, edited);
        let again = set_kustomize_image("kustomization.yaml", &edited, &image).unwrap();
        prop_assert_eq!(again, edited);
    }
}
