//! Editing, byte for byte: what each change writes, and that nothing else moves.

use super::{DIGEST, DIGEST_2, entry, key, tag};
use crate::lock::edit::{add_entry, add_rejected, set_resolved};
use crate::lock::{LockEntry, LockFile, Resolved, write};

/// One change, as the committer asks for it.
enum Op {
    /// Entry, tag, digest, policy.
    Set(
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    ),
    Add(LockEntry),
    /// Entry, tag.
    Reject(&'static str, &'static str),
}

fn apply(src: &str, op: &Op) -> Result<String, String> {
    let done = match op {
        Op::Set(entry, tag_text, digest, policy) => {
            let tag = tag(tag_text);
            let resolved = Resolved {
                tag: &tag,
                digest: *digest,
                policy,
            };
            set_resolved(src, &key(entry), &resolved)
        }
        Op::Add(entry) => add_entry(src, entry),
        Op::Reject(entry, tag_text) => add_rejected(src, &key(entry), &tag(tag_text)),
    };
    done.map_err(|e| e.to_string())
}

/// The worker's entry as the committer adds it.
fn worker() -> LockEntry {
    LockEntry {
        digest: Some(DIGEST_2.into()),
        policy: Some("strategy newest-build".into()),
        ..entry("worker=ghcr.io/shop/worker", "build-10")
    }
}

const WEB: &str = "web=ghcr.io/shop/web";

#[test]
fn set_resolved_changes_only_the_values() {
    let commented = format!(
        "# Lock file of the shop ☕ (édité à la main)\nversion: 1\n\nimages:\n  # the front end\n  \
         web=ghcr.io/shop/web:   # prod\n    tag: 1.4.2            # resolved 2026-11-01\n    digest: {DIGEST}\n    \
         policy: \"strategy semver, constraint '^1'\"\n\n  worker=ghcr.io/shop/worker:\n    tag: build-9\n"
    );
    for (name, before, op, after) in [
        (
            "tag and digest replaced; the policy, comments, blank lines and the other entry untouched",
            commented.clone(),
            Op::Set(WEB, "1.5.0", Some(DIGEST_2), "strategy semver, constraint '^1'"),
            commented
                .replace("tag: 1.4.2 ", "tag: 1.5.0 ")
                .replace(DIGEST, DIGEST_2),
        ),
        (
            "quoting kept; a plain value YAML reads as a number is quoted",
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: '1.9'\n    digest: \"{DIGEST}\"\n    policy: strategy \
                 semver\n  worker=ghcr.io/shop/worker:\n    tag: 1.9.0\n"
            ),
            Op::Set(WEB, "1.10", Some(DIGEST_2), "strategy semver, constraint '^1'"),
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: '1.10'\n    digest: \"{DIGEST_2}\"\n    policy: \
                 \"strategy semver, constraint '^1'\"\n  worker=ghcr.io/shop/worker:\n    tag: 1.9.0\n"
            ),
        ),
        (
            "a plain tag that would read as a number",
            "version: 1\nimages:\n  worker=ghcr.io/shop/worker:\n    tag: 1.9.0\n    policy: x\n".into(),
            Op::Set("worker=ghcr.io/shop/worker", "1.10", None, "x"),
            "version: 1\nimages:\n  worker=ghcr.io/shop/worker:\n    tag: \"1.10\"\n    policy: x\n".into(),
        ),
        (
            // The writers' rule for upper-case base prefixes (`0X1F` is 31 to go-yaml): quoted here too.
            "a plain tag with an upper-case base prefix is quoted",
            "version: 1\nimages:\n  worker=ghcr.io/shop/worker:\n    tag: 1.9.0\n    policy: x\n".into(),
            Op::Set("worker=ghcr.io/shop/worker", "0X1F", None, "x"),
            "version: 1\nimages:\n  worker=ghcr.io/shop/worker:\n    tag: \"0X1F\"\n    policy: x\n".into(),
        ),
        (
            "a missing digest and policy go after the tag, in that order",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2  # by hand\n    pin: 1.4.0\n"),
            Op::Set(WEB, "1.5.0", Some(DIGEST), "strategy semver"),
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: 1.5.0  # by hand\n    digest: {DIGEST}\n    policy: \
                 \"strategy semver\"\n    pin: 1.4.0\n"
            ),
        ),
        (
            "a missing policy goes after the digest",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    digest: {DIGEST}\n    hold: true\n"),
            Op::Set(WEB, "1.4.2", Some(DIGEST), "strategy semver"),
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    digest: {DIGEST}\n    policy: \"strategy \
                 semver\"\n    hold: true\n"
            ),
        ),
        (
            "no digest takes the digest's line out, comment and all",
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    digest: {DIGEST}  # from the registry\n    \
                 policy: p\n"
            ),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.5.0\n    policy: p\n"),
        ),
        (
            "a flow entry: values in place, a new digest quoted for flow readers",
            format!("version: 1\nimages:\n  {WEB}: {{tag: 1.4.2, policy: p}}   # one line\n"),
            Op::Set(WEB, "1.5.0", Some(DIGEST), "p"),
            format!("version: 1\nimages:\n  {WEB}: {{tag: 1.5.0, digest: \"{DIGEST}\", policy: p}}   # one line\n"),
        ),
        (
            "a flow entry: no digest takes it and one comma out",
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.4.2, digest: \"{DIGEST}\", policy: p}}}}\n"),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.5.0, policy: p}}}}\n"),
        ),
        (
            // Found by the lock_file fuzz target: the digest's value and the policy's line went to one place.
            "an empty digest on the last line, no final line break",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    digest:"),
            Op::Set(WEB, "1.5.0", Some(DIGEST), "p"),
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.5.0\n    digest: {DIGEST}\n    policy: p"),
        ),
        (
            "CRLF line breaks, in the new lines too",
            format!("version: 1\r\nimages:\r\n  {WEB}:\r\n    tag: 1.4.2\r\n    pin: 1.4.0\r\n"),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!("version: 1\r\nimages:\r\n  {WEB}:\r\n    tag: 1.5.0\r\n    policy: p\r\n    pin: 1.4.0\r\n"),
        ),
        (
            "a YAML tag kept, empty and null values filled",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: !!str 1.4.2\n    digest:\n    policy: ~  # later\n"),
            Op::Set(WEB, "1.5.0", Some(DIGEST), "p"),
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: !!str 1.5.0\n    digest: {DIGEST}\n    policy: p  # later\n"
            ),
        ),
        (
            "a byte order mark",
            format!("\u{feff}version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    policy: p\n"),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!("\u{feff}version: 1\nimages:\n  {WEB}:\n    tag: 1.5.0\n    policy: p\n"),
        ),
        (
            "multi-byte text before and after the value",
            format!("# 漢字 ☕\nversion: 1\nimages:\n  {WEB}:   # é\n    tag: 1.4.2 # ünï\n    policy: p\n# ✓\n"),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!("# 漢字 ☕\nversion: 1\nimages:\n  {WEB}:   # é\n    tag: 1.5.0 # ünï\n    policy: p\n# ✓\n"),
        ),
    ] {
        assert_eq!(apply(&before, &op), Ok(after), "{name}");
    }
}

#[test]
fn add_entry_follows_the_layout_around_it() {
    let worker_block = format!(
        "  worker=ghcr.io/shop/worker:\n    tag: build-10\n    digest: {DIGEST_2}\n    policy: \"strategy \
         newest-build\"\n"
    );
    let worker_flow = format!(
        "worker=ghcr.io/shop/worker: {{tag: build-10, digest: \"{DIGEST_2}\", policy: \"strategy newest-build\"}}"
    );
    for (name, before, entry, after) in [
        (
            "after the last entry and the comment lines below it",
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    # moved by hand: see #42\n# end of the images\n"
            ),
            worker(),
            format!(
                "version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    # moved by hand: see #42\n{worker_block}# end \
                 of the images\n"
            ),
        ),
        (
            "the neighbours' indentation",
            format!("version: 1\nimages:\n    {WEB}:\n        tag: 1.4.2\n"),
            worker(),
            format!(
                "version: 1\nimages:\n    {WEB}:\n        tag: 1.4.2\n    worker=ghcr.io/shop/worker:\n        \
                 tag: build-10\n        digest: {DIGEST_2}\n        policy: \"strategy newest-build\"\n"
            ),
        ),
        (
            "one line in flow style, as the neighbour",
            format!("version: 1\nimages:\n  {WEB}: {{tag: 1.4.2}}\n"),
            worker(),
            format!("version: 1\nimages:\n  {WEB}: {{tag: 1.4.2}}\n  {worker_flow}\n"),
        ),
        (
            "into a flow mapping of images",
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.4.2}}}}  # all\n"),
            worker(),
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.4.2}}, {worker_flow}}}  # all\n"),
        ),
        (
            "an empty flow mapping becomes a block",
            "version: 1\nimages: {}  # none yet\n".into(),
            worker(),
            format!("version: 1\nimages:  # none yet\n{worker_block}"),
        ),
        (
            "null images",
            "version: 1\nimages: ~\n".into(),
            worker(),
            format!("version: 1\nimages:\n{worker_block}"),
        ),
        (
            "no images",
            "# new\nversion: 1\n".into(),
            worker(),
            format!("# new\nversion: 1\nimages:\n{worker_block}"),
        ),
        (
            "no final line break",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2"),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n  worker=ghcr.io/shop/worker:\n    tag: build-10"),
        ),
        (
            "CRLF",
            format!("version: 1\r\nimages:\r\n  {WEB}:\r\n    tag: 1.4.2\r\n"),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            format!(
                "version: 1\r\nimages:\r\n  {WEB}:\r\n    tag: 1.4.2\r\n  worker=ghcr.io/shop/worker:\r\n    tag: \
                 build-10\r\n"
            ),
        ),
        (
            "every key, in the fixed order; a port quoted in flow style only",
            format!("version: 1\nimages:\n  {WEB}: {{tag: 1.4.2}}\n"),
            LockEntry {
                pin: Some(tag("1.10")),
                hold: true,
                rejected: vec![tag("2.0.0"), tag("2.1")],
                ..entry("localhost:5000/app", "1.9.0")
            },
            format!(
                "version: 1\nimages:\n  {WEB}: {{tag: 1.4.2}}\n  \"localhost:5000/app\": {{tag: 1.9.0, pin: \"1.10\", \
                 hold: true, rejected: [2.0.0, \"2.1\"]}}\n"
            ),
        ),
        (
            // Found by the lock_file fuzz target: the parser's end of a flow mapping was its trailing comma.
            "flow mappings with trailing commas",
            format!("{{version: 1, images: {{{WEB}: {{tag: 1.4.2,}},}}}}"),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            format!("{{version: 1, images: {{{WEB}: {{tag: 1.4.2,}}, worker=ghcr.io/shop/worker: {{tag: build-10}},}}}}"),
        ),
        (
            // Found by the lock_file fuzz target: the indentation was taken after the key's YAML tag.
            "after a key with a YAML tag",
            format!("version: 1\nimages:\n  !!str {WEB}: {{tag: 1.4.2}}\n"),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            format!("version: 1\nimages:\n  !!str {WEB}: {{tag: 1.4.2}}\n  worker=ghcr.io/shop/worker: {{tag: build-10}}\n"),
        ),
        (
            // Found by the lock_file fuzz target: a comment indented with a tab ended up inside the new block.
            "before a comment indented with a tab",
            "version: 1\n \t# tabbed\n# end\n".into(),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            "version: 1\n \t# tabbed\nimages:\n  worker=ghcr.io/shop/worker:\n    tag: build-10\n# end\n".into(),
        ),
        (
            // Found by the lock_file fuzz target: a blank line before such a comment stopped the search for it.
            "before a blank line and a comment indented with a tab",
            "version: 1\r\n\n \t\t# tabbed\n\n# end\n".into(),
            entry("worker=ghcr.io/shop/worker", "build-10"),
            "version: 1\r\n\n \t\t# tabbed\nimages:\r\n  worker=ghcr.io/shop/worker:\r\n    tag: build-10\r\n\n# \
             end\n"
                .into(),
        ),
        (
            "every key, block style",
            "version: 1\nimages: {}\n".into(),
            LockEntry {
                pin: Some(tag("1.10")),
                hold: true,
                rejected: vec![tag("2.0.0")],
                ..entry("localhost:5000/app", "1.9.0")
            },
            "version: 1\nimages:\n  localhost:5000/app:\n    tag: 1.9.0\n    pin: \"1.10\"\n    hold: true\n    \
             rejected: [2.0.0]\n"
                .into(),
        ),
    ] {
        assert_eq!(apply(&before, &Op::Add(entry)), Ok(after), "{name}");
    }
}

#[test]
fn add_rejected_appends_in_the_list_style_there_is() {
    let web = |fields: &str| format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n{fields}");
    for (name, before, rejected, after) in [
        (
            "no list yet: one in flow style after the last key",
            web("    hold: true   # until the fix\n# end\n"),
            "1.4.3",
            web("    hold: true   # until the fix\n    rejected: [1.4.3]\n# end\n"),
        ),
        (
            "a flow list",
            web("    rejected: [1.4.3]  # broke checkout\n"),
            "1.4.4",
            web("    rejected: [1.4.3, 1.4.4]  # broke checkout\n"),
        ),
        (
            "an empty flow list",
            web("    rejected: []\n"),
            "1.4.4",
            web("    rejected: [1.4.4]\n"),
        ),
        (
            "a block list, at its indentation; a number-like tag quoted",
            web("    rejected:\n      - 1.4.3   # broke checkout\n    policy: p\n"),
            "1.10",
            web(
                "    rejected:\n      - 1.4.3   # broke checkout\n      - \"1.10\"\n    policy: p\n",
            ),
        ),
        (
            "a flow list: a tag with an upper-case base prefix quoted",
            web("    rejected: [1.4.3]\n"),
            "0O17",
            web("    rejected: [1.4.3, \"0O17\"]\n"),
        ),
        (
            "a null list",
            web("    rejected:   # none\n"),
            "1.4.3",
            web("    rejected: [1.4.3]   # none\n"),
        ),
        (
            "there already: nothing changes",
            web("    rejected: [1.4.3]\n"),
            "1.4.3",
            web("    rejected: [1.4.3]\n"),
        ),
        (
            "a flow entry",
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.4.2}}}}\n"),
            "1.4.3",
            format!("version: 1\nimages: {{{WEB}: {{tag: 1.4.2, rejected: [1.4.3]}}}}\n"),
        ),
    ] {
        assert_eq!(
            apply(&before, &Op::Reject(WEB, rejected)),
            Ok(after),
            "{name}"
        );
    }
}

#[test]
fn edits_that_cannot_be_made_fail_and_say_why() {
    let prefix = "image-resolver.lock.yaml: ";
    let plain = format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n");
    for (name, before, op, want) in [
        (
            "no such entry",
            plain.clone(),
            Op::Set("api=ghcr.io/shop/api", "1.0.0", None, "p"),
            "no entry 'api=ghcr.io/shop/api' to change".to_string(),
        ),
        (
            "an entry there already",
            plain.clone(),
            Op::Add(entry(WEB, "1.5.0")),
            format!("entry '{WEB}' exists already"),
        ),
        (
            "rejecting the tag the entry renders",
            plain.clone(),
            Op::Reject(WEB, "1.4.2"),
            format!("entry '{WEB}': cannot reject 1.4.2, the tag the entry renders; move it first"),
        ),
        (
            "moving to a rejected tag",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    rejected: [1.4.3]\n"),
            Op::Set(WEB, "1.4.3", None, "p"),
            format!("entry '{WEB}': cannot move to 1.4.3, one of its rejected tags"),
        ),
        (
            "an entry that is a YAML alias",
            format!("version: 1\nimages:\n  {WEB}: &e {{tag: 1.4.2}}\n  canary=ghcr.io/shop/web: *e\n"),
            Op::Set("canary=ghcr.io/shop/web", "1.5.0", None, "p"),
            "cannot change entry 'canary=ghcr.io/shop/web' in place: it is not a mapping written out (an \
             alias?); change the file by hand"
                .into(),
        ),
        (
            "an anchor on the value",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: &t 1.4.2\n    pin: *t\n"),
            Op::Set(WEB, "1.5.0", None, "p"),
            format!(
                "cannot change entry '{WEB}' in place: a value has an anchor or is a block scalar; change the \
                 file by hand"
            ),
        ),
        (
            "a block scalar",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    policy: >\n      strategy semver\n"),
            Op::Set(WEB, "1.4.2", None, "strategy alphabetical"),
            format!(
                "cannot change entry '{WEB}' in place: a value has an anchor or is a block scalar; change the \
                 file by hand"
            ),
        ),
        (
            // Found by the lock_file fuzz target: the tag stayed, and tagged the entries written below it.
            "a null with a YAML tag",
            "version: 1\nimages: !!str # none yet\n".into(),
            Op::Add(worker()),
            "cannot change entry 'worker=ghcr.io/shop/worker' in place: `images` is not a mapping written in the \
             file; change the file by hand"
                .into(),
        ),
        (
            // Found by the lock_file fuzz target: the new entry's line break became the block scalar's.
            "after a block scalar at the end of the file",
            format!("version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    policy: >\n      strategy semver"),
            Op::Add(worker()),
            "cannot change entry 'worker=ghcr.io/shop/worker' in place: a block scalar (`|`, `>`) ends where the \
             new lines would go; change the file by hand"
                .into(),
        ),
        (
            // Found by the lock_file fuzz target: libyaml reads `?images` in a flow mapping as the key `images`,
            // saphyr-parser as `?images`.
            "a key the two parsers read differently",
            format!("{{version: 1, ?images: {{{WEB}: {{tag: 1.4.2}}}}}}"),
            Op::Add(worker()),
            "cannot change the file in place: its YAML reads differently to the parsers that read it (an unusual \
             spelling of a key?); change the file by hand"
                .into(),
        ),
        (
            "a file that does not parse",
            "images: {}\n".into(),
            Op::Add(worker()),
            "no `version`; a lock file starts with `version: 1`".into(),
        ),
    ] {
        assert_eq!(apply(&before, &op), Err(format!("{prefix}{want}")), "{name}");
    }
}

#[test]
fn a_new_file_has_the_fixed_layout_and_reads_back() {
    let header_lines = write(&[])
        .lines()
        .take_while(|l| l.starts_with('#'))
        .count();
    assert_eq!(header_lines, 9, "a comment says what the file is");
    let body = |text: &str| {
        text.lines()
            .skip(header_lines)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&write(&[])), "version: 1\nimages: {}");
    let entries = [
        worker(),
        LockEntry {
            digest: Some(DIGEST.into()),
            policy: Some("strategy semver, constraint '^1'".into()),
            pin: Some(tag("1.4.0")),
            rejected: vec![tag("1.4.3")],
            ..entry(WEB, "1.4.2")
        },
    ];
    let text = write(&entries);
    assert_eq!(
        body(&text),
        format!(
            "version: 1\nimages:\n  {WEB}:\n    tag: 1.4.2\n    digest: {DIGEST}\n    policy: \"strategy semver, \
             constraint '^1'\"\n    pin: 1.4.0\n    rejected: [1.4.3]\n  worker=ghcr.io/shop/worker:\n    tag: \
             build-10\n    digest: {DIGEST_2}\n    policy: \"strategy newest-build\""
        ),
        "sorted by key"
    );
    let [worker, web] = entries;
    assert_eq!(
        LockFile::parse(&text),
        Ok(LockFile::from_entries([web, worker]))
    );
}
