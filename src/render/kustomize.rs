//! The kustomize wrapper: `kustomize build .`, or `kubectl kustomize .` when only kubectl is installed, located
//! once and run with only the variables kustomize needs.

use std::path::Path;

use super::{BASE_ALLOW, RenderError, RenderOptions};
use crate::process::{ProcessError, Tool, ToolCommand};

/// Variable naming the kustomize binary to use (or a `kubectl…` binary, run as `kubectl kustomize`).
pub const KUSTOMIZE_OVERRIDE: &str = "IMAGE_RESOLVER_KUSTOMIZE";
const KUSTOMIZE_ALLOW: [&str; 4] = ["KUSTOMIZE_*", "XDG_CONFIG_HOME", "HELM_*", "KUBECONFIG"];

#[derive(Clone, Debug, Default)]
pub struct KustomizeOptions {
    /// Arguments after `build .`: `--enable-helm`, `--load-restrictor LoadRestrictionsNone`, `--helm-command PATH`.
    pub extra_args: Vec<String>,
}

pub(super) fn kustomize_command(
    dir: &Path,
    opts: &RenderOptions,
) -> Result<ToolCommand, RenderError> {
    let env = &opts.env;
    let tool = match Tool::locate("kustomize", KUSTOMIZE_OVERRIDE, env) {
        Ok(tool) => tool,
        Err(ProcessError::NotFound { .. }) => {
            match Tool::locate("kubectl", KUSTOMIZE_OVERRIDE, env) {
                Ok(tool) => tool,
                Err(ProcessError::NotFound { .. }) => return Err(RenderError::KustomizeNotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    // kubectl carries kustomize as a subcommand; gcloud ships it as `kubectl.1.32` etc.
    let subcommand = if tool.name().starts_with("kubectl") {
        "kustomize"
    } else {
        "build"
    };
    let allow: Vec<&str> = BASE_ALLOW.iter().chain(&KUSTOMIZE_ALLOW).copied().collect();
    Ok(tool
        .command()
        .args([subcommand, "."])
        .args(&opts.kustomize.extra_args)
        .current_dir(dir)
        .env(env.allowed(&allow)))
}
