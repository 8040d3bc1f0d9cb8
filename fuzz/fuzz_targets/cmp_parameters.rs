//! Argo CD's CMP parameters (`ARGOCD_APP_PARAMETERS`), which the Application author controls. Any JSON is either
//! settings or one error; settings build tracked images deterministically, each a bare repository with a
//! validated pin and a pull-secret spec that reads back as itself.
#![no_main]

use argocd_image_resolver::image::is_valid_tag;
use argocd_image_resolver::policy::source::Settings;
use argocd_image_resolver::registry::credentials::CredentialSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let settings = match Settings::from_parameters_json(json) {
        Ok(settings) => settings,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    for (key, value, origin) in settings.effective() {
        assert!(
            !value.trim().is_empty(),
            "{key} from {origin}: an empty value counts as not set"
        );
    }
    let tracked = match settings.tracked_images() {
        Ok(tracked) => tracked,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let again = settings
        .tracked_images()
        .expect("the same settings validate the same way");
    assert_eq!(
        format!("{:?}", again.images),
        format!("{:?}", tracked.images),
        "not deterministic"
    );
    let aliases: Vec<&str> = tracked
        .images
        .iter()
        .filter_map(|t| t.alias.as_deref())
        .collect();
    let _ = settings.app_wide_warnings(&aliases);
    // Parameters under annotations that set nothing: the same images.
    let layered = Settings::from_annotations("Deployment/x", &[]).overridden_by(&settings);
    let layered = layered
        .tracked_images()
        .expect("adding no keys changes nothing");
    assert_eq!(
        format!("{:?}", layered.images),
        format!("{:?}", tracked.images)
    );
    for image in &tracked.images {
        for bare in [&image.image, &image.match_name] {
            assert!(
                bare.tag().is_none() && bare.digest().is_none(),
                "{bare} is not a bare repository"
            );
        }
        if let Some(pin) = &image.pin {
            assert!(is_valid_tag(pin), "pin {pin:?} is not a tag");
        }
        if let Some(spec) = &image.pull_secret {
            let shown = spec.to_string();
            let back = CredentialSpec::parse(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
            assert_eq!(&back, spec, "pull-secret {shown:?} reads back differently");
        }
        let _ = image.policy.to_string();
    }
});
