#!/bin/sh
# Installs Debian's nats-server when it is not on this machine; sudo only when not root
# (containers often run as root without sudo). Used by README's quickstart and by .ci/run.
set -eu
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then exit 0; fi
echo "nats-server missing: installing the Debian package"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server
