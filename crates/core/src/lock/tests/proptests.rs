//! Edits on generated layouts: block and flow entries, two indentations, every quoting style, comments with
//! multi-byte text everywhere a comment can go, blank lines, `\n` or `\r\n`. Whatever the layout, each edit
//! succeeds, reads back as the old file with exactly its change, and keeps every comment in order.

use proptest::prelude::*;

use super::{DIGEST, DIGEST_2, key, tag};
use crate::lock::edit::{add_entry, add_rejected, set_resolved};
use crate::lock::{LockEntry, LockFile, Resolved};

const KEYS: [&str; 5] = [
    "web=ghcr.io/shop/web",
    "canary=ghcr.io/shop/web",
    "docker.io/library/nginx",
    "localhost:5000/app",
    "team/api=registry.corp/base/api",
];
const TAGS: [&str; 8] = [
    "1.4.2",
    "1.10",
    "v2",
    "build-9",
    "2024.06.15",
    "010",
    "latest",
    "1.5.0-rc.1",
];
const POLICIES: [&str; 3] = [
    "strategy semver, constraint '^1'",
    "strategy newest-build",
    "p",
];
const COMMENTS: [&str; 3] = ["# note", "# édité ☕ 漢字", "#"];

#[derive(Clone, Debug)]
struct Gen {
    tag: usize,
    digest: Option<bool>,
    policy: Option<usize>,
    pin: Option<usize>,
    hold: bool,
    rejected: Vec<usize>,
    flow: bool,
    /// 0 plain, 1 single-quoted, 2 double-quoted.
    quoting: u8,
    comment_after_key: Option<usize>,
    comment_line_before: Option<usize>,
    blank_before: bool,
}

fn gen_entry() -> impl Strategy<Value = Gen> {
    (
        (
            0..TAGS.len(),
            proptest::option::of(any::<bool>()),
            proptest::option::of(0..POLICIES.len()),
            proptest::option::of(0..TAGS.len()),
            any::<bool>(),
            proptest::collection::vec(0..TAGS.len(), 0..3),
        ),
        (
            any::<bool>(),
            0..3u8,
            proptest::option::of(0..COMMENTS.len()),
            proptest::option::of(0..COMMENTS.len()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (tag, digest, policy, pin, hold, rejected),
                (flow, quoting, comment_after_key, comment_line_before, blank_before),
            )| Gen {
                tag,
                digest,
                policy,
                pin,
                hold,
                rejected,
                flow,
                quoting,
                comment_after_key,
                comment_line_before,
                blank_before,
            },
        )
}

impl Gen {
    fn entry(&self, key_text: &str) -> LockEntry {
        let mut rejected = Vec::new();
        for &r in &self.rejected {
            if r != self.tag && !rejected.contains(&tag(TAGS[r])) {
                rejected.push(tag(TAGS[r]));
            }
        }
        LockEntry {
            key: key(key_text),
            tag: tag(TAGS[self.tag]),
            digest: self
                .digest
                .map(|d| if d { DIGEST } else { DIGEST_2 }.to_owned()),
            policy: self.policy.map(|p| POLICIES[p].to_owned()),
            pin: self.pin.map(|p| tag(TAGS[p])),
            hold: self.hold,
            rejected,
        }
    }
}

/// A tag written in the generated style (plain only where YAML reads it as a string).
fn quoted(value: &str, quoting: u8) -> String {
    let plain_safe =
        !value.starts_with(|c: char| c.is_ascii_digit()) || value.matches('.').count() >= 2;
    match quoting {
        0 if plain_safe => value.to_owned(),
        1 => format!("'{value}'"),
        _ => format!("\"{value}\""),
    }
}

/// The text of a lock file holding `entries` in the generated layouts.
fn render(entries: &[(LockEntry, Gen)], indent: usize, nl: &str, header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(&format!("# the lock file ☕{nl}{nl}"));
    }
    out.push_str(&format!("version: 1{nl}images:{nl}"));
    let pad = " ".repeat(indent);
    for (entry, g) in entries {
        if g.blank_before {
            out.push_str(nl);
        }
        if let Some(c) = g.comment_line_before {
            out.push_str(&format!("{pad}{}{nl}", COMMENTS[c]));
        }
        let mut fields: Vec<(&str, String)> = vec![("tag", quoted(&entry.tag, g.quoting))];
        if let Some(d) = &entry.digest {
            fields.push(("digest", format!("\"{d}\"")));
        }
        if let Some(p) = &entry.policy {
            fields.push(("policy", format!("\"{p}\"")));
        }
        if let Some(p) = &entry.pin {
            fields.push(("pin", quoted(p, g.quoting)));
        }
        if entry.hold {
            fields.push(("hold", "true".into()));
        }
        if !entry.rejected.is_empty() {
            let tags: Vec<String> = entry.rejected.iter().map(|t| quoted(t, 2)).collect();
            fields.push(("rejected", format!("[{}]", tags.join(", "))));
        }
        let key_text = format!("\"{}\"", entry.key);
        let comment = g
            .comment_after_key
            .map(|c| format!("  {}", COMMENTS[c]))
            .unwrap_or_default();
        if g.flow {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            out.push_str(&format!(
                "{pad}{key_text}: {{{}}}{comment}{nl}",
                fields.join(", ")
            ));
        } else {
            out.push_str(&format!("{pad}{key_text}:{comment}{nl}"));
            for (k, v) in fields {
                out.push_str(&format!("{pad}{pad}{k}: {v}{nl}"));
            }
        }
    }
    out.push_str(&format!("# the end ✓{nl}"));
    out
}

/// Whether every comment of `before` is in `after`, in the same order.
fn comments_kept(before: &str, after: &str) -> bool {
    let comments = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.find('#').map(|at| l[at..].trim_end().to_owned()))
            .filter(|c| !c.contains('"'))
            .collect()
    };
    let mut rest = comments(after).into_iter();
    comments(before).iter().all(|c| rest.any(|a| a == *c))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn edits_keep_the_layout_and_read_back(
        present in proptest::collection::vec(any::<bool>(), KEYS.len()),
        gens in proptest::collection::vec(gen_entry(), KEYS.len()),
        indent in prop_oneof![Just(2usize), Just(4)],
        crlf in any::<bool>(),
        header in any::<bool>(),
        op in 0..3u8,
        pick in any::<prop::sample::Index>(),
        new_tag in 0..TAGS.len(),
        new_digest in proptest::option::of(any::<bool>()),
        new_policy in 0..POLICIES.len(),
    ) {
        let entries: Vec<(LockEntry, Gen)> = KEYS
            .iter()
            .zip(&gens)
            .zip(&present)
            .filter(|(_, p)| **p)
            .map(|((k, g), _)| (g.entry(k), g.clone()))
            .collect();
        prop_assume!(!entries.is_empty());
        let nl = if crlf { "\r\n" } else { "\n" };
        let text = render(&entries, indent, nl, header);
        let lock = LockFile::from_entries(entries.iter().map(|(e, _)| e.clone()));
        prop_assert_eq!(LockFile::parse(&text), Ok(lock.clone()), "{}", text);

        let (target, _) = &entries[pick.index(entries.len())];
        let mut expected: Vec<LockEntry> = entries.iter().map(|(e, _)| e.clone()).collect();
        let new_tag = tag(TAGS[new_tag]);
        let digest = new_digest.map(|d| if d { DIGEST } else { DIGEST_2 });
        let edited = match op {
            0 => {
                let resolved = Resolved { tag: &new_tag, digest, policy: POLICIES[new_policy] };
                prop_assume!(!target.rejected.contains(&new_tag));
                let slot = expected.iter_mut().find(|e| e.key == target.key).unwrap();
                slot.tag = new_tag.clone();
                slot.digest = digest.map(str::to_owned);
                slot.policy = Some(POLICIES[new_policy].to_owned());
                set_resolved(&text, &target.key, &resolved)
            }
            1 => {
                let absent = KEYS.iter().zip(&present).find(|(_, p)| !**p);
                let Some((absent, _)) = absent else { return Ok(()) };
                let added = LockEntry {
                    digest: digest.map(str::to_owned),
                    policy: Some(POLICIES[new_policy].to_owned()),
                    ..gens[0].entry(absent)
                };
                expected.push(added.clone());
                add_entry(&text, &added)
            }
            _ => {
                prop_assume!(new_tag != target.tag);
                let slot = expected.iter_mut().find(|e| e.key == target.key).unwrap();
                if !slot.rejected.contains(&new_tag) {
                    slot.rejected.push(new_tag.clone());
                }
                add_rejected(&text, &target.key, &new_tag)
            }
        };
        let edited = match edited {
            Ok(edited) => edited,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        prop_assert_eq!(LockFile::parse(&edited), Ok(LockFile::from_entries(expected)), "{}\n{}", text, edited);
        prop_assert!(comments_kept(&text, &edited), "comments lost:\n{}\n{}", text, edited);
        if crlf {
            prop_assert!(!edited.replace("\r\n", "").contains('\n'), "a bare \\n in:\n{:?}", edited);
        }
    }
}
