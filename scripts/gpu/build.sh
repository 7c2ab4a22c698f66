#!/usr/bin/env bash
# Publishes a self-contained linux-x64 `pipeline` without the bundled libtorch-cpu (the GPU machine's own
# PyTorch provides libtorch with CUDA) and packs it into .gpu/pipeline-linux-x64.tar.xz, small enough to
# travel with the working tree. Run here; then on the GPU machine: scripts/gpu/pipeline.sh <pipeline args>.
# The framework assemblies are trimmed (TrimMode=partial: only assemblies marked trimmable, so the app, Akka and
# TorchSharp stay whole), which takes the tarball from 38 MB to about 16 MB. Trimming turns System.Text.Json's
# reflection off by default; the app is not trimmed, so it is turned back on (the LoRA bench's adapter writer, hub
# cache markers and chat-template values serialize without a source-generated context).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/gpu/pipeline
rm -rf "$out"
dotnet publish src/Host/Pipeline.Host.csproj -c Release -r linux-x64 --self-contained \
  -p:PipelineLibTorch=none -p:DebugType=none \
  -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true \
  -p:JsonSerializerIsReflectionEnabledByDefault=true -o "$out" >/dev/null
# Never ship a CPU libtorch in a CUDA build: it would be loaded before the CUDA one.
if ls "$out"/libtorch_cpu.so "$out"/runtimes/linux-x64/native/libtorch_cpu.so >/dev/null 2>&1; then
  echo "error: libtorch-cpu found in the CUDA publish" >&2; exit 1
fi
mkdir -p .gpu
tar -C artifacts/gpu -cJf .gpu/pipeline-linux-x64.tar.xz pipeline
ls -la .gpu/pipeline-linux-x64.tar.xz
