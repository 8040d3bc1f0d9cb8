//! argocd-image-updater's leftover parameter-override files in the application's directory.
//!
//! Its default git write-back target is `.argocd-source-<app>.yaml` (or `.argocd-source.yaml`), which Argo CD
//! merges into the Application's source before rendering. A `kustomize:`, `helm:` or `directory:` block there
//! gives the source a second type beside the plugin, and Argo CD refuses it ("multiple application sources
//! defined"); a file holding only a `plugin:` block is fine (Argo CD merges its env and parameters into the plugin
//! source). `generate` fails on such a file and `explain` warns about it, each saying what to delete and why.
//!
//! Called after rendering, whose check keeps every symlink of the repository inside it, so the files read here
//! are the repository's.

use std::io::Read as _;
use std::path::Path;

use serde_norway::Value;

use super::PipelineError;
use crate::argo::ArgoRequest;

/// The override file Argo CD reads for every Application of a directory.
const SHARED: &str = ".argocd-source.yaml";

/// The top-level blocks that make a source a second type beside the plugin (`ApplicationSource.ExplicitType`).
const SOURCE_TYPES: [&str; 3] = ["kustomize", "helm", "directory"];

/// More than this is no override file; it is not read further.
const MAX_BYTES: u64 = 1 << 20;

/// The override files of the application `app` (`ARGOCD_APP_NAME`; `None`: every application's) in `dir` that
/// would make Argo CD refuse the plugin, each as a message saying what to delete and why. Files that cannot be
/// read are skipped: Argo CD reports those itself.
pub fn find(dir: &Path, app: Option<&str>) -> Vec<String> {
    let mut names = vec![SHARED.to_string()];
    match app {
        Some(app) => names.push(format!(".argocd-source-{app}.yaml")),
        None => {
            let mut others: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(".argocd-source-") && name.ends_with(".yaml"))
                .collect();
            others.sort();
            names.extend(others);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let mut text = String::new();
            std::fs::File::open(dir.join(&name))
                .ok()?
                .take(MAX_BYTES)
                .read_to_string(&mut text)
                .ok()?;
            let blocks = source_blocks(&text);
            (!blocks.is_empty()).then(|| message(&name, &blocks))
        })
        .collect()
}

/// `generate`'s check: fails, saying what to delete, when the application's directory holds an override file
/// that makes Argo CD refuse the plugin.
///
/// # Errors
///
/// [`PipelineError::Leftover`] naming each such file.
pub fn refuse(dir: &Path, request: &ArgoRequest) -> Result<(), PipelineError> {
    let found = find(dir, request.app_name.as_deref());
    if found.is_empty() {
        return Ok(());
    }
    Err(PipelineError::Leftover(found.join("; ")))
}

/// The `kustomize:`, `helm:` and `directory:` blocks set (not null) at the top of an override file; none when it
/// is no YAML mapping (Argo CD's own error then says so).
fn source_blocks(text: &str) -> Vec<&'static str> {
    let Ok(Value::Mapping(map)) = serde_norway::from_str::<Value>(text) else {
        return Vec::new();
    };
    SOURCE_TYPES
        .into_iter()
        .filter(|block| map.get(*block).is_some_and(|v| !v.is_null()))
        .collect()
}

fn message(file: &str, blocks: &[&str]) -> String {
    let blocks = blocks
        .iter()
        .map(|b| format!("{b}:"))
        .collect::<Vec<_>>()
        .join(" and ");
    format!(
        "{file} (argocd-image-updater's git write-back file) has a {blocks} block, which Argo CD merges into the \
         Application's source: beside the plugin that makes two source types, and Argo CD refuses to render \
         (\"multiple application sources defined\"); delete {file}, or keep only its plugin: block. With \
         write-back-method: git this plugin records tags itself, in image-resolver.lock.yaml or in the \
         kustomization or values file write-back-target names"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_that_make_a_second_source_type() {
        for (name, text, want) in [
            (
                "kustomize images",
                "kustomize:\n  images:\n  - nginx:1.2\n",
                vec!["kustomize"],
            ),
            (
                "helm parameters",
                "helm:\n  parameters:\n  - name: image.tag\n    value: v1\n",
                vec!["helm"],
            ),
            (
                "both",
                "helm: {}\nkustomize: {images: []}\n",
                vec!["kustomize", "helm"],
            ),
            (
                "directory",
                "directory:\n  recurse: true\n",
                vec!["directory"],
            ),
            (
                "plugin only: merged into the plugin source",
                "plugin:\n  env:\n  - name: IMAGE_TAG\n    value: v1\n",
                vec![],
            ),
            (
                "null blocks are removed by the merge",
                "kustomize: null\nplugin: {}\n",
                vec![],
            ),
            ("not a mapping", "- a\n", vec![]),
            ("not yaml", "a: [\n", vec![]),
            ("empty", "", vec![]),
        ] {
            assert_eq!(source_blocks(text), want, "{name}");
        }
    }

    #[test]
    fn finds_the_applications_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(".argocd-source-web.yaml", "kustomize:\n  images: [web:1]\n");
        write(".argocd-source-api.yaml", "helm:\n  parameters: []\n");
        write(".argocd-source-ok.yaml", "plugin:\n  env: []\n");
        let files = |app| {
            find(dir.path(), app)
                .iter()
                .map(|m| m.split(' ').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(files(Some("web")), [".argocd-source-web.yaml"]);
        assert_eq!(files(Some("ok")), Vec::<String>::new());
        assert_eq!(
            files(None),
            [".argocd-source-api.yaml", ".argocd-source-web.yaml"]
        );
        write(".argocd-source.yaml", "kustomize: {}\n");
        assert_eq!(
            files(Some("ok")),
            [".argocd-source.yaml"],
            "the shared file applies to every application"
        );
        assert_eq!(
            find(dir.path(), Some("web"))[1],
            ".argocd-source-web.yaml (argocd-image-updater's git write-back file) has a kustomize: block, which \
             Argo CD merges into the Application's source: beside the plugin that makes two source types, and Argo \
             CD refuses to render (\"multiple application sources defined\"); delete .argocd-source-web.yaml, or \
             keep only its plugin: block. With write-back-method: git this plugin records tags itself, in \
             image-resolver.lock.yaml or in the kustomization or values file write-back-target names"
        );
    }
}
