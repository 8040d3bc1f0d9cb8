# syntax=docker/dockerfile:1
#
# The argocd-image-resolver sidecar image: the binary, and the kustomize and helm it renders applications with.
#
#   docker build -t <registry>/argocd-image-resolver:<tag> .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/argocd-image-resolver:<tag> --push .
#
# kustomize and helm are release binaries, pinned by version and SHA-256 (the checksums Argo CD's own build pins in
# hack/installers/checksums). To change a version, pass the new version and both of its checksums as build
# arguments; the build fails on any mismatch.

ARG KUSTOMIZE_VERSION=5.8.1
ARG KUSTOMIZE_SHA256_AMD64=029a7f0f4e1932c52a0476cf02a0fd855c0bb85694b82c338fc648dcb53a819d
ARG KUSTOMIZE_SHA256_ARM64=0953ea3e476f66d6ddfcd911d750f5167b9365aa9491b2326398e289fef2c142
ARG HELM_VERSION=3.18.4
ARG HELM_SHA256_AMD64=f8180838c23d7c7d797b208861fecb591d9ce1690d8704ed1e4cb8e2add966c1
ARG HELM_SHA256_ARM64=c0a45e67eef0c7416a8a8c9e9d5d2d30d70e4f4d3f7bea5de28241fffa8f3b89

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
COPY crates/ crates/
# Cargo.toml declares a [[bench]]: its file must exist for cargo to read the manifest.
COPY benches/ benches/
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin argocd-image-resolver \
    && install -D -m 0755 target/release/argocd-image-resolver /out/argocd-image-resolver

FROM debian:bookworm-slim AS tools
ARG TARGETARCH
ARG KUSTOMIZE_VERSION
ARG KUSTOMIZE_SHA256_AMD64
ARG KUSTOMIZE_SHA256_ARM64
ARG HELM_VERSION
ARG HELM_SHA256_AMD64
ARG HELM_SHA256_ARM64
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/tools
# TARGETARCH is set by BuildKit; the classic builder leaves it empty, which means amd64 here.
RUN set -eu; \
    arch="${TARGETARCH:-amd64}"; \
    case "$arch" in \
      amd64) kustomize_sha256="$KUSTOMIZE_SHA256_AMD64"; helm_sha256="$HELM_SHA256_AMD64" ;; \
      arm64) kustomize_sha256="$KUSTOMIZE_SHA256_ARM64"; helm_sha256="$HELM_SHA256_ARM64" ;; \
      *) echo "unsupported architecture: $arch (kustomize and helm are pinned for amd64 and arm64)" >&2; exit 1 ;; \
    esac; \
    curl -fsSL --retry 3 -o kustomize.tar.gz \
      "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}/kustomize_v${KUSTOMIZE_VERSION}_linux_${arch}.tar.gz"; \
    echo "${kustomize_sha256}  kustomize.tar.gz" | sha256sum -c -; \
    curl -fsSL --retry 3 -o helm.tar.gz "https://get.helm.sh/helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    echo "${helm_sha256}  helm.tar.gz" | sha256sum -c -; \
    tar -xzf kustomize.tar.gz kustomize; \
    tar -xzf helm.tar.gz --strip-components=1 "linux-${arch}/helm"; \
    install -D -m 0755 kustomize /out/kustomize; \
    install -D -m 0755 helm /out/helm

# Debian rather than distroless: `ext:` credential scripts and docker credential helpers need a shell, and the
# committer (`watch`) runs git, and ssh for ssh:// remotes (ssh-keygen signs commits). User 999 is the user Argo CD's sidecar contract runs plugins as.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 999 argocd \
    && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd \
    && install -d -o 999 -g 999 -m 0700 /var/cache/argocd-image-resolver
COPY --from=tools /out/kustomize /out/helm /usr/local/bin/
COPY --from=build /out/argocd-image-resolver /usr/local/bin/
ENV IMAGE_RESOLVER_CACHE_DIR=/var/cache/argocd-image-resolver
USER 999:999
WORKDIR /home/argocd
# In the sidecar, the manifests replace this with argocd-cmp-server, which runs the plugin's commands.
ENTRYPOINT ["/usr/local/bin/argocd-image-resolver"]
