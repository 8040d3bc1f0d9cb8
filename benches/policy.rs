//! How long picking a tag takes over a large repository: 100,000 tags, as some CI-heavy repositories have.
//!
//! The target (issue 3) is well under 50 ms for `resolve` over 100,000 candidate tags.
//!
//! Also a tag-list page of a million tags (about what the default 16Mi `--max-response-size` lets in): decoding
//! it as the client does now (straight into checked tags), against the old way (a `Vec<String>`, a `HashSet` of
//! copies, then `Tag`s), and choosing among them with the deadline check (issue 9 item 10).

use std::hint::black_box;

use argocd_image_resolver::policy::filter::{AllowTags, IgnoreTags};
use argocd_image_resolver::policy::{Order, Policy, Strategy};
use std::collections::HashSet;

use argocd_image_resolver::registry::tags::decode_page;
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

/// The decoding `RegistryClient::tags` did before issue 9: every name kept unchecked, copied into a set and
/// again into a `Tag`.
fn decode_page_before(body: &[u8]) -> Vec<Tag> {
    #[derive(serde::Deserialize)]
    struct Page {
        tags: Option<Vec<String>>,
    }
    let page: Page = serde_json::from_slice(body).unwrap();
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for tag in page.tags.unwrap_or_default() {
        if seen.insert(tag.clone()) {
            names.push(tag);
        }
    }
    names.iter().map(|n| Tag::parse(n).unwrap()).collect()
}

fn bench_million(c: &mut Criterion) {
    let names = tag_names(1_000_000);
    let body = serde_json::to_vec(&serde_json::json!({"name": "big/repo", "tags": names})).unwrap();
    eprintln!("page of {} tags: {} bytes", names.len(), body.len());
    let (tags, _) = decode_page(&body).unwrap();
    let semver =
        Policy::new(Strategy::parse("semver", Some("^3.0 || >=5.10 <6"), Order::Asc).unwrap());
    let unavailable = HashSet::new();

    let mut group = c.benchmark_group("1M-tag page");
    group.sample_size(10);
    group.bench_function("decode (checked, one copy)", |b| {
        b.iter(|| black_box(decode_page(black_box(&body)).unwrap().0.len()))
    });
    group.bench_function("decode before issue 9", |b| {
        b.iter(|| black_box(decode_page_before(black_box(&body)).len()))
    });
    group.bench_function("semver", |b| {
        b.iter(|| black_box(semver.select(black_box(&tags)).winner))
    });
    group.bench_function("semver, asking the clock", |b| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let out_of_time = || std::time::Instant::now() >= deadline;
        b.iter(|| {
            black_box(
                semver
                    .select_within(black_box(&tags), &unavailable, &out_of_time)
                    .unwrap()
                    .winner,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench, bench_million);
criterion_main!(benches);
