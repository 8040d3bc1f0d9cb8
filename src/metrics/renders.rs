//! The render log: how the sidecar's short-lived `generate` processes, which no scraper can reach, are counted.
//!
//! Each `generate` appends one JSON line (outcome, duration, image requests by outcome, application) to
//! `<cache-dir>/metrics/renders.log` ([`append`]); the daemon, sharing that directory, reads what was added each
//! time it is scraped and folds it into its counters ([`RenderLog`], [`super::Metrics::fold_render_log`]).
//!
//! Why a file: the cache directory is already a volume every `generate` of the sidecar writes to, and a line
//! appended with `O_APPEND` in one `write` of less than `PIPE_BUF` bytes never interleaves with another process's
//! (POSIX gives that to pipes; Linux local filesystems give it to regular files under `O_APPEND`, which moves to
//! the end and writes under the inode's lock). A push to the daemon instead (Pushgateway-like) would put a network
//! hop and its failure modes into every render. What it needs: the daemon must mount the same cache directory —
//! run it as a container of the argocd-repo-server pod, beside the sidecar — and one daemon reads one directory.
//!
//! Bounds: the reader rotates the file once it has read [`ROTATE_AT`] bytes of it (renamed to `renders.log.old`,
//! whose last lines are read at the next scrape, then dropped); with no reader, writers stop appending once the
//! file holds [`MAX_UNREAD`] bytes. Writing never fails a render: any error is logged at debug level and the line
//! dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek, SeekFrom, Write as _};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The log's path under the cache directory.
pub const LOG_PATH: &str = "metrics/renders.log";

/// Where the reader moves a log it has read [`ROTATE_AT`] bytes of (the previous one is replaced).
pub const ROTATED_PATH: &str = "metrics/renders.log.old";

/// The reader rotates the log once it has read this much of it.
pub const ROTATE_AT: u64 = 1 << 20;

/// Writers append nothing to a log this large: no daemon reads it.
pub const MAX_UNREAD: u64 = 8 << 20;

/// The longest line written: under `PIPE_BUF` (4096 on Linux), so that one `write` is one atomic append.
pub const MAX_LINE: usize = 4000;

label_values! {
    /// How a `generate` run ended.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum RenderOutcome {
        /// Manifests printed, every image answered by its registry (or decided without one: lock, pin, hold).
        Rendered => "rendered",
        /// Manifests printed, at least one image with its last-known-good tag (a registry could not be asked).
        Stale => "stale",
        /// No manifests: the Application's own fault (bad policy, YAML, pinned tag missing; exit 2).
        Invalid => "invalid",
        /// No manifests: anything else (registry down with nothing cached, a renderer failing, out of time; exit 1).
        Failed => "failed",
    }
}

/// One `generate` run, one line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderLine {
    /// When it ended, in milliseconds since the Unix epoch.
    pub at: i64,
    pub outcome: RenderOutcome,
    /// How long it took, in milliseconds.
    pub ms: u64,
    /// Image requests answered by a registry, by a last-known-good tag, pin checks, and requests with no answer.
    #[serde(default)]
    pub registry: u32,
    #[serde(default)]
    pub last_known_good: u32,
    #[serde(default)]
    pub pin: u32,
    #[serde(default)]
    pub failed: u32,
    /// `ARGOCD_APP_NAME` (empty when unknown), cut to 253 bytes.
    #[serde(default)]
    pub app: String,
}

impl RenderLine {
    /// The image requests the run made (every outcome together).
    pub fn images(&self) -> u32 {
        self.registry + self.last_known_good + self.pin + self.failed
    }
}

/// Appends `line` to the render log under `cache_dir`, in one `write`. Never fails: a log that cannot be written
/// (read-only volume, full disk, no daemon reading it so it grew to [`MAX_UNREAD`]) costs only the line.
pub fn append(cache_dir: &Path, line: &RenderLine) {
    if let Err(reason) = try_append(cache_dir, line) {
        tracing::debug!(dir = %cache_dir.display(), %reason, "render not logged for the metrics");
    }
}

fn try_append(cache_dir: &Path, line: &RenderLine) -> Result<(), String> {
    let mut line = line.clone();
    // An app name is at most 253 bytes in Kubernetes; anything longer is cut, so that the line stays one write.
    if line.app.len() > 253 {
        let mut end = 253;
        while !line.app.is_char_boundary(end) {
            end -= 1;
        }
        line.app.truncate(end);
    }
    let mut text = serde_json::to_string(&line).map_err(|e| e.to_string())?;
    text.push('\n');
    if text.len() > MAX_LINE {
        return Err(format!("line of {} bytes is too long", text.len()));
    }
    let path = cache_dir.join(LOG_PATH);
    let dir = path.parent().expect("the log path has a directory");
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size >= MAX_UNREAD {
        return Err(format!(
            "{} holds {size} bytes that no daemon has read",
            path.display()
        ));
    }
    // One write call: `write_all` would split a short write into two appends, which may interleave.
    let written = file
        .write(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if written != text.len() {
        return Err(format!("short write to {}", path.display()));
    }
    Ok(())
}

/// What [`RenderLog::read_new`] found.
#[derive(Debug, Default)]
pub struct Read {
    pub lines: Vec<RenderLine>,
    /// Lines that did not parse (another version's, or damaged).
    pub skipped: u64,
}

/// The daemon's side of the render log: reads the lines appended since its last read, rotates the file.
#[derive(Debug)]
pub struct RenderLog {
    path: PathBuf,
    rotated: PathBuf,
    /// The log being read, and how far.
    current: Option<Held>,
    /// A log rotated away at the last read: writers that opened it just before may still append a line.
    draining: Option<Held>,
}

#[derive(Debug)]
struct Held {
    file: File,
    /// Device and inode, to notice that the path names another file now.
    id: (u64, u64),
    /// Bytes read and parsed (up to the last complete line).
    offset: u64,
    /// A last line whose newline has not arrived yet.
    partial: Vec<u8>,
}

impl RenderLog {
    /// The log under `cache_dir`, read from its current end: renders logged before now are not counted.
    pub fn open(cache_dir: &Path) -> RenderLog {
        let path = cache_dir.join(LOG_PATH);
        let current = Held::open(&path).and_then(|mut held| {
            let end = held.file.seek(SeekFrom::End(0)).ok()?;
            held.offset = end;
            Some(held)
        });
        RenderLog {
            rotated: cache_dir.join(ROTATED_PATH),
            path,
            current,
            draining: None,
        }
    }

    /// The lines appended since the last call (or [`RenderLog::open`]). Rotates the log once [`ROTATE_AT`] bytes
    /// of it have been read. Errors are logged and read as nothing: metrics must not stop the daemon.
    pub fn read_new(&mut self) -> Read {
        let mut read = Read::default();
        if let Some(mut old) = self.draining.take() {
            old.read_lines(&mut read);
        }
        // The path may name another file: rotated by someone else, or deleted and created again.
        let on_disk = fs::metadata(&self.path).ok().map(|m| (m.dev(), m.ino()));
        if self.current.as_ref().map(|h| h.id) != on_disk {
            if let Some(mut old) = self.current.take() {
                old.read_lines(&mut read);
            }
            self.current = Held::open(&self.path);
        }
        if let Some(current) = &mut self.current {
            current.read_lines(&mut read);
            if current.offset >= ROTATE_AT {
                match fs::rename(&self.path, &self.rotated) {
                    Ok(()) => self.draining = self.current.take(),
                    Err(e) => {
                        tracing::warn!(path = %self.path.display(), error = %e, "cannot rotate the render log");
                    }
                }
            }
        }
        read
    }
}

impl Held {
    fn open(path: &Path) -> Option<Held> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the render log");
                return None;
            }
        };
        let meta = file.metadata().ok()?;
        Some(Held {
            file,
            id: (meta.dev(), meta.ino()),
            offset: 0,
            partial: Vec::new(),
        })
    }

    fn read_lines(&mut self, read: &mut Read) {
        let mut bytes = std::mem::take(&mut self.partial);
        let before = bytes.len();
        if let Err(e) = self.file.read_to_end(&mut bytes) {
            tracing::warn!(error = %e, "cannot read the render log");
        }
        self.offset += (bytes.len() - before) as u64;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        self.partial = bytes.split_off(complete);
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<RenderLine>(line) {
                Ok(line) => read.lines.push(line),
                Err(_) => read.skipped += 1,
            }
        }
    }
}
