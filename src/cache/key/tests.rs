//! Table tests of the cache keys: what makes two keys equal or different, and golden encodings that a reworded
//! message cannot move.

use super::*;
use crate::policy::filter::{AllowTags, Extract, IgnoreTags};
use crate::policy::{Order, Strategy};

fn image(name: &str) -> ImageRef {
    ImageRef::parse(name).unwrap()
}

fn semver(constraint: &str) -> Policy {
    Policy::new(Strategy::parse("semver", Some(constraint), Order::Asc).unwrap())
}

/// A policy that sets every field, so each case below changes one of them.
fn full_policy() -> Policy {
    let mut policy = semver("~1.25");
    policy.allow = AllowTags::parse(r"regexp:^1\.").unwrap();
    policy.ignore = IgnoreTags::parse("*-rc*, *-alpine").unwrap();
    policy.extract = Some(Extract::new(r"^(?P<v>[0-9.]+)(-.*)?$", "$v").unwrap());
    policy.platforms = vec!["linux/amd64".parse().unwrap()];
    policy
}

fn spec(text: &str) -> CredentialSpec {
    text.parse().unwrap()
}

fn scope(destination: &str, shared: &[&str]) -> SecretScope {
    SecretScope::new(
        Some(destination.to_string()),
        shared.iter().map(ToString::to_string).collect(),
    )
}

fn full_key(policy: &Policy) -> ResolutionKey {
    ResolutionKey::with_credentials(
        &image("nginx"),
        policy,
        Some(&spec("pullsecret:team-a/regcred")),
        Some(&scope("team-a", &["shared"])),
    )
}

fn with_policy(change: impl FnOnce(&mut Policy)) -> ResolutionKey {
    let mut policy = full_policy();
    change(&mut policy);
    full_key(&policy)
}

#[test]
fn equal_policies_give_equal_keys() {
    for (name, left, right) in [
        (
            "built twice",
            full_key(&full_policy()),
            full_key(&full_policy()),
        ),
        (
            "no constraint and an empty one",
            ResolutionKey::new(&image("nginx"), &semver("")),
            ResolutionKey::new(
                &image("nginx"),
                &Policy::new(Strategy::parse("semver", None, Order::Asc).unwrap()),
            ),
        ),
        (
            "the old name of a strategy",
            ResolutionKey::new(
                &image("nginx"),
                &Policy::new(Strategy::parse("latest", None, Order::Asc).unwrap()),
            ),
            ResolutionKey::new(
                &image("nginx"),
                &Policy::new(Strategy::parse("newest-build", None, Order::Asc).unwrap()),
            ),
        ),
        (
            "an image spelt another way",
            ResolutionKey::new(&image("docker.io/library/nginx:1.25"), &semver("~1.25")),
            ResolutionKey::new(&image("nginx"), &semver("~1.25")),
        ),
    ] {
        assert_eq!(left, right, "{name}");
        assert_eq!(left.encode(), right.encode(), "{name}: encoding");
        assert_eq!(left.file_stem(), right.file_stem(), "{name}: stem");
    }
}

#[test]
fn any_differing_field_gives_another_key() {
    let base = full_key(&full_policy());
    let alphabetical = |order| Strategy::Alphabetical { order };
    let cases = [
        (
            "strategy",
            with_policy(|p| p.strategy = Strategy::NewestBuild),
        ),
        // Its answers carry the winner's digest; without it the encoding is the one from before the option.
        ("pin-digest", with_policy(|p| p.pin_digest = true)),
        (
            "constraint",
            with_policy(|p| p.strategy = semver("~1.26").strategy),
        ),
        (
            "no constraint",
            with_policy(|p| p.strategy = semver("").strategy),
        ),
        (
            "prereleases included",
            with_policy(|p| {
                p.strategy = Strategy::Semver {
                    constraint: crate::constraint::Constraint::parse("~1.25").unwrap(),
                    include_prerelease: true,
                    strict: false,
                }
            }),
        ),
        (
            "strict versions",
            with_policy(|p| {
                p.strategy = Strategy::Semver {
                    constraint: crate::constraint::Constraint::parse("~1.25").unwrap(),
                    include_prerelease: false,
                    strict: true,
                }
            }),
        ),
        (
            "alphabetical",
            with_policy(|p| p.strategy = alphabetical(Order::Asc)),
        ),
        (
            "alphabetical, descending",
            with_policy(|p| p.strategy = alphabetical(Order::Desc)),
        ),
        (
            "numerical",
            with_policy(|p| p.strategy = Strategy::Numerical { order: Order::Asc }),
        ),
        (
            "digest",
            with_policy(|p| {
                p.strategy = Strategy::Digest {
                    tag: "latest".into(),
                }
            }),
        ),
        (
            "digest of another tag",
            with_policy(|p| {
                p.strategy = Strategy::Digest {
                    tag: "stable".into(),
                }
            }),
        ),
        ("allow-tags any", with_policy(|p| p.allow = AllowTags::Any)),
        (
            "other allow-tags",
            with_policy(|p| p.allow = AllowTags::parse(r"regexp:^2\.").unwrap()),
        ),
        (
            "no ignore-tags",
            with_policy(|p| p.ignore = IgnoreTags::none()),
        ),
        (
            "ignore-tags in another order",
            with_policy(|p| p.ignore = IgnoreTags::parse("*-alpine, *-rc*").unwrap()),
        ),
        ("no tag pattern", with_policy(|p| p.extract = None)),
        (
            "another tag pattern",
            with_policy(|p| {
                p.extract = Some(Extract::new(r"^(?P<v>[0-9.]+)$", "$v").unwrap());
            }),
        ),
        (
            // Regression: the policy's summary leaves the extract template out, so keys built from it shared the
            // answers of policies that order on different text.
            "another extract template",
            with_policy(|p| {
                p.extract = Some(Extract::new(r"^(?P<v>[0-9.]+)(-.*)?$", "${v}0").unwrap());
            }),
        ),
        ("no platforms", with_policy(|p| p.platforms.clear())),
        (
            "another platform",
            with_policy(|p| p.platforms = vec!["linux/arm64".parse().unwrap()]),
        ),
        (
            "a platform variant",
            with_policy(|p| p.platforms = vec!["linux/amd64/v2".parse().unwrap()]),
        ),
        (
            "another registry",
            ResolutionKey::with_credentials(
                &image("ghcr.io/library/nginx"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/regcred")),
                Some(&scope("team-a", &["shared"])),
            ),
        ),
        (
            "another repository",
            ResolutionKey::with_credentials(
                &image("nginx-unprivileged"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/regcred")),
                Some(&scope("team-a", &["shared"])),
            ),
        ),
        (
            "another pull secret",
            ResolutionKey::with_credentials(
                &image("nginx"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/other")),
                Some(&scope("team-a", &["shared"])),
            ),
        ),
        (
            "no pull secret",
            ResolutionKey::with_credentials(
                &image("nginx"),
                &full_policy(),
                None,
                Some(&scope("team-a", &["shared"])),
            ),
        ),
        (
            "another destination namespace",
            ResolutionKey::with_credentials(
                &image("nginx"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/regcred")),
                Some(&scope("team-b", &["shared"])),
            ),
        ),
        (
            "other shared namespaces",
            ResolutionKey::with_credentials(
                &image("nginx"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/regcred")),
                Some(&scope("team-a", &["*"])),
            ),
        ),
        (
            "no scope",
            ResolutionKey::with_credentials(
                &image("nginx"),
                &full_policy(),
                Some(&spec("pullsecret:team-a/regcred")),
                None,
            ),
        ),
    ];
    let mut stems = std::collections::HashMap::from([(base.file_stem(), "base")]);
    for (name, key) in &cases {
        assert_ne!(*key, base, "{name}");
        assert_ne!(key.encode(), base.encode(), "{name}: encoding");
        if let Some(other) = stems.insert(key.file_stem(), name) {
            panic!("{name}: same stem as {other}");
        }
    }
}

#[test]
fn resolution_key_encodings_are_golden() {
    // A change here moves every last-known-good answer: bump RESOLUTION_KEY_VERSION with it, never reword alone.
    for (name, key, want_json, want_stem) in [
        (
            "semver, sidecar credentials",
            ResolutionKey::new(&image("nginx"), &semver("~1.25")),
            r#"{"v":1,"key":{"registry":"docker.io","repository":"library/nginx","policy":{"strategy":{"name":"semver","constraint":"~1.25","include_prerelease":false,"strict":false},"allow_tags":null,"ignore_tags":[],"tag_pattern":null,"platforms":[]},"credential":null,"scope":null}}"#,
            "c6e4fdbaffa35803e10d8e395c7ba80f88d8c3682d930db3f7cee2b760f3c022",
        ),
        (
            "every field",
            full_key(&full_policy()),
            r#"{"v":1,"key":{"registry":"docker.io","repository":"library/nginx","policy":{"strategy":{"name":"semver","constraint":"~1.25","include_prerelease":false,"strict":false},"allow_tags":"^1\\.","ignore_tags":["*-rc*","*-alpine"],"tag_pattern":{"pattern":"^(?P<v>[0-9.]+)(-.*)?$","extract":"$v"},"platforms":["linux/amd64"]},"credential":"pullsecret:team-a/regcred","scope":"scope:team-a+shared"}}"#,
            "cde4a305fc55efdaa431111c385feba4597e66747f7757117c9dc316b90a2b00",
        ),
    ] {
        assert_eq!(key.encode(), want_json, "{name}");
        assert_eq!(key.file_stem(), want_stem, "{name}");
    }
}

#[test]
fn keys_do_not_contain_the_policy_summary() {
    let policy = full_policy();
    let encoded = full_key(&policy).encode();
    assert!(
        !encoded.contains(&policy.to_string()) && !encoded.contains("strategy semver"),
        "{encoded}"
    );
}

#[test]
fn tags_key_stems() {
    for (name, repository, want) in [
        (
            "docker hub",
            "docker.io/library/nginx",
            "7e59ad64326bc321517fb6fc6586de5ee149178394d9edfa2a877176cdf6fad5",
        ),
        (
            "ghcr",
            "ghcr.io/org/app",
            "e9465cd7cbf7b49c52338f7abc7e7ef8cea3a39d36f1a5c1066d2e362f642ed3",
        ),
        (
            "empty",
            "",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ] {
        assert_eq!(TagsKey::new(repository).file_stem(), want, "{name}");
    }
    let read_with = |credentials: &str| {
        TagsKey::with_credentials("docker.io/library/nginx", Some(credentials.into())).file_stem()
    };
    assert_eq!(
        read_with("pull-secret argocd/regcred"),
        "35c5226a6048ac0b62ffb8b8a02be7bcd18a97572e20eb106d92da164ffdb88d",
        "with a credential source"
    );
    assert_ne!(
        read_with("pull-secret argocd/other"),
        read_with("pull-secret argocd/regcred"),
        "each credential source has its own list"
    );
}

#[test]
fn tags_keys_spell_the_credential_source_themselves() {
    let source = CredentialSource {
        kind: "pull-secret",
        name: "argocd/regcred".into(),
    };
    for (name, key, want) in [
        (
            "anonymous",
            TagsKey::read_with(&image("nginx"), None),
            "7e59ad64326bc321517fb6fc6586de5ee149178394d9edfa2a877176cdf6fad5",
        ),
        (
            "with a credential source",
            TagsKey::read_with(&image("nginx"), Some(&source)),
            "35c5226a6048ac0b62ffb8b8a02be7bcd18a97572e20eb106d92da164ffdb88d",
        ),
    ] {
        assert_eq!(key.file_stem(), want, "{name}");
    }
}

#[test]
fn metadata_key_stems() {
    // Pinned so that spelling platforms from their fields (not their Display) keeps every stored build time.
    for (name, repository, platforms, want) in [
        (
            "one platform",
            "ghcr.io/org/app",
            &["linux/amd64"][..],
            "ec3096c4b38a6133e91886a96fde09e11a2edbbcef7a4222a63d421412d134de",
        ),
        (
            "platforms in order, with a variant",
            "docker.io/library/nginx",
            &["linux/amd64", "linux/arm/v7"],
            "d1e8f9c64d546acfc5309531832b9de4fa39d4e2a9355589366363b782ab2ea4",
        ),
    ] {
        let platforms: Vec<Platform> = platforms.iter().map(|p| p.parse().unwrap()).collect();
        let key = MetadataKey::new(repository, &platforms);
        assert_eq!(key.file_stem(), want, "{name}");
    }
}
