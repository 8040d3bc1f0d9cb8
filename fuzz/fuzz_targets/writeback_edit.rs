//! The write-back editors on a fuzzed file. Input: a first line naming the edit — a Helm values path
//! (`image.tag`), or `kustomize:<name>` for a kustomization entry —, a second line with the new value, then the
//! file.
//!
//! When the file reads as YAML (serde_norway, a full reader) and the editor accepts the edit, the edited file must
//! read as the original with exactly that one value changed (a values path set, created with its missing
//! mappings; a kustomization entry's `newTag` set and `newName`/`digest` gone, or the entry appended), and editing
//! again must change nothing. Refusals are fine; a panic, a file that no longer parses or any other change is not.
#![no_main]

use argocd_image_resolver::writeback::{
    KustomizeImage, Step, ValuePath, set_helm_value, set_kustomize_image,
};
use libfuzzer_sys::fuzz_target;
use serde_norway::{Mapping, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(edit), Some(value), Some(src)) = (lines.next(), lines.next(), lines.next()) else {
        return;
    };
    // Where the two readers disagree before any edit: serde_norway reads a file with a byte order mark and more
    // than one line as several documents; `{?a}` is key `?a` to YAML 1.2 readers (saphyr, the editors'), key `a`
    // to libyaml; libyaml refuses a tab in the indentation of a comment line after some plain scalars.
    if odd_anchor_names(src)
        || src.contains('\u{feff}')
        || indicator_then_text(src, '?')
        || src.lines().any(|line| line.trim_start_matches(' ').starts_with('\t'))
    {
        return;
    }
    let Ok(before) = read(src) else {
        return;
    };
    if odd_keys(&before) {
        return;
    }
    match edit.strip_prefix("kustomize:") {
        Some(name) => kustomize(src, before, name, value),
        None => helm(src, before, edit, value),
    }
});

/// The file as a full YAML reader reads it.
fn read(text: &str) -> Result<Value, serde_norway::Error> {
    serde_norway::from_str(text)
}

/// Whether a local tag (`!thing`) or a key that is no string (`1:`, `true:`, `~:`) is anywhere: the editors
/// match keys by their text (as Helm's and kustomize's string-keyed decoding does), the expectation here by value.
fn odd_keys(value: &Value) -> bool {
    match value {
        Value::Tagged(_) => true,
        Value::Sequence(items) => items.iter().any(odd_keys),
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| !matches!(k, Value::String(_)) || odd_keys(v)),
        _ => false,
    }
}

/// Whether `indicator` is followed by something other than white space somewhere.
fn indicator_then_text(src: &str, indicator: char) -> bool {
    src.match_indices(indicator)
        .any(|(at, _)| src[at + 1..].chars().next().is_some_and(|c| !c.is_whitespace()))
}

/// Whether an anchor or alias name holds characters other than letters, digits, `-` and `_`: YAML 1.2 readers
/// (saphyr, which the editors use; go-yaml v3) take `&a:` as anchor `a:`, libyaml and go-yaml v2 as anchor `a`
/// and a `:`, so the two readings of such a file differ before any edit.
fn odd_anchor_names(src: &str) -> bool {
    src.match_indices(['&', '*']).any(|(at, _)| {
        src[at + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
            .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    })
}

fn helm(src: &str, before: Value, path: &str, value: &str) {
    let Ok(path) = ValuePath::parse(path) else {
        return;
    };
    let Ok(edited) = set_helm_value("values.yaml", src, &path, value) else {
        return;
    };
    let after: Value = read(&edited)
        .unwrap_or_else(|e| panic!("the edit broke the file: {e}\n{src:?}\n--- gave\n{edited:?}"));
    let want = expected_helm(before, &path, value);
    assert_eq!(after, want, "set {path} = {value:?}\n{src:?}\n--- gave\n{edited:?}");
    let again = set_helm_value("values.yaml", &edited, &path, value).expect("the same edit again");
    assert_eq!(again, edited, "a second edit changed more");
}

/// `before` with `path` set as the editor sets it: nested first, else a literal key holding the whole path, else
/// nested with the missing (or null) mappings created.
fn expected_helm(mut before: Value, path: &ValuePath, value: &str) -> Value {
    let steps = path.steps();
    let nested_exists = {
        let mut at = &before;
        steps.iter().all(|step| {
            let next = match step {
                Step::Key(key) => at.get(key.as_str()),
                Step::Item(key, index) => at.get(key.as_str()).and_then(|list| list.get(*index)),
            };
            match next {
                Some(next) => {
                    at = next;
                    true
                }
                None => false,
            }
        })
    };
    if !nested_exists
        && steps.len() > 1
        && let Some(literal) = before.get_mut(path.as_str())
    {
        *literal = Value::String(value.to_string());
        return before;
    }
    let mut at = &mut before;
    for (i, step) in steps.iter().enumerate() {
        if at.is_null() {
            *at = Value::Mapping(Mapping::new());
        }
        let map = at.as_mapping_mut().expect("the editor steps through mappings only");
        let (key, index) = match step {
            Step::Key(key) => (key, None),
            Step::Item(key, index) => (key, Some(*index)),
        };
        let slot = map.entry(Value::String(key.clone())).or_insert(Value::Null);
        let slot = match index {
            Some(index) => &mut slot.as_sequence_mut().expect("indexed lists exist")[index],
            None => slot,
        };
        if i + 1 == steps.len() {
            *slot = Value::String(value.to_string());
            break;
        }
        at = slot;
    }
    before
}

fn kustomize(src: &str, before: Value, name: &str, tag: &str) {
    // Names that are not strings to a YAML reader (`name: 1`) are matched by their text; leave them out.
    let names = before.get("images").and_then(Value::as_sequence).into_iter().flatten();
    if names.filter_map(|e| e.get("name")).any(|n| !n.is_string()) {
        return;
    }
    let image = KustomizeImage {
        name: name.to_string(),
        new_name: None,
        new_tag: Some(tag.to_string()),
        digest: None,
    };
    let Ok(edited) = set_kustomize_image("kustomization.yaml", src, &image) else {
        return;
    };
    let after: Value = read(&edited)
        .unwrap_or_else(|e| panic!("the edit broke the file: {e}\n{src:?}\n--- gave\n{edited:?}"));
    let mut want = if before.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        before
    };
    let map = want.as_mapping_mut().expect("a kustomization is a mapping");
    let images = map.entry("images".into()).or_insert(Value::Null);
    if images.is_null() {
        *images = Value::Sequence(Vec::new());
    }
    let list = images.as_sequence_mut().expect("images is a list");
    let found = list
        .iter()
        .position(|e| e.get("name").and_then(Value::as_str) == Some(name));
    let entry = match found {
        Some(i) => &mut list[i],
        None => {
            let mut entry = Mapping::new();
            entry.insert("name".into(), name.into());
            list.push(Value::Mapping(entry));
            list.last_mut().unwrap()
        }
    };
    let entry = entry.as_mapping_mut().expect("an entry is a mapping");
    entry.remove("newName");
    entry.remove("digest");
    entry.insert("newTag".into(), tag.into());
    assert_eq!(after, want, "set {name} to {tag:?}\n{src:?}\n--- gave\n{edited:?}");
    let again = set_kustomize_image("kustomization.yaml", &edited, &image).expect("the same edit again");
    assert_eq!(again, edited, "a second edit changed more");
}
