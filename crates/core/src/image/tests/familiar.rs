//! The names written back (canonical and familiar), new tags and digests, and repository comparison.

use super::*;

#[test]
fn displays_names() {
    // (input, name, familiar_name, canonical, familiar)
    let cases = [
        (
            "nginx",
            "docker.io/library/nginx",
            "nginx",
            "docker.io/library/nginx",
            "nginx",
        ),
        (
            "nginx:1.27",
            "docker.io/library/nginx",
            "nginx",
            "docker.io/library/nginx:1.27",
            "nginx:1.27",
        ),
        (
            "docker.io/user/app:v1",
            "docker.io/user/app",
            "user/app",
            "docker.io/user/app:v1",
            "user/app:v1",
        ),
        (
            "library/foo/bar",
            "docker.io/library/foo/bar",
            "library/foo/bar",
            "docker.io/library/foo/bar",
            "library/foo/bar",
        ),
        (
            "ghcr.io/x/y:1",
            "ghcr.io/x/y",
            "ghcr.io/x/y",
            "ghcr.io/x/y:1",
            "ghcr.io/x/y:1",
        ),
        (
            "localhost:5000/app",
            "localhost:5000/app",
            "localhost:5000/app",
            "localhost:5000/app",
            "localhost:5000/app",
        ),
        (
            "example.com/privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
        ),
    ];
    for (input, name, familiar_name, canonical, familiar) in cases {
        let image = parsed(input);
        assert_eq!(image.name(), name, "{input}: name");
        assert_eq!(
            image.familiar_name(),
            familiar_name,
            "{input}: familiar_name"
        );
        assert_eq!(image.canonical(), canonical, "{input}: canonical");
        assert_eq!(image.to_string(), canonical, "{input}: Display");
        assert_eq!(image.familiar(), familiar, "{input}: familiar");
        assert_eq!(
            input.parse::<ImageRef>().as_ref(),
            Ok(&image),
            "{input}: FromStr"
        );
    }
}

#[test]
fn familiar_names_keep_the_registry() {
    let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let s = |a: &str| a.to_owned();
    let cases = [
        (
            "dotted namespace",
            s("docker.io/a.b/c"),
            s("docker.io/a.b/c"),
        ),
        (
            "dotted org",
            s("docker.io/my.org/app"),
            s("docker.io/my.org/app"),
        ),
        (
            "localhost namespace",
            s("docker.io/localhost/app"),
            s("docker.io/localhost/app"),
        ),
        (
            "hex name",
            format!("docker.io/{hex}"),
            format!("library/{hex}"),
        ),
        (
            "hex name under library",
            format!("docker.io/library/{hex}"),
            format!("library/{hex}"),
        ),
        (
            "hex namespace",
            format!("docker.io/{hex}/app"),
            format!("{hex}/app"),
        ),
        (
            "dotted name under library",
            s("docker.io/library/a.b"),
            s("a.b"),
        ),
        ("plain namespace", s("docker.io/user/app"), s("user/app")),
    ];
    for (name, input, want) in cases {
        let image = parsed(&input);
        assert_eq!(image.familiar_name(), want, "{name}: familiar_name");
        let back =
            ImageRef::parse(&image.familiar_name()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            back.same_repository(&image),
            "{name}: {back} is not {image}"
        );
    }
}

#[test]
fn replaces_tag_and_digest() {
    let digest2 = "sha256:1234567890098765432112345667890098765432112345667890098765432112";
    let cases = [
        (
            "new tag drops digest",
            parsed(&format!("test.com:8000/foo:old@{SHA}")).with_tag("TAG5"),
            "test.com:8000/foo:TAG5",
        ),
        (
            "tag on familiar",
            parsed("foo").with_tag("tag2"),
            "docker.io/library/foo:tag2",
        ),
        (
            "digest keeps tag",
            parsed("test.com:8000/foo:TAG5").with_digest(SHA),
            &format!("test.com:8000/foo:TAG5@{SHA}"),
        ),
        (
            "digest replaces digest",
            parsed(&format!("foo@{SHA}")).with_digest(digest2),
            &format!("docker.io/library/foo@{digest2}"),
        ),
    ];
    for (name, image, want) in cases {
        assert_eq!(image.canonical(), want, "{name}");
    }
}

#[test]
fn compares_repositories() {
    // (name, a, b, same repository, equal references)
    let cases = [
        (
            "familiar and canonical",
            "nginx:1",
            "docker.io/library/nginx:1",
            true,
            true,
        ),
        (
            "different tags",
            "nginx:1",
            "docker.io/library/nginx:2",
            true,
            false,
        ),
        (
            "legacy hub host",
            "index.docker.io/user/app",
            "user/app",
            true,
            true,
        ),
        (
            "api hub host",
            "registry-1.docker.io/library/nginx",
            "nginx",
            true,
            true,
        ),
        (
            "other registry",
            "ghcr.io/library/nginx",
            "nginx",
            false,
            false,
        ),
        ("other namespace", "user/nginx", "nginx", false, false),
        (
            "port matters",
            "localhost:5000/app",
            "localhost/app",
            false,
            false,
        ),
    ];
    for (name, a, b, same, equal) in cases {
        assert_eq!(
            parsed(a).same_repository(&parsed(b)),
            same,
            "{name}: same_repository"
        );
        assert_eq!(parsed(a) == parsed(b), equal, "{name}: Eq");
    }
}
