#!/usr/bin/env bash
# Installs everything this repository needs on a fresh Debian machine with Node.js 20 and npm:
# pnpm (pinned), the etcd server used by the store-etcd tests, the workspace's dependencies, and a build.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm@$PNPM_VERSION"
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION"
fi

if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing etcd-server (Debian) for the store-etcd tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  else
    echo "bootstrap: etcd is missing; the store-etcd tests need it: sudo apt-get install -y etcd-server" >&2
  fi
fi
# hnswlib-node (the HNSW library of @proximadb/index) compiles its addon at install with node-gyp against the
# headers Node.js ships: it needs a C++ compiler, make and python3, nothing from the network beyond npm.
if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing build-essential and python3 (Debian) for hnswlib-node"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential python3 >/dev/null
  else
    echo "bootstrap: hnswlib-node needs a C++ compiler, make and python3: sudo apt-get install -y build-essential python3" >&2
  fi
fi
# Debian's package starts an etcd service on the default ports; the tests start their own on free ports.

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile
pnpm build
