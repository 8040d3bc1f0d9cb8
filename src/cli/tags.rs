//! `tags IMAGE`: list a repository's tags as its registry returns them, as `skopeo list-tags` does.

use clap::Args;
use serde::Serialize;

use super::{CredentialArgs, Failure, GlobalArgs, OutputFormat, RegistryArgs};
use crate::image::ImageRef;

#[derive(Debug, Args)]
pub struct TagsArgs {
    /// The image whose repository to list, such as `nginx` or `ghcr.io/org/app` (a tag or digest is ignored).
    pub image: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Output format: one tag per line in registry order, or JSON with the registry and credential used.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Serialize)]
struct Report<'a> {
    repository: String,
    registry: &'a str,
    api_url: String,
    credential: Option<&'a crate::registry::CredentialSource>,
    tags: Vec<&'a str>,
    pages: u32,
    requests: u64,
}

pub fn run(global: &GlobalArgs, args: TagsArgs) -> Result<String, Failure> {
    let registries = super::registries(global, &args.registry)?;
    let image = ImageRef::parse_with(&args.image, &registries.image_defaults())
        .map_err(|e| Failure::Invalid(format!("invalid image: {e}")))?;
    let spec = super::credential_spec(&args.credentials)?;
    super::within_budget(global, "listing the tags", async {
        let client = registries
            .client_for(&image, spec.as_ref())
            .await
            .map_err(super::access_failure)?;
        let listing = client
            .tags(image.repository())
            .await
            .map_err(|e| Failure::NoResult(e.to_string()))?;
        Ok(match args.output {
            OutputFormat::Text => listing
                .tags
                .iter()
                .map(|t| format!("{}\n", t.name))
                .collect(),
            OutputFormat::Json => {
                let report = Report {
                    repository: image.name(),
                    registry: &client.endpoint().registry,
                    api_url: crate::registry::urls::redact(&client.endpoint().api_url),
                    credential: client.credential_source(),
                    tags: listing.tags.iter().map(|t| t.name.as_str()).collect(),
                    pages: listing.pages,
                    requests: client.stats().requests,
                };
                super::json(&report)
            }
        })
    })
}
