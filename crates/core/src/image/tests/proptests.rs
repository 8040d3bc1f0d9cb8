//! Properties over generated references: parsing never panics, and every written form reads back.

use proptest::prelude::*;

use super::*;

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,5}((\\.|_|__|-{1,2})[a-z0-9]{1,5}){0,2}"
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,40}") {
        let _ = ImageRef::parse(&s);
        let _ = split_constraint(&s);
    }

    #[test]
    fn parse_never_panics_on_reference_alphabet(s in "[a-zA-Z0-9:/@._\\-\\[\\]]{0,40}") {
        let _ = ImageRef::parse(&s);
        let _ = split_constraint(&s);
    }

    /// Every written form reads back as the same reference, whatever the registry and first component.
    #[test]
    fn written_forms_read_back(
        registry in prop_oneof![
            Just(None),
            Just(Some("docker.io")),
            Just(Some("index.docker.io")),
            Just(Some("localhost")),
            Just(Some("localhost:5000")),
            Just(Some("reg.example:443")),
        ],
        first in prop_oneof![
            component(),
            Just("library".to_owned()),
            Just("localhost".to_owned()),
            "[a-z]{1,4}\\.[a-z]{1,4}",
            "[0-9a-f]{64}",
        ],
        rest in prop::collection::vec(component(), 0..3),
        tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in prop::option::of("[0-9a-f]{64}"),
    ) {
        let mut path = vec![first];
        path.extend(rest);
        let path = path.join("/");
        let mut input = match registry {
            Some(registry) => format!("{registry}/{path}"),
            None => path,
        };
        if let Some(tag) = &tag {
            input = format!("{input}:{tag}");
        }
        if let Some(digest) = &digest {
            input = format!("{input}@sha256:{digest}");
        }
        // Inputs Docker refuses (a bare image ID, a dotted first component read as a bad host) are not written.
        let Ok(image) = ImageRef::parse(&input) else { return Ok(()) };
        for written in [image.familiar(), image.canonical()] {
            let back = ImageRef::parse(&written);
            prop_assert_eq!(back.as_ref(), Ok(&image), "{} written as {}", input, written);
        }
        let name = ImageRef::parse(&image.familiar_name());
        prop_assert!(name.is_ok_and(|n| n.same_repository(&image)), "{} named {}", input, image.familiar_name());
    }

    #[test]
    fn canonical_round_trips(
        registry in prop::option::of("[a-z]{1,6}\\.(io|com)(:[0-9]{1,5})?"),
        path in prop::collection::vec(component(), 1..4),
        tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in prop::option::of("[0-9a-f]{64}"),
    ) {
        let mut path = path;
        if registry.is_none() {
            // A dotted first component would name a registry.
            path[0] = path[0].replace('.', "-");
        }
        let mut input = path.join("/");
        if let Some(registry) = &registry {
            input = format!("{registry}/{input}");
        }
        if let Some(tag) = &tag {
            input = format!("{input}:{tag}");
        }
        if let Some(digest) = &digest {
            input = format!("{input}@sha256:{digest}");
        }
        let image = ImageRef::parse(&input).unwrap();
        prop_assert_eq!(ImageRef::parse(&image.canonical()).unwrap(), image.clone());
        prop_assert_eq!(ImageRef::parse(&image.familiar()).unwrap(), image.clone());
        prop_assert_eq!(image.tag(), tag.as_deref());
    }
}
