//! The install artefacts: `plugin.yaml` declares the plugin Argo CD expects, `manifests/` renders (with the real
//! `kubectl kustomize`) into a repo-server carrying the sidecar as Argo CD's plugin contract requires and into the
//! committer's Deployment (its example config parsed as `watch` parses it), and the Dockerfile, the manifests and
//! the plugin agree with each other.

mod fixtures;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::Value;

use argocd_image_resolver::cache::{CACHE_DIR_ENV, CacheOptions};
use argocd_image_resolver::commit::CommitConfig;
use argocd_image_resolver::metrics::renders::MAX_UNREAD;
use argocd_image_resolver::size::ByteSize;
use argocd_image_resolver::writeback::{Method, Target};
use argocd_image_resolver_core::commit::{SecretFile, Username};
use fixtures::Fixture;

const SIDECAR: &str = "argocd-image-resolver";
const CMP_SERVER: &str = "/var/run/argocd/argocd-cmp-server";
const PLUGIN_CONFIG_PATH: &str = "/home/argocd/cmp-server/config/plugin.yaml";

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// gcloud's versioned kubectl when present (it starts faster and probes no cluster), else `kubectl` on PATH.
fn kubectl() -> PathBuf {
    let versioned = Path::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.32");
    if versioned.is_file() {
        return versioned.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("kubectl"))
        .find(|path| path.is_file())
        .expect("kubectl not found: these tests render manifests/ with `kubectl kustomize`; install kubectl")
}

/// `kubectl kustomize DIR`, parsed into its objects.
fn kustomize(dir: &Path) -> Vec<Value> {
    let output = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("cannot run kubectl");
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("kustomize output is UTF-8");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("kustomize output parses as YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The kustomization a user writes: an install manifest of Argo CD, the base component, the image they built.
fn render_with_install(install: &Fixture) -> Vec<Value> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // Kustomize loads resource files only from inside the kustomization's directory, symlinks included.
    std::fs::write(dir.path().join("install.yaml"), &install.text).unwrap();
    // Components, unlike files, may live anywhere, but only at a relative path.
    let base = relative_path(dir.path(), &project().join("manifests/base"));
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "namespace: argocd\nresources: [install.yaml]\ncomponents: [{}]\nimages:\n  - name: {SIDECAR}\n    \
             newName: registry.test/team/argocd-image-resolver\n    newTag: v9.9.9\n",
            base.display()
        ),
    )
    .unwrap();
    kustomize(dir.path())
}

fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (from, to) = (from.canonicalize().unwrap(), to.canonicalize().unwrap());
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut path: PathBuf = from.components().skip(common).map(|_| "..").collect();
    path.extend(to.components().skip(common));
    path
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
}

fn named<'a>(list: &'a Value, name: &str) -> Vec<&'a Value> {
    list.as_sequence()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["name"].as_str() == Some(name))
                .collect()
        })
        .unwrap_or_default()
}

fn one<'a>(list: &'a Value, name: &str, what: &str) -> &'a Value {
    match named(list, name)[..] {
        [item] => item,
        ref items => panic!("{what}: expected one '{name}', found {}", items.len()),
    }
}

/// The sidecar's mount at `path`, and the pod volume behind it.
fn mount_at<'a>(
    pod: &'a Value,
    sidecar: &'a Value,
    path: &str,
    case: &str,
) -> (&'a Value, &'a Value) {
    let mounts = sidecar["volumeMounts"].as_sequence().unwrap();
    let mount = mounts
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(path))
        .unwrap_or_else(|| panic!("{case}: no mount at {path}"));
    let volume = one(&pod["volumes"], mount["name"].as_str().unwrap(), case);
    (mount, volume)
}

/// The container runs as user 999 (the Dockerfile's, and Argo CD's sidecar contract's), non-root, with a read-only
/// root file system, no capabilities, no privilege escalation and the runtime's seccomp profile.
fn assert_locked_down(container: &Value, case: &str) {
    let context = &container["securityContext"];
    for (field, got, want) in [
        ("runAsNonRoot", &context["runAsNonRoot"], "true"),
        ("runAsUser", &context["runAsUser"], "999"),
        (
            "allowPrivilegeEscalation",
            &context["allowPrivilegeEscalation"],
            "false",
        ),
        (
            "readOnlyRootFilesystem",
            &context["readOnlyRootFilesystem"],
            "true",
        ),
        ("capabilities", &context["capabilities"], "{drop: [ALL]}"),
        (
            "seccompProfile",
            &context["seccompProfile"],
            "{type: RuntimeDefault}",
        ),
    ] {
        assert_eq!(
            got,
            &serde_norway::from_str::<Value>(want).unwrap(),
            "{case}: securityContext.{field}"
        );
    }
}

/// The bound a container's sweeps keep the cache's files within: its `IMAGE_RESOLVER_CACHE_MAX_SIZE`, else the
/// flag's default.
fn cache_bound(container: &Value, case: &str) -> ByteSize {
    named(&container["env"], "IMAGE_RESOLVER_CACHE_MAX_SIZE")
        .first()
        .map_or(CacheOptions::DEFAULT_MAX_SIZE, |var| {
            let value = var["value"].as_str().unwrap_or_default();
            value
                .parse()
                .unwrap_or_else(|e| panic!("{case}: IMAGE_RESOLVER_CACHE_MAX_SIZE: {e}"))
        })
}

/// A cache volume's `sizeLimit`, which the kubelet evicts the whole pod past: at least twice `bound` (room for
/// what renders write between two sweeps) plus the render log and its rotated copy.
fn assert_cache_limit(volume: &Value, bound: ByteSize, case: &str) -> ByteSize {
    let limit: ByteSize = volume["emptyDir"]["sizeLimit"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: the cache volume has no sizeLimit: {volume:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{case}: the cache volume's sizeLimit: {e}"));
    assert!(
        limit.bytes() >= 2 * bound.bytes() + 2 * MAX_UNREAD,
        "{case}: a sizeLimit of {limit} leaves too little room above --cache-max-size {bound}"
    );
    limit
}

/// What Argo CD's sidecar contract requires of the rendered repo-server, whatever else the install holds.
fn assert_sidecar(objects: &[Value], case: &str) {
    let deployment = find(objects, "Deployment", "argocd-repo-server")
        .unwrap_or_else(|| panic!("{case}: no Deployment argocd-repo-server"));
    let pod = &deployment["spec"]["template"]["spec"];
    let sidecar = one(&pod["containers"], SIDECAR, case);
    one(&pod["containers"], "argocd-repo-server", case);

    assert_eq!(
        sidecar["command"],
        serde_norway::from_str::<Value>(&format!("[{CMP_SERVER}]")).unwrap(),
        "{case}"
    );
    assert_locked_down(sidecar, case);
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]
            .as_str(),
        Some("argocd-repo-server"),
        "{case}: kubectl logs/exec stay on repo-server"
    );

    // The two volumes shared with repo-server: the copied argocd-cmp-server, and the plugin sockets.
    for (path, volume_name) in [
        ("/var/run/argocd", "var-files"),
        ("/home/argocd/cmp-server/plugins", "plugins"),
    ] {
        let (mount, _) = mount_at(pod, sidecar, path, case);
        assert_eq!(mount["name"].as_str(), Some(volume_name), "{case}: {path}");
    }
    let (copyutil_target, _) = mount_at(
        pod,
        one(&pod["initContainers"], "copyutil", case),
        "/var/run/argocd",
        case,
    );
    assert_eq!(
        copyutil_target["name"].as_str(),
        Some("var-files"),
        "{case}: copyutil fills var-files"
    );

    // The plugin config: plugin.yaml of this repository, from a ConfigMap in the output.
    let (mount, volume) = mount_at(pod, sidecar, PLUGIN_CONFIG_PATH, case);
    assert_eq!(mount["subPath"].as_str(), Some("plugin.yaml"), "{case}");
    let config_map_name = volume["configMap"]["name"].as_str().unwrap();
    let config_map = find(objects, "ConfigMap", config_map_name).unwrap_or_else(|| {
        panic!("{case}: the plugin volume's ConfigMap {config_map_name} is not in the output")
    });
    assert_eq!(
        config_map["data"]["plugin.yaml"].as_str(),
        Some(read(&project().join("plugin.yaml")).as_str()),
        "{case}: the ConfigMap holds plugin.yaml"
    );

    // Its own /tmp, not repo-server's.
    let (_, tmp) = mount_at(pod, sidecar, "/tmp", case);
    assert!(tmp["emptyDir"].is_mapping(), "{case}: /tmp is an emptyDir");
    let repo_server = one(&pod["containers"], "argocd-repo-server", case);
    let (_, repo_server_tmp) = mount_at(pod, repo_server, "/tmp", case);
    assert_ne!(
        tmp["name"], repo_server_tmp["name"],
        "{case}: /tmp not shared with repo-server"
    );

    // The cache, where the option says.
    let cache_dir = one(&sidecar["env"], CACHE_DIR_ENV, case)["value"]
        .as_str()
        .unwrap();
    let (_, cache) = mount_at(pod, sidecar, cache_dir, case);
    assert!(
        cache["emptyDir"].is_mapping(),
        "{case}: the cache is an emptyDir by default"
    );
    assert_cache_limit(cache, cache_bound(sidecar, case), case);

    for object in [deployment, config_map] {
        assert_eq!(
            object["metadata"]["namespace"].as_str(),
            Some("argocd"),
            "{case}: {:?}",
            object["metadata"]
        );
    }
}

#[test]
fn example_and_argocd_install_render_the_sidecar() {
    assert_sidecar(
        &kustomize(&project().join("manifests/example")),
        "manifests/example",
    );
    for install in fixtures::install_manifests() {
        assert_sidecar(
            &render_with_install(&install),
            &format!("{} + manifests/base", install.name),
        );
    }
}

#[test]
fn the_image_is_set_from_the_users_kustomization() {
    for install in fixtures::install_manifests() {
        let case = install.name;
        let objects = render_with_install(&install);
        let pod = &find(&objects, "Deployment", "argocd-repo-server").unwrap()["spec"]["template"]
            ["spec"];
        let image = |name: &str| {
            one(&pod["containers"], name, case)["image"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            image(SIDECAR),
            "registry.test/team/argocd-image-resolver:v9.9.9",
            "{case}"
        );
        let written = install
            .want
            .images
            .iter()
            .find(|i| i.name == "argocd-repo-server" && i.container == "argocd-repo-server")
            .unwrap();
        assert_eq!(
            image("argocd-repo-server"),
            written.value,
            "{case}: Argo CD's own image untouched"
        );
        // Argo CD's volumes are reused, not duplicated.
        for volume in ["var-files", "plugins"] {
            one(&pod["volumes"], volume, case);
        }
    }
}

#[test]
fn example_mounts_the_optional_registry_settings() {
    let objects = kustomize(&project().join("manifests/example"));
    let pod =
        &find(&objects, "Deployment", "argocd-repo-server").unwrap()["spec"]["template"]["spec"];
    let sidecar = one(&pod["containers"], SIDECAR, "example");

    let (_, volume) = mount_at(pod, sidecar, "/app/config", "registries-conf");
    let config_map = find(
        &objects,
        "ConfigMap",
        volume["configMap"]["name"].as_str().unwrap(),
    )
    .expect("registries-conf: the ConfigMap is in the output");
    let registries = config_map["data"]["registries.conf"].as_str().unwrap();
    assert_eq!(
        registries,
        read(&project().join("manifests/example/registries.conf"))
    );
    let parsed: Value = serde_norway::from_str(registries).unwrap();
    assert!(
        parsed["registries"].is_sequence(),
        "registries.conf has a registries list"
    );

    let pull_secrets_dir = one(
        &sidecar["env"],
        "IMAGE_RESOLVER_PULL_SECRETS_DIR",
        "pull-secret",
    )["value"]
        .as_str()
        .unwrap();
    // The Secret lives in argocd: Applications may name it only when the operator shares that namespace.
    assert_eq!(
        one(
            &sidecar["env"],
            "IMAGE_RESOLVER_PULL_SECRET_NAMESPACES",
            "pull-secret",
        )["value"]
            .as_str(),
        Some("argocd")
    );
    // Regression (issue 11, item 7): mounted as <dir>/<namespace>/<name>, so a `pullsecret:<ns>/<name>` reference
    // is checked against the namespace the secret came from.
    let mount = format!("{pull_secrets_dir}/argocd/argocd-image-resolver-pull-secret");
    let (_, volume) = mount_at(pod, sidecar, &mount, "pull-secret");
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("argocd-image-resolver-pull-secret")
    );
}

const COMMITTER: &str = "argocd-image-resolver-committer";
const COMMITTER_CONTAINER: &str = "committer";
const COMMITTER_CONFIG_DIR: &str = "/etc/argocd-image-resolver";
const GIT_SECRET: &str = "argocd-image-resolver-git";
const GIT_SECRET_DIR: &str = "/var/run/secrets/argocd-image-resolver/git";

/// The committer's Deployment, its pod spec and its container.
fn committer<'a>(objects: &'a [Value], case: &str) -> (&'a Value, &'a Value, &'a Value) {
    let deployment = find(objects, "Deployment", COMMITTER)
        .unwrap_or_else(|| panic!("{case}: no Deployment {COMMITTER}"));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = one(&pod["containers"], COMMITTER_CONTAINER, case);
    (deployment, pod, container)
}

/// The committer's config file as the Deployment mounts it: the text of the ConfigMap behind the mount.
fn mounted_committer_config<'a>(objects: &'a [Value], case: &str) -> &'a str {
    let (_, pod, container) = committer(objects, case);
    let (mount, volume) = mount_at(pod, container, COMMITTER_CONFIG_DIR, case);
    assert_eq!(mount["readOnly"].as_bool(), Some(true), "{case}");
    // Not a subPath: the ConfigMap's hash suffix is what restarts the committer on a change.
    assert!(mount["subPath"].is_null(), "{case}: no subPath");
    let name = volume["configMap"]["name"].as_str().unwrap();
    assert!(
        name.starts_with(&format!("{COMMITTER}-")),
        "{case}: the generated ConfigMap, with its hash: {name}"
    );
    let config_map = find(objects, "ConfigMap", name).unwrap_or_else(|| {
        panic!("{case}: the config volume's ConfigMap {name} is not in the output")
    });
    config_map["data"]["committer.yaml"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: {name} has no committer.yaml"))
}

#[test]
fn the_committer_runs_watch_as_its_own_deployment() {
    let case = "manifests/committer";
    let objects = kustomize(&project().join(case));
    let (deployment, pod, container) = committer(&objects, case);

    // One committer, never two at once.
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    assert_eq!(
        deployment["spec"]["strategy"]["type"].as_str(),
        Some("Recreate")
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in deployment["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(&labels[key], value, "the selector matches the pod: {key:?}");
    }
    for object in &objects {
        assert_eq!(
            object["metadata"]["namespace"].as_str(),
            Some("argocd"),
            "{:?}",
            object["metadata"]
        );
    }

    // `watch --config` on the file the ConfigMap puts there, from the image ../base uses (one `images:` entry
    // sets both).
    assert_eq!(
        one(&pod["containers"], COMMITTER_CONTAINER, case),
        container
    );
    assert_eq!(pod["containers"].as_sequence().unwrap().len(), 1);
    assert_eq!(container["image"].as_str(), Some(SIDECAR));
    let config_path = format!("{COMMITTER_CONFIG_DIR}/committer.yaml");
    assert_eq!(
        container["args"],
        serde_norway::from_str::<Value>(&format!("[watch, --config, {config_path}]")).unwrap()
    );
    assert!(
        container["command"].is_null(),
        "the image's entrypoint runs"
    );
    assert_eq!(
        mounted_committer_config(&objects, case),
        read(&project().join("manifests/committer/committer.yaml"))
    );

    // As locked down as the sidecar, and without a Kubernetes API token.
    assert_locked_down(container, case);
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let (_, tmp) = mount_at(pod, container, "/tmp", case);
    assert!(tmp["emptyDir"].is_mapping(), "/tmp is an emptyDir");
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][bound][resource].is_string(),
                "resources.{bound}.{resource}"
            );
        }
    }

    // The cache where the sidecar and the Dockerfile keep it.
    let cache_dir = one(&container["env"], CACHE_DIR_ENV, case)["value"]
        .as_str()
        .unwrap();
    assert_eq!(cache_dir, "/var/cache/argocd-image-resolver");
    let (_, cache) = mount_at(pod, container, cache_dir, case);
    assert!(cache["emptyDir"].is_mapping(), "the cache is an emptyDir");

    // The git credentials: a Secret the user creates, read-only.
    let (mount, secret) = mount_at(pod, container, GIT_SECRET_DIR, case);
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    assert_eq!(secret["secret"]["secretName"].as_str(), Some(GIT_SECRET));
    assert!(
        find(&objects, "Secret", GIT_SECRET).is_none(),
        "no placeholder Secret: applying the base must not overwrite the real one"
    );

    // Argo CD's ssh known hosts, optional.
    let (mount, known_hosts) = mount_at(pod, container, "/etc/ssh", case);
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    assert_eq!(
        known_hosts["configMap"]["name"].as_str(),
        Some("argocd-ssh-known-hosts-cm")
    );
    assert_eq!(known_hosts["configMap"]["optional"].as_bool(), Some(true));
}

#[test]
fn the_committers_example_config_parses_and_uses_the_mounted_secret() {
    let text = read(&project().join("manifests/committer/committer.yaml"));
    let config = CommitConfig::parse(&text).unwrap_or_else(|e| panic!("committer.yaml: {e}"));
    assert_eq!(config.interval, Duration::from_secs(120));

    let [app] = &config.applications[..] else {
        panic!("one application: {:?}", config.applications);
    };
    match &app.write_back.method {
        Method::Git(git) => assert_eq!(git.target, Target::LockFile, "lock-file mode"),
        other => panic!("the committer writes to git: {other:?}"),
    }

    // Every secret file the config names is a key of the mounted Secret.
    let mut files = Vec::new();
    for credential in &config.git.credentials {
        if let Some(Username::File(file)) = &credential.username {
            files.push(file);
        }
        files.push(match &credential.secret {
            SecretFile::Password(file)
            | SecretFile::Token(file)
            | SecretFile::SshPrivateKey(file) => file,
        });
    }
    assert!(!files.is_empty(), "the example has a credential");
    for file in files {
        assert!(
            Path::new(file).parent() == Some(Path::new(GIT_SECRET_DIR)),
            "{file} is not a key of the Secret mounted at {GIT_SECRET_DIR}"
        );
    }
    // The commented ssh settings point at the mounts the Deployment has.
    for line in [
        format!("sshPrivateKeyFile: {GIT_SECRET_DIR}/sshPrivateKey"),
        "knownHostsFile: /etc/ssh/ssh_known_hosts".to_owned(),
    ] {
        assert!(text.contains(&line), "committer.yaml mentions '{line}'");
    }
}

/// What the README tells users to write: the committer added to the kustomization that installs the sidecar, with
/// their config file in place of the example and one registries.conf for both.
#[test]
fn the_committer_installs_beside_the_sidecar_from_the_users_kustomization() {
    let install = fixtures::install_manifests().remove(0);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let config = "interval: 5m\napplications:\n- name: web\n  repository: https://git.example.org/org/deploy.git\n  \
                  parameters: {image-list: web=ghcr.io/acme/web, write-back-method: git}\n";
    std::fs::write(dir.path().join("install.yaml"), &install.text).unwrap();
    std::fs::write(dir.path().join("committer.yaml"), config).unwrap();
    std::fs::copy(
        project().join("manifests/example/registries.conf"),
        dir.path().join("registries.conf"),
    )
    .unwrap();
    let relative = |path: &str| {
        relative_path(dir.path(), &project().join(path))
            .display()
            .to_string()
    };
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "namespace: argocd\nresources: [install.yaml, {}]\ncomponents: [{}, {}, {}, {}]\nimages:\n  \
             - name: {SIDECAR}\n    newName: registry.test/team/argocd-image-resolver\n    newTag: v9.9.9\n\
             configMapGenerator:\n  - name: {COMMITTER}\n    behavior: replace\n    files: [committer.yaml]\n  \
             - name: argocd-image-resolver-config\n    files: [registries.conf]\n",
            relative("manifests/committer"),
            relative("manifests/base"),
            relative("manifests/components/registries-conf"),
            relative("manifests/components/committer-registries-conf"),
            relative("manifests/components/pull-secret"),
        ),
    )
    .unwrap();
    let case = format!("{} + manifests/base + manifests/committer", install.name);
    let case = case.as_str();
    let objects = kustomize(dir.path());
    assert_sidecar(&objects, case);
    let (_, pod, container) = committer(&objects, case);

    assert_eq!(
        container["image"].as_str(),
        Some("registry.test/team/argocd-image-resolver:v9.9.9"),
        "{case}: the one images: entry sets the committer's image too"
    );
    let mounted = mounted_committer_config(&objects, case);
    assert_eq!(
        mounted, config,
        "{case}: the user's config replaces the example"
    );
    CommitConfig::parse(mounted).unwrap();

    // The pull-secret component serves the committer too: it resolves the same images.
    let (pull, pull_volume) = mount_at(
        pod,
        container,
        "/app/pull-secrets/argocd/argocd-image-resolver-pull-secret",
        case,
    );
    assert_eq!(pull["readOnly"].as_bool(), Some(true), "{case}");
    assert_eq!(
        pull_volume["secret"]["secretName"].as_str(),
        Some("argocd-image-resolver-pull-secret"),
        "{case}"
    );
    let env = named(&container["env"], "IMAGE_RESOLVER_PULL_SECRETS_DIR");
    assert_eq!(env.len(), 1, "{case}");
    assert_eq!(
        env[0]["value"].as_str(),
        Some("/app/pull-secrets"),
        "{case}"
    );

    // One registries.conf, the generated ConfigMap's name rewritten in both mounts.
    let (mount, volume) = mount_at(pod, container, "/app/config", case);
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let name = volume["configMap"]["name"].as_str().unwrap();
    let config_map = find(&objects, "ConfigMap", name)
        .unwrap_or_else(|| panic!("{case}: the registries ConfigMap {name} is not in the output"));
    assert_eq!(
        config_map["data"]["registries.conf"].as_str(),
        Some(read(&project().join("manifests/example/registries.conf")).as_str())
    );
    let repo_server =
        &find(&objects, "Deployment", "argocd-repo-server").unwrap()["spec"]["template"]["spec"];
    let (_, sidecar_volume) = mount_at(
        repo_server,
        one(&repo_server["containers"], SIDECAR, case),
        "/app/config",
        case,
    );
    assert_eq!(
        sidecar_volume["configMap"]["name"].as_str(),
        Some(name),
        "{case}"
    );
    // The rest of the committer is untouched by its component.
    mount_at(pod, container, COMMITTER_CONFIG_DIR, case);
    mount_at(pod, container, GIT_SECRET_DIR, case);
}

const WATCH: &str = "argocd-image-resolver-watch";
const WATCH_CONFIG_DIR: &str = "/etc/argocd-image-resolver";
const WEBHOOK_SECRET: &str = "argocd-image-resolver-webhooks";
const WEBHOOK_SECRET_DIR: &str = "/var/run/secrets/argocd-image-resolver/webhooks";
/// Where kube clients find a pod's service account token, CA and namespace.
const KUBE_API_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The kustomization docs/install.md tells users to write for the daemon: Argo CD's install manifest, the base and
/// the watch component, the image they built.
fn render_with_watch(install: &Fixture) -> Vec<Value> {
    render_components(install, &["manifests/base", "manifests/components/watch"])
}

/// Argo CD's install manifest with `components` of this repository (paths from its root), the image they built.
fn render_components(install: &Fixture, components: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(dir.path().join("install.yaml"), &install.text).unwrap();
    let components: Vec<String> = components
        .iter()
        .map(|path| {
            relative_path(dir.path(), &project().join(path))
                .display()
                .to_string()
        })
        .collect();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "namespace: argocd\nresources: [install.yaml]\ncomponents: [{}]\nimages:\n  - name: {SIDECAR}\n    \
             newName: registry.test/team/argocd-image-resolver\n    newTag: v9.9.9\n",
            components.join(", "),
        ),
    )
    .unwrap();
    kustomize(dir.path())
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

/// The daemon in the repo-server pod: beside the sidecar, on its cache volume, locked down as it is, with its
/// probes, config, secrets and a Kubernetes API token of its own.
#[test]
fn the_watch_component_runs_the_daemon_in_the_repo_server_pod() {
    for install in fixtures::install_manifests() {
        let case = format!(
            "{} + manifests/base + manifests/components/watch",
            install.name
        );
        let case = case.as_str();
        let objects = render_with_watch(&install);
        // The sidecar as Argo CD's contract wants it, untouched by the component.
        assert_sidecar(&objects, case);
        let deployment = find(&objects, "Deployment", "argocd-repo-server").unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        let sidecar = one(&pod["containers"], SIDECAR, case);
        let daemon = one(&pod["containers"], WATCH, case);
        one(&pod["containers"], "argocd-repo-server", case);

        assert_eq!(
            daemon["image"].as_str(),
            Some("registry.test/team/argocd-image-resolver:v9.9.9"),
            "{case}: the one images: entry sets the daemon's image too"
        );
        let args: Vec<String> = daemon["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            args,
            [
                "watch",
                "--config",
                &format!("{WATCH_CONFIG_DIR}/watch.yaml"),
                "--application-namespaces=argocd",
                "--listen=0.0.0.0:8080",
            ],
            "{case}"
        );
        assert!(
            daemon["command"].is_null(),
            "{case}: the image's entrypoint runs"
        );
        // The flags are the binary's: a misspelt one would crash-loop the pod, and repo-server with it.
        let argv = std::iter::once(SIDECAR.to_owned()).chain(args.iter().cloned());
        if let Err(e) = <argocd_image_resolver::cli::Cli as clap::Parser>::try_parse_from(argv) {
            panic!("{case}: the daemon's args do not parse: {e}");
        }
        assert_locked_down(daemon, case);
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    daemon["resources"][bound][resource].is_string(),
                    "{case}: resources.{bound}.{resource}"
                );
            }
        }

        // The sidecar's cache volume, at the path both are told: the tag lists the daemon fetches answer the
        // sidecar's renders, and the sidecar's render log reaches the daemon's /metrics.
        let cache_dir = |container: &Value| {
            one(&container["env"], CACHE_DIR_ENV, case)["value"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(cache_dir(daemon), cache_dir(sidecar), "{case}");
        let (_, daemon_cache) = mount_at(pod, daemon, &cache_dir(daemon), case);
        let (_, sidecar_cache) = mount_at(pod, sidecar, &cache_dir(sidecar), case);
        assert_eq!(
            daemon_cache["name"], sidecar_cache["name"],
            "{case}: one cache volume"
        );
        // Both sweep it: to one bound, or the smaller would win. The daemon's clones are elsewhere (below), so the
        // volume is the base's, with the base's limit.
        let bound = cache_bound(sidecar, case);
        assert_eq!(cache_bound(daemon, case), bound, "{case}: one cache bound");
        assert_cache_limit(daemon_cache, bound, case);

        // Probes and the webhook port: 8080, where --listen says.
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            assert_eq!(
                daemon[probe]["httpGet"],
                yaml(&format!("{{path: {path}, port: 8080}}")),
                "{case}: {probe}"
            );
        }
        let ports = daemon["ports"].as_sequence().unwrap();
        assert!(
            ports
                .iter()
                .any(|p| p["containerPort"].as_u64() == Some(8080)),
            "{case}: {ports:?}"
        );
        let (_, tmp) = mount_at(pod, daemon, "/tmp", case);
        assert!(tmp["emptyDir"].is_mapping(), "{case}: /tmp is an emptyDir");
        // The daemon's clones (pushed from with the git credentials): a volume the sidecar does not mount.
        let git_dir = one(&daemon["env"], "IMAGE_RESOLVER_GIT_DIR", case)["value"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !git_dir.starts_with(&cache_dir(daemon)),
            "{case}: {git_dir} is outside the shared cache"
        );
        let git_mount = daemon["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| git_dir.starts_with(m["mountPath"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{case}: no mount holds {git_dir}"));
        let clones = one(&pod["volumes"], git_mount["name"].as_str().unwrap(), case);
        assert!(
            clones["emptyDir"]["sizeLimit"].is_string(),
            "{case}: the clones' volume is an emptyDir with a limit: {clones:?}"
        );
        for container in pod["containers"].as_sequence().unwrap() {
            if container["name"].as_str() != Some(WATCH) {
                let mounts = container["volumeMounts"]
                    .as_sequence()
                    .unwrap_or(&Vec::new())
                    .clone();
                assert!(
                    mounts.iter().all(|m| m["name"] != git_mount["name"]),
                    "{case}: the clones are the daemon's only, not {:?}'s",
                    container["name"]
                );
            }
        }

        // Argo CD gives the pod no token; the daemon alone gets one, for the pod's service account.
        assert_eq!(
            pod["serviceAccountName"].as_str(),
            Some("argocd-repo-server"),
            "{case}"
        );
        if pod["automountServiceAccountToken"].as_bool() == Some(false) {
            let (mount, volume) = mount_at(pod, daemon, KUBE_API_DIR, case);
            assert_eq!(mount["readOnly"].as_bool(), Some(true), "{case}");
            let sources = volume["projected"]["sources"].as_sequence().unwrap();
            assert!(
                sources
                    .iter()
                    .any(|s| s["serviceAccountToken"]["path"].as_str() == Some("token")),
                "{case}: {sources:?}"
            );
            assert!(
                sources
                    .iter()
                    .any(|s| s["configMap"]["name"].as_str() == Some("kube-root-ca.crt")),
                "{case}: the cluster's CA"
            );
            for container in pod["containers"].as_sequence().unwrap() {
                if container["name"].as_str() != Some(WATCH) {
                    let mounts = container["volumeMounts"].as_sequence().unwrap();
                    assert!(
                        mounts.iter().all(|m| m["name"] != mount["name"]),
                        "{case}: the token is the daemon's only, not {:?}'s",
                        container["name"]
                    );
                }
            }
        }

        // Its config: the ConfigMap's watch.yaml, as `watch` parses it, credentials in the mounted git Secret.
        let (mount, volume) = mount_at(pod, daemon, WATCH_CONFIG_DIR, case);
        assert_eq!(mount["readOnly"].as_bool(), Some(true), "{case}");
        assert!(
            mount["subPath"].is_null(),
            "{case}: no subPath, so the hash rolls the pod"
        );
        let name = volume["configMap"]["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("{WATCH}-")),
            "{case}: hashed: {name}"
        );
        let text = find(&objects, "ConfigMap", name).unwrap()["data"]["watch.yaml"]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: {name} has no watch.yaml"));
        assert_eq!(
            text,
            read(&project().join("manifests/components/watch/watch.yaml"))
        );
        let config =
            CommitConfig::parse(text).unwrap_or_else(|e| panic!("{case}: watch.yaml: {e}"));
        assert!(
            config.applications.is_empty(),
            "{case}: discovery finds them"
        );
        assert!(!config.git.credentials.is_empty(), "{case}");
        for credential in &config.git.credentials {
            let (SecretFile::Password(file)
            | SecretFile::Token(file)
            | SecretFile::SshPrivateKey(file)) = &credential.secret;
            assert_eq!(
                Path::new(file).parent(),
                Some(Path::new(GIT_SECRET_DIR)),
                "{case}: {file} is a key of the git Secret"
            );
        }

        // Secrets the user creates: mounted read-only, optional (a missing one must not stop repo-server), and
        // never a placeholder in the output.
        for (path, secret) in [
            (GIT_SECRET_DIR, GIT_SECRET),
            (WEBHOOK_SECRET_DIR, WEBHOOK_SECRET),
        ] {
            let (mount, volume) = mount_at(pod, daemon, path, case);
            assert_eq!(mount["readOnly"].as_bool(), Some(true), "{case}: {path}");
            assert_eq!(
                volume["secret"]["secretName"].as_str(),
                Some(secret),
                "{case}"
            );
            assert_eq!(
                volume["secret"]["optional"].as_bool(),
                Some(true),
                "{case}: {secret}"
            );
            assert!(
                find(&objects, "Secret", secret).is_none(),
                "{case}: no placeholder {secret}"
            );
        }
        for volume in pod["volumes"].as_sequence().unwrap() {
            let name = volume["name"].as_str().unwrap();
            if name.starts_with(WATCH)
                && (volume["secret"].is_mapping() || volume["configMap"].is_mapping())
            {
                let source = if volume["secret"].is_mapping() {
                    &volume["secret"]
                } else {
                    &volume["configMap"]
                };
                let generated = source["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("{WATCH}-")));
                assert!(
                    generated || source["optional"].as_bool() == Some(true),
                    "{case}: volume {name} must be optional: {source:?}"
                );
            }
        }
    }
}

/// RBAC: exactly what the daemon uses, in argocd only, for the repo-server's ServiceAccount; the Service and the
/// NetworkPolicy reach the daemon's port on the repo-server pods.
#[test]
fn the_watch_component_grants_only_applications_in_argocd_and_exposes_its_webhooks() {
    for install in fixtures::install_manifests() {
        let case = format!(
            "{} + manifests/base + manifests/components/watch",
            install.name
        );
        let case = case.as_str();
        let objects = render_with_watch(&install);
        let deployment = find(&objects, "Deployment", "argocd-repo-server").unwrap();
        let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];

        let role =
            find(&objects, "Role", WATCH).unwrap_or_else(|| panic!("{case}: no Role {WATCH}"));
        assert_eq!(
            role["metadata"]["namespace"].as_str(),
            Some("argocd"),
            "{case}"
        );
        assert_eq!(
            role["rules"],
            yaml(
                "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get, list, watch, patch]}]"
            ),
            "{case}"
        );
        let binding = find(&objects, "RoleBinding", WATCH)
            .unwrap_or_else(|| panic!("{case}: no RoleBinding {WATCH}"));
        assert_eq!(
            binding["metadata"]["namespace"].as_str(),
            Some("argocd"),
            "{case}"
        );
        assert_eq!(
            binding["roleRef"],
            yaml(&format!(
                "{{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {WATCH}}}"
            )),
            "{case}"
        );
        let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .unwrap();
        assert_eq!(
            binding["subjects"],
            yaml(&format!(
                "[{{kind: ServiceAccount, name: {account}, namespace: argocd}}]"
            )),
            "{case}: bound to the ServiceAccount the repo-server pod runs as"
        );
        // Nothing cluster-wide from this component.
        for object in &objects {
            let kind = object["kind"].as_str().unwrap_or_default();
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            assert!(
                !(kind.starts_with("Cluster") && name.contains("image-resolver")),
                "{case}: {kind} {name}"
            );
        }

        // The Service selects the repo-server pods (and only what Argo CD's own Deployment selects).
        let service = find(&objects, "Service", WEBHOOK_SECRET)
            .unwrap_or_else(|| panic!("{case}: no Service {WEBHOOK_SECRET}"));
        assert_eq!(
            service["metadata"]["namespace"].as_str(),
            Some("argocd"),
            "{case}"
        );
        let selector = service["spec"]["selector"].as_mapping().unwrap();
        assert!(!selector.is_empty(), "{case}");
        for (key, value) in selector {
            assert_eq!(
                &pod_labels[key], value,
                "{case}: the Service selects the pod by {key:?}"
            );
        }
        assert_eq!(
            &service["spec"]["selector"], &deployment["spec"]["selector"]["matchLabels"],
            "{case}: the repo-server Deployment's own selector"
        );
        let [port] = &service["spec"]["ports"].as_sequence().unwrap()[..] else {
            panic!("{case}: one port");
        };
        assert_eq!(port["port"].as_u64(), Some(80), "{case}");
        assert_eq!(port["targetPort"].as_u64(), Some(8080), "{case}");

        // Argo CD's NetworkPolicy admits only its own ports to these pods: ours admits 8080.
        let policy = find(&objects, "NetworkPolicy", WEBHOOK_SECRET)
            .unwrap_or_else(|| panic!("{case}: no NetworkPolicy {WEBHOOK_SECRET}"));
        for (key, value) in policy["spec"]["podSelector"]["matchLabels"]
            .as_mapping()
            .unwrap()
        {
            assert_eq!(
                &pod_labels[key], value,
                "{case}: the NetworkPolicy selects the pod by {key:?}"
            );
        }
        assert_eq!(
            policy["spec"]["ingress"],
            yaml("[{ports: [{port: 8080, protocol: TCP}]}]"),
            "{case}"
        );
    }
}

/// docs/install.md gives the webhook URL of every source `--webhook-secret` accepts, and the Secret's mount path.
#[test]
fn the_install_guide_lists_every_webhook_source() {
    let guide = read(&project().join("docs/install.md"));
    for source in argocd_image_resolver::webhook::Source::ALL {
        let url = format!("http://{WEBHOOK_SECRET}.argocd/webhook/{}", source.as_str());
        assert!(guide.contains(&url), "docs/install.md lacks {url}");
    }
    assert!(
        guide.contains(WEBHOOK_SECRET_DIR),
        "docs/install.md names {WEBHOOK_SECRET_DIR}"
    );
}

/// `plugin.yaml` as argocd-cmp-server reads it; unknown fields are rejected here because Argo CD would silently
/// ignore a misspelt one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PluginConfig {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: PluginSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PluginSpec {
    version: Option<String>,
    init: Option<PluginCommand>,
    generate: PluginCommand,
    discover: Option<Value>,
    parameters: Parameters,
    preserve_file_mode: bool,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct PluginCommand {
    command: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    #[serde(rename = "static")]
    announced: Vec<Announcement>,
    dynamic: PluginCommand,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Announcement {
    name: String,
    title: String,
    tooltip: String,
    collection_type: String,
}

fn command(argv: &[&str]) -> PluginCommand {
    PluginCommand {
        command: argv.iter().map(|s| s.to_string()).collect(),
        args: Vec::new(),
    }
}

#[test]
fn plugin_yaml_declares_the_plugin() {
    let text = read(&project().join("plugin.yaml"));
    let plugin: PluginConfig = serde_norway::from_str(&text).expect("plugin.yaml parses");
    assert_eq!(plugin.api_version, "argoproj.io/v1alpha1");
    assert_eq!(plugin.kind, "ConfigManagementPlugin");
    assert_eq!(plugin.metadata.name, "argocd-image-resolver");
    assert_eq!(
        plugin.spec.version.as_deref(),
        Some("v1"),
        "Applications name it argocd-image-resolver-v1"
    );
    assert!(
        plugin.spec.discover.is_none(),
        "no discovery: only Applications naming the plugin use it"
    );
    assert!(!plugin.spec.preserve_file_mode);

    // Executed without a shell, by the name the Dockerfile installs on PATH.
    let binary = Path::new(env!("CARGO_BIN_EXE_argocd-image-resolver"))
        .file_name()
        .unwrap();
    assert_eq!(binary, SIDECAR);
    for (case, got, want) in [
        ("init", plugin.spec.init.as_ref(), [SIDECAR, "init"]),
        (
            "generate",
            Some(&plugin.spec.generate),
            [SIDECAR, "generate"],
        ),
        (
            "dynamic parameters",
            Some(&plugin.spec.parameters.dynamic),
            [SIDECAR, "parameters"],
        ),
    ] {
        assert_eq!(got, Some(&command(&want)), "{case}");
    }

    let announced: BTreeMap<&str, &str> = plugin
        .spec
        .parameters
        .announced
        .iter()
        .map(|a| (a.name.as_str(), a.collection_type.as_str()))
        .collect();
    assert_eq!(
        announced,
        BTreeMap::from([("image-list", "string"), ("policy", "map")])
    );
    for announcement in &plugin.spec.parameters.announced {
        assert!(
            !announcement.title.is_empty() && !announcement.tooltip.is_empty(),
            "{}: the UI shows a title and a tooltip",
            announcement.name
        );
    }
}

#[test]
fn the_base_component_carries_plugin_yaml_unchanged() {
    // Kustomize reads files only below the component's directory, hence the copy.
    assert_eq!(
        read(&project().join("manifests/base/plugin.yaml")),
        read(&project().join("plugin.yaml")),
        "manifests/base/plugin.yaml differs from plugin.yaml: copy plugin.yaml over it"
    );
}

/// The lines of one Dockerfile instruction (`COPY`, `ENV`, …) in the stage after `FROM … AS stage` (or the final
/// stage for `None`), with continuation lines joined.
fn instructions(dockerfile: &str, stage: Option<&str>, instruction: &str) -> Vec<String> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
    {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let stages: Vec<usize> = (0..logical.len())
        .filter(|&i| logical[i].starts_with("FROM "))
        .collect();
    let start = match stage {
        Some(name) => *stages
            .iter()
            .find(|&&i| logical[i].ends_with(&format!(" AS {name}")))
            .unwrap_or_else(|| panic!("no stage {name}")),
        None => *stages.last().unwrap(),
    };
    let end = stages
        .iter()
        .copied()
        .find(|&i| i > start)
        .unwrap_or(logical.len());
    logical[start + 1..end]
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn dockerfile_agrees_with_the_project() {
    let dockerfile = read(&project().join("Dockerfile"));
    let dockerignore = read(&project().join(".dockerignore"));

    // Everything the build stage copies exists and is in the build context.
    let included: Vec<&str> = dockerignore
        .lines()
        .filter_map(|l| l.trim().strip_prefix('!'))
        .collect();
    assert!(
        dockerignore.lines().any(|l| l.trim() == "*"),
        ".dockerignore lists what it lets in"
    );
    let copies = instructions(&dockerfile, Some("build"), "COPY");
    assert_eq!(copies.len(), 4, "{copies:?}");
    for copy in copies {
        let words: Vec<&str> = copy
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        for source in &words[..words.len() - 1] {
            assert!(
                project().join(source).exists(),
                "COPY {source}: no such file"
            );
            assert!(
                included.contains(&source.trim_end_matches('/')),
                "COPY {source}: excluded by .dockerignore"
            );
        }
    }

    // The final image: the binary where plugin.yaml's commands find it, the user and cache dir of the manifests.
    let final_copies = instructions(&dockerfile, None, "COPY").join("\n");
    assert!(
        final_copies.contains("/usr/local/bin/"),
        "the binary goes to /usr/local/bin: {final_copies}"
    );
    assert!(
        final_copies.contains(&format!("/out/{SIDECAR}")),
        "{final_copies}"
    );
    assert_eq!(
        instructions(&dockerfile, None, "USER"),
        ["999:999"],
        "the manifests' runAsUser"
    );
    let sidecar_patch: Value = serde_norway::from_str(&read(
        &project().join("manifests/base/repo-server-sidecar.yaml"),
    ))
    .unwrap();
    let container = one(
        &sidecar_patch["spec"]["template"]["spec"]["containers"],
        SIDECAR,
        "patch",
    );
    let cache_dir = one(&container["env"], CACHE_DIR_ENV, "patch")["value"]
        .as_str()
        .unwrap();
    assert_eq!(
        instructions(&dockerfile, None, "ENV"),
        [format!("{CACHE_DIR_ENV}={cache_dir}")]
    );

    // Downloads are pinned: each tool and architecture has a full SHA-256 as its default.
    let checksums: Vec<(&str, &str)> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("ARG ")?.split_once('='))
        .filter(|(name, _)| name.contains("SHA256"))
        .collect();
    let names: Vec<&str> = checksums.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "KUSTOMIZE_SHA256_AMD64",
            "KUSTOMIZE_SHA256_ARM64",
            "HELM_SHA256_AMD64",
            "HELM_SHA256_ARM64"
        ]
    );
    for (name, value) in checksums {
        assert!(
            value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}={value}"
        );
    }
}

#[test]
fn yaml_examples_in_the_install_guide_parse() {
    let guide = read(&project().join("docs/install.md"));
    let blocks: Vec<&str> = guide
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4, "found {} yaml blocks", blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        let parsed: Result<Value, _> = serde_norway::from_str(block);
        assert!(
            parsed.is_ok(),
            "yaml block {index} of docs/install.md: {parsed:?}\n{block}"
        );
    }
}

/// The README's first command works as written: `scripts/demo` resolves the bundled example's images against a
/// registry it starts (regression: a stricter repository root once broke it and nothing noticed).
#[test]
fn the_readme_demo_resolves_the_example() {
    let output = std::process::Command::new(project().join("scripts/demo"))
        .output()
        .expect("run scripts/demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scripts/demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for image in [
        "image: demo.local/shop/web:1.2.0",
        "image: demo.local/shop/worker:2024.06.15",
        "image: nginx:1.27",
    ] {
        assert!(stdout.contains(image), "{image} in\n{stdout}");
    }
}

/// With the redis-cache component, the sidecar and the daemon read the Redis URL from its ConfigMap (a URL the
/// binary accepts) and the password from the plugin's own Secret, both optional; without it, neither exists and
/// the references are optional, so the pod starts on the cache directory alone.
#[test]
fn the_redis_cache_component_points_sidecar_and_daemon_at_argo_cds_redis() {
    for install in fixtures::install_manifests() {
        for with_redis in [false, true] {
            let case = format!("{} + watch, redis-cache: {with_redis}", install.name);
            let case = case.as_str();
            let mut components = vec!["manifests/base", "manifests/components/watch"];
            if with_redis {
                components.push("manifests/components/redis-cache");
            }
            let objects = render_components(&install, &components);
            let deployment = find(&objects, "Deployment", "argocd-repo-server").unwrap();
            let pod = &deployment["spec"]["template"]["spec"];
            for name in [SIDECAR, WATCH] {
                let container = one(&pod["containers"], name, case);
                let url = &one(&container["env"], "IMAGE_RESOLVER_CACHE", case)["valueFrom"]["configMapKeyRef"];
                assert_eq!(url["optional"].as_bool(), Some(true), "{case}: {name}");
                let password = &one(&container["env"], "IMAGE_RESOLVER_CACHE_PASSWORD", case)["valueFrom"]
                    ["secretKeyRef"];
                assert_eq!(password["optional"].as_bool(), Some(true), "{case}: {name}");
                assert_eq!(
                    password["name"].as_str(),
                    Some("argocd-image-resolver-redis")
                );
                let config_map = find(&objects, "ConfigMap", url["name"].as_str().unwrap());
                assert_eq!(config_map.is_some(), with_redis, "{case}: {name}");
                if let Some(config_map) = config_map {
                    let value = config_map["data"][url["key"].as_str().unwrap()]
                        .as_str()
                        .unwrap();
                    let target = argocd_image_resolver::cache::RedisTarget::parse(value)
                        .unwrap_or_else(|e| panic!("{case}: {value}: {e}"));
                    assert_eq!(target.host, "argocd-redis", "{case}");
                    // Argo CD's own install has it (the generated stand-in for a fresh clone does not).
                    if install.text.contains("argocd-redis-network-policy") {
                        assert!(
                            find(&objects, "Service", "argocd-redis").is_some(),
                            "{case}: the Service it names is Argo CD's"
                        );
                    }
                }
            }
        }
    }
}
