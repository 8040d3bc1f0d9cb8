//! Table tests of the whole module, by concept: `scan`, `replace` (and splicing the edits), `annotate`.

use super::*;

mod annotate;
mod replace;
mod scan;
