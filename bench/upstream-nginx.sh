#!/usr/bin/env bash
# The bench's upstream app: nginx, one process (no master, so the pid weft supervises is the one doing the work),
# answering every request with 200 and a 1024-byte body. 8080 speaks HTTP/1.1, 8081 h2c (prior knowledge).
set -euo pipefail
: "${POD_IP:?POD_IP is set by weft up}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
body=$(head -c 1024 /dev/zero | tr '\0' 'x')
cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server {
    listen $POD_IP:8080 backlog=4096;
    location / { return 200 "$body"; }
  }
  server {
    listen $POD_IP:8081 http2;
    location / { return 200 "$body"; }
  }
}
CONF
nginx -t -q -c "$dir/nginx.conf" -p "$dir"
# Not exec: the trap must remove the config directory; nginx stops fast on TERM and QUIT.
nginx -c "$dir/nginx.conf" -p "$dir" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; rm -rf "$dir"' TERM INT
wait "$child"
