//! One image's write-back keys — `<alias>.kustomize.image-name`, `<alias>.helm.image-name`, `.helm.image-tag`,
//! `.helm.image-spec` — and what they make of a new tag: the kustomization `images:` entry, or the values to set.
//!
//! As argocd-image-updater: the kustomization entry is named by `kustomize.image-name` when set (the image's name
//! in the manifests), with the image-list image as its `newName`; otherwise by the image-list image itself, with no
//! `newName`. Helm values: `helm.image-spec` takes the whole `name:tag` and wins over the other two;
//! otherwise `helm.image-name` (default `image.name`) takes the name and `helm.image-tag` (default `image.tag`)
//! the tag (`tag@digest` when pinned to a digest), for an image without alias too (its keys can only be the
//! defaults). A name the values file writes without registry stays without ([`ImageWriteBack::helm_values_in`]).

use std::fmt;

use thiserror::Error;

use crate::image::{is_registry_host, normalise_registry};

/// argocd-image-updater's default values path of an image's name.
pub const DEFAULT_HELM_NAME: &str = "image.name";
/// argocd-image-updater's default values path of an image's tag.
pub const DEFAULT_HELM_TAG: &str = "image.tag";

/// An image's write-back keys, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageWriteBack {
    /// The image as its image-list entry writes it, without alias, tag, constraint or digest
    /// (`ghcr.io/org/web`, `nginx`): a kustomization's `newName` and the value of a Helm name.
    pub written: String,
    /// `kustomize.image-name` as written: the `name` of the image's kustomization entry.
    pub kustomize_name: Option<String>,
    pub helm_name: Option<ValuePath>,
    pub helm_tag: Option<ValuePath>,
    pub helm_spec: Option<ValuePath>,
}

/// A dotted path into a Helm values file, as argocd-image-updater reads `helm.image-*`: keys separated by `.`,
/// each optionally followed by `[n]` for the n-th item of a list (`containers[0].image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePath {
    text: String,
    steps: Vec<Step>,
}

/// One step of a [`ValuePath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    /// A key whose value is a list, and the item of it: `containers[0]`.
    Item(String, usize),
}

/// Why a values path was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("'{path}' is not a values path: {problem}")]
pub struct ValuePathError {
    pub path: String,
    pub problem: &'static str,
}

/// The most keys a values path may have: values files are a few levels deep, and YAML readers limit nesting.
pub const MAX_PATH_STEPS: usize = 64;

impl ValuePath {
    /// ```
    /// use argocd_image_resolver_core::writeback::{Step, ValuePath};
    ///
    /// let path = ValuePath::parse("spec.containers[1].image").unwrap();
    /// assert_eq!(path.steps()[1], Step::Item("containers".into(), 1));
    /// assert!(ValuePath::parse("image..tag").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// An empty key, or brackets other than one trailing `[n]`.
    pub fn parse(text: &str) -> Result<ValuePath, ValuePathError> {
        let error = || ValuePathError {
            path: text.to_string(),
            problem: "write keys separated by '.', such as image.tag, each optionally followed by [n] for an item \
                      of a list (containers[0].image)",
        };
        if text.split('.').count() > MAX_PATH_STEPS {
            return Err(ValuePathError {
                path: text.to_string(),
                problem: "it has more than 64 keys",
            });
        }
        let steps = text
            .split('.')
            .map(|segment| {
                let step = match segment.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
                    Some((key, index)) => Step::Item(
                        key.to_string(),
                        (!index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| index.parse().ok())
                            .flatten()
                            .ok_or_else(error)?,
                    ),
                    None => Step::Key(segment.to_string()),
                };
                let key = match &step {
                    Step::Key(key) | Step::Item(key, _) => key,
                };
                if key.is_empty() || key.contains(['[', ']']) || key.chars().any(char::is_control) {
                    return Err(error());
                }
                Ok(step)
            })
            .collect::<Result<Vec<Step>, ValuePathError>>()?;
        Ok(ValuePath {
            text: text.to_string(),
            steps,
        })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The `images:` entry of a kustomization for one image: what [`super::set_kustomize_image`] makes the entry
/// named `name` say. `None` fields are removed from the entry (a stale `digest` would pin the old image).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KustomizeImage {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

/// The resolved image to write: its tag, and its digest when the policy pins one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewImage<'a> {
    pub tag: &'a str,
    pub digest: Option<&'a str>,
}

impl NewImage<'_> {
    /// The tag, with `@digest` when pinned: what a values file's tag takes (upstream's `GetTagWithDigest`).
    pub fn tag_with_digest(&self) -> String {
        match self.digest {
            Some(digest) => format!("{}@{digest}", self.tag),
            None => self.tag.to_string(),
        }
    }
}

impl ImageWriteBack {
    /// The kustomization entry for `new`.
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::{ImageWriteBack, NewImage};
    ///
    /// let web = ImageWriteBack { written: "ghcr.io/org/web".into(), kustomize_name: Some("web".into()), ..Default::default() };
    /// let entry = web.kustomize_image(NewImage { tag: "1.2.0", digest: None });
    /// assert_eq!((entry.name.as_str(), entry.new_name.as_deref()), ("web", Some("ghcr.io/org/web")));
    /// ```
    pub fn kustomize_image(&self, new: NewImage<'_>) -> KustomizeImage {
        let (name, new_name) = match &self.kustomize_name {
            Some(name) => (name.clone(), Some(self.written.clone())),
            None => (self.written.clone(), None),
        };
        KustomizeImage {
            name,
            new_name,
            new_tag: Some(new.tag.to_string()),
            digest: new.digest.map(String::from),
        }
    }

    /// The values to set for `new`, in the order to set them: the spec alone, or the name then the tag.
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::{ImageWriteBack, NewImage};
    ///
    /// let web = ImageWriteBack { written: "ghcr.io/org/web".into(), ..Default::default() };
    /// let values: Vec<(String, String)> = web
    ///     .helm_values(NewImage { tag: "1.2.0", digest: None })
    ///     .into_iter()
    ///     .map(|(path, value)| (path.to_string(), value))
    ///     .collect();
    /// assert_eq!(values, [("image.name".into(), "ghcr.io/org/web".into()), ("image.tag".into(), "1.2.0".into())]);
    /// ```
    pub fn helm_values(&self, new: NewImage<'_>) -> Vec<(ValuePath, String)> {
        if let Some(spec) = &self.helm_spec {
            return vec![(
                spec.clone(),
                format!("{}:{}", self.written, new.tag_with_digest()),
            )];
        }
        let default = |text| ValuePath::parse(text).expect("a valid default");
        vec![
            (
                self.helm_name
                    .clone()
                    .unwrap_or_else(|| default(DEFAULT_HELM_NAME)),
                self.written.clone(),
            ),
            (
                self.helm_tag
                    .clone()
                    .unwrap_or_else(|| default(DEFAULT_HELM_TAG)),
                new.tag_with_digest(),
            ),
        ]
    }

    /// [`ImageWriteBack::helm_values`] for the values file `src`: where the file now writes the image's name (or
    /// its `name:tag` spec) without a registry, the name is written without its registry too — as
    /// argocd-image-updater keeps this short form, for charts that take the registry in a value of their own
    /// (Bitnami's `image.registry`), which a registry in the name would then repeat. Docker Hub's implicit
    /// `library/` goes with it unless the file writes it. A registry is a first component holding a `.` or a
    /// `:port`, or `localhost` (upstream looks for a `.` alone).
    ///
    /// ```
    /// use argocd_image_resolver_core::writeback::{ImageWriteBack, NewImage, ValuePath};
    ///
    /// let nginx = ImageWriteBack {
    ///     written: "docker.io/bitnami/nginx".into(),
    ///     helm_name: Some(ValuePath::parse("image.repository").unwrap()),
    ///     ..Default::default()
    /// };
    /// let values = "image:\n  registry: docker.io\n  repository: bitnami/nginx\n  tag: 1.27.0\n";
    /// let new = NewImage { tag: "1.27.1", digest: None };
    /// assert_eq!(nginx.helm_values_in(values, new)[0].1, "bitnami/nginx");
    /// assert_eq!(nginx.helm_values_in("image: {}\n", new)[0].1, "docker.io/bitnami/nginx");
    /// ```
    pub fn helm_values_in(&self, src: &str, new: NewImage<'_>) -> Vec<(ValuePath, String)> {
        let mut values = self.helm_values(new);
        if let Some((path, name)) = values.first_mut()
            && let Some(current) = super::helm::current_value(src, path)
            && let Some(short) = without_registry(name, &current)
        {
            *name = short;
        }
        values
    }
}

/// `value` (a name, or a `name:tag` spec) without its registry, when it has one and `current` has none.
fn without_registry(value: &str, current: &str) -> Option<String> {
    let has_registry = |text: &str| {
        text.split_once('/')
            .is_some_and(|(first, _)| is_registry_host(first))
    };
    if !has_registry(value) || has_registry(current) {
        return None;
    }
    let (registry, rest) = value.split_once('/')?;
    let rest = match rest.strip_prefix("library/") {
        Some(name)
            if normalise_registry(registry) == "docker.io"
                && !name.contains('/')
                && !current.starts_with("library/") =>
        {
            name
        }
        _ => rest,
    };
    Some(rest.to_string())
}

/// The image of an image-list reference (`[alias=]` already removed) as written, without the constraint or digest
/// after it: `ghcr.io/org/web:^1` → `ghcr.io/org/web`, `localhost:5000/app` → `localhost:5000/app`.
pub fn written_name(reference: &str) -> &str {
    let base = reference.split('@').next().unwrap_or_default();
    let last_component = base.rfind('/').map_or(0, |i| i + 1);
    match base[last_component..].find(':') {
        Some(colon) => &base[..last_component + colon],
        None => base,
    }
}
