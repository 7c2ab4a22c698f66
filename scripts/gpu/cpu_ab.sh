#!/usr/bin/env bash
# On the GPU machine's CPU (16 cores, otherwise idle): issue 13's "CPU throughput within 5% of before", two builds
# alternated in one call, with the noise of many-thread runs kept out of the comparison:
#   1. one thread, pinned to one core (OMP_NUM_THREADS=1 taskset -c ${PIN_CORE:-3}): ROUNDS alternations of bench-throughput and
#      bench-pipeline on the llama fixture;
#   2. all threads (16 there): the same, ROUNDS alternations;
# each line gives wall-clock throughput and the process's CPU seconds (user+sys, from /proc via python).
#   scripts/gpu/cpu_ab.sh BEFORE_DIR AFTER_DIR [ROUNDS]
# BEFORE_DIR / AFTER_DIR each hold a self-contained `pipeline` (scripts/gpu/build.sh).
set -uo pipefail
before=${1:?before dir}; after=${2:?after dir}; rounds=${3:-7}
if ! ldconfig -p | grep -q libicuuc; then export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; fi
export LD_LIBRARY_PATH="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))'):${LD_LIBRARY_PATH:-}"
m=tests/fixtures/models/llama
timed() {  # timed LABEL CMD... : prints LABEL, the grep'd result lines, and CPU seconds of the child
  local label=$1; shift
  python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, re
label, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.run(cmd, capture_output=True, text=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
out = p.stdout + p.stderr
keep = [l for l in out.splitlines() if re.match(r"^(Throughput|concurrent|single)", l)]
print(f"{label}: cpu {ru.ru_utime + ru.ru_stime:.2f} s | " + " | ".join(keep) + ("" if p.returncode == 0 else f" | rc {p.returncode}: {out[-300:]}"))
PY
}
run_set() {  # run_set TAG PREFIX...
  local tag=$1; shift
  for r in $(seq 1 "$rounds"); do
    for side in before after; do
      dir=$before; [ "$side" = after ] && dir=$after
      timed "$tag r$r $side throughput" "$@" "$dir/pipeline" bench-throughput $m --device cpu --dtype float32 --num-prompts 256 --input-len 32 --output-len 96 --max-model-len 128
      timed "$tag r$r $side pipeline" "$@" "$dir/pipeline" bench-pipeline $m --device cpu --dtype float32 --num-prompts 200 --single-runs 20
    done
  done
}
OMP_NUM_THREADS=1 run_set "1-thread" taskset -c ${PIN_CORE:-3}
run_set "all-threads" env
