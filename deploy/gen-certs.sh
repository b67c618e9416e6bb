#!/bin/sh
# Makes the compose stack's certificates in deploy/certs (ECC P-256, as the ESP gateway seed recommends):
# a CA, a server certificate for mosquitto and cesc, and client certificates for the VEC and the CESC.
set -eu
dir="$(dirname "$0")/certs"
mkdir -p "$dir" && cd "$dir"
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"; }
key ca
openssl req -x509 -new -key ca.key -sha256 -days 825 -subj "/CN=canvss demo CA" -out ca.crt
sign() { # name cn ext
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}
sign server mosquitto "subjectAltName=DNS:mosquitto,DNS:cesc,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
sign vec can-gateway "extendedKeyUsage=clientAuth"
sign cesc-client cesc "extendedKeyUsage=clientAuth"
chmod 644 ./*.crt ./*.key
echo "certificates in $(pwd)"
