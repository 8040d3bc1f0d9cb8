//! Table tests of the policy sources: image-list forms, precedence, parameters, env spellings, pin and hold,
//! matching, every error message and every warning.

use super::*;

const APP_CREDENTIALS: &str = "an application may only name a mounted pull secret (pullsecret:<namespace>/<name>), \
     which is sent only to the registries it has auths for; env:, secret: and ext: credentials are the operator's, set \
     in registries.conf";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Annotations of `Deployment/web`; keys are given without the prefix.
fn annotations(pairs: &[(&str, &str)]) -> Settings {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
        .collect();
    Settings::from_annotations("Deployment/web", &pairs)
}

fn env(pairs: &[(&str, &str)]) -> Result<Settings, SourceError> {
    Settings::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// `alias=image [policy]` per tracked image, the way a reader checks it.
fn summary(tracked: &Tracked) -> Vec<String> {
    tracked
        .images
        .iter()
        .map(|t| {
            let alias = t
                .alias
                .as_deref()
                .map_or(String::new(), |a| format!("{a}="));
            format!("{alias}{} [{}]", t.image.familiar_name(), t.policy)
        })
        .collect()
}

fn tracked(settings: &Settings) -> Tracked {
    settings.tracked_images().expect("valid settings")
}

/// The keys and where each was written, without the values.
fn key_origins(origins: &[KeyOrigin]) -> Vec<(String, Origin)> {
    origins
        .iter()
        .map(|o| (o.key.clone(), o.origin.clone()))
        .collect()
}

mod layering;
mod lists;
mod messages;
mod write_back;
