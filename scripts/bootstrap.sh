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
# Debian's package starts an etcd service on the default ports; the tests start their own on free ports.

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile
pnpm build
