//! Turn new image values into edits that keep what anchors and aliases mean.
//!
//! An anchor makes one text the value of several places (`image: &app x:1` … `image: *app`, a container list
//! reused with `containers: *c` or `<<: *pod`). Editing that text changes all of them, so it is edited only when
//! every place it reaches is an image being set to the same value; an image written as an alias gets its own
//! value written in place of the alias when it must differ from the anchor's. Anything else would change a place
//! that is not an image, or give two images one value: that is refused, naming the anchor.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::object::{AnchorName, Sharing};
use super::scan::Scan;
use super::splice::Edit;

/// Why new image values cannot be written without changing what something else means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error(
        "cannot write image '{first}' at line {line} of document {}: {anchor} makes the same text image \
         '{second}' too; write each image out instead of sharing it through the anchor",
        .document + 1
    )]
    Conflict {
        document: usize,
        line: usize,
        anchor: String,
        first: String,
        second: String,
    },
    #[error(
        "cannot write image '{value}' at line {line} of document {}: {anchor} gives its text to {} places, \
         {} of them not images set to it; changing it would change those too, so write the image out instead of \
         sharing it through the anchor",
        .document + 1, Count(*.uses), Count(.uses.saturating_sub(*.images))
    )]
    Shared {
        document: usize,
        line: usize,
        value: String,
        anchor: String,
        uses: usize,
        images: usize,
    },
}

/// A count of places, where `usize::MAX` stands for an anchor that repeats itself without end.
struct Count(usize);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= usize::MAX / 2 {
            f.write_str("endlessly many")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn anchor_text(anchor: Option<&AnchorName>) -> String {
    anchor.map_or_else(|| "an anchor".to_owned(), ToString::to_string)
}

/// The edits that give each of `scan`'s images its new value (`values[i]` for `scan.images[i]`; `None` or a
/// missing entry: as written), keeping what anchors and aliases mean (see the module documentation). Images
/// that keep their value get no edit.
///
/// # Errors
///
/// When one text would need two values, or changing it would change a place that is not one of these images.
///
/// ```
/// use argocd_image_resolver_core::manifest::{replace_images, scan, splice};
/// let src = "kind: Pod\nspec:\n  containers:\n  - image: &app x:1\n  - image: *app\n";
/// let found = scan(src, &[]).unwrap();
/// let new = vec![Some("x:2".to_owned()), Some("x:2".to_owned())];
/// let out = splice(src, &replace_images(&found, &new).unwrap()).unwrap();
/// assert_eq!(out, src.replace("&app x:1", "&app x:2"));
/// ```
pub fn replace_images(scan: &Scan, values: &[Option<String>]) -> Result<Vec<Edit>, ReplaceError> {
    let images = &scan.images;
    let want = |i: usize| {
        values
            .get(i)
            .and_then(Option::as_deref)
            .unwrap_or(&images[i].value)
    };
    // The images each text holds the value of.
    let mut texts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, image) in images.iter().enumerate() {
        texts.entry(image.span.start).or_default().push(i);
    }
    for fields in texts.values() {
        let first = fields[0];
        if let Some(&other) = fields.iter().find(|&&i| want(i) != want(first)) {
            let image = &images[first];
            let sharing = image.sharing.as_deref().unwrap_or(&Sharing::ALONE);
            return Err(ReplaceError::Conflict {
                document: sharing.document,
                line: image.line,
                anchor: anchor_text(sharing.anchor.as_ref()),
                first: want(first).to_owned(),
                second: want(other).to_owned(),
            });
        }
    }
    // The value an anchored image will hold, and how many image places read it through aliases written as images.
    let mut anchored: HashMap<usize, &str> = HashMap::new();
    let mut alias_images: HashMap<usize, usize> = HashMap::new();
    for fields in texts.values() {
        let sharing = images[fields[0]]
            .sharing
            .as_deref()
            .unwrap_or(&Sharing::ALONE);
        if sharing.own_anchor > 0 {
            anchored.insert(sharing.own_anchor, want(fields[0]));
        }
        if let Some(alias_of) = &sharing.alias_of {
            *alias_images.entry(alias_of.id).or_default() += fields.len();
        }
    }
    let mut edits = Vec::new();
    for fields in texts.values() {
        let image = &images[fields[0]];
        let value = want(fields[0]);
        let sharing = image.sharing.as_deref().unwrap_or(&Sharing::ALONE);
        let (changes, through_aliases) = match &sharing.alias_of {
            // An alias follows its anchor: it needs its own text only when its value must differ.
            Some(alias_of) => (
                value != anchored.get(&alias_of.id).copied().unwrap_or(&image.value),
                0,
            ),
            // Aliases written as images follow this text (or get their own, checked as texts of their own).
            None => (
                value != image.value,
                alias_images.get(&sharing.own_anchor).copied().unwrap_or(0),
            ),
        };
        if !changes {
            continue;
        }
        let reached = fields.len().saturating_add(through_aliases);
        if sharing.uses != reached {
            return Err(ReplaceError::Shared {
                document: sharing.document,
                line: image.line,
                value: value.to_owned(),
                anchor: anchor_text(sharing.anchor.as_ref().or(sharing.alias_of.as_ref())),
                uses: sharing.uses,
                images: reached,
            });
        }
        edits.push(image.replace(value));
    }
    Ok(edits)
}
