//! The reference grammar: what parses, how it is normalised, and the errors naming the part at fault.

use super::*;

/// (input, registry, repository, tag, digest): distribution/reference's TestReferenceParse,
/// TestParseRepositoryInfo, TestNormalizedSplitHostname and TestValidateReferenceName cases, normalised.
#[test]
fn parses_and_normalises() {
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        ("nginx", "docker.io", "library/nginx", None, None),
        (
            "nginx:1.27",
            "docker.io",
            "library/nginx",
            Some("1.27"),
            None,
        ),
        ("user/app", "docker.io", "user/app", None, None),
        ("docker.io/nginx", "docker.io", "library/nginx", None, None),
        (
            "docker.io/library/nginx",
            "docker.io",
            "library/nginx",
            None,
            None,
        ),
        (
            "index.docker.io/nginx",
            "docker.io",
            "library/nginx",
            None,
            None,
        ),
        (
            "index.docker.io/fooo/bar",
            "docker.io",
            "fooo/bar",
            None,
            None,
        ),
        (
            "registry-1.docker.io/library/nginx",
            "docker.io",
            "library/nginx",
            None,
            None,
        ),
        ("library/ubuntu", "docker.io", "library/ubuntu", None, None),
        (
            "library/foo/bar",
            "docker.io",
            "library/foo/bar",
            None,
            None,
        ),
        ("store/foo/bar", "docker.io", "store/foo/bar", None, None),
        ("other/library", "docker.io", "other/library", None, None),
        (
            "ubuntu-12.04-base",
            "docker.io",
            "library/ubuntu-12.04-base",
            None,
            None,
        ),
        ("ghcr.io/x/y", "ghcr.io", "x/y", None, None),
        ("localhost/x", "localhost", "x", None, None),
        ("localhost:5000/x", "localhost:5000", "x", None, None),
        ("localhost", "docker.io", "library/localhost", None, None),
        (
            "localhost:5000",
            "docker.io",
            "library/localhost",
            Some("5000"),
            None,
        ),
        ("test_com", "docker.io", "library/test_com", None, None),
        ("test_com/foo", "docker.io", "test_com/foo", None, None),
        (
            "test.com:tag",
            "docker.io",
            "library/test.com",
            Some("tag"),
            None,
        ),
        (
            "test.com:5000",
            "docker.io",
            "library/test.com",
            Some("5000"),
            None,
        ),
        ("test.com/repo:tag", "test.com", "repo", Some("tag"), None),
        ("test:5000/repo", "test:5000", "repo", None, None),
        ("test:5000/repo:tag", "test:5000", "repo", Some("tag"), None),
        ("test-com:8080/foo", "test-com:8080", "foo", None, None),
        (
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080",
            "foo",
            None,
            None,
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com",
            "myimage",
            Some("xn--n3h.com"),
            None,
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com",
            "bar/baz/quux",
            Some("some-long-tag"),
            None,
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io",
            "test.example.com/my-app",
            Some("test.example.com"),
            None,
        ),
        (
            "lowercase:Uppercase",
            "docker.io",
            "library/lowercase",
            Some("Uppercase"),
            None,
        ),
        (
            "foo_bar.com:8080",
            "docker.io",
            "library/foo_bar.com",
            Some("8080"),
            None,
        ),
        (
            "foo/foo_bar.com:8080",
            "docker.io",
            "foo/foo_bar.com",
            Some("8080"),
            None,
        ),
        (
            "192.168.1.1",
            "docker.io",
            "library/192.168.1.1",
            None,
            None,
        ),
        (
            "192.168.1.1:5000",
            "docker.io",
            "library/192.168.1.1",
            Some("5000"),
            None,
        ),
        ("192.168.1.1/repo", "192.168.1.1", "repo", None, None),
        (
            "192.168.1.1:5000/repo:5050",
            "192.168.1.1:5000",
            "repo",
            Some("5050"),
            None,
        ),
        (
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000",
            "private/moonbase",
            None,
            None,
        ),
        ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None),
        (
            "[2001:db8:1:2:3:4:5:6]/repo:tag",
            "[2001:db8:1:2:3:4:5:6]",
            "repo",
            Some("tag"),
            None,
        ),
        (
            "[2001:db8::1]:5000/repo",
            "[2001:db8::1]:5000",
            "repo",
            None,
            None,
        ),
        ("[::1]:5000/repo", "[::1]:5000", "repo", None, None),
        ("Foo/bar", "Foo", "bar", None, None),
        ("DOCKER/docker", "DOCKER", "docker", None, None),
        (
            "docker---rules/docker",
            "docker.io",
            "docker---rules/docker",
            None,
            None,
        ),
        (
            "dock__er/docker",
            "docker.io",
            "dock__er/docker",
            None,
            None,
        ),
        ("d/docker", "docker.io", "d/docker", None, None),
        (
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io",
            "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            None,
            None,
        ),
        (
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker.io",
            "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            None,
            None,
        ),
        (
            "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
            "docker.io",
            "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
            None,
            None,
        ),
    ];
    for &(input, registry, repository, tag, digest) in cases {
        let image = parsed(input);
        assert_eq!(image.registry(), registry, "{input}: registry");
        assert_eq!(image.repository(), repository, "{input}: repository");
        assert_eq!(image.tag(), tag, "{input}: tag");
        assert_eq!(image.digest(), digest, "{input}: digest");
    }
}

#[test]
fn registries_conf_defaults_apply_to_names_without_a_host() {
    let corp = ImageDefaults::new("registry.corp:5000")
        .with_namespace("registry.corp:5000", "base")
        .with_namespace("quay.io", "acme");
    let cases = [
        (
            "no host: the default registry and namespace",
            "nginx:1.27",
            "registry.corp:5000/base/nginx:1.27",
        ),
        (
            "no host, with a namespace",
            "team/app",
            "registry.corp:5000/team/app",
        ),
        (
            "Docker Hub named: library as ever",
            "docker.io/nginx",
            "docker.io/library/nginx",
        ),
        (
            "a Docker Hub alias",
            "index.docker.io/redis",
            "docker.io/library/redis",
        ),
        (
            "another registry's namespace",
            "quay.io/app",
            "quay.io/acme/app",
        ),
        ("a registry without one", "ghcr.io/app", "ghcr.io/app"),
        (
            "the default registry named",
            "registry.corp:5000/app",
            "registry.corp:5000/base/app",
        ),
    ];
    for (name, input, want) in cases {
        let got = ImageRef::parse_with(input, &corp).map(|i| i.canonical());
        assert_eq!(got.as_deref(), Ok(want), "{name}");
    }
    let (image, constraint) = split_constraint_with("app:~1.2", &corp).unwrap();
    assert_eq!(
        (image.canonical().as_str(), constraint.as_deref()),
        ("registry.corp:5000/base/app", Some("~1.2")),
        "image-list entries too"
    );
    assert_eq!(
        ImageRef::parse_with("nginx", &ImageDefaults::default()),
        ImageRef::parse("nginx"),
        "the default defaults are Docker's"
    );
}

#[test]
fn parses_digests() {
    let cases = [
        ("digest only", format!("test:5000/repo@{SHA}"), None, SHA),
        (
            "tag and digest",
            format!("test:5000/repo:tag@{SHA}"),
            Some("tag"),
            SHA,
        ),
        (
            "ipv6 registry",
            format!("[2001:db8::1]:5000/repo:tag@{SHA}"),
            Some("tag"),
            SHA,
        ),
        (
            "sha512",
            format!("xn--7o8h.com/myimage:xn--7o8h.com@{SHA512}"),
            Some("xn--7o8h.com"),
            SHA512,
        ),
        (
            "familiar with tag and digest",
            format!("busybox:latest@{SHA}"),
            Some("latest"),
            SHA,
        ),
    ];
    for (name, input, tag, digest) in cases {
        let image = parsed(&input);
        assert_eq!(image.tag(), tag, "{name}: tag");
        assert_eq!(image.digest(), Some(digest), "{name}: digest");
    }
    let busybox = parsed(&format!("busybox:latest@{SHA}"));
    assert_eq!(
        busybox.canonical(),
        format!("docker.io/library/busybox:latest@{SHA}")
    );
    assert_eq!(busybox.familiar(), format!("busybox:latest@{SHA}"));
}

#[test]
fn rejects_with_named_part() {
    let long_path = format!("{}a:tag", "a/".repeat(128));
    let long_namespace = format!(
        "{}docker/docker",
        "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)
    );
    let cases: Vec<(&str, String, String)> = vec![
        ("empty", String::new(), "invalid image reference '': the reference is empty; give an image name such as 'nginx:1.27'".into()),
        ("upper-case familiar name", "Nginx".into(),
         "invalid image reference 'Nginx': repository name must be lowercase (write 'nginx')".into()),
        ("upper-case with tag", "Uppercase:tag".into(),
         "invalid image reference 'Uppercase:tag': repository name must be lowercase (write 'uppercase:tag')".into()),
        ("upper-case path after registry", "test:5000/Uppercase/lowercase:tag".into(),
         "invalid image reference 'test:5000/Uppercase/lowercase:tag': repository name must be lowercase (write 'test:5000/uppercase/lowercase:tag')".into()),
        ("upper-case path on docker hub", "docker/Docker".into(),
         "invalid image reference 'docker/Docker': repository name must be lowercase (write 'docker/docker')".into()),
        ("hex identifier", "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a".into(),
         "invalid image reference '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a': a 64-character hexadecimal string is an image ID, not a repository name".into()),
        ("url", "https://github.com/docker/docker".into(),
         "invalid image reference 'https://github.com/docker/docker': registry 'https:' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("leading dash registry", "-docker.io/docker/docker".into(),
         "invalid image reference '-docker.io/docker/docker': registry '-docker.io' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("underscore in registry", "foo_bar.com/x".into(),
         "invalid image reference 'foo_bar.com/x': registry 'foo_bar.com' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("ipv6 without brackets", "fc00::1:5000/debian".into(),
         "invalid image reference 'fc00::1:5000/debian': registry 'fc00::1:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("ipv6 zone", "[fe80::1%eth0]:5000/debian".into(),
         "invalid image reference '[fe80::1%eth0]:5000/debian': registry '[fe80::1%eth0]:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("ipv6 with ipv4 tail", "[2001:db8:3:4::192.0.2.33]:5000/debian".into(),
         "invalid image reference '[2001:db8:3:4::192.0.2.33]:5000/debian': registry '[2001:db8:3:4::192.0.2.33]:5000' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("empty port", "localhost:/x".into(),
         "invalid image reference 'localhost:/x': registry 'localhost:' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("ipv6 alone", "[fc00::1]".into(),
         "invalid image reference '[fc00::1]': path component '[fc00' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("ipv6 with port alone", "[2001:db8::1]:5000".into(),
         "invalid image reference '[2001:db8::1]:5000': path component '[2001' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("leading dash", "-docker".into(),
         "invalid image reference '-docker': path component '-docker' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("trailing dash", "docker-/docker".into(),
         "invalid image reference 'docker-/docker': path component 'docker-' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("underscores only", "____/____".into(),
         "invalid image reference '____/____': path component '____' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("double period", "dock..er/docker".into(),
         "invalid image reference 'dock..er/docker': registry 'dock..er' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("underscore then period", "dock_.er/docker".into(),
         "invalid image reference 'dock_.er/docker': registry 'dock_.er' is not a host name, IPv4 address or [IPv6] address with an optional ':port'".into()),
        ("double period in path", "x/dock..er".into(),
         "invalid image reference 'x/dock..er': path component 'dock..er' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("triple underscore", "a___b/c".into(),
         "invalid image reference 'a___b/c': path component 'a___b' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("dollar", "aa/asdf$$^/aa".into(),
         "invalid image reference 'aa/asdf$$^/aa': path component 'asdf$$^' is invalid; use lowercase letters and digits, separated by '.', '_', '__' or dashes".into()),
        ("tripled slash", "docker///docker".into(),
         "invalid image reference 'docker///docker': empty path component; remove the doubled or trailing '/'".into()),
        ("trailing slash", "docker/".into(),
         "invalid image reference 'docker/': empty path component; remove the doubled or trailing '/'".into()),
        ("tag only", ":justtag".into(),
         "invalid image reference ':justtag': no repository name before the tag or digest".into()),
        ("digest only", format!("@{SHA}"),
         format!("invalid image reference '@{SHA}': no repository name before the tag or digest")),
        ("registry only", "ghcr.io/".into(),
         "invalid image reference 'ghcr.io/': no repository name before the tag or digest".into()),
        ("path too long", long_path.clone(),
         format!("invalid image reference '{long_path}': repository name is 257 characters long, more than the 255 allowed")),
        ("namespace too long", long_namespace.clone(),
         format!("invalid image reference '{long_namespace}': repository name is 285 characters long, more than the 255 allowed")),
        ("constraint as tag", "nginx:^1.2".into(),
         "invalid image reference 'nginx:^1.2': tag '^1.2' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
        ("empty tag", "nginx:".into(),
         "invalid image reference 'nginx:': tag '' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
        ("tag starting with dot", "nginx:.x".into(),
         "invalid image reference 'nginx:.x': tag '.x' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
        ("non-ascii tag", "nginx:é".into(),
         "invalid image reference 'nginx:é': tag 'é' is invalid; a tag is 1 to 128 letters, digits, '_', '.' or '-' and does not start with '.' or '-'".into()),
        ("short digest", "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
         "invalid image reference 'repo@sha256:ffffffffffffffffffffffffffffffffff': a sha256 digest has 64 hex digits, not 34".into()),
        ("digest under 32 digits", "repo@sha256:abc".into(),
         "invalid image reference 'repo@sha256:abc': digest 'sha256:abc' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits".into()),
        ("unknown algorithm", "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff".into(),
         "invalid image reference 'validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff': digest algorithm 'invaliddigest' is not supported; use sha256, sha384 or sha512".into()),
        ("upper-case digest", format!("repo@sha256:{}", "F".repeat(64)),
         format!("invalid image reference 'repo@sha256:{}': digest hex digits must be lowercase (write 'repo@sha256:{}')", "F".repeat(64), "f".repeat(64))),
        ("digest without algorithm", "repo@ffff".into(),
         "invalid image reference 'repo@ffff': digest 'ffff' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits".into()),
        ("two digests", format!("repo@{SHA}@{SHA}"),
         format!("invalid image reference 'repo@{SHA}@{SHA}': digest '{SHA}@{SHA}' is invalid; write '<algorithm>:<hex>', such as 'sha256:' and 64 hex digits")),
    ];
    for (name, input, want) in cases {
        match ImageRef::parse(&input) {
            Ok(image) => panic!("{name}: parsed as {image}"),
            Err(e) => assert_eq!(e.to_string(), want, "{name}"),
        }
    }
}

#[test]
fn accepts_path_length_limit() {
    let input = format!("{}a:tag-puts-this-over-max", "a/".repeat(127));
    let image = parsed(&input);
    assert_eq!(
        image.repository().len(),
        255,
        "path of exactly 255 characters"
    );
    assert_eq!(
        image.tag(),
        Some("tag-puts-this-over-max"),
        "tag not counted"
    );
}

#[test]
fn validates_tags_and_digests() {
    let tags = [
        ("word", "v1.2.3-rc_1", true),
        ("128 chars", &"a".repeat(128), true),
        ("129 chars", &"a".repeat(129), false),
        ("leading dash", "-x", false),
        ("leading underscore", "_x", true),
        ("empty", "", false),
        ("slash", "a/b", false),
    ];
    for (name, tag, want) in tags {
        assert_eq!(is_valid_tag(tag), want, "tag {name}");
    }
    let digests = [
        ("sha256", SHA, true),
        ("sha512", SHA512, true),
        ("short", "sha256:abcd", false),
        ("md5", "md5:ffffffffffffffffffffffffffffffff", false),
    ];
    for (name, digest, want) in digests {
        assert_eq!(is_valid_digest(digest), want, "digest {name}");
    }
}

/// A password pasted into an image reference (a URL where a reference belongs) is not repeated by the error that
/// refuses it: Argo CD shows that message in its UI.
#[test]
fn a_refused_url_is_quoted_without_its_credentials() {
    for input in [
        "https://bob:hunter2SECRET@h/web",
        "https://h/web?access_token=hunter2SECRET:",
    ] {
        let error = ImageRef::parse(input).unwrap_err().to_string();
        assert!(!error.contains("hunter2SECRET"), "{error}");
        assert!(error.contains("<redacted>"), "{error}");
    }
}
