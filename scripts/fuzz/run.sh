#!/usr/bin/env bash
# A longer fuzz run than CI's, started by hand: the same generated requests (every HTTP route) and raw queue messages
# (tests/Host.Tests/Fuzz), with another seed and count. CI runs seed 20261129 with 3,000 requests and 1,500 messages.
#   scripts/fuzz/run.sh [COUNT] [SEED]        e.g. scripts/fuzz/run.sh 100000 $RANDOM
# A failure prints the seed and each failing case (route, field, body); rerun with that seed to reproduce it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIPELINE_FUZZ_COUNT="${1:-30000}" PIPELINE_FUZZ_SEED="${2:-$RANDOM}"
echo "fuzz: count $PIPELINE_FUZZ_COUNT, seed $PIPELINE_FUZZ_SEED"
dotnet build tests/Host.Tests -nodeReuse:false -v q
dotnet test tests/Host.Tests --no-build -nodeReuse:false --filter "FullyQualifiedName~Pipeline.Host.Tests.Fuzz" \
  --logger "console;verbosity=detailed" -- RunConfiguration.TestSessionTimeout=86400000
