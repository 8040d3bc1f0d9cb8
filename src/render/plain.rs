//! Plain manifest files: a directory's `*.yaml`, `*.yml` and `*.json` joined into one stream, in Argo CD's order,
//! bounded in size and time, with linked files read only from inside the repository.

use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{RenderError, RenderOptions, SourceFile};
use crate::size::ByteSize;

#[derive(Clone, Debug, Default)]
pub struct PlainOptions {
    /// Also read manifests in subdirectories (Argo CD's `directory.recurse`).
    pub recursive: bool,
}

pub(super) async fn read_plain(
    dir: &Path,
    opts: &RenderOptions,
    deadline: Instant,
) -> Result<(String, Vec<SourceFile>), RenderError> {
    let dir = dir.to_path_buf();
    let root = opts.repo_root.clone().unwrap_or_else(|| dir.clone());
    let recursive = opts.plain.recursive;
    let limit = opts.max_manifest_size;
    let allowed = deadline.saturating_duration_since(Instant::now());
    if allowed.is_zero() {
        return Err(RenderError::TimedOut { dir, allowed });
    }
    let task = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || join_plain(&dir, &root, recursive, limit, deadline)
    });
    match tokio::time::timeout(allowed, task).await {
        Ok(joined) => joined.map_err(|e| RenderError::Read {
            path: dir.clone(),
            source: io::Error::other(e),
        })?,
        Err(_) => Err(RenderError::TimedOut { dir, allowed }),
    }
}

/// The manifest files in `dir`, in path order (depth-first, entries by name, as Argo CD walks a directory), as
/// one stream: each file's bytes unchanged but for a leading byte order mark, `---` on a line of its own between
/// files. Hidden entries (`.git`) and lock files are skipped, so are empty files and symlinked directories; a
/// symlinked file is read only when it resolves inside `root`. Refused when the files add up to more than
/// `limit`, judged from their metadata before any is read (and again while reading, should one grow).
pub(super) fn join_plain(
    dir: &Path,
    root: &Path,
    recursive: bool,
    limit: ByteSize,
    deadline: Instant,
) -> Result<(String, Vec<SourceFile>), RenderError> {
    // The caller stops waiting at the deadline, but a blocking task cannot be cancelled and the process waits for
    // it on the way out: it must stop by itself.
    let started = Instant::now();
    let late = || {
        (Instant::now() >= deadline).then(|| RenderError::TimedOut {
            dir: dir.to_path_buf(),
            allowed: deadline.saturating_duration_since(started),
        })
    };
    let root = root.canonicalize().map_err(|source| RenderError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    collect_manifest_files(dir, &root, recursive, &mut files, deadline)?;
    if let Some(error) = late() {
        return Err(error);
    }
    files.sort();
    let too_large = |size| RenderError::ManifestsTooLarge {
        dir: dir.to_path_buf(),
        size,
        limit,
    };
    let mut total: u64 = 0;
    for path in &files {
        let metadata = std::fs::metadata(path).map_err(|source| RenderError::Read {
            path: path.clone(),
            source,
        })?;
        total = total.saturating_add(metadata.len());
    }
    if total > limit.bytes() {
        return Err(too_large(total));
    }
    // Each file is read straight onto the end of the stream, so that the stream is held once, never beside a copy
    // of its largest file.
    let mut out: Vec<u8> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut sources = Vec::new();
    let mut lines = 0;
    let mut read: u64 = 0;
    for path in files {
        if let Some(error) = late() {
            return Err(error);
        }
        let before = out.len();
        if !out.is_empty() {
            // Any of YAML's line breaks ends the file's last line (a CR-only file's `\r` too).
            if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
                out.push(b'\n');
            }
            out.extend_from_slice(b"---\n");
        }
        let start = out.len();
        let got = std::fs::File::open(&path)
            .and_then(|file| {
                io::Read::take(file, (limit.bytes() - read).saturating_add(1)).read_to_end(&mut out)
            })
            .map_err(|source| RenderError::Read {
                path: path.clone(),
                source,
            })?;
        read += got as u64;
        if read > limit.bytes() {
            return Err(too_large(read));
        }
        let Ok(text) = std::str::from_utf8(&out[start..]) else {
            return Err(RenderError::NotUtf8 { path });
        };
        if text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .trim()
            .is_empty()
        {
            out.truncate(before);
            continue;
        }
        // Argo CD parses each file as a stream of its own, which may start with a byte order mark; in the joined
        // stream a mark would sit inside a document, where YAML forbids it.
        let text_lines = crate::manifest::line_breaks(text);
        if text.starts_with('\u{feff}') {
            out.drain(start..start + '\u{feff}'.len_utf8());
        }
        if before > 0 {
            lines += crate::manifest::line_breaks(
                std::str::from_utf8(&out[before..start]).expect("line breaks and dashes"),
            );
        }
        sources.push(SourceFile {
            path: path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned(),
            first_line: lines + 1,
            verbatim: true,
        });
        lines += text_lines;
    }
    if out.is_empty() {
        return Err(RenderError::NoManifests {
            dir: dir.to_path_buf(),
            recursive,
        });
    }
    let out = String::from_utf8(out).expect("every file was checked to be UTF-8");
    Ok((out, sources))
}

fn collect_manifest_files(
    dir: &Path,
    root: &Path,
    recursive: bool,
    files: &mut Vec<PathBuf>,
    deadline: Instant,
) -> Result<(), RenderError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Read { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        // Past the deadline the walk just stops: the caller says the time ran out.
        if Instant::now() >= deadline {
            return Ok(());
        }
        let entry = entry.map_err(read_error(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        // Hidden entries, and the lock file (`image-resolver.lock.yaml`, never a manifest: it says which tags the
        // manifests get), whichever application's it is.
        if name.as_encoded_bytes().starts_with(b".") || name == crate::lock::FILE_NAME {
            continue;
        }
        let file_type = entry.file_type().map_err(read_error(&path))?;
        if file_type.is_dir() {
            if recursive {
                collect_manifest_files(&path, root, recursive, files, deadline)?;
            }
            continue;
        }
        let is_manifest = Path::new(&name)
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json");
        if !is_manifest {
            continue;
        }
        if file_type.is_symlink() {
            let target = match path.canonicalize() {
                Ok(target) => target,
                // A dangling link is no manifest; Argo CD skips it as well.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(RenderError::Read { path, source }),
            };
            if !target.starts_with(root) {
                return Err(RenderError::SymlinkOutside {
                    path,
                    root: root.to_path_buf(),
                });
            }
            if !target.is_file() {
                continue;
            }
        } else if !file_type.is_file() {
            continue;
        }
        files.push(path);
    }
    Ok(())
}
