//! The policy flags of `resolve`.

use crate::{Case, case, check, named, resolve};

#[test]
fn policy_flags() {
    let flags: Vec<(&str, &[&str], &str)> = vec![
        (
            "constraint: operator alone",
            &["--constraint", ">="],
            "'>='",
        ),
        ("constraint: words", &["--constraint", "newest"], "'newest'"),
        (
            "constraint: five parts",
            &["--constraint", "1.2.3.4.5"],
            "'1.2.3.4.5'",
        ),
        (
            "constraint: dangling or",
            &["--constraint", ">1 ||"],
            "'>1 ||'",
        ),
        (
            "constraint: control character",
            &["--constraint", ">1\u{1}"],
            r">1\u{1}",
        ),
        (
            "constraint: bidi override",
            &["--constraint", ">1\u{202e}"],
            r">1\u{202e}",
        ),
        ("strategy: unknown", &["--strategy", "newest"], "'newest'"),
        (
            "strategy: control character",
            &["--strategy", "semver\u{7}"],
            r"semver\u{7}",
        ),
        (
            "order: unknown",
            &["--strategy", "alphabetical", "--order", "up"],
            "'up'",
        ),
        ("allow-tags: no prefix", &["--allow-tags", "^v"], "'^v'"),
        (
            "allow-tags: regex prefix",
            &["--allow-tags", "regex:^v"],
            "'regex:^v'",
        ),
        (
            "allow-tags: unclosed group",
            &["--allow-tags", "regexp:("],
            "'('",
        ),
        (
            "allow-tags: unclosed class",
            &["--allow-tags", "regexp:[a"],
            "'[a'",
        ),
        (
            "allow-tags: nested repetition",
            &["--allow-tags", "regexp:a**"],
            "'a**'",
        ),
        (
            "allow-tags: count too large",
            &["--allow-tags", "regexp:a{1001}"],
            "'a{1001}'",
        ),
        (
            "allow-tags: bad escape",
            &["--allow-tags", "regexp:\\8"],
            "'\\8'",
        ),
        (
            "ignore-tags: unclosed class",
            &["--ignore-tags", "["],
            "'['",
        ),
        (
            "ignore-tags: unclosed range",
            &["--ignore-tags", "latest,[a-"],
            "'[a-'",
        ),
        (
            "ignore-tags: trailing backslash",
            &["--ignore-tags", "x\\"],
            "'x\\'",
        ),
        (
            "tag-pattern: unclosed group",
            &["--tag-pattern", "(", "--extract", "$1"],
            "'('",
        ),
        (
            "tag-pattern: perl lookahead",
            &["--tag-pattern", "(?=x)"],
            "'(?=x)'",
        ),
        (
            "extract: unknown name",
            &[
                "--tag-pattern",
                r"^(\d+)\.(\d+)\.(\d+)$",
                "--extract",
                "$nope",
            ],
            "'nope'",
        ),
        (
            "extract: group past the last",
            &["--tag-pattern", r"^(\d+)", "--extract", "$2"],
            "'2'",
        ),
        (
            "extract: letters after a number",
            &["--tag-pattern", r"^(\d+)", "--extract", "$1x"],
            "'1x'",
        ),
        ("platforms: os only", &["--platforms", "linux"], "'linux'"),
        (
            "platforms: trailing slash",
            &["--platforms", "linux/"],
            "'linux/'",
        ),
        ("platforms: no os", &["--platforms", "/amd64"], "'/amd64'"),
        (
            "platforms: four parts",
            &["--platforms", "linux/arm/v7/x"],
            "'linux/arm/v7/x'",
        ),
        (
            "platforms: space",
            &["--platforms", "linux/am d64"],
            "'linux/am d64'",
        ),
        (
            "platforms: with a tag list",
            &["--platforms", "linux/amd64"],
            "--platforms",
        ),
        (
            "include-prerelease with alphabetical",
            &["--strategy", "alphabetical", "--include-prerelease"],
            "--include-prerelease",
        ),
        (
            "strict-semver with newest-build",
            &["--strategy", "newest-build", "--strict-semver"],
            "--strict-semver",
        ),
        ("output: unknown format", &["--output", "yaml"], "--output"),
        (
            "credentials: no source",
            &["--credentials", "user:pass"],
            "--credentials",
        ),
        (
            "credentials: empty env",
            &["--credentials", "env:"],
            "--credentials",
        ),
        (
            "credentials: pull secret without namespace",
            &["--credentials", "pullsecret:x"],
            "--credentials",
        ),
        (
            "credentials: secret without field",
            &["--credentials", "secret:ns/name"],
            "--credentials",
        ),
        (
            "credentials: empty script",
            &["--credentials", "ext:"],
            "--credentials",
        ),
    ];
    let mut cases: Vec<Case> = flags
        .into_iter()
        .map(|(name, extra, names)| named(name, resolve("nginx", extra).names(names)))
        .collect();
    cases.extend([
        named(
            "tags: none allowed",
            resolve("nginx:>=2", &[]).code(1).names("nginx"),
        ),
        named(
            "tags: empty list",
            case("", &["resolve", "nginx", "--tags", ""])
                .code(1)
                .names("nginx"),
        ),
        named(
            "tags: only commas",
            case("", &["resolve", "nginx", "--tags", ",,,"])
                .code(1)
                .names("nginx"),
        ),
        named(
            "tags: digest strategy without digests",
            resolve("nginx", &["--strategy", "digest"])
                .code(1)
                .names("digest"),
        ),
    ]);
    check(cases);
}
