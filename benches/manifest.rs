//! Scanning and splicing whole install manifests: Argo CD's `install.yaml` (1.9 MB) when the shared fixtures are
//! beside the checkout, and always the generated stand-in for it (1.2 MB) that the tests read.

use std::hint::black_box;

use argocd_image_resolver::manifest::{Edit, scan, splice};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

fn manifest(c: &mut Criterion) {
    for fixture in fixtures::install_manifests() {
        bench_one(c, &format!("manifest {}", fixture.name), &fixture.text);
    }
}

fn bench_one(c: &mut Criterion, name: &str, src: &str) {
    // One non-ASCII character first: character offsets then need mapping to bytes all the way through.
    let non_ascii = format!("# é\n{src}");
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    group.throughput(Throughput::Bytes(src.len() as u64));
    // The parser alone, for scale: what any span-aware scan of this text costs at least.
    group.bench_function("parser events (baseline)", |b| {
        b.iter(|| {
            saphyr_parser::Parser::new_from_str(black_box(src)).fold(0, |n, e| {
                e.unwrap();
                n + 1
            })
        })
    });
    group.bench_function("parser events non-ascii (baseline)", |b| {
        b.iter(|| {
            saphyr_parser::Parser::new_from_str(black_box(&non_ascii)).fold(0, |n, e| {
                e.unwrap();
                n + 1
            })
        })
    });
    group.bench_function("scan", |b| b.iter(|| scan(black_box(src), &[]).unwrap()));
    group.bench_function("scan non-ascii", |b| {
        b.iter(|| scan(black_box(&non_ascii), &[]).unwrap())
    });
    group.bench_function("scan+splice", |b| {
        b.iter(|| {
            let found = scan(black_box(src), &[]).unwrap();
            let edits: Vec<Edit> = found
                .images
                .iter()
                .map(|i| i.replace("quay.io/argoproj/argocd:v3.5.0"))
                .collect();
            splice(src, &edits).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, manifest);
criterion_main!(benches);
