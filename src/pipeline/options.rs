//! Renderer options for one Application: what Argo CD's request says (where the repository is, Helm's release,
//! namespace and cluster, the Application's Helm parameters), each value checked before it can reach a tool's
//! command line, plus the operator's settings.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

use crate::argo::ArgoRequest;
use crate::policy::source::Parameter;
use crate::process::Env;
use crate::render::{
    ApiVersion, DEFAULT_MAX_MANIFEST_SIZE, InvalidInput, KubeVersion, Namespace, ReleaseName,
    RenderOptions,
};
use crate::size::ByteSize;

/// The operator's settings for rendering (flags and `IMAGE_RESOLVER_*`; an Application cannot change them).
#[derive(Clone, Debug)]
pub struct RenderSettings {
    /// Arguments after `kustomize build .`.
    pub kustomize_args: Vec<String>,
    /// Plain directories: read subdirectories too.
    pub recurse: bool,
    /// The most a render may produce.
    pub max_manifest_size: ByteSize,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            kustomize_args: Vec::new(),
            recurse: false,
            max_manifest_size: DEFAULT_MAX_MANIFEST_SIZE,
        }
    }
}

/// A value of Argo CD's request that no renderer may be given. Shown after the application's prefix.
#[derive(Debug, Error)]
pub enum RequestError {
    #[error(
        "ARGOCD_APP_SOURCE_PATH '{}' {reason}",
        crate::escape::shown(path, 200)
    )]
    SourcePath { path: String, reason: &'static str },
    /// `origin` is the variable or parameter the value came from; `fix` says what to do when that is not
    /// obvious.
    #[error("{origin}: {source}{fix}")]
    Input {
        origin: &'static str,
        source: InvalidInput,
        fix: &'static str,
    },
}

/// Everything a renderer takes from Argo CD's request and the operator's `settings`, for the application in
/// `app_dir` (resolved).
pub fn render_options(
    request: &ArgoRequest,
    settings: &RenderSettings,
    app_dir: &Path,
) -> Result<RenderOptions, RequestError> {
    let mut options = source_options(request, app_dir)?;
    options
        .kustomize
        .extra_args
        .clone_from(&settings.kustomize_args);
    options.plain.recursive = settings.recurse;
    options.max_manifest_size = settings.max_manifest_size;
    Ok(options)
}

/// What every renderer (and `init`) takes from Argo CD: where the repository is, and Helm's release, namespace,
/// cluster and the Application's Helm parameters: `release-name`, `values-files` (array or comma-separated),
/// `set` and `set-string` (maps). Each value that reaches helm's command line is checked here, and an invalid one
/// is refused naming the variable or parameter it came from.
pub fn source_options(
    request: &ArgoRequest,
    app_dir: &Path,
) -> Result<RenderOptions, RequestError> {
    let mut options = RenderOptions {
        env: Env::current(),
        ..RenderOptions::default()
    };
    // argocd-cmp-server unpacks what Argo CD sent (the repository, or a part of it) and runs the plugin in the
    // app's path inside it: see `repo_root`.
    if let Some(source_path) = &request.source_path {
        let unpacked_into = cmp_work_base();
        options.repo_root = Some(
            repo_root(app_dir, source_path, unpacked_into.as_deref()).map_err(|reason| {
                RequestError::SourcePath {
                    path: source_path.clone(),
                    reason,
                }
            })?,
        );
    }
    let helm = &mut options.helm;
    // ARGOCD_APP_NAME is `<namespace>_<name>` for apps outside the control plane's namespace; names have no `_`.
    let mut release_name = request.app_name.as_deref().map(|n| {
        (
            "ARGOCD_APP_NAME",
            n.rsplit('_').next().unwrap_or(n).to_string(),
        )
    });
    helm.namespace = request
        .namespace
        .as_deref()
        .map(|ns| parse_input::<Namespace>("ARGOCD_APP_NAMESPACE", ns, ""))
        .transpose()?;
    helm.kube_version = request
        .kube_version
        .as_deref()
        .map(|v| parse_input::<KubeVersion>("KUBE_VERSION", v, ""))
        .transpose()?;
    helm.api_versions = request
        .api_versions
        .iter()
        .map(|api| parse_input::<ApiVersion>("KUBE_API_VERSIONS", api, ""))
        .collect::<Result<_, _>>()?;
    for parameter in &request.parameters {
        match parameter.name.as_str() {
            "release-name" => {
                release_name = parameter
                    .string
                    .clone()
                    .map(|n| ("parameter release-name", n));
            }
            "values-files" => helm.values_files = listed(parameter),
            "set" => helm.set = pairs(parameter),
            "set-string" => helm.set_string = pairs(parameter),
            _ => {}
        }
    }
    helm.release_name = release_name
        .map(|(origin, name)| {
            let fix = if origin == "ARGOCD_APP_NAME" {
                "; set the release-name parameter"
            } else {
                ""
            };
            parse_input::<ReleaseName>(origin, &name, fix)
        })
        .transpose()?;
    Ok(options)
}

/// A list parameter: its array, else its string split at commas.
fn listed(parameter: &Parameter) -> Vec<String> {
    match (&parameter.array, &parameter.string) {
        (Some(items), _) => items.clone(),
        (None, Some(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        (None, None) => Vec::new(),
    }
}

/// A map parameter as helm's `key=value` arguments, in key order.
fn pairs(parameter: &Parameter) -> Vec<String> {
    parameter
        .map
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", helm_set_value(v)))
        .collect()
}

/// `value`, which came from `origin` (a variable or parameter), parsed; an invalid one is refused naming the
/// origin and the value, then `fix` when there is one.
fn parse_input<T: FromStr<Err = InvalidInput>>(
    origin: &'static str,
    value: &str,
    fix: &'static str,
) -> Result<T, RequestError> {
    value.parse().map_err(|source| RequestError::Input {
        origin,
        source,
        fix,
    })
}

/// A `set` / `set-string` value as helm's `--set` must receive it to read it as one value: helm splits at every
/// unescaped `,`, so those are escaped, except in a `{a,b}` list, which helm reads as a list. Argo CD's own Helm
/// support passes values the same way, so a value works alike in both.
fn helm_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if c == ',' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\';
        out.push(c);
    }
    out
}

/// The directory argocd-cmp-server unpacks each call's files in, one fresh `<uuid>` directory per call: Argo CD's
/// `common.GetCMPWorkDir()`, `_cmp_server` under `ARGOCD_CMP_WORKDIR`, else under Go's `os.TempDir()` (`TMPDIR`,
/// else `/tmp`). The plugin runs with the server's own environment, so it sees the same variables. Resolved, as the
/// working directory is; `None` when it does not exist (the plugin runs outside argocd-cmp-server).
fn cmp_work_base() -> Option<PathBuf> {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let parent = set("ARGOCD_CMP_WORKDIR")
        .or_else(|| set("TMPDIR"))
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    std::fs::canonicalize(parent.join(CMP_WORK_DIR_NAME)).ok()
}

/// Argo CD's `common.DefaultCMPWorkDirName`.
const CMP_WORK_DIR_NAME: &str = "_cmp_server";

/// The root of what Argo CD sent for the application in `app_dir` (resolved), the directory the plugin runs in:
/// everything the repository may reach (values files, followed symlinks, `file://` chart dependencies) is judged
/// against it, so it must never come out above what was unpacked. `unpacked_into` is argocd-cmp-server's
/// [`cmp_work_base`], when it exists. A `source_path` that climbs out of the repository is refused.
///
/// Why this is right (argo-cd v2.4 to v3.5: `reposerver/repository`, `util/cmp/stream.go`,
/// `cmpserver/plugin/plugin.go`): repo-server tars `rootPath` and sends it with `appRelPath`, the app's path
/// relative to `rootPath`; argocd-cmp-server untars it into a fresh `<unpacked_into>/<uuid>` and runs the plugin
/// in `<uuid>/<appRelPath>`. `rootPath` is the repository, except with `reposerver.plugin.use.manifest.generate.paths`
/// (v2.14+): then it is the common root of the app's path and its `manifest-generate-paths` annotation
/// (`getApplicationRootPath`), anywhere from the repository down to the app's path itself. `ARGOCD_APP_SOURCE_PATH`
/// is the Application's `spec.source.path` as written, relative to the repository, in both modes; neither the
/// annotation nor `rootPath` reaches the plugin. So:
///
/// - under `unpacked_into`, the root is `<unpacked_into>/<uuid>`, the one directory of the path below it: that is
///   what was sent, by construction, whatever part of the repository it holds;
/// - elsewhere (the plugin run by hand or by another server), `app_dir` less the trailing directories it shares
///   with `source_path`, judged on the resolved `app_dir`, so that `..` in the path or a symlinked directory on
///   the way cannot lift it. Matching names alone cannot tell the directory above a sent part from the
///   repository: where they happen to match (`<x>/apps/web` holding only `apps/`'s part, for `apps/web`) it climbs
///   above what was sent, which is why the work directory decides when there is one.
pub(crate) fn repo_root(
    app_dir: &Path,
    source_path: &str,
    unpacked_into: Option<&Path>,
) -> Result<PathBuf, &'static str> {
    use std::path::Component;
    let mut clean: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(source_path).components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if clean.pop().is_none() {
                    return Err("climbs out of the repository");
                }
            }
            Component::Prefix(_) => return Err("is not a path inside the repository"),
        }
    }
    if let Some(base) = unpacked_into
        && let Ok(inside) = app_dir.strip_prefix(base)
        && let Some(Component::Normal(call)) = inside.components().next()
    {
        return Ok(base.join(call));
    }
    let mut root = app_dir;
    for name in clean.iter().rev() {
        match (root.file_name(), root.parent()) {
            (Some(own), Some(parent)) if own == *name => root = parent,
            _ => break,
        }
    }
    Ok(root.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (review of issue 9): the root was `app_dir` less as many directories as the path has names, so
    /// `x/../apps/web` or a symlinked `up/` made it the sidecar's temp dir.
    #[test]
    fn the_repository_root_never_exceeds_what_was_unpacked() {
        for (name, app_dir, source_path, want) in [
            ("plain", "/w/u/apps/web", "apps/web", Ok("/w/u")),
            ("trailing slash", "/w/u/apps/web", "apps/web/", Ok("/w/u")),
            ("the repository root", "/w/u", ".", Ok("/w/u")),
            (
                "a '..' inside",
                "/w/u/apps/web",
                "x/../apps/web",
                Ok("/w/u"),
            ),
            // The working directory is resolved: `up -> .` is not on it.
            (
                "a symlinked directory",
                "/w/u/apps/web",
                "up/apps/web",
                Ok("/w/u"),
            ),
            // manifest-generate-paths: Argo CD unpacks the common root (here `apps/`) only.
            (
                "part of the repository unpacked",
                "/w/u/web",
                "apps/web",
                Ok("/w/u"),
            ),
            (
                "names that do not match",
                "/w/app",
                "examples/shop",
                Ok("/w/app"),
            ),
            (
                "climbs out",
                "/w/u/web",
                "../web",
                Err("climbs out of the repository"),
            ),
        ] {
            assert_eq!(
                repo_root(Path::new(app_dir), source_path, None),
                want.map(PathBuf::from),
                "{name}"
            );
        }
    }

    /// Regression (issue 11, item 5): with `reposerver.plugin.use.manifest.generate.paths` Argo CD sends only the
    /// common root of the app's path and its `manifest-generate-paths`, and the names above the app's directory
    /// matched `ARGOCD_APP_SOURCE_PATH` by chance, so the root climbed above what was sent and a values file
    /// could read a sibling of the call's work directory. Under argocd-cmp-server's work directory, the call's
    /// directory is the root, whatever the names.
    #[test]
    fn under_the_cmp_servers_work_directory_the_root_is_what_it_unpacked() {
        let base = Some(Path::new("/tmp/_cmp_server"));
        for (name, app_dir, source_path, unpacked_into, want) in [
            (
                "the whole repository",
                "/tmp/_cmp_server/3f2a/apps/web",
                "apps/web",
                base,
                Ok("/tmp/_cmp_server/3f2a"),
            ),
            (
                "the common root apps/ sent, names matching",
                "/tmp/_cmp_server/apps/web",
                "apps/web",
                base,
                Ok("/tmp/_cmp_server/apps"),
            ),
            (
                "the common root apps/ sent",
                "/tmp/_cmp_server/3f2a/web",
                "apps/web",
                base,
                Ok("/tmp/_cmp_server/3f2a"),
            ),
            (
                "the app's directory alone sent",
                "/tmp/_cmp_server/3f2a",
                "apps/web",
                base,
                Ok("/tmp/_cmp_server/3f2a"),
            ),
            (
                "a symlinked app directory in the repository",
                "/tmp/_cmp_server/3f2a/apps/web",
                "current",
                base,
                Ok("/tmp/_cmp_server/3f2a"),
            ),
            (
                "the same names without that work directory",
                "/tmp/_cmp_server/apps/web",
                "apps/web",
                None,
                Ok("/tmp/_cmp_server"),
            ),
            (
                "outside the work directory",
                "/home/me/repo/apps/web",
                "apps/web",
                base,
                Ok("/home/me/repo"),
            ),
            (
                "the work directory itself",
                "/tmp/_cmp_server",
                "_cmp_server",
                base,
                Ok("/tmp"),
            ),
            (
                "climbs out, even there",
                "/tmp/_cmp_server/3f2a/web",
                "../web",
                base,
                Err("climbs out of the repository"),
            ),
        ] {
            assert_eq!(
                repo_root(Path::new(app_dir), source_path, unpacked_into),
                want.map(PathBuf::from),
                "{name}"
            );
        }
    }

    #[test]
    fn helm_set_values_keep_their_commas() {
        for (name, value, want) in [
            ("plain", "prod", "prod"),
            ("comma", "a,b", r"a\,b"),
            ("commas", "a,b,,c", r"a\,b\,\,c"),
            ("already escaped", r"a\,b", r"a\,b"),
            ("list", "{a,b}", "{a,b}"),
            ("brace inside", "x{a,b}", r"x{a\,b}"),
            ("empty", "", ""),
        ] {
            assert_eq!(helm_set_value(value), want, "{name}");
        }
    }
}
