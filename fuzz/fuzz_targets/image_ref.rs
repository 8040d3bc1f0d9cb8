//! Image references as manifests, annotations and flags write them. A reference that parses must survive being
//! written back: the canonical and the familiar spellings name the same repository, tag and digest.
#![no_main]

use argocd_image_resolver::image::{
    ImageDefaults, ImageRef, is_valid_digest, is_valid_tag, split_constraint,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Registries.conf can move images without a host elsewhere; the round trip must hold there too.
    let corp = ImageDefaults::new("registry.corp").with_namespace("registry.corp", "base");
    for defaults in [&ImageDefaults::default(), &corp] {
        let Ok(image) = ImageRef::parse_with(text, defaults) else {
            continue;
        };
        if let Some(tag) = image.tag() {
            assert!(
                is_valid_tag(tag),
                "{text:?} parsed with invalid tag {tag:?}"
            );
        }
        if let Some(digest) = image.digest() {
            assert!(
                is_valid_digest(digest),
                "{text:?} parsed with invalid digest {digest:?}"
            );
        }
        let canonical = image.canonical();
        let again = ImageRef::parse_with(&canonical, defaults)
            .unwrap_or_else(|e| panic!("{text:?}: canonical {canonical:?} does not parse: {e}"));
        assert_eq!(
            again, image,
            "{text:?}: canonical {canonical:?} reads differently"
        );
        assert_eq!(
            again.to_string(),
            canonical,
            "{text:?}: canonical is not a fixed point"
        );
        // `familiar` drops Docker Hub and `library/` as Docker does, so it reads back under Docker's defaults.
        let plain = ImageRef::parse(&canonical).expect("canonical names its registry");
        let familiar = plain.familiar();
        let back = ImageRef::parse(&familiar)
            .unwrap_or_else(|e| panic!("{text:?}: familiar {familiar:?} does not parse: {e}"));
        assert_eq!(
            back, plain,
            "{text:?}: familiar {familiar:?} reads differently"
        );
        let bare = image.repository_only();
        assert!(bare.same_repository(&image) && bare.tag().is_none() && bare.digest().is_none());
        assert_eq!(ImageRef::parse(&bare.canonical()).ok(), Some(bare));
    }
    // `image[:constraint]` as image-list entries write it: whatever it splits into must itself be valid.
    if let Ok((image, constraint)) = split_constraint(text) {
        assert!(
            image.tag().is_none() || constraint.is_none(),
            "{text:?}: a tag and a constraint"
        );
        assert_eq!(
            ImageRef::parse(&image.canonical()).ok(),
            Some(image),
            "{text:?}"
        );
    }
});
