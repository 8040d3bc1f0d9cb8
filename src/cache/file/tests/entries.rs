//! What the file backend stores and reads back: entries round-trip under their keys (per credential, per policy),
//! files name their key in clear, broken files are misses, directories are checked and made absolute.

use super::*;

#[test]
fn resolutions_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    for (name, key, resolved) in [
        (
            "with digest",
            resolution_key("docker.io/library/nginx", &policy("semver", "~1.25")),
            Resolved {
                tag: "1.25.5".into(),
                digest: Some(DIGEST.into()),
                resolved_at: time("2026-01-01T10:00:00Z"),
            },
        ),
        (
            "without digest, policy with non-ascii and newline",
            resolution_key(
                "ghcr.io/org/app",
                &Policy {
                    allow: AllowTags::parse("regexp:^2\n?").unwrap(),
                    ignore: IgnoreTags::parse("é*").unwrap(),
                    ..policy("alphabetical", "")
                },
            ),
            Resolved {
                tag: "2024.05.01".into(),
                digest: None,
                resolved_at: time("2026-01-01T10:00:00.123456789Z"),
            },
        ),
    ] {
        assert_eq!(cache.last_known_good(&key), None, "{name}: before");
        cache.record(&key, &resolved).unwrap();
        assert_eq!(
            cache.last_known_good(&key),
            Some(resolved.clone()),
            "{name}"
        );
        let newer = Resolved {
            tag: "9.9.9".into(),
            ..resolved
        };
        cache.record(&key, &newer).unwrap();
        assert_eq!(cache.last_known_good(&key), Some(newer), "{name}: replaced");
    }
    let other = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    assert_eq!(
        cache.last_known_good(&other),
        None,
        "another policy shares nothing"
    );
}

#[test]
fn tag_lists_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at("2026-01-01T10:00:00Z");
    let cache = open(dir.path(), clock.clone());
    let key = TagsKey::new("docker.io/library/nginx");
    for (name, tags) in [
        ("empty", Vec::new()),
        (
            "with metadata",
            vec![
                Tag {
                    name: "1.25.5".parse().unwrap(),
                    created: Some(time("2024-05-01T10:00:00Z")),
                    digest: Some(DIGEST.into()),
                },
                Tag::parse("latest").unwrap(),
            ],
        ),
    ] {
        let cached = CachedTags {
            tags,
            fetched_at: clock.now(),
        };
        cache.store_tags(&key, &cached).unwrap();
        assert_eq!(cache.tags(&key, TTL), Some(cached), "{name}");
    }
    let leftovers: Vec<String> = fs::read_dir(dir.path().join("v1/tags"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        [format!("{}.json", key.file_stem())],
        "only the cache file remains: no temporary files"
    );
}

#[test]
fn files_carry_their_key_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let resolved = Resolved {
        tag: "1.25.5".into(),
        digest: None,
        resolved_at: time("2026-01-01T10:00:00Z"),
    };
    cache.record(&key, &resolved).unwrap();
    let path = dir
        .path()
        .join("v1/resolved")
        .join(format!("{}.json", key.file_stem()));
    let json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "key": {
                "registry": "docker.io",
                "repository": "library/nginx",
                "policy": {
                    "strategy": {
                        "name": "semver",
                        "constraint": null,
                        "include_prerelease": false,
                        "strict": false,
                    },
                    "allow_tags": null,
                    "ignore_tags": [],
                    "tag_pattern": null,
                    "platforms": [],
                },
                "credential": null,
                "scope": null,
            },
            "tag": "1.25.5",
            "resolved_at": "2026-01-01T10:00:00Z",
        })
    );
}

#[test]
fn answers_are_kept_per_credential_an_application_named() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = |credentials: Option<&str>| {
        ResolutionKey::with_credentials(
            &ImageRef::parse("ghcr.io/org/app").unwrap(),
            &policy("semver", ""),
            credentials.map(|c| c.parse().unwrap()).as_ref(),
            None,
        )
    };
    let resolved = Resolved {
        tag: "1.2.0".into(),
        digest: None,
        resolved_at: time("2026-01-01T10:00:00Z"),
    };
    cache
        .record(&key(Some("pullsecret:team-a/regcred")), &resolved)
        .unwrap();
    for (name, credentials, want) in [
        (
            "the same secret",
            Some("pullsecret:team-a/regcred"),
            Some(&resolved),
        ),
        ("another secret", Some("pullsecret:team-b/regcred"), None),
        ("the sidecar's own credentials", None, None),
    ] {
        assert_eq!(
            cache.last_known_good(&key(credentials)).as_ref(),
            want,
            "{name}"
        );
    }
    fs::copy(
        cache.resolved_path(&key(Some("pullsecret:team-a/regcred"))),
        cache.resolved_path(&key(None)),
    )
    .unwrap();
    assert_eq!(
        cache.last_known_good(&key(None)),
        None,
        "a file moved under another key's name"
    );
}

#[test]
fn tag_lists_are_kept_per_credential_source() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at("2026-01-01T10:00:00Z");
    let cache = open(dir.path(), clock.clone());
    let read_with = |credentials: Option<&str>| {
        TagsKey::with_credentials("ghcr.io/org/app", credentials.map(String::from))
    };
    let private = CachedTags {
        tags: tag_list(&["1.0-private"]),
        fetched_at: clock.now(),
    };
    cache
        .store_tags(&read_with(Some("pull-secret team-a/regcred")), &private)
        .unwrap();
    for (name, credentials, want) in [
        (
            "the same source",
            Some("pull-secret team-a/regcred"),
            Some(&private),
        ),
        ("another source", Some("pull-secret team-b/regcred"), None),
        ("anonymous", None, None),
    ] {
        assert_eq!(
            cache.tags(&read_with(credentials), TTL).as_ref(),
            want,
            "{name}"
        );
    }

    // A file moved under another key's name is not that key's list.
    fs::copy(
        cache.tags_path(&read_with(Some("pull-secret team-a/regcred"))),
        cache.tags_path(&read_with(None)),
    )
    .unwrap();
    assert_eq!(cache.tags(&read_with(None), TTL), None, "copied file");
}

#[test]
fn image_metadata_round_trips_under_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let amd64 = MetadataKey::new("ghcr.io/org/app", &[Platform::linux_amd64()]);
    let (built, undated, missing) = (DIGEST.replace('0', "f"), DIGEST.replace('0', "e"), DIGEST);
    let known = KnownImages {
        images: BTreeMap::from([
            (
                built.clone(),
                ImageMetadata::Built {
                    created: Some(time("2024-05-01T10:00:00Z")),
                },
            ),
            (undated.clone(), ImageMetadata::Built { created: None }),
            (missing.to_string(), ImageMetadata::NoImageForPlatforms),
        ]),
        tags: BTreeMap::from([
            ("build-1".to_string(), built.clone()),
            ("build-2".to_string(), undated.clone()),
        ]),
        tags_checked_at: Some(time("2026-01-01T10:00:00Z")),
    };
    let nothing = KnownImages::default();
    assert_eq!(cache.image_metadata(&amd64), nothing, "nothing yet");
    cache.store_image_metadata(&amd64, &known).unwrap();
    assert_eq!(cache.image_metadata(&amd64), known);

    let arm64 = MetadataKey::new("ghcr.io/org/app", &["linux/arm64".parse().unwrap()]);
    assert_eq!(cache.image_metadata(&arm64), nothing, "other platforms");
    let path = cache.metadata_path(&amd64);
    fs::copy(&path, cache.metadata_path(&arm64)).unwrap();
    assert_eq!(
        cache.image_metadata(&arm64),
        nothing,
        "a file holding another key"
    );

    let text = fs::read_to_string(&path).unwrap();
    for (name, broken) in [
        (
            "a malformed image digest",
            text.replace(DIGEST, "sha256:short"),
        ),
        ("a malformed tag digest", text.replace(&built, "md5:x")),
        ("a malformed tag", text.replace("build-1", "build:1")),
        ("a truncated file", text[..text.len() / 2].to_string()),
    ] {
        fs::write(&path, broken).unwrap();
        assert_eq!(cache.image_metadata(&amd64), nothing, "{name}");
    }
}

#[test]
fn tag_mappings_age_like_tag_lists() {
    let at = time("2026-01-01T10:00:00Z");
    let known = KnownImages {
        tags_checked_at: Some(at),
        ..KnownImages::default()
    };
    let ttl = Duration::from_secs(30);
    let seconds = |s| at + TimeDelta::seconds(s);
    assert!(known.tags_fresh(seconds(29), ttl), "within the TTL");
    assert!(!known.tags_fresh(seconds(30), ttl), "at the TTL");
    assert!(!known.tags_fresh(seconds(-1), ttl), "from the future");
    assert!(!KnownImages::default().tags_fresh(at, ttl), "never checked");
}

#[test]
fn broken_files_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::open(dir.path()).unwrap();
    let key = resolution_key("docker.io/library/nginx", &policy("semver", ""));
    let tags_key = TagsKey::new("docker.io/library/nginx");
    let resolved_path = cache.resolved_path(&key);
    let tags_path = cache.tags_path(&tags_key);
    let good_resolved = r#"{"key":{"registry":"docker.io","repository":"library/nginx","policy":{"strategy":{"name":"semver","constraint":null,"include_prerelease":false,"strict":false},"allow_tags":null,"ignore_tags":[],"tag_pattern":null,"platforms":[]},"credential":null,"scope":null},"tag":"1.0","resolved_at":"2026-01-01T00:00:00Z"}"#;
    let good_tags = r#"{"repository":"docker.io/library/nginx","fetched_at":"2099-01-01T00:00:00Z","tags":[{"name":"1.0"}]}"#;
    for (name, resolved, tags) in [
        ("empty", "", ""),
        ("not json", "tag: 1.0", "- 1.0"),
        (
            "truncated",
            &good_resolved[..good_resolved.len() / 2],
            &good_tags[..good_tags.len() / 2],
        ),
        (
            "wrong type",
            "[]",
            r#"{"repository":"docker.io/library/nginx","fetched_at":"2099-01-01T00:00:00Z","tags":"1.0"}"#,
        ),
        (
            "another key",
            &good_resolved.replace("nginx", "redis"),
            &good_tags.replace("nginx", "redis"),
        ),
        (
            "malformed tag",
            &good_resolved.replace(r#""1.0""#, r#""a:b""#),
            &good_tags.replace(r#""1.0""#, r#""a:b""#),
        ),
        (
            "malformed digest",
            &good_resolved.replace(r#""tag""#, r#""digest":"md5:x","tag""#),
            &good_tags.replace(r#""name""#, r#""digest":"md5:x","name""#),
        ),
        (
            "bad time",
            &good_resolved.replace("2026-01-01T00:00:00Z", "yesterday"),
            &good_tags.replace("2099-01-01T00:00:00Z", "tomorrow"),
        ),
    ] {
        fs::write(&resolved_path, resolved).unwrap();
        fs::write(&tags_path, tags).unwrap();
        assert_eq!(cache.last_known_good(&key), None, "{name}: resolution");
        assert_eq!(cache.tags(&tags_key, Duration::MAX), None, "{name}: tags");
    }
    // The same files, well-formed, are hits: the cases above fail for the reason they name.
    fs::write(&resolved_path, good_resolved).unwrap();
    fs::write(&tags_path, good_tags).unwrap();
    assert!(cache.last_known_good(&key).is_some(), "good resolution");
    assert!(
        cache.tags(&tags_key, Duration::MAX).is_none(),
        "good tags fetched in the future are stale"
    );
    fs::write(&tags_path, good_tags.replace("2099", "2000")).unwrap();
    assert!(cache.tags(&tags_key, Duration::MAX).is_some(), "good tags");

    // An unreadable file (a directory in its place) is a miss too, and writing over it is an error.
    fs::remove_file(&resolved_path).unwrap();
    fs::create_dir(&resolved_path).unwrap();
    assert_eq!(
        cache.last_known_good(&key),
        None,
        "directory in place of the file"
    );
    let resolved = Resolved {
        tag: "1.0".into(),
        digest: None,
        resolved_at: time("2026-01-01T00:00:00Z"),
    };
    let err = cache.record(&key, &resolved).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write cache file {}: Is a directory (os error 21)",
            resolved_path.display()
        )
    );
}

#[test]
fn unwritable_dirs_are_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let layout_is_file = dir.path().join("cache");
    fs::create_dir_all(layout_is_file.join("v1")).unwrap();
    fs::write(layout_is_file.join("v1/resolved"), "").unwrap();
    for (name, cache_dir, reason) in [
        (
            "below a file",
            file.join("cache"),
            "Not a directory (os error 20)",
        ),
        (
            "a file where a directory belongs",
            layout_is_file,
            "File exists (os error 17)",
        ),
    ] {
        let err = FileCache::open(&cache_dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cache directory {} is not writable: {reason}; point --cache-dir (or IMAGE_RESOLVER_CACHE_DIR) \
                 at a writable directory",
                cache_dir.display()
            ),
            "{name}"
        );
    }
}

#[test]
fn relative_dirs_are_made_absolute() {
    let cache_dir = tempfile::tempdir_in(".").unwrap();
    let relative = cache_dir
        .path()
        .strip_prefix(std::env::current_dir().unwrap())
        .unwrap();
    assert!(relative.is_relative(), "the test needs a relative path");
    let cache = FileCache::open(relative).unwrap();
    assert_eq!(cache.dir(), std::path::absolute(relative).unwrap());
}
