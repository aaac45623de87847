#!/usr/bin/env bash
# What transparent capture adds to a request's latency: the same client → server pair (examples/httpbin, sleep →
# httpbin /status/200) measured in one run, at the same paced request rate, along four paths:
#   direct        wrk → httpbin's app on loopback (no mesh; the --isolation=none mesh's app)
#   loopback      wrk → sleep's sidecar outbound listener (Host: httpbin:8000) → mTLS → httpbin   (--isolation=none)
#   netns-proxy   wrk inside sleep's pod → $POD_IP:15001 (the same explicit proxy, across veth and bridge)
#   netns-capture wrk inside sleep's pod → http://httpbin:8000, captured by iptables into the sidecar (SO_ORIGINAL_DST)
# wrk 4 has no fixed rate: a Lua delay() paces each connection (CONNS connections, CONNS*1000/RATE ms apart),
# so every path carries about RATE requests per second for DURATION. P50/P99 come from wrk --latency; the paths
# take turns for ROUNDS rounds and the medians are reported.
# Appends a section to bench/RESULTS.md. Needs root (network namespaces); stops everything it started.
#   sudo bash bench/capture-latency.sh                    RATE=200 CONNS=4 DURATION=10s ROUNDS=3
#   sudo RATE=500 DURATION=30s bash bench/capture-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
CONNS=${CONNS:-4}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
RESULTS=${RESULTS:-bench/RESULTS.md}

if [ "$(id -u)" != 0 ]; then echo "capture-latency: needs root to create network namespaces" >&2; exit 1; fi
command -v wrk >/dev/null 2>&1 || bash bench/install-tools.sh
npx tsc -p tsconfig.json >/dev/null || true   # emits even when unrelated files have type errors

work=$(mktemp -d)
declare -A mesh_pids states
stop_meshes() {
  for pid in "${mesh_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${mesh_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  mesh_pids=()
}
cleanup() { stop_meshes; rm -rf "$work"; }
trap cleanup EXIT

# Each connection waits this long after a response before its next request.
delay_ms=$(awk -v c="$CONNS" -v r="$RATE" 'BEGIN { printf "%.3f", c * 1000 / r }')
printf 'wrk.headers["Host"] = os.getenv("WRK_HOST") or wrk.headers["Host"]\nfunction delay() return %s end\n' "$delay_ms" >"$work/pace.lua"

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'; }

up() { # up MODE: weft up examples/httpbin in a state directory of its own, wait for "mesh is up"
  local mode=$1 log="$work/up-$1.log"
  states[$mode]="$work/state-$mode"
  : >"$log"
  node bin/weft.js --state-dir "${states[$mode]}" up examples/httpbin --isolation="$mode" --ingress-port "$(free_port)" >"$log" 2>&1 &
  mesh_pids[$mode]=$!
  for _ in $(seq 1 300); do
    grep -q 'mesh is up' "$log" && return 0
    kill -0 "${mesh_pids[$mode]}" 2>/dev/null || break
    sleep 0.2
  done
  cat "$log" >&2
  echo "capture-latency: weft up --isolation=$mode did not come up" >&2
  exit 1
}

field() { # field MODE WORKLOAD KEY: a value from that mesh's mesh.json (KEY app: the first app address)
  node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const w = m.workloads.find((x) => x.name === process.argv[2]); console.log(process.argv[3] === "app" ? w.app[0] : w[process.argv[3]]);' \
    "${states[$1]}/mesh.json" "$2" "$3"
}

to_ms() { # 1.23ms | 456.78us | 1.02s → milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

declare -A p50s p99s rpss errs
measure() { # measure LABEL ROUND -- COMMAND... URL   (Host: httpbin:8000 on every path)
  local label=$1 round=$2
  shift 3
  local out="$work/wrk-$label-$round.txt"
  WRK_HOST="httpbin:8000" "$@" -t1 -c"$CONNS" -d"$WARMUP" -s "$work/pace.lua" >/dev/null
  WRK_HOST="httpbin:8000" "$@" -t1 -c"$CONNS" -d"$DURATION" --latency -s "$work/pace.lua" >"$out"
  local lat50 lat99 rps errors
  lat50=$(to_ms "$(awk '/Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")")
  lat99=$(to_ms "$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")")
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$out")
  errors=$(awk '/Non-2xx|Socket errors/ { sub(/^ +/, ""); printf "%s; ", $0 }' "$out")
  p50s[$label]+="$lat50 "
  p99s[$label]+="$lat99 "
  rpss[$label]+="$rps "
  errs[$label]+="$errors"
  echo "round $round $label: p50 ${lat50} ms, p99 ${lat99} ms, ${rps} rps ${errors}" >&2
}

# Both meshes run side by side and the paths take turns, round after round, so a noisy neighbour or a slow minute
# weighs on every path alike.
up none
up netns
direct_url="http://$(field none httpbin app)/status/200"
loopback_url="http://$(field none sleep outbound)/status/200"
netns_proxy_url="http://$(field netns sleep podIP):15001/status/200"
# An app unaware of the mesh: no http_proxy, the name resolved by the pod's DNS, the connection captured.
in_pod=(node bin/weft.js --state-dir "${states[netns]}" exec sleep -- env -u http_proxy -u HTTP_PROXY)
for round in $(seq 1 "$ROUNDS"); do
  measure direct "$round" -- wrk "$direct_url"
  measure loopback "$round" -- wrk "$loopback_url"
  measure netns-proxy "$round" -- "${in_pod[@]}" wrk "$netns_proxy_url"
  measure netns-capture "$round" -- "${in_pod[@]}" wrk "http://httpbin:8000/status/200"
done
stop_meshes

declare -A p50 p99
rows=()
for l in direct loopback netns-proxy netns-capture; do
  # shellcheck disable=SC2086
  p50[$l]=$(median ${p50s[$l]})
  # shellcheck disable=SC2086
  p99[$l]=$(median ${p99s[$l]})
  # shellcheck disable=SC2086
  rows+=("| $l | ${p50[$l]} | ${p99[$l]} | $(median ${rpss[$l]}) | ${p50s[$l]% } | ${p99s[$l]% } | ${errs[$l]:-none} |")
done

diff_row() { # diff_row A B: B − A and B / A for P50 and P99
  awk -v a50="${p50[$1]}" -v b50="${p50[$2]}" -v a99="${p99[$1]}" -v b99="${p99[$2]}" -v l="$2 vs $1" \
    'BEGIN { printf "| %s | %+.3f ms (×%.2f) | %+.3f ms (×%.2f) |\n", l, b50 - a50, (a50 > 0 ? b50 / a50 : 0), b99 - a99, (a99 > 0 ? b99 / a99 : 0) }'
}

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
{
  echo
  echo "## Capture latency: netns with transparent capture vs loopback mode ($(date -u +%Y-%m-%d))"
  echo
  echo "\`bench/capture-latency.sh\`: examples/httpbin, sleep → httpbin \`/status/200\`, wrk 4 \`-t1 -c$CONNS\` paced to"
  echo "~$RATE rps (Lua delay() of $delay_ms ms per connection) for $DURATION after a $WARMUP warm-up; the four paths take"
  echo "turns for $ROUNDS rounds with both meshes up, and each figure is the median over the rounds (every round in the"
  echo "per-round columns). Machine: $(nproc) vCPU ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
  echo "Linux $(uname -r), Node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; no CPU pinning"
  echo "(wrk, both sidecars and httpbin share the CPUs)."
  echo
  echo "| path | P50 ms | P99 ms | rps | P50 per round | P99 per round | errors |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "| difference | P50 | P99 |"
  echo "| --- | --- | --- |"
  diff_row loopback netns-capture
  diff_row netns-proxy netns-capture
  diff_row loopback netns-proxy
  diff_row direct loopback
  echo
  echo "direct: no mesh (the app on loopback). loopback: \`--isolation=none\`, wrk → sleep's sidecar outbound"
  echo "listener with \`Host: httpbin:8000\`. netns-proxy: \`--isolation=netns\`, wrk in sleep's pod → the same explicit"
  echo "listener at the pod address. netns-capture: wrk in sleep's pod → \`http://httpbin:8000\` (the service VIP from"
  echo "the pod's DNS), redirected by iptables to the capture listener. \`bash bench/run.sh\` (as root) runs this"
  echo "script after the other scenarios and appends this section."
} | tee -a "$RESULTS"
