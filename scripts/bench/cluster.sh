#!/usr/bin/env bash
# Throughput of 1, 2 and 3 CPU workers behind one front node, and the front's added latency, with `pipeline bench-serve`
# (docs/benchmarks.md, "Cluster"). Usage: scripts/bench/cluster.sh [PIPELINE_DLL] [OUT_DIR]
# Every process serves the built-in pipeline-tiny-en on CPU, on loopback ports.
set -euo pipefail
DLL=${1:-src/Host/bin/Release/net10.0/pipeline.dll}
OUT=${2:-/tmp/cluster-bench}
PROMPTS=${PROMPTS:-256}
mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "timeout waiting for $1" >&2; exit 1; }
wait_replicas() { for _ in $(seq 1 600); do n=$(curl -sf localhost:$1/cluster/status | grep -c '"draining": false' || true); [ "$n" -ge "$2" ] && return 0; sleep 0.5; done; exit 1; }
bench() { # name port concurrency prompts
  dotnet "$DLL" bench-serve --base-url "http://127.0.0.1:$2" --num-prompts "$4" --max-concurrency "$3" --random-input-len 32 --random-output-len 32 \
    > "$OUT/$1.txt"; grep -E "Request throughput|Output token throughput|Mean E2EL|Mean TTFT|Median E2EL" "$OUT/$1.txt" | sed "s/^/$1: /"
}

# Single process, for the front's added latency.
dotnet "$DLL" serve --port 8100 --queue off > "$OUT/single.log" 2>&1 & pids+=($!)
wait_http localhost:8100/health
bench single-latency 8100 1 20
bench single-throughput 8100 64 "$PROMPTS"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

dotnet "$DLL" serve --cluster-role front --cluster-port 2652 --cluster-seeds 127.0.0.1:2652 --port 8101 --queue off > "$OUT/front.log" 2>&1 & pids+=($!)
for n in 1 2 3; do
  dotnet "$DLL" serve --cluster-role worker --cluster-port $((2652 + n)) --cluster-seeds 127.0.0.1:2652 > "$OUT/worker$n.log" 2>&1 & pids+=($!)
  wait_http localhost:8101/health
  wait_replicas 8101 "$n"
  [ "$n" = 1 ] && bench cluster1-latency 8101 1 20
  bench "cluster$n-throughput" 8101 $((64 * n)) "$PROMPTS"
done
