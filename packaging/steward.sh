#!/bin/sh
# bin/steward of the offline bundle: runs the bundled package in place, without
# installing it (install.sh installs it and links <prefix>/bin/steward instead).
self=$(readlink -f "$0")
root=$(dirname "$(dirname "$self")")
if ! command -v node >/dev/null 2>&1; then
  echo "steward: Node.js is not installed (no 'node' on PATH); steward needs Node.js >= 20.19" >&2
  exit 1
fi
exec node "$root/lib/steward/bin/steward.js" "$@"
