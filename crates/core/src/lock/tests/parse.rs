//! Reading: each valid layout to its entries, each kind of invalid file to its full message.

use super::{DIGEST, entry, key, tag};
use crate::lock::{LockEntry, LockFile, LockKey};

#[test]
fn valid_files_read_as_their_entries() {
    let web = || entry("web=ghcr.io/shop/web", "1.4.2");
    for (name, text, want) in [
        (
            "every key, block style, with comments and blank lines",
            format!(
                "# the shop\nversion: 1\n\nimages:\n  # the front end\n  web=ghcr.io/shop/web:  # runs in prod\n    \
                 tag: 1.4.2\n    digest: {DIGEST}\n    policy: \"strategy semver, constraint '^1'\"\n    pin: 1.4.0  \
                 # rollback, see #123\n    hold: true\n    rejected:\n    - 1.4.3\n    - \"1.5\"\n"
            ),
            vec![LockEntry {
                digest: Some(DIGEST.into()),
                policy: Some("strategy semver, constraint '^1'".into()),
                pin: Some(tag("1.4.0")),
                hold: true,
                rejected: vec![tag("1.4.3"), tag("1.5")],
                ..web()
            }],
        ),
        (
            "flow style throughout",
            "{version: 1, images: {web=ghcr.io/shop/web: {tag: 1.4.2, rejected: [1.4.3]}}}".into(),
            vec![LockEntry {
                rejected: vec![tag("1.4.3")],
                ..web()
            }],
        ),
        (
            "one repository under two aliases, and one without alias, in the order written",
            "version: 1\nimages:\n  web=ghcr.io/shop/web: {tag: 1.4.2}\n  canary=ghcr.io/shop/web: {tag: 2.0.0-rc.1}\n  \
             docker.io/library/nginx: {tag: '1.27'}\n"
                .into(),
            vec![
                web(),
                entry("canary=ghcr.io/shop/web", "2.0.0-rc.1"),
                entry("docker.io/library/nginx", "1.27"),
            ],
        ),
        (
            "tags that YAML reads as numbers are read as written",
            "version: 1\nimages:\n  web=ghcr.io/shop/web:\n    tag: 1.10\n    pin: 010\n    rejected: [1.20, 2e3]\n"
                .into(),
            vec![LockEntry {
                pin: Some(tag("010")),
                rejected: vec![tag("1.20"), tag("2e3")],
                ..entry("web=ghcr.io/shop/web", "1.10")
            }],
        ),
        (
            "CRLF line breaks, multi-byte comments, a document marker, hold false",
            "---\r\n# Ünïcödé ☕ 漢字\r\nversion: 1\r\nimages:\r\n  web=ghcr.io/shop/web:   # ☕\r\n    tag: 1.4.2\r\n    \
             hold: false\r\n...\r\n"
                .into(),
            vec![web()],
        ),
        (
            "an alias for an entry (YAML's, not the image-list's)",
            "version: 1\nimages:\n  web=ghcr.io/shop/web: &same {tag: 1.4.2}\n  canary=ghcr.io/shop/web: *same\n"
                .into(),
            vec![web(), entry("canary=ghcr.io/shop/web", "1.4.2")],
        ),
        ("no images", "version: 1\n".into(), vec![]),
        ("a byte order mark", "\u{feff}version: 1\n".into(), vec![]),
        ("images null", "version: 1\nimages:   # none yet\n".into(), vec![]),
        ("images empty", "version: 1\nimages: {}\n".into(), vec![]),
    ] {
        assert_eq!(
            LockFile::parse(&text),
            Ok(LockFile::from_entries(want)),
            "{name}"
        );
    }
}

#[test]
fn invalid_files_fail_naming_the_file_the_entry_and_the_key() {
    let entry = |fields: &str| format!("version: 1\nimages:\n  web=ghcr.io/shop/web:\n{fields}");
    for (name, text, want) in [
        (
            "empty",
            String::new(),
            "the file is empty; a lock file starts with `version: 1`",
        ),
        (
            "only comments",
            "# soon\n".into(),
            "the file is empty; a lock file starts with `version: 1`",
        ),
        (
            "no version",
            "images: {}\n".into(),
            "no `version`; a lock file starts with `version: 1`",
        ),
        (
            "a version from the future",
            "version: 2\n".into(),
            "key 'version': version 2 is not one this argocd-image-resolver reads (it reads version 1): upgrade \
             the plugin, or write the file again",
        ),
        (
            "a version that is no number",
            "version: \"1\"\n".into(),
            "key 'version': invalid type: string \"1\", expected the format's version, a whole number such as 1 \
             at line 1 column 10",
        ),
        (
            "a key of the file twice",
            "version: 1\nversion: 1\n".into(),
            "key 'version': written twice",
        ),
        (
            "an unknown key of the file",
            "version: 1\nimage: {}\n".into(),
            "key 'image': unknown key; a lock file has `version` and `images`",
        ),
        (
            "images as a list",
            "version: 1\nimages:\n- web=ghcr.io/shop/web\n".into(),
            "key 'images': invalid type: sequence, expected a mapping of `[alias=]repository` to entries at line \
             3 column 1",
        ),
        (
            "an entry twice",
            "version: 1\nimages:\n  web=ghcr.io/shop/web: {tag: 1.0.0}\n  web=ghcr.io/shop/web: {tag: 1.1.0}\n"
                .into(),
            "entry 'web=ghcr.io/shop/web': written twice",
        ),
        (
            "an entry that is no mapping",
            "version: 1\nimages:\n  web=ghcr.io/shop/web: 1.0.0\n".into(),
            "entry 'web=ghcr.io/shop/web': invalid type: string \"1.0.0\", expected an entry: a mapping of tag, \
             digest, policy, pin, hold and rejected at line 3 column 25",
        ),
        (
            "an empty entry",
            entry(""),
            "entry 'web=ghcr.io/shop/web': no `tag`: every entry names the tag it renders",
        ),
        (
            "no tag",
            entry(&format!("    digest: {DIGEST}\n")),
            "entry 'web=ghcr.io/shop/web': no `tag`: every entry names the tag it renders",
        ),
        (
            "an unknown key of an entry (a typo)",
            entry("    tga: 1.0.0\n"),
            "entry 'web=ghcr.io/shop/web', key 'tga': unknown key; an entry has tag, digest, policy, pin, hold \
             and rejected",
        ),
        (
            "a merge key",
            "version: 1\nimages:\n  web=ghcr.io/shop/web: &base {tag: 1.0.0}\n  canary=ghcr.io/shop/web:\n    \
             <<: *base\n"
                .into(),
            "entry 'canary=ghcr.io/shop/web', key '<<': unknown key; an entry has tag, digest, policy, pin, hold \
             and rejected",
        ),
        (
            "a key of an entry twice",
            entry("    tag: 1.0.0\n    tag: 1.1.0\n"),
            "entry 'web=ghcr.io/shop/web', key 'tag': written twice",
        ),
        (
            "an invalid tag",
            entry("    tag: v 1\n"),
            "entry 'web=ghcr.io/shop/web', key 'tag': invalid tag 'v 1': a tag is 1 to 128 letters, digits, '_', \
             '.' or '-', and does not start with '.' or '-'",
        ),
        (
            "a tag that is no string",
            entry("    tag: [1.0.0]\n"),
            "entry 'web=ghcr.io/shop/web', key 'tag': invalid type: sequence, expected a string at line 4 column 10",
        ),
        (
            "an invalid pin",
            entry("    tag: 1.0.0\n    pin: -1\n"),
            "entry 'web=ghcr.io/shop/web', key 'pin': invalid tag '-1': a tag is 1 to 128 letters, digits, '_', \
             '.' or '-', and does not start with '.' or '-'",
        ),
        (
            "an invalid rejected tag",
            entry("    tag: 1.0.0\n    rejected: [1.1.0, x/../y]\n"),
            "entry 'web=ghcr.io/shop/web', key 'rejected': invalid tag 'x/../y': a tag is 1 to 128 letters, \
             digits, '_', '.' or '-', and does not start with '.' or '-'",
        ),
        (
            "rejected as a scalar",
            entry("    tag: 1.0.0\n    rejected: 1.1.0\n"),
            "entry 'web=ghcr.io/shop/web', key 'rejected': invalid type: string \"1.1.0\", expected a sequence at \
             line 5 column 15",
        ),
        (
            "the tag among the rejected",
            entry("    tag: 1.0.0\n    rejected: [1.0.0]\n"),
            "entry 'web=ghcr.io/shop/web', key 'rejected': lists the entry's own tag 1.0.0: the committer would \
             never leave it; take it out of `rejected`, or set `tag` to another tag",
        ),
        (
            "a rejected tag twice",
            entry("    tag: 1.0.0\n    rejected: [1.1.0, 1.1.0]\n"),
            "entry 'web=ghcr.io/shop/web', key 'rejected': lists 1.1.0 twice",
        ),
        (
            "a digest in upper case",
            entry(&format!("    tag: 1.0.0\n    digest: {}\n", DIGEST.to_uppercase())),
            "entry 'web=ghcr.io/shop/web', key 'digest': invalid digest 'SHA256:0F3A5E8B7C2D4F6A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E0F1A': \
             write '<algorithm>:<hex>', such as 'sha256:' and 64 lower-case hex digits",
        ),
        (
            "a digest too short",
            entry("    tag: 1.0.0\n    digest: sha256:0f3a\n"),
            "entry 'web=ghcr.io/shop/web', key 'digest': invalid digest 'sha256:0f3a': write '<algorithm>:<hex>', \
             such as 'sha256:' and 64 lower-case hex digits",
        ),
        (
            "hold as a YAML 1.1 word",
            entry("    tag: 1.0.0\n    hold: yes\n"),
            "entry 'web=ghcr.io/shop/web', key 'hold': invalid type: string \"yes\", expected a boolean at line 5 \
             column 11",
        ),
        (
            "a familiar repository name",
            "version: 1\nimages:\n  nginx: {tag: '1.27'}\n".into(),
            "entry 'nginx': repository 'nginx' is not written in canonical form, with its registry and full \
             path: write 'docker.io/library/nginx'",
        ),
        (
            "Docker Hub without library/",
            "version: 1\nimages:\n  web=docker.io/nginx: {tag: '1.27'}\n".into(),
            "entry 'web=docker.io/nginx': repository 'docker.io/nginx' is not written in canonical form, with its \
             registry and full path: write 'docker.io/library/nginx'",
        ),
        (
            "a key with a tag",
            "version: 1\nimages:\n  web=ghcr.io/shop/web:1.0: {tag: 1.0.0}\n".into(),
            "entry 'web=ghcr.io/shop/web:1.0': 'ghcr.io/shop/web:1.0' names a tag or digest; the key is the \
             repository alone (write 'ghcr.io/shop/web')",
        ),
        (
            "an alias image-list would refuse",
            "version: 1\nimages:\n  -web=ghcr.io/shop/web: {tag: 1.0.0}\n".into(),
            "entry '-web=ghcr.io/shop/web': alias '-web' is not one image-list allows: ASCII letters, digits, '-', \
             '_', '.' and '/', beginning and ending with a letter or digit",
        ),
        (
            "a repository that is none",
            "version: 1\nimages:\n  web=ghcr.io/Shop/web: {tag: 1.0.0}\n".into(),
            "entry 'web=ghcr.io/Shop/web': invalid image reference 'ghcr.io/Shop/web': repository name must be \
             lowercase (write 'ghcr.io/shop/web')",
        ),
        (
            "bad indentation: the parser's position, no entry named",
            entry("    tag: 1.0.0\n   policy: x\n"),
            "did not find expected key at line 5 column 4, while parsing a block mapping at line 3 column 3",
        ),
        (
            "two documents",
            "version: 1\n---\nversion: 1\n".into(),
            "deserializing from YAML containing more than one document is not supported",
        ),
    ] {
        let got = LockFile::parse(&text).map_err(|e| e.to_string());
        assert_eq!(got, Err(format!("image-resolver.lock.yaml: {want}")), "{name}");
    }
}

#[test]
fn keys_read_and_write_alike() {
    for (text, alias, repository) in [
        ("web=ghcr.io/shop/web", Some("web"), "ghcr.io/shop/web"),
        (
            "team/web=ghcr.io/shop/web",
            Some("team/web"),
            "ghcr.io/shop/web",
        ),
        ("docker.io/library/nginx", None, "docker.io/library/nginx"),
        ("localhost:5000/app", None, "localhost:5000/app"),
    ] {
        let key = LockKey::parse(text).unwrap();
        assert_eq!(
            (key.alias(), key.repository()),
            (alias, repository),
            "{text}"
        );
        assert_eq!(key.to_string(), text, "{text}");
    }
    assert_eq!(key("web=ghcr.io/shop/web"), key("web=ghcr.io/shop/web"));
    assert_ne!(key("web=ghcr.io/shop/web"), key("ghcr.io/shop/web"));
}
