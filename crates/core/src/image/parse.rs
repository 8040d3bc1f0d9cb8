//! The reference grammar of distribution/reference and go-digest: the path, tag and digest rules, checked by hand
//! so that every error names the part at fault.

use super::defaults::ImageDefaults;
use super::familiar::{is_image_id, normalise_registry, split_registry};
use super::{ImageRef, ImageRefError};

/// distribution/reference's `RepositoryNameTotalLengthMax`, counted on the repository path.
const MAX_REPOSITORY_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;
/// go-digest's registered algorithms and their hex lengths.
const DIGEST_ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// Whether `tag` fits the tag grammar `[\w][\w.-]{0,127}` (ASCII word characters).
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// Whether `digest` is a digest this module accepts: a supported algorithm and its exact lower-case hex length.
pub fn is_valid_digest(digest: &str) -> bool {
    check_digest(digest, "").is_ok()
}

/// Parses `s`; errors quote `shown` (the text the user wrote, which differs from `s` for [`super::split_constraint`]).
pub(super) fn parse_reference(
    s: &str,
    shown: &str,
    defaults: &ImageDefaults,
) -> Result<ImageRef, ImageRefError> {
    let input = || crate::redact::redact_url(shown);
    if s.is_empty() {
        // `:1.0` splits into an empty image and a constraint: the repository is what is missing.
        return Err(if shown.is_empty() {
            ImageRefError::Empty
        } else {
            ImageRefError::MissingName { input: input() }
        });
    }
    if is_image_id(s) {
        return Err(ImageRefError::HexIdentifier { input: input() });
    }
    let (registry, explicit_registry, remainder) = split_registry(s);
    // The path ends at the tag's ':' or the digest's '@'; neither character can occur in a path.
    let path_end = remainder.find([':', '@']).unwrap_or(remainder.len());
    let user_path = &remainder[..path_end];
    if user_path.is_empty() {
        return Err(ImageRefError::MissingName { input: input() });
    }
    let lower_path = user_path.to_lowercase();
    if lower_path != user_path {
        // `shown` normally agrees with `s` up to the end of the path, so the same offsets locate the path in it.
        let start = s.len() - remainder.len();
        let end = start + user_path.len();
        let text = if shown.get(start..end) == Some(user_path) {
            shown
        } else {
            s
        };
        let suggestion = format!("{}{lower_path}{}", &text[..start], &text[end..]);
        return Err(ImageRefError::Uppercase {
            input: input(),
            suggestion,
        });
    }
    if explicit_registry && !is_valid_registry(registry) {
        return Err(ImageRefError::Registry {
            input: input(),
            registry: registry.to_string(),
        });
    }
    let registry = if explicit_registry {
        normalise_registry(registry)
    } else {
        defaults.registry()
    };
    let repository = match defaults.namespace(registry) {
        Some(namespace) if !user_path.contains('/') => format!("{namespace}/{user_path}"),
        _ => user_path.to_string(),
    };
    for component in repository.split('/') {
        if component.is_empty() {
            return Err(ImageRefError::EmptyPathComponent { input: input() });
        }
        if !is_valid_path_component(component) {
            return Err(ImageRefError::PathComponent {
                input: input(),
                component: component.to_string(),
            });
        }
    }
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(ImageRefError::NameTooLong {
            input: input(),
            length: repository.len(),
        });
    }
    let suffix = &remainder[path_end..];
    let (before_digest, digest) = match suffix.find('@') {
        Some(at) => (&suffix[..at], Some(&suffix[at + 1..])),
        None => (suffix, None),
    };
    let tag = match before_digest.strip_prefix(':') {
        Some(tag) if is_valid_tag(tag) => Some(tag.to_string()),
        Some(tag) => {
            return Err(ImageRefError::Tag {
                input: input(),
                tag: tag.to_string(),
            });
        }
        None => None,
    };
    if let Some(digest) = digest {
        check_digest(digest, shown)?;
    }
    Ok(ImageRef {
        registry: registry.to_string(),
        repository,
        tag,
        digest: digest.map(str::to_string),
    })
}

/// `host [':' port]` where host is a DNS-like name (letters of either case, digits, inner dashes), an IPv4 address,
/// or a bracketed IPv6 address of hex digits and colons.
fn is_valid_registry(registry: &str) -> bool {
    let (host_ok, port) = if let Some(inner) = registry.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return false;
        };
        let address = &inner[..close];
        let ok = !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        (ok, &inner[close + 1..])
    } else {
        let (host, port) = registry.split_at(registry.find(':').unwrap_or(registry.len()));
        (host.split('.').all(is_valid_domain_component), port)
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn is_valid_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    match bytes {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|b| alnum(b) || *b == b'-')
        }
    }
}

/// `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`
fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// The reference grammar's digest (`algorithm ':' hex{32,}`), then go-digest's check of the algorithm and encoding.
fn check_digest(digest: &str, shown: &str) -> Result<(), ImageRefError> {
    let input = || crate::redact::redact_url(shown);
    let format_error = || ImageRefError::DigestFormat {
        input: input(),
        digest: digest.to_string(),
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format_error());
    };
    if !is_digest_algorithm(algorithm)
        || hex.len() < 32
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format_error());
    }
    let Some(&(_, expected)) = DIGEST_ALGORITHMS
        .iter()
        .find(|(name, _)| *name == algorithm)
    else {
        return Err(ImageRefError::DigestAlgorithm {
            input: input(),
            algorithm: algorithm.to_string(),
        });
    };
    if hex.len() != expected {
        return Err(ImageRefError::DigestLength {
            input: input(),
            algorithm: algorithm.to_string(),
            expected,
            actual: hex.len(),
        });
    }
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        // The digest ends the input, so its hex is the last occurrence (a tag could repeat the same text).
        let at = shown.rfind(hex).unwrap_or(shown.len());
        let suggestion = format!(
            "{}{}{}",
            &shown[..at],
            hex.to_ascii_lowercase(),
            &shown[(at + hex.len()).min(shown.len())..]
        );
        return Err(ImageRefError::DigestCase {
            input: input(),
            suggestion,
        });
    }
    Ok(())
}

/// `[A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)*`
fn is_digest_algorithm(algorithm: &str) -> bool {
    algorithm.split(['-', '_', '+', '.']).all(|part| {
        let mut bytes = part.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric())
    })
}
