#!/usr/bin/env bash
# Issue 19 on the GPU machine's 16 idle CPU cores (no GPU used): a front node and 1, 2, 3 CPU workers, each process
# pinned to its own cores, so the scaling is measured where every worker has cores of its own.
#   scripts/gpu/cluster_cpu.sh PIPELINE OUT_DIR [ROUNDS]
# PIPELINE: a self-contained `pipeline` (scripts/gpu/build.sh). Every process serves the built-in pipeline-tiny-en
# on CPU. Cores: front 0-1, workers 2-5, 6-9, 10-13 (4 threads each), a second (least-load) front 14, the client 15.
# 1. throughput: single process (cores 2-5) and front + 1, 2, 3 workers, bench-serve 256 random prompts, 32 in / 32
#    out, concurrency 64 per worker;
# 2. prefix affinity against least-load routing with the 3 workers: a shared-prefix workload (8 prefixes of 256
#    tokens, 16 random tokens after, 16 out) sent alternately to the affinity front and to a least-load front, ROUNDS
#    times each, fresh prefixes every run (seed), hit rate from the workers' prefix-cache counters.
#    PREFIX_SETS="8 48" runs it for 8 and for 48 distinct prefixes; SKIP_SCALING=1 skips part 1.
set -uo pipefail
P=${1:?pipeline}; OUT=${2:?out dir}; ROUNDS=${3:-3}; N=${PROMPTS:-256}; NP=${PREFIX_PROMPTS:-384}
mkdir -p "$OUT"
if ! ldconfig -p | grep -q libicuuc; then export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; fi
export LD_LIBRARY_PATH="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))'):${LD_LIBRARY_PATH:-}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "timeout waiting for $1" >&2; return 1; }
wait_replicas() { for _ in $(seq 1 600); do n=$(curl -sf localhost:$1/cluster/status | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["replicas"] if not r.get("draining")))' 2>/dev/null || echo 0); [ "$n" -ge "$2" ] && return 0; sleep 0.5; done; echo "timeout: $2 replicas on $1" >&2; return 1; }
bench() { # name port concurrency prompts [extra args]
  local name=$1 port=$2 conc=$3 n=$4; shift 4
  OMP_NUM_THREADS=1 taskset -c 15 "$P" bench-serve --base-url "http://127.0.0.1:$port" --num-prompts "$n" --max-concurrency "$conc" "$@" > "$OUT/$name.txt" 2>&1
  echo "$name: $(grep -E "Request throughput|Output token throughput|Median E2EL|Failed requests" "$OUT/$name.txt" | tr -s ' ' | tr '\n' ';')"
}
counters() { curl -sf localhost:8101/cluster/status | python3 -c 'import json,sys; r=[x["engine"] for x in json.load(sys.stdin)["replicas"] if isinstance(x.get("engine"), dict)]; print(sum(e["prefixCacheQueries"] for e in r), sum(e["prefixCacheHits"] for e in r))'; }
common=(--device cpu --queue off)

if [ -z "${SKIP_SCALING:-}" ]; then
echo "== single process, cores 2-5"
OMP_NUM_THREADS=4 taskset -c 2-5 "$P" serve "${common[@]}" --port 8100 > "$OUT/single.log" 2>&1 & pids+=($!)
wait_http localhost:8100/health && bench single-latency 8100 1 20 && bench single-throughput 8100 64 $N
kill -9 "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
fi

OMP_NUM_THREADS=2 taskset -c 0-1 "$P" serve "${common[@]}" --cluster-role front --cluster-port 2652 --cluster-seeds 127.0.0.1:2652 --port 8101 > "$OUT/front.log" 2>&1 & pids+=($!)
cores=(2-5 6-9 10-13)
for n in 1 2 3; do
  OMP_NUM_THREADS=4 taskset -c ${cores[$((n-1))]} "$P" serve "${common[@]}" --cluster-role worker --cluster-port $((2652 + n)) --cluster-seeds 127.0.0.1:2652 > "$OUT/worker$n.log" 2>&1 & pids+=($!)
  wait_http localhost:8101/health; wait_replicas 8101 "$n" || { tail -20 "$OUT/front.log" "$OUT/worker$n.log"; exit 1; }
  [ -z "${SKIP_SCALING:-}" ] && [ "$n" = 1 ] && bench cluster1-latency 8101 1 20
  [ -z "${SKIP_SCALING:-}" ] && bench "cluster$n-throughput" 8101 $((64 * n)) $N
done

echo "== prefix affinity vs least-load (3 workers)"
OMP_NUM_THREADS=1 taskset -c 14 "$P" serve "${common[@]}" --cluster-role front --cluster-routing least-load --cluster-port 2656 --cluster-seeds 127.0.0.1:2652 --port 8102 > "$OUT/front-leastload.log" 2>&1 & pids+=($!)
wait_http localhost:8102/health; wait_replicas 8102 3
for np in ${PREFIX_SETS:-8}; do
for r in $(seq 1 "$ROUNDS"); do
  for side in affinity least-load; do
    port=8101; [ "$side" = least-load ] && port=8102
    read q0 h0 < <(counters)
    bench "prefix$np-r$r-$side" $port 48 $NP --random-prefix-len 256 --num-prefixes $np --random-input-len 16 --random-output-len 16 --seed $((np * 100 + r * 10 + ${#side}))
    read q1 h1 < <(counters)
    python3 -c "print(f'prefix$np-r$r-$side: hit rate {($h1-$h0)/max(1,$q1-$q0):.3f} ({$h1-$h0} of {$q1-$q0} tokens)')"
  done
done
done
