#!/bin/sh
# Installs the steward offline bundle: copies the package (with its production
# node_modules, native modules already built) to <prefix>/lib/steward and links
# <prefix>/bin/steward to it. Needs no registry and no compiler, only Node.js.
#
#   ./install.sh [--prefix /usr/local]
set -eu

usage() {
  echo "usage: $0 [--prefix <dir>]   (default /usr/local: installs <dir>/lib/steward and <dir>/bin/steward)"
}

prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
meta="$here/bundle.json"
[ -f "$meta" ] && [ -d "$here/lib/steward" ] || { echo "install.sh: run me from the unpacked bundle (bundle.json and lib/steward are missing next to me)" >&2; exit 1; }

if ! command -v node >/dev/null 2>&1; then
  echo "install.sh: Node.js is not installed (no 'node' on PATH)." >&2
  echo "  steward needs Node.js >= 20.19; this bundle was built for Node.js $(sed -n 's/.*"nodeMajor": *\([0-9]*\).*/\1/p' "$meta").x." >&2
  echo "  Debian/Ubuntu: apt-get install nodejs (check 'node --version'), or https://nodejs.org/en/download" >&2
  exit 1
fi

# The native modules (better-sqlite3) are built for one Node.js ABI: another major version cannot load them.
node - "$meta" <<'JS' || exit 1
const fs = require('node:fs');
const meta = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const [major, minor] = process.versions.node.split('.').map(Number);
const fail = (why) => { console.error(`install.sh: ${why}`); process.exit(1); };
if (major < 20 || (major === 20 && minor < 19)) fail(`Node.js ${process.versions.node} is too old: steward needs Node.js >= 20.19 (this bundle: Node.js ${meta.nodeMajor}.x).`);
if (process.versions.modules !== meta.nodeAbi)
  fail(`this bundle's native modules are built for Node.js ${meta.nodeMajor}.x (ABI ${meta.nodeAbi}); this machine runs Node.js ${process.versions.node} (ABI ${process.versions.modules}). Use the bundle built for Node.js ${major}.x, or install the npm package (npm install -g steward-${meta.version}.tgz).`);
if (process.platform !== meta.platform || process.arch !== meta.arch)
  fail(`this bundle is for ${meta.platform}-${meta.arch}; this machine is ${process.platform}-${process.arch}.`);
JS

# Installed files must not be writable by anyone but the installer: steward runs commands, often as root.
umask 022
mkdir -p "$prefix/lib" "$prefix/bin"
new="$prefix/lib/.steward-new-$$"
old="$prefix/lib/.steward-old-$$"
rm -rf "$new" "$old"
cp -R "$here/lib/steward" "$new"
chmod -R go-w "$new"
if [ -e "$prefix/lib/steward" ] || [ -L "$prefix/lib/steward" ]; then
  mv "$prefix/lib/steward" "$old"
fi
mv "$new" "$prefix/lib/steward"
rm -rf "$old"
ln -sfn ../lib/steward/bin/steward.js "$prefix/bin/steward"

version=$("$prefix/bin/steward" --version)
echo "steward $version installed in $prefix/lib/steward; command: $prefix/bin/steward"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it, or run $prefix/bin/steward" ;;
esac
echo "running nodes keep the old version until they restart (systemctl restart 'steward-*')"
