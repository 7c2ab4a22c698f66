#!/usr/bin/env bash
# On the GPU machine: unpacks the build made by scripts/gpu/build.sh (once) and runs `pipeline` with the
# given arguments against the machine's PyTorch libtorch (found through python3, or PIPELINE_LIBTORCH).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
dest=/tmp/pipeline-gpu
if [ ! -x "$dest/pipeline/pipeline" ]; then
  mkdir -p "$dest"
  tar -C "$dest" -xJf "$here/.gpu/pipeline-linux-x64.tar.xz"
fi
# .NET needs ICU for Unicode normalization; fall back to invariant mode where the machine has none.
if ! ldconfig -p | grep -q libicuuc; then export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; fi
exec "$dest/pipeline/pipeline" "$@"
