#!/bin/sh
# Test certificates for nats-server-tls.conf (NOT for production): a CA, a
# server certificate for 127.0.0.1/localhost, and client certificates for
# central and ship1. Usage: sh make-test-certs.sh [folder]
set -eu
d=${1:-.}
cd "$d"
openssl req -x509 -newkey ed25519 -nodes -days 30 -subj "/CN=steward-test-ca" -keyout ca-key.pem -out ca.pem
sign() { # name subject extfile-lines
  openssl req -newkey ed25519 -nodes -subj "$2" -keyout "$1-key.pem" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -out "$1-cert.pem" -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
  chmod 600 "$1-key.pem"
}
sign server "/CN=nats-server" "subjectAltName=IP:127.0.0.1,DNS:localhost"
sign central "/CN=central" "extendedKeyUsage=clientAuth"
sign ship1 "/CN=ship1" "extendedKeyUsage=clientAuth"
