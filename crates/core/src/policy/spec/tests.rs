//! Table tests of the one policy builder: the same values give the same policy from every front-end, and each bad
//! value is named by where it was written.

use super::*;
use crate::policy::source::Origin;

const ON: &str = "(on Deployment/web)";

/// How the options of a case are given.
#[derive(Clone, Copy, Debug)]
enum Front {
    /// `resolve`'s flags.
    Flags,
    /// The annotations of `Deployment/web`, each an alias's own key (`web.allow-tags`), the image listed as
    /// `web=org/web[:constraint]`.
    OwnKeys,
    /// The same, each option a default for every image (`allow-tags`).
    Defaults,
}

/// The name `resolve` gives each option's flag in its messages.
fn flag(option: &str) -> &'static str {
    match option {
        "update-strategy" => "policy",
        "order" => "--order",
        "allow-tags" => "--allow-tags",
        "ignore-tags" => "--ignore-tags",
        "tag-pattern" => "--tag-pattern",
        "extract" => "--extract",
        "platforms" => "--platforms",
        "include-prerelease" => "--include-prerelease",
        "strict-semver" => "--strict-semver",
        "pin-digest" => "--pin-digest",
        other => panic!("no flag for {other}"),
    }
}

fn annotation(key: String, value: &str, entry: bool) -> Box<Located> {
    Box::new(Located {
        origin: Origin::Annotation {
            object: "Deployment/web".to_string(),
        },
        key,
        value: value.to_string(),
        entry,
    })
}

/// The spec a front-end fills in for `options` (option name as annotation keys spell it, value).
fn spec(front: Front, constraint: Option<&str>, options: &[(&str, &str)]) -> PolicySpec {
    let mut spec = match front {
        Front::Flags => PolicySpec::new(ValueOrigin::Arg("policy"), Naming::Flags),
        Front::OwnKeys | Front::Defaults => {
            let entry = match constraint {
                Some(c) => format!("web=org/web:{c}"),
                None => "web=org/web".to_string(),
            };
            PolicySpec::new(
                ValueOrigin::Key {
                    at: annotation(format!("{PREFIX}image-list"), &entry, true),
                    default: false,
                },
                Naming::Keys {
                    alias_key: Some("web".to_string()),
                },
            )
        }
    };
    spec.constraint = constraint.map(String::from);
    for (option, value) in options {
        let origin = match front {
            Front::Flags => ValueOrigin::Arg(flag(option)),
            Front::OwnKeys => ValueOrigin::Key {
                at: annotation(format!("{PREFIX}web.{option}"), value, false),
                default: false,
            },
            Front::Defaults => ValueOrigin::Key {
                at: annotation(format!("{PREFIX}{option}"), value, false),
                default: true,
            },
        };
        let slot = match *option {
            "update-strategy" => &mut spec.strategy,
            "order" => &mut spec.order,
            "allow-tags" => &mut spec.allow_tags,
            "ignore-tags" => &mut spec.ignore_tags,
            "tag-pattern" => &mut spec.tag_pattern,
            "extract" => &mut spec.extract,
            "platforms" => &mut spec.platforms,
            "include-prerelease" => &mut spec.include_prerelease,
            "strict-semver" => &mut spec.strict_semver,
            "pin-digest" => &mut spec.pin_digest,
            other => panic!("unknown option {other}"),
        };
        *slot = Some(SpecValue::new(*value, origin));
    }
    spec
}

/// The policy summary and warnings, or the error message.
fn outcome(spec: &PolicySpec) -> Result<(String, Vec<String>), String> {
    spec.build()
        .map(|(policy, warnings)| {
            (
                policy.to_string(),
                warnings.iter().map(ToString::to_string).collect(),
            )
        })
        .map_err(|e| e.to_string())
}

#[test]
fn the_same_values_give_the_same_policy_from_every_front_end() {
    for (name, constraint, options, want) in [
        ("nothing set", None, vec![], "strategy semver"),
        (
            "constraint and filters",
            Some("^1.2"),
            vec![
                ("allow-tags", "regexp:^1\\.2"),
                ("ignore-tags", "latest, *-debug"),
                ("platforms", "linux/amd64,linux/arm64"),
            ],
            "strategy semver, constraint '^1.2', allow-tags 'regexp:^1\\.2', ignore-tags 'latest, *-debug', \
             platforms 'linux/amd64,linux/arm64'",
        ),
        (
            "semver options",
            Some(">=1"),
            vec![("include-prerelease", "true"), ("strict-semver", "true")],
            "strategy semver, constraint '>=1', prereleases included, strict versions",
        ),
        (
            "booleans set to false",
            None,
            vec![
                ("include-prerelease", "false"),
                ("strict-semver", "false"),
                ("pin-digest", "false"),
            ],
            "strategy semver",
        ),
        (
            "pin-digest with semver",
            Some("~1.2"),
            vec![("pin-digest", "true")],
            "strategy semver, constraint '~1.2', pin-digest",
        ),
        (
            "pin-digest shown last, with newest-build and filters",
            None,
            vec![
                ("update-strategy", "newest-build"),
                ("pin-digest", "true"),
                ("ignore-tags", "latest"),
            ],
            "strategy newest-build, ignore-tags 'latest', pin-digest",
        ),
        (
            "old name latest, any case",
            None,
            vec![("update-strategy", "Latest")],
            "strategy newest-build",
        ),
        (
            "old name name",
            None,
            vec![("update-strategy", "name"), ("order", "desc")],
            "strategy alphabetical, order desc",
        ),
        (
            "numerical on an extracted number",
            None,
            vec![
                ("update-strategy", "numerical"),
                ("tag-pattern", "^build-(?P<n>\\d+)$"),
                ("extract", "$n"),
            ],
            "strategy numerical, tag pattern '^build-(?P<n>\\d+)$'",
        ),
        (
            "digest with its tag",
            Some("stable"),
            vec![("update-strategy", "digest"), ("allow-tags", "any")],
            "strategy digest, tracking 'stable'",
        ),
        (
            "digest without a tag tracks latest",
            None,
            vec![("update-strategy", "DIGEST")],
            "strategy digest, tracking 'latest'",
        ),
    ] {
        let built: Vec<(Policy, Vec<Warning>)> = [Front::Flags, Front::OwnKeys, Front::Defaults]
            .into_iter()
            .map(|front| {
                spec(front, constraint, &options)
                    .build()
                    .unwrap_or_else(|e| panic!("{name} ({front:?}): {e}"))
            })
            .collect();
        for (front, (policy, warnings)) in [Front::Flags, Front::OwnKeys, Front::Defaults]
            .iter()
            .zip(&built)
        {
            assert_eq!(policy.to_string(), want, "{name} ({front:?})");
            assert_eq!(policy.key(), built[0].0.key(), "{name} ({front:?})");
            assert_eq!(warnings, &[], "{name} ({front:?})");
        }
    }
}

#[test]
fn each_bad_value_names_its_origin() {
    let regex = "invalid allow-tags value 'regex:^v': expected 'any' or 'regexp:<expression>' (argocd-image-updater \
                 would silently allow no tag)";
    let unknown = "unknown update strategy 'newest': expected semver, newest-build, alphabetical, digest or numerical (old \
         names: latest, name)";
    let constraint = "invalid constraint '>=1.0 <<2': cannot read '>=1.0 <<2'; expected comparisons such as '>=1.2 \
                      <2', '~1.4', '^0.3', '1.x' or '1.0 - 2.0', separated by ',' or spaces, with '||' between \
                      alternatives";
    let digest =
        "invalid tag to track '>=1' for the digest strategy: give one tag, such as 'latest'";
    let group = "extract template '$nope' refers to group 'nope', which tag pattern '^(\\d+)$' does not have (its \
                 groups: $1)";
    let platform =
        "platform 'linux' is not os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)";
    let no_pattern = "extract needs a tag pattern to take groups from; set";
    for (name, constraint_text, options, flag_want, key_want) in [
        (
            "unknown strategy",
            None,
            vec![("update-strategy", "newest")],
            format!("invalid policy: {unknown}"),
            format!("annotation {PREFIX}web.update-strategy = 'newest' {ON}: {unknown}"),
        ),
        (
            "bad constraint",
            Some(">=1.0 <<2"),
            vec![],
            format!("invalid policy: {constraint}"),
            format!(
                "annotation {PREFIX}image-list entry 'web=org/web:>=1.0 <<2' {ON}: {constraint}"
            ),
        ),
        (
            "a range for the digest strategy",
            Some(">=1"),
            vec![("update-strategy", "digest")],
            format!("invalid policy: {digest}"),
            format!("annotation {PREFIX}image-list entry 'web=org/web:>=1' {ON}: {digest}"),
        ),
        (
            "unknown order",
            None,
            vec![("update-strategy", "alphabetical"), ("order", "up")],
            "invalid --order: unknown sort order 'up': expected asc or desc".to_string(),
            format!(
                "annotation {PREFIX}web.order = 'up' {ON}: unknown sort order 'up': expected asc or desc"
            ),
        ),
        (
            "allow-tags without a match function",
            None,
            vec![("allow-tags", "regex:^v")],
            format!("invalid --allow-tags: {regex}"),
            format!("annotation {PREFIX}web.allow-tags = 'regex:^v' {ON}: {regex}"),
        ),
        (
            "allow-tags regexp that does not compile",
            None,
            vec![("allow-tags", "regexp:v(")],
            "invalid --allow-tags: invalid regular expression 'v(': missing closing )".to_string(),
            format!(
                "annotation {PREFIX}web.allow-tags = 'regexp:v(' {ON}: invalid regular expression 'v(': missing \
                 closing )"
            ),
        ),
        (
            "ignore-tags glob",
            None,
            vec![("ignore-tags", "latest, [")],
            "invalid --ignore-tags: invalid glob '[': missing closing ]".to_string(),
            format!(
                "annotation {PREFIX}web.ignore-tags = 'latest, [' {ON}: invalid glob '[': missing closing ]"
            ),
        ),
        (
            "tag pattern",
            None,
            vec![("tag-pattern", "^(v"), ("extract", "$1")],
            "invalid --tag-pattern: invalid regular expression '^(v': missing closing )"
                .to_string(),
            format!(
                "annotation {PREFIX}web.tag-pattern = '^(v' {ON}: invalid regular expression '^(v': missing \
                 closing )"
            ),
        ),
        (
            "extract refers to a group the pattern lacks",
            None,
            vec![("tag-pattern", "^(\\d+)$"), ("extract", "$nope")],
            format!("invalid --extract: {group}"),
            format!("annotation {PREFIX}web.extract = '$nope' {ON}: {group}"),
        ),
        (
            "extract without tag pattern",
            None,
            vec![("extract", "$ts")],
            format!("invalid --extract: {no_pattern} --tag-pattern too"),
            format!(
                "annotation {PREFIX}web.extract = '$ts' {ON}: {no_pattern} {PREFIX}web.tag-pattern too"
            ),
        ),
        (
            "platforms",
            None,
            vec![("platforms", "linux")],
            format!("invalid --platforms: {platform}"),
            format!("annotation {PREFIX}web.platforms = 'linux' {ON}: {platform}"),
        ),
        (
            "boolean",
            None,
            vec![("include-prerelease", "True")],
            "invalid --include-prerelease: expected 'true' or 'false'".to_string(),
            format!(
                "annotation {PREFIX}web.include-prerelease = 'True' {ON}: expected 'true' or 'false'"
            ),
        ),
        (
            "pin-digest boolean",
            None,
            vec![("pin-digest", "yes")],
            "invalid --pin-digest: expected 'true' or 'false'".to_string(),
            format!("annotation {PREFIX}web.pin-digest = 'yes' {ON}: expected 'true' or 'false'"),
        ),
        (
            "the strategy is checked first",
            None,
            vec![("platforms", "linux"), ("update-strategy", "newest")],
            format!("invalid policy: {unknown}"),
            format!("annotation {PREFIX}web.update-strategy = 'newest' {ON}: {unknown}"),
        ),
    ] {
        for (front, want) in [(Front::Flags, &flag_want), (Front::OwnKeys, &key_want)] {
            assert_eq!(
                outcome(&spec(front, constraint_text, &options)),
                Err(want.clone()),
                "{name} ({front:?})"
            );
        }
    }
}

#[test]
fn options_a_strategy_does_not_use() {
    let ok = |warnings: &[String]| Ok(warnings.to_vec());
    for (name, front, constraint, options, want) in [
        (
            "semver option as a flag",
            Front::Flags,
            None,
            vec![
                ("update-strategy", "alphabetical"),
                ("include-prerelease", "true"),
            ],
            Err(
                "--include-prerelease applies to the semver strategy only, not to alphabetical"
                    .to_string(),
            ),
        ),
        (
            "order as a flag",
            Front::Flags,
            None,
            vec![("order", "desc")],
            Err(
                "--order applies to the alphabetical and numerical strategies only, not to semver"
                    .to_string(),
            ),
        ),
        (
            "semver option as an alias's key",
            Front::OwnKeys,
            None,
            vec![
                ("update-strategy", "alphabetical"),
                ("strict-semver", "true"),
            ],
            ok(&[format!(
                "annotation {PREFIX}web.strict-semver = 'true' {ON}: has no effect on the alphabetical strategy"
            )]),
        ),
        (
            "pin-digest as a flag with the digest strategy, which renders the digest already",
            Front::Flags,
            Some("latest"),
            vec![("update-strategy", "digest"), ("pin-digest", "true")],
            Err("--pin-digest applies to the semver, newest-build, alphabetical and numerical strategies only, \
                 not to digest"
                .to_string()),
        ),
        (
            "pin-digest as an alias's key with the digest strategy",
            Front::OwnKeys,
            Some("latest"),
            vec![("update-strategy", "digest"), ("pin-digest", "true")],
            ok(&[format!(
                "annotation {PREFIX}web.pin-digest = 'true' {ON}: has no effect on the digest strategy"
            )]),
        ),
        (
            "order as an alias's key",
            Front::OwnKeys,
            None,
            vec![("update-strategy", "digest"), ("order", "asc")],
            ok(&[format!(
                "annotation {PREFIX}web.order = 'asc' {ON}: has no effect on the digest strategy"
            )]),
        ),
        (
            "defaults for every image",
            Front::Defaults,
            None,
            vec![
                ("update-strategy", "newest-build"),
                ("order", "desc"),
                ("include-prerelease", "true"),
            ],
            ok(&[]),
        ),
        (
            "semver options set to false",
            Front::Flags,
            None,
            vec![("update-strategy", "numerical"), ("strict-semver", "false")],
            ok(&[]),
        ),
        (
            "constraint as an argument",
            Front::Flags,
            Some("^1"),
            vec![("update-strategy", "newest-build")],
            ok(&[
                "the newest-build strategy takes no version constraint; '^1' is ignored"
                    .to_string(),
            ]),
        ),
        (
            "constraint in an image-list entry",
            Front::OwnKeys,
            Some("^1"),
            vec![("update-strategy", "numerical")],
            ok(&[format!(
                "annotation {PREFIX}image-list entry 'web=org/web:^1' {ON}: the numerical strategy takes no \
                 version constraint; '^1' is ignored"
            )]),
        ),
    ] {
        let got = outcome(&spec(front, constraint, &options)).map(|(_, warnings)| warnings);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn missing_options_are_named_as_each_front_end_spells_them() {
    for (naming, want) in [
        (Naming::Flags, "--tag-pattern"),
        (
            Naming::Keys {
                alias_key: Some("argoproj_argocd".to_string()),
            },
            "argocd-image-updater.argoproj.io/argoproj_argocd.tag-pattern",
        ),
        (
            Naming::Keys { alias_key: None },
            "argocd-image-updater.argoproj.io/tag-pattern",
        ),
    ] {
        assert_eq!(naming.option("tag-pattern"), want, "{naming:?}");
    }
}

#[test]
fn booleans_are_true_or_false_and_nothing_else() {
    for (text, want) in [
        ("true", Some(true)),
        ("false", Some(false)),
        ("True", None),
        ("yes", None),
        ("1", None),
        ("", None),
    ] {
        assert_eq!(parse_bool(text), want, "{text:?}");
    }
}
