#!/bin/sh
# README's quickstart: nats-server (when missing), the dependencies, then `steward demo`.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-nats-server.sh
npm ci --no-audit --no-fund
exec node packages/cli/bin/steward.js demo
