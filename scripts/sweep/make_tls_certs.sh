#!/bin/sh
# Certificates for a Dask cluster that cimtlm-sweep reaches over tls:// (scripts/sweep/README.md).
# Usage: sh scripts/sweep/make_tls_certs.sh OUT_DIR [HOST_OR_IP]
# Makes a private CA (ca.pem, ca-key.pem: keep the key offline) and one certificate signed by it
# (node.pem, node-key.pem) for the scheduler, the workers and the cimtlm-sweep client. Dask
# requires every peer's certificate to chain to the CA given with --tls-ca-file, so only holders
# of a signed certificate can join the cluster or submit work. Make one certificate per role or
# machine by running the last three commands again with other names.
set -eu
out="${1:?usage: make_tls_certs.sh OUT_DIR [HOST_OR_IP]}"
host="${2:-127.0.0.1}"
mkdir -p "$out"
cd "$out"
umask 077
case "$host" in
  *[!0-9.]*) san="DNS:$host" ;;
  *) san="IP:$host" ;;
esac
openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj "/CN=cimtlm-sweep CA" \
  -keyout ca-key.pem -out ca.pem
openssl req -newkey rsa:3072 -nodes -subj "/CN=$host" -keyout node-key.pem -out node.csr
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > node.ext
openssl x509 -req -in node.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 \
  -extfile node.ext -out node.pem
rm -f node.csr node.ext
