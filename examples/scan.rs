//! Scan a rendered YAML stream, give every image a new tag and every object an annotation, and say what was
//! found: how the library's manifest core is called, and a way to measure it on a large stream
//! (`/usr/bin/time -v target/release/examples/scan big.yaml` for memory; `scan big.yaml 200` repeats the
//! scan and splice 200 times and prints the mean time and throughput).

use std::io::Write;
use std::time::Instant;

use argocd_image_resolver::manifest::{Edit, scan, splice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: scan FILE.yaml [REPEAT]")?;
    let repeat: u32 = args.next().map_or(Ok(1), |n| n.parse())?;
    let src = std::fs::read_to_string(&path)?;
    let started = Instant::now();
    let mut summary = String::new();
    for _ in 0..repeat.max(1) {
        let found = scan(&src, &[])?;
        let mut edits: Vec<Edit> = found
            .images
            .iter()
            .map(|i| i.replace("example.test/new:1"))
            .collect();
        for object in found.objects.iter().filter(|o| o.kind.is_some()) {
            edits.push(object.set_annotation("example.test/scanned", "yes")?);
        }
        let out = splice(&src, &edits)?;
        summary = format!(
            "{} documents, {} objects, {} images; {} bytes in, {} out",
            found.documents,
            found.objects.len(),
            found.images.len(),
            src.len(),
            out.len()
        );
    }
    let mean = started.elapsed() / repeat.max(1);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{summary}")?;
    if repeat > 1 {
        let rate = src.len() as f64 / mean.as_secs_f64() / 1e6;
        writeln!(stdout, "scan + splice: {mean:.2?} a run, {rate:.0} MB/s")?;
    }
    Ok(())
}
