//! The scanner skips a CustomResourceDefinition's `spec` when its lines show that is exact (issue 11, item 14).
//! Against the same stream scanned whole (an operator's image path that names no kind turns the skipping off),
//! asserts: the same documents and objects (identity, annotations, annotation sites); the same images but those a
//! CRD's spec holds (which no API server keeps as a pod spec); the same error, or none where only a skipped spec
//! was malformed.
#![no_main]

use argocd_image_resolver::manifest::{ImagePath, scan};
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
                full.objects[object].kind.as_deref() == Some("CustomResourceDefinition")
            };
            let kept: Vec<_> = full.images.iter().filter(|i| !crd(i.object)).collect();
            let cut_images: Vec<_> = cut.images.iter().collect();
            assert_eq!(cut_images, kept, "images");
        }
        (Err(cut), Err(full)) => assert_eq!(cut, full, "errors"),
        // Only a malformed spec of a CRD goes unnoticed: Argo CD's own parse then refuses the output.
        (Ok(_), Err(_)) => {}
        (Err(cut), Ok(_)) => panic!("refused only when skipping: {cut}"),
    }
});
