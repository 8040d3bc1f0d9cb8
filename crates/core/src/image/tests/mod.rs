//! Table tests of image references, by concept: the grammar and normalisation (`parse`), the names written back
//! (`familiar`), `image[:constraint]` entries (`split`), and properties over generated references (`proptests`).

use super::*;

mod familiar;
mod parse;
mod proptests;
mod split;

const SHA: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const SHA512: &str = "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
                      ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn parsed(input: &str) -> ImageRef {
    ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
}
