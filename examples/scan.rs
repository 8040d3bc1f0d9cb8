//! Scan a rendered YAML stream, give every image a new tag and every object an annotation, and say what was
//! found: how the library's manifest core is called, and a way to measure it on a large stream
//! (`/usr/bin/time -v target/release/examples/scan big.yaml`).

use std::io::Write;

use argocd_image_resolver::manifest::{Edit, scan, splice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: scan FILE.yaml")?;
    let src = std::fs::read_to_string(&path)?;
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
    writeln!(
        std::io::stdout().lock(),
        "{} documents, {} objects, {} images; {} bytes in, {} out",
        found.documents,
        found.objects.len(),
        found.images.len(),
        src.len(),
        out.len()
    )?;
    Ok(())
}
