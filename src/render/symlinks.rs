//! One check over the application's whole repository before anything renders or builds it: no symlink may lead
//! outside the repository.
//!
//! helm follows symlinks everywhere in a chart (`.Files.Get`, `.Files.Glob`, templates, `values.yaml`,
//! `Chart.yaml`, `charts/`), and kustomize and plain directories read linked files too, so a link to a mounted
//! secret would end up in the rendered output. Argo CD refuses such repositories for its own sources
//! (`CheckOutOfBoundsSymlinks`, over the whole repository, whatever the kind of application); this does the same
//! for the plugin, but judges where a link resolves on disk rather than its text, which a link through another
//! link's parent (`s/../x` with `s -> ../..`) would pass.

use std::io;
use std::path::Path;
use std::time::Instant;

use super::{RenderError, normalize};

/// Walks `root` (not following symlinked directories, so loops end) and fails on the first symlink that resolves
/// outside it, or when `deadline` passes. Dangling links and loops are judged by their text: they read nothing
/// now, but must not point outside either.
pub(super) fn check_tree(root: &Path, deadline: Instant) -> Result<(), RenderError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    let root = root.canonicalize().map_err(read_error(root))?;
    // An explicit stack: a deeply nested repository must not overflow the thread's stack.
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        // By name, so that the link reported is the same every time.
        let mut entries = std::fs::read_dir(&dir)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(read_error(&dir))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            if Instant::now() >= deadline {
                return Err(RenderError::SymlinkCheckTimedOut { root });
            }
            let path = entry.path();
            let file_type = entry.file_type().map_err(read_error(&path))?;
            if file_type.is_dir() {
                dirs.push(path);
            } else if file_type.is_symlink() && !resolves_inside(&path, &root)? {
                return Err(RenderError::SymlinkOutside {
                    path: path.strip_prefix(&root).unwrap_or(&path).to_path_buf(),
                    root,
                });
            }
        }
    }
    Ok(())
}

/// Whether the symlink at `link` (whose parent is a real directory under `root`) resolves inside `root`.
fn resolves_inside(link: &Path, root: &Path) -> Result<bool, RenderError> {
    match link.canonicalize() {
        Ok(target) => Ok(target.starts_with(root)),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || e.raw_os_error() == Some(nix::libc::ELOOP) =>
        {
            let target = std::fs::read_link(link).map_err(|source| RenderError::Read {
                path: link.to_path_buf(),
                source,
            })?;
            let parent = link.parent().unwrap_or(root);
            Ok(normalize(&parent.join(target)).starts_with(root))
        }
        Err(source) => Err(RenderError::Read {
            path: link.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    /// What each kind of link comes to, the repository being `repo/` in a temp dir that also holds `secret`.
    #[test]
    fn judges_links_by_where_they_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let repo = base.join("repo");
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        std::fs::write(base.join("secret"), "x").unwrap();
        std::fs::write(repo.join("file"), "x").unwrap();
        let secret = base.join("secret");
        let cases: [(&str, &str, PathBuf, bool); 10] = [
            ("relative inside", "a/in", "../file".into(), true),
            ("absolute inside", "a/abs-in", repo.join("file"), true),
            ("directory inside", "a/dir", "b".into(), true),
            ("the root itself", "a/root", "..".into(), true),
            ("absolute outside", "a/abs-out", secret.clone(), false),
            (
                "relative outside",
                "a/b/rel-out",
                "../../../secret".into(),
                false,
            ),
            ("system file", "a/etc", "/etc/hostname".into(), false),
            ("dangling inside", "a/dangling", "missing".into(), true),
            (
                "dangling outside",
                "a/dangling-out",
                "../../missing".into(),
                false,
            ),
            ("loop", "a/loop", "loop".into(), true),
        ];
        for (name, link, target, inside) in cases {
            let path = repo.join(link);
            symlink(&target, &path).unwrap();
            assert_eq!(
                resolves_inside(&path, &repo).unwrap(),
                inside,
                "case {name}"
            );
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn walks_the_whole_tree_but_not_through_linked_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().canonicalize().unwrap().join("repo");
        std::fs::create_dir_all(repo.join(".git/objects")).unwrap();
        std::fs::create_dir_all(repo.join("x/y/z")).unwrap();
        // A link to an ancestor: followed, the walk would never end.
        symlink("../..", repo.join("x/y/up")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        check_tree(&repo, deadline).unwrap();

        symlink("/etc/hostname", repo.join(".git/objects/leak")).unwrap();
        let err = check_tree(&repo, deadline).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "symlink .git/objects/leak points outside {}: an application may only use files of its own \
                 repository; replace the link with a copy of what it points to",
                repo.display()
            )
        );
        let err = check_tree(&repo, Instant::now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "checking the symlinks in {} did not finish within the deadline",
                repo.display()
            )
        );
    }
}
