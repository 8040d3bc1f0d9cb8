//! Pushing test images with plain HTTP PUTs (no docker): blobs, OCI image manifests, the same manifest under many
//! tags over keep-alive connections, and multi-platform OCI indexes.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::token::Minter;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// How pushes authenticate.
pub enum PushAuth {
    None,
    Basic(String, String),
    /// A token per repository, minted by the test's token server.
    Bearer(Minter),
}

/// What one test image is made of.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    /// The config's `created` (RFC 3339), if any.
    pub created: Option<String>,
    pub labels: Vec<(String, String)>,
}

impl ImageSpec {
    /// A `linux/<architecture>[/<variant>]` image created at `created`.
    pub fn linux(architecture: &str, variant: Option<&str>, created: &str) -> ImageSpec {
        ImageSpec {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.map(str::to_string),
            created: Some(created.into()),
            labels: Vec::new(),
        }
    }
}

/// A pushed image manifest.
#[derive(Debug, Clone)]
pub struct PushedImage {
    pub digest: String,
    pub config_digest: String,
    pub body: Vec<u8>,
    pub spec: ImageSpec,
}

/// A pushed index.
#[derive(Debug, Clone)]
pub struct PushedIndex {
    pub digest: String,
    pub body: Vec<u8>,
}

/// Pushes to one registry. Cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    http: reqwest::Client,
    base: Url,
    auth: Arc<PushAuth>,
}

pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

impl Pusher {
    pub fn new(base: Url, ca_cert: Option<PathBuf>, auth: PushAuth) -> Pusher {
        let mut builder = reqwest::Client::builder().pool_max_idle_per_host(64);
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).expect("read test CA");
            builder = builder
                .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).expect("test CA PEM"));
        }
        Pusher {
            http: builder.build().expect("push client"),
            base,
            auth: Arc::new(auth),
        }
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        repository: &str,
    ) -> reqwest::RequestBuilder {
        match &*self.auth {
            PushAuth::None => request,
            PushAuth::Basic(user, password) => request.basic_auth(user, Some(password)),
            PushAuth::Bearer(mint) => request.bearer_auth(mint(repository)),
        }
    }

    /// Uploads a blob (POST to start, PUT with the digest to finish) and returns its digest.
    pub async fn blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let start = self
            .base
            .join(&format!("v2/{repository}/blobs/uploads/"))
            .unwrap();
        let response = self
            .authorize(self.http.post(start.clone()), repository)
            .send()
            .await
            .expect("start upload");
        assert_eq!(
            response.status().as_u16(),
            202,
            "start upload to {start}: {}",
            response.text().await.unwrap_or_default()
        );
        let location = response
            .headers()
            .get("location")
            .expect("upload location")
            .to_str()
            .unwrap()
            .to_string();
        let mut put = start.join(&location).expect("upload URL");
        put.query_pairs_mut().append_pair("digest", &digest);
        let response = self
            .authorize(self.http.put(put), repository)
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("finish upload");
        assert_eq!(
            response.status().as_u16(),
            201,
            "finish upload: {}",
            response.text().await.unwrap_or_default()
        );
        digest
    }

    /// PUTs manifest bytes under `reference` (tag or digest) and returns their digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let url = self
            .base
            .join(&format!("v2/{repository}/manifests/{reference}"))
            .unwrap();
        let response = self
            .authorize(self.http.put(url), repository)
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("put manifest");
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "put manifest {reference}: {}",
            response.text().await.unwrap_or_default()
        );
        sha256(body)
    }

    /// Pushes a config blob, one small layer and an OCI image manifest (by digest, untagged).
    pub async fn image(&self, repository: &str, spec: &ImageSpec) -> PushedImage {
        let mut labels = serde_json::Map::new();
        for (k, v) in &spec.labels {
            labels.insert(k.clone(), json!(v));
        }
        let layer = format!(
            "layer of {}/{}/{:?}/{:?}",
            spec.os, spec.architecture, spec.variant, spec.created
        );
        let layer_digest = self.blob(repository, layer.as_bytes()).await;
        let mut config = json!({
            "architecture": spec.architecture, "os": spec.os,
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer.as_bytes())]},
        });
        if let Some(variant) = &spec.variant {
            config["variant"] = json!(variant);
        }
        if let Some(created) = &spec.created {
            config["created"] = json!(created);
        }
        let config_bytes = serde_json::to_vec(&config).unwrap();
        let config_digest = self.blob(repository, &config_bytes).await;
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
        });
        let body = serde_json::to_vec(&manifest).unwrap();
        let digest = self
            .manifest(repository, &sha256(&body), OCI_MANIFEST, &body)
            .await;
        PushedImage {
            digest,
            config_digest,
            body,
            spec: spec.clone(),
        }
    }

    /// Tags a pushed image.
    pub async fn tag(&self, repository: &str, tag: &str, image: &PushedImage) {
        self.manifest(repository, tag, OCI_MANIFEST, &image.body)
            .await;
    }

    /// Pushes one linux/amd64 image built at `created` and tags it with each of `tags`: a repository whose tag
    /// list is all a test needs.
    pub async fn image_tagged(&self, repository: &str, created: &str, tags: &[&str]) {
        let image = self
            .image(repository, &ImageSpec::linux("amd64", None, created))
            .await;
        let tags = tags.iter().map(|t| t.to_string()).collect();
        self.tag_many(repository, &image, tags, 4).await;
    }

    /// Tags a pushed image with every tag in `tags`, `workers` PUTs at a time over keep-alive connections.
    pub async fn tag_many(
        &self,
        repository: &str,
        image: &PushedImage,
        tags: Vec<String>,
        workers: usize,
    ) {
        let chunk = tags.len().div_ceil(workers.max(1)).max(1);
        let mut set = tokio::task::JoinSet::new();
        for part in tags.chunks(chunk).map(<[String]>::to_vec) {
            let (pusher, repository, image) = (self.clone(), repository.to_string(), image.clone());
            set.spawn(async move {
                for tag in part {
                    pusher.tag(&repository, &tag, &image).await;
                }
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("tagging worker");
        }
    }

    /// Pushes an OCI index over pushed images (with their platforms) under `tag`.
    pub async fn index(&self, repository: &str, tag: &str, images: &[PushedImage]) -> PushedIndex {
        let manifests: Vec<serde_json::Value> = images
            .iter()
            .map(|image| {
                let mut platform = json!({"os": image.spec.os, "architecture": image.spec.architecture});
                if let Some(variant) = &image.spec.variant {
                    platform["variant"] = json!(variant);
                }
                json!({"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.body.len(), "platform": platform})
            })
            .collect();
        let body = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
        )
        .unwrap();
        let digest = self.manifest(repository, tag, OCI_INDEX, &body).await;
        PushedIndex { digest, body }
    }
}

/// `Basic <base64(user:password)>`, for asserting what a server saw.
pub fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
