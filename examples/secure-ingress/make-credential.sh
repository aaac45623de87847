#!/bin/sh
# The task's certificates, made with openssl: a root CA for example.com and a certificate for httpbin.example.com
# it signs; then the Secret `kubectl create -n weft-system secret tls httpbin-credential` would write, as
# httpbin-credential.yaml in OUT (default: this directory, where `weft up examples/secure-ingress` loads it).
set -eu
OUT=${1:-$(dirname "$0")}
CERTS="$OUT/example_certs1"
mkdir -p "$CERTS"
openssl req -x509 -sha256 -nodes -days 365 -newkey rsa:2048 -subj '/O=example Inc./CN=example.com' \
  -keyout "$CERTS/example.com.key" -out "$CERTS/example.com.crt" 2>/dev/null
openssl req -out "$CERTS/httpbin.example.com.csr" -newkey rsa:2048 -nodes -keyout "$CERTS/httpbin.example.com.key" \
  -subj "/CN=httpbin.example.com/O=httpbin organization" 2>/dev/null
openssl x509 -req -sha256 -days 365 -CA "$CERTS/example.com.crt" -CAkey "$CERTS/example.com.key" -set_serial 0 \
  -in "$CERTS/httpbin.example.com.csr" -out "$CERTS/httpbin.example.com.crt" 2>/dev/null
b64() { base64 < "$1" | tr -d '\n'; }
cat > "$OUT/httpbin-credential.yaml" <<YAML
apiVersion: v1
data:
  tls.crt: $(b64 "$CERTS/httpbin.example.com.crt")
  tls.key: $(b64 "$CERTS/httpbin.example.com.key")
kind: Secret
metadata:
  creationTimestamp: null
  name: httpbin-credential
  namespace: weft-system
type: kubernetes.io/tls
YAML
chmod 600 "$OUT/httpbin-credential.yaml" "$CERTS"/*.key
echo "wrote $OUT/httpbin-credential.yaml (CA: $CERTS/example.com.crt)"
