//! The scanner skips a CustomResourceDefinition's `spec` when its lines show that is exact (issue 11, item 14).
//! Against the same stream scanned whole (an operator's image path that names no kind turns the skipping off),
//! asserts: the same documents and objects (identity, annotations, annotation sites); the same images, less some
//! or all of those a CRD's spec holds (which no API server keeps as a pod spec); the same error, or none (or a
//! later one) where a skipped spec was malformed.
#![no_main]

use argocd_image_resolver::manifest::{ImagePath, ScanError, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let whole: [ImagePath; 1] = ["spec.nothing.here[*].image".parse().unwrap()];
    match (scan(src, &[]), scan(src, &whole)) {
        (Ok(cut), Ok(full)) => {
            assert_eq!(cut.documents, full.documents, "documents");
            assert_eq!(
                format!("{:?}", cut.objects),
                format!("{:?}", full.objects),
                "objects"
            );
            let crd = |object: usize| {
                let object = &full.objects[object];
                object.kind.as_deref() == Some("CustomResourceDefinition")
                    && object
                        .api_version
                        .as_deref()
                        .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
            };
            // Skipping is conservative (a CRD written unusually is read whole): between the two.
            let kept: Vec<_> = full.images.iter().filter(|i| !crd(i.object)).collect();
            assert!(kept.iter().all(|i| cut.images.contains(i)), "an image was lost");
            assert!(cut.images.iter().all(|i| full.images.contains(i)), "an image was made up");
            let order: Vec<_> = cut.images.iter().map(|i| (i.span.start, i.object)).collect();
            assert!(order.windows(2).all(|w| w[0] <= w[1]), "text order");
        }
        // The error is in the same document (a document read alone may end its error sooner: "end of stream"
        // where the whole stream went on to a "document indicator"), or a later one where the first error was
        // in a skipped spec; never in an earlier document.
        (Err(cut), Err(full)) => {
            let place = |e: &ScanError| match e {
                ScanError::Yaml {
                    document,
                    line,
                    column,
                    ..
                }
                | ScanError::Position {
                    document,
                    line,
                    column,
                } => (*document, *line, *column),
                ScanError::Stopped { document, line } => (*document, *line, 0),
            };
            let (cut_at, full_at) = (place(&cut), place(&full));
            assert!(cut_at.0 >= full_at.0, "{cut} / {full}");
        }
        // Only a malformed spec of a CRD goes unnoticed: Argo CD's own parse then refuses the output.
        (Ok(_), Err(_)) => {}
        (Err(cut), Ok(_)) => panic!("refused only when skipping: {cut}"),
    }
});
