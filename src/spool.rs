//! Output that may be larger than memory should hold (a command's whole result, which must reach stdout only once
//! it is complete, so that a failure half-way prints nothing): kept in memory up to a limit, past it in an unnamed
//! temporary file in `TMPDIR` that the kernel removes with the process.

use std::io::{self, Read, Seek, SeekFrom, Write};

use tempfile::SpooledTempFile;

/// How much output stays in memory: every application's manifests but the largest.
pub const IN_MEMORY: usize = 16 << 20;

/// Output being written, piece by piece.
#[derive(Debug)]
pub struct Spool {
    file: SpooledTempFile,
    /// The first write that failed (the disk is full, say): the output is lost, and `finish` says why.
    failed: Option<io::Error>,
}

impl Default for Spool {
    fn default() -> Spool {
        Spool::with_limit(IN_MEMORY)
    }
}

impl Spool {
    /// Output held in memory up to `limit` bytes.
    pub fn with_limit(limit: usize) -> Spool {
        Spool {
            file: SpooledTempFile::new(limit),
            failed: None,
        }
    }

    /// Appends `piece`; a failure is kept for [`Spool::finish`], and nothing is written after it.
    pub fn push_str(&mut self, piece: &str) {
        if self.failed.is_none()
            && let Err(e) = self.file.write_all(piece.as_bytes())
        {
            self.failed = Some(e);
        }
    }

    /// The whole output, ready to be copied out.
    ///
    /// # Errors
    ///
    /// A write failed: the output is incomplete.
    pub fn finish(mut self) -> io::Result<Spooled> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.file.seek(SeekFrom::Start(0))?;
        Ok(Spooled(self.file))
    }
}

/// Complete output, in memory or in a temporary file.
#[derive(Debug)]
pub struct Spooled(SpooledTempFile);

impl Spooled {
    /// Whether the output outgrew memory and went to a file.
    pub fn in_file(&self) -> bool {
        self.0.is_rolled()
    }

    /// Copies the output to `to`.
    ///
    /// # Errors
    ///
    /// Reading the temporary file or writing to `to` failed.
    pub fn copy_to(mut self, to: &mut dyn Write) -> io::Result<u64> {
        io::copy(&mut self.0, to)
    }

    /// The output as text (tests, small outputs).
    ///
    /// # Errors
    ///
    /// Reading the temporary file failed, or the output is not UTF-8 (it always is: it is made of `&str`s).
    pub fn into_string(mut self) -> io::Result<String> {
        let mut text = String::new();
        self.0.read_to_string(&mut text)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_the_pieces_in_order_in_memory_or_past_the_limit_in_a_file() {
        for (name, limit, in_file) in [("in memory", 1024, false), ("in a file", 8, true)] {
            let mut spool = Spool::with_limit(limit);
            for piece in ["kind: Pod\n", "", "spec: {}\n", "é\n"] {
                spool.push_str(piece);
            }
            let spooled = spool.finish().unwrap();
            assert_eq!(spooled.in_file(), in_file, "{name}");
            let mut out = Vec::new();
            assert_eq!(spooled.copy_to(&mut out).unwrap(), 22, "{name}");
            assert_eq!(out, "kind: Pod\nspec: {}\né\n".as_bytes(), "{name}");
        }
    }
}
