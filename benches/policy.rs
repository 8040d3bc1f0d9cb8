//! How long picking a tag takes over a large repository: 100,000 tags, as some CI-heavy repositories have.
//!
//! The target (issue 3) is well under 50 ms for `resolve` over 100,000 candidate tags.

use std::hint::black_box;

use argocd_image_resolver::policy::filter::{AllowTags, IgnoreTags};
use argocd_image_resolver::policy::{Order, Policy, Strategy};
use argocd_image_resolver::tag::{Tag, parse_tag_list};
use criterion::{Criterion, criterion_group, criterion_main};

/// A realistic mix: versions with and without `v`, prereleases, variants, commit-sha and branch tags.
fn tag_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 5 {
            0 => format!("{}.{}.{}", i % 7, i % 97, i),
            1 => format!("v{}.{}.{}-rc.{}", i % 5, i % 13, i % 31, i % 3),
            2 => format!("{}.{}.{}-alpine", i % 7, i % 97, i),
            3 => format!("{:07x}", i * 2_654_435_761 % 0x0fff_ffff),
            _ => format!("main-{i}"),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let names = tag_names(100_000);
    let tags: Vec<Tag> = names.iter().map(|n| Tag::parse(n).unwrap()).collect();
    let text = names.join("\n");

    let semver =
        Policy::new(Strategy::parse("semver", Some("^3.0 || >=5.10 <6"), Order::Asc).unwrap());
    let mut filtered = semver.clone();
    filtered.allow = AllowTags::parse(r"regexp:^v?\d+\.\d+\.\d+").unwrap();
    filtered.ignore = IgnoreTags::parse("*-alpine, *-debug, 0.*").unwrap();
    let alphabetical = Policy::new(Strategy::parse("alphabetical", None, Order::Asc).unwrap());

    let mut group = c.benchmark_group("select 100k tags");
    group.bench_function("semver", |b| {
        b.iter(|| black_box(semver.select(black_box(&tags)).winner))
    });
    group.bench_function("semver + allow + ignore", |b| {
        b.iter(|| black_box(filtered.select(black_box(&tags)).winner))
    });
    group.bench_function("alphabetical", |b| {
        b.iter(|| black_box(alphabetical.select(black_box(&tags)).winner))
    });
    group.bench_function("parse tag list + semver", |b| {
        b.iter(|| {
            let parsed = parse_tag_list(black_box(&text)).unwrap();
            black_box(semver.select(&parsed).winner.map(|t| t.name.clone()))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
