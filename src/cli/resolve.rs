//! `resolve IMAGE`: pick the tag an image's policy allows, from a tag list given on the command line or in a file.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{CredentialArgs, Failure, GlobalArgs, OutputFormat, RegistryArgs};
use crate::image::{self, ImageDefaults, ImageRef};
use crate::policy::spec::{Naming, PolicySpec, SpecValue, ValueOrigin};
use crate::policy::{Policy, Selection, Strategy};
use crate::registry::{CredentialSource, RegistryClient};
use crate::resolver;
use crate::tag::{self, Tag};

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The image, such as `nginx` or `ghcr.io/org/app`. Without --constraint, a tag part is the version
    /// constraint, as in argocd-image-updater's image-list: `nginx:~1.25`, `app:>=1.0 <2.0`.
    pub image: String,
    /// Version constraint (Masterminds semver) for `semver`; the tag to track for `digest` (default `latest`).
    #[arg(long, env = "IMAGE_RESOLVER_CONSTRAINT")]
    pub constraint: Option<String>,
    /// semver, newest-build, alphabetical, digest or numerical (old names: latest = newest-build, name = alphabetical).
    #[arg(long, env = "IMAGE_RESOLVER_STRATEGY", default_value = "semver")]
    pub strategy: String,
    /// For alphabetical and numerical: asc (the default) picks the greatest, desc the least.
    #[arg(long, env = "IMAGE_RESOLVER_ORDER")]
    pub order: Option<String>,
    /// Only tags matching this: `regexp:<RE>` (Go RE2 syntax) or `any`.
    #[arg(long, env = "IMAGE_RESOLVER_ALLOW_TAGS")]
    pub allow_tags: Option<String>,
    /// Comma-separated globs (Go filepath.Match) of tags never to pick, such as `latest, *-debug`.
    #[arg(long, env = "IMAGE_RESOLVER_IGNORE_TAGS")]
    pub ignore_tags: Option<String>,
    /// Flux-style tag pattern (Go RE2): only matching tags are candidates; see --extract.
    #[arg(long, env = "IMAGE_RESOLVER_TAG_PATTERN")]
    pub tag_pattern: Option<String>,
    /// What to order on, expanded from --tag-pattern's groups: `$name`, `${1}`. Default: the whole tag.
    #[arg(long, env = "IMAGE_RESOLVER_EXTRACT", requires = "tag_pattern")]
    pub extract: Option<String>,
    /// Comma-separated platforms the image must exist for, such as `linux/amd64,linux/arm64`.
    #[arg(long, env = "IMAGE_RESOLVER_PLATFORMS")]
    pub platforms: Option<String>,
    /// semver: let prerelease versions (`1.2.0-rc.1`) match any constraint.
    #[arg(long, env = "IMAGE_RESOLVER_INCLUDE_PRERELEASE")]
    pub include_prerelease: bool,
    /// semver: accept only MAJOR.MINOR.PATCH versions (optional `v`), as Flux does.
    #[arg(long, env = "IMAGE_RESOLVER_STRICT_SEMVER")]
    pub strict_semver: bool,
    /// Print the winner as `tag@sha256:…`, the digest the tag names now (for a multi-platform image, its index's),
    /// as the `<alias>.pin-digest` key renders it; any strategy but `digest`, which always does.
    #[arg(long, env = "IMAGE_RESOLVER_PIN_DIGEST")]
    pub pin_digest: bool,
    /// Read the candidate tags from FILE (`-` = stdin) instead of the registry: one per line, optionally followed
    /// by an RFC 3339 creation time (or `-`) and a digest.
    #[arg(long, value_name = "FILE", conflicts_with = "tags")]
    pub tags_file: Option<PathBuf>,
    /// The candidate tags, comma-separated, instead of the registry's.
    #[arg(long, value_delimiter = ',')]
    pub tags: Option<Vec<String>>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Output format: the tag alone, or a JSON report.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// The validated request: everything checked before any work starts.
struct Request {
    image: ImageRef,
    policy: Policy,
}

pub fn run(global: &GlobalArgs, args: ResolveArgs) -> Result<String, Failure> {
    let registries = super::registries(global, &args.registry);
    // Validated even when a tag list makes it unused: a bad flag fails the same way with or without a registry.
    let spec = super::credential_spec(&args.credentials)?;
    if args.tags.is_some() || args.tags_file.is_some() {
        // registries.conf says how images are named (its default registry); a tag list given by hand needs
        // nothing else from it, so a broken one only costs that.
        let defaults = match &registries {
            Ok(registries) => registries.image_defaults(),
            Err(failure) => {
                tracing::warn!("{}; naming images as Docker does", failure.message());
                ImageDefaults::default()
            }
        };
        let request = validate(&args, &defaults)?;
        let tags = read_tags(&args)?;
        if !request.policy.platforms.is_empty() {
            return Err(Failure::Invalid(
                "--platforms needs the registry: a tag list does not say which platforms each tag has an image \
                 for; leave out --tags/--tags-file, or --platforms"
                    .to_string(),
            ));
        }
        let selection = request.policy.select(&tags);
        return report(&request, &selection, None, args.output);
    }
    let registries = registries?;
    let request = validate(&args, &registries.image_defaults())?;
    super::within_budget(global, "resolving the tag", async {
        let client = registries
            .client_for(&request.image, spec.as_ref())
            .await
            .map_err(super::access_failure)?;
        let resolution = resolver::resolve(&client, &request.image, &request.policy, None)
            .await
            .map_err(|e| Failure::NoResult(e.to_string()))?;
        let selection = resolution.select(&request.policy);
        let origin = Origin {
            client: &client,
            pages: resolution.pages,
            elapsed: resolution.elapsed,
        };
        report(&request, &selection, Some(origin), args.output)
    })
}

/// Where the tags came from, when that was a registry.
struct Origin<'a> {
    client: &'a RegistryClient,
    pages: u32,
    elapsed: std::time::Duration,
}

fn report(
    request: &Request,
    selection: &Selection,
    origin: Option<Origin>,
    output: OutputFormat,
) -> Result<String, Failure> {
    let Some(winner) = selection.winner else {
        let message = no_match_message(request, selection);
        if output == OutputFormat::Json {
            // The report is the point: what each step dropped is how to fix the policy. Then fail, as `explain`.
            return super::print_then_fail(&json_output(request, selection, None, origin), message);
        }
        return Err(Failure::NoResult(message));
    };
    if request.policy.renders_digest() && winner.digest.is_none() {
        let what = if request.policy.pin_digest {
            "--pin-digest"
        } else {
            "the digest strategy"
        };
        return Err(Failure::NoResult(format!(
            "{what} needs the digest of {}:{}, and the tag list gives none: add it after the creation time \
             (`{} - sha256:…`)",
            request.image.familiar_name(),
            winner.name,
            winner.name
        )));
    }
    Ok(match output {
        OutputFormat::Text => text_output(request, winner),
        OutputFormat::Json => json_output(request, selection, Some(winner), origin),
    })
}

fn validate(args: &ResolveArgs, defaults: &ImageDefaults) -> Result<Request, Failure> {
    let invalid =
        |what: &str, e: &dyn std::fmt::Display| Failure::Invalid(format!("invalid {what}: {e}"));
    let (image, constraint) = match &args.constraint {
        None => {
            image::split_constraint_with(&args.image, defaults).map_err(|e| invalid("image", &e))?
        }
        Some(c) => {
            let image =
                ImageRef::parse_with(&args.image, defaults).map_err(|e| invalid("image", &e))?;
            if let Some(tag) = image.tag() {
                return Err(Failure::Invalid(format!(
                    "image '{}' should not carry a tag when --constraint is given; remove ':{tag}'",
                    args.image
                )));
            }
            (image, Some(c.clone()))
        }
    };
    // The image argument, --constraint and --strategy decide the strategy together: their messages say `policy`.
    let mut spec = PolicySpec::new(ValueOrigin::Arg("policy"), Naming::Flags);
    spec.constraint = constraint;
    // A blank value is "not set", as it is for an annotation or a parameter.
    let flag = |value: &Option<String>, name| {
        value
            .as_ref()
            .filter(|text| !text.trim().is_empty())
            .map(|text| SpecValue::new(text.as_str(), ValueOrigin::Arg(name)))
    };
    let switch = |set: bool, name| set.then(|| SpecValue::new("true", ValueOrigin::Arg(name)));
    spec.strategy = Some(SpecValue::new(
        args.strategy.as_str(),
        ValueOrigin::Arg("policy"),
    ));
    spec.order = flag(&args.order, "--order");
    spec.allow_tags = flag(&args.allow_tags, "--allow-tags");
    spec.ignore_tags = flag(&args.ignore_tags, "--ignore-tags");
    spec.tag_pattern = flag(&args.tag_pattern, "--tag-pattern");
    spec.extract = flag(&args.extract, "--extract");
    spec.platforms = flag(&args.platforms, "--platforms");
    spec.include_prerelease = switch(args.include_prerelease, "--include-prerelease");
    spec.strict_semver = switch(args.strict_semver, "--strict-semver");
    spec.pin_digest = switch(args.pin_digest, "--pin-digest");
    let (policy, warnings) = spec.build().map_err(|e| Failure::Invalid(e.to_string()))?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(Request { image, policy })
}

/// The tags given on the command line (`--tags`) or in a file (`--tags-file`; one of the two is given).
fn read_tags(args: &ResolveArgs) -> Result<Vec<Tag>, Failure> {
    match (&args.tags, &args.tags_file) {
        (Some(list), _) => {
            let text = list.iter().map(|t| t.trim()).collect::<Vec<_>>().join("\n");
            tag::parse_tag_list(&text).map_err(|e| Failure::Invalid(format!("invalid --tags: {e}")))
        }
        (None, Some(path)) => read_tags_file(path),
        (None, None) => Ok(Vec::new()),
    }
}

fn read_tags_file(path: &Path) -> Result<Vec<Tag>, Failure> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Invalid(format!("cannot read tags from stdin: {e}")))?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::Invalid(format!("cannot read --tags-file {}: {e}", path.display()))
        })?;
        (path.display().to_string(), text)
    };
    tag::parse_tag_list(&text)
        .map_err(|e| Failure::Invalid(format!("invalid tag list {name}: {e}")))
}

/// One paragraph saying which image and policy found nothing, and where the tags went.
fn no_match_message(request: &Request, selection: &Selection) -> String {
    let d = &selection.dropped;
    let mut reasons = Vec::new();
    for (count, why) in [
        (d.not_allowed.len(), "not allowed by allow-tags"),
        (d.ignored.len(), "ignored by ignore-tags"),
        (d.no_pattern_match.len(), "not matched by the tag pattern"),
        (
            d.no_platform.len(),
            "without an image for the wanted platforms",
        ),
        (
            d.unparsable.len(),
            unparsable_reason(&request.policy.strategy),
        ),
        (
            d.outside_constraint.len(),
            outside_reason(&request.policy.strategy),
        ),
    ] {
        if count > 0 {
            reasons.push(format!("{count} {why}"));
        }
    }
    let detail = if selection.considered == 0 {
        "the tag list is empty".to_string()
    } else {
        format!("of {} tags, {}", selection.considered, reasons.join(", "))
    };
    format!(
        "no tag of {} satisfies its policy ({}): {detail}",
        request.image.name(),
        request.policy
    )
}

fn unparsable_reason(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Numerical { .. } => "not numbers",
        _ => "not versions",
    }
}

fn outside_reason(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Digest { .. } => "not the tracked tag",
        // Without a constraint only a prerelease is left out: say so, and how to let them in.
        Strategy::Semver {
            include_prerelease: false,
            ..
        } if strategy.constraint().is_none() => {
            "prereleases, which semver leaves out by default (set --include-prerelease, or a constraint such as \
             '>=0.0.0-0')"
        }
        _ => "outside the constraint",
    }
}

fn text_output(request: &Request, winner: &Tag) -> String {
    match (request.policy.renders_digest(), &winner.digest) {
        // What a digest policy (or --pin-digest) resolves to is the digest: print it so the output can be used as
        // is.
        (true, Some(digest)) => format!("{}@{digest}\n", winner.name),
        _ => format!("{}\n", winner.name),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    image: String,
    /// `null` when no tag satisfies the policy (the command then exits 1).
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    /// The full reference to run: `image:tag`, or `image:tag@digest` for the digest strategy.
    reference: Option<String>,
    strategy: &'static str,
    constraint: Option<&'a str>,
    considered: usize,
    candidates: usize,
    dropped: DroppedReport<'a>,
    /// Present when the tags came from a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<RegistryReport<'a>>,
}

#[derive(Serialize)]
struct RegistryReport<'a> {
    registry: &'a str,
    api_url: String,
    credential: Option<&'a CredentialSource>,
    pages: u32,
    requests: u64,
    retries: u64,
    elapsed_ms: u128,
}

#[derive(Serialize)]
struct DroppedReport<'a> {
    allow_tags: &'a [&'a str],
    ignore_tags: &'a [&'a str],
    tag_pattern: &'a [&'a str],
    platforms: &'a [&'a str],
    unparsable: &'a [&'a str],
    constraint: &'a [&'a str],
}

fn json_output(
    request: &Request,
    selection: &Selection,
    winner: Option<&Tag>,
    origin: Option<Origin>,
) -> String {
    let reference = winner.map(|winner| {
        let mut reference = request.image.with_tag(&winner.name);
        if request.policy.renders_digest()
            && let Some(digest) = &winner.digest
        {
            reference = reference.with_digest(digest);
        }
        reference.canonical()
    });
    let d = &selection.dropped;
    let report = Report {
        image: request.image.name(),
        tag: winner.map(|w| w.name.as_str()),
        digest: winner.and_then(|w| w.digest.as_deref()),
        reference,
        strategy: request.policy.strategy.name(),
        constraint: request.policy.strategy.constraint(),
        considered: selection.considered,
        candidates: selection.candidates(),
        dropped: DroppedReport {
            allow_tags: &d.not_allowed,
            ignore_tags: &d.ignored,
            tag_pattern: &d.no_pattern_match,
            platforms: &d.no_platform,
            unparsable: &d.unparsable,
            constraint: &d.outside_constraint,
        },
        registry: origin.map(|o| {
            let stats = o.client.stats();
            RegistryReport {
                registry: &o.client.endpoint().registry,
                api_url: crate::registry::urls::redact(&o.client.endpoint().api_url),
                credential: o.client.credential_source(),
                pages: o.pages,
                requests: stats.requests,
                retries: stats.retries,
                elapsed_ms: o.elapsed.as_millis(),
            }
        }),
    };
    super::json(&report)
}
