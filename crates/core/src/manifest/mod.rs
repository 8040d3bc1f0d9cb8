//! Find container images in rendered Kubernetes YAML and rewrite exactly their bytes (and annotations).
//!
//! [`scan`] reads a YAML stream (Kustomize or Helm output, or plain files, which may be JSON) with a span-aware
//! parser and returns the objects and the image scalars with their byte spans (resolving aliases and merge keys);
//! [`replace_images`] (or [`ImageField::replace`] for one image, anchors aside) and [`Object::set_annotation`]
//! turn new values into [`Edit`]s; [`splice`] applies them. Nothing is re-serialised: every byte outside an edit
//! stays as the renderer printed it.
//!
//! ```
//! use argocd_image_resolver_core::manifest::{scan, splice};
//! let src = "kind: Pod\nspec:\n  containers:\n  - name: app\n    image: nginx:1.0  # pinned\n";
//! let found = scan(src, &[]).unwrap();
//! let edits = [found.images[0].replace("nginx:1.1")];
//! assert_eq!(splice(src, &edits).unwrap(), src.replace("nginx:1.0", "nginx:1.1"));
//! ```

mod annotate;
mod object;
mod path;
mod replace;
pub(crate) mod scan;
mod site;
mod splice;
// Also the lock file's editor's: where a scalar ends, how a value is written.
pub(crate) mod text;
mod tree;

pub use annotate::AnnotateError;
pub use object::{ImageField, Object, ScalarStyle};
pub use path::{ImagePath, ImagePathError};
pub use replace::{ReplaceError, replace_images};
pub use scan::{Scan, ScanError, Stop, scan, scan_each, scan_until};
pub use splice::{Edit, SpliceError, Splicer, splice, splice_in_order};
pub use text::line_breaks;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
