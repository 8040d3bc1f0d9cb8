use super::fetch::available;
use super::*;

const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":2,"platform":{"os":"linux","architecture":"amd64"}}]}"#;
const IMAGE: &str = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:cc","size":3},"layers":[]}"#;

#[test]
fn parses_manifests() {
    for (name, content_type, body, want) in [
        ("oci index from body", None, INDEX, Ok((OCI_INDEX, 2))),
        (
            "docker manifest from header",
            Some("application/vnd.docker.distribution.manifest.v2+json"),
            IMAGE,
            Ok((DOCKER_MANIFEST, 0)),
        ),
        (
            "header with parameters",
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            IMAGE,
            Ok((OCI_MANIFEST, 0)),
        ),
        (
            "octet-stream header, shape decides",
            Some("application/octet-stream"),
            INDEX,
            Ok((OCI_INDEX, 2)),
        ),
        (
            "body media type wins over header",
            Some(DOCKER_MANIFEST),
            INDEX,
            Ok((OCI_INDEX, 2)),
        ),
        (
            "generic json header, shape decides",
            Some("application/json"),
            IMAGE,
            Ok((OCI_MANIFEST, 0)),
        ),
        (
            "docker list from header when the body has no media type",
            Some(DOCKER_MANIFEST_LIST),
            r#"{"schemaVersion":2,"manifests":[]}"#,
            Ok((DOCKER_MANIFEST_LIST, 0)),
        ),
        (
            "schema 1",
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            r#"{"schemaVersion":1}"#,
            Err(ManifestError::Unsupported(
                "application/vnd.docker.distribution.manifest.v1+prettyjws".into(),
            )),
        ),
        (
            "index without manifests",
            Some(OCI_INDEX),
            "{}",
            Err(ManifestError::Invalid("index without 'manifests'".into())),
        ),
        (
            "no shape",
            None,
            "{}",
            Err(ManifestError::Invalid(
                "neither 'manifests' nor 'config' present".into(),
            )),
        ),
    ] {
        let got = parse_manifest(content_type, body.as_bytes()).map(|(media_type, kind)| {
            let count = match kind {
                ManifestKind::Index { manifests } => manifests.len(),
                ManifestKind::Image { .. } => 0,
            };
            (media_type, count)
        });
        assert_eq!(got, want.map(|(m, c)| (m.to_string(), c)), "{name}");
    }
    assert!(
        matches!(
            parse_manifest(None, b"not json"),
            Err(ManifestError::Invalid(_))
        ),
        "not json"
    );
}

#[test]
fn parses_image_configs() {
    let full = r#"{"created":"2024-01-02T03:04:05.123456789Z","os":"linux","architecture":"arm64","variant":"v8",
            "config":{"Labels":{"org.opencontainers.image.revision":"abc"}}}"#;
    let got = parse_image_config(full.as_bytes()).unwrap();
    assert_eq!(
        got.created.unwrap().to_rfc3339(),
        "2024-01-02T03:04:05.123456789+00:00"
    );
    assert_eq!(
        got.labels
            .get("org.opencontainers.image.revision")
            .map(String::as_str),
        Some("abc")
    );
    assert_eq!(
        got.platform,
        Some(Platform::new("linux", "arm64", Some("v8")))
    );
    for (name, body, want) in [
        (
            "offset time",
            r#"{"created":"2024-01-02T05:04:05+02:00"}"#,
            Ok(Some("2024-01-02T03:04:05+00:00")),
        ),
        ("no created", r#"{"config":{"Labels":null}}"#, Ok(None)),
        ("null config", r#"{"config":null}"#, Ok(None)),
        (
            "bad created: undated",
            r#"{"created":"yesterday"}"#,
            Ok(None),
        ),
        (
            "month 0: undated",
            r#"{"created":"2024-00-01T00:00:00Z"}"#,
            Ok(None),
        ),
    ] {
        let got = parse_image_config(body.as_bytes()).map(|c| c.created.map(|t| t.to_rfc3339()));
        assert_eq!(got, want.map(|o| o.map(str::to_string)), "{name}");
    }
    assert_eq!(
        parse_image_config(br#"{"created":"yesterday"}"#)
            .unwrap()
            .unreadable_created
            .as_deref(),
        Some("yesterday"),
        "kept for the warning"
    );
    assert_eq!(
        parse_image_config(b"[").unwrap_err().to_string(),
        "image config is not valid JSON: EOF while parsing a list at line 1 column 1"
    );
}

#[test]
fn digests_and_availability() {
    assert_eq!(
        sha256_digest(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let (_, kind) = parse_manifest(None, INDEX.as_bytes()).unwrap();
    let ManifestKind::Index { manifests } = kind else {
        panic!("index expected")
    };
    assert_eq!(available(&manifests), "linux/arm/v7, linux/amd64");
    assert_eq!(available(&[]), "no platform entries");
}
