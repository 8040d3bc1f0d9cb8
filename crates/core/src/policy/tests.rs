//! Table tests of tag selection: every strategy, every filter, and the tie-breaking rule.

use chrono::{TimeZone, Utc};

use super::filter::{AllowTags, Extract, IgnoreTags};
use super::*;

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().map(|n| Tag::parse(n).unwrap()).collect()
}

fn semver(constraint: &str) -> Policy {
    Policy::new(Strategy::parse("semver", Some(constraint), Order::Asc).unwrap())
}

fn winner(policy: &Policy, tags: &[Tag]) -> Option<String> {
    policy.select(tags).winner.map(|t| t.name.to_string())
}

#[test]
fn semver_picks_the_highest_allowed_version_as_written() {
    let all = tags(&[
        "1.0.0",
        "v1.2.0",
        "1.10.1",
        "1.9.9",
        "2.0.0-rc.1",
        "latest",
        "1.2",
        "0.9",
        "2.0.0-rc.2",
    ]);
    for (name, constraint, want) in [
        (
            "no constraint excludes prereleases (argocd-image-updater#1758)",
            "",
            Some("1.10.1"),
        ),
        ("caret", "^1.2", Some("1.10.1")),
        ("tilde", "~1.2", Some("v1.2.0")),
        ("x range", "1.9.x", Some("1.9.9")),
        ("upper bound", "<1.2", Some("1.0.0")),
        (
            "prerelease comparator admits prereleases",
            ">=2.0.0-rc.1",
            Some("2.0.0-rc.2"),
        ),
        ("nothing in range", ">3", None),
        ("or", "<1.0.0 || >=1.9 <1.10", Some("1.9.9")),
    ] {
        assert_eq!(winner(&semver(constraint), &all).as_deref(), want, "{name}");
    }
}

#[test]
fn semver_options() {
    let all = tags(&["1.2", "1.1.0", "2.0.0-beta.1"]);
    let mut strict = semver("");
    if let Strategy::Semver { strict: s, .. } = &mut strict.strategy {
        *s = true;
    }
    assert_eq!(
        winner(&strict, &all).as_deref(),
        Some("1.1.0"),
        "strict skips 2-part versions"
    );
    let selection = strict.select(&all);
    assert_eq!(selection.dropped.unparsable, ["1.2"]);

    let mut pre = semver("");
    if let Strategy::Semver {
        include_prerelease, ..
    } = &mut pre.strategy
    {
        *include_prerelease = true;
    }
    assert_eq!(
        winner(&pre, &all).as_deref(),
        Some("2.0.0-beta.1"),
        "prereleases included"
    );
}

#[test]
fn equal_versions_tie_break_on_the_greater_tag_name() {
    for (name, order_a, order_b) in [
        ("v last", ["1.0.0", "v1.0.0"], ["v1.0.0", "1.0.0"]),
        // Build metadata (`1.0.0+b1`) cannot reach a policy: `+` is not allowed in a tag.
        ("coerced", ["1.0", "1.0.0"], ["1.0.0", "1.0"]),
    ] {
        let a = winner(&semver(""), &tags(&order_a));
        let b = winner(&semver(""), &tags(&order_b));
        assert_eq!(a, b, "{name}: the listing order must not matter");
        assert_eq!(a.as_deref(), Some(order_a[1]), "{name}");
    }
}

#[test]
fn newest_build_orders_by_creation_time() {
    let at = |name: &str, day: Option<u32>| Tag {
        name: name.parse().unwrap(),
        created: day.map(|d| Utc.with_ymd_and_hms(2024, 5, d, 0, 0, 0).unwrap()),
        digest: None,
    };
    let policy = Policy::new(Strategy::parse("newest-build", None, Order::Asc).unwrap());
    for (name, list, want) in [
        (
            "newest wins",
            vec![at("b", Some(1)), at("a", Some(3)), at("c", Some(2))],
            "a",
        ),
        (
            "same time: greater name",
            vec![at("b", Some(1)), at("a", Some(1))],
            "b",
        ),
        ("undated lose", vec![at("z", None), at("a", Some(1))], "a"),
        (
            "all undated: greater name",
            vec![at("a", None), at("b", None)],
            "b",
        ),
    ] {
        assert_eq!(winner(&policy, &list).as_deref(), Some(want), "{name}");
    }
}

#[test]
fn alphabetical_and_numerical_orders() {
    let list = tags(&[
        "2024.01.15",
        "2024.02.01",
        "2023.12.31",
        "9",
        "10",
        "v3",
        "1e2",
        "0005",
    ]);
    for (name, strategy, order, want) in [
        (
            "alphabetical asc: bytewise last",
            "alphabetical",
            "asc",
            "v3",
        ),
        ("alphabetical old name", "name", "asc", "v3"),
        ("alphabetical desc: first", "alphabetical", "desc", "0005"),
        ("numerical asc", "numerical", "asc", "1e2"),
        ("numerical desc", "numerical", "desc", "0005"),
    ] {
        let policy =
            Policy::new(Strategy::parse(strategy, None, Order::parse(order).unwrap()).unwrap());
        assert_eq!(winner(&policy, &list).as_deref(), Some(want), "{name}");
    }
    let numerical = Policy::new(Strategy::parse("numerical", None, Order::Asc).unwrap());
    let selection = numerical.select(&list);
    assert_eq!(
        selection.dropped.unparsable,
        ["2024.01.15", "2024.02.01", "2023.12.31", "v3"],
        "tags that are not numbers are skipped, not fatal"
    );
}

/// Issue 11, item 11: signature and attestation tags are left out by default for the strategies that would
/// otherwise pick them (they sort last by name and are pushed last), as Flux does; semver never reads them as
/// versions anyway, and digest tracks one tag by name.
#[test]
fn signature_tags_are_left_out_by_name_number_and_build_strategies() {
    let digest = "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let sig = format!("{digest}.sig");
    let att = format!("{digest}.att");
    let sbom = format!("{digest}.sbom");
    let list = tags(&["20240101", "20240102", "zz.sig", &sig, &att, &sbom]);
    for (strategy, want) in [("alphabetical", "20240102"), ("numerical", "20240102")] {
        let policy = Policy::new(Strategy::parse(strategy, None, Order::Asc).unwrap());
        let selection = policy.select(&list);
        assert_eq!(
            selection.winner.map(|t| t.name.as_str()),
            Some(want),
            "{strategy}"
        );
        let mut ignored = selection.dropped.ignored.clone();
        ignored.sort_unstable();
        assert_eq!(ignored, [att.as_str(), &sbom, &sig, "zz.sig"], "{strategy}");
    }
    let mut built = list.clone();
    for (i, tag) in built.iter_mut().enumerate() {
        tag.created = Some(Utc.timestamp_opt(1_700_000_000 + i as i64, 0).unwrap());
    }
    let newest = Policy::new(Strategy::parse("newest-build", None, Order::Asc).unwrap());
    assert_eq!(
        winner(&newest, &built).as_deref(),
        Some("20240102"),
        "pushed last, still not a signature"
    );
    for (name, signature) in [
        ("flux's default", "v1.sig"),
        ("cosign signature", sig.as_str()),
        ("cosign attestation", att.as_str()),
        ("cosign sbom", sbom.as_str()),
        ("not a cosign digest", "v1.att"),
        ("a real tag", "signed-v1"),
    ] {
        let want = !matches!(name, "not a cosign digest" | "a real tag");
        assert_eq!(is_signature_tag(signature), want, "{name}");
    }
}

#[test]
fn numerical_rejects_nan_and_infinity() {
    let numerical = Policy::new(Strategy::parse("numerical", None, Order::Asc).unwrap());
    let list = tags(&["NaN", "inf", "Infinity", "7"]);
    let selection = numerical.select(&list);
    assert_eq!(selection.winner.map(|t| t.name.as_str()), Some("7"));
    assert_eq!(selection.dropped.unparsable, ["NaN", "inf", "Infinity"]);
}

#[test]
fn digest_tracks_one_tag() {
    let list = tags(&["1.0", "latest", "main"]);
    for (name, constraint, want) in [
        ("default is latest", None, Some("latest")),
        ("named tag", Some("main"), Some("main")),
        ("absent tag", Some("stable"), None),
    ] {
        let policy = Policy::new(Strategy::parse("digest", constraint, Order::Asc).unwrap());
        assert_eq!(winner(&policy, &list).as_deref(), want, "{name}");
    }
}

#[test]
fn filters_drop_tags_in_order_and_say_which() {
    let list = tags(&[
        "v1.0.0",
        "v1.1.0-debug",
        "v1.2.0",
        "latest",
        "v2.0.0",
        "build-5",
    ]);
    let mut policy = semver("");
    policy.allow = AllowTags::parse("regexp:^v").unwrap();
    policy.ignore = IgnoreTags::parse("*-debug, v2.*").unwrap();
    let selection = policy.select(&list);
    assert_eq!(selection.winner.map(|t| t.name.as_str()), Some("v1.2.0"));
    assert_eq!(selection.dropped.not_allowed, ["latest", "build-5"]);
    assert_eq!(selection.dropped.ignored, ["v1.1.0-debug", "v2.0.0"]);
    assert_eq!(selection.considered, 6);
    assert_eq!(selection.candidates(), 2);
}

#[test]
fn tag_pattern_orders_on_the_extracted_part() {
    // Flux's classic example: branch-sha-timestamp tags ordered on the timestamp.
    let list = tags(&[
        "main-abc123-1700000300",
        "main-def456-1700000100",
        "feature-x-1800000000",
        "main-zzz-9",
    ]);
    let mut policy = Policy::new(Strategy::parse("numerical", None, Order::Asc).unwrap());
    policy.extract = Some(Extract::new(r"^main-[a-f0-9]+-(?P<ts>\d+)$", "$ts").unwrap());
    let selection = policy.select(&list);
    assert_eq!(
        selection.winner.map(|t| t.name.as_str()),
        Some("main-abc123-1700000300")
    );
    assert_eq!(
        selection.dropped.no_pattern_match,
        ["feature-x-1800000000", "main-zzz-9"]
    );

    let mut versions = semver("^1");
    versions.extract = Some(Extract::new(r"^release-(.*)$", "${1}").unwrap());
    let list = tags(&["release-1.4.0", "release-1.10.0", "release-2.0.0", "1.99.0"]);
    assert_eq!(
        winner(&versions, &list).as_deref(),
        Some("release-1.10.0"),
        "the tag is returned, not the extract"
    );
}

#[test]
fn empty_list_has_no_winner() {
    let selection = semver("").select(&[]);
    assert!(selection.winner.is_none());
    assert_eq!(selection.considered, 0);
}

#[test]
fn strategy_names_and_errors() {
    for (name, input, want) in [
        ("default", "", Ok("semver")),
        ("latest is newest-build", "latest", Ok("newest-build")),
        ("name is alphabetical", "name", Ok("alphabetical")),
        ("numerical", "numerical", Ok("numerical")),
        ("digest", "digest", Ok("digest")),
        (
            "unknown",
            "newest",
            Err(
                "unknown update strategy 'newest': expected semver, newest-build, alphabetical, digest or numerical (old names: latest, name)",
            ),
        ),
    ] {
        let got = Strategy::parse(input, None, Order::Asc)
            .map(|s| s.name())
            .map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(String::from), "{name}");
    }
    assert!(
        Strategy::parse("semver", Some(">= nope"), Order::Asc)
            .unwrap_err()
            .to_string()
            .starts_with("invalid constraint '>= nope': "),
    );
    assert_eq!(
        Strategy::parse("digest", Some("^1.0"), Order::Asc)
            .unwrap_err()
            .to_string(),
        "invalid tag to track '^1.0' for the digest strategy: give one tag, such as 'latest'"
    );
    assert_eq!(
        Order::parse("up").unwrap_err().to_string(),
        "unknown sort order 'up': expected asc or desc"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn tag_name() -> impl proptest::strategy::Strategy<Value = String> {
        prop_oneof![
            "[vV]?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-[a-z0-9.]{1,6})?(\\+[a-z0-9]{1,4})?",
            "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the tags and policy, selection does not panic, and the winner passed every filter.
        #[test]
        fn winner_satisfies_every_filter(
            names in proptest::collection::vec(tag_name(), 0..40),
            constraint in "[~^<>=!v*xX0-9., |-]{0,12}",
            allow in "[a-z0-9.^$*+?()|\\[\\]\\\\-]{0,8}",
            ignore in "[a-z0-9*?,\\[\\]-]{0,8}",
            strategy in prop::sample::select(vec!["semver", "alphabetical", "numerical", "newest-build", "digest"]),
        ) {
            // Names with build metadata (`+`) are not tags; the rest are.
            let list: Vec<Tag> = names.iter().filter_map(|n| Tag::parse(n).ok()).collect();
            let Ok(strategy) = crate::policy::Strategy::parse(strategy, Some(&constraint), Order::Asc) else { return Ok(()); };
            let mut policy = Policy::new(strategy);
            if let Ok(a) = AllowTags::parse(&format!("regexp:{allow}")) { policy.allow = a; }
            if let Ok(i) = IgnoreTags::parse(&ignore) { policy.ignore = i; }
            let selection = policy.select(&list);
            if let Some(w) = selection.winner {
                prop_assert!(policy.allow.allows(&w.name));
                prop_assert!(policy.ignore.matching(&w.name).is_none());
                if let crate::policy::Strategy::Semver { constraint, .. } = &policy.strategy {
                    let v = crate::version::Version::parse(&w.name).expect("semver winner is a version");
                    prop_assert!(constraint.matches(&v));
                }
            }
            // The listing order never changes the answer.
            let mut reversed = list.clone();
            reversed.reverse();
            prop_assert_eq!(
                policy.select(&reversed).winner.map(|t| &t.name),
                selection.winner.map(|t| &t.name)
            );
        }
    }
}

/// Regression, issue 9 item 10: choosing among millions of tags ran seconds past the budget, since a timer cannot
/// interrupt CPU work. The selection asks the caller's clock every few thousand tags, and only then.
#[test]
fn selection_over_many_tags_stops_when_out_of_time() {
    let names: Vec<String> = (0..40_000).map(|i| format!("1.0.{i}")).collect();
    let list: Vec<Tag> = names.iter().map(|n| Tag::parse(n).unwrap()).collect();
    for strategy in [
        "semver",
        "alphabetical",
        "numerical",
        "newest-build",
        "digest",
    ] {
        let policy = Policy::new(Strategy::parse(strategy, None, Order::Asc).unwrap());
        let want = winner(&policy, &list);
        for (name, late_after, result) in [
            ("in time", usize::MAX, Ok(want.clone())),
            (
                "late from the start",
                0,
                Err(crate::policy::OutOfTime { tags: 40_000 }),
            ),
            (
                "late while ordering",
                3,
                Err(crate::policy::OutOfTime { tags: 40_000 }),
            ),
        ] {
            let asked = std::cell::Cell::new(0usize);
            let out_of_time = || {
                asked.set(asked.get() + 1);
                asked.get() > late_after
            };
            let got = policy
                .select_within(&list, &HashSet::new(), &out_of_time)
                .map(|s| s.winner.map(|t| t.name.to_string()));
            assert_eq!(got, result, "{strategy}, {name}");
            assert!(
                asked.get() <= 2 * 40_000 / 16_384 + 1,
                "{strategy}, {name}: asked {} times",
                asked.get()
            );
        }
        let filtered = policy.filter_within(&list, &|| true);
        assert_eq!(
            filtered.map(|f| f.len()),
            Err(crate::policy::OutOfTime { tags: 40_000 }),
            "{strategy}: filter"
        );
    }
}

/// A lock file entry records its policy's summary; `generate` reads from it whether the digest is rendered when
/// no policy it can see tracks the image. The reading agrees with the policy itself, whatever quoted text the
/// summary holds.
#[test]
fn a_summary_says_whether_its_policy_renders_digests() {
    let digest = Policy::new(Strategy::parse("digest", Some("latest"), Order::Asc).unwrap());
    let mut pin_digest = semver("^1");
    pin_digest.pin_digest = true;
    let mut regexp_mentioning_it = semver("^1");
    regexp_mentioning_it.allow = AllowTags::parse("regexp:^x, pin-digest$").unwrap();
    let newest = Policy::new(Strategy::parse("newest-build", None, Order::Asc).unwrap());
    for policy in [digest, pin_digest, regexp_mentioning_it, newest, semver("")] {
        let summary = policy.to_string();
        assert_eq!(
            Policy::summary_renders_digest(&summary),
            policy.renders_digest(),
            "{summary}"
        );
    }
    assert!(!Policy::summary_renders_digest("strategy digestive"));
}
