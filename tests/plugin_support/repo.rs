//! The repository as it is in git, and copying it the way argocd-cmp-server unpacks it.

use std::path::Path;

use tempfile::TempDir;

/// A repository as it is in git: a temp dir of files.
pub struct Repo {
    dir: TempDir,
}

impl Repo {
    /// A repository holding `files` (path relative to the repository root, content).
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.write(files);
        repo
    }

    /// Writes (or overwrites) files, creating their directories.
    pub fn write(&self, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = self.dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Copies the tree at `from` into `to` (files and directories; symlinks as symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
