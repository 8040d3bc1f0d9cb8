//! The registries a command may talk to, as its options describe them: `registries.conf`, docker config, mounted
//! pull secrets, TLS overrides, and an explicit `--credentials` spec.

use std::path::Path;

use super::{CredentialArgs, Failure, GlobalArgs, RegistryArgs};
use crate::registry::credentials::{
    CredentialOptions, CredentialSpec, CredentialStore, SecretScope,
};
use crate::registry::{ClientOptions, Overrides, Registries, RegistriesConf, config};

/// Where argocd-image-updater's images read `registries.conf` from, used when it exists and no file is named.
const DEFAULT_REGISTRIES_CONF: &str = "/app/config/registries.conf";

/// The registries a command may talk to, from the global options and the command's registry options.
pub fn registries(global: &GlobalArgs, args: &RegistryArgs) -> Result<Registries, Failure> {
    registries_scoped(global, args, None)
}

/// [`registries`] whose credentials may read only the mounted secrets `scope` permits (an Application's).
pub fn registries_scoped(
    global: &GlobalArgs,
    args: &RegistryArgs,
    scope: Option<SecretScope>,
) -> Result<Registries, Failure> {
    registries_within(global.budget, args, scope)
}

/// [`registries_scoped`] whose requests are cut off after `budget` at most.
pub fn registries_within(
    budget: std::time::Duration,
    args: &RegistryArgs,
    scope: Option<SecretScope>,
) -> Result<Registries, Failure> {
    let conf_path = args.registries_conf.clone().or_else(|| {
        Path::new(DEFAULT_REGISTRIES_CONF)
            .is_file()
            .then(|| DEFAULT_REGISTRIES_CONF.into())
    });
    let conf = match &conf_path {
        None => RegistriesConf::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Invalid(format!(
                    "cannot read registries.conf {}: {e}",
                    path.display()
                ))
            })?;
            config::parse(&text)
                .map_err(|e| Failure::Invalid(format!("invalid {}: {e}", path.display())))?
        }
    };
    let mut options = CredentialOptions::from_env();
    if let Some(dir) = &args.docker_config {
        options.docker_config_dir = Some(dir.clone());
    }
    options.pull_secrets_dir = args.pull_secrets_dir.clone();
    options
        .pull_secrets_flat_namespace
        .clone_from(&args.pull_secrets_flat_namespace);
    options.pull_secret_scope = scope;
    let client_options = ClientOptions {
        deadline: budget.min(ClientOptions::default().deadline),
        max_response_size: args.max_response_size,
        ..ClientOptions::default()
    };
    Ok(
        Registries::new(conf, CredentialStore::new(options), client_options).with_overrides(
            Overrides {
                insecure: args.insecure,
                ca_file: args.ca_file.clone(),
            },
        ),
    )
}

/// The explicit credential spec of `--credentials`, validated.
pub fn credential_spec(args: &CredentialArgs) -> Result<Option<CredentialSpec>, Failure> {
    args.credentials
        .as_deref()
        .map(CredentialSpec::parse)
        .transpose()
        .map_err(|e| Failure::Invalid(format!("invalid --credentials: {e}")))
}
