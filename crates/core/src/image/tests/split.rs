//! `image[:constraint]` entries of argocd-image-updater's `image-list`.

use super::*;

#[test]
fn splits_constraints() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("nginx", "docker.io/library/nginx", None),
        ("nginx:1.x", "docker.io/library/nginx", Some("1.x")),
        (
            "nginx:>=1.0 <2.0",
            "docker.io/library/nginx",
            Some(">=1.0 <2.0"),
        ),
        (
            "nginx:~1.2 || ^2, !=2.1",
            "docker.io/library/nginx",
            Some("~1.2 || ^2, !=2.1"),
        ),
        ("nginx:1.25", "docker.io/library/nginx", Some("1.25")),
        ("localhost:5000/app", "localhost:5000/app", None),
        (
            "localhost:5000/app:^1.2",
            "localhost:5000/app",
            Some("^1.2"),
        ),
        ("[::1]:5000/app:*", "[::1]:5000/app", Some("*")),
        ("ghcr.io/org/app:<3", "ghcr.io/org/app", Some("<3")),
        (
            "localhost:5000",
            "docker.io/library/localhost",
            Some("5000"),
        ),
        (
            "nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "docker.io/library/nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            None,
        ),
        (
            "nginx:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "docker.io/library/nginx@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            Some("^1"),
        ),
        ("nginx:a:b", "docker.io/library/nginx", Some("a:b")),
    ];
    for &(input, canonical, constraint) in cases {
        let (image, got) = split_constraint(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(image.canonical(), canonical, "{input}: image");
        assert_eq!(image.tag(), None, "{input}: no tag");
        assert_eq!(got.as_deref(), constraint, "{input}: constraint");
    }
}

#[test]
fn split_constraint_rejects() {
    let cases = [
        (
            "nothing after colon",
            "nginx:",
            "invalid image reference 'nginx:': nothing follows ':'; remove the ':' or add a version constraint",
        ),
        (
            "blank constraint",
            "nginx: ",
            "invalid image reference 'nginx: ': nothing follows ':'; remove the ':' or add a version constraint",
        ),
        (
            "bad name quotes the whole entry",
            "Nginx:^1",
            "invalid image reference 'Nginx:^1': repository name must be lowercase (write 'nginx:^1')",
        ),
        (
            "bad name with digest",
            "App:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "invalid image reference 'App:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff': repository name must be lowercase (write 'app:^1@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff')",
        ),
        // Regression (found by proptest): a '/' after the '@' moved the path out of the entry's offsets and the
        // suggestion sliced out of bounds.
        (
            "path inside the digest part",
            ": a0@A/Ab",
            "invalid image reference ': a0@A/Ab': repository name must be lowercase (write '@A/ab')",
        ),
        (
            "regression: a constraint without repository was reported as an empty reference",
            ":1.0",
            "invalid image reference ':1.0': no repository name before the tag or digest",
        ),
        (
            "bad registry",
            "-x.io/app:^1",
            "invalid image reference '-x.io/app:^1': registry '-x.io' is not a host name, IPv4 address or [IPv6] address with an optional ':port'",
        ),
    ];
    for (name, input, want) in cases {
        match split_constraint(input) {
            Ok(got) => panic!("{name}: split as {got:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{name}"),
        }
    }
}
