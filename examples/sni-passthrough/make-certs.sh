#!/bin/sh
# The task's certificates, made with openssl: a root CA for example.com and nginx.example.com's certificate, in OUT
# (default: nginx_certs/ beside this script, where my-nginx.yaml points the server).
set -eu
OUT=${1:-$(dirname "$0")/nginx_certs}
mkdir -p "$OUT"
openssl req -x509 -sha256 -nodes -days 365 -newkey rsa:2048 -subj '/O=example Inc./CN=example.com' \
  -keyout "$OUT/example.com.key" -out "$OUT/example.com.crt" 2>/dev/null
openssl req -out "$OUT/nginx.example.com.csr" -newkey rsa:2048 -nodes -keyout "$OUT/nginx.example.com.key" \
  -subj "/CN=nginx.example.com/O=some organization" 2>/dev/null
openssl x509 -req -sha256 -days 365 -CA "$OUT/example.com.crt" -CAkey "$OUT/example.com.key" -set_serial 0 \
  -in "$OUT/nginx.example.com.csr" -out "$OUT/nginx.example.com.crt" 2>/dev/null
chmod 644 "$OUT"/*.crt "$OUT"/*.key
echo "wrote $OUT (CA: $OUT/example.com.crt)"
