//! Versions as tags spell them. A parsed version's display is canonical SemVer: it re-parses, strictly too, to the
//! same parts; the three parsers agree where their languages overlap; ordering is a total order consistent with
//! equality and hashing.
#![no_main]

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use argocd_image_resolver::version::Version;
use libfuzzer_sys::fuzz_target;

fn parts(v: &Version) -> (u64, u64, u64, &str, &str) {
    (
        v.major(),
        v.minor(),
        v.patch(),
        v.prerelease(),
        v.metadata(),
    )
}

fn hash(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn check_one(text: &str) -> Option<Version> {
    let strict = Version::parse_strict(text);
    let three = Version::parse_three_part(text);
    let lenient = Version::parse(text);
    if let Ok(s) = &strict {
        let l = lenient.as_ref().expect("strict SemVer is also lenient");
        assert_eq!(parts(s), parts(l), "{text:?}: strict and lenient disagree");
        let t = three.as_ref().expect("strict SemVer has three parts");
        assert_eq!(
            parts(s),
            parts(t),
            "{text:?}: strict and three-part disagree"
        );
    }
    if let Ok(t) = &three {
        let l = lenient
            .as_ref()
            .expect("a three-part version is also lenient");
        assert_eq!(
            parts(t),
            parts(l),
            "{text:?}: three-part and lenient disagree"
        );
    }
    let v = lenient.ok()?;
    assert_eq!(v.original(), text);
    assert_eq!(v.is_prerelease(), !v.prerelease().is_empty());
    let shown = v.to_string();
    for (name, again) in [
        ("lenient", Version::parse(&shown)),
        ("strict", Version::parse_strict(&shown)),
        ("three-part", Version::parse_three_part(&shown)),
    ] {
        let again =
            again.unwrap_or_else(|e| panic!("{text:?}: display {shown:?} is not {name}: {e}"));
        assert_eq!(
            parts(&again),
            parts(&v),
            "{text:?}: display {shown:?} reads differently"
        );
        assert_eq!(again, v);
        assert_eq!(
            again.to_string(),
            shown,
            "{text:?}: display is not a fixed point"
        );
    }
    Some(v)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The whole input, then up to three versions one per line to compare with each other.
    check_one(text);
    let versions: Vec<Version> = text.lines().take(3).filter_map(check_one).collect();
    for a in &versions {
        assert_eq!(a.cmp(a), Ordering::Equal);
        for b in &versions {
            let ab = a.cmp(b);
            assert_eq!(ab, b.cmp(a).reverse(), "{a} vs {b}: not antisymmetric");
            assert_eq!(
                ab == Ordering::Equal,
                a == b,
                "{a} vs {b}: cmp and eq disagree"
            );
            assert_eq!(a.partial_cmp(b), Some(ab));
            if a == b {
                assert_eq!(hash(a), hash(b), "{a} == {b} but hashes differ");
            }
            for c in &versions {
                if ab != Ordering::Greater && b.cmp(c) != Ordering::Greater {
                    assert_ne!(
                        a.cmp(c),
                        Ordering::Greater,
                        "{a} <= {b} <= {c}: not transitive"
                    );
                }
            }
        }
    }
});
