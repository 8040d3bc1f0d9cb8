//! The application's lock file read from its directory: present or not, inside the repository (no `..`, no
//! symlink out: the check values files go through), a regular file of bounded size, UTF-8, parsed by the core.

use std::io::{self, Read};
use std::path::Path;

use thiserror::Error;

use crate::lock::{FILE_NAME, LockError, LockFile};
use crate::render::{RepositoryFileError, repository_file};

/// The most a lock file may hold: some 5,000 entries, far more than an application tracks.
pub const MAX_LOCK_FILE_SIZE: u64 = 1 << 20;

/// Why the application's lock file cannot be used. The file is named in every message; the application by the
/// caller.
#[derive(Debug, Error)]
pub enum LockFileError {
    #[error(
        "{FILE_NAME} leads outside the repository: a lock file must be the application's own; replace the \
         symlink with the file"
    )]
    Outside,
    #[error("{FILE_NAME} is a symlink to nothing: point it at the lock file, or remove it")]
    Dangling,
    #[error("{FILE_NAME} is not a regular file")]
    NotAFile,
    #[error(
        "{FILE_NAME} holds {size} bytes, more than the {MAX_LOCK_FILE_SIZE} a lock file may hold"
    )]
    TooLarge { size: u64 },
    #[error("{FILE_NAME} is not UTF-8 text")]
    NotUtf8,
    #[error("cannot read {FILE_NAME}: {0}")]
    Read(io::Error),
    #[error("{0}")]
    Parse(LockError),
}

impl LockFileError {
    /// Whether the application's repository is at fault (rather than the file system).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, LockFileError::Read(_))
    }
}

/// The lock file in `dir` (whose repository is `root`), `None` when there is none.
///
/// # Errors
///
/// The file is there but leads out of the repository, is no regular file, too large, not UTF-8, unreadable, or
/// not a lock file.
pub fn read(dir: &Path, root: &Path) -> Result<Option<LockFile>, LockFileError> {
    match dir.join(FILE_NAME).symlink_metadata() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LockFileError::Read(e)),
        Ok(_) => {}
    }
    let path = repository_file(dir, root, FILE_NAME).map_err(|e| match e {
        RepositoryFileError::Outside => LockFileError::Outside,
        RepositoryFileError::Missing { .. } => LockFileError::Dangling,
        RepositoryFileError::Read { source, .. } => LockFileError::Read(source),
    })?;
    // A FIFO is refused before anything waits on it; the read is bounded whatever the file does meanwhile.
    let meta = path.metadata().map_err(LockFileError::Read)?;
    if !meta.is_file() {
        return Err(LockFileError::NotAFile);
    }
    let file = std::fs::File::open(&path).map_err(LockFileError::Read)?;
    let mut bytes = Vec::new();
    file.take(MAX_LOCK_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(LockFileError::Read)?;
    if bytes.len() as u64 > MAX_LOCK_FILE_SIZE {
        return Err(LockFileError::TooLarge {
            size: meta.len().max(bytes.len() as u64),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| LockFileError::NotUtf8)?;
    LockFile::parse(&text)
        .map(Some)
        .map_err(LockFileError::Parse)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn the_lock_file_is_read_only_from_inside_the_repository() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "version: 1\n").unwrap();
        type Setup = fn(&Path, &Path);
        let cases: [(&str, Setup, Result<usize, &str>); 9] = [
            ("no lock file: render-time mode", |_, _| {}, Ok(usize::MAX)),
            (
                "a lock file",
                |app, _| {
                    std::fs::write(
                        app.join(FILE_NAME),
                        "version: 1\nimages:\n  web=ghcr.io/shop/web: {tag: 1.4.2}\n",
                    )
                    .unwrap()
                },
                Ok(1),
            ),
            (
                "a symlink to a file of the repository",
                |app, root| {
                    std::fs::write(root.join("shared.lock.yaml"), "version: 1\n").unwrap();
                    symlink("../../shared.lock.yaml", app.join(FILE_NAME)).unwrap();
                },
                Ok(0),
            ),
            (
                "a symlink out of the repository",
                |app, outside| symlink(outside.join("secret"), app.join(FILE_NAME)).unwrap(),
                Err(
                    "image-resolver.lock.yaml leads outside the repository: a lock file must be the application's \
                     own; replace the symlink with the file",
                ),
            ),
            (
                "a dangling symlink",
                |app, _| symlink("nowhere.yaml", app.join(FILE_NAME)).unwrap(),
                Err(
                    "image-resolver.lock.yaml is a symlink to nothing: point it at the lock file, or remove it",
                ),
            ),
            (
                "a directory",
                |app, _| std::fs::create_dir(app.join(FILE_NAME)).unwrap(),
                Err("image-resolver.lock.yaml is not a regular file"),
            ),
            (
                "too large",
                |app, _| {
                    std::fs::write(
                        app.join(FILE_NAME),
                        vec![b'#'; MAX_LOCK_FILE_SIZE as usize + 1],
                    )
                    .unwrap()
                },
                Err(
                    "image-resolver.lock.yaml holds 1048577 bytes, more than the 1048576 a lock file may hold",
                ),
            ),
            (
                "not UTF-8",
                |app, _| std::fs::write(app.join(FILE_NAME), b"version: 1\n# \xff\n").unwrap(),
                Err("image-resolver.lock.yaml is not UTF-8 text"),
            ),
            (
                "not a lock file",
                |app, _| std::fs::write(app.join(FILE_NAME), "images: {}\n").unwrap(),
                Err("image-resolver.lock.yaml: no `version`; a lock file starts with `version: 1`"),
            ),
        ];
        for (name, setup, want) in cases {
            let root = tempfile::tempdir().unwrap();
            let app = root.path().join("apps/web");
            std::fs::create_dir_all(&app).unwrap();
            // The symlink-out case links to `outside`; the others ignore the second path or use the root.
            let second = if name.contains("out of") {
                outside.path()
            } else {
                root.path()
            };
            setup(&app, second);
            let got = read(&app, root.path())
                .map(|lock| lock.map_or(usize::MAX, |l| l.entries().len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "{name}");
        }
    }
}
