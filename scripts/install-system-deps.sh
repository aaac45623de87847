#!/usr/bin/env bash
# Installs, with apt-get, the system tools that the tests drive (only those missing).
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# Pods in network namespaces: ip netns, veth and bridges; iptables (nf_tables backend) for capture rules in pods
# and for the host's forwarding and masquerading of their egress.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
# A TCP service (redis) behind the mesh, and packet captures proving what crosses a pod's link.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
# The distributed store backend: tests run etcd members on loopback, `weft up --store etcd` starts one.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# weft up --prometheus: Debian's Prometheus and Alertmanager.
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
